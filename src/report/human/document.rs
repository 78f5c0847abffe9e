//! A document's lines: the source, title and sender; its findings (tracking first, the
//! others listed with `--verbose`, else counted); what the page says about itself.

use std::io::Write;

use super::paint::{BOLD, DIM, GREEN, RED, YELLOW};
use super::HumanReporter;
use crate::model::{DocumentReport, Finding};
use crate::report::sanitize;
use crate::text::shorten;

impl HumanReporter {
    /// The document's line: source, title, sender.
    pub(super) fn document_head(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let title = doc
            .title
            .as_deref()
            .map(|t| format!("  “{}”", shorten(&sanitize(t), 80)))
            .unwrap_or_default();
        let from = doc
            .sender
            .as_deref()
            .map(|s| format!("  from {}", sanitize(s)))
            .unwrap_or_default();
        writeln!(
            self.out,
            "{}{title}{from}",
            self.paint(BOLD, &sanitize(&doc.source))
        )
    }

    /// Tracking findings, then the others (listed with `--verbose`, else counted), then
    /// how many the report filters hid.
    pub(super) fn findings(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let tracking: Vec<&Finding> = doc.findings.iter().filter(|f| f.tracking).collect();
        let other: Vec<&Finding> = doc.findings.iter().filter(|f| !f.tracking).collect();
        if tracking.is_empty() && doc.hidden_findings > 0 {
            writeln!(
                self.out,
                "  {}",
                self.paint(DIM, "no tracking among the findings shown")
            )?;
        } else if tracking.is_empty() {
            writeln!(self.out, "  {}", self.paint(GREEN, "no tracking found"))?;
        }
        for f in tracking {
            self.finding(f)?;
        }
        if self.verbose {
            for f in &other {
                self.finding(f)?;
            }
        } else if !other.is_empty() {
            writeln!(
                self.out,
                "  {} other remote request(s) not judged tracking (--verbose lists them)",
                other.len()
            )?;
        }
        if doc.hidden_findings > 0 {
            writeln!(
                self.out,
                "  {}",
                self.paint(
                    DIM,
                    &format!(
                        "{} more finding(s) hidden by the report filters (--kind/--entity/--category)",
                        doc.hidden_findings
                    )
                )
            )?;
        }
        Ok(())
    }

    /// Notes, then what the page itself says: consent platforms, referrer policy, personal
    /// data in its URL, the redirects that reached it.
    pub(super) fn page_facts(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        for n in &doc.notes {
            writeln!(
                self.out,
                "  {} {}",
                self.paint(YELLOW, "note:"),
                sanitize(n)
            )?;
        }
        if let Some(cp) = &doc.consent_platforms {
            let cp = if cp.is_empty() {
                "none found".to_string()
            } else {
                cp.iter()
                    .map(|c| sanitize(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                self.out,
                "  {} {}",
                self.paint(DIM, "consent platforms:"),
                cp
            )?;
        }
        if let Some(r) = &doc.referrer {
            writeln!(
                self.out,
                "  {} {} (from {}): third parties get {}",
                self.paint(DIM, "referrer policy:"),
                sanitize(&r.policy),
                r.from,
                r.sends
            )?;
        }
        if let Some(p) = doc.personal_data_in_url.as_ref().filter(|p| !p.is_empty()) {
            writeln!(
                self.out,
                "  {} {}",
                self.paint(RED, "personal data in page URL:"),
                sanitize(&p.join(", "))
            )?;
        }
        if !doc.redirects.is_empty() {
            writeln!(
                self.out,
                "  {} {}",
                self.paint(DIM, "reached via redirects:"),
                sanitize(&doc.redirects.join(" → "))
            )?;
        }
        Ok(())
    }
}
