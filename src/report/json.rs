//! `--format json`: the versioned contract (`schema: pixscan/1`), written as a stream so
//! memory stays flat however many documents are scanned. Field order: schema, command,
//! documents, summary, skipped.

use std::io::Write;

use super::Reporter;
use crate::model::{DocumentReport, Summary};

pub const SCHEMA: &str = "pixscan/1";

pub struct JsonReporter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonReporter<W> {
    pub fn new(mut out: W, command: &str) -> std::io::Result<Self> {
        write!(
            out,
            "{{\"schema\":\"{SCHEMA}\",\"command\":{},\"version\":{},\"note\":{},\"documents\":[",
            serde_json::to_string(command)?,
            serde_json::to_string(env!("CARGO_PKG_VERSION"))?,
            serde_json::to_string("An open signal (image request) shows that a message was displayed or fetched, not that a person read it.")?,
        )?;
        Ok(JsonReporter { out, first: true })
    }
}

impl<W: Write> Reporter for JsonReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, doc)?;
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        write!(
            self.out,
            "
],\"summary\":{}}}
",
            serde_json::to_string(summary)?
        )?;
        self.out.flush()
    }
}
