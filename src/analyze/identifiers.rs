//! Identifiers carried by a URL: the recipient's own address (plain, URL-encoded, base64,
//! zlib+base64, base32, or MD5/SHA-1/SHA-256 of the normalised address), other email
//! addresses, and opaque per-recipient tokens. Each is reported with the exact place
//! (`query:<param>`, `path`, `fragment`) and how it is encoded.

use std::borrow::Cow;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use md5::Md5;
use percent_encoding::percent_decode_str;
use regex::Regex;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::decode::{self, Decoding};
use crate::model::{Decoded, Identifier};

/// A recipient address with its encodings precomputed once per message.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Trimmed and lowercased: what senders hash.
    pub address: String,
    md5: String,
    sha1: String,
    sha256: String,
    /// Base64 substrings that appear wherever the address sits inside a larger base64 blob,
    /// whatever its byte alignment (three alignments × two alphabets).
    b64_needles: Vec<memchr::memmem::Finder<'static>>,
}

impl Recipient {
    pub fn new(address: &str) -> Recipient {
        let address = address.trim().trim_matches(['<', '>']).to_ascii_lowercase();
        let md5 = hex(&Md5::digest(address.as_bytes()));
        let sha1 = hex(&Sha1::digest(address.as_bytes()));
        let sha256 = hex(&Sha256::digest(address.as_bytes()));
        let mut b64_needles = Vec::new();
        for k in 0..3usize {
            let mut bytes = vec![b'x'; k];
            bytes.extend_from_slice(address.as_bytes());
            let enc = STANDARD_NO_PAD.encode(&bytes);
            let start = [0, 2, 3][k];
            let end = (8 * (k + address.len())) / 6;
            if end > start + 8 {
                let needle = &enc[start..end];
                b64_needles.push(memchr::memmem::Finder::new(needle).into_owned());
                let url = needle.replace('+', "-").replace('/', "_");
                if url != needle {
                    b64_needles.push(memchr::memmem::Finder::new(&url).into_owned());
                }
            }
        }
        Recipient {
            address,
            md5,
            sha1,
            sha256,
            b64_needles,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)[a-z0-9._%+\-]{1,64}@[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63})*\.[a-z]{2,24}")
            .unwrap()
    })
}

fn uuid_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").unwrap()
    })
}

/// Query parameters that describe the resource, never the person.
fn is_descriptive_param(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("utm_")
        || matches!(
            k.as_str(),
            "w" | "h"
                | "width"
                | "height"
                | "format"
                | "fm"
                | "q"
                | "quality"
                | "v"
                | "ver"
                | "version"
                | "lang"
                | "locale"
                | "size"
                | "fit"
                | "auto"
                | "crop"
                | "dpr"
                | "ext"
                | "type"
                | "s"
                | "sz"
                | "rect"
                | "bg"
                | "color"
                | "m"
        )
}

/// One place in a URL that can carry a value.
struct Slot<'a> {
    /// Query parameter name (still percent-encoded), or `None` for path and fragment.
    key: Option<&'a str>,
    /// 1-based position of a path segment (0 for query and fragment).
    segment: usize,
    /// A bare query (`open.aspx?ffcb10-fe9c…`): one value with no parameter name.
    bare: bool,
    fragment: bool,
    raw: &'a str,
    decoded: Cow<'a, str>,
    /// The structured token in the value, once looked for.
    structure: std::cell::OnceCell<Option<Decoding>>,
}

impl Slot<'_> {
    fn structure(&self) -> Option<&Decoding> {
        self.structure.get_or_init(|| structured(self)).as_ref()
    }
}

/// The places in a URL that can carry values, split once and shared by [`find_in`] and
/// [`decode_all_in`].
pub struct Slots<'a>(Vec<Slot<'a>>);

pub fn slots(url: &url::Url) -> Slots<'_> {
    Slots(split_slots(url))
}

impl Slot<'_> {
    /// `query:<param>`, `path` or `fragment`; built only when something is reported.
    fn location(&self) -> String {
        match self.key {
            Some(k) => {
                let k = percent_decode_str(k).decode_utf8_lossy();
                let mut s = String::with_capacity(6 + k.len());
                s.push_str("query:");
                s.push_str(&k);
                s
            }
            None if self.fragment => "fragment".to_string(),
            None if self.bare => "query".to_string(),
            None => format!("path:{}", self.segment),
        }
    }
}

fn decode_component(raw: &str, plus_is_space: bool) -> Cow<'_, str> {
    if memchr::memchr2(b'%', b'+', raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    if plus_is_space && raw.contains('+') {
        return Cow::Owned(
            percent_decode_str(&raw.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned(),
        );
    }
    percent_decode_str(raw).decode_utf8_lossy()
}

fn split_slots(url: &url::Url) -> Vec<Slot<'_>> {
    let mut out = Vec::new();
    if let Some(q) = url.query() {
        for pair in q.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if v.is_empty() {
                // A long bare value is an id written without a name (SFMC's open.aspx?…).
                if !pair.contains('=') && pair.len() >= 16 {
                    out.push(Slot {
                        key: None,
                        segment: 0,
                        bare: true,
                        fragment: false,
                        raw: pair,
                        decoded: decode_component(pair, true),
                        structure: Default::default(),
                    });
                }
                continue;
            }
            out.push(Slot {
                key: Some(k),
                segment: 0,
                bare: false,
                fragment: false,
                raw: v,
                decoded: decode_component(v, true),
                structure: Default::default(),
            });
        }
    }
    if let Some(segs) = url.path_segments() {
        for (i, s) in segs.enumerate().filter(|(_, s)| !s.is_empty()) {
            out.push(Slot {
                key: None,
                segment: i + 1,
                bare: false,
                fragment: false,
                raw: s,
                decoded: decode_component(s, false),
                structure: Default::default(),
            });
        }
    }
    if let Some(f) = url.fragment().filter(|f| !f.is_empty()) {
        out.push(Slot {
            key: None,
            segment: 0,
            bare: false,
            fragment: true,
            raw: f,
            decoded: decode_component(f, false),
            structure: Default::default(),
        });
    }
    out
}

/// The result of looking at one URL.
#[derive(Debug, Default)]
pub struct UrlIdentifiers {
    pub identifiers: Vec<Identifier>,
}

impl UrlIdentifiers {
    pub fn has_recipient(&self) -> bool {
        self.identifiers
            .iter()
            .any(|i| i.kind == "recipient-email" || i.kind == "recipient-email-hash")
    }
}

/// Finds identifiers in `url`. `rule_params` are parameters a matching rule says carry a
/// per-recipient id even when they look short or plain.
pub fn find(url: &url::Url, recipients: &[Recipient], rule_params: &[String]) -> UrlIdentifiers {
    find_in(&slots(url), recipients, rule_params)
}

/// [`find`] over slots already split.
pub fn find_in(
    slots: &Slots<'_>,
    recipients: &[Recipient],
    rule_params: &[String],
) -> UrlIdentifiers {
    let mut out = UrlIdentifiers::default();
    // A fragment never leaves the client: whatever it holds reaches no server.
    for slot in slots.0.iter().filter(|s| !s.fragment) {
        // Decoding is cheap to skip: only zlib, base32, JSON and JWT shapes need it to find
        // a recipient (base64 at any alignment is found by the needles without decoding).
        let decoding = if might_hide_address(&slot.decoded) {
            slot.structure()
        } else {
            None
        };
        if let Some(id) = identify(slot, decoding, recipients, rule_params) {
            out.identifiers.push(id);
        }
    }
    out
}

/// Every structured token in `url`, decoded for display.
pub fn decode_all(url: &url::Url) -> Vec<Decoded> {
    decode_all_in(&slots(url))
}

/// [`decode_all`] over slots already split; tokens decoded by [`find_in`] are not decoded
/// again.
pub fn decode_all_in(slots: &Slots<'_>) -> Vec<Decoded> {
    slots
        .0
        .iter()
        .filter_map(|slot| {
            slot.structure().map(|d| Decoded {
                location: slot.location(),
                encoding: d.encoding,
                text: d.text.clone(),
            })
        })
        .collect()
}

fn might_hide_address(v: &str) -> bool {
    let v = v.trim_start();
    v.len() >= 8
        && (v.starts_with("eJ")
            || v.starts_with("eN")
            || v.starts_with("eF")
            || v.starts_with("eA")
            || v.starts_with("eyJ")
            || v.starts_with('{')
            || v.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b) || b == b'=')
            || memchr::memchr3(b'.', b'~', b'|', v.as_bytes()).is_some())
}

/// A decodable token in the slot: the whole value, or one of its `.`/`~`/`|`-separated parts.
fn structured(slot: &Slot<'_>) -> Option<Decoding> {
    let v = slot.decoded.trim();
    if v.len() < 8 || v.starts_with("http") {
        return None;
    }
    let v = strip_extension(v);
    decode::decode_token(v).or_else(|| {
        if memchr::memchr3(b'.', b'~', b'|', v.as_bytes()).is_none() && !v.contains(':') {
            return None;
        }
        v.split(['.', '~', '|', ':'])
            .filter(|p| p.len() >= 12)
            .find_map(decode::decode_token)
    })
}

fn strip_extension(v: &str) -> &str {
    let Some(dot) = v.rfind('.') else { return v };
    if v.len() - dot > 5 {
        return v;
    }
    for ext in [
        ".gif", ".png", ".jpg", ".jpeg", ".webp", ".svg", ".bmp", ".ico", ".html", ".htm", ".php",
        ".aspx", ".jsp",
    ] {
        // Bytes, not a `str` slice: `v` may end in multi-byte characters; a matched
        // extension is ASCII, so cutting it off leaves a char boundary.
        if v.len() > ext.len()
            && v.as_bytes()[v.len() - ext.len()..].eq_ignore_ascii_case(ext.as_bytes())
        {
            return &v[..v.len() - ext.len()];
        }
    }
    v
}

/// Whether `text` holds `address` as a whole address: not glued inside a longer run of
/// address characters (`…2366aphishing@pot6` does not hold `phishing@pot`; a template's hash
/// happens to contain it).
fn contains_address(text: &str, address: &str) -> bool {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, address.as_bytes()).any(|at| {
        let before = at.checked_sub(1).map(|i| b[i]);
        let after = b.get(at + address.len()).copied();
        let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'+' | b'-');
        let host = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
        !before.is_some_and(local) && !after.is_some_and(host)
    })
}

#[cfg(test)]
#[test]
fn addresses_are_whole() {
    assert!(contains_address(
        "/o/jane.doe@example.org/x",
        "jane.doe@example.org"
    ));
    assert!(contains_address(
        "u=jane.doe@example.org&x=1",
        "jane.doe@example.org"
    ));
    assert!(contains_address(
        "jane.doe@example.org",
        "jane.doe@example.org"
    ));
    assert!(!contains_address(
        "/p/2366ajane.doe@example.org6/",
        "jane.doe@example.org"
    ));
    assert!(!contains_address(
        "mary.jane.doe@example.org",
        "jane.doe@example.org"
    ));
}

fn identify(
    slot: &Slot<'_>,
    decoding: Option<&Decoding>,
    recipients: &[Recipient],
    rule_params: &[String],
) -> Option<Identifier> {
    let id = |kind: &'static str, encoding: &'static str, value: &str| Identifier {
        location: slot.location(),
        kind,
        encoding,
        value: decode::shown(value),
    };
    let decoded: &str = &slot.decoded;
    let has_at = memchr::memchr(b'@', decoded.as_bytes()).is_some();
    // `%40` left after decoding: the address was encoded twice.
    let twice_encoded = memchr::memmem::find(decoded.as_bytes(), b"%40").is_some();
    let lower = (has_at || twice_encoded).then(|| decoded.to_ascii_lowercase());
    // A `+` in a query value reads as a space, but senders also paste plus-addresses
    // (`jane+news@example.org`) into a query unencoded: look for the recipient both ways.
    let plus_literal = (slot.key.is_some() && has_at && slot.raw.contains('+')).then(|| {
        percent_decode_str(slot.raw)
            .decode_utf8_lossy()
            .to_ascii_lowercase()
    });
    // Hex digests: only runs of 32+ hex digits can hold one; most tokens have none.
    let long_hex: Vec<String> = if decoded.len() >= 32 && has_hex_run(decoded) {
        hex_runs(decoded).map(str::to_ascii_lowercase).collect()
    } else {
        Vec::new()
    };
    for r in recipients {
        if let Some(lower) = &lower {
            // Plain or URL-encoded (once or twice).
            if has_at
                && (contains_address(lower, &r.address)
                    || plus_literal
                        .as_deref()
                        .is_some_and(|l| contains_address(l, &r.address)))
            {
                let enc = if slot.raw.contains('@') {
                    "plain"
                } else {
                    "url"
                };
                return Some(id("recipient-email", enc, &r.address));
            }
            if twice_encoded {
                let twice = percent_decode_str(lower)
                    .decode_utf8_lossy()
                    .to_ascii_lowercase();
                if contains_address(&twice, &r.address) {
                    return Some(id("recipient-email", "url", &r.address));
                }
            }
        }
        // Hex digests of the normalised address.
        for run in &long_hex {
            for (digest, name) in [(&r.sha256, "sha256"), (&r.sha1, "sha1"), (&r.md5, "md5")] {
                if run.contains(digest.as_str()) {
                    return Some(id("recipient-email-hash", name, digest));
                }
            }
        }
        // Inside a decoded structure (zlib, base32, JSON, JWT).
        if let Some(d) = decoding {
            let text = d.text.to_ascii_lowercase();
            if text.contains(&r.address)
                || percent_decode_str(&text)
                    .decode_utf8_lossy()
                    .to_ascii_lowercase()
                    .contains(&r.address)
            {
                return Some(id("recipient-email", encoding_of(d), &r.address));
            }
        }
        // Base64 at any alignment, alone or inside a longer blob.
        // When nothing was decoded, `decoded` is `raw`: search it once.
        let same = matches!(slot.decoded, Cow::Borrowed(_));
        if slot.raw.len() >= 12
            && r.b64_needles.iter().any(|n| {
                n.find(slot.raw.as_bytes()).is_some()
                    || (!same && n.find(decoded.as_bytes()).is_some())
            })
        {
            return Some(id("recipient-email", "base64", &r.address));
        }
    }
    // Someone else's address (the sender's, a list address) is still personal data.
    if has_at {
        if let Some(m) = find_address(decoded) {
            let enc = if slot.raw.contains('@') {
                "plain"
            } else {
                "url"
            };
            return Some(id("email", enc, m.as_str()));
        }
    }
    if let Some(d) = decoding {
        if d.text.contains('@') {
            if let Some(m) = find_address(&d.text) {
                return Some(id("email", encoding_of(d), m.as_str()));
            }
        }
    }
    // An address spelled in hex (`726f…6d.gif`): decode the runs and look for one.
    if decoded.len() >= 16 {
        if let Some(addr) = hex_address(strip_extension(decoded)) {
            let kind = if recipients.iter().any(|r| r.address == addr) {
                "recipient-email"
            } else {
                "email"
            };
            return Some(id(kind, "hex", &addr));
        }
    }
    let named = slot.key.is_some_and(|k| rule_params.iter().any(|p| p == k))
        || (slot.key.is_none() && !slot.fragment && rule_params.iter().any(|p| p == "path"));
    // A rule naming `path` means the ids in it, not its literal words (`openmail`).
    let literal_word = slot.key.is_none()
        && decoded
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_' || b == b'.');
    if named && decoded.trim().len() >= 4 && !literal_word {
        return Some(id("recipient-token", "opaque", decoded));
    }
    if slot.key.is_some_and(is_descriptive_param) {
        return None;
    }
    // A token is only an identifier of unknown scope here: content hashes, CDN folder ids
    // and resizer ids look the same. The caller upgrades it to `recipient-token` on
    // evidence (it recurs in the message's links).
    if let Some(d) = decoding {
        if d.encoding != "json" {
            return Some(id(UNVERIFIED, d.encoding, decoded));
        }
    }
    let value = if slot.key.is_none() {
        strip_extension(decoded)
    } else {
        decoded
    };
    looks_like_token(value).then(|| id(UNVERIFIED, "opaque", value))
}

/// The first email address in `text`, skipping file names that hold `@`.
fn find_address(text: &str) -> Option<regex::Match<'_>> {
    email_re().find_iter(text).find(|m| is_address(m.as_str()))
}

/// Not a file name that happens to hold `@` (`logo@2x.png`).
fn is_address(m: &str) -> bool {
    let tld = m.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    !matches!(
        tld.as_str(),
        "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "webp"
            | "svg"
            | "bmp"
            | "ico"
            | "css"
            | "js"
            | "html"
            | "htm"
            | "php"
    )
}

/// The kind of an opaque token with no evidence of being per-recipient.
pub const UNVERIFIED: &str = "identifier";

/// Kinds that tie a request to one recipient (or, on a web page, one visitor).
pub fn is_personal(kind: &str) -> bool {
    matches!(
        kind,
        "recipient-email" | "recipient-email-hash" | "recipient-token" | "visitor-id"
    )
}

/// An email address hidden in a run of hex digits (ASCII bytes, two digits each).
fn hex_address(v: &str) -> Option<String> {
    // '@' is 0x40: no "40" in the run, no address.
    let run = v
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|r| r.len() >= 16 && r.len() % 2 == 0 && r.contains("40"))?;
    let bytes: Vec<u8> = (0..run.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&run[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    if !bytes.iter().all(|b| b.is_ascii_graphic()) || !bytes.contains(&b'@') {
        return None;
    }
    let text = std::str::from_utf8(&bytes).ok()?;
    find_address(text).map(|m| m.as_str().to_ascii_lowercase())
}

/// How an address inside a decoded token was encoded, in the contract's terms.
fn encoding_of(d: &Decoding) -> &'static str {
    match d.encoding {
        "base64-json" | "jwt" => "base64",
        "json" => "plain",
        other => other,
    }
}

/// Maximal runs of hex digits at least as long as an MD5.
fn hex_runs(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|r| r.len() >= 32)
}

/// Whether `s` has a run of 32+ hex digits; cheaper than [`hex_runs`] when it has none.
/// Checks each 32-byte window from its end: one non-hex byte rules out every window that
/// holds it, so a random token costs a few reads per 32 bytes.
fn has_hex_run(s: &str) -> bool {
    const N: usize = 32;
    let b = s.as_bytes();
    let mut start = 0;
    'window: while start + N <= b.len() {
        for j in (start..start + N).rev() {
            if !b[j].is_ascii_hexdigit() {
                start = j + 1;
                continue 'window;
            }
        }
        return true;
    }
    false
}

/// An opaque value unique enough to tell one recipient from another: a UUID, a long hex
/// string, a long mixed-case/digit token with high entropy, or a long number that is not a
/// timestamp. Slugs made of words (`spring-sale-2024`) are not tokens.
pub fn looks_like_token(v: &str) -> bool {
    let v = v.trim();
    if v.len() >= 36 && v.bytes().filter(|&b| b == b'-').count() >= 4 && uuid_re().is_match(v) {
        return true;
    }
    if v.len() < 16 || v.len() > 4096 {
        if v.len() >= 10 && v.len() < 16 && v.bytes().all(|b| b.is_ascii_digit()) {
            return !is_timestamp(v);
        }
        return false;
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_=+/.~%".contains(&b))
    {
        return false;
    }
    if v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return true;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return !is_timestamp(v);
    }
    if is_wordy(v) {
        return false;
    }
    let classes = [
        v.bytes().any(|b| b.is_ascii_lowercase()),
        v.bytes().any(|b| b.is_ascii_uppercase()),
        v.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    classes >= 2 && entropy(v) >= 3.5
}

fn is_timestamp(v: &str) -> bool {
    match v.len() {
        10 => v
            .parse::<u64>()
            .is_ok_and(|n| (1_000_000_000..2_200_000_000).contains(&n)),
        13 => v
            .parse::<u64>()
            .is_ok_and(|n| (1_000_000_000_000..2_200_000_000_000).contains(&n)),
        _ => false,
    }
}

/// Made of dictionary-like parts: `Spring-Sale-2024`, `product_photo_large`.
fn is_wordy(v: &str) -> bool {
    let mut parts = v.split(['-', '_', '.', '+', '~']).filter(|p| !p.is_empty());
    parts.clone().nth(1).is_some()
        && parts.all(|p| {
            let b = p.as_bytes();
            (b.iter().all(u8::is_ascii_digit) && b.len() <= 8)
                || (b.len() <= 14
                    && b.iter().skip(1).all(u8::is_ascii_lowercase)
                    && b[0].is_ascii_alphabetic())
                || (b.len() <= 6 && b.iter().all(u8::is_ascii_uppercase))
        })
}

fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[b as usize] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_runs_of_32_anywhere() {
        let run = "0123456789abcdefABCDEF0123456789";
        assert_eq!(run.len(), 32);
        for s in [
            run.to_string(),
            format!("x{run}"),
            format!("{run}-"),
            format!("zz-{run}-zz"),
            format!("g{}0{}", &run[..20], &run[..31]),
        ] {
            assert!(has_hex_run(&s), "{s}");
        }
        for s in [&run[..31], "0123456789abcdefg0123456789abcdef", "", "zzzz"] {
            assert!(!has_hex_run(s), "{s}");
        }
        assert!(!has_hex_run(&format!("{}g{}", &run[..31], &run[..31])));
    }
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::io::Write;

    const ADDR: &str = "Jane.Doe@Example.org";

    fn ids(url: &str) -> Vec<Identifier> {
        let u = url::Url::parse(url).unwrap();
        find(&u, &[Recipient::new(ADDR)], &[]).identifiers
    }

    fn one(url: &str) -> (String, &'static str, &'static str) {
        let v = ids(url);
        assert_eq!(v.len(), 1, "{url}: {v:?}");
        (v[0].location.clone(), v[0].kind, v[0].encoding)
    }

    #[test]
    fn recipient_plain_and_url_encoded() {
        assert_eq!(
            one("https://t.example/o.gif?e=jane.doe@example.org"),
            ("query:e".into(), "recipient-email", "plain")
        );
        assert_eq!(
            one("https://t.example/o.gif?recipient=jane.doe%40example.org"),
            ("query:recipient".into(), "recipient-email", "url")
        );
        assert_eq!(
            one("https://t.example/o.gif?r=jane.doe%2540example.org"),
            ("query:r".into(), "recipient-email", "url")
        );
        assert_eq!(
            one("https://t.example/u/JANE.DOE%40EXAMPLE.ORG/o.gif"),
            ("path:2".into(), "recipient-email", "url")
        );
    }

    #[test]
    fn recipient_plus_address_in_a_query_unencoded() {
        // Found by tests/props.rs: `+` reads as a space in a query, so the literal address
        // was missed (and a shortened one reported as someone else's).
        let f = find(
            &url::Url::parse("https://t.example/o.gif?e=jane+news@example.org").unwrap(),
            &[Recipient::new("jane+news@example.org")],
            &[],
        );
        assert_eq!(f.identifiers.len(), 1, "{f:?}");
        assert_eq!(
            (f.identifiers[0].kind, f.identifiers[0].encoding),
            ("recipient-email", "plain")
        );
        let f = find(
            &url::Url::parse("https://t.example/o.gif?e=jane%2Bnews%40example.org").unwrap(),
            &[Recipient::new("jane+news@example.org")],
            &[],
        );
        assert_eq!(f.identifiers[0].encoding, "url");
    }

    #[test]
    fn recipient_base64_any_alignment() {
        for prefix in ["", "x", "xy", "uid=42;email="] {
            let token = STANDARD_NO_PAD.encode(format!("{prefix}jane.doe@example.org;c=7"));
            let (loc, kind, enc) = one(&format!("https://t.example/p?d={token}"));
            assert_eq!(
                (loc.as_str(), kind, enc),
                ("query:d", "recipient-email", "base64"),
                "{prefix}"
            );
        }
        let seg = URL_SAFE_NO_PAD.encode("jane.doe@example.org");
        assert_eq!(
            one(&format!("https://t.example/q/{seg}~~")),
            ("path:2".into(), "recipient-email", "base64")
        );
    }

    #[test]
    fn recipient_zlib_base64() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"h=1&r=jane.doe%40example.org").unwrap();
        let token = URL_SAFE_NO_PAD.encode(z.finish().unwrap());
        assert_eq!(
            one(&format!("https://e.shop.example/o/{token}")),
            ("path:2".into(), "recipient-email", "zlib-base64")
        );
    }

    #[test]
    fn recipient_hashes() {
        let a = "jane.doe@example.org";
        let md5 = hex(&Md5::digest(a));
        let sha1 = hex(&Sha1::digest(a));
        let sha256 = hex(&Sha256::digest(a));
        assert_eq!(one(&format!("https://t.example/p?h={md5}")).2, "md5");
        assert_eq!(
            one(&format!("https://t.example/p?h={}", sha1.to_uppercase())).2,
            "sha1"
        );
        assert_eq!(
            one(&format!("https://t.example/p?dtm_email_hash={sha256}")),
            (
                "query:dtm_email_hash".into(),
                "recipient-email-hash",
                "sha256"
            )
        );
    }

    #[test]
    fn other_emails_and_tokens() {
        assert_eq!(
            one("https://t.example/p?from=news%40brand.example").1,
            "email"
        );
        // Without the SendGrid rule naming `upn`, the token's scope is unknown.
        assert_eq!(
            one("https://t.example/wf/open?upn=u001.Xk9aTq7PzLw3Rb5Vn2Mc8Hd"),
            ("query:upn".into(), UNVERIFIED, "opaque")
        );
        // Without a rule or recurrence, a token's scope is unknown: an asset hash looks
        // the same as a per-recipient id.
        assert_eq!(
            one("https://t.example/o/550e8400-e29b-41d4-a716-446655440000.gif").1,
            UNVERIFIED
        );
        assert_eq!(
            one("https://mailtrack.io/trace/mail/3f8a9c2be17d4e6fa0b1c2d3e4f5a6b7.png").1,
            UNVERIFIED
        );
    }

    #[test]
    fn addresses_in_hex_and_not_file_names() {
        // "jane.doe@example.org" as hex digits, as a pixel's file name.
        let hexed: String = "jane.doe@example.org"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let (_, kind, enc) = one(&format!("https://t.example/{hexed}.gif"));
        assert_eq!((kind, enc), ("recipient-email", "hex"));
        let u = url::Url::parse(&format!("https://t.example/{hexed}.gif")).unwrap();
        assert_eq!(find(&u, &[], &[]).identifiers[0].kind, "email");
        // A retina asset name is not an address.
        assert!(ids("https://cdn.example/img/logo@2x.png").is_empty());
    }

    #[test]
    fn not_identifiers() {
        assert!(
            ids("https://cdn.example/img/spring-sale-2024/hero_image_large.jpg?w=600&h=400")
                .is_empty()
        );
        assert!(ids("https://cdn.example/spacer.gif").is_empty());
        assert!(ids(
            "https://brand.example/p?utm_source=newsletter&utm_campaign=Xk9aTq7PzLw3Rb5Vn2Mc8Hd"
        )
        .is_empty());
        assert!(ids("https://brand.example/p?ts=1700000000").is_empty());
        assert!(ids("https://brand.example/Products/Summer-Collection-Women").is_empty());
    }

    #[test]
    fn multibyte_endings_do_not_panic() {
        // Found by the url_identifiers fuzzer: `strip_extension` sliced inside a character.
        assert_eq!(strip_extension("a€.bc"), "a€.bc");
        assert_eq!(strip_extension("€.p\u{fffd}"), "€.p\u{fffd}");
        assert_eq!(strip_extension("tok€.GIF"), "tok€");
        let u = url::Url::parse(
            "https://t.example/h2dca0b3495d655a16d99f6e4846eee55c.p%8C%8B%92%8Dk.it/x",
        )
        .unwrap();
        let _ = find(&u, &[Recipient::new(ADDR)], &[]);
        let _ = decode_all(&u);
    }

    #[test]
    fn rule_params_count_even_when_short() {
        let u = url::Url::parse("https://t.example/open?id=a1b2").unwrap();
        let f = find(&u, &[], &["id".to_string()]);
        assert_eq!(f.identifiers[0].kind, "recipient-token");
    }

    #[test]
    fn decoded_tokens_are_reported() {
        let t = STANDARD_NO_PAD.encode(r#"{"r":"jane.doe@example.org","post_id":1}"#);
        let u = url::Url::parse(&format!("https://substack.com/o/open?token={t}")).unwrap();
        let f = find(&u, &[Recipient::new(ADDR)], &[]);
        assert_eq!(f.identifiers[0].encoding, "base64");
        assert_eq!(decode_all(&u)[0].encoding, "base64-json");
    }
}
