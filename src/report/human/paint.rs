//! Styles (anstyle; the `AutoStream` strips them when colour is off) and the word that
//! opens a finding's line.

use anstyle::{AnsiColor, Style};

use super::HumanReporter;
use crate::model::{Finding, VerdictStatus};

pub(super) const RED: Style = AnsiColor::Red.on_default().bold();
pub(super) const YELLOW: Style = AnsiColor::Yellow.on_default();
pub(super) const DIM: Style = Style::new().dimmed();
pub(super) const BOLD: Style = Style::new().bold();
pub(super) const GREEN: Style = AnsiColor::Green.on_default();

impl HumanReporter {
    pub(super) fn paint(&self, style: Style, s: &str) -> String {
        format!("{style}{s}{style:#}")
    }

    /// The word that opens a finding's line: its verdict, or without a policy stage,
    /// whether it is tracking.
    pub(super) fn label(&self, f: &Finding) -> String {
        if let Some(v) = &f.verdict {
            match v.status {
                VerdictStatus::Violation => self.paint(RED, "VIOLATES"),
                VerdictStatus::Approved => self.paint(GREEN, "approved"),
                VerdictStatus::Baselined => self.paint(DIM, "baseline"),
                VerdictStatus::Allowed if f.tracking => self.paint(YELLOW, "TRACKING"),
                VerdictStatus::Allowed => self.paint(DIM, "request "),
            }
        } else if f.tracking {
            self.paint(RED, "TRACKING")
        } else {
            self.paint(DIM, "request ")
        }
    }
}
