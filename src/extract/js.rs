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

/// The name of the innermost named function whose body holds byte `offset` of `text`
/// (`function pinIt() {…}`, `analytics.load = function (k) {…}`, `init: function () {…}`,
/// `const boot = () => {…}`), looking through blocks (`if`, `try`) and functions that run at
/// once (`(function () {…})()`, `!function () {…}()`). `None` when the code runs at the top
/// level or the scan gives up (very long scripts). A loader inside a named function runs only
/// if something calls it.
pub fn enclosing_named_function(text: &str, offset: usize) -> Option<&str> {
    const LIMIT: usize = 200_000;
    let b = text.as_bytes();
    let floor = offset.saturating_sub(LIMIT);
    let mut i = offset.min(b.len());
    // Start before the literal's own opening quote (`offset` may point inside it).
    if i > 0 && matches!(b[i - 1], b'"' | b'\'' | b'`') {
        i -= 1;
    }
    let mut depth = 0usize;
    while i > floor {
        i -= 1;
        match b[i] {
            // Strings on the way back: skip to their opening quote on the same line.
            q @ (b'"' | b'\'' | b'`') if i == 0 || b[i - 1] != b'\\' => {
                let line_start = b[..i]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |p| p + 1);
                let lo = if q == b'`' {
                    floor
                } else {
                    line_start.max(floor)
                };
                match b[lo..i].iter().rposition(|&c| c == q) {
                    Some(p) => i = lo + p,
                    None if q == b'`' => return None,
                    None => {}
                }
            }
            b'}' => depth += 1,
            b'{' if depth > 0 => depth -= 1,
            b'{' => match function_head(text, i) {
                Head::Named(name) => return Some(name),
                Head::Block | Head::Immediate => {}
            },
            _ => {}
        }
    }
    None
}

enum Head<'a> {
    /// A function with a name that must be called for its body to run.
    Named(&'a str),
    /// A block (`if (…) {`, `else {`, `try {`), an object literal, or an anonymous function
    /// passed somewhere (a callback: assume it runs).
    Block,
    /// A function called where it is defined.
    Immediate,
}

/// What the `{` at `open` opens.
fn function_head(text: &str, open: usize) -> Head<'_> {
    let b = text.as_bytes();
    let mut j = skip_space_back(b, open);
    // Arrow function: `(…) => {` or `x => {`.
    let arrow = j >= 2 && &b[j - 2..j] == b"=>";
    if arrow {
        j = skip_space_back(b, j - 2);
    }
    // Parameters `(…)`.
    if j > 0 && b[j - 1] == b')' {
        j = skip_space_back(b, open_paren_back(b, j));
    } else if arrow {
        j = skip_ident_back(b, j).0;
        j = skip_space_back(b, j);
    } else {
        return Head::Block;
    }
    let mut name: Option<&str> = None;
    if !arrow {
        // `function name(` / `function(` / keyword blocks `if (`, `for (`, `while (`.
        let (start, _) = skip_ident_back(b, j);
        let ident = &text[start..j];
        if ident.is_empty() {
            return Head::Block;
        }
        let before = skip_space_back(b, start);
        let (kw_start, _) = skip_ident_back(b, before);
        if &text[kw_start..before] == "function" {
            name = Some(ident);
            j = kw_start;
        } else if ident == "function" {
            j = start;
        } else {
            // `if (…) {`, a method shorthand `init() {` (in a class or object: a callback).
            return Head::Block;
        }
    }
    // What the function expression is assigned to or handed to.
    let k = skip_space_back(b, j);
    if k > 0 {
        match b[k - 1] {
            b'=' if k < 2 || !matches!(b[k - 2], b'=' | b'!' | b'<' | b'>') => {
                let end = skip_space_back(b, k - 1);
                let start = skip_path_back(b, end);
                if start < end {
                    return Head::Named(&text[start..end]);
                }
            }
            b':' => {
                // An object method: called by whoever reads the object (a library's
                // callback), so count it as running.
                return Head::Block;
            }
            b'(' | b'!' | b'+' | b'-' | b'~' => {
                // `(function () {…})()` and `!function () {…}()`: runs at once, unless the
                // `(` is a call's argument list, which makes it a callback: runs too.
                return Head::Immediate;
            }
            _ => {}
        }
    }
    match name {
        Some(n) => Head::Named(n),
        None => Head::Block,
    }
}

/// The index of the `(` that opens the parenthesised group ending at `end` (`b[end - 1]`
/// is its `)`), or 0 when it does not open.
fn open_paren_back(b: &[u8], end: usize) -> usize {
    let mut d = 0usize;
    let mut k = end;
    while k > 0 {
        k -= 1;
        match b[k] {
            b')' => d += 1,
            b'(' => {
                d -= 1;
                if d == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    k
}

/// Back over a string literal that ends at `end` (`b[end - 1]` is its closing quote): the
/// index of its opening quote, or of the backslash before it when the quote is escaped
/// (`\"…\"`, JSON inside a string). `None` when the literal does not open on the way back.
pub(crate) fn open_quote_back(b: &[u8], end: usize) -> Option<usize> {
    let q = *b.get(end.checked_sub(1)?)?;
    let open = b[..end - 1].iter().rposition(|&c| c == q)?;
    Some(if open > 0 && b[open - 1] == b'\\' {
        open - 1
    } else {
        open
    })
}

/// Back over whitespace from `j`.
pub(crate) fn skip_space_back(b: &[u8], mut j: usize) -> usize {
    while j > 0 && b[j - 1].is_ascii_whitespace() {
        j -= 1;
    }
    j
}

/// A byte of a JavaScript identifier (ASCII).
pub(crate) fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

fn skip_ident_back(b: &[u8], mut j: usize) -> (usize, usize) {
    let end = j;
    while j > 0 && is_ident(b[j - 1]) {
        j -= 1;
    }
    (j, end)
}

/// Back over a dotted name (`window.analytics.load`).
fn skip_path_back(b: &[u8], mut j: usize) -> usize {
    while j > 0 && (is_ident(b[j - 1]) || b[j - 1] == b'.') {
        j -= 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fn_at(text: &str, needle: &str) -> Option<String> {
        enclosing_named_function(text, text.find(needle).unwrap()).map(str::to_string)
    }

    #[test]
    fn named_functions_around_a_loader() {
        let pin = "function pinIt(){var e=document.createElement('script');e.src='https://p.example/pin.js';}";
        assert_eq!(fn_at(pin, "https://p."), Some("pinIt".into()));
        let seg = "analytics.load=function(t,e){var n=document.createElement('script');if(t){n.src='https://cdn.seg.example/a.js'}};";
        assert_eq!(fn_at(seg, "https://cdn"), Some("analytics.load".into()));
        let arrow = "const boot = () => { s.src = '//x.example/a.js'; };";
        assert_eq!(fn_at(arrow, "//x."), Some("boot".into()));
        // Runs at once, or handed to a caller as a callback: no name to wait for.
        let iife =
            "(function(){ var s = d.createElement('script'); s.src = '//x.example/a.js'; })();";
        assert_eq!(fn_at(iife, "//x."), None);
        let bang = "!function(){ s.src = '//x.example/a.js'; }();";
        assert_eq!(fn_at(bang, "//x."), None);
        let cb = "window.addEventListener('load', function () { s.src = '//x.example/a.js'; });";
        assert_eq!(fn_at(cb, "//x."), None);
        let obj = "var o = { onReady: function () { s.src = '//x.example/a.js'; } };";
        assert_eq!(fn_at(obj, "//x."), None);
        let top = "if (a) { s.src = '//x.example/a.js'; }";
        assert_eq!(fn_at(top, "//x."), None);
        // A named function inside an IIFE is still named.
        let inner = "(function(){ function later(){ s.src = '//x.example/a.js'; } })();";
        assert_eq!(fn_at(inner, "//x."), Some("later".into()));
        // Braces inside strings do not count.
        let strs = "function f(){ var a = '}'; s.src = '//x.example/a.js'; }";
        assert_eq!(fn_at(strs, "//x."), Some("f".into()));
    }

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
