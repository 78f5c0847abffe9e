//! `--format html`: one self-contained HTML file.
//!
//! A privacy report must not itself leak: the file loads nothing (no scripts, fonts,
//! stylesheets or images from anywhere; inline CSS and an inline SVG chart only), carries a
//! strict Content-Security-Policy (`default-src 'none'; style-src 'unsafe-inline'; img-src
//! data:`) and `referrer: no-referrer`, uses no JavaScript (`<details>` expands and
//! collapses), and shows every scanned URL as text, never as a live link, so neither a click
//! nor a prefetch can reach a tracker. Everything taken from scanned content is escaped
//! (`& < > " '`, attributes included) after control characters are made visible.
//!
//! Sections: summary, findings by entity (with a bar chart), by document, by leak (IP,
//! user-agent, cookies, referrer, identifiers: which documents carry the recipient's
//! identity), skipped inputs. Document sections are rendered as they arrive and buffered,
//! since the summary comes first in the file.
//!
//! The file stays bounded on big runs: the summary, the entity table and chart and the leak
//! counts always cover every document, but the per-document sections stop after
//! [`MAX_DOC_SECTIONS`] documents or [`MAX_SECTION_BYTES`] of HTML, whichever comes first
//! (documents that could not be scanned are kept in preference to ones with tracking). The
//! "By message/page" section then says how many were left out and points to the JSON report,
//! which lists them all.
//!
//! Layout: `page` (the head with its Content-Security-Policy and styles, the navigation, the
//! verdict), `summary` (the summary cards, findings by entity with the bar chart, skipped
//! inputs), `document` (a document's facts, the start and end of the section by document),
//! `rows` (the findings tables: one row and its details per finding), `leaks` (the tally and
//! section by leak). Here: the reporter, the section budget, escaping, and the order in which
//! `finish` writes the file.

mod document;
mod leaks;
mod page;
mod rows;
mod summary;

use std::io::Write;

use super::common::{is_notable, signal_note, standing, Standing};
use super::{sanitize, ReportOptions, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Finding, Summary};

use document::document_facts;
use leaks::LeakTally;
use rows::findings_tables;
use summary::skipped_section;

/// Documents with tracking or errors given a section of their own under "By message/page".
pub const MAX_DOC_SECTIONS: usize = 500;
/// HTML budget for those sections together.
pub const MAX_SECTION_BYTES: usize = 8 * 1024 * 1024;

/// One buffered document section.
struct Section {
    error: bool,
    html: String,
}

pub struct HtmlReporter<W: Write> {
    out: W,
    command: Command,
    /// Shown document sections, in input order (bounded, see [`MAX_DOC_SECTIONS`]).
    sections: Vec<Section>,
    /// Bytes in `sections`.
    section_bytes: usize,
    /// Documents with tracking / errors whose section was left out.
    omitted_tracking: u64,
    omitted_errors: u64,
    clean: Vec<String>,
    clean_total: u64,
    /// IP, user-agent, cookies, referrer, identifiers (any), recipient identity.
    leaks: [LeakTally; 6],
}

impl<W: Write> HtmlReporter<W> {
    pub fn new(out: W, opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(HtmlReporter {
            out,
            command: opts.command,
            sections: Vec::new(),
            section_bytes: 0,
            omitted_tracking: 0,
            omitted_errors: 0,
            clean: Vec::new(),
            clean_total: 0,
            leaks: Default::default(),
        })
    }

    /// Whether a section of `len` bytes still fits.
    fn fits(&self, len: usize) -> bool {
        self.sections.len() < MAX_DOC_SECTIONS && self.section_bytes + len <= MAX_SECTION_BYTES
    }

    /// Keeps a document with tracking if the budget allows; otherwise counts it as left out.
    fn push_tracking(&mut self, html: String) {
        if self.fits(html.len()) {
            self.section_bytes += html.len();
            self.sections.push(Section { error: false, html });
        } else {
            self.omitted_tracking += 1;
        }
    }

    /// Keeps a document that could not be scanned, making room by dropping the latest
    /// tracking sections if need be (errors are few, small and the first thing to fix).
    fn push_error(&mut self, html: String) {
        while !self.fits(html.len()) {
            match self.sections.iter().rposition(|s| !s.error) {
                Some(i) => {
                    let dropped = self.sections.remove(i);
                    self.section_bytes -= dropped.html.len();
                    self.omitted_tracking += 1;
                }
                None => {
                    self.omitted_errors += 1;
                    return;
                }
            }
        }
        self.section_bytes += html.len();
        self.sections.push(Section { error: true, html });
    }
}

/// Escapes scanned text for HTML text and (quoted) attribute values.
pub fn esc(s: &str) -> String {
    let s = sanitize(s);
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn opt(s: Option<&str>) -> String {
    s.map(esc).unwrap_or_else(|| "–".to_string())
}

impl<W: Write> Reporter for HtmlReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let src = esc(&doc.source);
        if let Some(e) = &doc.error {
            self.push_error(format!(
                "<details class=\"doc\"><summary><span class=\"badge bad\">error</span> <code>{src}</code></summary><p class=\"err\">Could not be scanned: {}</p></details>\n",
                esc(e)
            ));
            return Ok(());
        }
        let notable: Vec<&Finding> = doc.findings.iter().filter(|f| is_notable(f)).collect();
        let other: Vec<&Finding> = doc.findings.iter().filter(|f| !is_notable(f)).collect();
        self.tally_leaks(&src, &notable);
        if notable.is_empty() {
            self.push_clean(doc, &src, other.len());
            return Ok(());
        }
        if !self.fits(0) {
            // The budget is spent: count the document, don't render it.
            self.omitted_tracking += 1;
            return Ok(());
        }
        let violations = notable
            .iter()
            .filter(|f| standing(f) == Standing::Violation)
            .count();
        let badge = if violations > 0 {
            format!("<span class=\"badge bad\">{violations} violation(s)</span>")
        } else {
            format!(
                "<span class=\"badge warn\">{} tracking</span>",
                notable.len()
            )
        };
        let title = doc
            .title
            .as_deref()
            .map(|t| format!(" — {}", esc(t)))
            .unwrap_or_default();
        let mut s = format!(
            "<details class=\"doc\"><summary>{badge} <code>{src}</code>{title}</summary>\n"
        );
        let facts = document_facts(doc);
        if !facts.is_empty() {
            s.push_str(&format!("<p>{}</p>\n", facts.join(" · ")));
        }
        s.push_str(&findings_tables(self.command, &notable, &other));
        s.push_str("</details>\n");
        self.push_tracking(s);
        Ok(())
    }

    fn finish(&mut self, sm: &Summary) -> std::io::Result<()> {
        let mut h = self.page_head(sm);
        h.push_str(&self.summary_section(sm));
        h.push_str(&self.entity_section(sm));
        h.push_str(&self.documents_intro());
        self.out.write_all(h.as_bytes())?;
        for sec in &self.sections {
            self.out.write_all(sec.html.as_bytes())?;
        }
        let mut t = self.clean_list();
        t.push_str(&self.leak_section());
        t.push_str(&skipped_section(sm));
        t.push_str(&format!(
            "<footer><p class=\"muted\">Generated by pixscan {}. {}</p></footer>\n</body>\n</html>\n",
            esc(env!("CARGO_PKG_VERSION")),
            esc(signal_note(self.command))
        ));
        self.out.write_all(t.as_bytes())?;
        self.out.flush()
    }
}
