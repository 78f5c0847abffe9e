//! The closing lines: skipped inputs, findings by entity, the policy verdict (never a pass
//! for an errored run), the totals, the report filters and the open-signal note.

use std::io::Write;

use super::paint::{GREEN, RED};
use super::HumanReporter;
use crate::model::{RunStatus, Summary};
use crate::report::common::signal_note;
use crate::report::sanitize;

impl HumanReporter {
    /// The run's summary, after the last document.
    pub(super) fn summary(&mut self, s: &Summary) -> std::io::Result<()> {
        for sk in &s.skipped {
            writeln!(
                self.out,
                "skipped {}: {}",
                sanitize(&sk.url),
                sanitize(&sk.reason)
            )?;
        }
        if !s.by_entity.is_empty() {
            writeln!(self.out, "By entity:")?;
            for e in s.by_entity.iter().take(30) {
                writeln!(
                    self.out,
                    "  {:<32} {:<18} {} tracking finding(s) in {} document(s)",
                    sanitize(&e.entity),
                    sanitize(e.category.as_deref().unwrap_or("-")),
                    e.tracking_findings,
                    e.documents
                )?;
            }
        }
        if let Some(p) = &s.policy {
            // An errored run never prints a pass: the policy only judged what was read.
            let errored = matches!(crate::report::verdict(s), Some((RunStatus::Error, _, _)));
            let verdict = if errored {
                self.paint(RED, "ERROR")
            } else if p.passed {
                self.paint(GREEN, "PASSED")
            } else {
                self.paint(RED, "FAILED")
            };
            writeln!(
                self.out,
                "Policy {verdict} ({}): {} violation(s) in {} document(s), {} approved, {} baselined, {} allowed.",
                sanitize(&p.config),
                p.violations,
                p.failing_documents,
                p.approved,
                p.baselined,
                p.allowed
            )?;
            if let Some((RunStatus::Error, _, reason)) = crate::report::verdict(s) {
                writeln!(
                    self.out,
                    "  the run failed ({}): what could not be read was not judged.",
                    sanitize(reason)
                )?;
            }
            for f in &p.fixed {
                writeln!(self.out, "  fixed since the baseline: {}", sanitize(f))?;
            }
        }
        let excluded = if s.excluded > 0 {
            format!("; {} excluded by {}", s.excluded, crate::select::FLAGS)
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "{} input(s): {} scanned ({} with tracking, {} clean), {} failed; {} tracking finding(s){excluded}.",
            s.inputs, s.scanned, s.with_tracking, s.clean, s.failed, s.tracking_findings
        )?;
        if let Some(ft) = &s.filtered {
            writeln!(
                self.out,
                "{}",
                sanitize(&crate::report::filter::summary_line(ft))
            )?;
        }
        writeln!(self.out, "{}", signal_note(self.command))?;
        self.out.flush()
    }
}
