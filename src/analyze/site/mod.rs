//! What only web pages have: referrer policy, personal data in page URLs, inline tag
//! snippets that reveal account ids, consent platforms and whether each tag is gated.
//!
//! * this module: one page through the analysis ([`analyze_page`]): its context (base URL,
//!   first party, consent state, known accounts), its references and the requests its
//!   loaders make judged like any request, then the tag snippets merged in. A Wayback
//!   Machine copy is judged as the page first published;
//! * `referrer`: the referrer policy, and personal data in the page URL;
//! * `consent`: consent platforms on the page and whether each tag is gated;
//! * `scripts`: requests inline scripts hand to loaders;
//! * `snippets`: tag snippets and markup a signature recognises, with their account ids;
//! * `matching`: the visitor's identity handed to a tag's init call;
//! * `columns`: where each reference sits in the page's text.

mod columns;
mod consent;
mod matching;
mod referrer;
mod scripts;
mod snippets;

use std::sync::OnceLock;

use regex::Regex;
use url::Url;

use super::{analyze, resolve, Context, Mode, Recipient};
use crate::domain::registrable;
use crate::extract::Extracted;
use crate::filters::FilterLists;
use crate::model::{
    Evidence, Finding, IdentifierKind, Party, RawRef, RefRole, ReferrerInfo, ReferrerSends,
};
use crate::rules::Ruleset;
pub use columns::locate_columns;
use columns::tag_column;
use consent::consent_state;
pub use consent::{consent_for, ConsentState};
use referrer::{email_re, referrer_info};
pub use referrer::{personal_data_in_url, referrer_sends};
use scripts::loader_refs;
use snippets::{inline_findings, signature_hits, SnippetHit};

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
    /// `--filter-list`: an attribution tier after the ruleset.
    pub filters: Option<&'a FilterLists>,
    /// Registrable domains of the site owner (the page's own plus `--first-party`).
    pub first_party: Vec<String>,
    /// The `Referrer-Policy` response header, if any.
    pub referrer_header: Option<String>,
    /// A saved page scanned without `--base-url`: take the site from the page's own canonical
    /// URL, so its absolute links to itself (and self-hosted analytics) are first party.
    pub site_from_page: bool,
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
        if id.kind == IdentifierKind::RecipientToken
            || (id.kind == IdentifierKind::Unverified && visitor_param)
        {
            id.kind = IdentifierKind::VisitorId;
        }
    }
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
        filters: pctx.filters,
        page: Some(url.as_str()),
        mode: Mode::Site,
        first_party,
        recipients: visitor_addresses(url),
        base: Some(base.clone()),
        sent_by_platform: false,
        referrer_sent: referrer.sends != ReferrerSends::Nothing,
        consent: Some(state.clone()),
        known_accounts: accounts(&hits),
        sender: None,
        archive_copy: archive.is_some(),
    };
    let analysis = analyze(&refs, &ctx);
    let mut findings = analysis.findings;
    if !personal.is_empty() && referrer.sends == ReferrerSends::FullUrl {
        note_page_url_sent(&mut findings, &personal);
    }
    let inline = inline_findings(ex, &hits, &base, &ctx, &state);
    merge_inline(&mut findings, inline, html);
    let links = ex
        .refs
        .iter()
        .filter(|r| r.role == RefRole::Link)
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

/// Addresses in the page URL's query: the visitor's, looked for in the page's requests.
fn visitor_addresses(url: &Url) -> Vec<Recipient> {
    url.query_pairs()
        .filter(|(_, v)| email_re().is_match(v.trim()))
        .map(|(_, v)| Recipient::new(&v))
        .collect()
}

/// The account ids the page's tag snippets name, once each.
fn accounts(hits: &[SnippetHit]) -> Vec<String> {
    let mut accounts: Vec<String> = Vec::new();
    for h in hits {
        if !accounts.contains(&h.account) {
            accounts.push(h.account.clone());
        }
    }
    accounts
}

/// The page URL goes out as referrer with each third-party request: say what it carries.
fn note_page_url_sent(findings: &mut [Finding], personal: &[String]) {
    for f in findings
        .iter_mut()
        .filter(|f| f.party == Party::Third && f.leaks.referrer)
    {
        f.evidence.push(Evidence::note(format!(
            "the page URL, with {}, is sent as referrer",
            personal.join(", ")
        )));
    }
}

/// One list of findings: a tag snippet and the script it loads are one finding, and so are
/// an id written in the markup and the request its company's script makes.
fn merge_inline(findings: &mut Vec<Finding>, mut inline: Vec<Finding>, html: &str) {
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
                s.evidence.push(Evidence::note(format!("loads {}", f.url)));
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
