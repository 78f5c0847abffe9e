//! Decoding of structured tokens found in URLs, so a report can show what a pixel carries:
//! base64/base64url, zlib inside base64url (Mailgun `/o/eJ…`), base32, JSON and JWT-like
//! tokens. Every decoder is bounded: hostile tokens can't make us allocate much.

use std::io::Read;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::model::Encoding;

const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const B64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
const B64URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);

/// Inflated output is capped: a zlib bomb in a URL must not cost more than this.
const MAX_INFLATE: u64 = 64 * 1024;
/// Decoded text shown in reports is cut here.
const MAX_SHOWN: usize = 400;

/// Decodes base64 in either alphabet, with or without padding. Requires a plausible length.
pub fn base64_any(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() < 4 || s.len() % 4 == 1 || s.len() > 64 * 1024 {
        return None;
    }
    let url_safe = memchr::memchr2(b'-', b'_', s.as_bytes()).is_some();
    let std = memchr::memchr2(b'+', b'/', s.as_bytes()).is_some();
    if url_safe && std {
        return None;
    }
    if url_safe {
        B64URL.decode(s).ok()
    } else {
        B64.decode(s).ok()
    }
}

/// zlib or raw deflate, bounded.
pub fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if bytes.len() >= 2
        && bytes[0] == 0x78
        && (u16::from(bytes[0]) << 8 | u16::from(bytes[1])) % 31 == 0
    {
        let mut d = flate2::read::ZlibDecoder::new(bytes).take(MAX_INFLATE);
        if d.read_to_end(&mut out).is_ok() && !out.is_empty() {
            return Some(out);
        }
        // A truncated stream still yields what was decoded so far; keep it if any.
        return (!out.is_empty()).then_some(out);
    }
    None
}

/// RFC 4648 base32 (upper case, optional padding).
pub fn base32(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() < 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u64, 0u32);
    for b in s.bytes() {
        let v = if b.is_ascii_uppercase() {
            b - b'A'
        } else {
            b - b'2' + 26
        };
        buf = (buf << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Whether bytes are text a person could read (UTF-8, few control characters).
pub fn readable(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    if s.is_empty() {
        return None;
    }
    let total = s.chars().count();
    let odd = s
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    (odd * 20 <= total && total >= 3).then_some(s)
}

/// `str::trim` without its per-character Unicode test when both ends are visible ASCII, as
/// they are in nearly every value taken from a URL.
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// [`trim`] at the start only.
pub fn trim_start(s: &str) -> &str {
    if s.as_bytes().first().is_some_and(u8::is_ascii_graphic) {
        s
    } else {
        s.trim_start()
    }
}

/// What a token decodes to, if it decodes to something readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoding {
    pub encoding: Encoding,
    pub text: String,
}

/// Tries the structured encodings in order of specificity.
pub fn decode_token(token: &str) -> Option<Decoding> {
    let token = trim(token);
    if token.len() < 8 {
        return None;
    }
    if token.starts_with('{') && serde_json::from_str::<serde_json::Value>(token).is_ok() {
        return Some(Decoding {
            encoding: Encoding::Json,
            text: shown(token),
        });
    }
    if let Some(jwt) = jwt(token) {
        return Some(jwt);
    }
    let core = token.trim_end_matches('~');
    if plausible_base64_text(core) {
        if let Some(bytes) = base64_any(core) {
            if let Some(inflated) = inflate(&bytes) {
                if let Some(text) = readable(&inflated) {
                    return Some(Decoding {
                        encoding: Encoding::ZlibBase64,
                        text: shown(text),
                    });
                }
            }
            if let Some(text) = readable(&bytes) {
                // Plain words are valid base64 too ("newsletter" decodes to noise); insist
                // that the decoded text looks more structured than the token.
                if looks_meaningful(text) {
                    let encoding = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
                        Encoding::Base64Json
                    } else {
                        Encoding::Base64
                    };
                    return Some(Decoding {
                        encoding,
                        text: shown(text),
                    });
                }
            }
        }
    }
    if let Some(bytes) = base32(core) {
        if let Some(text) = readable(&bytes) {
            if looks_meaningful(text) {
                return Some(Decoding {
                    encoding: Encoding::Base32,
                    text: shown(text),
                });
            }
        }
    }
    None
}

/// Cheap rejection of random tokens: decode just the first 16 characters and require either
/// a zlib header or printable ASCII. Most per-recipient tokens are random bytes and fail here
/// without decoding the rest.
fn plausible_base64_text(s: &str) -> bool {
    let head = match s.get(..16) {
        Some(h) => h,
        None => s.get(..s.len() - s.len() % 4).unwrap_or(""),
    };
    if head.len() < 4 {
        return false;
    }
    let url = memchr::memchr2(b'-', b'_', head.as_bytes()).is_some();
    // Nine random tokens in ten are ruled out by their first three bytes, decoded by hand
    // from the first four digits: a prefix that cannot open text rules out the whole head.
    if first_bytes(head.as_bytes(), url).is_some_and(|b| !could_open_text(&b)) {
        return false;
    }
    // At most 16 characters: 12 bytes, decoded on the stack.
    let mut buf = [0u8; 12];
    let decoded = if url {
        B64URL.decode_slice(head, &mut buf)
    } else {
        B64.decode_slice(head, &mut buf)
    };
    decoded.is_ok_and(|n| could_open_text(&buf[..n]))
}

/// zlib, or the start of text `readable` could accept: valid UTF-8 (a character cut at the
/// end is fine) without control characters. Random bytes fail this in all but a few cases
/// in a thousand; when bytes fail it, so does anything that starts with them.
fn could_open_text(b: &[u8]) -> bool {
    (b.len() >= 2 && b[0] == 0x78)
        || (match std::str::from_utf8(b) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        } && b.iter().all(|&c| {
            c.is_ascii_graphic() || matches!(c, b' ' | b'\t' | b'\n' | b'\r') || c >= 0x80
        }))
}

/// The three bytes of the first four base64 digits of `head`, in the standard or the
/// URL-safe alphabet; `None` when one is not a digit (padding, another alphabet).
fn first_bytes(head: &[u8], url: bool) -> Option<[u8; 3]> {
    let mut n = 0u32;
    for &c in head.get(..4)? {
        let digit = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' if !url => 62,
            b'/' if !url => 63,
            b'-' if url => 62,
            b'_' if url => 63,
            _ => return None,
        };
        n = n << 6 | u32::from(digit);
    }
    Some([(n >> 16) as u8, (n >> 8) as u8, n as u8])
}

fn jwt(token: &str) -> Option<Decoding> {
    // The header opens the token: most tokens fail here, before any scan for a dot.
    if !token.starts_with("eyJ") {
        return None;
    }
    let mut parts = token.split('.');
    // The header part opens with the token's own `eyJ`.
    let (h, p) = (parts.next()?, parts.next()?);
    if !p.starts_with("eyJ") {
        return None;
    }
    let header = readable(&B64URL.decode(h).ok()?)?.to_string();
    let payload = readable(&B64URL.decode(p).ok()?)?.to_string();
    serde_json::from_str::<serde_json::Value>(&payload).ok()?;
    Some(Decoding {
        encoding: Encoding::Jwt,
        text: shown(&format!("{header}.{payload}")),
    })
}

/// Decoded text worth showing: mostly printable ASCII with some structure (separators,
/// `@`, `=`), not random bytes that happen to be valid UTF-8.
fn looks_meaningful(text: &str) -> bool {
    let n = text.chars().count();
    if n < 4 {
        return false;
    }
    let printable = text
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .count();
    let structure = text
        .chars()
        .filter(|c| {
            matches!(
                c,
                '@' | '=' | '&' | ':' | '"' | '{' | '|' | ',' | '.' | '_' | '-' | '/'
            )
        })
        .count();
    printable * 10 >= n * 9 && (structure > 0 || text.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Shown text: control characters escaped, length capped.
pub fn shown(s: &str) -> String {
    // Printable ASCII, checked without an early exit so that the loop is vectorised; only
    // other text needs the per-character test.
    let printable_ascii = s.bytes().fold(true, |ok, b| ok & (0x20..0x7f).contains(&b));
    let control = !printable_ascii && s.chars().any(char::is_control);
    if s.len() <= MAX_SHOWN && !control {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if out.len() >= MAX_SHOWN {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.push_str(&c.escape_default().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn mailgun_style_zlib_token() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"h=abc&r=jane.doe%40example.org&i=1").unwrap();
        let token = B64URL.encode(z.finish().unwrap());
        assert!(token.starts_with("eJ"));
        let d = decode_token(&token).unwrap();
        assert_eq!(d.encoding, Encoding::ZlibBase64);
        assert!(d.text.contains("r=jane.doe%40example.org"));
    }

    #[test]
    fn base64_json_and_jwt() {
        let t = B64.encode(r#"{"r":"jane@example.org","e":"open"}"#);
        assert_eq!(decode_token(&t).unwrap().encoding, Encoding::Base64Json);
        let jwt = format!(
            "{}.{}.sig",
            B64URL.encode(r#"{"alg":"HS256"}"#).trim_end_matches('='),
            B64URL.encode(r#"{"sub":"42"}"#).trim_end_matches('=')
        );
        let d = decode_token(&jwt).unwrap();
        assert_eq!(d.encoding, Encoding::Jwt);
        assert!(d.text.contains(r#""sub":"42""#));
    }

    #[test]
    fn base32_and_plain_words() {
        let d = decode_token("NJQW4ZJOMRXWKQDFPBQW24DMMUXG64TH").unwrap(); // jane.doe@example.org
        assert_eq!(
            (d.encoding, d.text.as_str()),
            (Encoding::Base32, "jane.doe@example.org")
        );
        assert_eq!(decode_token("newsletter"), None);
        assert_eq!(decode_token("spring-sale-2024"), None);
    }

    #[test]
    fn inflate_is_bounded() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![b'a'; 10 * 1024 * 1024]).unwrap();
        let out = inflate(&z.finish().unwrap()).unwrap();
        assert_eq!(out.len() as u64, MAX_INFLATE);
    }

    #[test]
    fn first_digits_reject_only_what_the_full_head_rejects() {
        // Random digits in both alphabets (some padding), and encoded near-text: the quick
        // rejection on the first four digits never changes the answer of the whole head.
        let digits = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) as usize
        };
        for i in 0..200_000 {
            let head: String = if i % 2 == 0 {
                (0..16)
                    .map(|_| digits[next() % digits.len()] as char)
                    .collect()
            } else {
                // Mostly printable bytes, some of any value.
                let bytes: Vec<u8> = (0..12)
                    .map(|_| match next() % 8 {
                        0 => next() as u8,
                        _ => 0x20 + (next() % 95) as u8,
                    })
                    .collect();
                if i % 4 == 1 {
                    B64.encode(bytes)
                } else {
                    B64URL.encode(bytes)
                }
            };
            let mut buf = [0u8; 12];
            let full = if head.contains(['-', '_']) {
                B64URL.decode_slice(&head, &mut buf)
            } else {
                B64.decode_slice(&head, &mut buf)
            };
            let expected = full.is_ok_and(|n| could_open_text(&buf[..n]));
            assert_eq!(plausible_base64_text(&head), expected, "{head}");
        }
    }

    #[test]
    fn shown_escapes_controls() {
        assert_eq!(shown("a\u{1b}[31mb"), "a\\u{1b}[31mb");
    }
}
