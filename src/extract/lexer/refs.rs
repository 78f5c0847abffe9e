//! Character references in attribute values and RCDATA (`&amp;`, `&#38;`, `&#x26;`, legacy
//! names without `;`), decoded as the standard's tokenizer does.

use std::borrow::Cow;

use html5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

use super::normalize;

pub(super) fn attr_value(raw: &str) -> Cow<'_, str> {
    // One pass for every byte that needs work: most values have none. `decode_refs`
    // normalizes too, and returns the normalized text when there is no `&`.
    if memchr::memchr3(b'&', b'\r', b'\0', raw.as_bytes()).is_some() {
        decode_refs(raw, true)
    } else {
        Cow::Borrowed(raw)
    }
}

/// Decodes character references (`&amp;`, `&#38;`, `&#x26;`, legacy `&amp` without `;`).
/// In attribute values a legacy reference followed by `=` or a letter or digit stays as
/// written (`?a=1&copy=2` keeps `&copy`).
pub(super) fn decode_refs(raw: &str, in_attribute: bool) -> Cow<'_, str> {
    let raw = normalize(raw);
    if !raw.contains('&') {
        return raw;
    }
    let s: &str = &raw;
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(amp) = memchr::memchr(b'&', &b[i..]) {
        let amp = i + amp;
        out.push_str(&s[i..amp]);
        i = amp + 1;
        let decoded = match b.get(i) {
            Some(b'#') => numeric_ref(b, i).map(|(c, end)| ((c, None), end)),
            Some(c) if c.is_ascii_alphanumeric() => named_ref(s, i, in_attribute),
            _ => None,
        };
        match decoded {
            Some(((c, second), end)) => {
                out.push(c);
                out.extend(second);
                i = end;
            }
            // Not a reference: the `&` stays, and what follows is read as text.
            None => out.push('&'),
        }
    }
    out.push_str(&s[i..]);
    Cow::Owned(out)
}

/// A numeric reference at `b[i] == b'#'`: the character and where the reference ends
/// (after an optional `;`). `None` for `&#` or `&#x` without digits.
fn numeric_ref(b: &[u8], i: usize) -> Option<(char, usize)> {
    let hex = matches!(b.get(i + 1), Some(b'x' | b'X'));
    let digits_at = if hex { i + 2 } else { i + 1 };
    let radix = if hex { 16 } else { 10 };
    let mut j = digits_at;
    let mut n: u32 = 0;
    let mut too_big = false;
    while j < b.len() && (b[j] as char).is_digit(radix) {
        n = n
            .saturating_mul(radix)
            .saturating_add((b[j] as char).to_digit(radix).unwrap_or(0));
        too_big |= n > 0x10FFFF;
        j += 1;
    }
    if j == digits_at {
        return None;
    }
    if b.get(j) == Some(&b';') {
        j += 1;
    }
    Some((numeric_char(n, too_big), j))
}

/// A named reference starting at `s[i]`: the longest entity name the table knows, its one
/// or two characters, and where it ends. `None` when no name matches, or for a legacy name
/// (no `;`) in an attribute value followed by `=`, a letter or a digit.
fn named_ref(s: &str, i: usize, in_attribute: bool) -> Option<((char, Option<char>), usize)> {
    // Most references are the `&amp;` of URLs in attribute values: the table walk below
    // finds the same, with one hashed lookup per prefix (`a`, `am`, `amp`, `amp;`).
    if s[i..].starts_with("amp;") {
        return Some((('&', None), i + 4));
    }
    let b = s.as_bytes();
    let mut j = i;
    let mut best: Option<(usize, (u32, u32))> = None;
    while j < b.len() && j - i < 40 {
        let c = b[j];
        if !(c.is_ascii_alphanumeric() || c == b';') {
            break;
        }
        j += 1;
        let Some(&m) = NAMED_ENTITIES.get(&s[i..j]) else {
            break;
        };
        if m.0 != 0 {
            best = Some((j, m));
        }
        if c == b';' {
            break;
        }
    }
    let (end, (c1, c2)) = best?;
    let semicolon = b[end - 1] == b';';
    let next = b.get(end).copied();
    if !semicolon && in_attribute && next.is_some_and(|n| n == b'=' || n.is_ascii_alphanumeric()) {
        return None;
    }
    let second = (c2 != 0).then(|| char::from_u32(c2)).flatten();
    Some(((char::from_u32(c1)?, second), end))
}

fn numeric_char(n: u32, too_big: bool) -> char {
    if too_big || n > 0x10FFFF {
        return '\u{FFFD}';
    }
    match n {
        0 | 0xD800..=0xDFFF => '\u{FFFD}',
        0x80..=0x9F => C1_REPLACEMENTS[(n - 0x80) as usize]
            .unwrap_or_else(|| char::from_u32(n).unwrap_or('\u{FFFD}')),
        n => char::from_u32(n).unwrap_or('\u{FFFD}'),
    }
}
