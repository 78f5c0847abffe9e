//! `--format github` (the default when `GITHUB_ACTIONS=true`): GitHub Actions workflow
//! commands that become annotations.
//!
//! - a violation (with no policy stage: every tracking finding) → `::error`, with
//!   `file=,line=,col=` when the document is a local file and the finding has a line in it
//!   (site mode), otherwise `::error title=…::<source>: message`;
//! - a tracking finding the policy neither fails nor approves → `::warning`;
//! - approved and baselined findings → nothing (counted in the closing line);
//! - a document that could not be scanned → `::error`.
//!
//! GitHub shows only 10 annotations per level in the UI, so every annotation is still
//! printed and a plain summary line closes the output. When `GITHUB_STEP_SUMMARY` names a
//! file, the Markdown report is appended to it.
//!
//! Escaping follows the runner's rules: data `%`→`%25`, `\r`→`%0D`, `\n`→`%0A`; properties
//! also `:`→`%3A`, `,`→`%2C`. Control characters from scanned content are made visible
//! first (`sanitize`), so a hostile URL can neither start a new `::command` on a new line
//! nor colour the log.

use std::io::Write;

use super::common::{file_position, html_part_line, leak_labels, standing, Standing};
use super::markdown::MarkdownReporter;
use super::{sanitize, ReportOptions, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Finding, Summary};
use crate::text::shorten;

pub struct GithubReporter<W: Write> {
    out: W,
    command: Command,
    step_summary: Option<MarkdownReporter<std::io::BufWriter<std::fs::File>>>,
    errors: u64,
    warnings: u64,
    scan_errors: u64,
    approved: u64,
    baselined: u64,
}

impl<W: Write> GithubReporter<W> {
    pub fn new(out: W, opts: &ReportOptions) -> std::io::Result<Self> {
        let step_summary = match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            Some(path) => match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(f) => Some(MarkdownReporter::new(std::io::BufWriter::new(f), opts)?),
                Err(e) => {
                    eprintln!(
                        "pixscan: cannot append to GITHUB_STEP_SUMMARY ({}): {e}",
                        sanitize(&path.to_string_lossy())
                    );
                    None
                }
            },
            None => None,
        };
        Ok(GithubReporter {
            out,
            command: opts.command,
            step_summary,
            errors: 0,
            warnings: 0,
            scan_errors: 0,
            approved: 0,
            baselined: 0,
        })
    }

    fn annotate(&mut self, level: &str, doc: &DocumentReport, f: &Finding) -> std::io::Result<()> {
        let title = format!(
            "pixscan: {} ({})",
            f.kind.as_str(),
            f.entity.as_deref().unwrap_or("unknown entity")
        );
        let mut msg = f.message.trim().to_string();
        let leaks = leak_labels(f);
        if !leaks.is_empty() {
            msg.push_str(&format!(" Leaks: {}.", leaks.join(", ")));
        }
        if let Some(a) = &f.account {
            msg.push_str(&format!(" Account: {a}."));
        }
        if let Some(c) = f.consent {
            msg.push_str(&format!(" Consent: {c}."));
        }
        if !f.url.is_empty() {
            msg.push_str(&format!(" URL: {}", shorten(&f.url, 300)));
        }
        match file_position(self.command, &doc.source, f) {
            Some((path, line, col)) => {
                let col = col.map(|c| format!(",col={c}")).unwrap_or_default();
                writeln!(
                    self.out,
                    "::{level} file={},line={line}{col},title={}::{}",
                    property(&path),
                    property(&title),
                    data(&msg)
                )
            }
            None => {
                let at = html_part_line(self.command, f)
                    .map(|l| format!(" (HTML part line {l})"))
                    .unwrap_or_default();
                writeln!(
                    self.out,
                    "::{level} title={}::{}",
                    property(&title),
                    data(&format!("{}{at}: {msg}", doc.source))
                )
            }
        }
    }
}

/// Escapes a workflow-command message.
pub fn data(s: &str) -> String {
    sanitize(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

impl<W: Write> Reporter for GithubReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if let Some(md) = &mut self.step_summary {
            md.document(doc)?;
        }
        if let Some(e) = &doc.error {
            self.scan_errors += 1;
            return writeln!(
                self.out,
                "::error title={}::{}",
                property("pixscan: could not be scanned"),
                data(&format!("{}: {e}", doc.source))
            );
        }
        for f in &doc.findings {
            match standing(f) {
                Standing::Violation => {
                    self.errors += 1;
                    self.annotate("error", doc, f)?;
                }
                Standing::Allowed => {
                    self.warnings += 1;
                    self.annotate("warning", doc, f)?;
                }
                Standing::Approved => self.approved += 1,
                Standing::Baselined => self.baselined += 1,
                Standing::Info => {}
            }
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> std::io::Result<()> {
        if let Some(md) = &mut self.step_summary {
            md.finish(s)?;
        }
        let many = if self.command == Command::Site {
            "page(s)"
        } else {
            "message(s)"
        };
        writeln!(
            self.out,
            "pixscan: {} input(s), {} scanned, {} {many} with tracking, {} could not be scanned; {} violation(s) as error annotations, {} warning(s); {} approved and {} baselined finding(s) not annotated. GitHub shows only the first 10 annotations of each level; all are listed above.",
            s.inputs,
            s.scanned,
            s.with_tracking,
            self.scan_errors,
            self.errors,
            self.warnings,
            self.approved,
            self.baselined
        )?;
        writeln!(
            self.out,
            "pixscan: a pixel load is an open signal (an image request), never proof that a person read something."
        )?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(data("a%0A\nb"), "a%250A\\u{a}b");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
