//! The CI gate over a whole run: the policy judges every document as it streams past,
//! the baseline demotes known findings, and the result decides the exit code.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::baseline::BaselineError;
use crate::baseline::{self, Baseline, Entry};
use crate::model::Command;
use crate::model::{DocumentReport, GateResult, Outcome, RunStatus, Summary};
use crate::policy::{Policy, PolicyError, PolicySummary};

pub struct Gate {
    command: Command,
    policy: Policy,
    config: String,
    baseline: Option<Baseline>,
    seen: HashSet<String>,
    totals: PolicySummary,
    /// Entries for `--write-baseline`, when asked.
    to_write: Option<(PathBuf, Vec<Entry>)>,
}

/// The per-document half of the gate, safe on any thread.
pub struct Judge<'a> {
    command: Command,
    policy: &'a Policy,
    baseline: Option<&'a Baseline>,
}

impl Judge<'_> {
    /// The policy's verdicts and the baseline's demotions, in place.
    pub fn judge(&self, doc: &mut DocumentReport) -> Judged {
        self.policy.apply(self.command, doc);
        let mut seen = HashSet::new();
        if let Some(b) = self.baseline {
            baseline::apply_baseline(b, doc, &mut seen);
        }
        Judged {
            seen: seen.into_iter().collect(),
        }
    }
}

/// The run-wide half of the gate: counts judged documents in input order.
pub struct Tally<'a> {
    command: Command,
    policy: &'a Policy,
    seen: &'a mut HashSet<String>,
    totals: &'a mut PolicySummary,
    to_write: &'a mut Option<(PathBuf, Vec<Entry>)>,
}

impl Tally<'_> {
    pub fn record(&mut self, doc: &DocumentReport, judged: Judged) {
        self.seen.extend(judged.seen);
        self.totals.add(self.policy, doc);
        if let Some((_, entries)) = self.to_write {
            entries.extend(baseline::entries(self.command, doc));
        }
    }
}

/// Why the gate cannot run: its policy or baseline cannot be read, or the baseline asked
/// for cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
}

/// What [`Judge::judge`] found in one document, for [`Gate::record`]: the fingerprints of
/// the findings that are (or were, before the baseline) violations.
#[derive(Debug, Default)]
pub struct Judged {
    seen: Vec<String>,
}

impl Gate {
    /// Loads `--config FILE`, else `pixscan.toml` in the working directory, else the default
    /// policy; and the baseline, if given.
    pub fn new(
        command: Command,
        config: Option<&Path>,
        baseline: Option<&Path>,
        write_baseline: Option<&Path>,
    ) -> Result<Gate, GateError> {
        Gate::with_discovery(command, config, &[], true, baseline, write_baseline)
    }

    /// As [`Gate::new`], choosing the policy: `--config FILE`, else (when `discover`) the
    /// nearest `pixscan.toml` at or above a scanned local path, else one in the working
    /// directory, else the built-in default.
    pub fn with_discovery(
        command: Command,
        config: Option<&Path>,
        scanned: &[PathBuf],
        discover: bool,
        baseline: Option<&Path>,
        write_baseline: Option<&Path>,
    ) -> Result<Gate, GateError> {
        let found = match config {
            Some(p) => Some(p.to_path_buf()),
            None if discover => scanned
                .iter()
                .filter(|p| p.exists())
                .find_map(|p| Policy::find_upward(p))
                .or_else(|| std::env::current_dir().ok().and_then(|d| Policy::find(&d))),
            None => None,
        };
        let (policy, config) = match &found {
            Some(p) => (Policy::load(p)?, p.display().to_string()),
            None => (
                Policy::default(),
                "built-in default (fail on unapproved tracking)".to_string(),
            ),
        };
        let baseline = baseline.map(Baseline::load).transpose()?;
        Ok(Gate {
            command,
            policy,
            config,
            baseline,
            seen: HashSet::new(),
            totals: PolicySummary::default(),
            to_write: write_baseline.map(|p| (p.to_path_buf(), Vec::new())),
        })
    }

    /// Entity names in the policy that the ruleset does not know, with a suggestion each.
    pub fn unknown_entities(&self, known: &[&str]) -> Vec<String> {
        self.policy.unknown_entities(known)
    }

    /// Judges one document in place (verdicts, and fingerprints where they serve a
    /// baseline or a report) and counts it: [`Judge::judge`] then [`Tally::record`].
    pub fn process(&mut self, doc: &mut DocumentReport) {
        let (judge, mut tally) = self.split();
        let judged = judge.judge(doc);
        tally.record(doc, judged);
    }

    /// The gate's two halves, to use at once: the judge (shared by worker threads, any
    /// document order) and the tally (the ordered writer's, in input order).
    pub fn split(&mut self) -> (Judge<'_>, Tally<'_>) {
        (
            Judge {
                command: self.command,
                policy: &self.policy,
                baseline: self.baseline.as_ref(),
            },
            Tally {
                command: self.command,
                policy: &self.policy,
                seen: &mut self.seen,
                totals: &mut self.totals,
                to_write: &mut self.to_write,
            },
        )
    }

    /// Writes the baseline if asked, and returns the run's result.
    pub fn finish(self) -> Result<GateResult, GateError> {
        if let Some((path, entries)) = &self.to_write {
            Baseline::write(path, entries)?;
        }
        let fixed = match &self.baseline {
            Some(b) => b
                .fixed(&self.seen)
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {} ({})",
                        e.kind,
                        e.entity.as_deref().unwrap_or("-"),
                        e.url,
                        e.source
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(GateResult {
            config: self.config,
            violations: self.totals.violations,
            approved: self.totals.approved,
            baselined: self.totals.baselined,
            allowed: self.totals.allowed,
            failing_documents: self.totals.failing_documents,
            passed: self.totals.passed(),
            fixed,
            unused_approvals: self.policy.unused_approvals(),
        })
    }
}

/// The run's verdict from its summary: errors first (an input that could not be read or
/// parsed, nothing found to scan, no page scanned), then the policy.
pub fn outcome(command: Command, summary: &Summary) -> Outcome {
    let noun = if command == Command::Site {
        "page"
    } else {
        "input"
    };
    // A `--shard` whose share is empty is not a failed run: the other shards scan what it saw.
    let empty_share =
        summary.inputs == 0 && summary.shard.as_ref().is_some_and(|s| s.left_to_others > 0);
    let error = if empty_share {
        None
    } else if summary.inputs == 0 {
        let excluded = if summary.excluded > 0 {
            format!(
                " ({} left out by {})",
                summary.excluded,
                crate::select::FLAGS
            )
        } else {
            String::new()
        };
        Some(if command == Command::Site {
            format!("no page was found to scan{excluded}")
        } else {
            format!("no messages found in the given paths{excluded}")
        })
    } else if command == Command::Site && summary.scanned == 0 {
        Some(format!(
            "no page could be scanned ({} {noun}(s) failed)",
            summary.failed
        ))
    } else if command != Command::Site && summary.failed > 0 {
        Some(format!(
            "{} of {} {noun}(s) could not be scanned",
            summary.failed, summary.inputs
        ))
    } else {
        None
    };
    if let Some(reason) = error {
        return Outcome {
            status: RunStatus::Error,
            reason,
        };
    }
    match &summary.policy {
        Some(p) if !p.passed => Outcome {
            status: RunStatus::Failed,
            reason: format!(
                "{} violation(s) in {} document(s)",
                p.violations, p.failing_documents
            ),
        },
        Some(p) => Outcome {
            status: RunStatus::Passed,
            reason: format!(
                "0 violations; {} approved, {} baselined",
                p.approved, p.baselined
            ),
        },
        None => Outcome {
            status: RunStatus::Passed,
            reason: "no policy was run".to_string(),
        },
    }
}
