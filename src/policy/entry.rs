//! `[[approve]]` and `[[deny]]` entries: match keys (all must match) and scope keys (any
//! may put a document in scope). A new key is a `RawEntry` field, a step in
//! [`Entry::compile`], and a case in its `describe`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use toml::Spanned;

use super::error::{line_of, PolicyError};
use super::glob::{globs, path_glob, url_glob, Glob};
use crate::model::{Consent, DocumentReport, Finding, Kind};
use crate::rules::HostPattern;

/// The finding kinds a `kind` key may name: every [`Kind`], as the JSON spells it.
pub const KINDS: &[&str] = &{
    let mut out = [""; Kind::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = Kind::ALL[i].as_str();
        i += 1;
    }
    out
};

/// The consent states a `consent` key may name (`Finding::consent`, site mode): every
/// [`Consent`].
pub const CONSENT: &[&str] = &{
    let mut out = [""; Consent::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = Consent::ALL[i].as_str();
        i += 1;
    }
    out
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntry {
    entity: Option<Spanned<String>>,
    company: Option<Spanned<String>>,
    domain: Option<Spanned<String>>,
    category: Option<Spanned<String>>,
    rule: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    consent: Option<Spanned<String>>,
    reason: Spanned<String>,
    #[serde(default)]
    pages: Vec<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    senders: Vec<Spanned<String>>,
}

/// One `[[approve]]` or `[[deny]]` entry.
#[derive(Debug)]
pub struct Entry {
    /// The line of the entry's header (`[[approve]]`) in the policy file.
    pub line: usize,
    pub entity: Option<String>,
    pub company: Option<String>,
    pub category: Option<String>,
    pub domain: Option<String>,
    pub rule: Option<String>,
    pub kind: Option<Kind>,
    pub consent: Option<Consent>,
    pub reason: String,
    domain_pattern: Option<HostPattern>,
    pages: Vec<Glob>,
    paths: Vec<Glob>,
    senders: Vec<Glob>,
    hits: AtomicU64,
}

impl Entry {
    /// The match keys, as written: `entity = "Google Analytics", kind = "tracker-script"`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("entity", self.entity.as_deref()),
            ("company", self.company.as_deref()),
            ("domain", self.domain.as_deref()),
            ("category", self.category.as_deref()),
            ("rule", self.rule.as_deref()),
            ("kind", self.kind.map(Kind::as_str)),
            ("consent", self.consent.map(Consent::as_str)),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k} = {v:?}"));
            }
        }
        parts.join(", ")
    }

    /// How many findings this entry matched so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub(super) fn record_hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the entry's scope can take a mail document (no scope, senders or paths).
    pub(super) fn can_apply_to_mail(&self) -> bool {
        !self.has_scope() || !self.senders.is_empty() || !self.paths.is_empty()
    }

    /// Whether the entry's scope can take a site document (no scope, pages or paths).
    pub(super) fn can_apply_to_sites(&self) -> bool {
        !self.has_scope() || !self.pages.is_empty() || !self.paths.is_empty()
    }

    pub(super) fn has_paths(&self) -> bool {
        !self.paths.is_empty()
    }

    fn has_scope(&self) -> bool {
        !(self.pages.is_empty() && self.paths.is_empty() && self.senders.is_empty())
    }

    /// Whether the document is within the entry's scope.
    pub(super) fn in_scope(&self, doc: &DocumentReport, cwd: Option<&str>) -> bool {
        if !self.has_scope() {
            return true;
        }
        let src = doc.source.as_str();
        if src.starts_with("http://") || src.starts_with("https://") {
            if self.pages.iter().any(|g| g.is_match(src)) {
                return true;
            }
        } else if src != "<stdin>" && !self.paths.is_empty() {
            let mut p = crate::text::normalize_path(src);
            if let Some(i) = p.rfind('#') {
                if i + 1 < p.len() && p[i + 1..].bytes().all(|b| b.is_ascii_digit()) {
                    p.truncate(i);
                }
            }
            let rel = cwd
                .and_then(|c| p.strip_prefix(c))
                .and_then(|r| r.strip_prefix('/'))
                .map(str::to_string);
            let hit = |g: &Glob| {
                g.is_match(&p)
                    || (!g.pattern.starts_with('/')
                        && rel.as_deref().is_some_and(|r| g.is_match(r)))
            };
            if self.paths.iter().any(hit) {
                return true;
            }
        }
        if let Some(sender) = doc.sender.as_deref() {
            if self.senders.iter().any(|g| g.is_match(sender.trim())) {
                return true;
            }
        }
        false
    }

    /// Whether the finding matches all the entry's match keys (scope not checked).
    pub(super) fn matches(&self, f: &Finding) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        if !eq(&self.entity, &f.entity)
            || !eq(&self.company, &f.company)
            || !eq(&self.category, &f.category)
        {
            return false;
        }
        if let Some(rule) = &self.rule {
            if f.rule.as_deref() != Some(rule.as_str()) {
                return false;
            }
        }
        if self.kind.is_some_and(|k| f.kind != k) {
            return false;
        }
        if self.consent.is_some_and(|c| f.consent != Some(c)) {
            return false;
        }
        if let Some(p) = &self.domain_pattern {
            let host = f.host.trim_end_matches('.').to_ascii_lowercase();
            let reg = f.registrable_domain.as_deref().map(str::to_ascii_lowercase);
            if !p.matches(&host) && !reg.as_deref().is_some_and(|r| p.matches(r)) {
                return false;
            }
        }
        true
    }
}

/// Where an entry came from, for errors: `FILE:LINE: message (key `table.key`)`.
struct At<'a> {
    text: &'a str,
    origin: &'a str,
    table: &'a str,
}

impl At<'_> {
    fn error(&self, span: std::ops::Range<usize>, key: &str, message: String) -> PolicyError {
        PolicyError {
            file: self.origin.to_string(),
            line: Some(line_of(self.text, span.start)),
            key: Some(format!("{}.{key}", self.table)),
            message,
        }
    }

    /// A trimmed, non-empty string key.
    fn plain(&self, v: Option<Spanned<String>>, key: &str) -> Result<Option<String>, PolicyError> {
        match v {
            None => Ok(None),
            Some(s) if s.get_ref().trim().is_empty() => {
                Err(self.error(s.span(), key, format!("`{key}` must not be empty")))
            }
            Some(s) => Ok(Some(s.into_inner().trim().to_string())),
        }
    }

    /// A key whose value must be the word of one of `all` (`what` names the values in the
    /// error, which lists every word in `all`'s order).
    fn one_of<T: Copy>(
        &self,
        v: Option<Spanned<String>>,
        key: &str,
        what: &str,
        all: &[T],
        word: fn(T) -> &'static str,
    ) -> Result<Option<T>, PolicyError> {
        let Some(v) = v else { return Ok(None) };
        let value = v.get_ref().trim();
        match all.iter().copied().find(|&t| word(t) == value) {
            Some(t) => Ok(Some(t)),
            None => {
                let allowed: Vec<&str> = all.iter().map(|&t| word(t)).collect();
                Err(self.error(
                    v.span(),
                    key,
                    format!(
                        "unknown {what} `{value}`, expected one of {}",
                        allowed.join(", ")
                    ),
                ))
            }
        }
    }

    /// `domain`: as written (lowercased) and as a host pattern.
    fn domain(
        &self,
        v: Option<Spanned<String>>,
    ) -> Result<(Option<String>, Option<HostPattern>), PolicyError> {
        let Some(d) = v else { return Ok((None, None)) };
        let pattern = HostPattern::parse(d.get_ref()).map_err(|m| {
            self.error(
                d.span(),
                "domain",
                format!("{m}: write a host or domain like `example.com` or `*.example.com`"),
            )
        })?;
        Ok((
            Some(d.into_inner().trim().to_ascii_lowercase()),
            Some(pattern),
        ))
    }

    /// The scope keys: `pages` (URL globs), `paths` (path globs), `senders` (address globs).
    fn scope(
        &self,
        pages: Vec<Spanned<String>>,
        paths: Vec<Spanned<String>>,
        senders: Vec<Spanned<String>>,
    ) -> Result<Scope, PolicyError> {
        let pages = globs(pages, |p| {
            if p.starts_with("http://") || p.starts_with("https://") || p.starts_with('*') {
                url_glob(p, false)
            } else {
                Err(format!(
                    "page pattern `{p}` is not a URL: start it with https://, http:// or *"
                ))
            }
        })
        .map_err(|(span, m)| self.error(span, "pages", m))?;
        let paths = globs(paths, path_glob).map_err(|(span, m)| self.error(span, "paths", m))?;
        let senders = globs(senders, |p| url_glob(p, true))
            .map_err(|(span, m)| self.error(span, "senders", m))?;
        Ok(Scope {
            pages,
            paths,
            senders,
        })
    }
}

/// An entry's compiled scope keys.
struct Scope {
    pages: Vec<Glob>,
    paths: Vec<Glob>,
    senders: Vec<Glob>,
}

impl RawEntry {
    fn has_match_key(&self) -> bool {
        self.entity.is_some()
            || self.company.is_some()
            || self.domain.is_some()
            || self.category.is_some()
            || self.rule.is_some()
            || self.kind.is_some()
            || self.consent.is_some()
    }
}

impl Entry {
    /// Checks and compiles one entry of the `table` array (`approve` or `deny`).
    pub(super) fn compile(
        text: &str,
        origin: &str,
        table: &str,
        e: Spanned<RawEntry>,
    ) -> Result<Entry, PolicyError> {
        let line = line_of(text, e.span().start);
        let e = e.into_inner();
        let at = At {
            text,
            origin,
            table,
        };
        let reason = e.reason.get_ref().trim().to_string();
        if reason.is_empty() {
            return Err(at.error(
                e.reason.span(),
                "reason",
                "the reason must not be empty: say why this is acceptable".into(),
            ));
        }
        if !e.has_match_key() {
            return Err(PolicyError {
                file: origin.to_string(),
                line: Some(line),
                key: Some(table.to_string()),
                message: format!(
                    "a [[{table}]] entry needs at least one of entity, company, domain, category, rule, kind, consent"
                ),
            });
        }
        // In the file's key order, so the first error reported is the one it always was.
        let entity = at.plain(e.entity, "entity")?;
        let company = at.plain(e.company, "company")?;
        let category = at.plain(e.category, "category")?;
        let rule = at.plain(e.rule, "rule")?;
        let (domain, domain_pattern) = at.domain(e.domain)?;
        let kind = at.one_of(e.kind, "kind", "kind", &Kind::ALL, Kind::as_str)?;
        let consent = at.one_of(
            e.consent,
            "consent",
            "consent state",
            &Consent::ALL,
            Consent::as_str,
        )?;
        let Scope {
            pages,
            paths,
            senders,
        } = at.scope(e.pages, e.paths, e.senders)?;
        Ok(Entry {
            line,
            entity,
            company,
            category,
            domain,
            rule,
            kind,
            consent,
            reason,
            domain_pattern,
            pages,
            paths,
            senders,
            hits: AtomicU64::new(0),
        })
    }
}
