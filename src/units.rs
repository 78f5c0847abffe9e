//! Byte sizes as people read and write them (`5.0 MiB`, `--max-body 5MB`), through bytesize.

use bytesize::ByteSize;

/// A byte count for people: `512 B`, `5.0 MiB`, `1.2 GiB` (powers of 1024).
pub fn size(bytes: u64) -> String {
    format!("{:.1}", ByteSize(bytes).display().iec())
}

/// Two byte counts that must read as different (`6.0 MiB > 5.0 MiB`): when the rounded
/// forms are the same (a file one byte over its limit), both are given exactly as well.
pub fn size_pair(a: u64, b: u64) -> (String, String) {
    let (x, y) = (size(a), size(b));
    if x == y && a != b {
        (format!("{a} bytes ({x})"), format!("{b} bytes ({y})"))
    } else {
        (x, y)
    }
}

/// A size argument: `5MB`, `512 KiB`, `1.5GB`, `1048576` (bytes).
///
/// Kept beside bytesize's parser on purpose: pixscan's `KB`, `MB` and `GB` have always been
/// powers of 1024 (the default `--max-body 5MB` is 5 MiB), while bytesize reads them as
/// powers of 1000. The decimal suffixes are therefore mapped to their binary twins before
/// bytesize parses; `KiB`, `MiB`… and plain byte counts go through unchanged.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits);
    let suffix = suffix.trim();
    let binary = match suffix.to_ascii_lowercase().as_str() {
        "k" | "kb" => "KiB",
        "m" | "mb" => "MiB",
        "g" | "gb" => "GiB",
        "t" | "tb" => "TiB",
        _ => suffix,
    };
    format!("{num}{binary}")
        .parse::<ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|_| format!("bad size {s:?} (e.g. 5MB, 512KB, 1048576)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_written() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(size(100 * 1024 * 1024), "100.0 MiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(
            size_pair(5 * 1024 * 1024 + 1, 5 * 1024 * 1024),
            (
                "5242881 bytes (5.0 MiB)".to_string(),
                "5242880 bytes (5.0 MiB)".to_string()
            )
        );
        assert_eq!(
            size_pair(6_000_000, 2 * 1024 * 1024),
            ("5.7 MiB".to_string(), "2.0 MiB".to_string())
        );
        assert_eq!(parse_size("5MB"), Ok(5 * 1024 * 1024));
        assert_eq!(parse_size("5 mb"), Ok(5 * 1024 * 1024));
        assert_eq!(parse_size("512KB"), Ok(512 * 1024));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1.5GB"), Ok(3 * 512 * 1024 * 1024));
        assert_eq!(parse_size("2MiB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_size("1048576"), Ok(1024 * 1024));
        assert_eq!(parse_size("100B"), Ok(100));
        assert!(parse_size("five").is_err());
        assert!(parse_size("5XB").is_err());
        assert!(parse_size("-5MB").is_err());
    }
}
