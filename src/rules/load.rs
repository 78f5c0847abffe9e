//! Loading rule files into a [`Ruleset`]: parse, then compile each table in turn (entities
//! first, so the rules after them can name them), then index. A rule with a problem is left
//! out and the problem recorded with its file and line; [`Ruleset::load`] fails on the first
//! one, `rules check` ([`super::check`]) reports them all.

use std::collections::hash_map::Entry as MapEntry;
use std::ops::Range;
use std::path::Path;

use regex::{RegexBuilder, RegexSet};
use toml::Spanned;

use super::defs::{
    CnameDef, ConsentDef, EndpointDef, EntityDef, HeaderDef, RuleFile, SignatureDef,
};
use super::{
    embedded, ConsentPlatform, DomainEntry, Endpoint, EndpointKind, Entity, HeaderRule,
    HostPattern, LazyRegex, RuleError, Ruleset, Signature,
};

/// A rule file being loaded: its name in messages, its text (for line numbers), and how to
/// read the CNAME lists it names (relative to it).
pub(super) struct Source<'a> {
    pub origin: &'a str,
    pub text: &'a str,
    pub read_cname: &'a dyn Fn(&str) -> Option<String>,
    /// Compile its regexes when first used, not now: only for the built-in files when
    /// scanning (`rules check` compiles them, and so do the tests).
    pub lazy: bool,
}

impl Source<'_> {
    /// A problem at `span` of this file.
    pub fn error(&self, span: Range<usize>, message: String) -> RuleError {
        RuleError {
            origin: self.origin.to_string(),
            line: Some(crate::text::line_of(self.text, span.start)),
            message,
        }
    }

    /// A rule's regex: compiled now (its error reported), or when first used.
    fn regex(&self, pattern: &str, case_insensitive: bool) -> Result<LazyRegex, regex::Error> {
        if self.lazy {
            return Ok(LazyRegex::lazy(pattern, case_insensitive));
        }
        RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()
            .map(LazyRegex::compiled)
    }

    /// The file as written; a TOML or schema error names its line.
    pub fn parse(&self) -> Result<RuleFile, RuleError> {
        toml::from_str(self.text).map_err(|e| RuleError {
            origin: self.origin.to_string(),
            line: e.span().map(|s| crate::text::line_of(self.text, s.start)),
            message: e.message().trim().to_string(),
        })
    }
}

/// Reads an embedded CNAME list.
fn embedded_cname(file: &str) -> Option<String> {
    embedded::cname_file(file).map(str::to_string)
}

/// The built-in files, in load order, as sources; `lazy`: their regexes compiled when first
/// used.
pub(super) fn embedded_sources(lazy: bool) -> impl Iterator<Item = Source<'static>> {
    embedded::FILES.iter().map(move |(origin, text)| Source {
        origin,
        text,
        read_cname: &embedded_cname,
        lazy,
    })
}

/// Reads a user's rule file; its CNAME lists are read from its folder.
pub(super) fn read_file(path: &Path) -> Result<(String, String, std::path::PathBuf), RuleError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RuleError {
        origin: origin.clone(),
        line: None,
        message: format!("cannot read rule file: {e}"),
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((origin, text, dir))
}

impl Ruleset {
    /// The embedded rules only.
    pub fn embedded() -> Result<Ruleset, RuleError> {
        Ruleset::load(&[] as &[&Path])
    }

    /// The embedded rules plus the user's files, in order.
    pub fn load(extra: &[impl AsRef<Path>]) -> Result<Ruleset, RuleError> {
        let mut rs = Ruleset::default();
        for src in embedded_sources(true) {
            rs.add_toml(&src)?;
        }
        for path in extra {
            let (origin, text, dir) = read_file(path.as_ref())?;
            let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
            rs.add_toml(&Source {
                origin: &origin,
                text: &text,
                read_cname: &read,
                lazy: false,
            })?;
        }
        rs.finish()?;
        Ok(rs)
    }

    /// A ruleset from the text of one rule file alone, without the embedded rules (so it can
    /// only name entities it defines) and without CNAME lists (`[[cname]]` files can't be
    /// read from a string, and are reported as not found). `origin` names it in errors.
    /// Used by the fuzzers, and by anyone validating rule text that is not on disk.
    pub fn from_toml_str(origin: &str, text: &str) -> Result<Ruleset, RuleError> {
        let mut rs = Ruleset::default();
        rs.add_toml(&Source {
            origin,
            text,
            read_cname: &|_| None,
            lazy: false,
        })?;
        rs.finish()?;
        Ok(rs)
    }

    /// Parses and adds one file; its first problem is the error.
    pub(super) fn add_toml(&mut self, src: &Source) -> Result<(), RuleError> {
        let file = src.parse()?;
        let mut errors = Vec::new();
        self.add_file(src, file, &mut errors);
        errors.into_iter().next().map_or(Ok(()), Err)
    }

    /// Compiles a parsed file into the set, table by table. A rule with a problem is left
    /// out and the problem pushed to `errors`; the rest still load.
    pub(super) fn add_file(&mut self, src: &Source, file: RuleFile, errors: &mut Vec<RuleError>) {
        for e in file.entity {
            self.add_entity(e.into_inner());
        }
        for d in file.endpoint {
            match self.endpoint(src, d, file.fallback) {
                Ok(e) => self.endpoints.push(e),
                Err(e) => errors.push(e),
            }
        }
        for h in file.header {
            match self.header(src, h) {
                Ok(h) => self.headers.push(h),
                Err(e) => errors.push(e),
            }
        }
        for s in file.signature {
            match self.signature(src, s) {
                Ok(s) => self.signatures.push(s),
                Err(e) => errors.push(e),
            }
        }
        for c in file.consent {
            match self.consent_platform(src, c) {
                Ok(c) => self.consent.push(c),
                Err(e) => errors.push(e),
            }
        }
        for c in file.cname {
            if let Err(e) = self.add_cname(src, c) {
                errors.push(e);
            }
        }
    }

    /// The entity a rule names, by name.
    fn entity_ref(&self, name: &str, id: &str) -> Result<usize, String> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| format!("rule `{id}` names unknown entity `{name}`"))
    }

    fn endpoint(
        &mut self,
        src: &Source,
        d: Spanned<EndpointDef>,
        fallback: bool,
    ) -> Result<Endpoint, RuleError> {
        let span = d.span();
        let d = d.into_inner();
        let err = |message: String| src.error(span.clone(), message);
        check_id(&d.id).map_err(err)?;
        let entity = d
            .entity
            .as_deref()
            .map(|name| self.entity_ref(name, &d.id))
            .transpose()
            .map_err(err)?;
        let path = d
            .path
            .as_deref()
            .map(|p| {
                src.regex(p, false)
                    .map_err(|e| err(format!("rule `{}`: bad path regex: {e}", d.id)))
            })
            .transpose()?;
        if d.hosts.is_empty() && path.is_none() {
            return Err(err(format!(
                "rule `{}` has neither hosts nor path: it would match every URL",
                d.id
            )));
        }
        let hosts = host_patterns(&d.hosts).map_err(|m| err(format!("rule `{}`: {m}", d.id)))?;
        match self.endpoint_ids.entry(d.id.clone()) {
            MapEntry::Occupied(prev) => {
                return Err(err(format!(
                    "duplicate rule id `{}` (also in {})",
                    d.id,
                    self.endpoints[*prev.get()].origin
                )))
            }
            MapEntry::Vacant(slot) => {
                slot.insert(self.endpoints.len());
            }
        }
        Ok(Endpoint {
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
            origin: src.origin.to_string(),
            fallback,
        })
    }

    fn header(&self, src: &Source, h: Spanned<HeaderDef>) -> Result<HeaderRule, RuleError> {
        let span = h.span();
        let h = h.into_inner();
        let err = |message: String| src.error(span.clone(), message);
        check_id(&h.id).map_err(err)?;
        let entity = self.entity_ref(&h.entity, &h.id).map_err(err)?;
        let value = h
            .value
            .as_deref()
            .map(|v| {
                src.regex(v, true)
                    .map_err(|e| err(format!("rule `{}`: bad value regex: {e}", h.id)))
            })
            .transpose()?;
        Ok(HeaderRule {
            id: h.id,
            entity,
            name: h.name.to_ascii_lowercase(),
            value,
        })
    }

    fn signature(&self, src: &Source, s: Spanned<SignatureDef>) -> Result<Signature, RuleError> {
        let span = s.span();
        let d = s.into_inner();
        let err = |message: String| src.error(span.clone(), message);
        check_id(&d.id).map_err(err)?;
        let entity = self.entity_ref(&d.entity, &d.id).map_err(err)?;
        let pattern = src
            .regex(&d.pattern, false)
            .map_err(|e| err(format!("signature `{}`: bad pattern: {e}", d.id)))?;
        // (A lazy, built-in pattern is checked by `rules check` and the tests.)
        if !src.lazy && !pattern.capture_names().any(|n| n == Some("account")) {
            return Err(err(format!(
                "signature `{}`: pattern needs a named group `account`",
                d.id
            )));
        }
        let requires = d
            .requires
            .as_deref()
            .map(|r| {
                src.regex(r, false)
                    .map_err(|e| err(format!("signature `{}`: bad requires pattern: {e}", d.id)))
            })
            .transpose()?;
        Ok(Signature {
            id: d.id,
            entity,
            tag: d.tag,
            kind: d.kind.unwrap_or(EndpointKind::TrackerScript),
            pattern,
            on: d.on,
            note: d.note,
            requires,
        })
    }

    fn consent_platform(
        &self,
        src: &Source,
        c: Spanned<ConsentDef>,
    ) -> Result<ConsentPlatform, RuleError> {
        let span = c.span();
        let c = c.into_inner();
        let err = |message: String| src.error(span.clone(), message);
        check_id(&c.id).map_err(err)?;
        let entity = c
            .entity
            .as_deref()
            .map(|name| self.entity_ref(name, &c.id))
            .transpose()
            .map_err(err)?;
        let script_hosts =
            host_patterns(&c.script_hosts).map_err(|m| err(format!("consent `{}`: {m}", c.id)))?;
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
                src.regex(r, false)
                    .map_err(|e| err(format!("consent `{}`: bad inline regex: {e}", c.id)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ConsentPlatform {
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
        })
    }

    fn add_cname(&mut self, src: &Source, c: Spanned<CnameDef>) -> Result<(), RuleError> {
        let span = c.span();
        let c = c.into_inner();
        let err = |message: String| src.error(span.clone(), message);
        let entity = self.entity_ref(&c.entity, &c.file).map_err(err)?;
        let text = (src.read_cname)(&c.file)
            .ok_or_else(|| err(format!("cname list `{}` not found", c.file)))?;
        for line in text.lines() {
            let host = line.trim();
            if !host.is_empty() && !host.starts_with('#') {
                self.cname.insert(host.to_ascii_lowercase(), entity);
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
        for d in e.domains.unwrap_or_default() {
            self.add_domain(idx, &d);
        }
    }

    /// One of an entity's domains (`x.com`, or `*.x.com` for its subdomains too).
    fn add_domain(&mut self, idx: usize, domain: &str) {
        let d = domain.trim().to_ascii_lowercase();
        let (base, wildcard) = match d.strip_prefix("*.") {
            Some(b) => (b.to_string(), true),
            None => (d.clone(), false),
        };
        if base.is_empty() || base.contains('*') {
            return;
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

    /// Indexes the endpoints once every file is in: host rules by the fixed suffix of their
    /// patterns, inner-wildcard globs apart, path shapes into one RegexSet.
    pub(super) fn finish(&mut self) -> Result<(), RuleError> {
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
                    .map(LazyRegex::as_str)
                    .unwrap_or("")
            })
            .collect();
        self.shape_set = Some(RegexSet::new(patterns).map_err(|e| RuleError {
            origin: "rules".into(),
            line: None,
            message: e.to_string(),
        })?);
        Ok(())
    }
}

fn host_patterns(hosts: &[String]) -> Result<Vec<HostPattern>, String> {
    hosts.iter().map(|h| HostPattern::parse(h)).collect()
}

pub(super) fn check_id(id: &str) -> Result<(), String> {
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

    fn add(rs: &mut Ruleset, text: &str) -> Result<(), RuleError> {
        rs.add_toml(&Source {
            origin: "u.toml",
            text,
            read_cname: &|_| None,
            lazy: false,
        })
    }

    #[test]
    fn errors_name_the_problem() {
        let mut rs = Ruleset::default();
        let e = add(
            &mut rs,
            "[[endpoint]]\nid='x'\nentity='Nope'\nkind='open-pixel'\npath='^/a'\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown entity `Nope`"), "{e}");
        assert_eq!(e.line, Some(1), "{e}");
        let e = add(&mut rs, "[[entity]]\nname='A'\ncolour='red'\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("u.toml:3: unknown field `colour`"),
            "{e}"
        );
        let e = add(&mut rs, "[[entity]]\nname='A'\n[[endpoint]]\nid='Bad_Id'\nentity='A'\nkind='open-pixel'\npath='^/a'\n").unwrap_err();
        assert!(e.to_string().contains("kebab-case"), "{e}");
        assert_eq!(e.line, Some(3), "{e}");
        let e = add(
            &mut rs,
            "[[entity]]\nname='A'\n[[endpoint]]\nid='any'\nentity='A'\nkind='open-pixel'\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("every URL"), "{e}");
    }

    #[test]
    fn duplicate_endpoint_ids_name_both_files() {
        let mut rs = Ruleset::default();
        let rule = "[[entity]]\nname='A'\n[[endpoint]]\nid='a-open'\nentity='A'\nkind='open-pixel'\npath='^/a'\n";
        add(&mut rs, rule).unwrap();
        let e = rs
            .add_toml(&Source {
                origin: "v.toml",
                text: rule,
                read_cname: &|_| None,
                lazy: false,
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "v.toml:3: duplicate rule id `a-open` (also in u.toml)"
        );
    }

    #[test]
    fn embedded_rules_load() {
        let rs = Ruleset::embedded().expect("embedded rules are valid");
        assert!(rs.entities.len() > 2000);
        assert!(rs.endpoints.len() >= 40);
    }

    /// The built-in rules are loaded lazily (their regexes compiled when first used): every
    /// one of them must compile, and every signature must name its `account` group.
    #[test]
    fn embedded_regexes_compile() {
        let rs = Ruleset::embedded().unwrap();
        for e in &rs.endpoints {
            if let Some(p) = &e.path {
                assert!(regex::Regex::new(p.as_str()).is_ok(), "{}", e.id);
            }
        }
        for h in &rs.headers {
            if let Some(v) = &h.value {
                let re = RegexBuilder::new(v.as_str()).case_insensitive(true).build();
                assert!(re.is_ok(), "{}", h.id);
            }
        }
        for s in &rs.signatures {
            let re = regex::Regex::new(s.pattern.as_str()).expect(&s.id);
            assert!(re.capture_names().any(|n| n == Some("account")), "{}", s.id);
            if let Some(r) = &s.requires {
                assert!(regex::Regex::new(r.as_str()).is_ok(), "{}", s.id);
            }
        }
        for c in &rs.consent {
            for r in &c.inline {
                assert!(regex::Regex::new(r.as_str()).is_ok(), "{}", c.id);
            }
        }
        // And a lazy regex matches as the compiled one does.
        let sig = &rs.signatures[0];
        assert_eq!(sig.pattern.as_str(), sig.pattern.regex().as_str());
    }
}
