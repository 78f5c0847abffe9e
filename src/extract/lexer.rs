//! A zero-copy HTML tokenizer for extraction.
//!
//! It follows the tokenization chapter of the HTML standard for everything extraction reads
//! (tag and attribute names, attribute values with character references, comments, the
//! raw-text, RCDATA and script-data modes the caller switches to) and skips text content
//! with `memchr`. Names and values borrow from the input unless they need changing
//! (lowercasing, character references, newline normalisation). html5ever's tokenizer copies
//! every character into a tendril; this one does not, which is most of the difference in
//! speed. `tests/lexer_diff.rs` and a fuzz target hold it to html5ever's output.

use std::borrow::Cow;

use html5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'a> {
    /// Lowercase.
    pub name: Cow<'a, str>,
    /// In source order; a repeated attribute keeps its first value, as the standard says.
    pub attrs: Vec<Attr<'a>>,
    pub self_closing: bool,
}

impl<'a> Tag<'a> {
    /// The trimmed value of attribute `name` (lowercase).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.trim())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    StartTag(Tag<'a>),
    EndTag(Tag<'a>),
    Comment(Cow<'a, str>),
    /// Text, only in the raw modes the caller switched to (`<style>`, `<script>`…); text in
    /// ordinary content is skipped.
    Text(Cow<'a, str>),
}

/// Content models the caller can switch to after a start tag, as a tree builder would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    /// `<style>`, `<xmp>`, `<iframe>`, `<noembed>`, `<noframes>`.
    Rawtext,
    /// `<title>`, `<textarea>`: character references are decoded.
    Rcdata,
    /// `<script>`, with its escaping rules for `<!--`.
    ScriptData,
    /// `<plaintext>`: the rest of the document is text.
    Plaintext,
}

/// The content model a tree builder switches to after start tag `name`, as extraction
/// uses it. A self-closing `<script/>` is taken to have no content (XHTML-style pages write
/// `<script src=… />`).
pub fn raw_mode(name: &str, self_closing: bool) -> Option<Raw> {
    match name {
        "script" if self_closing => None,
        "style" | "xmp" | "iframe" | "noembed" | "noframes" => Some(Raw::Rawtext),
        "script" => Some(Raw::ScriptData),
        "title" | "textarea" => Some(Raw::Rcdata),
        "plaintext" => Some(Raw::Plaintext),
        _ => None,
    }
}

pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Line (1-based) at `counted`.
    line: u64,
    counted: usize,
    /// Set by [`Lexer::switch`]: the next token is raw text ended by `</{end}`.
    raw: Option<(Raw, String)>,
    /// An attribute vector handed back by [`Lexer::recycle`], reused for the next tag.
    spare: Vec<Attr<'a>>,
}

fn is_ws(b: u8) -> bool {
    // `\r` is a newline after the standard's input preprocessing.
    matches!(b, b'\t' | b'\n' | b'\x0C' | b' ' | b'\r')
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Lexer<'a> {
        // A byte order mark is not content.
        let pos = if src.starts_with('\u{FEFF}') { 3 } else { 0 };
        Lexer {
            src,
            pos,
            line: 1,
            counted: 0,
            raw: None,
            spare: Vec::new(),
        }
    }

    /// Hands a tag back once it has been handled, so the next tag reuses its attribute
    /// storage instead of allocating.
    pub fn recycle(&mut self, tag: Tag<'a>) {
        let mut attrs = tag.attrs;
        attrs.clear();
        self.spare = attrs;
    }

    /// After a start tag: read what follows as `mode` text, ended by `</tag`.
    pub fn switch(&mut self, mode: Raw, tag: &str) {
        self.raw = Some((mode, tag.to_ascii_lowercase()));
    }

    /// The line (1-based) of byte offset `at`, counting `\r\n`, `\r` and `\n` as one line
    /// break each, as html5ever does. Offsets must not go backwards between calls. Callers
    /// ask only for the tokens they keep: counting is the costliest part of tokenizing.
    pub fn line_at(&mut self, at: usize) -> u64 {
        let at = at.min(self.src.len());
        if at > self.counted {
            let bytes = &self.src.as_bytes()[self.counted..at];
            self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            if memchr::memchr(b'\r', bytes).is_some() {
                let all = self.src.as_bytes();
                for i in memchr::memchr_iter(b'\r', bytes) {
                    let i = self.counted + i;
                    if all.get(i + 1) != Some(&b'\n') {
                        self.line += 1;
                    }
                }
            }
            self.counted = at;
        }
        self.line
    }

    /// The next token and the offset it ends at; [`Lexer::line_at`] turns the offset into
    /// the line html5ever would report.
    pub fn next_token(&mut self) -> Option<(Token<'a>, usize)> {
        if let Some((mode, end)) = self.raw.take() {
            if let Some(t) = self.raw_text(mode, &end) {
                return Some(t);
            }
        }
        let b = self.src.as_bytes();
        loop {
            let lt = self.pos + memchr::memchr(b'<', &b[self.pos..])?;
            let next = b.get(lt + 1).copied();
            match next {
                Some(b'!') => {
                    if let Some(t) = self.markup_declaration(lt + 2) {
                        return Some(t);
                    }
                }
                Some(b'/') => match b.get(lt + 2).copied() {
                    Some(c) if c.is_ascii_alphabetic() => {
                        if let Some(t) = self.tag(lt + 2, true) {
                            return Some(t);
                        }
                    }
                    // `</>` is dropped.
                    Some(b'>') => self.pos = lt + 3,
                    Some(_) => return Some(self.bogus_comment(lt + 2)),
                    None => {
                        self.pos = b.len();
                        return None;
                    }
                },
                Some(c) if c.is_ascii_alphabetic() => {
                    if let Some(t) = self.tag(lt + 1, false) {
                        return Some(t);
                    }
                }
                Some(b'?') => return Some(self.bogus_comment(lt + 1)),
                _ => self.pos = lt + 1,
            }
            if self.pos >= b.len() {
                return None;
            }
        }
    }

    /// After `<!`.
    fn markup_declaration(&mut self, at: usize) -> Option<(Token<'a>, usize)> {
        let b = self.src.as_bytes();
        if b[at..].starts_with(b"--") {
            return Some(self.comment(at + 2));
        }
        if b.len() >= at + 7 && b[at..at + 7].eq_ignore_ascii_case(b"doctype") {
            // A doctype ends at the first `>`, quoted identifiers or not.
            self.pos = match memchr::memchr(b'>', &b[at..]) {
                Some(i) => at + i + 1,
                None => b.len(),
            };
            return None;
        }
        // `<![CDATA[` outside foreign content, `<![if !mso]>` and the like.
        Some(self.bogus_comment(at))
    }

    /// A comment whose text starts at `at` (after `<!--`).
    fn comment(&mut self, at: usize) -> (Token<'a>, usize) {
        let src = self.src;
        let rest = &src[at..];
        // `<!-->` and `<!--->` are (empty) comments.
        for (prefix, len) in [(">", 1), ("->", 2)] {
            if rest.starts_with(prefix) {
                self.pos = at + len;
                return (Token::Comment(Cow::Borrowed("")), at + len - 1);
            }
        }
        let end = find_comment_end(rest.as_bytes());
        let (text, consumed) = match end {
            Some((i, len)) => (&rest[..i], i + len),
            None => {
                // End of input inside the comment: the dashes of a partial `--!` close
                // are not text.
                let t = rest
                    .strip_suffix("--!")
                    .or_else(|| rest.strip_suffix("--"))
                    .or_else(|| rest.strip_suffix('-'))
                    .unwrap_or(rest);
                (t, rest.len())
            }
        };
        self.pos = at + consumed;
        // At the end of input every line break has been read.
        let end = match end {
            Some(_) => at + consumed - 1,
            None => self.src.len(),
        };
        (Token::Comment(normalize(text)), end)
    }

    /// A bogus comment: text from `at` to the next `>`.
    fn bogus_comment(&mut self, at: usize) -> (Token<'a>, usize) {
        let b = self.src.as_bytes();
        let (end, next) = match memchr::memchr(b'>', &b[at..]) {
            Some(i) => (at + i, at + i + 1),
            None => (b.len(), b.len()),
        };
        self.pos = next;
        (Token::Comment(normalize(&self.src[at..end])), next.max(end))
    }

    /// A tag whose name starts at `at`. `None` when the input ends inside it (the standard
    /// drops such a tag).
    fn tag(&mut self, at: usize, end: bool) -> Option<(Token<'a>, usize)> {
        let src = self.src;
        let b = src.as_bytes();
        let len = b.len();
        let mut i = at;
        while i < len && !is_ws(b[i]) && b[i] != b'/' && b[i] != b'>' {
            i += 1;
        }
        if i >= len {
            self.pos = len;
            return None;
        }
        let name = lower(&src[at..i]);
        let mut attrs: Vec<Attr<'a>> = std::mem::take(&mut self.spare);
        let mut self_closing = false;
        loop {
            while i < len && is_ws(b[i]) {
                i += 1;
            }
            if i >= len {
                self.pos = len;
                return None;
            }
            match b[i] {
                b'>' => break,
                b'/' => {
                    i += 1;
                    match b.get(i) {
                        None => {
                            self.pos = len;
                            return None;
                        }
                        Some(b'>') => {
                            self_closing = true;
                            break;
                        }
                        // Reconsume in the before-attribute-name state.
                        Some(_) => continue,
                    }
                }
                _ => {
                    let Some((attr_name, value, next)) = self.attribute(i) else {
                        self.pos = len;
                        return None;
                    };
                    i = next;
                    let attr_name = lower(attr_name);
                    if !attrs.iter().any(|a| a.name == attr_name) {
                        attrs.push(Attr {
                            name: attr_name,
                            value,
                        });
                    }
                }
            }
        }
        // `b[i]` is the closing `>`.
        self.pos = i + 1;
        let tag = Tag {
            name,
            attrs,
            self_closing,
        };
        Some((
            if end {
                Token::EndTag(tag)
            } else {
                Token::StartTag(tag)
            },
            i,
        ))
    }

    /// One attribute starting at `i` (its first character is part of the name even if it
    /// is `=`): its name as written, its value (decoded), and where parsing goes on. `None`
    /// when the input ends inside it.
    fn attribute(&self, mut i: usize) -> Option<(&'a str, Cow<'a, str>, usize)> {
        let src = self.src;
        let b = src.as_bytes();
        let len = b.len();
        let name_start = i;
        i += 1;
        while i < len && !is_ws(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let name = &src[name_start..i];
        while i < len && is_ws(b[i]) {
            i += 1;
        }
        if i >= len {
            return None;
        }
        if b[i] != b'=' {
            return Some((name, Cow::Borrowed(""), i));
        }
        i += 1;
        while i < len && is_ws(b[i]) {
            i += 1;
        }
        if i >= len {
            return None;
        }
        match b[i] {
            q @ (b'"' | b'\'') => {
                let close = memchr::memchr(q, &b[i + 1..])?;
                Some((name, attr_value(&src[i + 1..i + 1 + close]), i + close + 2))
            }
            // A missing value: the `>` ends the tag.
            b'>' => Some((name, Cow::Borrowed(""), i)),
            _ => {
                let start = i;
                while i < len && !is_ws(b[i]) && b[i] != b'>' {
                    i += 1;
                }
                if i >= len {
                    return None;
                }
                Some((name, attr_value(&src[start..i]), i))
            }
        }
    }

    /// Raw text from the current position to the appropriate end tag (`</end` followed by
    /// whitespace, `/` or `>`), or to the end of input.
    fn raw_text(&mut self, mode: Raw, end: &str) -> Option<(Token<'a>, usize)> {
        let b = self.src.as_bytes();
        let start = self.pos;
        let stop = match mode {
            Raw::Plaintext => b.len(),
            Raw::Rawtext | Raw::Rcdata => {
                let mut at = start;
                loop {
                    match memchr::memmem::find(&b[at..], b"</") {
                        None => break b.len(),
                        Some(i) => {
                            let lt = at + i;
                            if appropriate_end(b, lt + 2, end) {
                                break lt;
                            }
                            at = lt + 2;
                        }
                    }
                }
            }
            Raw::ScriptData => script_end(b, start, end),
        };
        self.pos = stop;
        if stop == start {
            return None;
        }
        let text = &self.src[start..stop];
        let text = if mode == Raw::Rcdata {
            decode_refs(text, false)
        } else {
            normalize(text)
        };
        Some((Token::Text(text), stop))
    }
}

/// Whether `b[at..]` starts with `end` (case-insensitive) then whitespace, `/` or `>`.
fn appropriate_end(b: &[u8], at: usize, end: &str) -> bool {
    let n = end.len();
    b.len() > at + n
        && b[at..at + n].eq_ignore_ascii_case(end.as_bytes())
        && (is_ws(b[at + n]) || matches!(b[at + n], b'/' | b'>'))
}

/// Where script data starting at `start` ends: the `<` of its end tag, or the input's end.
/// Follows the standard's script-data states, including `<!--` escapes and the
/// "double-escaped" `<script>` inside them, where `</script>` does not end the script.
fn script_end(b: &[u8], start: usize, end: &str) -> usize {
    let mut s = Script::Data;
    let mut i = start;
    while i < b.len() {
        let step = match s {
            Script::Data => script_data(b, i, end),
            Script::Escaped | Script::EscapedDash | Script::EscapedDashDash => {
                script_escaped(b, i, s, end)
            }
            Script::Double | Script::DoubleDash | Script::DoubleDashDash => script_double(b, i, s),
        };
        match step {
            Step::Ends(at) => return at,
            Step::Goes(next, at) => (s, i) = (next, at),
        }
    }
    b.len()
}

/// The standard's script-data states (the dash states count the dashes seen).
#[derive(Clone, Copy, PartialEq)]
enum Script {
    Data,
    Escaped,
    EscapedDash,
    EscapedDashDash,
    Double,
    DoubleDash,
    DoubleDashDash,
}

/// One step of [`script_end`]: the script ends at a position, or goes on in a state.
enum Step {
    Ends(usize),
    Goes(Script, usize),
}

/// The end of a run of ASCII letters starting at `at`.
fn letters_end(b: &[u8], at: usize) -> usize {
    at + b[at..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count()
}

/// Whether `b[at]` ends a tag name: whitespace, `/` or `>`.
fn ends_name(b: &[u8], at: usize) -> bool {
    at < b.len() && (is_ws(b[at]) || matches!(b[at], b'/' | b'>'))
}

/// Script data: skip to the next `<`; an end tag ends the script, `<!--` escapes.
fn script_data(b: &[u8], i: usize, end: &str) -> Step {
    let Some(lt) = memchr::memchr(b'<', &b[i..]) else {
        return Step::Ends(b.len());
    };
    let i = i + lt;
    if b.get(i + 1) == Some(&b'/') {
        if appropriate_end(b, i + 2, end) {
            return Step::Ends(i);
        }
        Step::Goes(Script::Data, i + 2)
    } else if b[i + 1..].starts_with(b"!--") {
        // Script data escape start: `<!--`, then the dash-dash state.
        Step::Goes(Script::EscapedDashDash, i + 4)
    } else {
        Step::Goes(Script::Data, i + 1)
    }
}

/// Inside `<!--`: `-->` leaves, an end tag still ends the script, `<script` double-escapes.
fn script_escaped(b: &[u8], i: usize, s: Script, end: &str) -> Step {
    match b[i] {
        b'-' => Step::Goes(
            if s == Script::Escaped {
                Script::EscapedDash
            } else {
                Script::EscapedDashDash
            },
            i + 1,
        ),
        b'>' if s == Script::EscapedDashDash => Step::Goes(Script::Data, i + 1),
        b'<' if b.get(i + 1) == Some(&b'/') => {
            if appropriate_end(b, i + 2, end) {
                return Step::Ends(i);
            }
            Step::Goes(Script::Escaped, i + 2)
        }
        b'<' if b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
            // Double escape start: `<script` then whitespace, `/` or `>`.
            let j = letters_end(b, i + 1);
            if ends_name(b, j) && b[i + 1..j].eq_ignore_ascii_case(b"script") {
                Step::Goes(Script::Double, j + 1)
            } else {
                Step::Goes(Script::Escaped, j)
            }
        }
        _ => Step::Goes(Script::Escaped, i + 1),
    }
}

/// Inside `<!--<script>`: `</script` returns to the escaped state, `-->` leaves.
fn script_double(b: &[u8], i: usize, s: Script) -> Step {
    match b[i] {
        b'-' => Step::Goes(
            if s == Script::Double {
                Script::DoubleDash
            } else {
                Script::DoubleDashDash
            },
            i + 1,
        ),
        b'>' if s == Script::DoubleDashDash => Step::Goes(Script::Data, i + 1),
        b'<' if b.get(i + 1) == Some(&b'/') => {
            // Double escape end: `</script` then whitespace, `/` or `>`.
            let j = letters_end(b, i + 2);
            if ends_name(b, j) && b[i + 2..j].eq_ignore_ascii_case(b"script") {
                Step::Goes(Script::Escaped, j + 1)
            } else {
                Step::Goes(Script::Double, j.max(i + 2))
            }
        }
        _ => Step::Goes(Script::Double, i + 1),
    }
}

/// The end of a comment's text in `rest` (after `<!--`): `-->` or `--!>`, and its length.
fn find_comment_end(rest: &[u8]) -> Option<(usize, usize)> {
    let mut at = 0;
    while let Some(i) = memchr::memmem::find(&rest[at..], b"--") {
        let d = at + i;
        // Skip further dashes: in `a---->` the text is `a--`.
        let mut j = d + 2;
        while j < rest.len() && rest[j] == b'-' {
            j += 1;
        }
        match rest.get(j) {
            Some(b'>') => return Some((j - 2, 3)),
            Some(b'!') if rest.get(j + 1) == Some(&b'>') => return Some((j - 2, 4)),
            Some(_) => at = j,
            None => return None,
        }
    }
    None
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes()
        .any(|b| b.is_ascii_uppercase() || b == 0 || b == b'\r')
    {
        let mut out = s.to_ascii_lowercase();
        if memchr::memchr2(b'\0', b'\r', out.as_bytes()).is_some() {
            out = normalize(&out).into_owned();
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// The standard's input preprocessing for text we keep: `\r\n` and `\r` become `\n`; NUL
/// becomes U+FFFD.
fn normalize(s: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'\r', b'\0', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.replace("\r\n", "\n")
            .replace('\r', "\n")
            .replace('\0', "\u{FFFD}"),
    )
}

fn attr_value(raw: &str) -> Cow<'_, str> {
    if raw.contains('&') {
        decode_refs(raw, true)
    } else {
        normalize(raw)
    }
}

/// Decodes character references (`&amp;`, `&#38;`, `&#x26;`, legacy `&amp` without `;`).
/// In attribute values a legacy reference followed by `=` or a letter or digit stays as
/// written (`?a=1&copy=2` keeps `&copy`).
fn decode_refs(raw: &str, in_attribute: bool) -> Cow<'_, str> {
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
        match b.get(i) {
            Some(b'#') => {
                let hex = matches!(b.get(i + 1), Some(b'x' | b'X'));
                let digits_at = if hex { i + 2 } else { i + 1 };
                let mut j = digits_at;
                let radix = if hex { 16 } else { 10 };
                let mut n: u32 = 0;
                let mut too_big = false;
                while j < b.len() && (b[j] as char).is_digit(radix) {
                    n = n
                        .saturating_mul(radix)
                        .saturating_add((b[j] as char).to_digit(radix).unwrap_or(0));
                    if n > 0x10FFFF {
                        too_big = true;
                    }
                    j += 1;
                }
                if j == digits_at {
                    // `&#` or `&#x` without digits: not a reference.
                    out.push('&');
                    continue;
                }
                if b.get(j) == Some(&b';') {
                    j += 1;
                }
                out.push(numeric_char(n, too_big));
                i = j;
            }
            Some(c) if c.is_ascii_alphanumeric() => {
                // Longest entity name, following the table's prefixes.
                let mut j = i;
                let mut best: Option<(usize, (u32, u32))> = None;
                while j < b.len() && j - i < 40 {
                    let c = b[j];
                    if !(c.is_ascii_alphanumeric() || c == b';') {
                        break;
                    }
                    j += 1;
                    match NAMED_ENTITIES.get(&s[i..j]) {
                        Some(&m) => {
                            if m.0 != 0 {
                                best = Some((j, m));
                            }
                            if c == b';' {
                                break;
                            }
                        }
                        None => break,
                    }
                }
                match best {
                    Some((end, (c1, c2))) => {
                        let semicolon = b[end - 1] == b';';
                        let next = b.get(end).copied();
                        if !semicolon
                            && in_attribute
                            && next.is_some_and(|n| n == b'=' || n.is_ascii_alphanumeric())
                        {
                            out.push('&');
                            continue;
                        }
                        if let Some(c) = char::from_u32(c1) {
                            out.push(c);
                        }
                        if c2 != 0 {
                            if let Some(c) = char::from_u32(c2) {
                                out.push(c);
                            }
                        }
                        i = end;
                    }
                    None => out.push('&'),
                }
            }
            _ => out.push('&'),
        }
    }
    out.push_str(&s[i..]);
    Cow::Owned(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(html: &str) -> Vec<Token<'_>> {
        let mut l = Lexer::new(html);
        let mut out = Vec::new();
        while let Some((t, _)) = l.next_token() {
            if let Token::StartTag(tag) = &t {
                if let Some(mode) = raw_mode(&tag.name, tag.self_closing) {
                    l.switch(mode, &tag.name);
                }
            }
            out.push(t);
        }
        out
    }

    fn start(html: &str) -> Tag<'_> {
        match tokens(html).into_iter().next() {
            Some(Token::StartTag(t)) => t,
            other => panic!("{html}: {other:?}"),
        }
    }

    #[test]
    fn attributes_in_every_quoting() {
        let t = start(r#"<IMG SRC="a.gif" width=1 height='1' hidden alt = "x y" /x>"#);
        assert_eq!(t.name, "img");
        let got: Vec<(&str, &str)> = t
            .attrs
            .iter()
            .map(|a| (a.name.as_ref(), a.value.as_ref()))
            .collect();
        assert_eq!(
            got,
            [
                ("src", "a.gif"),
                ("width", "1"),
                ("height", "1"),
                ("hidden", ""),
                ("alt", "x y"),
                ("x", "")
            ]
        );
    }

    #[test]
    fn character_references_in_values() {
        let t = start(r#"<a href="?a=1&amp;b=2&copy=3&lt;&#x41;&#66&notit;&nosuch;">"#);
        assert_eq!(t.attr("href"), Some("?a=1&b=2&copy=3<AB&notit;&nosuch;"));
    }

    #[test]
    fn first_of_duplicate_attributes_wins() {
        assert_eq!(start(r#"<img src="a" SRC="b">"#).attr("src"), Some("a"));
    }

    #[test]
    fn comments_and_their_odd_endings() {
        let t = tokens("<!-- a --><!----><!--><!--b--!><!-- c -- d --->");
        let texts: Vec<String> = t
            .iter()
            .map(|t| match t {
                Token::Comment(c) => c.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts, [" a ", "", "", "b", " c -- d -"]);
    }

    #[test]
    fn raw_text_ends_only_at_its_own_end_tag() {
        let t = tokens("<style>a</b>c</stylex></style ><p>");
        assert_eq!(t[1], Token::Text(Cow::Borrowed("a</b>c</stylex>")));
        assert!(matches!(&t[2], Token::EndTag(e) if e.name == "style"));
        assert!(matches!(&t[3], Token::StartTag(e) if e.name == "p"));
    }

    #[test]
    fn script_escapes() {
        let t = tokens("<script><!--<script>x</script>y--></script><i>");
        assert_eq!(
            t[1],
            Token::Text(Cow::Borrowed("<!--<script>x</script>y-->"))
        );
        assert!(matches!(&t[3], Token::StartTag(e) if e.name == "i"));
    }

    #[test]
    fn a_tag_cut_off_by_the_end_of_input_is_dropped() {
        assert_eq!(
            tokens("<p><img src=\"x"),
            vec![Token::StartTag(start("<p>"))]
        );
    }

    #[test]
    fn lines_count_crlf_once() {
        let mut l = Lexer::new("a\r\nb\rc\n<img\r\nsrc=x>");
        let (_, end) = l.next_token().unwrap();
        assert_eq!(l.line_at(end), 5);
    }
}
