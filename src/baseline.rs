//! Baselines: the known findings of an earlier run, so a CI gate fails only on new ones.
//!
//! # Fingerprints
//!
//! [`fingerprint`] names a finding stably across runs: the same tracker on the same document
//! gets the same fingerprint tomorrow, even though its URL carries a fresh token. It is the
//! first 32 hex digits of a SHA-256 over these parts (each labelled, one per line):
//!
//! - the command (`eml`, `site`) and a format version (`v1`);
//! - the document, chosen to survive re-runs:
//!   - `eml`: the sender (lowercased) and the subject with digit runs replaced by `#` and
//!     whitespace collapsed (`Your order WS-48213 has shipped` → `your order ws-# has
//!     shipped`). Not the source path: an mbox entry's index (`box.mbox#12`) shifts when
//!     messages are added, and the same template moves between folders. When a message has
//!     neither sender nor subject, the source path (mbox index and Maildir flags removed);
//!   - `site`, crawled pages: the page URL's host and path (no scheme, query or fragment);
//!   - `site`, folder mode: the file path as reported (leading `./` removed, `\` → `/`), so run
//!     the gate from the same directory each time;
//! - the finding's kind, entity (or registrable domain when no entity is known), host
//!   (token-like labels replaced, as for path segments), element, and endpoint/signature rule
//!   id (inline tags have no URL: the rule tells two snippets of one vendor apart);
//! - the URL path with volatile segments replaced: all-digit segments → `{n}`, tokens (long
//!   base64/hex/UUID-like segments, see [`normalize_segment`]) → `{token}`, other runs of 4+
//!   digits → `{n}`; `/o/eJwFwUkO…` → `/o/{token}`;
//! - the query parameter *names*, sorted and deduplicated (values are tokens, names are the
//!   shape), numeric names dropped (cache busters);
//! - the site tag's account id, when known.
//!
//! Line numbers, the raw URL, the token values and the identifiers are deliberately left out.
//! Two findings that differ only in those parts share a fingerprint, which is what a
//! baseline wants ("this pixel on this template is known").
//!
//! # File format
//!
//! ```json
//! { "schema": "pixscan-baseline/1",
//!   "findings": [ { "fingerprint": "3f9c…", "source": "fixtures/mail/x.eml",
//!                   "kind": "open-pixel", "entity": "Mailgun", "url": "https://…" } ] }
//! ```
//!
//! Entries are sorted by fingerprint and deduplicated so the file diffs well in review. Only
//! `fingerprint` is used for matching; the other fields are for the humans reading the diff.
//!
//! # In a run
//!
//! After [`crate::policy::Policy::apply`], [`apply_baseline`] turns each `violation` whose
//! fingerprint is in the baseline into `baselined`, and records in `seen` the fingerprints of
//! every finding that would have been a violation. [`Baseline::fixed`] then lists the entries
//! not seen: their finding is gone, or no longer violates the policy (it was approved since).
//! A document that failed to scan has no findings and no fingerprint; scan errors are never
//! baselined. [`entries`] collects what `--write-baseline` should write: every finding that
//! is a violation or already baselined.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{DocumentReport, Finding, Verdict, VerdictStatus};

pub const SCHEMA: &str = "pixscan-baseline/1";

/// One known finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    /// The document it was found in (for people reading the file).
    pub source: String,
    pub kind: String,
    #[serde(default)]
    pub entity: Option<String>,
    pub url: String,
}

impl Entry {
    /// The entry for a finding whose fingerprint is set (by `Policy::apply`); computes it
    /// for `command` otherwise.
    pub fn new(command: &str, doc: &DocumentReport, f: &Finding) -> Entry {
        Entry {
            fingerprint: f
                .fingerprint
                .clone()
                .unwrap_or_else(|| fingerprint(command, doc, f)),
            source: doc.source.clone(),
            kind: f.kind.as_str().to_string(),
            entity: f.entity.clone(),
            url: f.url.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    schema: String,
    findings: Vec<Entry>,
}

/// A loaded baseline: entries by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Where it was loaded from (for verdict reasons); empty when built in memory.
    pub origin: String,
    entries: BTreeMap<String, Entry>,
}

impl Baseline {
    /// Reads a baseline file. Errors name the file: unreadable, not JSON, wrong schema.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{origin}: cannot read baseline: {e}"))?;
        let mut b = Baseline::from_json(&text).map_err(|e| format!("{origin}: {e}"))?;
        b.origin = origin;
        Ok(b)
    }

    /// Parses baseline JSON (see the module documentation).
    pub fn from_json(text: &str) -> Result<Baseline, String> {
        let file: File =
            serde_json::from_str(text).map_err(|e| format!("not a pixscan baseline: {e}"))?;
        if file.schema != SCHEMA {
            return Err(format!(
                "unsupported baseline schema `{}` (expected `{SCHEMA}`)",
                file.schema
            ));
        }
        Ok(Baseline::from_entries(file.findings))
    }

    /// A baseline holding `entries` (duplicates by fingerprint collapse to the first).
    pub fn from_entries(entries: impl IntoIterator<Item = Entry>) -> Baseline {
        let mut map = BTreeMap::new();
        for e in entries {
            map.entry(e.fingerprint.clone()).or_insert(e);
        }
        Baseline {
            origin: String::new(),
            entries: map,
        }
    }

    /// The JSON text of `entries`: sorted by fingerprint, deduplicated, newline-terminated.
    pub fn to_json(entries: &[Entry]) -> String {
        let b = Baseline::from_entries(entries.iter().cloned());
        let file = File {
            schema: SCHEMA.to_string(),
            findings: b.entries.into_values().collect(),
        };
        let mut s = serde_json::to_string_pretty(&file).expect("baseline serialises");
        s.push('\n');
        s
    }

    /// Writes `entries` as a baseline file (see [`Baseline::to_json`]).
    pub fn write(path: &Path, entries: &[Entry]) -> Result<(), String> {
        std::fs::write(path, Baseline::to_json(entries))
            .map_err(|e| format!("{}: cannot write baseline: {e}", path.display()))
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.entries.contains_key(fingerprint)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries, sorted by fingerprint.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Entries whose fingerprint was not seen in this run: fixed (gone, or no longer a
    /// violation). Sorted by fingerprint.
    pub fn fixed(&self, seen: &HashSet<String>) -> Vec<&Entry> {
        self.entries
            .values()
            .filter(|e| !seen.contains(&e.fingerprint))
            .collect()
    }
}

/// Marks violations that are in `baseline` as `baselined`, and adds the fingerprint of every
/// finding that is (or was, before this call) a violation to `seen`. Run it after
/// `Policy::apply`; findings without a verdict or fingerprint are left alone.
pub fn apply_baseline(baseline: &Baseline, doc: &mut DocumentReport, seen: &mut HashSet<String>) {
    for f in &mut doc.findings {
        let (Some(fp), Some(verdict)) = (f.fingerprint.as_ref(), f.verdict.as_mut()) else {
            continue;
        };
        match verdict.status {
            VerdictStatus::Violation => {
                seen.insert(fp.clone());
                if baseline.contains(fp) {
                    let from = if baseline.origin.is_empty() {
                        "the baseline".to_string()
                    } else {
                        format!("baseline {}", baseline.origin)
                    };
                    *verdict = Verdict {
                        status: VerdictStatus::Baselined,
                        reason: format!("known in {from} (otherwise: {})", verdict.reason),
                    };
                }
            }
            VerdictStatus::Baselined => {
                seen.insert(fp.clone());
            }
            VerdictStatus::Approved | VerdictStatus::Allowed => {}
        }
    }
}

/// What `--write-baseline` records for one document: every finding that is a violation or
/// already baselined (after `Policy::apply`, and `apply_baseline` if a baseline was given).
pub fn entries(command: &str, doc: &DocumentReport) -> Vec<Entry> {
    doc.findings
        .iter()
        .filter(|f| {
            matches!(
                f.verdict.as_ref().map(|v| v.status),
                Some(VerdictStatus::Violation | VerdictStatus::Baselined)
            )
        })
        .map(|f| Entry::new(command, doc, f))
        .collect()
}

/// The stable fingerprint of a finding (see the module documentation): 32 hex digits.
pub fn fingerprint(command: &str, doc: &DocumentReport, f: &Finding) -> String {
    fingerprint_in(command, &document_key(command, doc), f)
}

/// [`fingerprint`] with the document part already computed ([`document_key`]), so a
/// document's findings share it.
pub fn fingerprint_in(command: &str, document: &str, f: &Finding) -> String {
    let mut h = Sha256::new();
    let mut part = |k: &str, v: &str| {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"\n");
    };
    part("v", "1");
    part("command", command);
    part("document", document);
    part("kind", f.kind.as_str());
    part(
        "entity",
        &f.entity
            .as_deref()
            .or(f.registrable_domain.as_deref())
            .unwrap_or_default()
            .to_lowercase(),
    );
    part("host", &normalize_host(&f.host));
    part("element", &f.element.to_ascii_lowercase());
    part("rule", f.rule.as_deref().unwrap_or_default());
    let (path, names) = url_shape(&f.url);
    part("path", &path);
    part("params", &names.join("&"));
    part("account", f.account.as_deref().unwrap_or_default());
    let digest = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(32);
    for b in &digest[..16] {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 15)]));
    }
    hex
}

/// The document part of a fingerprint.
pub fn document_key(command: &str, doc: &DocumentReport) -> String {
    let source = doc.source.as_str();
    if command == "eml" {
        let sender = doc.sender.as_deref().unwrap_or("").trim().to_lowercase();
        let subject = doc
            .title
            .as_deref()
            .map(normalize_subject)
            .unwrap_or_default();
        if !sender.is_empty() || !subject.is_empty() {
            return format!("mail:{sender}\u{1f}{subject}");
        }
        return format!("file:{}", mail_path(source));
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        if let Ok(u) = url::Url::parse(source) {
            let host = u.host_str().unwrap_or("").to_ascii_lowercase();
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            return format!("page:{host}{port}{}", u.path());
        }
        let cut = source.find(['?', '#']).unwrap_or(source.len());
        return format!(
            "page:{}",
            &source[source.find("//").map_or(0, |i| i + 2)..cut]
        );
    }
    format!("file:{}", normalize_path(source))
}

/// A local path as reported, normalised: `\` → `/`, leading `./` removed.
pub(crate) fn normalize_path(p: &str) -> String {
    let p = p.replace('\\', "/");
    let mut s = p.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}

/// A mail source without the volatile parts: the mbox index (`box.mbox#12`) and Maildir
/// flags (`…:2,RS`), and the Maildir `new`/`cur` folder a message moves between.
fn mail_path(source: &str) -> String {
    let mut p = normalize_path(source);
    if let Some(i) = p.rfind('#') {
        if p[i + 1..].bytes().all(|b| b.is_ascii_digit()) && i + 1 < p.len() {
            p.truncate(i);
        }
    }
    if let Some(i) = p.rfind(":2,") {
        if !p[i..].contains('/') {
            p.truncate(i);
        }
    }
    for dir in ["/new/", "/cur/"] {
        if let Some(i) = p.rfind(dir) {
            if !p[i + dir.len()..].contains('/') {
                p.replace_range(i..i + dir.len(), "/{maildir}/");
                break;
            }
        }
    }
    p
}

fn normalize_subject(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    out.push('#');
                }
                in_digits = true;
            } else {
                in_digits = false;
                out.extend(c.to_lowercase());
            }
        }
        in_digits = false;
    }
    out
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.')
        .to_ascii_lowercase()
        .split('.')
        .map(normalize_segment)
        .collect::<Vec<_>>()
        .join(".")
}

/// The URL's path with volatile segments replaced, and its sorted query parameter names.
fn url_shape(raw: &str) -> (String, Vec<String>) {
    let (path, query) = match url::Url::parse(raw) {
        Ok(u) if !u.cannot_be_a_base() => (
            u.path().to_string(),
            u.query_pairs()
                .map(|(k, _)| k.into_owned())
                .collect::<Vec<_>>(),
        ),
        _ => {
            let no_frag = raw.split('#').next().unwrap_or("");
            let (before, q) = no_frag.split_once('?').unwrap_or((no_frag, ""));
            let path = match before.find("//") {
                Some(i) => before[i + 2..]
                    .find('/')
                    .map_or("", |j| &before[i + 2 + j..]),
                None => before,
            };
            (
                path.to_string(),
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.split('=').next().unwrap_or("").to_string())
                    .collect(),
            )
        }
    };
    let path = path
        .split('/')
        .map(normalize_segment)
        .collect::<Vec<_>>()
        .join("/");
    let mut names: Vec<String> = query
        .into_iter()
        .filter(|n| !n.is_empty() && !n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    names.sort();
    names.dedup();
    (path, names)
}

/// One path segment (or host label) with volatile content replaced:
/// all digits → `{n}`; a token → `{token}` (keeping a short file extension: `{token}.gif`);
/// otherwise runs of 4+ digits → `{n}`.
///
/// A token is a segment of 16+ characters from the base64url/hex alphabet that is not a
/// plain lowercase slug (`spring-sale-newsletter`): it has a digit, or mixes cases; or 8+
/// hex digits with at least one digit; or a UUID.
pub fn normalize_segment(seg: &str) -> String {
    if seg.is_empty() {
        return String::new();
    }
    if seg.bytes().all(|b| b.is_ascii_digit()) {
        return "{n}".into();
    }
    let (stem, ext) = match seg.rfind('.') {
        Some(i)
            if i > 0
                && seg.len() - i <= 5
                && seg[i + 1..].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (&seg[..i], &seg[i..])
        }
        _ => (seg, ""),
    };
    if is_token(stem) {
        return format!("{{token}}{ext}");
    }
    // Runs of 4+ digits inside a segment (ids, timestamps).
    let mut out = String::with_capacity(seg.len());
    let bytes = seg.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start >= 4 {
                out.push_str("{n}");
            } else {
                out.push_str(&seg[start..i]);
            }
        } else {
            let c = seg[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_token(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let hex = b.iter().all(|c| c.is_ascii_hexdigit());
    if b.len() >= 8 && hex && digits > 0 {
        return true;
    }
    let uuid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (*c == b'-') && (*c == b'-' || c.is_ascii_hexdigit())
        });
    if uuid {
        return true;
    }
    if b.len() < 16
        || !b.iter().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=' | b'~' | b'%' | b'+')
        })
    {
        return false;
    }
    let upper = b.iter().any(|c| c.is_ascii_uppercase());
    let lower = b.iter().any(|c| c.is_ascii_lowercase());
    digits > 0 || (upper && lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        assert_eq!(normalize_segment("12345"), "{n}");
        assert_eq!(
            normalize_segment("eJwFwUkOwzAIAMDfcIxqwEsOSP0KNtBFaRylitTnd"),
            "{token}"
        );
        assert_eq!(normalize_segment("a1b2c3d4e5f6.gif"), "{token}.gif");
        assert_eq!(
            normalize_segment("a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
            "{token}"
        );
        assert_eq!(
            normalize_segment("spring-sale-newsletter"),
            "spring-sale-newsletter"
        );
        assert_eq!(normalize_segment("open.aspx"), "open.aspx");
        assert_eq!(normalize_segment("o"), "o");
        assert_eq!(normalize_segment("post-20241127"), "post-{n}");
        assert_eq!(normalize_segment("v2"), "v2");
        assert_eq!(normalize_segment("facade"), "facade");
    }

    #[test]
    fn url_shapes() {
        let (p, n) = url_shape("https://e.x.com/o/eJwFwUkOwzAIAMDfcIxqwEs?b=1&a=2&a=3&1700000=");
        assert_eq!(p, "/o/{token}");
        assert_eq!(n, vec!["a", "b"]);
        let (p, n) = url_shape("//cdn.x.com/wf/open?upn=abc#frag");
        assert_eq!(p, "/wf/open");
        assert_eq!(n, vec!["upn"]);
    }

    #[test]
    fn mail_paths() {
        assert_eq!(mail_path("./mail/box.mbox#12"), "mail/box.mbox");
        assert_eq!(
            mail_path("m/cur/1710580000.M1P2Q2.host:2,RS"),
            "m/{maildir}/1710580000.M1P2Q2.host"
        );
        assert_eq!(
            mail_path("m/new/1710580000.M1P2Q2.host"),
            "m/{maildir}/1710580000.M1P2Q2.host"
        );
    }

    #[test]
    fn subjects() {
        assert_eq!(
            normalize_subject("Your  order WS-48213 has shipped"),
            "your order ws-# has shipped"
        );
    }

    #[test]
    fn json_is_sorted_and_deduplicated() {
        let e = |fp: &str| Entry {
            fingerprint: fp.into(),
            source: "s".into(),
            kind: "open-pixel".into(),
            entity: None,
            url: "u".into(),
        };
        let text = Baseline::to_json(&[e("b"), e("a"), e("b")]);
        let b = Baseline::from_json(&text).unwrap();
        assert_eq!(b.len(), 2);
        assert!(text.find("\"a\"").unwrap() < text.find("\"b\"").unwrap());
        assert!(Baseline::from_json("{\"schema\":\"x\",\"findings\":[]}").is_err());
        assert!(Baseline::from_json("[]").is_err());
    }
}
