//! Identifiers carried by a URL: the recipient's own address (plain, URL-encoded, base64,
//! zlib+base64, base32, or MD5/SHA-1/SHA-256 of the normalised address), other email
//! addresses, and opaque per-recipient tokens. Each is reported with the exact place
//! (`query:<param>`, `path`, `fragment`) and how it is encoded.
//!
//! * this module: what a slot holds ([`find`]), in the order a recipient's own address wins
//!   over someone else's, and an address over a token;
//! * `recipient`: the recipient's own address, in every encoding;
//! * `slots`: the places in a URL that carry values, split and decoded once;
//! * `token`: whether a value is an opaque per-person token, and hex runs.

mod recipient;
mod slots;
mod token;

use std::sync::OnceLock;

use regex::Regex;

use super::decode::{self, Decoding};
use crate::model::{Decoded, Encoding, Identifier, IdentifierKind};
pub use recipient::Recipient;
use recipient::{recipient_in, Views};
use slots::{might_hide_address, strip_extension, Slot};
pub use slots::{slots, Slots};
use token::hex_address;
pub use token::looks_like_token;

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)[a-z0-9._%+\-]{1,64}@[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63})*\.[a-z]{2,24}")
            .unwrap()
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

/// The result of looking at one URL.
#[derive(Debug, Default)]
pub struct UrlIdentifiers {
    pub identifiers: Vec<Identifier>,
}

impl UrlIdentifiers {
    pub fn has_recipient(&self) -> bool {
        self.identifiers.iter().any(|i| {
            matches!(
                i.kind,
                IdentifierKind::RecipientEmail | IdentifierKind::RecipientEmailHash
            )
        })
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

/// The identifier a slot holds, if any: the recipient's address in any encoding, someone
/// else's address, a token a rule names, or a token of unknown scope.
fn identify(
    slot: &Slot<'_>,
    decoding: Option<&Decoding>,
    recipients: &[Recipient],
    rule_params: &[String],
) -> Option<Identifier> {
    if is_short_word(slot) {
        return token_in(slot, decoding, rule_params);
    }
    let views = Views::of(slot);
    recipients
        .iter()
        .find_map(|r| recipient_in(slot, &views, decoding, r))
        .or_else(|| other_address(slot, views.has_at, decoding, recipients))
        .or_else(|| token_in(slot, decoding, rule_params))
}

/// A value too short for every address check (no `@` or `%40`, under the 8 characters of a
/// decodable token, the 12 of a base64 address, the 16 of hex): most path words. Only
/// [`token_in`] can find something in it.
fn is_short_word(slot: &Slot<'_>) -> bool {
    slot.decoded.len() < 8
        && slot.raw.len() < 12
        && !slot.decoded.bytes().any(|b| b == b'@' || b == b'%')
}

fn found(slot: &Slot<'_>, kind: IdentifierKind, encoding: Encoding, value: &str) -> Identifier {
    Identifier {
        location: slot.location(),
        kind,
        encoding,
        value: decode::shown(value),
    }
}

/// Someone else's address (the sender's, a list address): still personal data. Plain,
/// URL-encoded, inside a decoded token, or spelled in hex (where it may be a recipient's).
fn other_address(
    slot: &Slot<'_>,
    has_at: bool,
    decoding: Option<&Decoding>,
    recipients: &[Recipient],
) -> Option<Identifier> {
    let decoded: &str = &slot.decoded;
    if has_at {
        if let Some(m) = find_address(decoded) {
            let enc = if slot.raw.contains('@') {
                Encoding::Plain
            } else {
                Encoding::Url
            };
            return Some(found(slot, IdentifierKind::Email, enc, m.as_str()));
        }
    }
    if let Some(d) = decoding {
        if d.text.contains('@') {
            if let Some(m) = find_address(&d.text) {
                return Some(found(
                    slot,
                    IdentifierKind::Email,
                    encoding_of(d),
                    m.as_str(),
                ));
            }
        }
    }
    // An address spelled in hex (`726f…6d.gif`): decode the runs and look for one.
    if decoded.len() >= 16 {
        if let Some(addr) = hex_address(strip_extension(decoded)) {
            let kind = if recipients.iter().any(|r| r.address == addr) {
                IdentifierKind::RecipientEmail
            } else {
                IdentifierKind::Email
            };
            return Some(found(slot, kind, Encoding::Hex, &addr));
        }
    }
    None
}

/// A token: per-recipient when a rule names its parameter (or `path`), else of unknown
/// scope. Parameters that describe the resource hold none.
fn token_in(
    slot: &Slot<'_>,
    decoding: Option<&Decoding>,
    rule_params: &[String],
) -> Option<Identifier> {
    let decoded: &str = &slot.decoded;
    let named = slot.key.is_some_and(|k| rule_params.iter().any(|p| p == k))
        || (slot.key.is_none() && !slot.fragment && rule_params.iter().any(|p| p == "path"));
    // A rule naming `path` means the ids in it, not its literal words (`openmail`).
    let literal_word = slot.key.is_none()
        && decoded
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_' || b == b'.');
    if named && decode::trim(decoded).len() >= 4 && !literal_word {
        return Some(found(
            slot,
            IdentifierKind::RecipientToken,
            Encoding::Opaque,
            decoded,
        ));
    }
    if slot.key.is_some_and(is_descriptive_param) {
        return None;
    }
    // A token is only an identifier of unknown scope here: content hashes, CDN folder ids
    // and resizer ids look the same. The caller upgrades it to `recipient-token` on
    // evidence (it recurs in the message's links).
    if let Some(d) = decoding {
        if d.encoding != Encoding::Json {
            return Some(found(slot, IdentifierKind::Unverified, d.encoding, decoded));
        }
    }
    let value = if slot.key.is_none() {
        strip_extension(decoded)
    } else {
        decoded
    };
    looks_like_token(value)
        .then(|| found(slot, IdentifierKind::Unverified, Encoding::Opaque, value))
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

/// Kinds that tie a request to one recipient (or, on a web page, one visitor).
pub fn is_personal(kind: IdentifierKind) -> bool {
    kind.is_recipient() || kind == IdentifierKind::VisitorId
}

/// How an address inside a decoded token was encoded, in the contract's terms.
fn encoding_of(d: &Decoding) -> Encoding {
    match d.encoding {
        Encoding::Base64Json | Encoding::Jwt => Encoding::Base64,
        Encoding::Json => Encoding::Plain,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::recipient::hex;
    use super::*;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use base64::Engine;
    use md5::Md5;
    use sha1::Sha1;
    use sha2::{Digest, Sha256};

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::io::Write;

    const ADDR: &str = "Jane.Doe@Example.org";

    fn ids(url: &str) -> Vec<Identifier> {
        let u = url::Url::parse(url).unwrap();
        find(&u, &[Recipient::new(ADDR)], &[]).identifiers
    }

    fn one(url: &str) -> (String, IdentifierKind, Encoding) {
        let v = ids(url);
        assert_eq!(v.len(), 1, "{url}: {v:?}");
        (v[0].location.clone(), v[0].kind, v[0].encoding)
    }

    #[test]
    fn recipient_plain_and_url_encoded() {
        assert_eq!(
            one("https://t.example/o.gif?e=jane.doe@example.org"),
            (
                "query:e".into(),
                IdentifierKind::RecipientEmail,
                Encoding::Plain
            )
        );
        assert_eq!(
            one("https://t.example/o.gif?recipient=jane.doe%40example.org"),
            (
                "query:recipient".into(),
                IdentifierKind::RecipientEmail,
                Encoding::Url
            )
        );
        assert_eq!(
            one("https://t.example/o.gif?r=jane.doe%2540example.org"),
            (
                "query:r".into(),
                IdentifierKind::RecipientEmail,
                Encoding::Url
            )
        );
        assert_eq!(
            one("https://t.example/u/JANE.DOE%40EXAMPLE.ORG/o.gif"),
            (
                "path:2".into(),
                IdentifierKind::RecipientEmail,
                Encoding::Url
            )
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
            (IdentifierKind::RecipientEmail, Encoding::Plain)
        );
        let f = find(
            &url::Url::parse("https://t.example/o.gif?e=jane%2Bnews%40example.org").unwrap(),
            &[Recipient::new("jane+news@example.org")],
            &[],
        );
        assert_eq!(f.identifiers[0].encoding, Encoding::Url);
    }

    #[test]
    fn recipient_base64_any_alignment() {
        for prefix in ["", "x", "xy", "uid=42;email="] {
            let token = STANDARD_NO_PAD.encode(format!("{prefix}jane.doe@example.org;c=7"));
            let (loc, kind, enc) = one(&format!("https://t.example/p?d={token}"));
            assert_eq!(
                (loc.as_str(), kind, enc),
                ("query:d", IdentifierKind::RecipientEmail, Encoding::Base64),
                "{prefix}"
            );
        }
        let seg = URL_SAFE_NO_PAD.encode("jane.doe@example.org");
        assert_eq!(
            one(&format!("https://t.example/q/{seg}~~")),
            (
                "path:2".into(),
                IdentifierKind::RecipientEmail,
                Encoding::Base64
            )
        );
    }

    #[test]
    fn recipient_zlib_base64() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"h=1&r=jane.doe%40example.org").unwrap();
        let token = URL_SAFE_NO_PAD.encode(z.finish().unwrap());
        assert_eq!(
            one(&format!("https://e.shop.example/o/{token}")),
            (
                "path:2".into(),
                IdentifierKind::RecipientEmail,
                Encoding::ZlibBase64
            )
        );
    }

    #[test]
    fn recipient_hashes() {
        let a = "jane.doe@example.org";
        let md5 = hex(&Md5::digest(a));
        let sha1 = hex(&Sha1::digest(a));
        let sha256 = hex(&Sha256::digest(a));
        assert_eq!(
            one(&format!("https://t.example/p?h={md5}")).2,
            Encoding::Md5
        );
        assert_eq!(
            one(&format!("https://t.example/p?h={}", sha1.to_uppercase())).2,
            Encoding::Sha1
        );
        assert_eq!(
            one(&format!("https://t.example/p?dtm_email_hash={sha256}")),
            (
                "query:dtm_email_hash".into(),
                IdentifierKind::RecipientEmailHash,
                Encoding::Sha256
            )
        );
    }

    #[test]
    fn other_emails_and_tokens() {
        assert_eq!(
            one("https://t.example/p?from=news%40brand.example").1,
            IdentifierKind::Email
        );
        // Without the SendGrid rule naming `upn`, the token's scope is unknown.
        assert_eq!(
            one("https://t.example/wf/open?upn=u001.Xk9aTq7PzLw3Rb5Vn2Mc8Hd"),
            (
                "query:upn".into(),
                IdentifierKind::Unverified,
                Encoding::Opaque
            )
        );
        // Without a rule or recurrence, a token's scope is unknown: an asset hash looks
        // the same as a per-recipient id.
        assert_eq!(
            one("https://t.example/o/550e8400-e29b-41d4-a716-446655440000.gif").1,
            IdentifierKind::Unverified
        );
        assert_eq!(
            one("https://mailtrack.io/trace/mail/3f8a9c2be17d4e6fa0b1c2d3e4f5a6b7.png").1,
            IdentifierKind::Unverified
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
        assert_eq!((kind, enc), (IdentifierKind::RecipientEmail, Encoding::Hex));
        let u = url::Url::parse(&format!("https://t.example/{hexed}.gif")).unwrap();
        assert_eq!(
            find(&u, &[], &[]).identifiers[0].kind,
            IdentifierKind::Email
        );
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
        assert_eq!(f.identifiers[0].kind, IdentifierKind::RecipientToken);
    }

    #[test]
    fn decoded_tokens_are_reported() {
        let t = STANDARD_NO_PAD.encode(r#"{"r":"jane.doe@example.org","post_id":1}"#);
        let u = url::Url::parse(&format!("https://substack.com/o/open?token={t}")).unwrap();
        let f = find(&u, &[Recipient::new(ADDR)], &[]);
        assert_eq!(f.identifiers[0].encoding, Encoding::Base64);
        assert_eq!(decode_all(&u)[0].encoding, Encoding::Base64Json);
    }
}
