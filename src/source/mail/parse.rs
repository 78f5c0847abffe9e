//! A raw message parsed into the parts the analysis needs: headers, recipients, read-receipt
//! requests and every HTML body (forwarded messages included, broken encodings recovered).

use std::borrow::Cow;

use mail_parser::{Address, Message, MessageParser, PartType};

/// The parts of a parsed message the analysis uses.
#[derive(Debug, Default)]
pub struct MailDocument<'x> {
    pub subject: Option<String>,
    pub from: Option<String>,
    pub recipients: Vec<String>,
    /// Top-level headers, unfolded: (name, value).
    pub headers: Vec<(String, String)>,
    /// Decoded HTML bodies, including those of forwarded messages: borrowed from the
    /// message's bytes when they needed no decoding, the parser's own copy when they did.
    pub html: Vec<Cow<'x, str>>,
    /// Read-receipt requests: (header, address).
    pub receipts: Vec<(String, String)>,
}

const MAX_NESTING: usize = 8;
const MAX_HTML_BYTES: usize = 32 * 1024 * 1024;
const MAX_RECIPIENTS: usize = 64;

pub fn parse(bytes: &[u8]) -> Result<MailDocument<'_>, String> {
    let msg = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| "not a parseable email message".to_string())?;
    if msg.parts.first().is_none_or(|p| p.headers.is_empty()) {
        return Err("no mail headers found: not an email message".to_string());
    }
    let mut doc = MailDocument {
        subject: msg.subject().map(|s| s.chars().take(300).collect()),
        from: msg
            .from()
            .and_then(Address::first)
            .and_then(|a| a.address())
            .map(str::to_string),
        ..Default::default()
    };
    for h in msg.parts[0].headers.iter() {
        let raw = msg
            .raw_message
            .get(h.offset_start as usize..h.offset_end as usize)
            .unwrap_or_default();
        let value: String = String::from_utf8_lossy(raw)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        doc.headers.push((h.name.as_str().to_string(), value));
    }
    if !doc.headers.iter().any(|(n, _)| {
        matches!(
            n.to_ascii_lowercase().as_str(),
            "from"
                | "to"
                | "subject"
                | "date"
                | "message-id"
                | "received"
                | "content-type"
                | "mime-version"
                | "return-path"
                | "delivered-to"
        )
    }) {
        return Err("no mail headers found: not an email message".to_string());
    }
    for (name, value) in &doc.headers {
        let n = name.to_ascii_lowercase();
        if matches!(
            n.as_str(),
            "delivered-to" | "x-original-to" | "envelope-to" | "x-envelope-to"
        ) {
            add_addresses(&mut doc.recipients, value);
        }
        if matches!(
            n.as_str(),
            "disposition-notification-to" | "return-receipt-to" | "x-confirm-reading-to"
        ) {
            doc.receipts.push((name.clone(), value.clone()));
        }
    }
    collect(msg, &mut doc, 0);
    Ok(doc)
}

fn add_addresses(out: &mut Vec<String>, text: &str) {
    for word in text.split([',', ' ', ';', '<', '>']) {
        let w = word.trim().trim_matches('"');
        if w.contains('@') && w.len() <= 254 && out.len() < MAX_RECIPIENTS {
            let w = w.to_ascii_lowercase();
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
}

/// Takes the message: its HTML bodies move into `doc`, not copied.
fn collect<'x>(msg: Message<'x>, doc: &mut MailDocument<'x>, depth: usize) {
    for header in [msg.to(), msg.cc(), msg.bcc()].into_iter().flatten() {
        for a in header.iter() {
            if let Some(addr) = a.address() {
                add_addresses(&mut doc.recipients, addr);
            }
        }
    }
    let mut total: usize = doc.html.iter().map(|h| h.len()).sum();
    // Every part, not just the body parts: HTML attachments render too, and a forwarded
    // message is a part of its own.
    for part in msg.parts {
        let html: Option<Cow<'x, str>> = match part.body {
            PartType::Html(html) => Some(html),
            PartType::Text(ref text) if part.is_encoding_problem && is_html(&part) => {
                Some(Cow::Owned(recover(&part, text).into_owned()))
            }
            PartType::Message(inner) if depth < MAX_NESTING => {
                collect(inner, doc, depth + 1);
                total = doc.html.iter().map(|h| h.len()).sum();
                None
            }
            _ => None,
        };
        if let Some(html) = html {
            if total + html.len() <= MAX_HTML_BYTES && !doc.html.contains(&html) {
                total += html.len();
                doc.html.push(html);
            }
        }
    }
}

fn is_html(part: &mail_parser::MessagePart<'_>) -> bool {
    use mail_parser::MimeHeaders;
    part.content_type().is_some_and(|ct| {
        ct.c_type.eq_ignore_ascii_case("text")
            && ct
                .c_subtype
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("html"))
    })
}

/// A part the parser could not decode (typically cut off mid-base64 by a truncated
/// download, or quoted-printable with invalid escapes): decode what is there, so a pixel in
/// the first kilobytes is still found.
fn recover<'a>(part: &mail_parser::MessagePart<'_>, text: &'a str) -> std::borrow::Cow<'a, str> {
    use base64::Engine;
    use mail_parser::MimeHeaders;
    let encoding = part.content_transfer_encoding().map(str::trim);
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable")) {
        return std::borrow::Cow::Owned(lenient_quoted_printable(text));
    }
    let base64 = encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    if !base64 {
        return std::borrow::Cow::Borrowed(text);
    }
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .collect();
    let whole = &clean[..clean.len() - clean.len() % 4];
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    match engine.decode(whole) {
        Ok(bytes) => std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => std::borrow::Cow::Borrowed(text),
    }
}

/// Quoted-printable as mail clients decode it: `=XX` is a byte, `=` at a line end joins
/// lines, and any other `=` (an invalid escape) is kept as it is. The bytes are read as
/// UTF-8, invalid sequences replaced.
fn lenient_quoted_printable(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    while i < b.len() {
        if b[i] == b'=' {
            let rest = &b[i + 1..];
            if let (Some(h), Some(l)) = (
                rest.first().copied().and_then(hex),
                rest.get(1).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            // A soft line break: `=`, optional trailing blanks, then CRLF or LF.
            let blanks = rest
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            let after = &rest[blanks..];
            if after.starts_with(b"\r\n") {
                i += 1 + blanks + 2;
                continue;
            }
            if after.starts_with(b"\n") {
                i += 1 + blanks + 1;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_forward_and_recipients() {
        let eml = "From: Bob <bob@example.com>\r\nTo: Jane <Jane@Example.org>\r\nDelivered-To: jane@example.org\r\nDisposition-Notification-To: bob@example.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: shop@brand.example\r\nTo: alice@example.net\r\nSubject: Sale\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Caf=E9</p><img src=3D\"https://t.example/o.gif?u=3D1\">\r\n--b--\r\n";
        let doc = parse(eml.as_bytes()).unwrap();
        assert_eq!(doc.from.as_deref(), Some("bob@example.com"));
        assert_eq!(
            doc.recipients,
            vec!["jane@example.org", "alice@example.net"]
        );
        assert_eq!(doc.html.len(), 1);
        assert!(
            doc.html[0].contains("Café") && doc.html[0].contains("https://t.example/o.gif?u=1")
        );
        assert_eq!(doc.receipts.len(), 1);
    }

    #[test]
    fn invalid_quoted_printable_is_decoded_leniently() {
        assert_eq!(
            lenient_quoted_printable("a=ZZ=4=\r\nb=3D\"x=\n=C3=A9\" = =\t\nend="),
            "a=ZZ=4b=\"xé\" = end="
        );
        let eml = "From: a@brand.example\r\nTo: jane@example.org\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=ZZ</p><img src=3D\"https://t.example/o.gif?u=3D1\">=\r\n==\r\n";
        let doc = parse(eml.as_bytes()).unwrap();
        assert_eq!(doc.html.len(), 1, "{doc:?}");
        assert!(doc.html[0].contains("<img src=\"https://t.example/o.gif?u=1\">"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"\x00\x01\x02\xff\xfe garbage").is_err());
        assert!(parse(b"just some words\nwith no headers\n").is_err());
    }
}
