//! Stage 3 knowledge: entities, endpoint rules, header fingerprints and CNAME alias lists,
//! loaded from TOML (`rules/` is embedded; `--rules FILE` adds more). See `rules/README.md`.

mod embedded;
mod host;

use std::collections::HashMap;
use std::path::Path;

use regex::{Regex, RegexBuilder, RegexSet};
use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::domain::lower_host;

pub use host::HostPattern;

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

/// One rule file as written. Unknown keys are errors so typos don't silently disable rules.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    /// `fallback = true`: this file's endpoints apply only where no other file's rule
    /// matches (a broad converted list never shadows the hand-written rules).
    #[serde(default)]
    fallback: bool,
    #[serde(default)]
    entity: Vec<EntityDef>,
    #[serde(default)]
    endpoint: Vec<EndpointDef>,
    #[serde(default)]
    header: Vec<HeaderDef>,
    #[serde(default)]
    cname: Vec<CnameDef>,
    #[serde(default)]
    signature: Vec<SignatureDef>,
    #[serde(default)]
    consent: Vec<ConsentDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureDef {
    id: String,
    entity: String,
    tag: String,
    #[serde(default = "default_signature_kind")]
    kind: EndpointKind,
    pattern: String,
    #[serde(default)]
    on: SignatureOn,
    note: Option<String>,
    requires: Option<String>,
}

fn default_signature_kind() -> EndpointKind {
    EndpointKind::TrackerScript
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentDef {
    id: String,
    name: String,
    entity: Option<String>,
    #[serde(default)]
    script_hosts: Vec<String>,
    #[serde(default)]
    inline: Vec<String>,
    #[serde(default)]
    gate_attrs: Vec<String>,
    #[serde(default)]
    gate_class_prefixes: Vec<String>,
    /// CSS selectors of the banner's "accept all" button (browser mode, `--accept-consent`).
    #[serde(default)]
    accept_selectors: Vec<String>,
}

/// An inline tag snippet that reveals the account behind a tag.
#[derive(Debug)]
pub struct Signature {
    pub id: String,
    pub entity: usize,
    pub tag: String,
    pub kind: EndpointKind,
    pub pattern: Regex,
    pub on: SignatureOn,
    pub note: Option<String>,
    /// Something else the page must hold for the snippet to load anything (New Relic's
    /// `NREUM.info` config is inert without its agent), matched over the whole page.
    pub requires: Option<Regex>,
}

/// A consent-management platform: detection and the markers of tags it gates.
#[derive(Debug)]
pub struct ConsentPlatform {
    pub id: String,
    pub name: String,
    pub entity: Option<usize>,
    pub script_hosts: Vec<HostPattern>,
    pub inline: Vec<Regex>,
    pub gate_attrs: Vec<String>,
    pub gate_class_prefixes: Vec<String>,
    /// CSS selectors of the "accept all" button, tried in order.
    pub accept_selectors: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityDef {
    name: String,
    company: Option<String>,
    category: Option<String>,
    homepage: Option<String>,
    #[serde(default)]
    domains: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointDef {
    id: String,
    /// Omitted for a shape that says what a request is and where its identifiers sit, but
    /// not who runs it (a mailing kit many senders install).
    entity: Option<String>,
    kind: EndpointKind,
    #[serde(default)]
    hosts: Vec<String>,
    path: Option<String>,
    #[serde(default)]
    query_has: Vec<String>,
    #[serde(default)]
    host_prefix: Vec<String>,
    #[serde(default)]
    identifiers: Vec<String>,
    target_param: Option<String>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderDef {
    id: String,
    entity: String,
    name: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CnameDef {
    entity: String,
    file: String,
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
    pub path: Option<Regex>,
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
    pub value: Option<Regex>,
}

/// A rule-loading error, naming the file and (where TOML knows it) the line.
#[derive(Debug)]
pub struct RuleError {
    pub origin: String,
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
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
    /// The embedded rules only.
    pub fn embedded() -> Result<Ruleset, RuleError> {
        let mut rs = Ruleset::default();
        for (origin, text) in embedded::FILES {
            rs.add_toml(origin, text, &|file| {
                embedded::cname_file(file).map(str::to_string)
            })?;
        }
        rs.finish()?;
        Ok(rs)
    }

    /// The embedded rules plus the user's files, in order.
    pub fn load(extra: &[impl AsRef<Path>]) -> Result<Ruleset, RuleError> {
        let mut rs = Ruleset::default();
        for (origin, text) in embedded::FILES {
            rs.add_toml(origin, text, &|file| {
                embedded::cname_file(file).map(str::to_string)
            })?;
        }
        for path in extra {
            let path = path.as_ref();
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| RuleError {
                origin: origin.clone(),
                message: format!("cannot read rule file: {e}"),
            })?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            rs.add_toml(&origin, &text, &|file| {
                std::fs::read_to_string(dir.join(file)).ok()
            })?;
        }
        rs.finish()?;
        Ok(rs)
    }

    /// Parses and validates one rule file without loading it into a set (`rules check`).
    pub fn check_file(path: &Path) -> Result<(usize, usize, usize), RuleError> {
        let rs = Ruleset::load(&[path])?;
        let base = Ruleset::embedded()?;
        Ok((
            rs.entities.len().saturating_sub(base.entities.len()),
            rs.endpoints.len() - base.endpoints.len(),
            rs.headers.len() - base.headers.len(),
        ))
    }

    /// A ruleset from the text of one rule file alone, without the embedded rules (so it can
    /// only name entities it defines) and without CNAME lists (`[[cname]]` files can't be
    /// read from a string, and are reported as not found). `origin` names it in errors.
    /// Used by the fuzzers, and by anyone validating rule text that is not on disk.
    pub fn from_toml_str(origin: &str, text: &str) -> Result<Ruleset, RuleError> {
        let mut rs = Ruleset::default();
        rs.add_toml(origin, text, &|_| None)?;
        rs.finish()?;
        Ok(rs)
    }

    fn add_toml(
        &mut self,
        origin: &str,
        text: &str,
        read_cname: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), RuleError> {
        let err = |message: String| RuleError {
            origin: origin.to_string(),
            message,
        };
        let file: RuleFile =
            toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        for e in file.entity {
            self.add_entity(e);
        }
        let entity_ref = |rs: &Ruleset, name: &str, id: &str| {
            rs.by_name
                .get(name)
                .copied()
                .ok_or_else(|| err(format!("rule `{id}` names unknown entity `{name}`")))
        };
        let fallback = file.fallback;
        for d in file.endpoint {
            check_id(&d.id).map_err(&err)?;
            let entity = match &d.entity {
                Some(name) => Some(entity_ref(self, name, &d.id)?),
                None => None,
            };
            let path = d
                .path
                .as_deref()
                .map(|p| {
                    Regex::new(p).map_err(|e| err(format!("rule `{}`: bad path regex: {e}", d.id)))
                })
                .transpose()?;
            if d.hosts.is_empty() && path.is_none() {
                return Err(err(format!(
                    "rule `{}` has neither hosts nor path: it would match every URL",
                    d.id
                )));
            }
            let hosts = d
                .hosts
                .iter()
                .map(|h| HostPattern::parse(h).map_err(|m| err(format!("rule `{}`: {m}", d.id))))
                .collect::<Result<Vec<_>, _>>()?;
            self.endpoints.push(Endpoint {
                id: d.id,
                entity,
                kind: d.kind,
                hosts,
                path,
                query_has: d.query_has,
                host_prefix: d
                    .host_prefix
                    .iter()
                    .map(|p| p.to_ascii_lowercase())
                    .collect(),
                identifiers: d.identifiers,
                target_param: d.target_param,
                note: d.note,
                origin: origin.to_string(),
                fallback,
            });
        }
        for h in file.header {
            check_id(&h.id).map_err(&err)?;
            let entity = entity_ref(self, &h.entity, &h.id)?;
            let value = h
                .value
                .as_deref()
                .map(|v| {
                    RegexBuilder::new(v)
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| err(format!("rule `{}`: bad value regex: {e}", h.id)))
                })
                .transpose()?;
            self.headers.push(HeaderRule {
                id: h.id,
                entity,
                name: h.name.to_ascii_lowercase(),
                value,
            });
        }
        for d in file.signature {
            check_id(&d.id).map_err(&err)?;
            let entity = entity_ref(self, &d.entity, &d.id)?;
            let pattern = Regex::new(&d.pattern)
                .map_err(|e| err(format!("signature `{}`: bad pattern: {e}", d.id)))?;
            if !pattern.capture_names().any(|n| n == Some("account")) {
                return Err(err(format!(
                    "signature `{}`: pattern needs a named group `account`",
                    d.id
                )));
            }
            let requires = match &d.requires {
                Some(r) => Some(Regex::new(r).map_err(|e| {
                    err(format!("signature `{}`: bad requires pattern: {e}", d.id))
                })?),
                None => None,
            };
            self.signatures.push(Signature {
                id: d.id,
                entity,
                tag: d.tag,
                kind: d.kind,
                pattern,
                on: d.on,
                note: d.note,
                requires,
            });
        }
        for c in file.consent {
            check_id(&c.id).map_err(&err)?;
            let entity = match &c.entity {
                Some(name) => Some(entity_ref(self, name, &c.id)?),
                None => None,
            };
            let script_hosts = c
                .script_hosts
                .iter()
                .map(|h| HostPattern::parse(h).map_err(|m| err(format!("consent `{}`: {m}", c.id))))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(bad) = c
                .accept_selectors
                .iter()
                .find(|sel| sel.trim().is_empty() || sel.contains(['\n', '\r']))
            {
                return Err(err(format!(
                    "consent `{}`: bad accept selector {bad:?}",
                    c.id
                )));
            }
            let inline = c
                .inline
                .iter()
                .map(|r| {
                    Regex::new(r)
                        .map_err(|e| err(format!("consent `{}`: bad inline regex: {e}", c.id)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.consent.push(ConsentPlatform {
                id: c.id,
                name: c.name,
                entity,
                script_hosts,
                inline,
                gate_attrs: c
                    .gate_attrs
                    .iter()
                    .map(|a| a.to_ascii_lowercase())
                    .collect(),
                gate_class_prefixes: c.gate_class_prefixes,
                accept_selectors: c.accept_selectors,
            });
        }
        for c in file.cname {
            let entity = entity_ref(self, &c.entity, &c.file)?;
            let text = read_cname(&c.file)
                .ok_or_else(|| err(format!("cname list `{}` not found", c.file)))?;
            for line in text.lines() {
                let host = line.trim();
                if !host.is_empty() && !host.starts_with('#') {
                    self.cname.insert(host.to_ascii_lowercase(), entity);
                }
            }
        }
        Ok(())
    }

    fn add_entity(&mut self, e: EntityDef) {
        let idx = match self.by_name.get(&e.name) {
            Some(&i) => {
                // Same name in a later file: merge, later fields win where given.
                let ent = &mut self.entities[i];
                ent.company = e.company.or(ent.company.take());
                ent.category = e.category.or(ent.category.take());
                ent.homepage = e.homepage.or(ent.homepage.take());
                i
            }
            None => {
                self.entities.push(Entity {
                    name: e.name.clone(),
                    company: e.company,
                    category: e.category,
                    homepage: e.homepage,
                    domains: Vec::new(),
                });
                self.by_name.insert(e.name, self.entities.len() - 1);
                self.entities.len() - 1
            }
        };
        for d in e.domains {
            let d = d.trim().to_ascii_lowercase();
            let (base, wildcard) = match d.strip_prefix("*.") {
                Some(b) => (b.to_string(), true),
                None => (d.clone(), false),
            };
            if base.is_empty() || base.contains('*') {
                continue;
            }
            self.entities[idx].domains.push(d);
            // Later files win: mail.toml is loaded after entities.toml, user files last.
            let entry = self.domains.entry(base).or_insert(DomainEntry {
                entity: idx,
                exact: false,
                wildcard: false,
            });
            if entry.entity != idx {
                *entry = DomainEntry {
                    entity: idx,
                    exact: false,
                    wildcard: false,
                };
            }
            if wildcard {
                entry.wildcard = true;
            } else {
                entry.exact = true;
            }
        }
    }

    fn finish(&mut self) -> Result<(), RuleError> {
        let mut seen = HashMap::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            if let Some(prev) = seen.insert(e.id.clone(), i) {
                return Err(RuleError {
                    origin: e.origin.clone(),
                    message: format!(
                        "duplicate rule id `{}` (also in {})",
                        e.id, self.endpoints[prev].origin
                    ),
                });
            }
        }
        self.host_index.clear();
        self.host_globs.clear();
        self.shape.clear();
        for (i, e) in self.endpoints.iter().enumerate() {
            if e.hosts.is_empty() {
                self.shape.push(i);
                continue;
            }
            let mut glob = false;
            for h in &e.hosts {
                match h.index_key() {
                    Some(k) => self.host_index.entry(k.to_string()).or_default().push(i),
                    None => glob = true,
                }
            }
            if glob {
                self.host_globs.push(i);
            }
        }
        let patterns: Vec<&str> = self
            .shape
            .iter()
            .map(|&i| {
                self.endpoints[i]
                    .path
                    .as_ref()
                    .map(Regex::as_str)
                    .unwrap_or("")
            })
            .collect();
        self.shape_set = Some(RegexSet::new(patterns).map_err(|e| RuleError {
            origin: "rules".into(),
            message: e.to_string(),
        })?);
        Ok(())
    }

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
        if let Some(set) = self.shape_set.as_ref() {
            for m in set.matches(path).iter() {
                let e = &self.endpoints[self.shape[m]];
                // The set already matched the path: only the host prefix and the query are
                // left to check.
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
        }
        fallback
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

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("rule id `{id}` must be kebab-case (a-z, 0-9, -)"))
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
        let mut rs = Ruleset::default();
        rs.add_toml("test.toml", RULES, &|_| None).unwrap();
        rs.finish().unwrap();
        rs
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

    #[test]
    fn errors_name_the_problem() {
        let mut rs = Ruleset::default();
        let e = rs
            .add_toml(
                "u.toml",
                "[[endpoint]]\nid='x'\nentity='Nope'\nkind='open-pixel'\npath='^/a'\n",
                &|_| None,
            )
            .unwrap_err();
        assert!(e.to_string().contains("unknown entity `Nope`"), "{e}");
        let e = rs
            .add_toml("u.toml", "[[entity]]\nname='A'\ncolour='red'\n", &|_| None)
            .unwrap_err();
        assert!(
            e.to_string().contains("colour") && e.to_string().contains("line 3"),
            "{e}"
        );
        let e = rs.add_toml("u.toml", "[[entity]]\nname='A'\n[[endpoint]]\nid='Bad_Id'\nentity='A'\nkind='open-pixel'\npath='^/a'\n", &|_| None).unwrap_err();
        assert!(e.to_string().contains("kebab-case"), "{e}");
        let e = rs
            .add_toml(
                "u.toml",
                "[[entity]]\nname='A'\n[[endpoint]]\nid='any'\nentity='A'\nkind='open-pixel'\n",
                &|_| None,
            )
            .unwrap_err();
        assert!(e.to_string().contains("every URL"), "{e}");
    }

    #[test]
    fn embedded_rules_load() {
        let rs = Ruleset::embedded().expect("embedded rules are valid");
        assert!(rs.entities.len() > 2000);
        assert!(rs.endpoints.len() >= 40);
    }
}
