//! Just enough JavaScript lexing to tell code from comments. A loader or a tag snippet in a
//! comment (`// js.src = "https://platform.twitter.com/widgets.js";`, a disabled GA block in
//! `/* … */`) never runs, yet matches the same patterns as live code. Comments are replaced by
//! spaces (newlines kept), so offsets and line numbers stay those of the page.

use std::borrow::Cow;

/// `text` with every comment blanked: `// …`, `/* … */`, and the HTML-like `<!--` / `-->`
/// line comments that old pages wrap scripts in. Strings, template literals and regular
/// expression literals are skipped so a `//` inside `"https://…"` stays code.
pub fn without_comments(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    // Cheap exit: no comment opener at all.
    if memchr::memchr2(b'/', b'<', b).is_none() && memchr::memmem::find(b, b"-->").is_none() {
        return Cow::Borrowed(text);
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    // The last significant byte before `i`, to tell a regex literal from a division.
    let mut prev: u8 = b'\n';
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i);
                prev = c;
                line_start = false;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = line_end(b, i);
                spans.push((i, end));
                i = end;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end =
                    memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |p| i + 2 + p + 2);
                spans.push((i, end));
                i = end;
                continue;
            }
            b'/' if regex_can_start(prev) => {
                i = skip_regex(b, i);
                prev = b'/';
                line_start = false;
                continue;
            }
            b'<' if b[i..].starts_with(b"<!--") => {
                let end = line_end(b, i);
                spans.push((i, end));
                i = end;
                continue;
            }
            b'-' if line_start && b[i..].starts_with(b"-->") => {
                let end = line_end(b, i);
                spans.push((i, end));
                i = end;
                continue;
            }
            b'\n' => line_start = true,
            c if c.is_ascii_whitespace() => {}
            _ => line_start = false,
        }
        if !c.is_ascii_whitespace() {
            prev = c;
        }
        i += 1;
    }
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in spans {
        out.push_str(&text[at..s]);
        // Keep newlines (line numbers) and the byte length (offsets); comments may hold
        // multi-byte characters, each byte becomes one space.
        out.extend(
            text.as_bytes()[s..e]
                .iter()
                .map(|&c| if c == b'\n' { '\n' } else { ' ' }),
        );
        at = e;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// End of the line holding `i` (the index of the `\n`, or the end).
fn line_end(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p)
}

/// Past the string literal opening at `i`. A quote string also ends at a bare newline (a
/// syntax error in JS, but it keeps one stray quote from eating the rest of the script).
fn skip_string(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q => return j + 1,
            b'\n' if q != b'`' => return j,
            _ => j += 1,
        }
    }
    b.len()
}

/// Whether a `/` after `prev` starts a regular expression literal rather than a division.
fn regex_can_start(prev: u8) -> bool {
    matches!(
        prev,
        b'(' | b','
            | b'='
            | b':'
            | b'['
            | b'!'
            | b'&'
            | b'|'
            | b'?'
            | b'{'
            | b'}'
            | b';'
            | b'\n'
            | b'+'
            | b'-'
            | b'*'
            | b'%'
            | b'<'
            | b'>'
            | b'~'
            | b'^'
    )
}

/// Past the regex literal opening at `i` (classes `[…]` may hold `/`); a newline ends it.
fn skip_regex(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    let mut class = false;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'[' => {
                class = true;
                j += 1
            }
            b']' => {
                class = false;
                j += 1
            }
            b'/' if !class => return j + 1,
            b'\n' => return j,
            _ => j += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_blanked_code_is_kept() {
        let s = "var a = 'https://x.example/a.js'; // s.src = 'https://y.example/b.js';\nb();";
        let out = without_comments(s);
        assert!(out.contains("https://x.example/a.js"));
        assert!(!out.contains("y.example"));
        assert_eq!(out.len(), s.len());
        assert!(out.ends_with("\nb();"));

        let block = "/* js.src = \"//t.example/w.js\";\n fjs.insert(js); */ go();";
        let out = without_comments(block);
        assert!(!out.contains("t.example"));
        assert_eq!(out.matches('\n').count(), 1);
        assert!(out.contains("go();"));

        let html = "<!--\nvar s = '//c.example/x.js';\n//-->";
        let out = without_comments(html);
        assert!(out.contains("//c.example/x.js"));

        // A regex holding quotes or slashes does not open a string or a comment.
        let re = "var r = /[\"'\\/]/g; s.src = '//live.example/x.js';";
        assert!(without_comments(re).contains("//live.example/x.js"));
        // Division is not a regex.
        let div = "var h = w / 2; // '//dead.example/x.js'\n";
        assert!(!without_comments(div).contains("dead.example"));
        // Multi-byte text in a comment keeps the byte length.
        let u = "a(); // ünïcode\nb();";
        assert_eq!(without_comments(u).len(), u.len());
        assert!(matches!(without_comments("plain();"), Cow::Borrowed(_)));
    }
}
