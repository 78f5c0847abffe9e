//! Differential tests: pixscan's own tokenizer (`extract::lexer`) against html5ever's, the
//! reference implementation of the HTML standard's tokenizer. Both are driven the same way
//! (switching to raw-text modes after `<style>`, `<script>`, `<title>`…, as extraction
//! does) over every fixture and over generated tag soup, and must produce the same tags,
//! attributes, comments, raw text and lines.

use std::cell::RefCell;
use std::path::Path;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use pixscan::extract::lexer::{self, Lexer, Raw};
use proptest::prelude::*;

/// A token as both tokenizers are compared: kind, name or text, attributes, line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
        line: u64,
    },
    End {
        name: String,
        line: u64,
    },
    Comment {
        text: String,
        line: u64,
    },
    Text(String),
}

/// The raw mode extraction switches to after a start tag.
fn raw_mode(name: &str, self_closing: bool) -> Option<Raw> {
    match name {
        "script" if self_closing => None,
        "style" | "xmp" | "iframe" | "noembed" | "noframes" => Some(Raw::Rawtext),
        "script" => Some(Raw::ScriptData),
        "title" | "textarea" => Some(Raw::Rcdata),
        "plaintext" => Some(Raw::Plaintext),
        _ => None,
    }
}

fn push_text(out: &mut Vec<Tok>, text: &str) {
    if let Some(Tok::Text(t)) = out.last_mut() {
        t.push_str(text);
    } else {
        out.push(Tok::Text(text.to_string()));
    }
}

fn ours(html: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut l = Lexer::new(html);
    while let Some((t, end)) = l.next_token() {
        let line = l.line_at(end);
        match t {
            lexer::Token::StartTag(tag) => {
                out.push(Tok::Start {
                    name: tag.name.to_string(),
                    attrs: tag
                        .attrs
                        .iter()
                        .map(|a| (a.name.to_string(), a.value.to_string()))
                        .collect(),
                    self_closing: tag.self_closing,
                    line,
                });
                if let Some(mode) = raw_mode(&tag.name, tag.self_closing) {
                    l.switch(mode, &tag.name);
                }
            }
            lexer::Token::EndTag(tag) => out.push(Tok::End {
                name: tag.name.to_string(),
                line,
            }),
            lexer::Token::Comment(text) => out.push(Tok::Comment {
                text: text.to_string(),
                line,
            }),
            lexer::Token::Text(text) => push_text(&mut out, &text),
        }
    }
    out
}

struct Recorder {
    out: RefCell<Vec<Tok>>,
    /// Whether character tokens are raw text (after a switch, until the next tag).
    raw: RefCell<bool>,
}

impl TokenSink for Recorder {
    type Handle = ();
    fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<()> {
        let mut out = self.out.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                *self.raw.borrow_mut() = false;
                let name = tag.name.to_string();
                match tag.kind {
                    TagKind::StartTag => {
                        out.push(Tok::Start {
                            name: name.clone(),
                            attrs: tag
                                .attrs
                                .iter()
                                .map(|a| (a.name.local.to_string(), a.value.to_string()))
                                .collect(),
                            self_closing: tag.self_closing,
                            line,
                        });
                        if let Some(mode) = raw_mode(&name, tag.self_closing) {
                            *self.raw.borrow_mut() = true;
                            return match mode {
                                Raw::Rawtext => TokenSinkResult::RawData(RawKind::Rawtext),
                                Raw::Rcdata => TokenSinkResult::RawData(RawKind::Rcdata),
                                Raw::ScriptData => TokenSinkResult::RawData(RawKind::ScriptData),
                                Raw::Plaintext => TokenSinkResult::Plaintext,
                            };
                        }
                    }
                    TagKind::EndTag => out.push(Tok::End { name, line }),
                }
            }
            Token::CommentToken(text) => out.push(Tok::Comment {
                text: text.to_string(),
                line,
            }),
            Token::CharacterTokens(text) if *self.raw.borrow() => push_text(&mut out, &text),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn reference(html: &str) -> Vec<Tok> {
    let tok = Tokenizer::new(
        Recorder {
            out: RefCell::new(Vec::new()),
            raw: RefCell::new(false),
        },
        TokenizerOpts::default(),
    );
    let q = BufferQueue::default();
    q.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&q);
    tok.end();
    tok.sink.out.into_inner()
}

/// Tokens without their lines, and the lines.
fn split(toks: Vec<Tok>) -> (Vec<Tok>, Vec<u64>) {
    let mut lines = Vec::new();
    let toks = toks
        .into_iter()
        .map(|mut t| {
            match &mut t {
                Tok::Start { line, .. } | Tok::End { line, .. } | Tok::Comment { line, .. } => {
                    lines.push(*line);
                    *line = 0;
                }
                Tok::Text(_) => {}
            }
            t
        })
        .collect();
    (toks, lines)
}

/// Same tokens; same lines, except where html5ever undercounts: it does not count a line
/// break skipped between `=` and an attribute value (`a=\n"b"`), so its lines may only be
/// lower than ours, never higher.
fn assert_same(label: &str, html: &str) {
    let ((a, la), (b, lb)) = (split(ours(html)), split(reference(html)));
    assert_eq!(la.len(), lb.len(), "{label}");
    for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
        assert!(
            x >= y && (x == y || html.contains('=')),
            "{label}: token {i} on line {x}, html5ever says {y}"
        );
    }
    assert!(
        la.windows(2).all(|w| w[0] <= w[1]),
        "{label}: lines go back"
    );
    if a != b {
        let i = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        panic!(
            "{label}: tokenizers differ at token {i}\n ours: {:?}\n html5ever: {:?}",
            a.get(i),
            b.get(i)
        );
    }
}

#[test]
fn every_fixture_tokenizes_like_html5ever() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["fixtures", "fuzz/seeds"] {
        for entry in walkdir::WalkDir::new(root.join(dir)) {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            if bytes.len() > 4 * 1024 * 1024 {
                continue;
            }
            // Mail files are tag soup too: the headers, MIME parts and HTML all exercise
            // the tokenizer.
            let text = String::from_utf8_lossy(&bytes);
            assert_same(&entry.path().display().to_string(), &text);
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} files checked");
}

#[test]
fn known_edge_cases() {
    for html in [
        "<a href=x>",
        "<a href='x' / >",
        "<a/b/c>",
        "<img src=a.gif\r\nwidth=1>",
        "<p =x>",
        "<p a==b>",
        "<p a=b=c>",
        "<p a='b'c>",
        "<p a=\"&amp;&AMP;&ampx&amp=&#0;&#x110000;&#x80;&#xD800;&#9;&#x;&#;\">",
        "<title>a &amp; b &lt;</title>",
        "<textarea>&notin; &notit; &not</textarea>",
        "<script>a<!--b<script>c</script>d-->e</script>",
        "<script><!--<script></script></script>x",
        "<script><!-- a --></script>",
        "<script>a</SCRIPT >b",
        "<script>a</scripty>b</script/x>",
        "<style>a</style",
        "<style>a</sty",
        "<!--a--!>b-->",
        "<!---->",
        "<!-->x",
        "<!--->x",
        "<!--a---b-->",
        "<!--a",
        "<!--a-",
        "<!--a--",
        "<!--a--!",
        "<!doctype html><!DOCTYPE x 'a>b'>",
        "<![CDATA[x]]>",
        "<![if !mso]>x<![endif]>",
        "<?xml x?>",
        "</>x",
        "</ x>",
        "</1>",
        "<1>",
        "<",
        "</",
        "<a",
        "<a b",
        "<a b=",
        "<a b='",
        "<plaintext><a>",
        "\u{FEFF}<a>",
        "<a\0b c\0=\"\0\">",
        "<x a='\r\n'\rb=c>",
        "<IMG SRC=\"A\" Src=\"B\">",
        "<img src=x/>",
        "<img/src=x>",
        "<!--[if mso]><v:image src=\"x\"/><![endif]-->",
        "<td background=\"x\"\n\n>",
        "<img a=\n\"b\"\n c=\r\nd>",
    ] {
        assert_same(&format!("{html:?}"), html);
    }
}

/// Tag soup: fragments chosen to hit every tokenizer state and its odd transitions.
fn soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "<",
        "</",
        "<!--",
        "-->",
        "--!>",
        "-",
        "--",
        "<!",
        "<?",
        ">",
        "/",
        "/>",
        "=",
        "\"",
        "'",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "\0",
        "&",
        "&amp;",
        "&amp",
        "&#x41;",
        "&#66",
        "&copy",
        "&notin;",
        "&noti",
        "&#",
        "&#x",
        "a",
        "B",
        "img",
        "IMG",
        "src",
        "x",
        "1",
        "é",
        "😀",
        "<script>",
        "</script>",
        "<script",
        "<style>",
        "</style>",
        "<title>",
        "</title>",
        "<textarea>",
        "<!--[if mso]>",
        "<![endif]-->",
        "<a href=",
        "<img src=",
        "<p ",
        "<!DOCTYPE",
        "<![CDATA[",
        "]]>",
        "<plaintext>",
        "<xmp>",
        "</xmp>",
        "<iframe>",
        "</iframe>",
    ]);
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES=300000 for a long run.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4000),
        ..ProptestConfig::default()
    })]
    #[test]
    fn generated_soup_tokenizes_like_html5ever(html in soup()) {
        assert_same(&format!("{html:?}"), &html);
    }
}
