//! Finding fingerprints: one algorithm for every place that names a finding across runs
//! (baseline files, SARIF `partialFingerprints`, the policy stage that sets
//! [`Finding::fingerprint`]).
//!
//! [`compute`] names a finding stably across runs: the same tracker on the same document
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
//! The value is part of the baseline file format (`pixscan-baseline/1`): existing
//! baselines match only while it stays the same, so a test pins it.

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use crate::model::Command;
use crate::model::{DocumentReport, Finding};

/// A finding's fingerprint: the one the policy stage set ([`crate::policy::Policy::apply`]),
/// or, for a finding it did not fingerprint (a plain remote image, or no policy stage at
/// all), the same computed here. Baselines and SARIF both name findings by it.
pub fn of(command: Command, doc: &DocumentReport, f: &Finding) -> String {
    match f.fingerprint.as_deref().filter(|s| !s.is_empty()) {
        Some(fp) => fp.to_string(),
        None => compute(command, doc, f),
    }
}

/// The stable fingerprint of a finding (see the module documentation): 32 hex digits.
pub fn compute(command: Command, doc: &DocumentReport, f: &Finding) -> String {
    compute_in(command, &document_key(command, doc), f)
}

/// [`compute`] with the document part already computed ([`document_key`]).
pub fn compute_in(command: Command, document: &str, f: &Finding) -> String {
    Fingerprints::new(command, document).compute(f)
}

/// One document's fingerprints: the hash of the document's part is computed once, and a
/// finding whose own parts match an earlier finding's (the same tracked-link shape on 40
/// links) reuses its fingerprint instead of hashing again. Values are [`compute`]'s: the
/// hash runs over the same bytes, the document's part and then the finding's.
pub struct Fingerprints {
    /// The hash after `v`, `command` and `document`.
    prefix: Sha256,
    /// A finding's parts (`kind=…` to `account=…`) → its fingerprint.
    seen: FxHashMap<Vec<u8>, String>,
    parts: Vec<u8>,
}

impl Fingerprints {
    pub fn new(command: Command, document: &str) -> Self {
        let mut text = Vec::new();
        for (k, v) in [
            ("v", "1"),
            ("command", command.as_str()),
            ("document", document),
        ] {
            part(&mut text, k, v);
        }
        let mut prefix = Sha256::new();
        prefix.update(&text);
        Fingerprints {
            prefix,
            seen: FxHashMap::default(),
            parts: Vec::new(),
        }
    }

    /// The fingerprint of `f`, a finding of this document.
    pub fn compute(&mut self, f: &Finding) -> String {
        let mut parts = std::mem::take(&mut self.parts);
        parts.clear();
        finding_parts(&mut parts, f);
        let hex = match self.seen.get(&parts) {
            Some(hex) => hex.clone(),
            None => {
                let mut h = self.prefix.clone();
                h.update(&parts);
                let digest = h.finalize();
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut hex = String::with_capacity(32);
                for b in &digest[..16] {
                    hex.push(char::from(HEX[usize::from(b >> 4)]));
                    hex.push(char::from(HEX[usize::from(b & 15)]));
                }
                self.seen.insert(parts.clone(), hex.clone());
                hex
            }
        };
        self.parts = parts;
        hex
    }
}

/// A finding's own parts, `kind=…` to `account=…`, written straight into `out` (a finding
/// is fingerprinted for every tracking request: no string is built per part).
fn finding_parts(out: &mut Vec<u8>, f: &Finding) {
    let entity = f
        .entity
        .as_deref()
        .or(f.registrable_domain.as_deref())
        .unwrap_or_default();
    part(out, "kind", f.kind.as_str());
    label(out, "entity");
    push_lowercase(out, entity);
    out.push(b'\n');
    label(out, "host");
    write_host(out, &f.host);
    out.push(b'\n');
    label(out, "element");
    out.extend(f.element.bytes().map(|b| b.to_ascii_lowercase()));
    out.push(b'\n');
    part(out, "rule", f.rule.as_deref().unwrap_or_default());
    write_shape(out, &f.url);
    part(out, "account", f.account.as_deref().unwrap_or_default());
}

/// One labelled part of the hashed text: `k=v` and a newline.
fn part(text: &mut Vec<u8>, k: &str, v: &str) {
    label(text, k);
    text.extend_from_slice(v.as_bytes());
    text.push(b'\n');
}

/// A part's label, `k=`; its value and newline follow.
fn label(text: &mut Vec<u8>, k: &str) {
    text.extend_from_slice(k.as_bytes());
    text.push(b'=');
}

/// `s` lowercased as [`str::to_lowercase`] does, without a new string when it is ASCII.
fn push_lowercase(out: &mut Vec<u8>, s: &str) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        out.extend_from_slice(s.to_lowercase().as_bytes());
    }
}

/// The document part of a fingerprint.
pub fn document_key(command: Command, doc: &DocumentReport) -> String {
    let source = doc.source.as_str();
    if command == Command::Eml {
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
    format!("file:{}", crate::text::normalize_path(source))
}

/// A mail source without the volatile parts: the mbox index (`box.mbox#12`) and Maildir
/// flags (`…:2,RS`), and the Maildir `new`/`cur` folder a message moves between.
fn mail_path(source: &str) -> String {
    let mut p = crate::text::normalize_path(source);
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

/// The host with token-like labels replaced, as path segments are ([`normalize_segment`]).
fn write_host(out: &mut Vec<u8>, host: &str) {
    let host = crate::domain::lower_host(host);
    for (i, label) in host.as_bytes().split(|&b| b == b'.').enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        write_segment(out, label);
    }
}

/// The URL's shape as two parts: `path=` its path with volatile segments replaced, and
/// `params=` its query parameter names, sorted and deduplicated (empty and numeric ones
/// dropped), joined by `&`.
fn write_shape(out: &mut Vec<u8>, raw: &str) {
    let parsed;
    let (path, mut names): (&str, Vec<&str>) = match plain_shape(raw) {
        Some(shape) => shape,
        None => {
            parsed = parsed_shape(raw);
            (&parsed.0, parsed.1.iter().map(String::as_str).collect())
        }
    };
    label(out, "path");
    for (i, seg) in path.as_bytes().split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        write_segment(out, seg);
    }
    out.push(b'\n');
    names.retain(|n| !n.is_empty() && !n.bytes().all(|b| b.is_ascii_digit()));
    names.sort_unstable();
    names.dedup();
    label(out, "params");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b'\n');
}

/// The path and query names of an `http(s)` URL that parsing would leave as written, read
/// off the text without parsing it (most URLs a finding names were serialised by the `url`
/// crate already). `None` for anything else: then [`parsed_shape`] decides.
///
/// It answers only where both of [`parsed_shape`]'s branches (the URL parses, or it does not
/// and the raw text is split) give this same answer: printable ASCII with no spaces (the
/// parser strips or encodes the rest), a lowercase `http://` or `https://`, a non-empty
/// authority without `\\` (`https:///a` is host `a`), a path that starts with `/`, holds only characters the parser keeps as
/// they are and no dot segment (`.`, `..`, `%2e`: removed by parsing), and query names with
/// no `%` or `+` (decoded by parsing).
fn plain_shape(raw: &str) -> Option<(&str, Vec<&str>)> {
    if !raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return None;
    }
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))?;
    let no_frag = rest.split('#').next().unwrap_or("");
    let (before, query) = no_frag.split_once('?').unwrap_or((no_frag, ""));
    let slash = before.find('/')?;
    if slash == 0 || before[..slash].contains('\\') {
        return None;
    }
    let path = &before[slash..];
    let kept = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
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
                    | b':'
                    | b'@'
                    | b'/'
                    | b'%'
            )
    };
    if !path.bytes().all(kept)
        || path
            .as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'2' && (w[2] == b'e' || w[2] == b'E'))
        || path.split('/').any(|seg| seg == "." || seg == "..")
    {
        return None;
    }
    let mut names = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split('=').next().unwrap_or("");
        if name.contains(['%', '+']) {
            return None;
        }
        names.push(name);
    }
    Some((path, names))
}

/// The path and query names of a URL as the `url` crate parses it, or split from the raw
/// text when it does not parse.
fn parsed_shape(raw: &str) -> (String, Vec<String>) {
    match url::Url::parse(raw) {
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
    }
}

/// One path segment (or host label) with volatile content replaced:
/// all digits → `{n}`; a token → `{token}` (keeping a short file extension: `{token}.gif`);
/// otherwise runs of 4+ digits → `{n}`.
///
/// A token is a segment of 16+ characters from the base64url/hex alphabet that is not a
/// plain lowercase slug (`spring-sale-newsletter`): it has a digit, or mixes cases; or 8+
/// hex digits with at least one digit; or a UUID.
pub fn normalize_segment(seg: &str) -> String {
    let mut out = Vec::with_capacity(seg.len());
    write_segment(&mut out, seg.as_bytes());
    String::from_utf8(out).expect("segments are cut and replaced at ASCII bytes")
}

/// [`normalize_segment`], written onto `out`. Segments are split at ASCII bytes and
/// replaced whole or at ASCII digits, so the bytes written stay UTF-8.
fn write_segment(out: &mut Vec<u8>, seg: &[u8]) {
    if seg.is_empty() {
        return;
    }
    if seg.iter().all(u8::is_ascii_digit) {
        out.extend_from_slice(b"{n}");
        return;
    }
    let (stem, ext) = match seg.iter().rposition(|&b| b == b'.') {
        Some(i)
            if i > 0
                && seg.len() - i <= 5
                && seg[i + 1..].iter().all(u8::is_ascii_alphanumeric) =>
        {
            (&seg[..i], &seg[i..])
        }
        _ => (seg, &[][..]),
    };
    if is_token(stem) {
        out.extend_from_slice(b"{token}");
        out.extend_from_slice(ext);
        return;
    }
    // Runs of 4+ digits inside a segment (ids, timestamps).
    let mut i = 0;
    while i < seg.len() {
        let start = i;
        let digit = seg[i].is_ascii_digit();
        while i < seg.len() && seg[i].is_ascii_digit() == digit {
            i += 1;
        }
        if digit && i - start >= 4 {
            out.extend_from_slice(b"{n}");
        } else {
            out.extend_from_slice(&seg[start..i]);
        }
    }
}

fn is_token(b: &[u8]) -> bool {
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
        assert_eq!(normalize_segment("caf\u{e9}12345"), "caf\u{e9}{n}");
    }

    fn shape(raw: &str) -> String {
        let mut out = Vec::new();
        write_shape(&mut out, raw);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn url_shapes() {
        assert_eq!(
            shape("https://e.x.com/o/eJwFwUkOwzAIAMDfcIxqwEs?b=1&a=2&a=3&1700000="),
            "path=/o/{token}\nparams=a&b\n"
        );
        assert_eq!(
            shape("//cdn.x.com/wf/open?upn=abc#frag"),
            "path=/wf/open\nparams=upn\n"
        );
        assert_eq!(
            shape("https://h/a/1234/x20240101y/v2?=1&b=2"),
            "path=/a/{n}/x{n}y/v2\nparams=b\n"
        );
    }

    #[test]
    fn hosts() {
        let host = |h: &str| {
            let mut out = Vec::new();
            write_host(&mut out, h);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(host("U1.CT.SendGrid.net."), "u1.ct.sendgrid.net");
        assert_eq!(host("a1b2c3d4e5f6a7b8.trk.example"), "{token}.trk.example");
    }

    /// The shape read off the text is the shape parsing gives, wherever it answers.
    #[test]
    fn plain_shapes_match_parsed_ones() {
        let urls = [
            "https://e.x.com/o/eJwFwUkOwzAIAMDfcIxqwEs?b=1&a=2&a=3&1700000=",
            "https://u1.ct.sendgrid.net/ls/click?upn=abc-DEF_1&x=&&y=%41#f",
            "http://Host.Example:8080/a/b;c=d/e.gif?q=1&r",
            "http://h/a/./b",
            "http://h/a/../b",
            "http://h/a/%2e%2E/b",
            "http://h/a/%2E/b?x=1",
            "https://h/x y",
            "https://h/\"q\"/<a>?k=1",
            "https://h\\a/b",
            "https://h?x=1",
            "https://h",
            "https:///a?x=1",
            "https:////a/b",
            "https://a@/b?x=1",
            "https://h:99999/a?x=1",
            "https://[::1]/a?x=1",
            "HTTPS://h/a?B=1",
            "https://h/a?%41=1&b+c=2",
            "https://h/a?\"k\"=1&<k>=2&k'=3",
            "https://999.1.1.1/a?x=1",
            "https://xn--zz/a?x=1",
            "https://h/caf\u{e9}?x=1",
            "https://h/a\tb?x=1",
            "https://user:pw@h:443/p/{t}/`c`?x=1",
            "https://h/p|q^r[s]?x=1",
            "https://h//a//b/?x=1&x=2",
            "mailto:a@b.example",
            "//cdn.x.com/wf/open?upn=abc#frag",
            "not a url",
        ];
        for raw in urls {
            if let Some((path, names)) = plain_shape(raw) {
                let owned = (
                    path.to_string(),
                    names.iter().map(|n| n.to_string()).collect(),
                );
                assert_eq!(owned, parsed_shape(raw), "{raw}");
            }
        }
        assert!(plain_shape(urls[0]).is_some() && plain_shape(urls[1]).is_some());
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

    /// A document's findings fingerprinted together (hash prefix shared, repeated shapes
    /// reused) get the values each gets alone.
    #[test]
    fn shared_document_state_changes_no_fingerprint() {
        use crate::model::{Kind, Party};
        let finding = |url: &str, host: &str, kind: Kind| {
            let mut f = Finding::new(
                url.into(),
                "a".into(),
                "href".into(),
                kind,
                host.into(),
                Party::First,
            );
            f.entity = Some("SendGrid".into());
            f
        };
        let findings = [
            finding(
                "https://l.x.com/ls/click?upn=abc",
                "l.x.com",
                Kind::TrackedLink,
            ),
            finding(
                "https://l.x.com/ls/click?upn=def",
                "l.x.com",
                Kind::TrackedLink,
            ),
            finding(
                "https://l.x.com/wf/open?upn=abc",
                "l.x.com",
                Kind::OpenPixel,
            ),
            finding(
                "https://l.x.com/ls/click?upn=ghi",
                "L.X.com",
                Kind::TrackedLink,
            ),
            finding(
                "https://l.x.com/ls/click?upn=abc",
                "l.x.com",
                Kind::OpenPixel,
            ),
        ];
        let mut shared = Fingerprints::new(Command::Eml, "mail:a@x.com\u{1f}hi");
        let got: Vec<String> = findings.iter().map(|f| shared.compute(f)).collect();
        for (f, fp) in findings.iter().zip(&got) {
            assert_eq!(fp, &compute_in(Command::Eml, "mail:a@x.com\u{1f}hi", f));
        }
        assert_eq!(got[0], got[1]);
        assert_ne!(got[0], got[2]);
        assert_ne!(got[0], got[4]);
    }
}
