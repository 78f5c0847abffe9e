//! Stage 3 knowledge: entities, endpoint rules, header fingerprints and CNAME alias lists,
//! loaded from TOML (`rules/` is embedded; `--rules FILE` adds more). See `rules/README.md`.

mod check;
mod defs;
mod embedded;
mod host;
mod lazy;
mod lint;
mod load;

use std::collections::HashMap;

use regex::RegexSet;
use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::domain::lower_host;

pub use check::{check, CheckFailed, Checked, FileCounts};
pub use host::HostPattern;
pub use lazy::LazyRegex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointKind {
    OpenPixel,
    ClickRedirect,
    Beacon,
    AdConversion,
    TrackerScript,
}

impl EndpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::OpenPixel => "open-pixel",
            EndpointKind::ClickRedirect => "click-redirect",
            EndpointKind::Beacon => "beacon",
            EndpointKind::AdConversion => "ad-conversion",
            EndpointKind::TrackerScript => "tracker-script",
        }
    }
}

/// Where a signature pattern is matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureOn {
    /// Inline `<script>` text.
    #[default]
    Inline,
    /// Script `src` URLs.
    Src,
    Both,
    /// The page's markup: ids written in attributes (`<ins data-ad-client="ca-pub-…">`,
    /// `<script data-cf-beacon='{"token": …}'>`).
    Markup,
}

/// An inline tag snippet that reveals the account behind a tag.
#[derive(Debug)]
pub struct Signature {
    pub id: String,
    pub entity: usize,
    pub tag: String,
    pub kind: EndpointKind,
    pub pattern: LazyRegex,
    pub on: SignatureOn,
    pub note: Option<String>,
    /// Something else the page must hold for the snippet to load anything (New Relic's
    /// `NREUM.info` config is inert without its agent), matched over the whole page.
    pub requires: Option<LazyRegex>,
}

/// A consent-management platform: detection and the markers of tags it gates.
#[derive(Debug)]
pub struct ConsentPlatform {
    pub id: String,
    pub name: String,
    pub entity: Option<usize>,
    pub script_hosts: Vec<HostPattern>,
    pub inline: Vec<LazyRegex>,
    pub gate_attrs: Vec<String>,
    pub gate_class_prefixes: Vec<String>,
    /// CSS selectors of the "accept all" button, tried in order.
    pub accept_selectors: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub company: Option<String>,
    pub category: Option<String>,
    pub homepage: Option<String>,
    pub domains: Vec<String>,
}

#[derive(Debug)]
pub struct Endpoint {
    pub id: String,
    /// Who runs the endpoint; `None` for a shape without a vendor (the host's owner, when
    /// known, is named instead).
    pub entity: Option<usize>,
    pub kind: EndpointKind,
    pub hosts: Vec<HostPattern>,
    pub path: Option<LazyRegex>,
    pub query_has: Vec<String>,
    /// Path-shape rules: the branded tracking host a platform hands its customers starts
    /// with one of these (`r.` for Brevo's `r.<brand>`); copies of the path on other hosts
    /// (spam kits imitate platforms) do not name the platform. Lowercase.
    pub host_prefix: Vec<String>,
    pub identifiers: Vec<String>,
    pub target_param: Option<String>,
    pub note: Option<String>,
    /// Which file defined it, for `rules explain`.
    pub origin: String,
    /// From a `fallback = true` file: used only when no other rule matches.
    pub fallback: bool,
}

#[derive(Debug)]
pub struct HeaderRule {
    pub id: String,
    pub entity: usize,
    /// Lowercase header name.
    pub name: String,
    pub value: Option<LazyRegex>,
}

/// A rule-file problem: `FILE:LINE: message` (the line of the rule's `[[table]]` header,
/// or where TOML saw the error; none for a file that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub origin: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RuleError {}

/// What an endpoint rule match says about a URL.
#[derive(Debug, Clone, Copy)]
pub struct EndpointMatch<'r> {
    pub endpoint: &'r Endpoint,
    /// True when the rule names hosts (strongest evidence); false for a path-shape rule.
    pub by_host: bool,
}

#[derive(Debug, Default)]
pub struct Ruleset {
    pub entities: Vec<Entity>,
    by_name: HashMap<String, usize>,
    /// Exact domain → entity; `wildcard` entries also cover subdomains.
    domains: FxHashMap<String, DomainEntry>,
    pub endpoints: Vec<Endpoint>,
    /// Endpoint id → index, for duplicates.
    endpoint_ids: HashMap<String, usize>,
    /// Host-rule endpoints indexed by the fixed suffix of their host patterns.
    host_index: FxHashMap<String, Vec<usize>>,
    /// Host-rule endpoints whose pattern has an inner wildcard (`u*.ct.sendgrid.net`).
    host_globs: Vec<usize>,
    /// Path-shape endpoints (no hosts), with a RegexSet over their paths for one pass.
    shape: Vec<usize>,
    shape_set: Option<RegexSet>,
    pub headers: Vec<HeaderRule>,
    cname: FxHashMap<String, usize>,
    pub signatures: Vec<Signature>,
    pub consent: Vec<ConsentPlatform>,
}

#[derive(Debug, Clone, Copy)]
struct DomainEntry {
    entity: usize,
    exact: bool,
    wildcard: bool,
}

impl Ruleset {
    pub fn entity(&self, idx: usize) -> &Entity {
        &self.entities[idx]
    }

    pub fn entity_by_name(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The entity owning `host` by its declared domains: the longest matching domain wins.
    pub fn entity_for_host(&self, host: &str) -> Option<usize> {
        let host = lower_host(host);
        let mut suffix: &str = &host;
        let mut exact = true;
        loop {
            if let Some(e) = self.domains.get(suffix) {
                // Third-party-web often lists only `*.x.com`; a request to x.com itself is
                // the same organisation, so an exact host matches either kind of entry.
                if exact || e.wildcard {
                    return Some(e.entity);
                }
            }
            match suffix.find('.') {
                Some(dot) => {
                    suffix = &suffix[dot + 1..];
                    exact = false;
                }
                None => return None,
            }
        }
    }

    /// The platform behind a branded hostname that is a CNAME alias of it.
    pub fn cname_entity(&self, host: &str) -> Option<usize> {
        self.cname.get(&*lower_host(host)).copied()
    }

    /// The best endpoint rule for a URL: host rules before path-shape rules, and among
    /// each, the first in file order.
    pub fn match_endpoint(&self, url: &url::Url) -> Option<EndpointMatch<'_>> {
        let host = lower_host(url.host_str()?);
        self.match_endpoint_on(url, &host, &self.host_candidates(&host))
    }

    /// Host-rule endpoints that may match `host` (lowercase, no trailing dot), in file
    /// order. Depends on the host alone, so callers scanning many URLs on one host can
    /// compute it once.
    pub fn host_candidates(&self, host: &str) -> Vec<usize> {
        let mut candidates: Vec<usize> = Vec::new();
        let mut suffix: &str = host;
        loop {
            if let Some(list) = self.host_index.get(suffix) {
                candidates.extend(list);
            }
            match suffix.find('.') {
                Some(dot) => suffix = &suffix[dot + 1..],
                None => break,
            }
        }
        candidates.extend(&self.host_globs);
        candidates.sort_unstable();
        candidates.dedup();
        candidates.retain(|&i| self.endpoints[i].hosts.iter().any(|h| h.matches(host)));
        candidates
    }

    /// [`Ruleset::match_endpoint`] with the host's candidates already known.
    pub fn match_endpoint_on(
        &self,
        url: &url::Url,
        host: &str,
        candidates: &[usize],
    ) -> Option<EndpointMatch<'_>> {
        self.match_endpoint_shaped(url, host, candidates, |path| self.path_shapes(path))
    }

    /// [`Ruleset::match_endpoint_on`] with the path-shape rules matching a path
    /// ([`Ruleset::path_shapes`]) given by `shapes`, which may remember them: a message's
    /// 40 tracked links share one path. `shapes` is asked only when no host rule decides.
    pub fn match_endpoint_shaped<S: AsRef<[usize]>>(
        &self,
        url: &url::Url,
        host: &str,
        candidates: &[usize],
        shapes: impl FnOnce(&str) -> S,
    ) -> Option<EndpointMatch<'_>> {
        let path = url.path();
        debug_assert_eq!(host, lower_host(url.host_str().unwrap_or("")));
        // Host rules before path shapes; within each, fallback rules only when nothing else
        // matches.
        let mut fallback: Option<EndpointMatch<'_>> = None;
        for &i in candidates {
            let e = &self.endpoints[i];
            if self.path_and_query_match(e, url) {
                let m = EndpointMatch {
                    endpoint: e,
                    by_host: true,
                };
                if !e.fallback {
                    return Some(m);
                }
                fallback.get_or_insert(m);
            }
        }
        for &i in shapes(path).as_ref() {
            let e = &self.endpoints[i];
            // The path already matched: only the host prefix and the query are left to
            // check.
            if (e.host_prefix.is_empty()
                || e.host_prefix.iter().any(|p| host.starts_with(p.as_str())))
                && self.query_match(e, url)
            {
                let m = EndpointMatch {
                    endpoint: e,
                    by_host: false,
                };
                if !e.fallback {
                    return Some(m);
                }
                fallback.get_or_insert(m);
            }
        }
        fallback
    }

    /// The path-shape endpoints whose path pattern matches `path` (indices into the
    /// endpoints, in file order). Depends on the path alone.
    pub fn path_shapes(&self, path: &str) -> Vec<usize> {
        self.shape_set.as_ref().map_or_else(Vec::new, |set| {
            set.matches(path).iter().map(|m| self.shape[m]).collect()
        })
    }

    fn path_and_query_match(&self, e: &Endpoint, url: &url::Url) -> bool {
        if let Some(re) = &e.path {
            if !re.is_match(url.path()) {
                return false;
            }
        }
        self.query_match(e, url)
    }

    fn query_match(&self, e: &Endpoint, url: &url::Url) -> bool {
        if e.query_has.is_empty() {
            return true;
        }
        let Some(query) = url.query() else {
            return false;
        };
        e.query_has.iter().all(|q| {
            query.split('&').any(|pair| {
                let key = pair.split_once('=').map_or(pair, |(k, _)| k);
                // Keys are compared decoded; most need no decoding at all.
                if memchr::memchr2(b'%', b'+', key.as_bytes()).is_some() {
                    url::form_urlencoded::parse(key.as_bytes())
                        .next()
                        .is_some_and(|(k, _)| k == q.as_str())
                } else {
                    key == q
                }
            })
        })
    }

    /// Header rules that match a message's headers: (rule, matched header text).
    pub fn match_headers<'a>(
        &'a self,
        headers: &[(String, String)],
    ) -> Vec<(&'a HeaderRule, String)> {
        let mut out = Vec::new();
        for rule in &self.headers {
            for (name, value) in headers {
                if name.eq_ignore_ascii_case(&rule.name)
                    && rule.value.as_ref().is_none_or(|re| re.is_match(value))
                {
                    let shown: String = value.chars().take(80).collect();
                    out.push((rule, format!("{}: {}", name, shown.trim())));
                    break;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
        [[entity]]
        name = "SendGrid"
        company = "Twilio"
        category = "email-marketing"
        domains = ["sendgrid.net", "*.sendgrid.net"]

        [[entity]]
        name = "Google Analytics"
        category = "analytics"
        domains = ["*.google-analytics.com"]

        [[endpoint]]
        id = "sendgrid-open"
        entity = "SendGrid"
        kind = "open-pixel"
        hosts = ["*.ct.sendgrid.net"]
        path = "^/wf/open$"
        identifiers = ["upn"]

        [[endpoint]]
        id = "sendgrid-open-branded"
        entity = "SendGrid"
        kind = "open-pixel"
        path = "^/wf/open$"
        query_has = ["upn"]

        [[endpoint]]
        id = "glob-host"
        entity = "SendGrid"
        kind = "click-redirect"
        hosts = ["u*.sg.example"]

        [[header]]
        id = "sendgrid-eid"
        entity = "SendGrid"
        name = "X-SG-EID"
    "#;

    fn set() -> Ruleset {
        Ruleset::from_toml_str("test.toml", RULES).unwrap()
    }

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn host_rules_win_over_path_shapes() {
        let rs = set();
        let m = rs
            .match_endpoint(&u("https://u1.ct.sendgrid.net/wf/open?upn=abc"))
            .unwrap();
        assert_eq!((m.endpoint.id.as_str(), m.by_host), ("sendgrid-open", true));
        let m = rs
            .match_endpoint(&u("https://email.brand.example/wf/open?upn=abc"))
            .unwrap();
        assert_eq!(
            (m.endpoint.id.as_str(), m.by_host),
            ("sendgrid-open-branded", false)
        );
        assert!(
            rs.match_endpoint(&u("https://email.brand.example/wf/open"))
                .is_none(),
            "query_has"
        );
        assert!(rs
            .match_endpoint(&u("https://email.brand.example/wf/opened?upn=1"))
            .is_none());
        let m = rs
            .match_endpoint(&u("https://u42.sg.example/anything"))
            .unwrap();
        assert_eq!(m.endpoint.id, "glob-host");
        assert!(rs
            .match_endpoint(&u("https://x42.sg.example/anything"))
            .is_none());
    }

    #[test]
    fn entity_domains_longest_match() {
        let rs = set();
        let name = |h: &str| rs.entity_for_host(h).map(|i| rs.entity(i).name.clone());
        assert_eq!(name("u1.ct.sendgrid.net").as_deref(), Some("SendGrid"));
        assert_eq!(name("sendgrid.net").as_deref(), Some("SendGrid"));
        assert_eq!(
            name("www.google-analytics.com").as_deref(),
            Some("Google Analytics")
        );
        assert_eq!(
            name("google-analytics.com").as_deref(),
            Some("Google Analytics")
        );
        assert_eq!(name("notsendgrid.net"), None);
    }

    #[test]
    fn headers_match_case_insensitively() {
        let rs = set();
        let h = vec![("x-sg-eid".to_string(), "abc".to_string())];
        let m = rs.match_headers(&h);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0.id, "sendgrid-eid");
    }
}
