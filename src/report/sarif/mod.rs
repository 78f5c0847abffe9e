//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).
//!
//! Decisions (they are a contract for code-scanning alerts, so keep them stable):
//!
//! - **Rule ids** are `<kind>/<entity-slug>`, e.g. `open-pixel/sendgrid`,
//!   `tracker-script/google-tag-manager`, `remote-image/unknown`: one rule per finding kind ×
//!   entity, kebab-case. The endpoint rule that matched (`sendgrid-open`) is kept in the
//!   result's `properties.endpointRule`; it is not the SARIF rule id because many findings
//!   have no endpoint rule (entity-domain and CNAME matches), and a kind × entity id gives
//!   one alert family per tracker, which is how people triage them.
//! - **Which findings become results**: tracking findings and policy violations only.
//!   Informational remote requests (a product photo on the sender's CDN) would flood code
//!   scanning, so they are left out unless `--verbose` is given (then they come as `note`).
//!   Levels: `error` for violations (with no policy stage, every tracking finding is one),
//!   `warning` for tracking findings the policy neither fails nor approves and for baselined
//!   ones (`baselineState: unchanged`), `note` for approved ones, which also carry an
//!   `accepted` external suppression with the approval's reason.
//! - **Locations**: site pages use the file (relative path, forward slashes) or page URL
//!   with the finding's line and column. Mail findings carry the line inside the decoded
//!   HTML part, not in the `.eml` file, so their region is line 1 of the message file (the
//!   mbox file for `box.mbox#3`) and the HTML-part line is said in the message text.
//! - **Fingerprints**: `partialFingerprints["pixscan/v1"]` is the finding's fingerprint, the
//!   one baselines use ([`crate::fingerprint`]: document, kind, entity, host and the URL's
//!   shape, never its tokens or the line), so an alert survives re-runs and line moves.
//! - At most [`MAX_RESULTS`] results; beyond that a run-level tool notification says how
//!   many were left out. Documents that could not be scanned become `error` notifications.
//!
//! How a finding stands, what it leaks and where it is come from [`super::common`], shared
//! with the other formats.
//!
//! Layout: `rules` (rule ids, the help text for each kind, severities, rule descriptors),
//! `results` (one result: level, message, properties, suppressions and baseline state),
//! `location` (a result's file or page URL, line and column; URI encoding). Here: the
//! reporter, its limits and tool notifications, and the log `finish` writes.

mod location;
mod results;
mod rules;

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{json, Value};

use super::common::{is_notable, local_path, OPEN_SIGNAL_NOTE};
use super::{sanitize, ReportOptions, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Kind, Summary};

use location::artifact_uri;
pub use location::encode_path;
use rules::rule_descriptor;
pub use rules::{kind_help, rule_id, security_severity, slug};

/// Results kept in one SARIF file (GitHub code scanning rejects runs over 25,000 and shows
/// far fewer; past a few thousand nobody triages alerts one by one).
pub const MAX_RESULTS: usize = 5000;
/// Tool notifications kept (failed documents, skipped inputs).
const MAX_NOTIFICATIONS: usize = 1000;

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where pixscan is documented (the crate's `repository` when Cargo.toml names one).
pub fn information_uri() -> &'static str {
    let repo = env!("CARGO_PKG_REPOSITORY");
    if repo.is_empty() {
        "https://github.com/pixscan/pixscan"
    } else {
        repo
    }
}

struct RuleInfo {
    kind: Kind,
    entity: Option<String>,
    company: Option<String>,
    category: Option<String>,
    severity: f64,
}

struct PendingResult {
    rule: String,
    value: Value,
}

pub struct SarifReporter<W: Write> {
    out: W,
    command: Command,
    verbose: bool,
    rules: BTreeMap<String, RuleInfo>,
    results: Vec<PendingResult>,
    total_results: usize,
    notifications: Vec<Value>,
    dropped_notifications: usize,
}

impl<W: Write> SarifReporter<W> {
    pub fn new(out: W, opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(SarifReporter {
            out,
            command: opts.command,
            verbose: opts.verbose,
            rules: BTreeMap::new(),
            results: Vec::new(),
            total_results: 0,
            notifications: Vec::new(),
            dropped_notifications: 0,
        })
    }

    fn notify(&mut self, level: &str, text: String, uri: Option<String>) {
        if self.notifications.len() >= MAX_NOTIFICATIONS {
            self.dropped_notifications += 1;
            return;
        }
        let mut n = json!({ "level": level, "message": { "text": text } });
        if let Some(uri) = uri {
            n["locations"] =
                json!([{ "physicalLocation": { "artifactLocation": { "uri": uri } } }]);
        }
        self.notifications.push(n);
    }

    /// The run's tool notifications: a warning first when results were left out, a closing
    /// note when notifications were.
    fn run_notifications(&mut self, included: usize) -> Vec<Value> {
        let mut notes = std::mem::take(&mut self.notifications);
        if self.total_results > included {
            notes.insert(
                0,
                json!({
                    "level": "warning",
                    "descriptor": { "id": "results-truncated" },
                    "message": { "text": format!(
                        "Results truncated: {} of {} results are included (limit {MAX_RESULTS}); see the JSON or HTML report for all findings.",
                        included,
                        self.total_results
                    ) },
                }),
            );
        }
        if self.dropped_notifications > 0 {
            notes.push(json!({
                "level": "note",
                "message": { "text": format!("{} more notification(s) left out.", self.dropped_notifications) },
            }));
        }
        notes
    }
}

impl<W: Write> Reporter for SarifReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if let Some(e) = &doc.error {
            let uri = local_path(&doc.source).map(|p| artifact_uri(&p));
            self.notify(
                "error",
                format!(
                    "{}: could not be scanned: {}",
                    sanitize(&doc.source),
                    sanitize(e)
                ),
                uri,
            );
            return Ok(());
        }
        for f in &doc.findings {
            if !(is_notable(f) || self.verbose) {
                continue;
            }
            let id = rule_id(f);
            let sev = security_severity(f);
            let info = self.rules.entry(id.clone()).or_insert_with(|| RuleInfo {
                kind: f.kind,
                entity: f.entity.clone(),
                company: f.company.clone(),
                category: f.category.clone(),
                severity: sev,
            });
            info.severity = info.severity.max(sev);
            self.total_results += 1;
            if self.results.len() < MAX_RESULTS {
                let value = self.result(doc, f);
                self.results.push(PendingResult { rule: id, value });
            }
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        let skipped: Vec<String> = summary
            .skipped
            .iter()
            .map(|s| format!("skipped {}: {}", sanitize(&s.url), sanitize(&s.reason)))
            .collect();
        for s in skipped {
            self.notify("note", s, None);
        }
        let mut index = BTreeMap::new();
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, (id, r)) in self.rules.iter().enumerate() {
            index.insert(id.clone(), i);
            rules.push(rule_descriptor(id, r));
        }
        let results: Vec<Value> = std::mem::take(&mut self.results)
            .into_iter()
            .map(|mut p| {
                p.value["ruleIndex"] = json!(index[&p.rule]);
                p.value
            })
            .collect();
        let notes = self.run_notifications(results.len());
        let mut invocation = json!({ "executionSuccessful": true });
        if !notes.is_empty() {
            invocation["toolExecutionNotifications"] = Value::Array(notes);
        }
        let log = json!({
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [ {
                "tool": { "driver": {
                    "name": "pixscan",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": information_uri(),
                    "rules": rules,
                } },
                "automationDetails": { "id": format!("pixscan/{}/", self.command) },
                "invocations": [ invocation ],
                "results": results,
                "properties": {
                    "command": self.command,
                    "note": OPEN_SIGNAL_NOTE,
                    "summary": {
                        "inputs": summary.inputs,
                        "scanned": summary.scanned,
                        "failed": summary.failed,
                        "withTracking": summary.with_tracking,
                        "findings": summary.findings,
                        "trackingFindings": summary.tracking_findings,
                        "resultsTotal": self.total_results,
                    },
                },
            } ],
        });
        serde_json::to_writer_pretty(&mut self.out, &log)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
