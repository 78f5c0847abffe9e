//! Property tests for the pure functions: token decoding round trips, recipient detection
//! under every encoding and placement, CSS and HTML extraction, registrable domains, host
//! patterns against a naive matcher, and terminal sanitizing.

use std::io::Write;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use md5::Md5;
use proptest::prelude::*;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use pixscan::analyze::decode::decode_token;
use pixscan::analyze::identifiers::find;
use pixscan::analyze::Recipient;
use pixscan::domain::registrable;
use pixscan::extract::{css, extract};
use pixscan::model::IdentifierKind;
use pixscan::rules::HostPattern;

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// Structured text a tracker packs into a token: `k=v&k=v…` with an address in it.
fn payload() -> impl Strategy<Value = String> {
    (
        "[a-z]{1,6}",
        "[a-z0-9._@-]{4,20}",
        prop::collection::vec(("[a-z]{1,6}", "[a-zA-Z0-9._%-]{1,20}"), 0..5),
    )
        .prop_map(|(k, v, rest)| {
            let mut s = format!("{k}={v}");
            for (k, v) in rest {
                s.push_str(&format!("&{k}={v}"));
            }
            s
        })
}

fn address() -> impl Strategy<Value = String> {
    (
        // Real addresses are at least this long; shorter ones have no base64 needle.
        "[a-z][a-z0-9._+-]{2,15}",
        "[a-z][a-z0-9-]{2,10}",
        prop::sample::select(vec!["com", "org", "example", "co.uk", "io", "de"]),
    )
        .prop_map(|(local, host, tld)| format!("{local}@{host}.{tld}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base32(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((buf >> bits) & 31) as usize] as char);
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    while !out.len().is_multiple_of(8) {
        out.push('=');
    }
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

/// Percent-encodes every byte but ASCII letters and digits.
fn pct_all(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// How the address is written into the URL.
#[derive(Debug, Clone)]
enum Encoding {
    Plain,
    /// Only `@` (and `+`, which a query would read as a space) encoded.
    PctAt,
    /// Every byte but letters and digits.
    PctAll,
    /// Base64 of `prefix + address + suffix`, in either alphabet, padded or not.
    Base64 {
        prefix: Vec<u8>,
        suffix: Vec<u8>,
        url_safe: bool,
        pad: bool,
    },
    Md5,
    Sha1,
    Sha256,
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        Just(Encoding::Plain),
        Just(Encoding::PctAt),
        Just(Encoding::PctAll),
        (
            prop::collection::vec(any::<u8>(), 0..24),
            prop::collection::vec(any::<u8>(), 0..24),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(prefix, suffix, url_safe, pad)| Encoding::Base64 {
                prefix,
                suffix,
                url_safe,
                pad
            }),
        Just(Encoding::Md5),
        Just(Encoding::Sha1),
        Just(Encoding::Sha256),
    ]
}

fn encode(addr: &str, enc: &Encoding, in_path: bool, upper_hex: bool) -> String {
    let hexed = |h: String| if upper_hex { h.to_uppercase() } else { h };
    match enc {
        Encoding::Plain => addr.to_string(),
        Encoding::PctAt => addr.replace('+', "%2B").replace('@', "%40"),
        Encoding::PctAll => pct_all(addr),
        Encoding::Base64 {
            prefix,
            suffix,
            url_safe,
            pad,
        } => {
            let mut data = prefix.clone();
            data.extend_from_slice(addr.as_bytes());
            data.extend_from_slice(suffix);
            // A path segment can't hold `/`: base64 there is the URL-safe alphabet.
            let s = match (*url_safe || in_path, *pad) {
                (true, true) => URL_SAFE.encode(&data),
                (true, false) => URL_SAFE_NO_PAD.encode(&data),
                (false, true) => STANDARD.encode(&data),
                (false, false) => STANDARD_NO_PAD.encode(&data),
            };
            // `+` in a query value is a space: senders encode it as %2B.
            s.replace('+', "%2B")
        }
        Encoding::Md5 => hexed(hex(&Md5::digest(addr))),
        Encoding::Sha1 => hexed(hex(&Sha1::digest(addr))),
        Encoding::Sha256 => hexed(hex(&Sha256::digest(addr))),
    }
}

/// Harmless query parameters and path segments around the one that carries the address.
fn filler() -> impl Strategy<Value = (Vec<(String, String)>, Vec<String>)> {
    (
        prop::collection::vec(("[a-z_]{1,8}", "[a-z0-9]{1,8}"), 0..4),
        prop::collection::vec("[a-z0-9-]{1,10}", 0..4),
    )
}

// ---------------------------------------------------------------------------------------
// Token decoding
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn base64_round_trips_through_decode_token(
        text in payload(),
        url_safe in any::<bool>(),
        pad in any::<bool>(),
    ) {
        let token = match (url_safe, pad) {
            (true, true) => URL_SAFE.encode(&text),
            (true, false) => URL_SAFE_NO_PAD.encode(&text),
            (false, true) => STANDARD.encode(&text),
            (false, false) => STANDARD_NO_PAD.encode(&text),
        };
        let d = decode_token(&token);
        prop_assert!(d.is_some(), "{token} ({text}) did not decode");
        let d = d.unwrap();
        prop_assert_eq!(d.encoding.as_str(), "base64");
        prop_assert_eq!(d.text, text);
    }

    #[test]
    fn zlib_base64_round_trips_through_decode_token(text in payload(), pad in any::<bool>()) {
        let z = zlib(text.as_bytes());
        let token = if pad { URL_SAFE.encode(&z) } else { URL_SAFE_NO_PAD.encode(&z) };
        let d = decode_token(&token);
        prop_assert!(d.is_some(), "{token} ({text}) did not decode");
        let d = d.unwrap();
        prop_assert_eq!(d.encoding.as_str(), "zlib-base64");
        prop_assert_eq!(d.text, text);
    }

    #[test]
    fn base32_round_trips_through_decode_token(text in payload(), pad in any::<bool>()) {
        let mut token = base32(text.as_bytes());
        if !pad {
            token = token.trim_end_matches('=').to_string();
        }
        let d = decode_token(&token);
        prop_assert!(d.is_some(), "{token} ({text}) did not decode");
        let d = d.unwrap();
        prop_assert_eq!(d.encoding.as_str(), "base32", "{} ({}) decoded as {:?}", token, text, d);
        prop_assert_eq!(d.text, text);
    }

    #[test]
    fn decode_token_never_panics_and_shows_no_controls(s in any::<String>()) {
        if let Some(d) = decode_token(&s) {
            prop_assert!(!d.text.chars().any(char::is_control), "{:?}", d);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Recipient detection
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// However the address is encoded, in whichever query parameter or path segment, it is
    /// found, and reported at the right place.
    #[test]
    fn recipient_is_found_however_encoded(
        addr in address(),
        enc in encoding(),
        in_path in any::<bool>(),
        upper_hex in any::<bool>(),
        key in "[a-z][a-z0-9_]{0,10}",
        (params, segments) in filler(),
        position in any::<prop::sample::Index>(),
    ) {
        let value = encode(&addr, &enc, in_path, upper_hex);
        let mut segs = segments.clone();
        let mut query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if in_path {
            segs.insert(position.index(segs.len() + 1), value.clone());
        } else {
            query.insert(position.index(query.len() + 1), format!("{key}={value}"));
        }
        let mut url = format!("https://t.example/{}", segs.join("/"));
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let parsed = url::Url::parse(&url).unwrap();
        let found = find(&parsed, &[Recipient::new(&addr)], &[]);
        prop_assert!(found.has_recipient(), "{} not found in {} ({:?})", addr, url, found);
        let id = found
            .identifiers
            .iter()
            .find(|i| matches!(i.kind, IdentifierKind::RecipientEmail | IdentifierKind::RecipientEmailHash))
            .unwrap();
        let want_where = if in_path { "path".to_string() } else { format!("query:{key}") };
        // The first filler parameter may share the key; either place is right then.
        prop_assert!(
            // Path locations name the segment (`path:2`).
            id.location.starts_with(&want_where) || params.iter().any(|(k, _)| *k == key),
            "{} reported at {} in {}", addr, id.location, url
        );
        let want_encoding = match &enc {
            Encoding::Plain => "plain",
            Encoding::PctAt | Encoding::PctAll => "url",
            Encoding::Base64 { .. } => "base64",
            Encoding::Md5 => "md5",
            Encoding::Sha1 => "sha1",
            Encoding::Sha256 => "sha256",
        };
        prop_assert_eq!(id.encoding.as_str(), want_encoding, "{}", url);
    }

    /// Someone else's address is not taken for the recipient's.
    #[test]
    fn another_address_is_not_the_recipient(
        addr in address(),
        other in address(),
        enc in encoding(),
        in_path in any::<bool>(),
    ) {
        prop_assume!(!other.contains(&addr) && !addr.contains(&other));
        let value = encode(&other, &enc, in_path, false);
        let url = if in_path {
            format!("https://t.example/o/{value}")
        } else {
            format!("https://t.example/o?e={value}")
        };
        let parsed = url::Url::parse(&url).unwrap();
        let found = find(&parsed, &[Recipient::new(&addr)], &[]);
        prop_assert!(!found.has_recipient(), "{} taken for {} in {}", other, addr, url);
    }
}

// ---------------------------------------------------------------------------------------
// CSS and HTML extraction
// ---------------------------------------------------------------------------------------

fn css_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9#%. -]{1,16}",
        "[0-9]{1,3}px",
        Just("\"a;b}c{\"".to_string()),
        Just("'x' !important".to_string()),
        Just("rgba(0,0,0,0.5)".to_string()),
        Just("url(https://other.example/bg.png)".to_string()),
    ]
}

fn injected_url() -> impl Strategy<Value = String> {
    "[a-z0-9/._?=&-]{1,40}".prop_map(|p| format!("https://inj.example/{p}"))
}

proptest! {
    #[test]
    fn css_never_panics(s in any::<String>()) {
        let _ = css::urls(&s);
        let d = css::declarations(&s);
        let _ = d.get("width");
    }

    #[test]
    fn css_urls_find_an_injected_url(
        rules in prop::collection::vec(
            ("[a-z.#][a-z0-9-]{0,8}", prop::collection::vec(("[a-z-]{1,12}", css_value()), 0..5)),
            1..5,
        ),
        at in any::<prop::sample::Index>(),
        decl_at in any::<prop::sample::Index>(),
        prop_name in "[a-z][a-z-]{0,15}",
        url in injected_url(),
        quote in prop::sample::select(vec!["", "'", "\""]),
    ) {
        let mut rules = rules;
        let r = at.index(rules.len());
        let declaration = (prop_name.clone(), format!("url({quote}{url}{quote})"));
        let list = &mut rules[r].1;
        list.insert(decl_at.index(list.len() + 1), declaration);
        let css: String = rules
            .iter()
            .map(|(sel, decls)| {
                let body: Vec<String> = decls.iter().map(|(p, v)| format!("{p}: {v}")).collect();
                format!("{sel} {{ {} }}\n/* a comment; url(https://ignored.example/) */\n", body.join("; "))
            })
            .collect();
        let found = css::urls(&css);
        prop_assert!(
            found.iter().any(|f| f.url == url && f.context == prop_name),
            "{} ({}) not in {:?}\n{}", url, prop_name, found, css
        );
        prop_assert!(!found.iter().any(|f| f.url.contains("ignored.example")));
    }

    #[test]
    fn style_declarations_find_an_injected_url(
        decls in prop::collection::vec(("[a-z-]{1,12}", css_value()), 0..6),
        at in any::<prop::sample::Index>(),
        url in injected_url(),
    ) {
        let mut decls = decls;
        decls.retain(|(p, _)| p != "background-image");
        decls.insert(at.index(decls.len() + 1), ("background-image".into(), format!("url('{url}')")));
        let style: Vec<String> = decls.iter().map(|(p, v)| format!("{p}:{v}")).collect();
        let style = style.join(";");
        let d = css::declarations(&style);
        let value = d.get("BACKGROUND-IMAGE");
        let want = format!("url('{url}')");
        prop_assert_eq!(value, Some(want.as_str()), "{}", style);
        let in_value = css::urls(value.unwrap());
        prop_assert_eq!(in_value.len(), 1);
        prop_assert_eq!(&in_value[0].url, &url);
    }
}

fn html_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .,!?]{0,30}",
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<div class=\"x\" style=\"display:none\">".to_string()),
        Just("</div>".to_string()),
        Just("<table><tr><td>".to_string()),
        Just("</td></tr></table>".to_string()),
        Just("<br/>".to_string()),
        Just("<span title='a > b'>".to_string()),
        Just("<a href=\"https://link.example/x\">".to_string()),
        Just("</a>".to_string()),
        Just("<!-- a comment -->".to_string()),
        Just("<noscript>".to_string()),
        Just("</noscript>".to_string()),
        Just("<style>p{color:red}</style>".to_string()),
        Just("<script>var x = 1 < 2;</script>".to_string()),
    ]
}

fn img_src() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/._?=-]{1,30}".prop_map(|p| format!("https://img.example/{p}")),
        "[a-z0-9._-]{1,20}\\.gif",
        "[a-zA-Z0-9/._~:-]{1,40}",
    ]
}

proptest! {
    #[test]
    fn extract_never_panics(s in any::<String>()) {
        let _ = extract(&s);
    }

    #[test]
    fn extract_never_panics_on_tag_soup(parts in prop::collection::vec(
        prop_oneof![
            html_fragment(),
            "[<>/!=\"'a-z &;#\\[\\]-]{0,12}",
            Just("<!--[if mso]>".to_string()),
            Just("<![endif]-->".to_string()),
            Just("<img src=".to_string()),
            Just("<svg><image href=".to_string()),
            Just("<plaintext>".to_string()),
        ],
        0..40,
    )) {
        let _ = extract(&parts.concat());
    }

    /// Every `<img src=X>` given appears in the refs, as an img src, in order.
    #[test]
    fn every_img_src_is_extracted(
        items in prop::collection::vec(
            prop_oneof![html_fragment().prop_map(Err), img_src().prop_map(Ok)],
            0..40,
        ),
        quote in prop::sample::select(vec!["\"", "'"]),
    ) {
        let mut html = String::new();
        let mut want = Vec::new();
        for item in &items {
            match item {
                Ok(src) => {
                    html.push_str(&format!("<img src={quote}{src}{quote} alt=\"\">"));
                    want.push(src.clone());
                }
                Err(fragment) => html.push_str(fragment),
            }
        }
        let got: Vec<String> = extract(&html)
            .refs
            .into_iter()
            .filter(|r| r.element == "img" && r.attribute == "src")
            .map(|r| r.url)
            .collect();
        prop_assert_eq!(got, want, "{}", html);
    }
}

// ---------------------------------------------------------------------------------------
// Domains and host patterns
// ---------------------------------------------------------------------------------------

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::collection::vec("[a-z0-9][a-z0-9-]{0,8}", 0..4),
            prop::sample::select(vec![
                "com",
                "co.uk",
                "org",
                "appspot.com",
                "github.io",
                "example",
                "uk",
                "jp",
                "kawasaki.jp",
                "blogspot.com",
                "s3.amazonaws.com",
                "",
            ]),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(labels, suffix, upper, dot)| {
                let mut h = labels.join(".");
                if !suffix.is_empty() {
                    if !h.is_empty() {
                        h.push('.');
                    }
                    h.push_str(suffix);
                }
                if upper {
                    h = h.to_uppercase();
                }
                if dot {
                    h.push('.');
                }
                h
            }),
        any::<[u8; 4]>().prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
        Just("[::1]".to_string()),
        Just("localhost".to_string()),
        "[a-z0-9.\\-\\[\\]:]{0,20}",
    ]
}

proptest! {
    #[test]
    fn registrable_is_idempotent(h in host()) {
        let once = registrable(&h);
        prop_assert_eq!(registrable(&once), once.clone(), "{}", h);
    }

    #[test]
    fn registrable_is_idempotent_on_any_text(h in any::<String>()) {
        let once = registrable(&h);
        prop_assert_eq!(registrable(&once), once.clone(), "{:?}", h);
    }
}

/// Host-pattern semantics written the obvious way: `*.d` is `d` and its subdomains; any
/// other `*` matches a run of `[a-z0-9-]` (never a dot); everything else is literal.
fn naive_matches(pattern: &str, host: &str) -> bool {
    let p = pattern.trim().to_ascii_lowercase();
    if let Some(d) = p.strip_prefix("*.") {
        if !d.contains('*') {
            return host == d || host.ends_with(&format!(".{d}"));
        }
    }
    fn glob(p: &[u8], h: &[u8]) -> bool {
        match p.split_first() {
            None => h.is_empty(),
            Some((b'*', rest)) => {
                let mut i = 0;
                loop {
                    if glob(rest, &h[i..]) {
                        return true;
                    }
                    if i < h.len()
                        && (h[i].is_ascii_lowercase() || h[i].is_ascii_digit() || h[i] == b'-')
                    {
                        i += 1;
                    } else {
                        return false;
                    }
                }
            }
            Some((c, rest)) => h.first() == Some(c) && glob(rest, &h[1..]),
        }
    }
    glob(p.as_bytes(), host.as_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn host_patterns_agree_with_a_naive_matcher(
        pattern in "[ab1*.-]{1,10}",
        host in "[ab1.-]{0,12}",
    ) {
        // Hosts are matched lowercased and without a trailing dot (callers normalise them).
        prop_assume!(!host.ends_with('.'));
        match HostPattern::parse(&pattern) {
            Ok(p) => prop_assert_eq!(
                p.matches(&host),
                naive_matches(&pattern, &host),
                "pattern {:?} host {:?} ({:?})", pattern, host, p
            ),
            Err(e) => prop_assert!(false, "{} rejected: {}", pattern, e),
        }
    }

    #[test]
    fn host_patterns_with_real_shapes(
        prefix in "[a-z]{1,4}",
        tail in "[a-z]{1,6}",
        host in "[a-z0-9]{1,6}(\\.[a-z0-9]{1,6}){0,3}",
        shape in 0..4usize,
    ) {
        let pattern = match shape {
            0 => format!("{prefix}.{tail}.com"),
            1 => format!("*.{tail}.com"),
            2 => format!("{prefix}*.{tail}.com"),
            _ => format!("*.{prefix}*.com"),
        };
        let p = HostPattern::parse(&pattern).unwrap();
        for h in [host.clone(), format!("{host}.{tail}.com"), format!("{prefix}{host}.{tail}.com")] {
            prop_assert_eq!(p.matches(&h), naive_matches(&pattern, &h), "{} {}", pattern, h);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Terminal sanitizing
// ---------------------------------------------------------------------------------------

fn bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

proptest! {
    #[test]
    fn sanitize_output_has_no_control_or_bidi_characters(s in any::<String>()) {
        let out = pixscan::report::sanitize(&s);
        prop_assert!(!out.chars().any(|c| c.is_control() || bidi(c)), "{:?} → {:?}", s, out);
        if !s.chars().any(|c| c.is_control() || bidi(c)) {
            prop_assert_eq!(&out, &s);
        }
        let lines = pixscan::report::sanitize_lines(&s);
        prop_assert!(!lines.chars().any(|c| (c.is_control() && c != '\n') || bidi(c)));
        prop_assert_eq!(lines.matches('\n').count(), s.matches('\n').count());
    }

    #[test]
    fn sanitize_of_terminal_sequences(
        parts in prop::collection::vec(
            prop_oneof![
                "[a-z ]{0,8}",
                Just("\u{1b}[31m".to_string()),
                Just("\u{1b}]0;x\u{7}".to_string()),
                Just("\u{9b}2J".to_string()),
                Just("\r".to_string()),
                Just("\u{202e}".to_string()),
                Just("\u{2066}".to_string()),
                Just("\u{8}\u{7f}\u{0}".to_string()),
            ],
            0..12,
        )
    ) {
        let s = parts.concat();
        let out = pixscan::report::sanitize(&s);
        prop_assert!(!out.chars().any(|c| c.is_control() || bidi(c)), "{:?}", out);
        let shown = pixscan::analyze::decode::shown(&s);
        prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
    }
}
