//! The recipient's own address in a slot, in every encoding senders use: plain,
//! URL-encoded (once or twice), MD5/SHA-1/SHA-256 of the normalised address, inside a decoded
//! structure, or base64 at any byte alignment (found by precomputed needles, no decoding).

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use md5::Md5;
use percent_encoding::percent_decode_str;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::slots::Slot;
use super::token::{has_hex_run, hex_runs};
use super::{encoding_of, found};
use crate::analyze::decode::Decoding;
use crate::model::{Encoding, Identifier, IdentifierKind};

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

pub(super) fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// What a slot's value offers the address checks, computed once for every recipient.
pub(super) struct Views {
    pub(super) has_at: bool,
    /// `%40` left after decoding: the address was encoded twice.
    twice_encoded: bool,
    lower: Option<String>,
    /// A `+` in a query value reads as a space, but senders also paste plus-addresses
    /// (`jane+news@example.org`) into a query unencoded: the value with `+` kept.
    plus_literal: Option<String>,
    /// Hex digests: only runs of 32+ hex digits can hold one; most tokens have none.
    long_hex: Vec<String>,
}

impl Views {
    pub(super) fn of(slot: &Slot<'_>) -> Views {
        let decoded: &str = &slot.decoded;
        let (has_at, twice_encoded) = at_signs(decoded.as_bytes());
        Views {
            has_at,
            twice_encoded,
            lower: (has_at || twice_encoded).then(|| decoded.to_ascii_lowercase()),
            plus_literal: (slot.key.is_some() && has_at && slot.raw.contains('+')).then(|| {
                percent_decode_str(slot.raw)
                    .decode_utf8_lossy()
                    .to_ascii_lowercase()
            }),
            long_hex: if decoded.len() >= 32 && has_hex_run(decoded) {
                hex_runs(decoded).map(str::to_ascii_lowercase).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Whether `b` holds `@`, and whether it holds `%40`, found in one scan: most values hold
/// neither.
fn at_signs(b: &[u8]) -> (bool, bool) {
    let (mut at, mut encoded) = (false, false);
    for i in memchr::memchr2_iter(b'@', b'%', b) {
        if b[i] == b'@' {
            at = true;
        } else {
            encoded |= b[i + 1..].starts_with(b"40");
        }
        if at && encoded {
            break;
        }
    }
    (at, encoded)
}

/// The recipient `r` in the slot: plain, URL-encoded (once or twice), hashed, inside a
/// decoded structure, or base64 at any alignment.
pub(super) fn recipient_in(
    slot: &Slot<'_>,
    views: &Views,
    decoding: Option<&Decoding>,
    r: &Recipient,
) -> Option<Identifier> {
    if let Some(enc) = address_spelled(slot, views, r) {
        return Some(found(slot, IdentifierKind::RecipientEmail, enc, &r.address));
    }
    // Hex digests of the normalised address.
    for run in &views.long_hex {
        for (digest, name) in [
            (&r.sha256, Encoding::Sha256),
            (&r.sha1, Encoding::Sha1),
            (&r.md5, Encoding::Md5),
        ] {
            if run.contains(digest.as_str()) {
                return Some(found(
                    slot,
                    IdentifierKind::RecipientEmailHash,
                    name,
                    digest,
                ));
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
            return Some(found(
                slot,
                IdentifierKind::RecipientEmail,
                encoding_of(d),
                &r.address,
            ));
        }
    }
    // Base64 at any alignment, alone or inside a longer blob.
    // When nothing was decoded, `decoded` is `raw`: search it once.
    let same = matches!(slot.decoded, Cow::Borrowed(_));
    (slot.raw.len() >= 12
        && r.b64_needles.iter().any(|n| {
            n.find(slot.raw.as_bytes()).is_some()
                || (!same && n.find(slot.decoded.as_bytes()).is_some())
        }))
    .then(|| {
        found(
            slot,
            IdentifierKind::RecipientEmail,
            Encoding::Base64,
            &r.address,
        )
    })
}

/// How the slot spells the recipient's address itself: plain, or URL-encoded (once or
/// twice). `None` when it does not.
fn address_spelled(slot: &Slot<'_>, views: &Views, r: &Recipient) -> Option<Encoding> {
    let lower = views.lower.as_deref()?;
    if views.has_at
        && (contains_address(lower, &r.address)
            || views
                .plus_literal
                .as_deref()
                .is_some_and(|l| contains_address(l, &r.address)))
    {
        return Some(if slot.raw.contains('@') {
            Encoding::Plain
        } else {
            Encoding::Url
        });
    }
    if views.twice_encoded {
        let twice = percent_decode_str(lower)
            .decode_utf8_lossy()
            .to_ascii_lowercase();
        if contains_address(&twice, &r.address) {
            return Some(Encoding::Url);
        }
    }
    None
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
