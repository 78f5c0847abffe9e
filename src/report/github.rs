//! `--format github`: being written (see issue 5).

use std::io::Write;

use super::{ReportOptions, Reporter};
use crate::model::{DocumentReport, Summary};

pub struct GithubReporter<W: Write> {
    out: W,
}

impl<W: Write> GithubReporter<W> {
    pub fn new(out: W, _opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(GithubReporter { out })
    }
}

impl<W: Write> Reporter for GithubReporter<W> {
    fn document(&mut self, _doc: &DocumentReport) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _summary: &Summary) -> std::io::Result<()> {
        self.out.flush()?;
        Err(std::io::Error::other(
            "the github format is not available yet",
        ))
    }
}
