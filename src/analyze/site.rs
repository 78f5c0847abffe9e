//! What only web pages have: referrer policy, personal data in page URLs, inline tag
//! snippets that reveal account ids, consent platforms and whether each tag is gated.

use std::sync::OnceLock;

use regex::Regex;
use url::Url;

use super::{analyze, resolve, Context, Mode, Recipient};
use crate::domain::registrable;
use crate::extract::js::is_ident;
use crate::extract::Extracted;
use crate::model::{Finding, Identifier, Kind, Leaks, Party, RawRef, ReferrerInfo, Tier};
use crate::rules::{EndpointKind, Ruleset, SignatureOn};

/// Consent facts about one page, shared by every finding on it.
#[derive(Debug, Clone, Default)]
pub struct ConsentState {
    /// Indices into `Ruleset::consent`.
    pub platforms: Vec<usize>,
    /// Google Consent Mode defaults set before the tags, e.g. `ad_storage=denied`.
    pub consent_mode_denied: Vec<String>,
    /// A platform that blocks tags on its own at run time (Cookiebot auto-blocking…).
    pub auto_blocking: Option<String>,
}

/// One page's analysis, and the links it offers the crawler.
#[derive(Debug, Default)]
pub struct PageAnalysis {
    pub findings: Vec<Finding>,
    pub untracked_links: u32,
    pub consent_platforms: Vec<String>,
    pub referrer: Option<ReferrerInfo>,
    pub personal_data: Vec<String>,
    pub links: Vec<Url>,
    pub title: Option<String>,
    /// The site the page declares itself part of (its canonical URL's registrable domain),
    /// when the context asked for it and it named one: counted as first party.
    pub declared_site: Option<String>,
    /// The page is a Wayback Machine copy.
    pub archive: Option<ArchiveCopy>,
}

pub struct PageContext<'a> {
    pub rules: &'a Ruleset,
    /// Registrable domains of the site owner (the page's own plus `--first-party`).
    pub first_party: Vec<String>,
    /// The `Referrer-Policy` response header, if any.
    pub referrer_header: Option<String>,
    /// A saved page scanned without `--base-url`: take the site from the page's own canonical
    /// URL, so its absolute links to itself (and self-hosted analytics) are first party.
    pub site_from_page: bool,
}

/// The policy's effect on a cross-origin request: `full-url`, `origin` or `none`.
pub fn referrer_sends(policy: &str) -> &'static str {
    match policy.trim().to_ascii_lowercase().as_str() {
        "no-referrer" | "never" | "same-origin" => "none",
        "unsafe-url" | "always" | "no-referrer-when-downgrade" | "default" => "full-url",
        _ => "origin",
    }
}

const POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
    "never",
    "always",
    "default",
];

/// The last recognised token wins, as browsers do for comma-separated header values.
fn valid_policy(value: &str) -> Option<String> {
    value
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .rfind(|t| POLICIES.contains(&t.as_str()))
}

fn referrer_info(header: Option<&str>, meta: Option<&str>) -> ReferrerInfo {
    let (policy, from) = match (meta.and_then(valid_policy), header.and_then(valid_policy)) {
        (Some(m), _) => (m, "meta"),
        (None, Some(h)) => (h, "header"),
        (None, None) => ("strict-origin-when-cross-origin".to_string(), "default"),
    };
    let sends = referrer_sends(&policy);
    // The page URL itself leaks only when the full URL goes out; an origin is the site.
    ReferrerInfo {
        policy,
        from,
        sends,
        leaks: sends == "full-url",
    }
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$").unwrap()
    })
}

/// Personal data in a page URL's query: addresses, phone numbers, names, as evidence.
pub fn personal_data_in_url(url: &Url) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in url.query_pairs() {
        let key = k.to_ascii_lowercase().replace(['-', '_', '[', ']'], "");
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let what = if email_re().is_match(v) {
            Some("email address")
        } else if matches!(
            key.as_str(),
            "phone" | "tel" | "telephone" | "mobile" | "cell" | "phonenumber" | "msisdn"
        ) && digits >= 7
        {
            Some("phone number")
        } else if matches!(
            key.as_str(),
            "name"
                | "fullname"
                | "firstname"
                | "lastname"
                | "fname"
                | "lname"
                | "surname"
                | "givenname"
        ) {
            Some("name")
        } else if matches!(
            key.as_str(),
            "address"
                | "street"
                | "zip"
                | "zipcode"
                | "postcode"
                | "postalcode"
                | "dob"
                | "birthdate"
                | "birthday"
                | "ssn"
        ) {
            Some("postal or identity data")
        } else {
            None
        };
        if let Some(w) = what {
            out.push(format!("{w} in query parameter {k}"));
        }
    }
    out
}

fn consent_mode_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"gtag\(\s*['"]consent['"]\s*,\s*['"]default['"]\s*,\s*\{([^}]*)\}"#).unwrap()
    })
}

fn denied_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"['"]?([a-z_]+)['"]?\s*:\s*['"]denied['"]"#).unwrap())
}

fn inline_url_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?:https?:)?//[A-Za-z0-9.\-]+\.[A-Za-z]{2,}(?::\d+)?/[^\s"'<>\\`)]*"#)
            .unwrap()
    })
}

/// Whether a script `type` makes it inert (not executed until something rewrites it).
fn inert_type(t: &str) -> bool {
    // Browsers run exactly these; anything else (`text/plain`, `didomi/javascript`,
    // `text/template`) is parked until a consent script rewrites it.
    let t = t.trim().to_ascii_lowercase();
    let essence = t.split(';').next().unwrap_or("").trim();
    !matches!(
        essence,
        "" | "module"
            | "text/javascript"
            | "application/javascript"
            | "text/ecmascript"
            | "application/ecmascript"
            | "application/x-javascript"
            | "application/x-ecmascript"
            | "text/x-javascript"
            | "text/x-ecmascript"
            | "text/jscript"
            | "text/livescript"
            | "text/javascript1.0"
            | "text/javascript1.1"
            | "text/javascript1.2"
            | "text/javascript1.3"
            | "text/javascript1.4"
            | "text/javascript1.5"
    )
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Gated, ungated or unknown, with the mechanism as evidence.
pub fn consent_for(
    r: &RawRef,
    entity: Option<&str>,
    state: Option<&ConsentState>,
    rules: &Ruleset,
) -> (&'static str, String) {
    let (state_word, why) = gate(
        &r.extra,
        r.hidden.iter().any(|h| h == "inside <noscript>"),
        r.attribute == "data-src",
        entity,
        state,
        rules,
    );
    // Auto-blockers hold back scripts and frames; a plain <img> in the markup is fetched
    // by the HTML parser before any script runs.
    if state_word == "unknown" && r.element == "img" && r.attribute != "inline-loader" {
        return (
            "ungated",
            "consent: ungated — a plain <img> in the markup loads with the page, before any consent script can hold it back".into(),
        );
    }
    (state_word, why)
}

/// Query parameters that name the visitor or their browser in web beacons.
const VISITOR_PARAMS: &[&str] = &[
    "uid",
    "user_id",
    "userid",
    "cid",
    "client_id",
    "clientid",
    "visitor_id",
    "visitorid",
    "vid",
    "guid",
    "uuid",
    "did",
    "device_id",
    "deviceid",
    "_ga",
    "ga_cid",
    "anonymous_id",
    "anonymousid",
    "mid",
    "pxid",
    "fpid",
    "tuid",
    "euid",
    "puid",
];

/// On a web page an identifier names a visitor or their browser, never a "recipient": a
/// rule-named token, or a token in a parameter named for the visitor, is a `visitor-id`.
pub fn visitor_ids(ids: &mut [crate::model::Identifier]) {
    for id in ids.iter_mut() {
        let key = id.location.strip_prefix("query:").unwrap_or("");
        let visitor_param = VISITOR_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p));
        if id.kind == "recipient-token"
            || (id.kind == super::identifiers::UNVERIFIED && visitor_param)
        {
            id.kind = "visitor-id";
        }
    }
}

fn gate(
    attrs: &[(String, String)],
    in_noscript: bool,
    deferred: bool,
    entity: Option<&str>,
    state: Option<&ConsentState>,
    rules: &Ruleset,
) -> (&'static str, String) {
    if in_noscript {
        return ("ungated", "consent: ungated — a <noscript> fallback fires for visitors without JavaScript, where no consent platform runs".into());
    }
    let ty = attr(attrs, "type").unwrap_or("");
    let class = attr(attrs, "class").unwrap_or("");
    let marker = state
        .into_iter()
        .flat_map(|s| s.platforms.iter().copied())
        .chain(0..rules.consent.len())
        .find_map(|i| {
            let p = &rules.consent[i];
            p.gate_attrs
                .iter()
                .find_map(|a| attr(attrs, a).map(|v| format!("{a}=\"{v}\" ({})", p.name)))
                .or_else(|| {
                    p.gate_class_prefixes.iter().find_map(|pre| {
                        class
                            .split_whitespace()
                            .find(|c| c.starts_with(pre.as_str()))
                            .map(|c| format!("class {c} ({})", p.name))
                    })
                })
        });
    if inert_type(ty) {
        let how = marker.map(|m| format!(" + {m}")).unwrap_or_default();
        return (
            "gated",
            format!("consent: gated — type=\"{ty}\"{how} keeps the tag inert until consent"),
        );
    }
    if deferred {
        if let Some(m) = marker {
            return ("gated", format!("consent: gated — data-src with {m}: the consent platform sets src after consent"));
        }
    }
    if let Some(state) = state {
        if entity.is_some_and(|e| e.starts_with("Google")) && !state.consent_mode_denied.is_empty()
        {
            return (
                "gated",
                format!(
                    "consent: gated by Google Consent Mode defaults ({}); in advanced mode Google tags still send cookieless pings",
                    state.consent_mode_denied.join(", ")
                ),
            );
        }
        if let Some(auto) = &state.auto_blocking {
            return ("unknown", format!("consent: unknown — {auto} may block this tag at run time; only a browser run can tell"));
        }
        if let Some(&p) = state.platforms.first() {
            return (
                "ungated",
                format!(
                    "consent: ungated — fires without consent, although {} is on the page",
                    rules.consent[p].name
                ),
            );
        }
    }
    (
        "ungated",
        "consent: ungated — fires without consent (no consent mechanism on the page)".into(),
    )
}

/// Whether a pixel URL reports a conversion (purchase, lead, sign-up) rather than a visit.
pub fn conversion_event(url: &Url) -> bool {
    url.query_pairs().any(|(k, v)| {
        matches!(
            k.as_ref(),
            "ev" | "event" | "en" | "ea" | "evt" | "event_name" | "action"
        ) && matches!(
            v.to_ascii_lowercase().replace(['_', ' ', '-'], "").as_str(),
            "purchase"
                | "addtocart"
                | "lead"
                | "completeregistration"
                | "initiatecheckout"
                | "checkout"
                | "subscribe"
                | "signup"
                | "conversion"
                | "addpaymentinfo"
                | "startTrial"
                | "starttrial"
                | "submitapplication"
                | "contact"
                | "schedule"
        )
    })
}

/// The account id a `src`/`both` signature finds in a URL (`gtm.js?id=GTM-…`).
pub fn account_from_url(rules: &Ruleset, url: &str) -> Option<String> {
    rules
        .signatures
        .iter()
        .filter(|s| matches!(s.on, SignatureOn::Src | SignatureOn::Both))
        .find_map(|s| {
            s.pattern
                .captures(url)
                .and_then(|c| c.name("account"))
                .map(|m| m.as_str().to_string())
        })
}

fn consent_state(ex: &Extracted, base: &Url, rules: &Ruleset) -> ConsentState {
    let mut st = ConsentState::default();
    for (i, p) in rules.consent.iter().enumerate() {
        let by_script = ex.refs.iter().any(|r| {
            r.element == "script"
                && resolve(&r.url, Some(base))
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                    .is_some_and(|h| p.script_hosts.iter().any(|hp| hp.matches(&h)))
        });
        let by_inline = !p.inline.is_empty()
            && ex
                .inline_scripts
                .iter()
                .any(|s| p.inline.iter().any(|re| re.is_match(&s.text)));
        if by_script || by_inline {
            st.platforms.push(i);
        }
    }
    for s in &ex.inline_scripts {
        if let Some(c) = consent_mode_re().captures(&s.text) {
            for d in denied_re().captures_iter(&c[1]) {
                st.consent_mode_denied.push(format!("{}=denied", &d[1]));
            }
        }
    }
    // Nearly every CMP also implements the IAB frameworks' APIs (`__tcfapi`): name the
    // frameworks only when no specific platform was found.
    let generic = |i: &usize| rules.consent[*i].id.starts_with("iab-");
    if st.platforms.iter().any(|i| !generic(i)) {
        st.platforms.retain(|i| !generic(i));
    }
    // Auto-blocking modes rewrite tags at run time without any marker in the HTML.
    if let Some(r) = ex.refs.iter().find(|r| {
        r.element == "script"
            && attr(&r.extra, "data-blockingmode").is_some_and(|v| v.eq_ignore_ascii_case("auto"))
    }) {
        let _ = r;
        st.auto_blocking = Some("Cookiebot auto-blocking (data-blockingmode=\"auto\")".into());
    }
    if ex.refs.iter().any(|r| {
        r.element == "script" && r.url.contains("usercentrics") && r.url.contains("autoblocker")
    }) {
        st.auto_blocking = Some("the Usercentrics auto-blocker".into());
    }
    st
}

/// Analyzes one page: `url` is where it was fetched from (or the URL it will have, for a
/// local file), `html` its text, used to locate columns.
pub fn analyze_page(url: &Url, html: &str, ex: &Extracted, pctx: &PageContext<'_>) -> PageAnalysis {
    let rules = pctx.rules;
    let base = ex
        .base
        .as_deref()
        .and_then(|b| resolve(b, Some(url)))
        .unwrap_or_else(|| url.clone());
    let referrer = referrer_info(pctx.referrer_header.as_deref(), ex.meta_referrer.as_deref());
    let personal = personal_data_in_url(url);
    let recipients: Vec<Recipient> = url
        .query_pairs()
        .filter(|(_, v)| email_re().is_match(v.trim()))
        .map(|(_, v)| Recipient::new(&v))
        .collect();
    // A Wayback Machine copy stands for the page as first published: its URLs are judged as
    // the original page's, and the archived site is the first party.
    let archive = archive_copy(ex);
    let declared_site = archive
        .as_ref()
        .and_then(|a| a.site.clone())
        .or_else(|| pctx.site_from_page.then(|| declared_site(ex)).flatten())
        .filter(|d| !pctx.first_party.contains(d));
    let mut first_party = pctx.first_party.clone();
    first_party.extend(declared_site.clone());
    let state = consent_state(ex, &base, rules);
    let mut refs: Vec<RawRef> = ex.refs.clone();
    refs.extend(loader_refs(ex));
    locate_columns(html, &mut refs);
    let hits = signature_hits(html, ex, rules);
    let ctx = Context {
        rules,
        mode: Mode::Site,
        first_party,
        recipients,
        base: Some(base.clone()),
        sent_by_platform: false,
        referrer_sent: referrer.sends != "none",
        consent: Some(state.clone()),
        known_accounts: {
            let mut accounts: Vec<String> = Vec::new();
            for h in &hits {
                if !accounts.contains(&h.account) {
                    accounts.push(h.account.clone());
                }
            }
            accounts
        },
        sender: None,
        archive_copy: archive.is_some(),
    };
    let analysis = analyze(&refs, &ctx);
    let mut findings = analysis.findings;
    if !personal.is_empty() && referrer.sends == "full-url" {
        for f in findings
            .iter_mut()
            .filter(|f| f.party == Party::Third && f.leaks.referrer)
        {
            f.evidence.push(format!(
                "the page URL, with {}, is sent as referrer",
                personal.join(", ")
            ));
        }
    }
    let mut inline = inline_findings(ex, &hits, &base, &ctx, &state);
    for f in inline.iter_mut().filter(|f| f.attribute == "inline") {
        if let Some(line) = f.line {
            f.column = tag_column(html, line, "<script");
        }
    }
    // A beacon URL in a script that a loader also fetches is already a finding.
    inline.retain(|f| !findings.iter().any(|g| g.url == f.url));
    // The script a tag snippet loads is the snippet's own request: one finding, with the
    // account from the snippet and the URL it loads as evidence.
    findings.retain(|f| {
        if f.attribute != "inline-loader" {
            return true;
        }
        match inline
            .iter_mut()
            .find(|s| s.attribute == "inline" && s.entity.is_some() && s.entity == f.entity)
        {
            Some(s) => {
                s.evidence.push(format!("loads {}", f.url));
                false
            }
            None => true,
        }
    });
    // An id written in the markup belongs to the request its company's script makes: one
    // finding, the account on the request.
    inline.retain(|m| {
        if m.attribute != "markup" {
            return true;
        }
        match findings.iter_mut().find(|f| {
            f.tracking && f.account.is_none() && f.entity.is_some() && f.entity == m.entity
        }) {
            Some(f) => {
                f.account = m.account.clone();
                f.evidence.extend(m.evidence.first().cloned());
                false
            }
            None => true,
        }
    });
    findings.extend(inline);

    let links = ex
        .refs
        .iter()
        .filter(|r| r.role == crate::model::RefRole::Link)
        .filter_map(|r| resolve(&r.url, Some(&base)))
        .collect();
    PageAnalysis {
        findings,
        untracked_links: analysis.untracked_links,
        consent_platforms: state
            .platforms
            .iter()
            .map(|&i| rules.consent[i].name.clone())
            .collect(),
        referrer: Some(referrer),
        personal_data: personal,
        links,
        title: ex.title.clone(),
        declared_site,
        archive,
    }
}

/// The registrable domain of the page's canonical URL (`<link rel=canonical>`, `og:url`),
/// when it is an absolute web URL. Wayback copies declare the archived site, which is not
/// where the copy is served from: they declare nothing here.
fn declared_site(ex: &Extracted) -> Option<String> {
    let u = Url::parse(ex.canonical.as_deref()?.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let host = u.host_str()?;
    if host == "web.archive.org" || host == "localhost" || !host.contains('.') {
        return None;
    }
    Some(registrable(host))
}

/// A page saved from the Wayback Machine: the archive rewrote its URLs to
/// `web.archive.org/web/<timestamp><flag>/<original>` and injected its replay script
/// (wombat), whose init call names the capture.
#[derive(Debug, Clone)]
pub struct ArchiveCopy {
    /// The capture's timestamp (`20181206101316`).
    pub timestamp: String,
    /// The archived site's registrable domain, when the init call names it.
    pub site: Option<String>,
}

impl ArchiveCopy {
    /// The capture date, `2018-12-06` (or the timestamp as written when shorter).
    pub fn date(&self) -> String {
        let t = &self.timestamp;
        if t.len() >= 8 {
            format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..8])
        } else {
            t.clone()
        }
    }
}

fn archive_copy(ex: &Extracted) -> Option<ArchiveCopy> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        // WB_wombat_Init("https://web.archive.org/web/", "20181206101316", "site.example")
        // __wm.wombat("http://site.example/page", "20200808063632", "https://web.archive.org/", …)
        Regex::new(r#"(?:WB_wombat_Init\(\s*["']https?://web\.archive\.org/web/?["']\s*,\s*["'](\d{4,14})["']\s*,\s*["']([^"']*)["']|__wm\.wombat\(\s*["']([^"']*)["']\s*,\s*["'](\d{4,14})["']\s*,\s*["']https?://web\.archive\.org)"#).unwrap()
    });
    ex.inline_scripts.iter().take(40).find_map(|s| {
        let c = re.captures(&s.text)?;
        let (ts, site) = match (c.get(1), c.get(2)) {
            (Some(ts), Some(host)) => (ts.as_str(), host.as_str().to_string()),
            _ => (
                c.get(4)?.as_str(),
                Url::parse(c.get(3)?.as_str())
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default(),
            ),
        };
        let host = site.split(':').next().unwrap_or("");
        Some(ArchiveCopy {
            timestamp: ts.to_string(),
            site: host.contains('.').then(|| registrable(host)),
        })
    })
}

/// Requests that inline scripts hand to a loader (`s.src = '//cdn.vendor/x.js'`), as
/// references on the script's line; data scripts (JSON, templates) load nothing.
fn loader_refs(ex: &Extracted) -> Vec<RawRef> {
    let mut out = Vec::new();
    for script in &ex.inline_scripts {
        let ty = script
            .attrs
            .iter()
            .find(|(k, _)| k == "type")
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        if ty.contains("json") || ty.contains("template") || ty.contains("html") {
            continue;
        }
        for l in crate::extract::loader::loaded_urls(&script.text) {
            if let Some(name) = crate::extract::js::enclosing_named_function(&script.text, l.offset)
            {
                if never_called(ex, name) {
                    continue;
                }
            }
            out.push(RawRef {
                url: l.url,
                element: if l.image { "img" } else { "script" }.into(),
                attribute: "inline-loader".into(),
                role: if l.script {
                    crate::model::RefRole::Script
                } else {
                    crate::model::RefRole::Load
                },
                hidden: Vec::new(),
                width: None,
                height: None,
                line: script.line + script.text[..l.offset].matches('\n').count() as u64,
                column: None,
                extra: script.attrs.clone(),
            });
        }
    }
    out
}

/// Whether the function `name` (`pinIt`, `analytics.load`) is never named again in the
/// page's scripts: defined, never called, so a loader inside it never runs (Segment's stub
/// without its `analytics.load("key")` call, a share button's on-click loader). Event
/// handler properties (`window.onload = function…`) are called by the browser.
fn never_called(ex: &Extracted, name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    if last.len() < 2 || last.starts_with("on") {
        return false;
    }
    // A hook a library calls (`window.fbAsyncInit = function…`, `config.choice_callback = …`)
    // is named nowhere else on the page, yet runs.
    let lower = last.to_ascii_lowercase();
    if name.contains('.')
        && [
            "callback", "init", "ready", "handler", "listener", "hook", "loaded", "complete",
            "success",
        ]
        .iter()
        .any(|w| lower.contains(w))
    {
        return false;
    }
    for s in &ex.inline_scripts {
        let t = s.text.as_bytes();
        for at in memchr::memmem::find_iter(t, name.as_bytes()) {
            let before = at.checked_sub(1).map(|i| t[i]);
            let after = t.get(at + name.len()).copied();
            if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
                continue;
            }
            // A definition (`function name(`, `name = function`, a page that defines it
            // twice) is no call; any other mention (a call, a callback reference) is.
            let head = s.text[..at].trim_end();
            let tail = s.text[at + name.len()..].trim_start();
            let defines =
                head.ends_with("function") || (tail.starts_with('=') && !tail.starts_with("=="));
            if !defines {
                return false;
            }
        }
    }
    true
}

/// One tag snippet found on the page: which signature, which account, and where (an inline
/// script, or the markup for `on = "markup"` signatures).
struct SnippetHit {
    script: Option<usize>,
    signature: usize,
    account: String,
    /// 1-based line of a markup hit.
    line: u64,
}

/// Every inline signature match on the page, once per (signature, account). Computed once:
/// the accounts feed the URL analysis, the hits become snippet findings.
fn signature_hits(html: &str, ex: &Extracted, rules: &Ruleset) -> Vec<SnippetHit> {
    let mut out: Vec<SnippetHit> = Vec::new();
    // Each `requires` pattern is looked for once per page, only when its signature matched.
    let mut required: Vec<Option<bool>> = vec![None; rules.signatures.len()];
    let mut page_has_required = |gi: usize| {
        rules.signatures[gi]
            .requires
            .as_ref()
            .is_none_or(|req| *required[gi].get_or_insert_with(|| req.is_match(html)))
    };
    for (si, script) in ex.inline_scripts.iter().enumerate() {
        for (gi, sig) in rules.signatures.iter().enumerate() {
            if matches!(sig.on, SignatureOn::Src | SignatureOn::Markup) {
                continue;
            }
            for caps in sig.pattern.captures_iter(&script.text).take(20) {
                let Some(a) = caps.name("account") else {
                    continue;
                };
                if !page_has_required(gi) {
                    break;
                }
                if !out
                    .iter()
                    .any(|h| h.signature == gi && h.account == a.as_str())
                {
                    out.push(SnippetHit {
                        script: Some(si),
                        signature: gi,
                        account: a.as_str().to_string(),
                        line: 0,
                    });
                }
            }
        }
    }
    // Markup signatures: once over the page. An account an inline snippet of the same company
    // already reported is not reported twice.
    for (gi, sig) in rules.signatures.iter().enumerate() {
        if sig.on != SignatureOn::Markup {
            continue;
        }
        for caps in sig.pattern.captures_iter(html).take(20) {
            let Some(a) = caps.name("account") else {
                continue;
            };
            if !page_has_required(gi) {
                break;
            }
            let seen = out.iter().any(|h| {
                h.account == a.as_str()
                    && (h.signature == gi || rules.signatures[h.signature].entity == sig.entity)
            });
            if !seen {
                out.push(SnippetHit {
                    script: None,
                    signature: gi,
                    account: a.as_str().to_string(),
                    line: 1 + memchr::memchr_iter(b'\n', &html.as_bytes()[..a.start()]).count()
                        as u64,
                });
            }
        }
    }
    out
}

/// Tag snippets in inline scripts (with their account id), and beacon URLs written inside
/// scripts (`new Image().src = "https://…/tr?id=…"`).
fn inline_findings(
    ex: &Extracted,
    hits: &[SnippetHit],
    base: &Url,
    ctx: &Context<'_>,
    state: &ConsentState,
) -> Vec<Finding> {
    let rules = ctx.rules;
    let mut out: Vec<Finding> = Vec::new();
    for (si, script) in ex.inline_scripts.iter().enumerate() {
        let (consent, why) = gate(&script.attrs, false, false, None, Some(state), rules);
        for hit in hits.iter().filter(|h| h.script == Some(si)) {
            let sig = &rules.signatures[hit.signature];
            let account = hit.account.clone();
            let entity = rules.entity(sig.entity);
            let (consent, why) = if entity.name.starts_with("Google") && consent == "ungated" {
                gate(
                    &script.attrs,
                    false,
                    false,
                    Some(&entity.name),
                    Some(state),
                    rules,
                )
            } else {
                (consent, why.clone())
            };
            let mut evidence = vec![format!(
                "signature {}: {} snippet with account {account}",
                sig.id, sig.tag
            )];
            if let Some(n) = &sig.note {
                evidence.push(n.clone());
            }
            evidence.push(why);
            out.push(snippet_finding(
                script.line,
                sig.kind,
                entity,
                &sig.tag,
                &sig.id,
                account,
                consent,
                evidence,
            ));
        }
        // Advanced matching: the visitor's identity handed to the tag itself.
        for (entity_name, id) in advanced_matching(&script.text) {
            let what = match id.kind {
                "visitor-email" => "the visitor's email address",
                "visitor-email-hash" => "a hash of the visitor's email address",
                "visitor-phone" => "the visitor's phone number",
                _ => "the visitor's personal data (filled in by the page)",
            };
            let line = format!(
                "advanced matching: {what} in the init call ({}) goes to {entity_name}",
                id.location
            );
            match out.iter_mut().find(|f| {
                f.attribute == "inline"
                    && f.line == Some(script.line)
                    && f.entity
                        .as_deref()
                        .is_some_and(|e| e == entity_name || e.starts_with(entity_name))
            }) {
                Some(f) => {
                    f.evidence.push(line);
                    f.leaks.identifiers.push(id);
                }
                None => {
                    let Some(e) = rules.entity_by_name(entity_name) else {
                        continue;
                    };
                    let entity = rules.entity(e);
                    let mut f = snippet_finding(
                        script.line,
                        EndpointKind::TrackerScript,
                        entity,
                        &format!("{} advanced matching", entity.name),
                        "advanced-matching",
                        String::new(),
                        consent,
                        vec![line, why.clone()],
                    );
                    f.account = None;
                    f.leaks.identifiers.push(id);
                    out.push(f);
                }
            }
        }
        // URLs inside the script that a beacon or pixel rule recognises.
        for m in inline_url_re().find_iter(&script.text).take(200) {
            let Some(u) = resolve(m.as_str(), Some(base)) else {
                continue;
            };
            let Some(em) = rules.match_endpoint(&u) else {
                continue;
            };
            if !matches!(
                em.endpoint.kind,
                EndpointKind::Beacon | EndpointKind::AdConversion | EndpointKind::OpenPixel
            ) {
                continue;
            }
            if out.iter().any(|f| f.url == u.as_str()) {
                continue;
            }
            let raw = RawRef {
                url: u.to_string(),
                element: "script".into(),
                attribute: "inline-url".into(),
                role: crate::model::RefRole::Load,
                hidden: Vec::new(),
                width: None,
                height: None,
                line: script.line + script.text[..m.start()].matches('\n').count() as u64,
                column: None,
                extra: script.attrs.clone(),
            };
            out.extend(analyze(std::slice::from_ref(&raw), ctx).findings);
        }
    }
    // Ids written in the markup (`<ins class="adsbygoogle" data-ad-client="ca-pub-…">`).
    for hit in hits.iter().filter(|h| h.script.is_none()) {
        let sig = &rules.signatures[hit.signature];
        let entity = rules.entity(sig.entity);
        let (consent, why) = gate(&[], false, false, Some(&entity.name), Some(state), rules);
        let mut evidence = vec![format!(
            "signature {}: {} markup with account {}",
            sig.id, sig.tag, hit.account
        )];
        evidence.extend(sig.note.clone());
        evidence.push(why);
        let mut f = snippet_finding(
            hit.line,
            sig.kind,
            entity,
            &sig.tag,
            &sig.id,
            hit.account.clone(),
            consent,
            evidence,
        );
        f.attribute = "markup".into();
        f.element = "html".into();
        out.push(f);
    }
    out
}

/// Tag calls that hand the visitor's own data to the vendor ("advanced matching"), with the
/// entity they report to and the keys that carry personal data.
const MATCHING_CALLS: &[(&str, &str, &[&str])] = &[
    (
        r#"fbq\(\s*['"]init['"]\s*,\s*['"]?[0-9]+['"]?\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Facebook",
        &["em", "ph", "fn", "ln", "db", "external_id"],
    ),
    (
        r#"snaptr\(\s*['"]init['"]\s*,\s*['"][^'"]+['"]\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Snapchat",
        &[
            "user_email",
            "user_phone_number",
            "user_hashed_email",
            "user_hashed_phone_number",
        ],
    ),
    (
        r#"ttq\.identify\(\s*\{(?P<body>[^}]{0,600})\}"#,
        "TikTok",
        &[
            "email",
            "phone_number",
            "sha256_email",
            "sha256_phone_number",
            "external_id",
        ],
    ),
    (
        r#"gtag\(\s*['"]set['"]\s*,\s*['"]user_data['"]\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Google Analytics",
        &[
            "email",
            "phone_number",
            "sha256_email_address",
            "sha256_phone_number",
        ],
    ),
    (
        r#"pintrk\(\s*['"]load['"]\s*,\s*['"]?[0-9]+['"]?\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Pinterest",
        &["em", "email"],
    ),
];

fn matching_res() -> &'static [(Regex, &'static str, &'static [&'static str])] {
    static RE: std::sync::OnceLock<Vec<(Regex, &'static str, &'static [&'static str])>> =
        std::sync::OnceLock::new();
    RE.get_or_init(|| {
        MATCHING_CALLS
            .iter()
            .map(|(p, e, k)| (Regex::new(p).expect("matching pattern"), *e, *k))
            .collect()
    })
}

fn matching_value_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"['"]?(?P<key>[A-Za-z_][A-Za-z0-9_]*)['"]?\s*:\s*(?:['"](?P<val>[^'"]{0,200})['"]|(?P<var>[A-Za-z_$][\w.$]*))"#)
            .expect("matching value pattern")
    })
}

/// The visitor's identity handed to a tag in its init call: (entity, identifier) per key.
/// A value may be the address, its hash, a phone number, or a variable the page fills in.
fn advanced_matching(text: &str) -> Vec<(&'static str, Identifier)> {
    let mut out = Vec::new();
    if !text.contains('{') {
        return out;
    }
    for (re, entity, keys) in matching_res() {
        for c in re.captures_iter(text).take(10) {
            let Some(body) = c.name("body") else { continue };
            for v in matching_value_re().captures_iter(body.as_str()) {
                let key = &v["key"];
                if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                    continue;
                }
                let (kind, encoding, value) = match (v.name("val"), v.name("var")) {
                    (Some(val), _) => {
                        let val = val.as_str().trim();
                        if val.is_empty() {
                            continue;
                        }
                        let hex = val.bytes().all(|b| b.is_ascii_hexdigit());
                        if email_re().is_match(val) {
                            ("visitor-email", "plain", val.to_string())
                        } else if hex && val.len() == 64 {
                            ("visitor-email-hash", "sha256", val.to_string())
                        } else if hex && val.len() == 32 {
                            ("visitor-email-hash", "md5", val.to_string())
                        } else if val.bytes().filter(u8::is_ascii_digit).count() >= 7
                            && val
                                .bytes()
                                .all(|b| b.is_ascii_digit() || b"+-() ".contains(&b))
                        {
                            ("visitor-phone", "plain", val.to_string())
                        } else {
                            ("visitor-data", "template", val.to_string())
                        }
                    }
                    (None, Some(var)) => ("visitor-data", "variable", var.as_str().to_string()),
                    _ => continue,
                };
                out.push((
                    *entity,
                    Identifier {
                        location: format!("init:{key}"),
                        kind,
                        encoding,
                        value: crate::analyze::decode::shown(&value),
                    },
                ));
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn snippet_finding(
    line: u64,
    kind: EndpointKind,
    entity: &crate::rules::Entity,
    tag: &str,
    rule: &str,
    account: String,
    consent: &'static str,
    evidence: Vec<String>,
) -> Finding {
    let kind = match kind {
        EndpointKind::Beacon => Kind::Beacon,
        EndpointKind::AdConversion => Kind::AdConversion,
        EndpointKind::OpenPixel => Kind::OpenPixel,
        _ => Kind::TrackerScript,
    };
    let host = entity
        .domains
        .first()
        .map(|d| d.trim_start_matches("*.").to_string())
        .unwrap_or_default();
    Finding {
        message: format!(
            "{tag} ({}) initialised inline with account {account}: it loads the vendor's code and reports visits{}.",
            entity.name,
            if consent == "ungated" { ", without consent" } else { "" }
        ),
        url: String::new(),
        raw_url: None,
        element: "script".into(),
        attribute: "inline".into(),
        kind,
        tracking: true,
        entity: Some(entity.name.clone()),
        company: entity.company.clone(),
        category: entity.category.clone(),
        party: Party::Third,
        registrable_domain: (!host.is_empty()).then(|| registrable(&host)),
        host,
        rule: Some(rule.to_string()),
        tier: Some(Tier::HostRule),
        evidence,
        leaks: Leaks { ip: true, user_agent: true, cookies: true, referrer: true, identifiers: Vec::new() },
        decoded: Vec::new(),
        wrapped_by: None,
        target: None,
        occurrences: 1,
        line: Some(line),
        column: None,
        account: Some(account),
        consent: Some(consent),
        fingerprint: None,
        verdict: None,
        seen_by: None,
        initiators: Vec::new(),
        runtime: None,
    }
}

/// The 1-based column of the first `tag` (e.g. `<script`) on a 1-based line.
fn tag_column(html: &str, line: u64, tag: &str) -> Option<u64> {
    let text = html.split('\n').nth(line.checked_sub(1)? as usize)?;
    let pos = text.to_ascii_lowercase().find(tag)?;
    Some(text[..pos].chars().count() as u64 + 1)
}

/// Fills in 1-based columns: the `<` of the element's start tag on the reported line (or a
/// few lines above, for tags that span lines), found by the reference's text.
pub fn locate_columns(html: &str, refs: &mut [RawRef]) {
    let mut starts = vec![0usize];
    starts.extend(memchr::memchr_iter(b'\n', html.as_bytes()).map(|i| i + 1));
    for r in refs.iter_mut() {
        let needle: &str = r.url.split('&').next().unwrap_or(&r.url);
        if needle.is_empty() {
            continue;
        }
        let line = r.line as usize;
        for l in (line.saturating_sub(5).max(1)..=line).rev() {
            let Some(&start) = starts.get(l - 1) else {
                continue;
            };
            let end = starts.get(l).copied().unwrap_or(html.len());
            let text = &html[start..end];
            if let Some(pos) = text.find(needle) {
                // A URL inside a script sits where the loader names it, not at a tag.
                if r.attribute == "inline-loader" {
                    r.line = l as u64;
                    r.column = Some(text[..pos].chars().count() as u64 + 1);
                } else if let Some(lt) = text[..pos].rfind('<') {
                    r.line = l as u64;
                    r.column = Some(text[..lt].chars().count() as u64 + 1);
                }
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_policies() {
        assert_eq!(referrer_info(None, None).sends, "origin");
        assert!(
            !referrer_info(None, None).leaks,
            "an origin is not the page URL"
        );
        assert_eq!(referrer_info(Some("no-referrer"), None).sends, "none");
        assert_eq!(
            referrer_info(Some("unsafe-url, bogus"), None).sends,
            "full-url"
        );
        let r = referrer_info(Some("no-referrer"), Some("unsafe-url"));
        assert_eq!((r.from, r.sends), ("meta", "full-url"));
        assert!(!referrer_info(Some("same-origin"), None).leaks);
        assert!(referrer_info(Some("no-referrer-when-downgrade"), None).leaks);
    }

    #[test]
    fn personal_data() {
        let u = Url::parse(
            "https://shop.example/account/?email=jane.doe%40example.org&phone=5551234567&page=2",
        )
        .unwrap();
        assert_eq!(
            personal_data_in_url(&u),
            vec![
                "email address in query parameter email",
                "phone number in query parameter phone"
            ]
        );
        assert!(
            personal_data_in_url(&Url::parse("https://shop.example/?q=shoes&page=2").unwrap())
                .is_empty()
        );
    }

    #[test]
    fn columns() {
        let html =
            "<html>\n  <body>\n    <img src=\"https://t.example/p.gif?a=1&amp;b=2\" width=1>\n";
        let mut refs = crate::extract::extract(html).refs;
        locate_columns(html, &mut refs);
        assert_eq!((refs[0].line, refs[0].column), (3, Some(5)));
    }

    #[test]
    fn conversions() {
        assert!(conversion_event(
            &Url::parse("https://www.facebook.com/tr?id=1&ev=Purchase&noscript=1").unwrap()
        ));
        assert!(!conversion_event(
            &Url::parse("https://www.facebook.com/tr?id=1&ev=PageView&noscript=1").unwrap()
        ));
    }

    #[test]
    fn inert_types() {
        assert!(inert_type("text/plain"));
        assert!(inert_type("text/didomi"));
        assert!(inert_type("didomi/javascript"));
        assert!(!inert_type("text/javascript; charset=utf-8"));
        assert!(!inert_type(""));
        assert!(!inert_type("text/javascript"));
        assert!(!inert_type("module"));
    }
}

#[cfg(test)]
mod matching_tests {
    use super::advanced_matching;

    #[test]
    fn identity_handed_to_tags() {
        let m = advanced_matching(
            "fbq('init', '1234567890', {em: 'jane.doe@example.org', ph: '+1 555 010 9999'});",
        );
        let kinds: Vec<_> = m
            .iter()
            .map(|(e, i)| (*e, i.kind, i.location.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("Facebook", "visitor-email", "init:em"),
                ("Facebook", "visitor-phone", "init:ph")
            ]
        );
        let h = "a".repeat(64);
        let m = advanced_matching(&format!("ttq.identify({{sha256_email: '{h}'}})"));
        assert_eq!(
            (m[0].0, m[0].1.kind, m[0].1.encoding),
            ("TikTok", "visitor-email-hash", "sha256")
        );
        let m = advanced_matching("snaptr('init', 'abc-123', {user_email: customer.email});");
        assert_eq!((m[0].1.kind, m[0].1.encoding), ("visitor-data", "variable"));
        assert!(advanced_matching("fbq('init', '1234567890');").is_empty());
    }
}
