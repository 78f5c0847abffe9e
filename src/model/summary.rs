//! The run's summary: counts, skips, shards, policy result and outcome.

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Summary {
    pub inputs: u64,
    pub scanned: u64,
    pub failed: u64,
    pub clean: u64,
    pub with_tracking: u64,
    pub findings: u64,
    pub tracking_findings: u64,
    /// Everything not scanned (robots, scope, size, type, not mail…), with the reason.
    pub skipped: Vec<Skipped>,
    /// Files (found in folders) and page URLs (found by a crawl) left out by `--include` /
    /// `--exclude`: never read or fetched, counted here so nothing is lost unseen.
    pub excluded: u64,
    /// `eml`: the Maildir and Maildir++ folders found under the inputs, so a reader can see
    /// which mailboxes were scanned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailboxes: Vec<String>,
    /// Findings grouped by entity, most findings first.
    pub by_entity: Vec<EntityTotal>,
    /// The policy gate's result (`pixscan.toml`, baseline), when the CLI ran one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<GateResult>,
    /// The run's overall verdict, which decides the exit code: an error (unread input, no
    /// page scanned) wins over the policy, so a failed run never reads as a pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// `--kind`/`--entity`/`--category`: what the reports show and what they hid. The
    /// counts above and the policy cover every finding, hidden or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<FilterTotals>,
    /// `--shard K/N`: which share of the inputs this run scanned, and what it left to the
    /// other shards. Absent in a whole run (and in `pixscan merge`'s output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardSummary>,
}

/// A shard's account of the inputs it saw (`summary.shard`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSummary {
    /// K, from 0.
    pub index: u64,
    /// N.
    pub count: u64,
    /// What every shard of the run scans: the command and the arguments that choose and
    /// scan the inputs (`eml --exclude Spam /srv/mail`), without `--shard` and the options
    /// of the report and the policy. `pixscan merge` refuses shards whose `run` differs.
    #[serde(default)]
    pub run: String,
    /// Inputs this shard saw and left to the other shards: files, mbox messages,
    /// build-folder pages and excluded files (each counted by one shard only), and crawls
    /// (one per start URL). For `eml` and build folders, `inputs + skipped + excluded +
    /// left_to_others` is the same in every shard.
    pub left_to_others: u64,
    /// `eml`: the `order` of each `skipped` entry, so `pixscan merge` lists them as a
    /// single run would.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_order: Vec<[u64; 2]>,
}

/// What the filters hid over a run (`summary.filtered`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterTotals {
    pub kinds: Vec<String>,
    pub entities: Vec<String>,
    pub categories: Vec<String>,
    /// Findings shown in the reports.
    pub shown: u64,
    /// Findings hidden by the filters (still judged by the policy).
    pub hidden: u64,
    /// Hidden findings that are policy violations: the verdict counts them.
    pub hidden_violations: u64,
    /// Documents left out of the reports: no finding of theirs passes the filters.
    pub hidden_documents: u64,
}

impl FilterTotals {
    /// Adds the counts of `other` (kept per document by a worker thread).
    pub fn add_counts(&mut self, other: &FilterTotals) {
        self.shown += other.shown;
        self.hidden += other.hidden;
        self.hidden_violations += other.hidden_violations;
        self.hidden_documents += other.hidden_documents;
    }
}

/// The verdict over a whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcome {
    pub status: RunStatus,
    /// Why, in one line: the error, or the violation count.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Passed,
    Failed,
    Error,
}

impl RunStatus {
    /// The process exit code, as grep and ripgrep: 0 pass, 1 findings, 2 error.
    pub fn exit_code(self) -> u8 {
        match self {
            RunStatus::Passed => 0,
            RunStatus::Failed => 1,
            RunStatus::Error => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::Error => "error",
        }
    }
}

/// What the policy stage decided over the whole run.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct GateResult {
    /// The policy file used, or `built-in default`.
    pub config: String,
    pub violations: u64,
    pub approved: u64,
    pub baselined: u64,
    pub allowed: u64,
    /// Documents with at least one violation.
    pub failing_documents: u64,
    pub passed: bool,
    /// Baseline entries no longer found (fixed since the baseline was written).
    pub fixed: Vec<String>,
    /// Approvals that matched nothing (stale entries worth removing).
    pub unused_approvals: Vec<String>,
}

impl Summary {
    pub fn add(&mut self, doc: &DocumentReport) {
        self.inputs += 1;
        if doc.error.is_some() {
            self.failed += 1;
            return;
        }
        self.scanned += 1;
        self.findings += doc.findings.len() as u64;
        let tracking = doc.findings.iter().filter(|f| f.tracking).count() as u64;
        self.tracking_findings += tracking;
        if tracking > 0 {
            self.with_tracking += 1;
        } else {
            self.clean += 1;
        }
        let mut seen: Vec<&str> = Vec::new();
        for f in &doc.findings {
            let Some(name) = f.entity.as_deref() else {
                continue;
            };
            let idx = match self.by_entity.iter().position(|e| e.entity == name) {
                Some(i) => i,
                None => {
                    self.by_entity.push(EntityTotal {
                        entity: name.to_string(),
                        category: f.category.clone(),
                        ..Default::default()
                    });
                    self.by_entity.len() - 1
                }
            };
            let e = &mut self.by_entity[idx];
            e.findings += 1;
            e.tracking_findings += u64::from(f.tracking);
            if !seen.contains(&name) {
                seen.push(name);
                e.documents += 1;
            }
        }
    }

    /// Orders `by_entity` for reports: most tracking findings first, then by name.
    pub fn finish(&mut self) {
        self.by_entity.sort_by(|a, b| {
            b.tracking_findings
                .cmp(&a.tracking_findings)
                .then(b.findings.cmp(&a.findings))
                .then(a.entity.cmp(&b.entity))
        });
    }
}
