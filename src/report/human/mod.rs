//! Human output, grouped by document. Styles are anstyle's, written through an anstream
//! `AutoStream` that passes them on when colour is on and strips them when it is off (the CLI
//! decides with anstream too: `--color`, `NO_COLOR`, `CLICOLOR`, `TERM=dumb`, a terminal).
//! Everything taken from scanned content passes through `sanitize`.
//!
//! Layout: `document` (a document's line, its findings, what the page says about itself),
//! `finding` (one finding's lines: label, URL, facts, evidence, leaks, decoded tokens),
//! `browser` (browser mode: the run, cookies, storage, Google Consent Mode, what accepting
//! consent unlocked), `summary` (the closing lines: skipped inputs, by entity, the policy
//! verdict, the totals, the note), `paint` (the styles and a finding's label). Here: the
//! reporter, its options, and the order of a document's lines.

mod browser;
mod document;
mod finding;
mod paint;
mod summary;

use std::io::Write;

use anstream::{AutoStream, ColorChoice};

use super::{sanitize, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Summary};
use paint::{DIM, RED};

pub struct HumanReporter {
    out: AutoStream<Box<dyn Write>>,
    /// Show untracked remote resources too (otherwise only counted).
    pub verbose: bool,
    /// Skip the per-document detail (`--quiet`).
    quiet: bool,
    /// `eml` or `site`: the words of the closing note.
    command: Command,
}

impl HumanReporter {
    /// `color`: pass styles on (`true`) or strip them (`false`).
    pub fn new(out: Box<dyn Write>, color: bool, verbose: bool) -> Self {
        let choice = if color {
            ColorChoice::Always
        } else {
            ColorChoice::Never
        };
        HumanReporter {
            out: AutoStream::new(out, choice),
            verbose,
            quiet: false,
            command: Command::Eml,
        }
    }

    /// The command whose words the report speaks (`eml` or `site`).
    pub fn command(mut self, command: Command) -> Self {
        self.command = command;
        self
    }

    /// Only the verdict and the summary (`--quiet`).
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }
}

impl Reporter for HumanReporter {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.document_head(doc)?;
        if let Some(e) = &doc.error {
            writeln!(self.out, "  {} {}", self.paint(RED, "error:"), sanitize(e))?;
            return Ok(());
        }
        self.findings(doc)?;
        self.page_facts(doc)?;
        self.browser_facts(doc)?;
        if !doc.platforms.is_empty() {
            let p: Vec<String> = doc
                .platforms
                .iter()
                .map(|p| format!("{} ({})", sanitize(&p.entity), sanitize(&p.evidence)))
                .collect();
            writeln!(
                self.out,
                "  {} {}",
                self.paint(DIM, "sent via:"),
                p.join("; ")
            )?;
        }
        writeln!(self.out)
    }

    fn finish(&mut self, s: &Summary) -> std::io::Result<()> {
        self.summary(s)
    }
}
