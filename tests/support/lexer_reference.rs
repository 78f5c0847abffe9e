//! The differential check between pixscan's own tokenizer (`extract::lexer`) and
//! html5ever's, the reference implementation of the HTML standard's tokenizer. Both are
//! driven the same way (switching to raw-text modes after `<style>`, `<script>`,
//! `<title>`…, as extraction does) and must produce the same tags, attributes, comments,
//! raw text and lines.
//!
//! Included by path, so there is one copy of it: by `tests/lexer_diff.rs` (fixtures, edge
//! cases, generated tag soup) and by the fuzz crate's `lexer_diff` target
//! (`fuzz/src/lib.rs`, which `tests/fuzz_regressions.rs` includes in turn). It depends only
//! on `pixscan` and `html5ever`.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use pixscan::extract::lexer::{self, raw_mode, Lexer, Raw};

/// A token as both tokenizers are compared: kind, name or text, attributes, line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
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

fn push_text(out: &mut Vec<Tok>, text: &str) {
    if let Some(Tok::Text(t)) = out.last_mut() {
        t.push_str(text);
    } else {
        out.push(Tok::Text(text.to_string()));
    }
}

/// The tokens of pixscan's tokenizer.
pub fn ours(html: &str) -> Vec<Tok> {
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

/// The tokens of html5ever's tokenizer.
pub fn reference(html: &str) -> Vec<Tok> {
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

/// Compares both tokenizers on `html`: the same tokens; the same lines, except where
/// html5ever undercounts (it does not count a line break skipped between `=` and an
/// attribute value, `a=\n"b"`, so its lines may only be lower than ours, never higher, and
/// only where a line break follows an `=`); and our lines never going back. `Err` says what differs.
pub fn compare(html: &str) -> Result<(), String> {
    let ((a, la), (b, lb)) = (split(ours(html)), split(reference(html)));
    if a != b {
        let i = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        return Err(format!(
            "tokenizers differ at token {i} (ours has {}, html5ever {})\n ours:      {:?}\n html5ever: {:?}",
            a.len(),
            b.len(),
            a.get(i),
            b.get(i)
        ));
    }
    // The tokens that carry a line, in the order of `la` and `lb`.
    let lined: Vec<&Tok> = a.iter().filter(|t| !matches!(t, Tok::Text(_))).collect();
    if la.len() != lb.len() {
        return Err(format!(
            "{} tokens with a line, html5ever has {}",
            la.len(),
            lb.len()
        ));
    }
    for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
        if !(x >= y && (x == y || break_after_equals(html))) {
            return Err(format!(
                "token {i} ({:?}) on line {x}, html5ever says {y}",
                lined.get(i)
            ));
        }
    }
    if let Some(i) = la.windows(2).position(|w| w[0] > w[1]) {
        return Err(format!(
            "lines go back: token {} ({:?}) on line {}, then token {} ({:?}) on line {}",
            i,
            lined.get(i),
            la[i],
            i + 1,
            lined.get(i + 1),
            la[i + 1]
        ));
    }
    Ok(())
}

/// Whether a line break follows an `=` across only whitespace (`a=\n"b"`): html5ever skips
/// that whitespace without counting the line, so only then may its lines be lower.
fn break_after_equals(html: &str) -> bool {
    let b = html.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'='
            && b[i + 1..]
                .iter()
                .take_while(|c| matches!(c, b'\t' | b'\n' | b'\x0C' | b'\r' | b' '))
                .any(|c| matches!(c, b'\n' | b'\r'))
    })
}
