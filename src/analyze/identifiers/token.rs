//! Whether a value is an opaque token unique enough to tell people apart, and hex runs that
//! can hold a digest or a hex-spelled address.

use std::sync::OnceLock;

use regex::Regex;

fn uuid_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").unwrap()
    })
}

/// An email address hidden in a run of hex digits (ASCII bytes, two digits each).
pub(super) fn hex_address(v: &str) -> Option<String> {
    // '@' is 0x40: no "40" in the run, no address. Most values have no "40" at all: found
    // with a vectorised search for '4', before splitting the value into runs char by char.
    let b = v.as_bytes();
    if !memchr::memchr_iter(b'4', b).any(|i| b.get(i + 1) == Some(&b'0')) {
        return None;
    }
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
    super::find_address(text).map(|m| m.as_str().to_ascii_lowercase())
}

/// Maximal runs of hex digits at least as long as an MD5.
pub(super) fn hex_runs(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|r| r.len() >= 32)
}

/// Whether `s` has a run of 32+ hex digits; cheaper than [`hex_runs`] when it has none.
/// Checks each 32-byte window from its end: one non-hex byte rules out every window that
/// holds it, so a random token costs a few reads per 32 bytes.
pub(super) fn has_hex_run(s: &str) -> bool {
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
    let v = crate::analyze::decode::trim(v);
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
}
