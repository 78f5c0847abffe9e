//! Just enough CSS for a privacy scanner: the declarations of a `style` attribute, and every
//! `url()` / `@import` reference in a stylesheet. A full CSS parser would cost more than the
//! whole HTML pass and tell us nothing more about where requests go.

/// One `url(...)` or `@import "..."` reference found in CSS text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CssRef {
    pub url: String,
    /// What asked for it: `@import`, `@font-face`, or the property name (`background-image`).
    pub context: String,
    /// Byte offset of the reference within the CSS text.
    pub offset: usize,
    /// When the rule fires only on a reader's action, not on display: `print` (`@media
    /// print`), `forward` (quoted in a reply or forward: `blockquote`,
    /// `.moz-email-headers-table`, `.OutlookMessageHeader`), `read-duration` (a step of an
    /// `@keyframes` animation: fired only if the message stays open that long).
    pub trigger: Option<&'static str>,
}

/// What a block head (selector or at-rule) says about when its `url()`s load.
fn trigger_of(head: &str) -> Option<&'static str> {
    let h = head.as_bytes();
    let has = |needle: &[u8]| {
        h.len() >= needle.len()
            && h.windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let starts = |p: &[u8]| h.len() >= p.len() && h[..p.len()].eq_ignore_ascii_case(p);
    if starts(b"@media") && has(b"print") {
        Some("print")
    } else if starts(b"@keyframes") || starts(b"@-webkit-keyframes") {
        Some("read-duration")
    } else if has(b"blockquote")
        || has(b".moz-email-headers-table")
        || has(b".outlookmessageheader")
        || has(b"#divrplyfwdmsg")
    {
        Some("forward")
    } else {
        None
    }
}

/// A parsed declaration list. Property names keep their case; compare them with
/// [`Declarations::get`], which ignores it. No allocation per declaration: this runs on
/// every styled element of every message.
#[derive(Debug, Default)]
pub struct Declarations<'a>(pub Vec<(&'a str, &'a str)>);

impl<'a> Declarations<'a> {
    /// The last value given for a property (later declarations win, as in CSS).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(p, _)| p.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Splits a declaration list (`a: b; c: d`) into property names and trimmed values.
/// Semicolons inside parentheses or quotes do not split (`url("a;b")`).
pub fn declarations(style: &str) -> Declarations<'_> {
    let mut out = Vec::new();
    each_declaration(style, |name, value| out.push((name, value)));
    Declarations(out)
}

/// Calls `f` with each declaration's property name and trimmed value (`!important`
/// dropped), in order, without collecting them.
pub fn each_declaration<'a>(style: &'a str, mut f: impl FnMut(&'a str, &'a str)) {
    split_top_level(style, b';', |decl| {
        if let Some(colon) = memchr::memchr(b':', decl.as_bytes()) {
            let name = decl[..colon].trim_ascii();
            let value = decl[colon + 1..].trim_ascii();
            let value = value
                .strip_suffix("!important")
                .map(str::trim_ascii_end)
                .unwrap_or(value);
            if !name.is_empty() {
                f(name, value);
            }
        }
    });
}

/// Calls `f` with each part of `s` between separators outside parentheses and quotes.
fn split_top_level<'a>(s: &'a str, sep: u8, mut f: impl FnMut(&'a str)) {
    let bytes = s.as_bytes();
    let (mut depth, mut quote, mut start) = (0u32, 0u8, 0usize);
    // Most inline styles have no parenthesis or quote: then every separator splits, and
    // memchr finds them faster than the byte loop below. (A `)` alone changes nothing.)
    if memchr::memchr3(b'(', b'"', b'\'', bytes).is_none() {
        for i in memchr::memchr_iter(sep, bytes) {
            f(&s[start..i]);
            start = i + 1;
        }
        if start < s.len() {
            f(&s[start..]);
        }
        return;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if quote != 0 {
            if b == b'\\' {
                i += 1;
            } else if b == quote {
                quote = 0;
            }
        } else {
            match b {
                b'"' | b'\'' => quote = b,
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                _ if b == sep && depth == 0 => {
                    f(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    if start < s.len() {
        f(&s[start..]);
    }
}

/// Every `url()` and `@import` in a stylesheet or declaration list, with the property or
/// at-rule that requested it. Comments are skipped.
pub fn urls(css: &str) -> Vec<CssRef> {
    let bytes = css.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Name of the at-rule block we are in (only `@font-face` matters) and the last property.
    let mut block_at_rule: Option<&'static str> = None;
    let mut brace_depth_at_rule = 0usize;
    let mut depth = 0usize;
    let mut prop_start = 0usize;
    // The trigger of each open block (None for ordinary selectors), innermost last.
    let mut triggers: Vec<Option<&'static str>> = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&bytes[i + 2..], b"*/")
                    .map(|p| i + 2 + p + 2)
                    .unwrap_or(bytes.len());
                prop_start = i;
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'{' => {
                depth += 1;
                let head = css[prop_start..i].trim();
                if head.to_ascii_lowercase().starts_with("@font-face") {
                    block_at_rule = Some("@font-face");
                    brace_depth_at_rule = depth;
                }
                if triggers.len() < 64 {
                    triggers.push(trigger_of(head));
                }
                prop_start = i + 1;
            }
            b'}' => {
                if block_at_rule.is_some() && depth == brace_depth_at_rule {
                    block_at_rule = None;
                }
                depth = depth.saturating_sub(1);
                triggers.truncate(depth.min(triggers.len()));
                prop_start = i + 1;
            }
            b';' => prop_start = i + 1,
            b'@' if starts_with_ci(&bytes[i..], b"@import") => {
                if let Some((url, at, end)) = import_target(css, i) {
                    push(&mut out, url, "@import", at, None);
                    i = end;
                    continue;
                }
            }
            b'u' | b'U' if starts_with_ci(&bytes[i..], b"url(") && !is_ident_byte(bytes, i) => {
                if let Some((url, end)) = read_url(css, i) {
                    let context = match block_at_rule {
                        Some(at) => at.to_string(),
                        None => property_name(&css[prop_start..i]),
                    };
                    let trigger = triggers.iter().rev().find_map(|t| *t);
                    push(&mut out, url, &context, i, trigger);
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The target of the `@import` at `at`: a quoted string or `url(…)`, its offset, and
/// where the scan goes on. `None` for anything else (`@import` with no target).
fn import_target(css: &str, at: usize) -> Option<(&str, usize, usize)> {
    let rest = css[at + "@import".len()..].trim_start();
    let rest_off = css.len() - rest.len();
    if rest.starts_with('"') || rest.starts_with('\'') {
        let end = skip_string(css.as_bytes(), rest_off);
        let inner = &css[rest_off + 1..end.saturating_sub(1).max(rest_off + 1)];
        return Some((inner, rest_off + 1, end));
    }
    if starts_with_ci(rest.as_bytes(), b"url(") {
        let (url, end) = read_url(css, rest_off)?;
        return Some((url, rest_off, end));
    }
    None
}

fn push(
    out: &mut Vec<CssRef>,
    url: &str,
    context: &str,
    offset: usize,
    trigger: Option<&'static str>,
) {
    let url = url.trim();
    if !url.is_empty() {
        out.push(CssRef {
            url: unescape_css(url),
            context: context.to_string(),
            offset,
            trigger,
        });
    }
}

/// CSS escapes in URLs are rare but used to hide them: `\2f` → `/`, `\(` → `(`.
fn unescape_css(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let mut hex = String::new();
        while hex.len() < 6 {
            match chars.peek() {
                Some(h) if h.is_ascii_hexdigit() => {
                    hex.push(*h);
                    chars.next();
                }
                _ => break,
            }
        }
        if hex.is_empty() {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            if chars.peek() == Some(&' ') {
                chars.next();
            }
            let cp = u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD);
            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
        }
    }
    out
}

fn property_name(before: &str) -> String {
    match before.rfind(':') {
        Some(colon) => {
            let name = before[..colon].trim();
            let name = name.rsplit(['{', ';', '}']).next().unwrap_or(name).trim();
            name.to_ascii_lowercase()
        }
        None => "url()".to_string(),
    }
}

fn is_ident_byte(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-' || bytes[i - 1] == b'_')
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Returns the index just past the closing quote of the string starting at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Reads `url(...)` starting at `start` (pointing at `u`); returns the inner URL and the end.
fn read_url(css: &str, start: usize) -> Option<(&str, usize)> {
    let bytes = css.as_bytes();
    let mut i = start + 4;
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
        let end = skip_string(bytes, i);
        let inner = css.get(i + 1..end.saturating_sub(1).max(i + 1))?;
        let close = memchr::memchr(b')', &bytes[end.min(bytes.len())..])
            .map(|p| end + p + 1)
            .unwrap_or(bytes.len());
        return Some((inner, close));
    }
    let close = memchr::memchr(b')', &bytes[i..])?;
    Some((css.get(i..i + close)?, i + close + 1))
}

/// Parses a CSS length in pixels (`1px`, `0`, `2.5px`); other units give `None`.
pub fn px(value: &str) -> Option<f64> {
    let v = value.trim();
    // Compare bytes: the value may end in a multi-byte character (`1€`), and `px` is ASCII,
    // so cutting it off leaves a char boundary.
    let is_px = v.len() >= 2 && v.as_bytes()[v.len() - 2..].eq_ignore_ascii_case(b"px");
    let num = if is_px { v[..v.len() - 2].trim() } else { v };
    if num.is_empty()
        || !num.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
    {
        return None;
    }
    // Most sizes are small whole numbers (`600`, `1px`): read them without the float
    // parser, which gives the same value for them.
    if num.len() <= 9 && num.bytes().all(|b| b.is_ascii_digit()) {
        let n = num.bytes().fold(0, |n, d| n * 10 + u32::from(d - b'0'));
        return Some(f64::from(n));
    }
    let n: f64 = num.parse().ok()?;
    (n.is_finite()).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_split_outside_parens_and_quotes() {
        let d = declarations(
            "display: none !important; background:url('a;b.gif'); WIDTH:1px; width: 2px",
        );
        assert_eq!(d.0[0], ("display", "none"));
        assert_eq!(d.0[1], ("background", "url('a;b.gif')"));
        assert_eq!(d.0[2], ("WIDTH", "1px"));
        assert_eq!(d.get("width"), Some("2px"));
    }

    #[test]
    fn urls_carry_their_context() {
        let css = r#"@import "https://a.example/x.css"; @import url(https://b.example/y.css);
            /* url(https://ignored.example/) */
            .x { background-image: url( "https://c.example/p.gif?u=1" ) }
            @font-face { font-family: F; src: url(https://d.example/f.woff2) format("woff2") }
            td{background:#fff url(https://e.example/\2f bg.png)}"#;
        let refs = urls(css);
        let got: Vec<(&str, &str)> = refs
            .iter()
            .map(|r| (r.url.as_str(), r.context.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("https://a.example/x.css", "@import"),
                ("https://b.example/y.css", "@import"),
                ("https://c.example/p.gif?u=1", "background-image"),
                ("https://d.example/f.woff2", "@font-face"),
                ("https://e.example//bg.png", "background"),
            ]
        );
    }

    #[test]
    fn px_lengths() {
        assert_eq!(px("1px"), Some(1.0));
        assert_eq!(px("0"), Some(0.0));
        assert_eq!(px(" 2 "), Some(2.0));
        // Whole numbers take the short path; the float parser reads the rest.
        assert_eq!(px("0600PX"), Some(600.0));
        assert_eq!(px("9999999999"), Some(9999999999.0));
        assert_eq!(px("1.5px"), Some(1.5));
        assert_eq!(px("-9999px"), Some(-9999.0));
        assert_eq!(px("1em"), None);
        assert_eq!(px("50%"), None);
        assert_eq!(px("auto"), None);
        // Found by the html_extract and mail_parse fuzzers: a multi-byte last character.
        assert_eq!(px("1€"), None);
        assert_eq!(px("€"), None);
        assert_eq!(px("2€px"), None);
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for s in [
            "url(",
            "url(\"abc",
            "@import '",
            "@import",
            "/* open",
            "a{b:url('x",
            "\\",
        ] {
            let _ = urls(s);
            let _ = declarations(s);
        }
    }

    #[test]
    fn triggers_of_conditional_css() {
        let css = "@media print { .x { background: url(https://t.example/print.gif) } }
            blockquote .y { background-image: url('https://t.example/fwd.gif') }
            .moz-email-headers-table { background: url(https://t.example/tb.gif) }
            @keyframes r { 50% { background: url(https://t.example/10s.gif) } }
            .z { background: url(https://cdn.example/bg.png) }";
        let t: Vec<_> = urls(css).into_iter().map(|r| r.trigger).collect();
        assert_eq!(
            t,
            vec![
                Some("print"),
                Some("forward"),
                Some("forward"),
                Some("read-duration"),
                None
            ]
        );
    }
}
