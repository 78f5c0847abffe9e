//! Identifiers a third party gets from the site itself: values of first-party cookies and
//! localStorage (whole, or a `.`/`|`/`:`/`~`-separated piece) found in a request's query,
//! path or body, as they are or URL-encoded, base64, SHA-256 or MD5.

use std::collections::HashSet;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use md5::Md5;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::{host_of, http_url};
use crate::analyze::decode;
use crate::analyze::identifiers::looks_like_token;
use crate::domain::registrable;
use crate::model::{Encoding, Identifier, IdentifierKind};
use crate::source::browser::observe::{Hop, PageObservation};

/// A first-party value that may be copied into third-party requests.
pub(super) struct Candidate {
    what: String,
    value: String,
    b64: [String; 2],
    sha256: String,
    md5: String,
}

impl Candidate {
    pub(super) fn new(what: String, value: String) -> Candidate {
        Candidate {
            b64: [
                STANDARD_NO_PAD.encode(value.as_bytes()),
                URL_SAFE_NO_PAD.encode(value.as_bytes()),
            ],
            sha256: hex(&Sha256::digest(value.as_bytes())),
            md5: hex(&Md5::digest(value.as_bytes())),
            what,
            value,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unique enough that finding it elsewhere is no coincidence: 8+ characters, varied, not a
/// word, a URL or a small number.
pub fn distinctive(v: &str) -> bool {
    let n = v.chars().count();
    if !(8..=512).contains(&n) || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if v.starts_with("http") || v.starts_with('/') || v.starts_with('{') || v.starts_with('[') {
        return false;
    }
    if v.chars().collect::<HashSet<_>>().len() < 5 {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let letters = v.chars().filter(|c| c.is_alphabetic()).count();
    if digits == 0 && !looks_like_token(v) {
        return false;
    }
    looks_like_token(v) || digits >= 6 || (digits >= 2 && letters >= 2 && n >= 10)
}

/// The value itself and its `.`/`|`/`:`/`~`-separated suffixes and prefixes (`_ga` is
/// `GA1.1.<client id>`, and the client id is what Google's `cid` carries).
fn pieces(value: &str) -> Vec<String> {
    fn push(out: &mut Vec<String>, s: &str, min: usize) {
        if s.len() >= min && distinctive(s) && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    let mut out: Vec<String> = Vec::new();
    let decoded = percent_decode_str(value).decode_utf8_lossy().into_owned();
    for v in [value, decoded.as_str()] {
        push(&mut out, v, 8);
        let seps: Vec<usize> = v
            .char_indices()
            .filter(|(_, c)| matches!(c, '.' | '|' | ':' | '~'))
            .map(|(i, _)| i)
            .collect();
        for &i in &seps {
            push(&mut out, &v[i + 1..], 10);
            push(&mut out, &v[..i], 10);
        }
    }
    out
}

fn json_leaves(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    if out.len() > 200 {
        return;
    }
    match v {
        Value::String(s) => out.push((path.to_string(), s.clone())),
        Value::Number(n) => out.push((path.to_string(), n.to_string())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate().take(50) {
                json_leaves(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o.iter().take(100) {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_leaves(x, &p, out);
            }
        }
        _ => {}
    }
}

pub(super) fn candidates(obs: &PageObservation, first_party: &[String]) -> Vec<Candidate> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out: Vec<Candidate> = Vec::new();
    let jars = obs
        .cookies
        .iter()
        .chain(obs.cookies_before_consent.iter().flatten());
    for c in jars {
        if !first_party.contains(&registrable(&c.domain)) {
            continue;
        }
        for p in pieces(&c.value) {
            if seen.insert(p.clone()) {
                out.push(Candidate::new(
                    format!("first-party cookie {} ({})", c.name, c.domain),
                    p,
                ));
            }
        }
    }
    let stores = obs
        .storage
        .iter()
        .chain(obs.storage_before_consent.iter().flatten());
    for (k, v) in stores {
        let mut values = vec![v.clone()];
        if let Ok(j) = serde_json::from_str::<Value>(v) {
            if j.is_object() || j.is_array() {
                let mut leaves = Vec::new();
                json_leaves(&j, "", &mut leaves);
                values = leaves.into_iter().map(|(_, x)| x).collect();
            }
        }
        for v in values {
            for p in pieces(&v) {
                if seen.insert(p.clone()) {
                    out.push(Candidate::new(format!("localStorage {k}"), p));
                }
            }
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.value.len()));
    out.truncate(300);
    out
}

/// The first (longest) candidate found in one slot, and how it is encoded there.
fn match_slot<'c>(
    raw: &str,
    decoded: &str,
    cands: &'c [Candidate],
) -> Option<(&'c Candidate, Encoding)> {
    let lower = decoded.to_ascii_lowercase();
    cands.iter().find_map(|c| {
        if raw.contains(&c.value) {
            Some((c, Encoding::Plain))
        } else if decoded.contains(&c.value) {
            Some((c, Encoding::Url))
        } else if c
            .b64
            .iter()
            .any(|b| b.len() >= 8 && decoded.contains(b.as_str()))
        {
            Some((c, Encoding::Base64))
        } else if lower.contains(&c.sha256) {
            Some((c, Encoding::Sha256))
        } else if lower.contains(&c.md5) {
            Some((c, Encoding::Md5))
        } else {
            None
        }
    })
}

fn pct(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Slots of a request: query parameters, the path, and the body's fields.
fn slots(url: &str, body: Option<&str>) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    if let Ok(u) = Url::parse(&http_url(url)) {
        out.push(("path".to_string(), u.path().to_string(), pct(u.path())));
        for pair in u.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.push((format!("query:{}", pct(k)), v.to_string(), pct(v)));
        }
    }
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        let t = b.trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            if let Ok(j) = serde_json::from_str::<Value>(t) {
                let mut leaves = Vec::new();
                json_leaves(&j, "", &mut leaves);
                for (k, v) in leaves {
                    out.push((format!("body:{k}"), v.clone(), v));
                }
                return out;
            }
        }
        if b.contains('=') && !b.contains(['<', '\n', '{']) {
            for pair in b.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                out.push((format!("body:{}", pct(k)), v.to_string(), pct(v)));
            }
        } else {
            out.push(("body".to_string(), b.to_string(), pct(b)));
        }
    }
    out
}

/// First-party identifiers that a request carries to a third party.
pub(super) fn shared_identifiers(hops: &[&Hop], cands: &[Candidate]) -> Vec<(Identifier, String)> {
    let mut out: Vec<(Identifier, String)> = Vec::new();
    if cands.is_empty() {
        return out;
    }
    for h in hops {
        let host = host_of(&h.url);
        for (loc, raw, decoded) in slots(&h.url, h.post_data.as_deref()) {
            if out.iter().any(|(i, _)| i.location == loc) {
                continue;
            }
            if let Some((c, enc)) = match_slot(&raw, &decoded, cands) {
                out.push((
                    Identifier {
                        location: loc.clone(),
                        kind: IdentifierKind::SharedIdentifier,
                        encoding: enc,
                        value: decode::shown(&c.value),
                    },
                    format!(
                        "{} copied into {loc} ({enc}) of a request to {host}",
                        c.what
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_pieces() {
        let p = pieces("GA1.1.5551234567.1700000000");
        assert!(p.contains(&"5551234567.1700000000".to_string()), "{p:?}");
        assert!(!p.contains(&"1700000000".to_string()));
        assert!(distinctive("v7Qm2xK9pL4sT8wZ"));
        assert!(!distinctive("granted"));
        assert!(!distinctive("true"));
        assert!(!distinctive("11111111"));
        assert!(!distinctive("/account/settings"));
    }

    #[test]
    fn finds_shared_values_in_urls_and_bodies() {
        let cands = vec![
            Candidate::new(
                "first-party cookie shop_vid (www.shop.test)".into(),
                "v7Qm2xK9pL4sT8wZ".into(),
            ),
            Candidate::new(
                "first-party cookie _ga (www.shop.test)".into(),
                "5551234567.1700000000".into(),
            ),
        ];
        let hop = Hop {
            url: "https://t.example/p?cid=5551234567.1700000000&b=djdRbTJ4SzlwTDRzVDh3Wg".into(),
            post_data: Some(r#"{"event":"x","visitor":"v7Qm2xK9pL4sT8wZ"}"#.into()),
            ..Default::default()
        };
        let found = shared_identifiers(&[&hop], &cands);
        let locs: Vec<(&str, Encoding)> = found
            .iter()
            .map(|(i, _)| (i.location.as_str(), i.encoding))
            .collect();
        assert!(locs.contains(&("query:cid", Encoding::Plain)), "{locs:?}");
        assert!(locs.contains(&("query:b", Encoding::Base64)), "{locs:?}");
        assert!(
            locs.contains(&("body:visitor", Encoding::Plain)),
            "{locs:?}"
        );
    }
}
