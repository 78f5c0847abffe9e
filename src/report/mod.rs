//! Stage 5: reports. Each format is its own module and only reads findings; nothing here
//! feeds back into analysis.

pub mod common;
pub mod filter;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
mod json_write;
pub mod junit;
pub mod markdown;
pub mod ndjson;
pub mod sarif;

use std::io::Write;

use crate::model::Command;
use crate::model::{DocumentReport, Summary};

/// The run's verdict as a report's first words: ("PASSED" | "FAILED" | "ERROR", the reason).
/// `None` when the caller ran no verdict (library use without the CLI's gate).
pub fn verdict(summary: &Summary) -> Option<(crate::model::RunStatus, &'static str, &str)> {
    use crate::model::RunStatus;
    summary.outcome.as_ref().map(|o| {
        let word = match o.status {
            RunStatus::Passed => "PASSED",
            RunStatus::Failed => "FAILED",
            RunStatus::Error => "ERROR",
        };
        (o.status, word, o.reason.as_str())
    })
}

/// Renders one document to a format's bytes, on any thread (see [`Reporter::renderer`]).
pub type Render = dyn Fn(&DocumentReport, &mut Vec<u8>) -> std::io::Result<()> + Send + Sync;

/// A streaming report writer: documents arrive one by one in input order, then the summary.
pub trait Reporter {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> std::io::Result<()>;

    /// For formats whose bytes for a document depend on that document alone: a renderer
    /// that worker threads can run ahead of the writer, whose output goes to
    /// [`Reporter::rendered`] in input order. `None`: the writer calls `document`.
    fn renderer(&self) -> Option<std::sync::Arc<Render>> {
        None
    }

    /// Writes a document that this reporter's [`Reporter::renderer`] rendered to `bytes`.
    fn rendered(&mut self, doc: &DocumentReport, bytes: &[u8]) -> std::io::Result<()> {
        let _ = bytes;
        self.document(doc)
    }
}

/// Output formats (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Github,
    Html,
    /// One JSON document per line, then a summary line (`pixscan merge` reads it).
    Ndjson,
}

impl Format {
    pub const ALL: &'static [(&'static str, Format)] = &[
        ("human", Format::Human),
        ("json", Format::Json),
        ("sarif", Format::Sarif),
        ("junit", Format::Junit),
        ("markdown", Format::Markdown),
        ("github", Format::Github),
        ("html", Format::Html),
        ("ndjson", Format::Ndjson),
    ];
}

pub use crate::text::did_you_mean;

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s.trim()))
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names = Format::ALL.iter().map(|(n, _)| *n);
                let hint = did_you_mean(s.trim(), names.clone())
                    .map(|n| format!("; did you mean {n}?"))
                    .unwrap_or_default();
                format!(
                    "unknown format {s:?} (one of: {}){hint}",
                    names.collect::<Vec<_>>().join(", ")
                )
            })
    }
}

/// What every format may need besides the findings.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// `eml` or `site`.
    pub command: Command,
    /// ANSI colour (human output on a terminal only).
    pub color: bool,
    /// List untracked requests too (human output).
    pub verbose: bool,
    /// Human output: only the verdict and the summary.
    pub quiet: bool,
    /// Report filters (`--kind`, `--entity`, `--category`) are on: human output lists every
    /// finding shown, tracking or not.
    pub filtered: bool,
}

/// Builds the reporter for a format, writing to `out`.
pub fn reporter(
    format: Format,
    out: Box<dyn Write>,
    opts: &ReportOptions,
) -> std::io::Result<Box<dyn Reporter>> {
    Ok(match format {
        Format::Human => Box::new(
            human::HumanReporter::new(out, opts.color, opts.verbose || opts.filtered)
                .quiet(opts.quiet)
                .command(opts.command),
        ),
        Format::Json => Box::new(json::JsonReporter::new(out, opts.command)?.verbose(opts.verbose)),
        Format::Sarif => Box::new(sarif::SarifReporter::new(out, opts)?),
        Format::Junit => Box::new(junit::JunitReporter::new(out, opts)?),
        Format::Markdown => Box::new(markdown::MarkdownReporter::new(out, opts)?),
        Format::Github => Box::new(github::GithubReporter::new(out, opts)?),
        Format::Html => Box::new(html::HtmlReporter::new(out, opts)?),
        Format::Ndjson => Box::new(ndjson::NdjsonReporter::new(out, opts.command)),
    })
}

/// Several reporters fed the same stream (`--format human --output sarif=out.sarif`).
pub struct Tee(pub Vec<Box<dyn Reporter>>);

impl Reporter for Tee {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.document(doc))
    }
    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|r| r.finish(summary))
    }
}

/// Makes text from scanned content safe for a terminal: control characters (ANSI escape
/// sequences included) are shown escaped, never interpreted.
pub fn sanitize(s: &str) -> String {
    if !s
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Like [`sanitize`], but keeps line breaks (multi-line error messages).
pub fn sanitize_lines(s: &str) -> String {
    s.split('\n').map(sanitize).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_escapes_terminal_controls() {
        assert_eq!(super::sanitize("ok"), "ok");
        let s = super::sanitize("a\u{1b}[2J\u{7}b\r\n\u{202e}");
        assert!(!s.chars().any(char::is_control));
        assert!(s.contains("\\u{1b}"));
    }
}
