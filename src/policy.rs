//! The CI gate's policy stage: `pixscan.toml` says which findings fail the build.
//!
//! In the spirit of cargo-deny: a short list of failure conditions, approvals for the
//! tracking you have decided to accept (each with a reason), and deny entries for what must
//! never appear. See `pixscan.example.toml` at the repository root for a commented example.
//!
//! # File format
//!
//! ```toml
//! # What fails the build (default: ["unapproved-tracking"]; [] = only deny entries fail).
//! fail_on = ["unapproved-tracking", "recipient-identity", "scan-error"]
//!
//! [[approve]]                       # a finding matching ALL the given match keys is approved
//! entity = "Google Analytics"
//! reason = "Our own analytics, consent-gated"        # required, non-empty
//! pages = ["https://www.shop.example/checkout/*"]    # optional scope
//!
//! [[deny]]                          # deny entries win over approvals: always violations
//! domain = "*.doubleclick.net"
//! reason = "No ad tracking on the help centre"
//! ```
//!
//! Top-level keys: `fail_on`, `approve`, `deny`. Unknown keys, wrong types and bad values
//! are errors naming the file, line and key (`pixscan.toml:7: unknown field `entty`, …
//! (key `approve.entty`)`).
//!
//! ## `fail_on` conditions
//!
//! | value | a finding fails when… |
//! |---|---|
//! | `unapproved-tracking` | it is tracking (`tracking: true`) |
//! | `any-tracking` | it is tracking: a synonym of `unapproved-tracking` (approvals exempt in both) |
//! | `recipient-identity` | its URL carries the recipient's address or its hash (`recipient-email`, `recipient-email-hash`) |
//! | `third-party-identifiers` | it goes to a third party and carries any identifier |
//! | `ungated` | site: it is tracking and loads without consent gating (`consent: ungated`) |
//! | `scan-error` | (document level) the document could not be scanned |
//!
//! Every condition except `scan-error` is exempted by an approval: a finding is a
//! **violation** if it matches a deny entry, or if it is not approved and matches a `fail_on`
//! condition; **approved** if it matches an approve entry (and no deny entry); otherwise
//! **allowed**. A baseline (see [`crate::baseline`]) later turns known violations into
//! **baselined**.
//!
//! ## Entries (`[[approve]]`, `[[deny]]`)
//!
//! Match keys (at least one; all given keys must match):
//!
//! - `entity`, `company`, `category`: the finding's field, exact, case-insensitive.
//! - `domain`: a host pattern matched against the finding's host *and* its registrable
//!   domain. `google.com` matches `google.com` and, through the registrable domain, every
//!   subdomain; `www.google.com` matches that host only; `*.doubleclick.net` matches the
//!   domain and all subdomains; inner wildcards (`u*.ct.sendgrid.net`) match within a label.
//! - `rule`: the endpoint rule id (`sendgrid-open`), exact.
//! - `kind`: the finding kind (`open-pixel`, `tracker-script`, `tracked-link`…), exact.
//! - `consent`: site mode, the finding's consent state: `gated`, `ungated` or `unknown`.
//!   `consent = "gated"` in an approval approves a tag only where a consent platform gates
//!   it; mail findings have no consent state and never match.
//!
//! Scope keys (optional; an entry with no scope key applies to every document; with several,
//! a document in any of them is in scope):
//!
//! - `pages`: globs matched against the page URL (site crawls: sources starting with
//!   `http://` or `https://`). `*` matches any run of characters, `/`, `?` and `#` included:
//!   `https://shop.example/checkout/*`. Case-sensitive; write hosts in lowercase.
//! - `paths`: globs matched against local file paths (site folder mode; also `.eml` files,
//!   mbox files without the `#N` index). `*` matches within one path segment, `**` across
//!   segments (`public/blog/**`), a trailing `/` means everything below. Leading `./` is
//!   ignored; a relative pattern also matches an absolute source under the current
//!   directory.
//! - `senders`: globs matched against the mail From address (eml), case-insensitive; `*`
//!   matches anything (`*@brand.example`).
//!
//! Only `*` (and `**` in paths) is special in globs; everything else is literal. Globs are
//! compiled with globset (the crate behind ripgrep's globs).
//!
//! `reason` is required in both kinds of entry, and appears in the verdict.
//!
//! # Unused approvals
//!
//! Like cargo-deny, the policy warns about approvals that matched nothing: [`Policy::apply`]
//! counts matches in atomic counters (so it takes `&self` and can run on worker threads), and
//! [`Policy::unused_approvals`] lists the approvals that never matched. An approval scoped
//! only to `senders` is not reported after a `site` run, nor one scoped only to `pages` after
//! an `eml` run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::model::{DocumentReport, Finding, Party, Verdict, VerdictStatus};
use crate::rules::HostPattern;

/// The policy file's conventional name, looked up by [`Policy::find`].
pub const FILE_NAME: &str = "pixscan.toml";

/// A `fail_on` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    UnapprovedTracking,
    AnyTracking,
    RecipientIdentity,
    ThirdPartyIdentifiers,
    Ungated,
    ScanError,
}

impl FailOn {
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::UnapprovedTracking => "unapproved-tracking",
            FailOn::AnyTracking => "any-tracking",
            FailOn::RecipientIdentity => "recipient-identity",
            FailOn::ThirdPartyIdentifiers => "third-party-identifiers",
            FailOn::Ungated => "ungated",
            FailOn::ScanError => "scan-error",
        }
    }

    /// Whether the finding meets this condition (always false for `scan-error`).
    pub fn matches(self, f: &Finding) -> bool {
        match self {
            FailOn::UnapprovedTracking | FailOn::AnyTracking => f.tracking,
            FailOn::RecipientIdentity => f.leaks.identifiers.iter().any(|i| {
                matches!(
                    i.kind,
                    "recipient-email"
                        | "recipient-email-hash"
                        | "visitor-email"
                        | "visitor-email-hash"
                        | "visitor-phone"
                )
            }),
            FailOn::ThirdPartyIdentifiers => {
                f.party == Party::Third && !f.leaks.identifiers.is_empty()
            }
            FailOn::Ungated => f.tracking && f.consent == Some("ungated"),
            FailOn::ScanError => false,
        }
    }

    fn explain(self, f: &Finding) -> String {
        let who = f
            .entity
            .clone()
            .unwrap_or_else(|| format!("{} (unknown entity)", f.host));
        match self {
            FailOn::UnapprovedTracking | FailOn::AnyTracking => {
                format!("tracking by {who} is not approved")
            }
            FailOn::RecipientIdentity => {
                "the URL carries the recipient's email address (or its hash)".into()
            }
            FailOn::ThirdPartyIdentifiers => format!("third party {who} receives an identifier"),
            FailOn::Ungated => format!("tracking by {who} loads without consent gating"),
            FailOn::ScanError => "the document could not be scanned".into(),
        }
    }
}

/// The finding kinds a `kind` key may name (`model::Kind::as_str`).
pub const KINDS: &[&str] = &[
    "open-pixel",
    "tracked-image",
    "tracked-link",
    "beacon",
    "ad-conversion",
    "tracker-script",
    "remote-image",
    "remote-resource",
    "read-receipt",
    "meta-refresh",
    "dns-prefetch",
];

/// The consent states a `consent` key may name (`Finding::consent`, site mode).
pub const CONSENT: &[&str] = &["gated", "ungated", "unknown"];

/// A policy-file error: `FILE:LINE: message (key `x`)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path (`approve.reason`), when known.
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(key) = &self.key {
            write!(f, " (key `{key}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default = "default_fail_on")]
    fail_on: Vec<FailOn>,
    #[serde(default)]
    approve: Vec<Spanned<RawEntry>>,
    #[serde(default)]
    deny: Vec<Spanned<RawEntry>>,
}

fn default_fail_on() -> Vec<FailOn> {
    vec![FailOn::UnapprovedTracking]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
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

/// A compiled glob (globset).
#[derive(Debug)]
struct Glob {
    pattern: String,
    matcher: GlobMatcher,
}

impl Glob {
    fn is_match(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }
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
    pub kind: Option<String>,
    pub consent: Option<String>,
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
            ("entity", &self.entity),
            ("company", &self.company),
            ("domain", &self.domain),
            ("category", &self.category),
            ("rule", &self.rule),
            ("kind", &self.kind),
            ("consent", &self.consent),
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

    fn has_scope(&self) -> bool {
        !(self.pages.is_empty() && self.paths.is_empty() && self.senders.is_empty())
    }

    /// Whether the document is within the entry's scope.
    fn in_scope(&self, doc: &DocumentReport, cwd: Option<&str>) -> bool {
        if !self.has_scope() {
            return true;
        }
        let src = doc.source.as_str();
        if src.starts_with("http://") || src.starts_with("https://") {
            if self.pages.iter().any(|g| g.is_match(src)) {
                return true;
            }
        } else if src != "<stdin>" && !self.paths.is_empty() {
            let mut p = crate::baseline::normalize_path(src);
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
    fn matches(&self, f: &Finding) -> bool {
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
        if let Some(kind) = &self.kind {
            if f.kind.as_str() != kind {
                return false;
            }
        }
        if let Some(consent) = &self.consent {
            if f.consent != Some(consent.as_str()) {
                return false;
            }
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

/// A loaded policy. See the module documentation for the format and semantics.
#[derive(Debug)]
pub struct Policy {
    /// The file it came from (`pixscan.toml`), or `default policy`.
    pub origin: String,
    pub fail_on: Vec<FailOn>,
    pub approve: Vec<Entry>,
    pub deny: Vec<Entry>,
    saw_eml: AtomicBool,
    saw_site: AtomicBool,
}

impl Default for Policy {
    /// `fail_on = ["unapproved-tracking"]`, no entries: every tracking finding fails.
    fn default() -> Policy {
        Policy {
            origin: "default policy".into(),
            fail_on: default_fail_on(),
            approve: Vec::new(),
            deny: Vec::new(),
            saw_eml: AtomicBool::new(false),
            saw_site: AtomicBool::new(false),
        }
    }
}

impl Policy {
    /// Reads and parses a policy file; errors name the file (as given), line and key.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            file: origin.clone(),
            line: None,
            key: None,
            message: format!("cannot read policy file: {e}"),
        })?;
        Policy::from_str(&text, &origin)
    }

    /// `pixscan.toml` in `dir`, if there is one.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        let p = dir.join(FILE_NAME);
        p.is_file().then_some(p)
    }

    /// The nearest `pixscan.toml` at or above `start` (a scanned folder or file), as lychee
    /// and cargo-deny look for theirs; stops at a repository root (`.git`).
    pub fn find_upward(start: &Path) -> Option<PathBuf> {
        let start = std::fs::canonicalize(start).ok()?;
        let mut dir = if start.is_dir() {
            start.as_path()
        } else {
            start.parent()?
        };
        loop {
            if let Some(p) = Policy::find(dir) {
                return Some(p);
            }
            if dir.join(".git").exists() {
                return None;
            }
            dir = dir.parent()?;
        }
    }

    /// Parses policy text; `origin` names it in errors and verdicts.
    pub fn from_str(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| toml_error(text, origin, &e))?;
        let mut approve = Vec::with_capacity(raw.approve.len());
        for e in raw.approve {
            approve.push(compile_entry(text, origin, "approve", e)?);
        }
        let mut deny = Vec::with_capacity(raw.deny.len());
        for e in raw.deny {
            deny.push(compile_entry(text, origin, "deny", e)?);
        }
        let mut fail_on = raw.fail_on;
        let mut seen = Vec::new();
        fail_on.retain(|c| {
            let new = !seen.contains(c);
            seen.push(*c);
            new
        });
        Ok(Policy {
            origin: origin.to_string(),
            fail_on,
            approve,
            deny,
            saw_eml: AtomicBool::new(false),
            saw_site: AtomicBool::new(false),
        })
    }

    /// Judges every finding of `doc` (sets `verdict`) and sets the `fingerprint`
    /// ([`crate::baseline::fingerprint`]) of every finding that is tracking or not simply
    /// allowed (a plain remote image gets none: nothing baselines or gates on it). Counts approval matches for
    /// [`Policy::unused_approvals`]. A document that failed to scan has no findings; see
    /// [`Policy::document_verdict`].
    pub fn apply(&self, command: &str, doc: &mut DocumentReport) {
        if command == "eml" {
            self.saw_eml.store(true, Ordering::Relaxed);
        } else {
            self.saw_site.store(true, Ordering::Relaxed);
        }
        let scope = self.scope(doc);
        // Fingerprints serve baselines and CI reports: computed for the findings that can
        // reach them (tracking ones, and any the policy does not simply allow), with the
        // document's part of the hash computed once.
        let mut key: Option<String> = None;
        let mut results: Vec<(Option<String>, Verdict)> = Vec::with_capacity(doc.findings.len());
        for f in &doc.findings {
            let verdict = self.judge(&scope, f, true);
            let fp = (f.tracking || verdict.status != VerdictStatus::Allowed).then(|| {
                let key = key.get_or_insert_with(|| crate::baseline::document_key(command, doc));
                crate::baseline::fingerprint_in(command, key, f)
            });
            results.push((fp, verdict));
        }
        for (f, (fp, verdict)) in doc.findings.iter_mut().zip(results) {
            f.fingerprint = fp;
            f.verdict = Some(verdict);
        }
    }

    /// The verdict for one finding of `doc`, without recording approval use (for callers
    /// that judge a finding outside [`Policy::apply`]).
    pub fn verdict(&self, doc: &DocumentReport, f: &Finding) -> Verdict {
        self.judge(&self.scope(doc), f, false)
    }

    /// The document-level verdict: `None` for a scanned document; for one that failed to
    /// scan, a violation when `fail_on` has `scan-error`, otherwise `allowed`.
    pub fn document_verdict(&self, doc: &DocumentReport) -> Option<Verdict> {
        let err = doc.error.as_deref()?;
        Some(if self.fail_on.contains(&FailOn::ScanError) {
            Verdict {
                status: VerdictStatus::Violation,
                reason: format!("fail_on scan-error ({}): {err}", self.origin),
            }
        } else {
            Verdict {
                status: VerdictStatus::Allowed,
                reason: format!(
                    "scan error, not a policy violation (add `scan-error` to fail_on): {err}"
                ),
            }
        })
    }

    /// Whether the document fails the gate: a finding whose verdict is `violation` (findings
    /// without a verdict are judged now), or a scan error with `fail_on = ["scan-error"]`.
    /// Call it after [`Policy::apply`] and `baseline::apply_baseline`.
    pub fn fails(&self, doc: &DocumentReport) -> bool {
        if self
            .document_verdict(doc)
            .is_some_and(|v| v.status == VerdictStatus::Violation)
        {
            return true;
        }
        let mut scope = None;
        doc.findings.iter().any(|f| match &f.verdict {
            Some(v) => v.status == VerdictStatus::Violation,
            None => {
                let s = scope.get_or_insert_with(|| self.scope(doc));
                self.judge(s, f, false).status == VerdictStatus::Violation
            }
        })
    }

    /// Warnings for approvals that matched no finding in the runs so far, as
    /// `FILE:LINE: approval (entity = "X") matched no finding …`. Approvals whose scope
    /// cannot apply to the commands run (only `senders` after `site`; only `pages` after
    /// `eml`) are not reported. Empty when `apply` was never called.
    /// Entity names in approve/deny entries that the ruleset does not know, with the closest
    /// known name: `FILE:LINE: entity "Sendgrid" is not a known entity; did you mean "SendGrid"?`.
    pub fn unknown_entities(&self, known: &[&str]) -> Vec<String> {
        self.approve
            .iter()
            .chain(&self.deny)
            .filter_map(|e| {
                let name = e.entity.as_deref()?;
                // Policy entity names match case-insensitively.
                if known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                    return None;
                }
                let hint = crate::report::did_you_mean(name, known.iter().copied())
                    .map(|k| format!("; did you mean \"{k}\"?"))
                    .unwrap_or_default();
                Some(format!(
                    "{}:{}: entity \"{name}\" is not a known entity{hint}",
                    self.origin, e.line
                ))
            })
            .collect()
    }

    pub fn unused_approvals(&self) -> Vec<String> {
        let eml = self.saw_eml.load(Ordering::Relaxed);
        let site = self.saw_site.load(Ordering::Relaxed);
        self.approve
            .iter()
            .filter(|e| e.hits() == 0)
            .filter(|e| {
                let for_eml = !e.has_scope() || !e.senders.is_empty() || !e.paths.is_empty();
                let for_site = !e.has_scope() || !e.pages.is_empty() || !e.paths.is_empty();
                (eml && for_eml) || (site && for_site)
            })
            .map(|e| {
                format!(
                    "{}:{}: approval ({}) matched no finding; remove it, or check its keys and scope",
                    self.origin,
                    e.line,
                    e.describe()
                )
            })
            .collect()
    }

    /// Which entries apply to `doc`: (approve, deny) flags.
    fn scope(&self, doc: &DocumentReport) -> (Vec<bool>, Vec<bool>) {
        let cwd = std::env::current_dir()
            .ok()
            .map(|p| crate::baseline::normalize_path(&p.display().to_string()));
        let cwd = cwd.as_deref();
        (
            self.approve.iter().map(|e| e.in_scope(doc, cwd)).collect(),
            self.deny.iter().map(|e| e.in_scope(doc, cwd)).collect(),
        )
    }

    fn judge(&self, scope: &(Vec<bool>, Vec<bool>), f: &Finding, count: bool) -> Verdict {
        let mut approved: Option<&Entry> = None;
        for (e, _) in self
            .approve
            .iter()
            .zip(&scope.0)
            .filter(|(e, in_scope)| **in_scope && e.matches(f))
        {
            if count {
                e.hits.fetch_add(1, Ordering::Relaxed);
            }
            approved.get_or_insert(e);
        }
        if let Some((e, _)) = self
            .deny
            .iter()
            .zip(&scope.1)
            .find(|(e, in_scope)| **in_scope && e.matches(f))
        {
            if count {
                e.hits.fetch_add(1, Ordering::Relaxed);
            }
            return Verdict {
                status: VerdictStatus::Violation,
                reason: format!(
                    "denied by {}:{} ({}): {}",
                    self.origin,
                    e.line,
                    e.describe(),
                    e.reason
                ),
            };
        }
        if let Some(e) = approved {
            return Verdict {
                status: VerdictStatus::Approved,
                reason: format!(
                    "approved by {}:{} ({}): {}",
                    self.origin,
                    e.line,
                    e.describe(),
                    e.reason
                ),
            };
        }
        let hits: Vec<FailOn> = self
            .fail_on
            .iter()
            .copied()
            .filter(|c| c.matches(f))
            .collect();
        if let Some(first) = hits.first() {
            let names: Vec<&str> = hits.iter().map(|c| c.as_str()).collect();
            return Verdict {
                status: VerdictStatus::Violation,
                reason: format!(
                    "fail_on {} ({}): {}",
                    names.join(", "),
                    self.origin,
                    first.explain(f)
                ),
            };
        }
        Verdict {
            status: VerdictStatus::Allowed,
            reason: if f.tracking {
                "tracking, but no fail_on condition matches".into()
            } else {
                "not tracking".into()
            },
        }
    }
}

/// Policy verdict counts over a run, for the report summary and the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    pub violations: u64,
    pub approved: u64,
    pub baselined: u64,
    pub allowed: u64,
    /// Documents that failed to scan and count as violations (`fail_on = ["scan-error"]`).
    pub failed_documents: u64,
    /// Documents that fail the gate (any violation, or a failing scan error).
    pub failing_documents: u64,
}

impl PolicySummary {
    /// Adds one document (after `Policy::apply` and `baseline::apply_baseline`).
    pub fn add(&mut self, policy: &Policy, doc: &DocumentReport) {
        let doc_violation = policy
            .document_verdict(doc)
            .is_some_and(|v| v.status == VerdictStatus::Violation);
        self.failed_documents += u64::from(doc_violation);
        let mut any = doc_violation;
        for f in &doc.findings {
            match f.verdict.as_ref().map(|v| v.status) {
                Some(VerdictStatus::Violation) => {
                    self.violations += 1;
                    any = true;
                }
                Some(VerdictStatus::Approved) => self.approved += 1,
                Some(VerdictStatus::Baselined) => self.baselined += 1,
                Some(VerdictStatus::Allowed) | None => self.allowed += 1,
            }
        }
        self.failing_documents += u64::from(any);
    }

    /// True when nothing fails the gate.
    pub fn passed(&self) -> bool {
        self.violations == 0 && self.failed_documents == 0
    }
}

fn compile_entry(
    text: &str,
    origin: &str,
    table: &str,
    e: Spanned<RawEntry>,
) -> Result<Entry, PolicyError> {
    let line = line_of(text, e.span().start);
    let e = e.into_inner();
    let err = |span: std::ops::Range<usize>, key: &str, message: String| PolicyError {
        file: origin.to_string(),
        line: Some(line_of(text, span.start)),
        key: Some(format!("{table}.{key}")),
        message,
    };
    let reason = e.reason.get_ref().trim().to_string();
    if reason.is_empty() {
        return Err(err(
            e.reason.span(),
            "reason",
            "the reason must not be empty: say why this is acceptable".into(),
        ));
    }
    if e.entity.is_none()
        && e.company.is_none()
        && e.domain.is_none()
        && e.category.is_none()
        && e.rule.is_none()
        && e.kind.is_none()
        && e.consent.is_none()
    {
        return Err(PolicyError {
            file: origin.to_string(),
            line: Some(line),
            key: Some(table.to_string()),
            message: format!(
                "a [[{table}]] entry needs at least one of entity, company, domain, category, rule, kind, consent"
            ),
        });
    }
    let plain = |v: Option<Spanned<String>>, key: &str| -> Result<Option<String>, PolicyError> {
        match v {
            None => Ok(None),
            Some(s) if s.get_ref().trim().is_empty() => {
                Err(err(s.span(), key, format!("`{key}` must not be empty")))
            }
            Some(s) => Ok(Some(s.into_inner().trim().to_string())),
        }
    };
    let entity = plain(e.entity, "entity")?;
    let company = plain(e.company, "company")?;
    let category = plain(e.category, "category")?;
    let rule = plain(e.rule, "rule")?;
    let (domain, domain_pattern) = match e.domain {
        None => (None, None),
        Some(d) => {
            let p = HostPattern::parse(d.get_ref()).map_err(|m| {
                err(
                    d.span(),
                    "domain",
                    format!("{m}: write a host or domain like `example.com` or `*.example.com`"),
                )
            })?;
            (Some(d.into_inner().trim().to_ascii_lowercase()), Some(p))
        }
    };
    let kind = match e.kind {
        None => None,
        Some(k) => {
            let v = k.get_ref().trim();
            if !KINDS.contains(&v) {
                return Err(err(
                    k.span(),
                    "kind",
                    format!("unknown kind `{v}`, expected one of {}", KINDS.join(", ")),
                ));
            }
            Some(v.to_string())
        }
    };
    let consent = match e.consent {
        None => None,
        Some(c) => {
            let v = c.get_ref().trim();
            if !CONSENT.contains(&v) {
                return Err(err(
                    c.span(),
                    "consent",
                    format!(
                        "unknown consent state `{v}`, expected one of {}",
                        CONSENT.join(", ")
                    ),
                ));
            }
            Some(v.to_string())
        }
    };
    let pages = globs(e.pages, |p| {
        if p.starts_with("http://") || p.starts_with("https://") || p.starts_with('*') {
            url_glob(p, false)
        } else {
            Err(format!(
                "page pattern `{p}` is not a URL: start it with https://, http:// or *"
            ))
        }
    })
    .map_err(|(span, m)| err(span, "pages", m))?;
    let paths = globs(e.paths, path_glob).map_err(|(span, m)| err(span, "paths", m))?;
    let senders =
        globs(e.senders, |p| url_glob(p, true)).map_err(|(span, m)| err(span, "senders", m))?;
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

type SpanError = (std::ops::Range<usize>, String);

fn globs(
    raw: Vec<Spanned<String>>,
    compile: impl Fn(&str) -> Result<GlobMatcher, String>,
) -> Result<Vec<Glob>, SpanError> {
    raw.into_iter()
        .map(|s| {
            let p = s.get_ref().trim();
            if p.is_empty() {
                return Err((s.span(), "empty pattern".to_string()));
            }
            let matcher = compile(p).map_err(|m| (s.span(), m))?;
            Ok(Glob {
                pattern: p.to_string(),
                matcher,
            })
        })
        .collect()
}

/// Only `*` is special in policy globs (a URL's `?`, `[` or `{` is literal): everything
/// between the stars is escaped for globset.
fn escape_all_but_stars(p: &str) -> String {
    p.split('*')
        .map(globset::escape)
        .collect::<Vec<_>>()
        .join("*")
}

fn build(
    glob: &str,
    literal_separator: bool,
    case_insensitive: bool,
) -> Result<GlobMatcher, String> {
    GlobBuilder::new(glob)
        .literal_separator(literal_separator)
        .case_insensitive(case_insensitive)
        .backslash_escape(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

/// A URL or sender glob: `*` matches anything, `/` included. A run of stars is one star
/// (globset would read `/**/` as "zero or more folders", so `https://x/**/a` would match
/// `https://x/a`, which a pages glob never did).
fn url_glob(p: &str, case_insensitive: bool) -> Result<GlobMatcher, String> {
    let mut one_star = String::with_capacity(p.len());
    for c in p.chars() {
        if !(c == '*' && one_star.ends_with('*')) {
            one_star.push(c);
        }
    }
    build(&escape_all_but_stars(&one_star), false, case_insensitive)
}

/// A path glob: `*` within a segment, `**` across segments, trailing `/` = everything below.
///
/// globset reads `**` as "any folders" only as a whole path component (`a/**/b`, `**/x`,
/// `a/**`); glued to a name (`public/**.html`) it would be a plain `*`. pixscan's paths
/// have always let such a `**` cross folders too, so it is written as the globset
/// alternatives it stands for: `blog**` = `blog{*,*/**/*}` (within the name, or across
/// folders).
fn path_glob(p: &str) -> Result<GlobMatcher, String> {
    let mut p = crate::baseline::normalize_path(p);
    if p.ends_with('/') {
        p.push_str("**");
    }
    let parts: Vec<&str> = p.split('/').collect();
    let comps: Vec<String> = parts
        .iter()
        .map(|c| {
            if *c == "**" {
                return "**".to_string();
            }
            let pieces: Vec<String> = c.split("**").map(escape_all_but_stars).collect();
            pieces.join("{*,*/**/*}")
        })
        .collect();
    build(&comps.join("/"), true, false)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turns a TOML/serde error into `FILE:LINE: message (key `x`)`.
fn toml_error(text: &str, origin: &str, e: &toml::de::Error) -> PolicyError {
    let message = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return PolicyError {
            file: origin.to_string(),
            line: None,
            key: None,
            message,
        };
    };
    let mut key = key_at(text, span.start);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        key = Some(match key {
            Some(k) => format!("{k}.{field}"),
            None => field.to_string(),
        });
    }
    PolicyError {
        file: origin.to_string(),
        line: Some(line_of(text, span.start)),
        key,
        message,
    }
}

/// The dotted path of the key at (or whose value spans) `offset`, from toml's spanned
/// document tree. (An array of tables' items span only their `[[header]]`, which is where
/// serde reports a missing field.)
fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut best: Option<(u8, usize, String)> = None;
    walk_table(doc.get_ref(), "", offset, &mut best);
    best.map(|(_, _, k)| k)
}

fn walk_table(
    t: &toml::de::DeTable<'_>,
    prefix: &str,
    offset: usize,
    best: &mut Option<(u8, usize, String)>,
) {
    for (k, v) in t.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        // Rank: a key span hit beats a value span hit; deeper paths beat shallower ones.
        let depth = path.matches('.').count();
        let mut consider = |rank: u8| {
            if best
                .as_ref()
                .is_none_or(|(r, d, _)| (rank, depth) > (*r, *d))
            {
                *best = Some((rank, depth, path.clone()));
            }
        };
        let in_item = v
            .get_ref()
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i.span().contains(&offset)));
        if k.span().contains(&offset) {
            consider(2);
        } else if in_item || v.span().contains(&offset) {
            consider(1);
        }
        walk_value(v.get_ref(), &path, offset, best);
    }
}

fn walk_value(
    v: &toml::de::DeValue<'_>,
    path: &str,
    offset: usize,
    best: &mut Option<(u8, usize, String)>,
) {
    if let Some(t) = v.as_table() {
        walk_table(t, path, offset, best);
    } else if let Some(items) = v.as_array() {
        for item in items.iter() {
            walk_value(item.get_ref(), path, offset, best);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_for_urls_and_senders() {
        let g = url_glob("https://shop.example/checkout/*", false).unwrap();
        assert!(g.is_match("https://shop.example/checkout/"));
        assert!(g.is_match("https://shop.example/checkout/pay/step?x=1"));
        assert!(!g.is_match("https://shop.example/cart/"));
        assert!(
            !g.is_match("https://shop.example/Checkout/x"),
            "case-sensitive"
        );
        let s = url_glob("*@brand.example", true).unwrap();
        assert!(s.is_match("News@Brand.Example"));
        assert!(!s.is_match("news@other.example"));
        let u = |p: &str| url_glob(p, false).unwrap();
        assert!(u("https://x.example/a?b").is_match("https://x.example/a?b"));
        assert!(
            !u("https://x.example/a?b").is_match("https://x.example/aXb"),
            "? is literal"
        );
        assert!(!u("https://x.example/a.b").is_match("https://x.example/aXb"));
        // Only `*` is special: brackets, braces and backslashes are literal.
        assert!(u("https://x.example/[id]/{a,b}").is_match("https://x.example/[id]/{a,b}"));
        assert!(!u("https://x.example/[id]/{a,b}").is_match("https://x.example/i/a"));
        assert!(u("https://x.example/a\\*").is_match("https://x.example/a\\b"));
        assert!(u("https://x.example/**").is_match("https://x.example/a/b?c"));
        assert!(u("https://x.example/**/pay").is_match("https://x.example/a/b/pay"));
        assert!(!u("https://x.example/**/pay").is_match("https://x.example/pay"));
    }

    #[test]
    fn globs_for_paths() {
        let p = |g: &str| path_glob(g).unwrap();
        let g = p("public/blog/**");
        assert!(g.is_match("public/blog/a.html"));
        assert!(g.is_match("public/blog/2024/a.html"));
        assert!(!g.is_match("public/shop/a.html"));
        let g = p("public/*/index.html");
        assert!(g.is_match("public/blog/index.html"));
        assert!(!g.is_match("public/blog/x/index.html"));
        let g = p("**/checkout.html");
        assert!(g.is_match("checkout.html"));
        assert!(g.is_match("a/b/checkout.html"));
        assert!(p("./public/").is_match("public/x/y.html"));
        let g = p("public/**/index.html");
        assert!(g.is_match("public/index.html"));
        assert!(g.is_match("public/a/b/index.html"));
        // `**` glued to a name still crosses folders, as it always did.
        let g = p("public/blog**");
        assert!(g.is_match("public/blog.html"));
        assert!(g.is_match("public/blog/2024/a.html"));
        assert!(!g.is_match("public/shop/blog"));
        let g = p("public/**.html");
        assert!(g.is_match("public/a.html"));
        assert!(g.is_match("public/x/y/a.html"));
        assert!(!g.is_match("public/x/y/a.htm"));
        assert!(p("**.eml").is_match("mail/in/a.eml"));
        // Only `*` is special.
        assert!(p("mail/[x]?.eml").is_match("mail/[x]?.eml"));
        assert!(!p("mail/[x]?.eml").is_match("mail/x1.eml"));
    }

    #[test]
    fn lines_and_keys() {
        let text = "fail_on = []\n\n[[approve]]\nentity = \"x\"\nreason = \"r\"\n\n[[approve]]\nentty = \"y\"\nreason = \"r\"\n";
        let e = Policy::from_str(text, "p.toml").unwrap_err();
        assert_eq!(e.line, Some(8));
        assert_eq!(e.key.as_deref(), Some("approve.entty"));
        assert!(
            e.to_string().starts_with("p.toml:8: unknown field `entty`"),
            "{e}"
        );
        assert!(e.to_string().ends_with("(key `approve.entty`)"), "{e}");
    }

    #[test]
    fn missing_reason() {
        let text = "[[deny]]\ndomain = \"x.com\"\nreason = \"r\"\n\n[[deny]]\ndomain = \"y.com\"\n";
        let e = Policy::from_str(text, "p.toml").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.key.as_deref(), Some("deny.reason"));
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = Policy::from_str("fail_on = [\n\"any-tracking\"\n", "p.toml").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn default_fail_on() {
        let p = Policy::from_str("", "p.toml").unwrap();
        assert_eq!(p.fail_on, vec![FailOn::UnapprovedTracking]);
        let p = Policy::from_str("fail_on = []", "p.toml").unwrap();
        assert!(p.fail_on.is_empty());
    }
}
