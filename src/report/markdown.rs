//! `--format markdown`: being written (see issue 5).

use std::io::Write;

use super::{ReportOptions, Reporter};
use crate::model::{DocumentReport, Summary};

pub struct MarkdownReporter<W: Write> {
    out: W,
}

impl<W: Write> MarkdownReporter<W> {
    pub fn new(out: W, _opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(MarkdownReporter { out })
    }
}

impl<W: Write> Reporter for MarkdownReporter<W> {
    fn document(&mut self, _doc: &DocumentReport) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _summary: &Summary) -> std::io::Result<()> {
        self.out.flush()?;
        Err(std::io::Error::other(
            "the markdown format is not available yet",
        ))
    }
}
