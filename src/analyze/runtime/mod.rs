//! Browser observations → findings. Every observed request goes through the same analysis
//! as a static reference (`analyze::analyze` on `RawRef`s: element = the resource type,
//! role = `Script` or `Load`), so rules, entities, party and identifiers are shared. What
//! only a browser shows is added on top: the initiator chain, cookies sent and set,
//! identifiers copied from first-party cookies and localStorage into third-party requests,
//! Google Consent Mode signals, and whether a request fired before any consent.
//!
//! * this module: the merge of a page's runtime findings with its static ones, and the
//!   page-level facts (`browser`, cookies, storage, consent);
//! * `enrich`: one runtime finding and what the browser saw of its requests;
//! * `identifiers`: first-party values copied into third-party requests;
//! * `consent`: Google Consent Mode signals, and what the accept click unlocked;
//! * `storage`: the cookie jar and localStorage as reports.

mod consent;
mod enrich;
mod identifiers;
mod storage;

use std::collections::HashMap;

use url::Url;

use crate::analyze::{self, unwrap, Context, Mode, Recipient};
use crate::domain::registrable;
use crate::extract::vectors;
use crate::filters::FilterLists;
use crate::model::{
    BrowserRun, DocumentReport, Evidence, EvidenceKind, Finding, GoogleConsentSignal, Kind, Party,
    RawRef, RefRole, SeenBy, ThirdPartyCookies,
};
use crate::rules::Ruleset;
use crate::source::browser::observe::{Hop, PageObservation, Phase};
use consent::consent_unlocked;
pub use consent::{decode_gcd, decode_gcs};
use enrich::enrich;
use identifiers::candidates;
pub use identifiers::distinctive;
use storage::{cookie_reports, storage_reports};

/// What the merge needs besides the page's report and observation.
pub struct RunContext<'a> {
    pub rules: &'a Ruleset,
    /// `--filter-list`: an attribution tier after the ruleset, as in static analysis.
    pub filters: Option<&'a FilterLists>,
    /// Registrable domains of the site owner.
    pub first_party: &'a [String],
    /// The browser's product string (`Chrome/156…`).
    pub browser: &'a str,
    pub block_third_party_cookies: bool,
}

fn third_party_cookies(ctx: &RunContext<'_>) -> ThirdPartyCookies {
    if ctx.block_third_party_cookies {
        ThirdPartyCookies::Blocked
    } else {
        ThirdPartyCookies::Allowed
    }
}

/// The browser could not load the page: say so; the static findings stand alone.
pub fn failed(doc: &mut DocumentReport, error: &str, ctx: &RunContext<'_>) {
    for f in doc.findings.iter_mut() {
        f.seen_by = Some(SeenBy::Static);
    }
    doc.browser = Some(BrowserRun {
        browser: ctx.browser.to_string(),
        final_url: doc.source.clone(),
        third_party_cookies: third_party_cookies(ctx),
        error: Some(error.to_string()),
        ..Default::default()
    });
}

/// Requests worth a finding: not the page's own navigation, not the browser's favicon.
fn keep(h: &Hop) -> bool {
    let favicon = h.initiator_type == "other"
        && h.initiator_url.is_none()
        && h.url
            .split('?')
            .next()
            .is_some_and(|u| u.ends_with("/favicon.ico"));
    !h.main_document && !favicon
}

fn http_url(u: &str) -> String {
    if let Some(rest) = u.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = u.strip_prefix("wss://") {
        format!("https://{rest}")
    } else {
        u.to_string()
    }
}

fn role(h: &Hop) -> RefRole {
    if h.resource_type == "Script" {
        RefRole::Script
    } else {
        RefRole::Load
    }
}

fn raw_ref(h: &Hop) -> RawRef {
    let mut hidden = Vec::new();
    let (mut width, mut height) = (None, None);
    if let Some((w, hh)) = h.image {
        width = Some(f64::from(w));
        height = Some(f64::from(hh));
        if w <= 3 && hh <= 3 {
            hidden.push(format!("{w}×{hh} image (response)"));
        }
    }
    RawRef {
        url: http_url(&h.url),
        element: vectors::devtools_element(&h.resource_type),
        attribute: "runtime".into(),
        role: role(h),
        hidden,
        width,
        height,
        line: 0,
        column: None,
        extra: Vec::new(),
    }
}

/// The URL a finding for this hop carries (resolved and unwrapped, as the analysis does).
fn finding_key(h: &Hop, base: Option<&Url>) -> Option<(String, RefRole)> {
    let u = analyze::resolve(&http_url(&h.url), base)?;
    Some((unwrap::unwrap(u).0.to_string(), role(h)))
}

/// Outermost first: the page, then each script (or frame) that loaded the next.
pub fn initiator_chain(hops: &[Hop], i: usize, page: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut cur = hops[i].initiator_url.clone();
    while let Some(u) = cur {
        if chain.contains(&u) || chain.len() >= 12 {
            break;
        }
        chain.push(u.clone());
        if same_document(&u, page) {
            break;
        }
        cur = hops
            .iter()
            .find(|h| {
                !h.main_document
                    && matches!(h.resource_type.as_str(), "Script" | "Document")
                    && same_document(&h.url, &u)
            })
            .and_then(|h| h.initiator_url.clone());
    }
    chain.reverse();
    chain
}

fn same_document(a: &str, b: &str) -> bool {
    a.split('#').next() == b.split('#').next()
}

fn host_of(u: &str) -> String {
    Url::parse(&http_url(u))
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

fn party_of(host: &str, first_party: &[String]) -> Party {
    if first_party.contains(&registrable(host)) {
        Party::First
    } else {
        Party::Third
    }
}

/// A static finding seen in the browser too: it takes over the runtime facts.
fn absorb(s: &mut Finding, r: Finding, lines: Vec<Evidence>, by_rule: bool) {
    s.seen_by = Some(SeenBy::Both);
    s.initiators = r.initiators;
    // The browser knows more than the markup (a 1×1 response makes a beacon of a plain
    // remote image): a tracking runtime verdict replaces a weaker static one.
    if r.tracking && (!s.tracking || matches!(s.kind, Kind::RemoteImage | Kind::RemoteResource)) {
        s.tracking = true;
        s.kind = r.kind;
        s.message = r.message.clone();
    }
    // What the browser saw (a 1×1 response, the cookies) backs the finding either way.
    for e in &r.evidence {
        if !s.evidence.contains(e) && !lines.contains(e) && e.kind != EvidenceKind::Consent {
            s.evidence.push(e.clone());
        }
    }
    for id in r.leaks.identifiers {
        if !s
            .leaks
            .identifiers
            .iter()
            .any(|x| x.location == id.location && x.kind == id.kind)
        {
            s.leaks.identifiers.push(id);
        }
    }
    // Whether cookies went along is the browser's to say, not the markup's guess.
    s.leaks.cookies = r.leaks.cookies;
    if by_rule {
        s.evidence
            .push(Evidence::note(format!("seen in the browser as {}", r.url)));
    }
    if let Some(rc) = r.consent {
        if let Some(sc) = s.consent.filter(|sc| *sc != rc) {
            s.evidence.push(Evidence::note(format!(
                "the markup suggested {sc}; the browser run shows {rc}"
            )));
        }
        s.consent = Some(rc);
    }
    s.runtime = r.runtime;
    s.evidence.extend(lines);
}

/// Adds the observation to the page's report: runtime findings (merged with the static
/// ones), cookies, storage, consent behaviour and Google Consent Mode signals.
pub fn merge(doc: &mut DocumentReport, obs: &PageObservation, ctx: &RunContext<'_>) {
    let page = Url::parse(&obs.final_url).ok();
    let kept: Vec<usize> = (0..obs.hops.len())
        .filter(|&i| keep(&obs.hops[i]))
        .collect();
    let (runtime, signals) = runtime_findings(doc, obs, ctx, page.as_ref(), &kept);
    merge_findings(doc, runtime);
    if let Some(p) = obs.consent.as_ref().and_then(|c| c.platform.clone()) {
        let cp = doc.consent_platforms.get_or_insert_with(Vec::new);
        if !cp.contains(&p) {
            cp.push(p);
        }
    }
    add_page_facts(doc, obs, ctx, &kept, signals);
}

/// The kept requests judged like static references, each finding enriched with what the
/// browser saw of its requests (and its evidence lines); with the Google Consent Mode
/// signals met on the way.
fn runtime_findings(
    doc: &DocumentReport,
    obs: &PageObservation,
    ctx: &RunContext<'_>,
    page: Option<&Url>,
    kept: &[usize],
) -> (Vec<(Finding, Vec<Evidence>)>, Vec<GoogleConsentSignal>) {
    let refs: Vec<RawRef> = kept.iter().map(|&i| raw_ref(&obs.hops[i])).collect();
    let analysis = analyze::analyze(&refs, &analysis_context(doc, ctx, page));
    let mut by_key: HashMap<(String, RefRole), Vec<usize>> = HashMap::new();
    for &i in kept {
        if let Some(k) = finding_key(&obs.hops[i], page) {
            by_key.entry(k).or_default().push(i);
        }
    }
    let cands = candidates(obs, ctx.first_party);
    let mut platforms = doc.consent_platforms.clone().unwrap_or_default();
    if let Some(p) = obs.consent.as_ref().and_then(|c| c.platform.clone()) {
        if !platforms.contains(&p) {
            platforms.push(p);
        }
    }
    let mut signals = Vec::new();
    let mut runtime: Vec<(Finding, Vec<Evidence>)> = Vec::new();
    for mut f in analysis.findings {
        let r = if f.element == "script" {
            RefRole::Script
        } else {
            RefRole::Load
        };
        let Some(idxs) = by_key.get(&(f.url.clone(), r)).filter(|v| !v.is_empty()) else {
            continue;
        };
        let lines = enrich(&mut f, idxs, obs, &cands, &platforms, &mut signals);
        runtime.push((f, lines));
    }
    (runtime, signals)
}

/// Site-mode analysis of the final page: addresses in its query are the visitor's, and
/// account ids its static findings named are known.
fn analysis_context<'a>(
    doc: &DocumentReport,
    ctx: &RunContext<'a>,
    page: Option<&'a Url>,
) -> Context<'a> {
    let recipients: Vec<Recipient> = page
        .iter()
        .flat_map(|u| u.query_pairs())
        .filter(|(_, v)| v.contains('@') && v.contains('.') && !v.contains(' '))
        .map(|(_, v)| Recipient::new(&v))
        .collect();
    let mut known_accounts: Vec<String> = doc
        .findings
        .iter()
        .filter_map(|f| f.account.clone())
        .collect();
    known_accounts.sort();
    known_accounts.dedup();
    Context {
        rules: ctx.rules,
        filters: ctx.filters,
        page: page.map(Url::as_str),
        mode: Mode::Site,
        first_party: ctx.first_party.to_vec(),
        recipients,
        base: page.cloned(),
        sent_by_platform: false,
        referrer_sent: true,
        consent: None,
        known_accounts,
        sender: None,
        archive_copy: false,
    }
}

/// Which static finding a runtime finding is.
enum StaticMatch {
    /// The same URL.
    Url(usize),
    /// The same rule, and the same account or a URL the inline script completed.
    Rule(usize),
}

/// One list of findings for the page: a runtime finding that is a static one is absorbed
/// into it, the others are added; static findings the browser did not see say so.
fn merge_findings(doc: &mut DocumentReport, runtime: Vec<(Finding, Vec<Evidence>)>) {
    let confirmations: Vec<(Option<String>, Option<String>, String)> = runtime
        .iter()
        .map(|(f, _)| (f.entity.clone(), f.account.clone(), f.url.clone()))
        .collect();
    let n_static = doc.findings.len();
    for f in doc.findings.iter_mut() {
        f.seen_by = Some(SeenBy::Static);
    }
    let mut by_rule_taken = vec![false; n_static];
    let mut extra = Vec::new();
    for (r, lines) in runtime {
        match static_match(&doc.findings[..n_static], &r, &by_rule_taken) {
            Some(StaticMatch::Url(i)) => absorb(&mut doc.findings[i], r, lines, false),
            Some(StaticMatch::Rule(i)) => {
                by_rule_taken[i] = true;
                absorb(&mut doc.findings[i], r, lines, true);
            }
            None => extra.push(r),
        }
    }
    note_static_only(&mut doc.findings[..n_static], &confirmations);
    doc.findings.extend(extra);
}

fn static_match(statics: &[Finding], r: &Finding, by_rule_taken: &[bool]) -> Option<StaticMatch> {
    let eligible = |s: &Finding| !matches!(s.kind, Kind::TrackedLink | Kind::DnsPrefetch);
    if let Some(i) = statics
        .iter()
        .position(|s| eligible(s) && !s.url.is_empty() && s.url == r.url)
    {
        return Some(StaticMatch::Url(i));
    }
    // Same rule and account (a tag's noscript fallback and its script hit), or a URL
    // written in an inline script that the script completes at run time (`…&cid=` +
    // the client id).
    statics
        .iter()
        .enumerate()
        .position(|(i, s)| {
            eligible(s)
                && !by_rule_taken[i]
                && s.runtime.is_none()
                && s.rule.is_some()
                && s.rule == r.rule
                && ((s.account.is_some() && s.account == r.account)
                    || (matches!(s.attribute.as_str(), "inline-url" | "inline-loader")
                        && !s.url.is_empty()
                        && r.url.starts_with(&s.url)))
        })
        .map(StaticMatch::Rule)
}

/// Static findings no runtime finding absorbed: one without a URL (a tag's account) is
/// confirmed by a runtime finding of the same entity and account; one with a URL was not
/// requested in this visit.
fn note_static_only(
    statics: &mut [Finding],
    confirmations: &[(Option<String>, Option<String>, String)],
) {
    for s in statics.iter_mut() {
        if s.seen_by != Some(SeenBy::Static) {
            continue;
        }
        if s.url.is_empty() {
            if let Some((_, _, u)) = confirmations
                .iter()
                .find(|(e, a, _)| a.is_some() && *a == s.account && *e == s.entity)
            {
                s.seen_by = Some(SeenBy::Both);
                s.evidence
                    .push(Evidence::note(format!("confirmed in the browser: {u}")));
            }
        } else if !matches!(s.kind, Kind::TrackedLink | Kind::DnsPrefetch) {
            s.evidence.push(Evidence::note(
                "not requested in the browser run (this visit)",
            ));
        }
    }
}

/// Page-level facts: the cookie jar, localStorage, Google Consent Mode signals, what the
/// accept click unlocked, and the browser run itself.
fn add_page_facts(
    doc: &mut DocumentReport,
    obs: &PageObservation,
    ctx: &RunContext<'_>,
    kept: &[usize],
    signals: Vec<GoogleConsentSignal>,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    doc.cookies = Some(cookie_reports(obs, ctx, now));
    doc.local_storage = Some(storage_reports(obs));
    doc.google_consent = signals;
    if let Some(click) = &obs.consent {
        doc.consent_unlocked = Some(consent_unlocked(doc, obs, click, ctx.first_party));
    }
    doc.browser = Some(browser_run(doc, obs, ctx, kept));
    if doc.title.is_none() {
        doc.title = obs.title.clone();
    }
}

/// The page's `browser` block: requests, third-party requests, tracking before consent.
fn browser_run(
    doc: &DocumentReport,
    obs: &PageObservation,
    ctx: &RunContext<'_>,
    kept: &[usize],
) -> BrowserRun {
    let third = kept
        .iter()
        .filter(|&&i| party_of(&host_of(&obs.hops[i].url), ctx.first_party) == Party::Third)
        .count();
    let mut notes = Vec::new();
    if obs.truncated {
        notes.push("more than 5,000 requests: the rest were not recorded".to_string());
    }
    if obs.consent.as_ref().is_some_and(|c| c.in_iframe) {
        notes.push("the consent banner's accept button is inside an iframe".to_string());
    }
    notes.extend(obs.notes.iter().cloned());
    BrowserRun {
        browser: ctx.browser.to_string(),
        final_url: obs.final_url.clone(),
        load_ms: obs.load_ms,
        requests: kept.len() as u32,
        third_party_requests: third as u32,
        tracking_before_consent: doc
            .findings
            .iter()
            .filter(|f| {
                f.tracking
                    && f.runtime
                        .as_ref()
                        .is_some_and(|r| r.phase == Phase::BeforeConsent)
            })
            .count() as u32,
        third_party_cookies: third_party_cookies(ctx),
        timed_out: obs.timed_out,
        error: None,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_follow_script_initiators() {
        let page = "https://shop.example/";
        let hops = vec![
            Hop {
                url: "https://tm.example/tm.js".into(),
                resource_type: "Script".into(),
                initiator_url: Some(page.into()),
                ..Default::default()
            },
            Hop {
                url: "https://cdn.t.example/ev.js".into(),
                resource_type: "Script".into(),
                initiator_url: Some("https://tm.example/tm.js".into()),
                ..Default::default()
            },
            Hop {
                url: "https://px.t.example/tr?id=1".into(),
                resource_type: "Image".into(),
                initiator_url: Some("https://cdn.t.example/ev.js".into()),
                ..Default::default()
            },
        ];
        assert_eq!(
            initiator_chain(&hops, 2, page),
            vec![
                page,
                "https://tm.example/tm.js",
                "https://cdn.t.example/ev.js"
            ]
        );
    }
}
