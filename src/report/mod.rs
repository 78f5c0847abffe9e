//! Stage 5: reports. Each format is its own module and only reads findings; nothing here
//! feeds back into analysis.

pub mod human;
pub mod json;

use crate::model::{DocumentReport, Summary};

/// A streaming report writer: documents arrive one by one in input order, then the summary.
pub trait Reporter {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> std::io::Result<()>;
}

/// Makes text from scanned content safe for a terminal: control characters (ANSI escape
/// sequences included) are shown escaped, never interpreted.
pub fn sanitize(s: &str) -> String {
    if !s
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Like [`sanitize`], but keeps line breaks (multi-line error messages).
pub fn sanitize_lines(s: &str) -> String {
    s.split('\n').map(sanitize).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_escapes_terminal_controls() {
        assert_eq!(super::sanitize("ok"), "ok");
        let s = super::sanitize("a\u{1b}[2J\u{7}b\r\n\u{202e}");
        assert!(!s.chars().any(char::is_control));
        assert!(s.contains("\\u{1b}"));
    }
}
