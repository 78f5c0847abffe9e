//! A result's physical location: the file (relative to `%SRCROOT%`) or page URL, with the
//! line and column where they are lines of that artifact, and the URI encoding of paths.

use std::io::Write;

use serde_json::{json, Value};

use super::SarifReporter;
use crate::model::{Command, DocumentReport, Finding};
use crate::report::common::{file_position, is_url, local_path};

impl<W: Write> SarifReporter<W> {
    /// The result's physical location: the file (relative to `%SRCROOT%`) or page URL, with
    /// the finding's line and column where they are lines of that artifact.
    pub(super) fn location(&self, doc: &DocumentReport, f: &Finding) -> Value {
        let (uri, line, column) = match file_position(self.command, &doc.source, f) {
            Some((path, line, col)) => (artifact_uri(&path), line, col),
            None => {
                let uri = match local_path(&doc.source) {
                    Some(p) => artifact_uri(&p),
                    None if is_url(&doc.source) => url::Url::parse(&doc.source)
                        .map(|u| u.to_string())
                        .unwrap_or_else(|_| encode_path(&doc.source)),
                    None => encode_path(&doc.source),
                };
                // Crawled pages: the line is in the fetched HTML.
                let line = if self.command == Command::Site {
                    f.line.filter(|l| *l > 0)
                } else {
                    None
                };
                (
                    uri,
                    line.unwrap_or(1),
                    line.and(f.column.filter(|c| *c > 0)),
                )
            }
        };
        let mut region = json!({ "startLine": line });
        if let Some(c) = column {
            region["startColumn"] = json!(c);
        }
        let mut artifact = json!({ "uri": uri });
        if !uri.contains(':') && !uri.starts_with('/') {
            artifact["uriBaseId"] = json!("%SRCROOT%");
        }
        json!({ "physicalLocation": { "artifactLocation": artifact, "region": region } })
    }
}

/// Percent-encodes a path for a URI reference (`/` kept; `:` encoded so a first segment is
/// never read as a scheme).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A relative path stays relative (to `%SRCROOT%`); an absolute one becomes a file URI.
pub(super) fn artifact_uri(path: &str) -> String {
    if path.starts_with('/') {
        format!("file://{}", encode_path(path))
    } else if path.len() > 2 && path.as_bytes()[1] == b':' {
        // A Windows drive path.
        format!("file:///{}", encode_path(path))
    } else {
        encode_path(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_uri_references() {
        assert_eq!(encode_path("cur/1:2,S x"), "cur/1%3A2,S%20x");
    }
}
