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
//!
//! # Where things live
//!
//! - [`fail_on`]: the failure conditions and the sentence each gives a violation.
//! - [`entry`]: `[[approve]]`/`[[deny]]` entries, their match and scope keys. A new
//!   policy key is a field of `RawEntry`, a step in `Entry::compile`, and a test in
//!   `match_key` there.
//! - [`glob`]: the page, path and sender globs.
//! - [`error`]: `FILE:LINE: message (key `x`)` errors from the TOML parser's spans.

mod entry;
mod error;
mod fail_on;
mod glob;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::model::Command;
use crate::model::{DocumentReport, Finding, Verdict, VerdictStatus};

use entry::RawEntry;
pub use entry::{Entry, CONSENT, KINDS};
pub use error::PolicyError;
pub use fail_on::FailOn;

/// The policy file's conventional name, looked up by [`Policy::find`].
pub const FILE_NAME: &str = "pixscan.toml";

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
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| error::toml_error(text, origin, &e))?;
        let mut approve = Vec::with_capacity(raw.approve.len());
        for e in raw.approve {
            approve.push(Entry::compile(text, origin, "approve", e)?);
        }
        let mut deny = Vec::with_capacity(raw.deny.len());
        for e in raw.deny {
            deny.push(Entry::compile(text, origin, "deny", e)?);
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
    /// ([`crate::fingerprint::compute`]) of every finding that is tracking or not simply
    /// allowed (a plain remote image gets none: nothing baselines or gates on it). Counts approval matches for
    /// [`Policy::unused_approvals`]. A document that failed to scan has no findings; see
    /// [`Policy::document_verdict`].
    pub fn apply(&self, command: Command, doc: &mut DocumentReport) {
        if command == Command::Eml {
            self.saw_eml.store(true, Ordering::Relaxed);
        } else {
            self.saw_site.store(true, Ordering::Relaxed);
        }
        let scope = self.scope(doc);
        // Fingerprints serve baselines and CI reports: computed for the findings that can
        // reach them (tracking ones, and any the policy does not simply allow), with the
        // document's part of the hash computed once and a repeated finding shape hashed once.
        let mut fingerprints: Option<crate::fingerprint::Fingerprints> = None;
        let mut results: Vec<(Option<String>, Verdict)> = Vec::with_capacity(doc.findings.len());
        for f in &doc.findings {
            let verdict = self.judge(&scope, f, true);
            let fp = (f.tracking || verdict.status != VerdictStatus::Allowed).then(|| {
                fingerprints
                    .get_or_insert_with(|| {
                        let key = crate::fingerprint::document_key(command, doc);
                        crate::fingerprint::Fingerprints::new(command, &key)
                    })
                    .compute(f)
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
                let hint = crate::text::did_you_mean(name, known.iter().copied())
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
            .filter(|e| (eml && e.can_apply_to_mail()) || (site && e.can_apply_to_sites()))
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
        // Only `paths` globs read the working directory: no system call per document
        // otherwise.
        let cwd = self
            .approve
            .iter()
            .chain(&self.deny)
            .any(Entry::has_paths)
            .then(std::env::current_dir)
            .and_then(Result::ok)
            .map(|p| crate::text::normalize_path(&p.display().to_string()));
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
                e.record_hit();
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
                e.record_hit();
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
        let mut hits = self.fail_on.iter().copied().filter(|c| c.matches(f));
        if let Some(first) = hits.next() {
            let mut reason = String::with_capacity(96);
            reason.push_str("fail_on ");
            reason.push_str(first.as_str());
            for c in hits {
                reason.push_str(", ");
                reason.push_str(c.as_str());
            }
            reason.push_str(" (");
            reason.push_str(&self.origin);
            reason.push_str("): ");
            first.explain(f, &mut reason);
            return Verdict {
                status: VerdictStatus::Violation,
                reason,
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

#[cfg(test)]
mod tests {
    use super::*;

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
