//! The places in a URL that can carry a value (query parameters, a bare query, path
//! segments, the fragment), split once per URL, each decoded once and its structured token
//! (zlib, base32, JSON, JWT…) looked for only when something needs it.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::analyze::decode::{self, Decoding};

/// One place in a URL that can carry a value.
pub(super) struct Slot<'a> {
    /// Query parameter name (still percent-encoded), or `None` for path and fragment.
    pub(super) key: Option<&'a str>,
    /// 1-based position of a path segment (0 for query and fragment).
    pub(super) segment: usize,
    /// A bare query (`open.aspx?ffcb10-fe9c…`): one value with no parameter name.
    pub(super) bare: bool,
    pub(super) fragment: bool,
    pub(super) raw: &'a str,
    pub(super) decoded: Cow<'a, str>,
    /// The structured token in the value, once looked for.
    structure: std::cell::OnceCell<Option<Decoding>>,
}

impl Slot<'_> {
    pub(super) fn structure(&self) -> Option<&Decoding> {
        self.structure.get_or_init(|| structured(self)).as_ref()
    }
}

/// The places in a URL that can carry values, split once and shared by [`find_in`](super::find_in)
/// and [`decode_all_in`](super::decode_all_in).
pub struct Slots<'a>(pub(super) Vec<Slot<'a>>);

pub fn slots(url: &url::Url) -> Slots<'_> {
    Slots(split_slots(url))
}

impl Slot<'_> {
    /// `query:<param>`, `path` or `fragment`; built only when something is reported.
    pub(super) fn location(&self) -> String {
        match self.key {
            Some(k) => {
                // Most names hold no escape: nothing to decode.
                let k = if k.as_bytes().contains(&b'%') {
                    percent_decode_str(k).decode_utf8_lossy()
                } else {
                    Cow::Borrowed(k)
                };
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
    // Most URLs have a few slots: counting the separators to size the vector exactly cost
    // more than the rare growth past eight.
    let mut out = Vec::with_capacity(8);
    if let Some(q) = url.query() {
        for pair in split_at(q, b'&') {
            let eq = memchr::memchr(b'=', pair.as_bytes());
            let (k, v) = eq.map_or((pair, ""), |i| (&pair[..i], &pair[i + 1..]));
            if v.is_empty() {
                // A long bare value is an id written without a name (SFMC's open.aspx?…).
                if eq.is_none() && pair.len() >= 16 {
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

/// `s` cut at every `sep` (ASCII), like `str::split` but found with memchr: a query's long
/// tokens are scanned in vector steps.
fn split_at(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        let Some(i) = memchr::memchr(sep, r.as_bytes()) else {
            rest = None;
            return Some(r);
        };
        rest = Some(&r[i + 1..]);
        Some(&r[..i])
    })
}

/// Whether a value can hide an address only decoding finds (zlib, base32, JSON, JWT
/// shapes, or parts joined by `.`, `~`, `|`).
pub(super) fn might_hide_address(v: &str) -> bool {
    let v = decode::trim_start(v);
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
    let v = decode::trim(&slot.decoded);
    if v.len() < 8 || v.starts_with("http") {
        return None;
    }
    let v = strip_extension(v);
    decode::decode_token(v).or_else(|| {
        let b = v.as_bytes();
        if memchr::memchr3(b'.', b'~', b'|', b).is_none() && memchr::memchr(b':', b).is_none() {
            return None;
        }
        v.split(['.', '~', '|', ':'])
            .filter(|p| p.len() >= 12)
            .find_map(decode::decode_token)
    })
}

pub(super) fn strip_extension(v: &str) -> &str {
    // Every extension is a dot and at most four letters: only the last five bytes can hold
    // its dot, so a long token is not searched end to end for one.
    let b = v.as_bytes();
    let from = b.len().saturating_sub(5);
    let Some(dot) = b[from..].iter().rposition(|&c| c == b'.').map(|i| from + i) else {
        return v;
    };
    // Bytes, not a `str` slice: `v` may end in multi-byte characters; the dot is ASCII, so
    // cutting there leaves a char boundary.
    let ext = &b[dot..];
    let known = [
        ".gif", ".png", ".jpg", ".jpeg", ".webp", ".svg", ".bmp", ".ico", ".html", ".htm", ".php",
        ".aspx", ".jsp",
    ]
    .iter()
    .any(|e| ext.eq_ignore_ascii_case(e.as_bytes()));
    if dot > 0 && known {
        &v[..dot]
    } else {
        v
    }
}
