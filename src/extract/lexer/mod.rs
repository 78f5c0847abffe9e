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

mod refs;
mod script;

use refs::{attr_value, decode_refs};
use script::{appropriate_end, script_end};

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
        let mut fold = false;
        while i < len && !is_ws(b[i]) && b[i] != b'/' && b[i] != b'>' {
            fold |= needs_fold(b[i]);
            i += 1;
        }
        if i >= len {
            self.pos = len;
            return None;
        }
        let name = lower(&src[at..i], fold);
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
    /// is `=`): its name (lowercase), its value (decoded), and where parsing goes on. `None`
    /// when the input ends inside it.
    fn attribute(&self, mut i: usize) -> Option<(Cow<'a, str>, Cow<'a, str>, usize)> {
        let src = self.src;
        let b = src.as_bytes();
        let len = b.len();
        let name_start = i;
        let mut fold = needs_fold(b[i]);
        i += 1;
        while i < len && !is_ws(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            fold |= needs_fold(b[i]);
            i += 1;
        }
        let name = lower(&src[name_start..i], fold);
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

/// Whether a name byte makes [`lower`] change the name. Name scans ask as they go, so
/// names are not read twice. (`\r` ends a name: it is whitespace.)
fn needs_fold(b: u8) -> bool {
    b.is_ascii_uppercase() || b == 0
}

/// Name `s`, lowercase and preprocessed; `fold` says whether any byte [`needs_fold`].
fn lower(s: &str, fold: bool) -> Cow<'_, str> {
    if fold {
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
