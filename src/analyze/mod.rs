//! Stage 3: raw references → findings. Shared by `eml` and `site`: the mode only changes
//! what a browser or mail client would send along. `runtime` judges what a real browser
//! requested (`--browser`) with the same analysis.
//!
//! [`analyze`] resolves each reference to an absolute URL, unwraps proxies and redirectors,
//! and groups the references into distinct requests (a spacer used 20 times is one finding
//! seen 20 times). Each request is then judged (`judge`) by concern:
//!
//! * `attribute`: who runs it: endpoint rules, then filter lists (`--filter-list`), then
//!   entity domains and CNAME aliases, in tiers; first or third party; on a page, the tag's
//!   account;
//! * `identifiers`: what in its URL names a person (the recipient's address in any encoding,
//!   other addresses, tokens);
//! * `classify`: what kind of request it is (open pixel, beacon, tracked link, tracker
//!   script…) and whether it tracks;
//! * `explain`: what it leaks, its message, and the evidence lines behind the verdict.
//!
//! Every mail-only decision (open signals, spacers, CSS triggers, tokens verified against
//! the message's links) is in `mail`; what only web pages have (referrer policy, consent,
//! tag snippets) in `site`.

mod attribute;
mod classify;
pub mod decode;
mod explain;
pub mod identifiers;
mod judge;
pub mod mail;
pub mod runtime;
pub mod site;
pub mod unwrap;

use std::hash::BuildHasher;

use rustc_hash::FxHashMap;
use url::Url;

use crate::domain::lower_host;
use crate::filters::FilterLists;
use crate::model::{Finding, RawRef, RefRole};
use crate::rules::Ruleset;
pub use attribute::explain;
use attribute::HostFacts;
pub use identifiers::Recipient;
use judge::judge;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Mail clients send no cookies or referrer with images; links open in a browser.
    Mail,
    /// A browser sends cookies (where allowed) and a referrer per the page's policy.
    Site,
}

/// Each scan command analyses in its own mode: `eml` as a mail client, `site` as a browser.
impl From<crate::model::Command> for Mode {
    fn from(c: crate::model::Command) -> Mode {
        match c {
            crate::model::Command::Eml => Mode::Mail,
            crate::model::Command::Site => Mode::Site,
        }
    }
}

pub struct Context<'a> {
    pub rules: &'a Ruleset,
    /// `--filter-list`: an attribution tier after the ruleset.
    pub filters: Option<&'a FilterLists>,
    /// The page the requests are made from (site mode), as filter lists see their source;
    /// mail has none.
    pub page: Option<&'a str>,
    pub mode: Mode,
    /// Registrable domains treated as first party.
    pub first_party: Vec<String>,
    pub recipients: Vec<Recipient>,
    /// Base URL for relative references (site mode); mail has none.
    pub base: Option<Url>,
    /// Mail: the headers name a bulk-sending platform (an opaque token in a link is then a
    /// per-click token). Headers never name a request: they are forged freely.
    pub sent_by_platform: bool,
    /// Site mode: whether requests from this page carry its URL as referrer.
    pub referrer_sent: bool,
    /// Site mode: consent platforms and defaults found on the page.
    pub consent: Option<site::ConsentState>,
    /// Site mode: account ids found in the page's tag snippets.
    pub known_accounts: Vec<String>,
    /// Mail: the sender's address (From), lowercased; an address in a URL that is not the
    /// sender's is taken as the recipient's.
    pub sender: Option<String>,
    /// Site mode: the page is a Wayback Machine copy; archive URLs
    /// (`web.archive.org/web/<ts><flag>/<original>`) are judged as the original request.
    pub archive_copy: bool,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub untracked_links: u32,
    /// References that are not remote requests (cid:, data:, mailto:, relative in mail).
    pub skipped_refs: u32,
}

/// Resolves a reference to an absolute http(s) URL, or `None` if it is not a remote request.
pub fn resolve(raw: &str, base: Option<&Url>) -> Option<Url> {
    let s = raw.trim();
    if s.is_empty() || s.starts_with('#') {
        return None;
    }
    for scheme in [
        "data:",
        "cid:",
        "mailto:",
        "tel:",
        "sms:",
        "javascript:",
        "about:",
        "blob:",
        "mid:",
    ] {
        if s.len() >= scheme.len()
            && s.as_bytes()[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            return None;
        }
    }
    let url = if s.starts_with("//") {
        match base {
            Some(b) => b.join(s).ok()?,
            None => Url::parse(&format!("https:{s}")).ok()?,
        }
    } else {
        match Url::parse(s) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(s).ok()?,
            Err(_) => return None,
        }
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// The origins (`https://host`) of one document's absolute URLs, parsed: a URL on an origin
/// seen before is joined onto it, which skips parsing its scheme and host again (a
/// newsletter's 40 links share a handful of hosts; host parsing is most of `url`'s cost).
/// Only where joining gives the URL that parsing would ([`plain_origin`]).
#[derive(Default)]
struct Origins<'t> {
    parsed: FxHashMap<&'t str, Url>,
}

impl<'t> Origins<'t> {
    /// [`resolve`], the same answer.
    fn resolve(&mut self, text: &'t str, base: Option<&Url>) -> Option<Url> {
        let Some((origin, rest)) = plain_origin(text) else {
            return resolve(text, base);
        };
        if let Some(o) = self.parsed.get(origin) {
            return o.join(rest).ok();
        }
        let url = resolve(text, base)?;
        if let Ok(o) = Url::parse(origin) {
            self.parsed.insert(origin, o);
        }
        Some(url)
    }
}

/// `http(s)://host` and the rest of `s`, when joining the rest onto the parsed origin gives
/// what parsing `s` whole would: a lowercase scheme, a host of lowercase letters, digits,
/// dots and hyphens (no port, user or IPv6 brackets), then a path that does not start with
/// `//` (that would name another host) and holds no tab, newline or backslash (which
/// parsing drops or reads as `/` before splitting).
fn plain_origin(s: &str) -> Option<(&str, &str)> {
    let after = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))?;
    let host_len = after.bytes().position(|b| b == b'/')?;
    let host_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    if host_len == 0 || !after.as_bytes()[..host_len].iter().all(|&b| host_ok(b)) {
        return None;
    }
    let rest = &after[host_len..];
    if rest.starts_with("//")
        || rest
            .bytes()
            .any(|b| matches!(b, b'\t' | b'\n' | b'\r' | b'\\'))
    {
        return None;
    }
    let origin_len = s.len() - rest.len();
    Some((&s[..origin_len], rest))
}

pub fn analyze(refs: &[RawRef], ctx: &Context<'_>) -> Analysis {
    let mut out = Analysis::default();
    // One finding per distinct request: a spacer used 20 times is one finding seen 20 times.
    let mut groups: Vec<(usize, Url, Option<&'static str>, u32)> = Vec::with_capacity(refs.len());
    // A group by its URL's hash and role (no copy of every URL as a key); a hash shared by
    // two URLs is told apart by comparing them.
    let mut index: FxHashMap<(u64, RefRole), usize> =
        FxHashMap::with_capacity_and_hasher(refs.len(), Default::default());
    // The same text seen again needs no second parse: its group, or `None` if skipped.
    let mut by_text: FxHashMap<(&str, RefRole), Option<usize>> =
        FxHashMap::with_capacity_and_hasher(refs.len(), Default::default());
    let mut origins = Origins::default();
    for (i, r) in refs.iter().enumerate() {
        let text = r.url.trim();
        if let Some(&known) = by_text.get(&(text, r.role)) {
            match known {
                Some(g) => groups[g].3 += 1,
                None => out.skipped_refs += 1,
            }
            continue;
        }
        let Some(url) = origins.resolve(text, ctx.base.as_ref()) else {
            out.skipped_refs += 1;
            by_text.insert((text, r.role), None);
            continue;
        };
        let (url, wrapped) = unwrap::unwrap(url);
        let (url, wrapped) = match ctx.archive_copy.then(|| unwrap::wayback(&url)).flatten() {
            Some(original) => (original, Some(unwrap::WAYBACK)),
            None => (url, wrapped),
        };
        let same =
            |g: &usize| groups[*g].1.as_str() == url.as_str() && refs[groups[*g].0].role == r.role;
        let key = (rustc_hash::FxBuildHasher.hash_one(url.as_str()), r.role);
        let known = match index.get(&key) {
            Some(g) if same(g) => Some(*g),
            Some(_) => (0..groups.len()).find(same),
            None => None,
        };
        let g = match known {
            Some(g) => {
                groups[g].3 += 1;
                g
            }
            None => {
                index.entry(key).or_insert(groups.len());
                groups.push((i, url, wrapped, 1));
                groups.len() - 1
            }
        };
        by_text.insert((text, r.role), Some(g));
    }
    let links = if ctx.mode == Mode::Mail {
        mail::link_tokens(refs)
    } else {
        Default::default()
    };
    // A message's ~75 URLs sit on a handful of hosts: look each host up once.
    let mut hosts: FxHashMap<String, HostFacts> = FxHashMap::default();
    // Findings are large: grown one by one, the vector would copy them all at each doubling.
    out.findings.reserve_exact(groups.len());
    for (i, url, wrapped, count) in groups {
        let key = lower_host(url.host_str().unwrap_or(""));
        let facts = match hosts.get(&*key) {
            Some(f) => f,
            None => hosts
                .entry(key.into_owned())
                .or_insert_with_key(|h| HostFacts::new(h, ctx)),
        };
        match judge(&refs[i], url, wrapped, count, facts, ctx, &links) {
            Some(f) => out.findings.push(f),
            None => out.untracked_links += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL joined onto its parsed origin is the URL parsing gives, and the shapes
    /// joining could get wrong are parsed whole.
    #[test]
    fn joined_onto_a_known_origin_is_parsed_whole() {
        let urls = [
            "https://l.x.com/ls/click?upn=abc-DEF_1&x=&&y=%41#f",
            "https://l.x.com/a/./b/../c/%2e%2E/d?q=1",
            "https://l.x.com/caf\u{e9}/\u{fc}?\u{f6}=\u{e4} b#\u{fc}",
            "https://l.x.com/a b/\"q\"/<a>?k='1'&`x`",
            "https://l.x.com/p;q=1/x.gif?a?b=c",
            "https://l.x.com/%zz/%/?%%",
            "https://l.x.com/..",
            "https://l.x.com/#",
            "https://l.x.com/?",
            "https://l.x.com/a\u{1}",
            "https://l.x.com/a?b\u{7f}c",
            "http://l.x.com/a",
            "https://l.x.com.//a",
            "https://0x7f.1/a",
            "https://xn--nxasmq6b.example/a",
            // Not joined (plain_origin says no), still the same answer.
            "https://l.x.com//other.example/a",
            "https://l.x.com/a\\b",
            "https://l.x.com/a\tb",
            "https://L.X.com/a",
            "https://l.x.com:443/a",
            "https://u@l.x.com/a",
            "https://l.x.com?x=1",
        ];
        let mut origins = Origins::default();
        for round in 0..2 {
            for raw in urls {
                assert_eq!(
                    origins.resolve(raw, None).map(String::from),
                    resolve(raw, None).map(String::from),
                    "{raw} (round {round})"
                );
            }
        }
        assert!(origins.parsed.contains_key("https://l.x.com"));
        assert!(origins.parsed.contains_key("http://l.x.com"));
        assert_eq!(
            plain_origin("https://l.x.com/a?b"),
            Some(("https://l.x.com", "/a?b"))
        );
        for no in [
            "https://l.x.com//a",
            "https://l.x.com/a\\b",
            "https://L.x.com/a",
            "https://l.x.com:1/a",
            "https://l.x.com",
            "https:///a",
            "ftp://l.x.com/a",
        ] {
            assert_eq!(plain_origin(no), None, "{no}");
        }
    }
}
