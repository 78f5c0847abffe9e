//! `--format ndjson`: one JSON object per line, written as each document is scanned, then
//! one summary line; the interchange `pixscan merge` reads back (`--shard`).
//!
//! - `{"type":"document","order":[input,item], …}`: a `pixscan/1` document, every finding
//!   in full (as `--format json --verbose` writes it: nothing is left out, so a merge can
//!   re-judge every finding and render any format). `order` is the document's place in a
//!   single run (see [`DocumentReport::order`]).
//! - `{"type":"summary","schema":"pixscan/1","command":"eml","version":"…", …}`: the JSON
//!   summary's fields, last. `summary.shard` tells a `--shard` run's share. A file without
//!   it is a run that did not finish.
//!
//! Field names are those of `--format json` (`schema/ndjson-line.schema.json` describes a
//! line). Documents are rendered in the workers (`Reporter::renderer`).

use std::io::Write;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::json::SCHEMA;
use super::{Render, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Summary};

pub struct NdjsonReporter<W: Write> {
    out: W,
    command: Command,
}

impl<W: Write> NdjsonReporter<W> {
    pub fn new(out: W, command: Command) -> Self {
        NdjsonReporter { out, command }
    }
}

#[derive(Serialize)]
struct DocumentLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<[u64; 2]>,
    #[serde(flatten)]
    doc: &'a DocumentReport,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: &'static str,
    command: Command,
    version: &'static str,
    #[serde(flatten)]
    summary: &'a Summary,
}

/// One document's line, newline included.
pub fn render(doc: &DocumentReport, buf: &mut Vec<u8>) -> std::io::Result<()> {
    serde_json::to_writer(
        &mut *buf,
        &DocumentLine {
            kind: "document",
            order: doc.order,
            doc,
        },
    )?;
    buf.push(b'\n');
    Ok(())
}

/// The summary line, newline included.
pub fn render_summary(
    command: Command,
    summary: &Summary,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    serde_json::to_writer(
        &mut *buf,
        &SummaryLine {
            kind: "summary",
            schema: SCHEMA,
            command,
            version: env!("CARGO_PKG_VERSION"),
            summary,
        },
    )?;
    buf.push(b'\n');
    Ok(())
}

impl<W: Write> Reporter for NdjsonReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(16 * 1024);
        render(doc, &mut buf)?;
        self.out.write_all(&buf)
    }

    fn renderer(&self) -> Option<Arc<Render>> {
        Some(Arc::new(render))
    }

    fn rendered(&mut self, _doc: &DocumentReport, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        let mut buf = Vec::new();
        render_summary(self.command, summary, &mut buf)?;
        self.out.write_all(&buf)?;
        self.out.flush()
    }
}

/// One line read back.
#[derive(Debug)]
pub enum Line {
    /// A document, with its `order` (in [`DocumentReport::order`]) when the line has one.
    Document(Box<DocumentReport>),
    Summary(Box<SummaryRead>),
}

/// A summary line read back: the run's identity and its summary.
#[derive(Debug)]
pub struct SummaryRead {
    pub schema: String,
    pub command: String,
    pub version: String,
    pub summary: Summary,
}

/// The fields that say what a line is (read first; the rest is read into the model).
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    order: Option<[u64; 2]>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

/// Reads one line. Errors say what is wrong with it, for a message naming file and line.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let head: Head = serde_json::from_str(line).map_err(|e| {
        if e.is_eof() {
            format!("the line is cut off ({e})")
        } else {
            format!("not an ndjson line of pixscan ({e})")
        }
    })?;
    match head.kind.as_str() {
        "document" => {
            let mut doc: DocumentReport =
                serde_json::from_str(line).map_err(|e| format!("bad document: {e}"))?;
            doc.order = head.order;
            Ok(Line::Document(Box::new(doc)))
        }
        "summary" => {
            let summary: Summary =
                serde_json::from_str(line).map_err(|e| format!("bad summary: {e}"))?;
            Ok(Line::Summary(Box::new(SummaryRead {
                schema: head.schema.unwrap_or_default(),
                command: head.command.unwrap_or_default(),
                version: head.version.unwrap_or_default(),
                summary,
            })))
        }
        other => Err(format!(
            "unknown line type {other:?} (expected \"document\" or \"summary\")"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_and_a_summary_read_back_as_written() {
        let mut doc = DocumentReport::failed("a.eml".into(), "bad".into());
        doc.order = Some([3, 1]);
        let mut buf = Vec::new();
        render(&doc, &mut buf).unwrap();
        let text = std::str::from_utf8(&buf).unwrap();
        assert!(text.starts_with("{\"type\":\"document\",\"order\":[3,1],\"source\":\"a.eml\""));
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
        let Line::Document(back) = parse_line(text.trim_end()).unwrap() else {
            panic!("a document")
        };
        assert_eq!((back.source.as_str(), back.order), ("a.eml", Some([3, 1])));
        assert_eq!(back.error.as_deref(), Some("bad"));

        let mut summary = Summary::default();
        summary.add(&doc);
        let mut buf = Vec::new();
        render_summary(Command::Eml, &summary, &mut buf).unwrap();
        let Line::Summary(back) = parse_line(std::str::from_utf8(&buf).unwrap()).unwrap() else {
            panic!("a summary")
        };
        assert_eq!(
            (back.schema.as_str(), back.command.as_str()),
            (SCHEMA, "eml")
        );
        assert_eq!(back.summary, summary);
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(parse_line("{\"type\":\"document\",\"sou")
            .unwrap_err()
            .contains("cut off"));
        assert!(parse_line("{\"type\":\"header\"}")
            .unwrap_err()
            .contains("unknown line type"));
        assert!(parse_line("[1,2]")
            .unwrap_err()
            .contains("not an ndjson line"));
    }
}
