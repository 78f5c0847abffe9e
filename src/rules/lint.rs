//! What `rules check` asks of a rule file beyond what the loader needs to use it: the
//! conventions of `rules/README.md` that keep rules honest (known categories, hostnames as
//! hostnames, anchored path shapes, one namespace of ids…). The loader takes a file that
//! breaks them (a user's `--rules` file keeps working); `rules check`, and so CI, refuses it.
//!
//! Every problem names its file and the line of the rule's `[[table]]` header (a CNAME list's
//! problems name the list's own line).

use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::OnceLock;

use regex::Regex;
use toml::Spanned;

use super::defs::{
    CnameDef, ConsentDef, EndpointDef, EntityDef, HeaderDef, RuleFile, SignatureDef,
};
use super::load::Source;
use super::{EndpointKind, HostPattern, RuleError};

/// Entity categories: third-party-web's, plus pixscan's `email-marketing` and
/// `sales-tracking`.
pub const CATEGORIES: &[&str] = &[
    "ad",
    "analytics",
    "social",
    "marketing",
    "customer-success",
    "tag-manager",
    "consent-provider",
    "cdn",
    "hosting",
    "utility",
    "content",
    "video",
    "other",
    "email-marketing",
    "sales-tracking",
];

/// The kinds a `[[signature]]` may give (a snippet is never a pixel or a redirect).
const SIGNATURE_KINDS: &[EndpointKind] = &[
    EndpointKind::TrackerScript,
    EndpointKind::Beacon,
    EndpointKind::AdConversion,
];

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("lint regex"))
}

/// A rule id: kebab-case, no empty parts.
fn is_id(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, r"^[a-z0-9]+(-[a-z0-9]+)*$").is_match(s)
}

/// A lower-case hostname, optionally `*.`-prefixed; labels may hold `_` (real CNAME
/// records do).
fn is_host(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)+[a-z0-9-]*[a-z0-9]$",
    )
    .is_match(s)
}

/// An endpoint host: a hostname, `*.domain`, or a glob with inner wildcards
/// (`u*.ct.sendgrid.net`, `www.google.*`; each `*` stands for part of one label).
fn is_host_pattern(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let glob = re(
        &RE,
        r"^([a-z0-9_*]([a-z0-9_*-]*[a-z0-9_*])?\.)+[a-z0-9*-]*[a-z0-9*]$",
    );
    is_host(s)
        || (glob.is_match(s)
            && !s.contains("**")
            && !s.starts_with("*.")
            && !s.replace('*', "").trim_matches(['.', '-']).is_empty())
}

/// A path regex anchored at the start (`^…`, or `(?i)^…`).
fn is_anchored(path: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, r"^(\(\?[a-z]+\))?\^").is_match(path)
}

/// An RFC 5322 header field name: printable ASCII, no colon.
fn is_header_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (b'!'..=b'~').contains(&b) && b != b':')
}

/// A lower-case HTML attribute name.
fn is_attribute(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, r"^[a-z_:][a-z0-9_:.-]*$").is_match(s)
}

/// A CSS class-name prefix.
fn is_class_prefix(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, r"^[A-Za-z_-][A-Za-z0-9_-]*$").is_match(s)
}

/// A test an item must pass, and what it should be (for the message).
type Shape = (fn(&str) -> bool, &'static str);

/// Where problems of one file go, with the rule they are about.
struct Problems<'a, 'b> {
    src: &'a Source<'a>,
    out: &'b mut Vec<RuleError>,
}

impl Problems<'_, '_> {
    fn at(&mut self, span: std::ops::Range<usize>, what: &str, message: String) {
        self.out
            .push(self.src.error(span, format!("{what}: {message}")));
    }

    /// A list whose items must be unique and each have the `shape` given.
    fn list(
        &mut self,
        span: &std::ops::Range<usize>,
        what: &str,
        key: &str,
        items: &[String],
        shape: Option<Shape>,
    ) {
        let mut seen = std::collections::HashSet::new();
        for item in items {
            if !seen.insert(item) {
                self.at(span.clone(), what, format!("`{key}` lists {item:?} twice"));
            }
            if let Some((ok, rule)) = shape {
                if !ok(item) {
                    self.at(
                        span.clone(),
                        what,
                        format!("`{key}`: {item:?} is not {rule}"),
                    );
                }
            }
        }
    }
}

/// An item label for messages: `endpoint `acme-open``.
fn label(table: &str, name: &str) -> String {
    format!("{table} `{name}`")
}

/// The state that spans files: ids share one namespace (SARIF rule ids, policy keys), and
/// consent platforms are reported by name.
#[derive(Default)]
pub(super) struct Lint {
    /// Id → (file, whether an endpoint defined it).
    ids: HashMap<String, (String, bool)>,
    consent_names: HashMap<String, String>,
}

impl Lint {
    /// Checks one parsed file, before the loader takes it.
    pub fn file(&mut self, src: &Source, file: &RuleFile, out: &mut Vec<RuleError>) {
        let mut p = Problems { src, out };
        entities(&mut p, &file.entity);
        for e in &file.endpoint {
            endpoint(&mut p, e);
            self.id(&mut p, e.span(), "endpoint", &e.get_ref().id, true);
        }
        for h in &file.header {
            header(&mut p, h);
            self.id(&mut p, h.span(), "header", &h.get_ref().id, false);
        }
        for s in &file.signature {
            signature(&mut p, s);
            self.id(&mut p, s.span(), "signature", &s.get_ref().id, false);
        }
        for c in &file.consent {
            consent(&mut p, c);
            self.id(&mut p, c.span(), "consent", &c.get_ref().id, false);
            self.consent_name(&mut p, c);
        }
        for c in &file.cname {
            cname(&mut p, c);
        }
    }

    /// Ids are unique across endpoints, headers, signatures and consent platforms (the
    /// loader itself refuses two endpoints with one id), and kebab-case without empty parts.
    fn id(
        &mut self,
        p: &mut Problems,
        span: std::ops::Range<usize>,
        table: &str,
        id: &str,
        endpoint: bool,
    ) {
        let what = label(table, id);
        if super::load::check_id(id).is_ok() && !is_id(id) {
            p.at(
                span.clone(),
                &what,
                "the id has an empty part (`--`)".into(),
            );
        }
        match self.ids.get(id) {
            Some((_, true)) if endpoint => {}
            Some((origin, _)) => p.at(span, &what, format!("duplicate id (also in {origin})")),
            None => {
                self.ids
                    .insert(id.to_string(), (p.src.origin.to_string(), endpoint));
            }
        }
    }

    fn consent_name(&mut self, p: &mut Problems, c: &Spanned<ConsentDef>) {
        let d = c.get_ref();
        match self.consent_names.get(&d.name) {
            Some(origin) => p.at(
                c.span(),
                &label("consent", &d.id),
                format!(
                    "duplicate consent platform name {:?} (also in {origin})",
                    d.name
                ),
            ),
            None => {
                self.consent_names
                    .insert(d.name.clone(), p.src.origin.to_string());
            }
        }
    }
}

fn entities(p: &mut Problems, list: &[Spanned<EntityDef>]) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for e in list {
        let d = e.get_ref();
        if let Some(&at) = first.get(d.name.as_str()) {
            let line = crate::text::line_of(p.src.text, at);
            p.at(
                e.span(),
                &label("entity", &d.name),
                format!("defined twice in this file (also on line {line})"),
            );
        } else {
            first.insert(&d.name, e.span().start);
        }
        entity(p, e);
    }
}

fn entity(p: &mut Problems, e: &Spanned<EntityDef>) {
    let (span, d) = (e.span(), e.get_ref());
    let what = label("entity", &d.name);
    if d.name.trim().is_empty() {
        p.at(span.clone(), &what, "empty name".into());
    }
    match &d.category {
        None => p.at(
            span.clone(),
            &what,
            "missing required key `category`".into(),
        ),
        Some(c) if !CATEGORIES.contains(&c.as_str()) => p.at(
            span.clone(),
            &what,
            format!("unknown category {c:?} (known: {})", CATEGORIES.join(", ")),
        ),
        Some(_) => {}
    }
    if let Some(h) = d
        .homepage
        .as_deref()
        .filter(|h| !(h.starts_with("http://") || h.starts_with("https://")))
    {
        p.at(
            span.clone(),
            &what,
            format!("homepage is not an http(s) URL: {h:?}"),
        );
    }
    match &d.domains {
        None => p.at(span, &what, "missing required key `domains`".into()),
        Some(domains) => p.list(
            &span,
            &what,
            "domains",
            domains,
            Some((is_host, "a lower-case hostname (optionally `*.`-prefixed)")),
        ),
    }
}

fn endpoint(p: &mut Problems, e: &Spanned<EndpointDef>) {
    let (span, d) = (e.span(), e.get_ref());
    let what = label("endpoint", &d.id);
    // A host the loader refuses is its problem already.
    let hosts: Vec<String> = d
        .hosts
        .iter()
        .filter(|h| HostPattern::parse(h).is_ok())
        .cloned()
        .collect();
    p.list(
        &span,
        &what,
        "hosts",
        &hosts,
        Some((
            is_host_pattern,
            "a lower-case host pattern (a name, `*.`-prefixed, or a glob)",
        )),
    );
    if let Some(path) = d.path.as_deref() {
        if d.hosts.is_empty() && !is_anchored(path) {
            p.at(
                span.clone(),
                &what,
                format!("a path-shape rule (no hosts) must anchor its path with ^: {path:?}"),
            );
        }
    }
    p.list(&span, &what, "query_has", &d.query_has, None);
    p.list(&span, &what, "identifiers", &d.identifiers, None);
    if d.target_param.is_some() && d.kind != EndpointKind::ClickRedirect {
        p.at(
            span,
            &what,
            "`target_param` is only meaningful on click-redirect rules".into(),
        );
    }
}

fn header(p: &mut Problems, h: &Spanned<HeaderDef>) {
    let d = h.get_ref();
    if !is_header_name(&d.name) {
        p.at(
            h.span(),
            &label("header", &d.id),
            format!("not a valid header field name: {:?}", d.name),
        );
    }
}

fn signature(p: &mut Problems, s: &Spanned<SignatureDef>) {
    let (span, d) = (s.span(), s.get_ref());
    let what = label("signature", &d.id);
    let kinds: Vec<&str> = SIGNATURE_KINDS.iter().map(|k| k.as_str()).collect();
    match d.kind {
        None => p.at(
            span.clone(),
            &what,
            format!("missing required key `kind` ({})", kinds.join(", ")),
        ),
        Some(k) if !SIGNATURE_KINDS.contains(&k) => p.at(
            span.clone(),
            &what,
            format!(
                "kind `{}` is not a signature kind ({})",
                k.as_str(),
                kinds.join(", ")
            ),
        ),
        Some(_) => {}
    }
    if d.tag.trim().is_empty() {
        p.at(span.clone(), &what, "empty tag".into());
    }
    // A pattern that does not compile is the loader's problem.
    if Regex::new(&d.pattern).is_ok_and(|re| re.is_match("")) {
        p.at(
            span,
            &what,
            format!("pattern matches the empty string: {:?}", d.pattern),
        );
    }
}

fn consent(p: &mut Problems, c: &Spanned<ConsentDef>) {
    let (span, d) = (c.span(), c.get_ref());
    let what = label("consent", &d.id);
    if d.name.trim().is_empty() {
        p.at(span.clone(), &what, "empty name".into());
    }
    p.list(
        &span,
        &what,
        "script_hosts",
        &d.script_hosts,
        Some((is_host, "a lower-case hostname (optionally `*.`-prefixed)")),
    );
    p.list(&span, &what, "inline", &d.inline, None);
    for r in &d.inline {
        if Regex::new(r).is_ok_and(|re| re.is_match("")) {
            p.at(
                span.clone(),
                &what,
                format!("`inline` regex matches the empty string: {r:?}"),
            );
        }
    }
    if d.script_hosts.is_empty() && d.inline.is_empty() {
        p.at(
            span.clone(),
            &what,
            "has neither `script_hosts` nor `inline`: it can never be detected".into(),
        );
    }
    p.list(
        &span,
        &what,
        "gate_attrs",
        &d.gate_attrs,
        Some((is_attribute, "a lower-case HTML attribute name")),
    );
    p.list(
        &span,
        &what,
        "gate_class_prefixes",
        &d.gate_class_prefixes,
        Some((is_class_prefix, "a class-name prefix")),
    );
    p.list(&span, &what, "accept_selectors", &d.accept_selectors, None);
}

/// A CNAME list: a relative path inside the rules folder, one lower-case hostname per line
/// (`#` comments and blank lines aside), no host twice, at least one.
fn cname(p: &mut Problems, c: &Spanned<CnameDef>) {
    let (span, d) = (c.span(), c.get_ref());
    let what = label("cname", &d.file);
    let rel = Path::new(&d.file);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        p.at(
            span,
            &what,
            "`file` must be a relative path inside the rules folder".into(),
        );
        return;
    }
    // A list that cannot be read is the loader's problem.
    let Some(text) = (p.src.read_cname)(&d.file) else {
        return;
    };
    let shown = Path::new(p.src.origin)
        .parent()
        .unwrap_or(Path::new(""))
        .join(rel)
        .display()
        .to_string();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let problem = |message: String| RuleError {
            origin: shown.clone(),
            line: Some(n + 1),
            message,
        };
        if !is_host(line) || line.starts_with("*.") {
            p.out
                .push(problem(format!("not a lower-case hostname: {line:?}")));
        }
        if !seen.insert(line) {
            p.out.push(problem(format!("{line:?} is listed twice")));
        }
    }
    if seen.is_empty() {
        p.at(span, &what, "the list names no host".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_host("a.example") && is_host("*.a.example") && is_host("_dm.a.example"));
        assert!(!is_host("A.example") && !is_host("example") && !is_host("a.*.example"));
        assert!(is_host_pattern("u*.ct.sendgrid.net") && is_host_pattern("www.google.*"));
        assert!(!is_host_pattern("**.x.example") && !is_host_pattern("*.*.example"));
        assert!(is_anchored("^/o/") && is_anchored("(?i)^/o/") && !is_anchored("/o/"));
        assert!(is_header_name("X-SG-EID") && !is_header_name("X:Y") && !is_header_name(""));
        assert!(is_id("a-1-b") && !is_id("a--b") && !is_id("-a"));
        assert!(is_attribute("data-cookieconsent") && !is_attribute("Data"));
        assert!(is_class_prefix("cmplz-") && !is_class_prefix("1a"));
    }
}
