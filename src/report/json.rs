//! `--format json`: the versioned contract (`schema: pixscan/1`), written as a stream so
//! memory stays flat however many documents are scanned. Field order: schema, command,
//! documents, summary, skipped.
//!
//! `eml` documents list plain requests compactly: a finding that is not tracking and that
//! the policy simply allows (a product photo on the sender's CDN) is written to
//! `plain_requests` as `{url, kind, element, party, entity?, occurrences}`, not to
//! `findings` with its sentence, leaks and verdict, so the JSON of a message stays smaller
//! than the message. Tracking findings, violations, approved and baselined findings are
//! written in full. `--verbose` (and `site`) writes every finding in full.

use std::io::Write;
use std::sync::Arc;

use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

use super::{Render, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Finding, Summary, VerdictStatus};

pub const SCHEMA: &str = "pixscan/1";

pub struct JsonReporter<W: Write> {
    out: W,
    first: bool,
    /// Plain requests compactly (`plain_requests`), not as full findings.
    compact: bool,
}

impl<W: Write> JsonReporter<W> {
    pub fn new(mut out: W, command: Command) -> std::io::Result<Self> {
        write!(
            out,
            "{{\"schema\":\"{SCHEMA}\",\"command\":{},\"version\":{},\"note\":{},\"documents\":[",
            serde_json::to_string(&command)?,
            serde_json::to_string(env!("CARGO_PKG_VERSION"))?,
            serde_json::to_string("An open signal (image request) shows that a message was displayed or fetched, not that a person read it.")?,
        )?;
        Ok(JsonReporter {
            out,
            first: true,
            compact: command == Command::Eml,
        })
    }

    /// `--verbose`: every finding in full, plain ones too.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.compact &= !verbose;
        self
    }
}

/// One document's JSON (no separator), as [`JsonReporter`] writes it.
pub fn render(doc: &DocumentReport, compact: bool, buf: &mut Vec<u8>) -> std::io::Result<()> {
    // Byte for byte as `serde_json::to_writer`, with a faster string escaper.
    if compact {
        super::json_write::to_vec(buf, &Compact(doc))?;
    } else {
        super::json_write::to_vec(buf, doc)?;
    }
    Ok(())
}

/// A finding written in full in compact mode: tracking, or judged anything but `allowed`.
pub fn is_full(f: &Finding) -> bool {
    f.tracking
        || f.verdict
            .as_ref()
            .is_some_and(|v| v.status != VerdictStatus::Allowed)
}

impl<W: Write> Reporter for JsonReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(16 * 1024);
        render(doc, self.compact, &mut buf)?;
        self.rendered(doc, &buf)
    }

    fn renderer(&self) -> Option<Arc<Render>> {
        let compact = self.compact;
        Some(Arc::new(move |doc: &DocumentReport, buf: &mut Vec<u8>| {
            render(doc, compact, buf)
        }))
    }

    fn rendered(&mut self, _doc: &DocumentReport, bytes: &[u8]) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        self.out.write_all(bytes)
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

/// A document with plain requests compact: the same keys in the same order as
/// `DocumentReport`'s, `plain_requests` after `untracked_links`.
struct Compact<'a>(&'a DocumentReport);

struct FullFindings<'a>(&'a [Finding]);

impl Serialize for FullFindings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for f in self.0.iter().filter(|f| is_full(f)) {
            seq.serialize_element(f)?;
        }
        seq.end()
    }
}

struct PlainRequests<'a>(&'a [Finding]);

#[derive(Serialize)]
struct Plain<'a> {
    url: &'a str,
    kind: crate::model::Kind,
    element: &'a str,
    party: crate::model::Party,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity: Option<&'a str>,
    occurrences: u32,
}

impl Serialize for PlainRequests<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for f in self.0.iter().filter(|f| !is_full(f)) {
            seq.serialize_element(&Plain {
                url: &f.url,
                kind: f.kind,
                element: &f.element,
                party: f.party,
                entity: f.entity.as_deref(),
                occurrences: f.occurrences,
            })?;
        }
        seq.end()
    }
}

impl Serialize for Compact<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut st = s.serialize_struct("DocumentReport", 24)?;
        st.serialize_field("source", &d.source)?;
        st.serialize_field("error", &d.error)?;
        st.serialize_field("title", &d.title)?;
        st.serialize_field("sender", &d.sender)?;
        st.serialize_field("recipients", &d.recipients)?;
        st.serialize_field("first_party", &d.first_party)?;
        st.serialize_field("platforms", &d.platforms)?;
        st.serialize_field("findings", &FullFindings(&d.findings))?;
        st.serialize_field("untracked_links", &d.untracked_links)?;
        st.serialize_field("plain_requests", &PlainRequests(&d.findings))?;
        macro_rules! opt {
            ($name:ident) => {
                if let Some(v) = &d.$name {
                    st.serialize_field(stringify!($name), v)?;
                }
            };
        }
        macro_rules! list {
            ($name:ident) => {
                if !d.$name.is_empty() {
                    st.serialize_field(stringify!($name), &d.$name)?;
                }
            };
        }
        opt!(consent_platforms);
        opt!(referrer);
        opt!(personal_data_in_url);
        list!(notes);
        list!(redirects);
        opt!(browser);
        opt!(cookies);
        opt!(local_storage);
        opt!(consent_unlocked);
        list!(google_consent);
        if d.hidden_findings != 0 {
            st.serialize_field("hidden_findings", &d.hidden_findings)?;
        }
        st.end()
    }
}
