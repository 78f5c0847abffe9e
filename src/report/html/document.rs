//! The section by document: what a document says about itself, the start of the section
//! (with how many documents were left out) and its closing list of clean documents.

use std::io::Write;

use super::leaks::listed_more;
use super::{esc, HtmlReporter, MAX_DOC_SECTIONS, MAX_SECTION_BYTES};
use crate::model::{Command, DocumentReport};
use crate::report::common::nouns;

/// Clean documents listed by name.
const MAX_CLEAN_LISTED: usize = 2000;

/// What the document itself says, on one line: sender, recipients, sending platforms,
/// consent platforms, referrer policy, personal data in the page URL, redirects.
pub(super) fn document_facts(doc: &DocumentReport) -> Vec<String> {
    let mut facts = Vec::new();
    if let Some(from) = &doc.sender {
        facts.push(format!("from {}", esc(from)));
    }
    if !doc.recipients.is_empty() {
        facts.push(format!("to {}", esc(&doc.recipients.join(", "))));
    }
    if !doc.platforms.is_empty() {
        let p: Vec<String> = doc
            .platforms
            .iter()
            .map(|p| format!("{} ({})", esc(&p.entity), esc(&p.evidence)))
            .collect();
        facts.push(format!("sent via {}", p.join("; ")));
    }
    if let Some(cp) = &doc.consent_platforms {
        facts.push(format!(
            "consent platforms: {}",
            if cp.is_empty() {
                "none found".to_string()
            } else {
                esc(&cp.join(", "))
            }
        ));
    }
    if let Some(r) = &doc.referrer {
        facts.push(format!(
            "referrer policy {} (from {}): third parties get {}",
            esc(&r.policy),
            r.from,
            r.sends
        ));
    }
    if let Some(p) = doc.personal_data_in_url.as_ref().filter(|p| !p.is_empty()) {
        facts.push(format!(
            "<span class=\"err\">personal data in page URL: {}</span>",
            esc(&p.join(", "))
        ));
    }
    if !doc.redirects.is_empty() {
        facts.push(format!(
            "reached via redirects: <span class=\"url\">{}</span>",
            esc(&doc.redirects.join(" → "))
        ));
    }
    facts
}

impl<W: Write> HtmlReporter<W> {
    /// A document without tracking: counted, and listed by name while there is room.
    pub(super) fn push_clean(&mut self, doc: &DocumentReport, src: &str, other: usize) {
        self.clean_total += 1;
        if self.clean.len() < MAX_CLEAN_LISTED {
            let t = doc
                .title
                .as_deref()
                .map(|t| format!(" — {}", esc(t)))
                .unwrap_or_default();
            self.clean.push(format!(
                "<li><code>{src}</code>{t} <span class=\"muted\">({other} other request(s))</span></li>"
            ));
        }
    }

    /// The start of the section by document, with how many documents were left out.
    pub(super) fn documents_intro(&self) -> String {
        let (one, many) = nouns(self.command);
        let cap = if self.command == Command::Site {
            "Pages"
        } else {
            "Messages"
        };
        let mut h = format!(
            "<section id=\"documents\"><h2>By {one}</h2>\n<p class=\"muted\">{cap} with tracking or errors; expand one for its findings. URLs are shown as text and never linked.</p>\n"
        );
        let omitted = self.omitted_tracking + self.omitted_errors;
        if omitted > 0 {
            let (noun, verb) = if omitted == 1 {
                (one, "is")
            } else {
                (many, "are")
            };
            let errors = if self.omitted_errors > 0 {
                format!(" ({} of them could not be scanned)", self.omitted_errors)
            } else {
                String::new()
            };
            h.push_str(&format!(
                "<p class=\"note\" id=\"omitted\">{omitted} more {noun} with tracking or errors {verb} not shown here{errors}; the JSON report (--format json / --output json=FILE) lists them all. To keep this file small, details are given for {} {many} (at most {MAX_DOC_SECTIONS} or {}, those that could not be scanned first); the summary, entity and leak tables cover every {one}.</p>\n",
                self.sections.len(),
                crate::units::size(MAX_SECTION_BYTES as u64)
            ));
        }
        h
    }

    /// The documents without tracking, collapsed, closing the section by document.
    pub(super) fn clean_list(&self) -> String {
        let (_, many) = nouns(self.command);
        let mut t = String::new();
        if self.clean_total > 0 {
            t.push_str(&format!(
                "<details class=\"doc\"><summary><span class=\"badge ok\">clean</span> {} {many} without tracking</summary><ul class=\"plain\">\n",
                self.clean_total
            ));
            listed_more(&mut t, &self.clean, self.clean_total as usize);
            t.push_str("</ul></details>\n");
        }
        t.push_str("</section>\n");
        t
    }
}
