//! Baselines: the known findings of an earlier run, so a CI gate fails only on new ones.
//! Findings are named by their fingerprint ([`crate::fingerprint`]).
//!
//! # File format
//!
//! ```json
//! { "schema": "pixscan-baseline/1",
//!   "findings": [ { "fingerprint": "3f9c…", "source": "fixtures/mail/x.eml",
//!                   "kind": "open-pixel", "entity": "Mailgun", "url": "https://…" } ] }
//! ```
//!
//! Entries are sorted by fingerprint and deduplicated so the file diffs well in review. Only
//! `fingerprint` is used for matching; the other fields are for the humans reading the diff.
//!
//! # In a run
//!
//! After [`crate::policy::Policy::apply`], [`apply_baseline`] turns each `violation` whose
//! fingerprint is in the baseline into `baselined`, and records in `seen` the fingerprints of
//! every finding that would have been a violation. [`Baseline::fixed`] then lists the entries
//! not seen: their finding is gone, or no longer violates the policy (it was approved since).
//! A document that failed to scan has no findings and no fingerprint; scan errors are never
//! baselined. [`entries`] collects what `--write-baseline` should write: every finding that
//! is a violation or already baselined.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::Command;
use crate::model::{DocumentReport, Finding, Verdict, VerdictStatus};

pub const SCHEMA: &str = "pixscan-baseline/1";

/// One known finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    /// The document it was found in (for people reading the file).
    pub source: String,
    pub kind: String,
    #[serde(default)]
    pub entity: Option<String>,
    pub url: String,
}

impl Entry {
    /// The entry for a finding, by its fingerprint ([`crate::fingerprint::of`]).
    pub fn new(command: Command, doc: &DocumentReport, f: &Finding) -> Entry {
        Entry {
            fingerprint: crate::fingerprint::of(command, doc, f),
            source: doc.source.clone(),
            kind: f.kind.as_str().to_string(),
            entity: f.entity.clone(),
            url: f.url.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    schema: String,
    findings: Vec<Entry>,
}

/// Why a baseline cannot be read or written. `file` is `None` for JSON given in memory.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{file}: cannot read baseline: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("{file}: cannot write baseline: {error}")]
    Write { file: String, error: std::io::Error },
    #[error("{}not a pixscan baseline: {error}", prefix(file))]
    NotBaseline {
        file: Option<String>,
        error: serde_json::Error,
    },
    #[error(
        "{}unsupported baseline schema `{found}` (expected `{SCHEMA}`)",
        prefix(file)
    )]
    Schema { file: Option<String>, found: String },
}

/// `FILE: ` before a message about the file's content, when there is a file.
fn prefix(file: &Option<String>) -> String {
    file.as_ref().map(|f| format!("{f}: ")).unwrap_or_default()
}

/// A loaded baseline: entries by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Where it was loaded from (for verdict reasons); empty when built in memory.
    pub origin: String,
    entries: BTreeMap<String, Entry>,
}

impl Baseline {
    /// Reads a baseline file. Errors name the file: unreadable, not JSON, wrong schema.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| BaselineError::Read {
            file: origin.clone(),
            error,
        })?;
        let mut b = Baseline::parse(&text, Some(&origin))?;
        b.origin = origin;
        Ok(b)
    }

    /// Parses baseline JSON (see the module documentation).
    pub fn from_json(text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse(text, None)
    }

    /// Parses baseline JSON; errors name `file` when there is one.
    fn parse(text: &str, file: Option<&str>) -> Result<Baseline, BaselineError> {
        let file_name = || file.map(str::to_string);
        let parsed: File =
            serde_json::from_str(text).map_err(|error| BaselineError::NotBaseline {
                file: file_name(),
                error,
            })?;
        if parsed.schema != SCHEMA {
            return Err(BaselineError::Schema {
                file: file_name(),
                found: parsed.schema,
            });
        }
        Ok(Baseline::from_entries(parsed.findings))
    }

    /// A baseline holding `entries` (duplicates by fingerprint collapse to the first).
    pub fn from_entries(entries: impl IntoIterator<Item = Entry>) -> Baseline {
        let mut map = BTreeMap::new();
        for e in entries {
            map.entry(e.fingerprint.clone()).or_insert(e);
        }
        Baseline {
            origin: String::new(),
            entries: map,
        }
    }

    /// The JSON text of `entries`: sorted by fingerprint, deduplicated, newline-terminated.
    pub fn to_json(entries: &[Entry]) -> String {
        let b = Baseline::from_entries(entries.iter().cloned());
        let file = File {
            schema: SCHEMA.to_string(),
            findings: b.entries.into_values().collect(),
        };
        let mut s = serde_json::to_string_pretty(&file).expect("baseline serialises");
        s.push('\n');
        s
    }

    /// Writes `entries` as a baseline file (see [`Baseline::to_json`]).
    pub fn write(path: &Path, entries: &[Entry]) -> Result<(), BaselineError> {
        std::fs::write(path, Baseline::to_json(entries)).map_err(|error| BaselineError::Write {
            file: path.display().to_string(),
            error,
        })
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.entries.contains_key(fingerprint)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries, sorted by fingerprint.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Entries whose fingerprint was not seen in this run: fixed (gone, or no longer a
    /// violation). Sorted by fingerprint.
    pub fn fixed(&self, seen: &HashSet<String>) -> Vec<&Entry> {
        self.entries
            .values()
            .filter(|e| !seen.contains(&e.fingerprint))
            .collect()
    }
}

/// Marks violations that are in `baseline` as `baselined`, and adds the fingerprint of every
/// finding that is (or was, before this call) a violation to `seen`. Run it after
/// `Policy::apply`; findings without a verdict or fingerprint are left alone.
pub fn apply_baseline(baseline: &Baseline, doc: &mut DocumentReport, seen: &mut HashSet<String>) {
    for f in &mut doc.findings {
        let (Some(fp), Some(verdict)) = (f.fingerprint.as_ref(), f.verdict.as_mut()) else {
            continue;
        };
        match verdict.status {
            VerdictStatus::Violation => {
                seen.insert(fp.clone());
                if baseline.contains(fp) {
                    let from = if baseline.origin.is_empty() {
                        "the baseline".to_string()
                    } else {
                        format!("baseline {}", baseline.origin)
                    };
                    *verdict = Verdict {
                        status: VerdictStatus::Baselined,
                        reason: format!("known in {from} (otherwise: {})", verdict.reason),
                    };
                }
            }
            VerdictStatus::Baselined => {
                seen.insert(fp.clone());
            }
            VerdictStatus::Approved | VerdictStatus::Allowed => {}
        }
    }
}

/// What `--write-baseline` records for one document: every finding that is a violation or
/// already baselined (after `Policy::apply`, and `apply_baseline` if a baseline was given).
pub fn entries(command: Command, doc: &DocumentReport) -> Vec<Entry> {
    doc.findings
        .iter()
        .filter(|f| {
            matches!(
                f.verdict.as_ref().map(|v| v.status),
                Some(VerdictStatus::Violation | VerdictStatus::Baselined)
            )
        })
        .map(|f| Entry::new(command, doc, f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_sorted_and_deduplicated() {
        let e = |fp: &str| Entry {
            fingerprint: fp.into(),
            source: "s".into(),
            kind: "open-pixel".into(),
            entity: None,
            url: "u".into(),
        };
        let text = Baseline::to_json(&[e("b"), e("a"), e("b")]);
        let b = Baseline::from_json(&text).unwrap();
        assert_eq!(b.len(), 2);
        assert!(text.find("\"a\"").unwrap() < text.find("\"b\"").unwrap());
        assert!(Baseline::from_json("{\"schema\":\"x\",\"findings\":[]}").is_err());
        assert!(Baseline::from_json("[]").is_err());
    }

    #[test]
    fn load_errors_name_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        let e = Baseline::load(&p).unwrap_err();
        assert!(matches!(e, BaselineError::Read { .. }), "{e:?}");
        assert!(
            e.to_string().contains("b.json: cannot read baseline: "),
            "{e}"
        );
        std::fs::write(&p, "{\"schema\":\"pixscan-baseline/2\",\"findings\":[]}").unwrap();
        let e = Baseline::load(&p).unwrap_err();
        assert!(matches!(&e, BaselineError::Schema { found, .. } if found == "pixscan-baseline/2"));
        assert!(e.to_string().contains("b.json: unsupported baseline schema `pixscan-baseline/2` (expected `pixscan-baseline/1`)"), "{e}");
        std::fs::write(&p, "not json").unwrap();
        let e = Baseline::load(&p).unwrap_err();
        assert!(
            matches!(e, BaselineError::NotBaseline { file: Some(_), .. }),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("b.json: not a pixscan baseline: "),
            "{e}"
        );
        // In memory there is no file to name.
        let e = Baseline::from_json("not json").unwrap_err();
        assert!(e.to_string().starts_with("not a pixscan baseline: "), "{e}");
        std::fs::write(&p, "{\"schema\":\"pixscan-baseline/1\",\"findings\":[]}").unwrap();
        assert!(Baseline::load(&p).unwrap().is_empty());
        let e = Baseline::write(&dir.path().join("no/such/dir/b.json"), &[]).unwrap_err();
        assert!(matches!(e, BaselineError::Write { .. }), "{e:?}");
        assert!(
            e.to_string().contains("b.json: cannot write baseline: "),
            "{e}"
        );
    }
}
