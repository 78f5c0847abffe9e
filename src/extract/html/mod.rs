//! Streaming extraction of remote references from HTML.
//!
//! We run our own zero-copy tokenizer (`lexer`, held to html5ever's output by tests) and
//! keep a light stack of open elements instead of building a DOM: it is several times
//! cheaper, and all we need from the tree is whether an ancestor hides its content.

use std::borrow::Cow;

use super::css;
use super::lexer::{raw_mode, Lexer, Raw, Tag, Token};
use crate::model::{RawRef, RefRole};

mod hiding;
mod refs;

pub use hiding::tiny;
use hiding::{own_hiding, size, StyleMemo, StyleSize};
use refs::{all_attrs, attribute_refs, interesting_attrs, sized, style_refs};

/// Everything the analysis needs from one HTML document.
#[derive(Debug, Default)]
pub struct Extracted {
    pub refs: Vec<RawRef>,
    /// `<base href>`, the first one only, as browsers do.
    pub base: Option<String>,
    pub title: Option<String>,
    /// `<meta name=referrer content=…>`.
    pub meta_referrer: Option<String>,
    /// The URL the page says it lives at: `<link rel=canonical>`, else `<meta property=og:url>`.
    pub canonical: Option<String>,
    /// Inline `<script>` bodies (site mode: tag snippets and consent defaults).
    pub inline_scripts: Vec<InlineScript>,
    /// References dropped because the document exceeded `Limits::max_refs`.
    pub truncated_refs: u64,
}

#[derive(Debug, Clone)]
pub struct InlineScript {
    pub line: u64,
    pub text: String,
    pub attrs: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Hostile documents can hold 100,000 images; past this we count instead of keeping.
    pub max_refs: usize,
    /// Open-element stack depth we track; deeper nesting is counted, not stored.
    pub max_depth: usize,
    /// Bytes of inline script/style text kept per element.
    pub max_inline_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_refs: 20_000,
            max_depth: 512,
            max_inline_text: 256 * 1024,
        }
    }
}

pub fn extract(html: &str) -> Extracted {
    extract_with(html, Limits::default())
}

pub fn extract_with(html: &str, limits: Limits) -> Extracted {
    let mut out = Extracted::default();
    run(html, limits, 0, &[], 0, &mut out);
    out
}

/// Conditional comments inside conditional comments are tokenized this deep at most. Real
/// mail nests them once or twice; each level re-reads the text it holds, so unbounded
/// nesting (an unterminated `<!--[if mso]>` repeated 20,000 times) would cost quadratic
/// time and a recursion as deep as the nesting.
const MAX_CONDITIONAL_NESTING: usize = 4;

/// Tokenizes `html` into `out`. `line_offset` and `context` carry position and hiding state
/// into the content of conditional comments (`<!--[if mso]>…<![endif]-->`); `nesting` is how
/// many such comments `html` is inside.
fn run(
    html: &str,
    limits: Limits,
    line_offset: u64,
    context: &[String],
    nesting: usize,
    out: &mut Extracted,
) {
    let mut st = State {
        out: std::mem::take(out),
        stack: Vec::new(),
        overflow_depth: 0,
        raw: None,
        limits,
        line_offset,
        context: context.to_vec(),
        comments: Vec::new(),
        nesting,
        styles: StyleMemo::default(),
    };
    let mut lexer = Lexer::new(html);
    while let Some((token, end)) = lexer.next_token() {
        match token {
            Token::StartTag(tag) => {
                let offset = st.line_offset;
                let mode = st.start_tag(&tag, &mut || lexer.line_at(end) + offset);
                if let Some(mode) = mode {
                    lexer.switch(mode, &tag.name);
                }
                lexer.recycle(tag);
            }
            Token::EndTag(tag) => {
                st.end_tag(&tag);
                lexer.recycle(tag);
            }
            Token::Text(text) => {
                let max = st.limits.max_inline_text;
                if let Some(raw) = st.raw.as_mut() {
                    if raw.text.len() < max {
                        raw.text.push_str(&text);
                    }
                }
            }
            Token::Comment(text) => {
                let line = lexer.line_at(end) + st.line_offset;
                st.comment(&text, line);
            }
        }
    }
    // A `<style>` or `<script>` cut off by the end of input still counts.
    if let Some(raw) = st.raw.take() {
        st.finish_raw(raw);
    }
    *out = st.out;
    for (line, text, ctx) in st.comments {
        run(&text, limits, line - 1, &ctx, nesting + 1, out);
    }
}

struct State {
    out: Extracted,
    stack: Vec<Open>,
    /// Elements opened past `max_depth`, so their end tags can be matched without storing them.
    overflow_depth: usize,
    raw: Option<RawText>,
    limits: Limits,
    line_offset: u64,
    /// Hiding evidence inherited from outside (conditional comment content).
    context: Vec<String>,
    /// Conditional comments to tokenize after this pass: (line, content, hiding context).
    comments: Vec<(u64, String, Vec<String>)>,
    /// How many conditional comments this pass is inside.
    nesting: usize,
    styles: StyleMemo,
}

struct Open {
    name: Cow<'static, str>,
    /// Why this element hides its content, if it does.
    hides: Option<String>,
}

/// Text content we are collecting (`<style>`, `<script>`, `<title>`).
struct RawText {
    element: &'static str,
    line: u64,
    text: String,
    attrs: Vec<(String, String)>,
}

/// Element names as stored on the stack: the common ones without an allocation.
fn element_name(name: &str) -> Cow<'static, str> {
    Cow::Borrowed(match name {
        "a" => "a",
        "b" => "b",
        "body" => "body",
        "center" => "center",
        "div" => "div",
        "font" => "font",
        "h1" => "h1",
        "h2" => "h2",
        "h3" => "h3",
        "head" => "head",
        "html" => "html",
        "i" => "i",
        "li" => "li",
        "noscript" => "noscript",
        "ol" => "ol",
        "p" => "p",
        "span" => "span",
        "strong" => "strong",
        "table" => "table",
        "tbody" => "tbody",
        "td" => "td",
        "th" => "th",
        "tr" => "tr",
        "u" => "u",
        "ul" => "ul",
        "em" => "em",
        "style" => "style",
        "script" => "script",
        "title" => "title",
        "button" => "button",
        "section" => "section",
        "header" => "header",
        "footer" => "footer",
        "main" => "main",
        "nav" => "nav",
        "article" => "article",
        "picture" => "picture",
        "video" => "video",
        "svg" => "svg",
        "small" => "small",
        "blockquote" => "blockquote",
        _ => return Cow::Owned(name.to_string()),
    })
}

/// Elements that never have content or an end tag.
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "keygen"
    )
}

impl State {
    fn comment(&mut self, text: &str, line: u64) {
        // Outlook conditional comments hold real markup (VML backgrounds, fallbacks)
        // that Outlook renders and fetches.
        let t = text.trim_start();
        if t.starts_with("[if") && self.nesting < MAX_CONDITIONAL_NESTING {
            if let Some(gt) = t.find('>') {
                let body = &t[gt + 1..];
                let body = body.strip_suffix("<![endif]").unwrap_or(body);
                let mut ctx = self.hiding_context();
                ctx.push("in Outlook conditional comment".to_string());
                // The comment token is reported at its end line; count back.
                let start = line.saturating_sub(text.matches('\n').count() as u64);
                self.comments.push((start.max(1), body.to_string(), ctx));
            }
        }
    }

    fn hiding_context(&self) -> Vec<String> {
        let mut ctx = self.context.clone();
        if let Some(h) = self.stack.iter().rev().find_map(|o| {
            o.hides
                .as_ref()
                .map(|h| format!("hidden ancestor: {h} on {}", o.name))
        }) {
            ctx.push(h);
        }
        ctx
    }

    /// Handles a start tag; returns the raw-text mode its content is read in, if any.
    /// `line` counts lines up to the tag; called only when something is kept.
    fn start_tag(&mut self, tag: &Tag<'_>, line: &mut dyn FnMut() -> u64) -> Option<Raw> {
        let name: &str = &tag.name;
        let style = tag.attr("style").unwrap_or("");
        let (own, style_size) = own_hiding(tag, style, &mut self.styles);

        self.implicit_close(name);
        self.collect(tag, name, style, &own, style_size, line);

        match name {
            "base" if self.out.base.is_none() => {
                self.out.base = tag.attr("href").map(str::to_string);
            }
            "meta"
                if tag
                    .attr("name")
                    .is_some_and(|n| n.eq_ignore_ascii_case("referrer")) =>
            {
                self.out.meta_referrer = tag.attr("content").map(str::to_string);
            }
            "link"
                if tag.attr("rel").is_some_and(|r| {
                    r.split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("canonical"))
                }) =>
            {
                if let Some(h) = tag.attr("href") {
                    self.out.canonical = Some(h.to_string());
                }
            }
            "meta"
                if self.out.canonical.is_none()
                    && tag
                        .attr("property")
                        .is_some_and(|p| p.eq_ignore_ascii_case("og:url")) =>
            {
                self.out.canonical = tag.attr("content").map(str::to_string);
            }
            _ => {}
        }

        match raw_mode(name, tag.self_closing) {
            Some(Raw::Plaintext) => return Some(Raw::Plaintext),
            Some(mode) => {
                let element = match name {
                    "style" => "style",
                    "script" => "script",
                    "title" => "title",
                    "textarea" => "textarea",
                    _ => "other",
                };
                self.raw = Some(RawText {
                    element,
                    line: line(),
                    text: String::new(),
                    attrs: all_attrs(tag),
                });
                self.push(name, own.first().cloned());
                return Some(mode);
            }
            None => {}
        }
        if !tag.self_closing && !is_void(name) {
            let hides = own
                .into_iter()
                .find(|e| !e.starts_with("width") && !e.starts_with("size"));
            self.push(name, hides);
        }
        None
    }

    fn push(&mut self, name: &str, hides: Option<String>) {
        if self.stack.len() >= self.limits.max_depth {
            self.overflow_depth += 1;
            return;
        }
        self.stack.push(Open {
            name: element_name(name),
            hides,
        });
    }

    /// The few implied end tags that matter in mail HTML: a new cell closes the previous
    /// one, a new row the previous row, a new list item the previous item. Without this an
    /// unclosed hidden `<td>` would hide the rest of the table.
    fn implicit_close(&mut self, name: &str) {
        let (closes, barrier): (&[&str], &[&str]) = match name {
            "td" | "th" => (&["td", "th"], &["tr", "table"]),
            "tr" => (&["tr"], &["table"]),
            "li" => (&["li"], &["ul", "ol"]),
            "option" => (&["option"], &["select"]),
            _ => return,
        };
        if self.overflow_depth > 0 {
            return;
        }
        for i in (0..self.stack.len()).rev() {
            let n: &str = &self.stack[i].name;
            if barrier.contains(&n) {
                return;
            }
            if closes.contains(&n) {
                self.stack.truncate(i);
                return;
            }
        }
    }

    fn end_tag(&mut self, tag: &Tag<'_>) {
        if let Some(raw) = self.raw.take() {
            self.finish_raw(raw);
        }
        if self.overflow_depth > 0 {
            self.overflow_depth -= 1;
            return;
        }
        // Pop to the nearest matching element; a stray end tag is ignored.
        if let Some(pos) = self.stack.iter().rposition(|o| o.name == tag.name) {
            self.stack.truncate(pos);
        }
    }

    fn finish_raw(&mut self, raw: RawText) {
        match raw.element {
            "style" => {
                let ctx = self.hiding_context();
                for r in css::urls(&raw.text) {
                    let line = raw.line + raw.text[..r.offset].matches('\n').count() as u64;
                    let attribute = format!("css:{}", r.context);
                    let extra = r
                        .trigger
                        .map(|t| vec![("css-trigger".to_string(), t.to_string())])
                        .unwrap_or_default();
                    self.push_ref(
                        r.url,
                        "style",
                        &attribute,
                        RefRole::Load,
                        ctx.clone(),
                        None,
                        None,
                        line,
                        extra,
                    );
                }
            }
            "script" if self.out.inline_scripts.len() < 1000 && !raw.text.trim().is_empty() => {
                // Code in comments never runs: blank it once here for every reader of the
                // script (loaders, snippet signatures, consent defaults). Data blocks
                // (JSON, templates) are not JavaScript and stay as written.
                let ty = raw
                    .attrs
                    .iter()
                    .find(|(k, _)| k == "type")
                    .map(|(_, v)| v.to_ascii_lowercase())
                    .unwrap_or_default();
                let text = if ty.contains("json") || ty.contains("template") || ty.contains("html")
                {
                    raw.text
                } else {
                    match super::js::without_comments(&raw.text) {
                        Cow::Borrowed(_) => raw.text,
                        Cow::Owned(t) => t,
                    }
                };
                self.out.inline_scripts.push(InlineScript {
                    line: raw.line,
                    text,
                    attrs: raw.attrs,
                });
            }
            "title" if self.out.title.is_none() => {
                let t = raw.text.split_whitespace().collect::<Vec<_>>().join(" ");
                self.out.title = Some(t.chars().take(300).collect());
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_ref(
        &mut self,
        url: String,
        element: &str,
        attribute: &str,
        role: RefRole,
        hidden: Vec<String>,
        width: Option<f64>,
        height: Option<f64>,
        line: u64,
        extra: Vec<(String, String)>,
    ) {
        if url.is_empty() {
            return;
        }
        if self.out.refs.len() >= self.limits.max_refs {
            self.out.truncated_refs += 1;
            return;
        }
        self.out.refs.push(RawRef {
            url,
            element: element.to_string(),
            attribute: attribute.to_string(),
            role,
            hidden,
            width,
            height,
            line,
            column: None,
            extra,
        });
    }

    /// Records every reference the element makes.
    fn collect(
        &mut self,
        tag: &Tag<'_>,
        name: &str,
        style: &str,
        own: &[String],
        style_size: StyleSize,
        line: &mut dyn FnMut() -> u64,
    ) {
        let mut refs = attribute_refs(tag, name);
        style_refs(style, &mut refs);
        if refs.is_empty() {
            return;
        }
        let (width, height) = if refs.iter().any(|(_, a, role)| sized(a, *role)) {
            size(tag, style_size)
        } else {
            (None, None)
        };
        let line = line();
        let mut hidden = self.hiding_context();
        hidden.extend(own.iter().cloned());
        if self.stack.iter().any(|o| &*o.name == "noscript") {
            hidden.push("inside <noscript>".to_string());
        }
        let mut extra = interesting_attrs(tag);
        let last = refs.len() - 1;
        for (i, (url, attribute, role)) in refs.into_iter().enumerate() {
            let (w, h) = if sized(&attribute, role) {
                (width, height)
            } else {
                (None, None)
            };
            // The last reference takes the element's evidence and attributes; the others
            // get copies.
            let (hidden, extra) = if i == last {
                (std::mem::take(&mut hidden), std::mem::take(&mut extra))
            } else {
                (hidden.clone(), extra.clone())
            };
            self.push_ref(url, name, &attribute, role, hidden, w, h, line, extra);
        }
    }
}

/// A reference found on an element: URL, the attribute (or `style:PROP`) it came from, role.
#[cfg(test)]
mod tests {
    use super::*;
    use hiding::RELATIVE_SIZE;

    fn refs(html: &str) -> Vec<RawRef> {
        extract(html).refs
    }

    #[test]
    fn finds_every_kind_of_reference() {
        let html = r#"<html><head>
            <link rel="stylesheet" href="https://a.example/s.css">
            <link rel="dns-prefetch" href="//dns.example">
            <meta http-equiv="refresh" content="5; URL='https://r.example/go'">
            <style>@import url("https://b.example/i.css"); .bg{background-image:url(https://c.example/bg.png)}</style>
          </head><body background="https://d.example/body.jpg">
            <img src="https://e.example/p.gif" srcset="https://e.example/1x.png 1x, https://e.example/2x.png 2x">
            <picture><source srcset="https://f.example/a.webp"></picture>
            <table><tr><td background="https://g.example/td.png" style="background-image:url('https://h.example/h.png')">x</td></tr></table>
            <video poster="https://i.example/poster.jpg"></video>
            <iframe src="https://j.example/frame"></iframe>
            <input type="image" src="https://k.example/btn.png">
            <object data="https://l.example/o.swf"></object><embed src="https://m.example/e.swf">
            <svg><image href="https://n.example/svg.png"/></svg>
            <a href="https://o.example/click?x=1">link</a>
            <!--[if mso]><v:rect><v:fill type="tile" src="https://p.example/vml.png" /></v:rect><![endif]-->
          </body></html>"#;
        let got: Vec<(String, String, String)> = refs(html)
            .into_iter()
            .map(|r| (r.element, r.attribute, r.url))
            .collect();
        let want = [
            ("link", "href", "https://a.example/s.css"),
            ("link", "href", "//dns.example"),
            ("meta", "content", "https://r.example/go"),
            ("style", "css:@import", "https://b.example/i.css"),
            ("style", "css:background-image", "https://c.example/bg.png"),
            ("body", "background", "https://d.example/body.jpg"),
            ("img", "src", "https://e.example/p.gif"),
            ("img", "srcset", "https://e.example/1x.png"),
            ("img", "srcset", "https://e.example/2x.png"),
            ("source", "srcset", "https://f.example/a.webp"),
            ("td", "background", "https://g.example/td.png"),
            ("td", "style:background-image", "https://h.example/h.png"),
            ("video", "poster", "https://i.example/poster.jpg"),
            ("iframe", "src", "https://j.example/frame"),
            ("input", "src", "https://k.example/btn.png"),
            ("object", "data", "https://l.example/o.swf"),
            ("embed", "src", "https://m.example/e.swf"),
            ("image", "href", "https://n.example/svg.png"),
            ("a", "href", "https://o.example/click?x=1"),
            ("v:fill", "src", "https://p.example/vml.png"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn size_and_hiding_evidence() {
        let r = refs(r#"<img src="https://t.example/o.gif" width="1" height="1">"#);
        assert_eq!(r[0].hidden, vec!["width=1 height=1"]);
        assert_eq!((r[0].width, r[0].height), (Some(1.0), Some(1.0)));

        let r = refs(r#"<img src="https://t.example/o.gif" style="display: none">"#);
        assert_eq!(r[0].hidden, vec!["display:none"]);

        let r =
            refs(r#"<img src="https://t.example/o.gif" style="width:1px;height:1px;border:0">"#);
        assert_eq!(r[0].hidden, vec!["size style width:1px; height:1px"]);

        let r = refs(
            r#"<img src=x.gif style="position:absolute;left:-9999px"> <img src=y.gif hidden> <img src=z.gif style="opacity:0">"#,
        );
        assert_eq!(r[0].hidden, vec!["off-screen left:-9999px"]);
        assert_eq!(r[1].hidden, vec!["hidden attribute"]);
        assert_eq!(r[2].hidden, vec!["opacity:0"]);

        // A wide divider line is visible, in pixels or as a share of its container.
        let r = refs(r#"<img src="https://cdn.example/line.gif" width="600" height="1">"#);
        assert!(r[0].hidden.is_empty());
        let r = refs(r#"<img src="https://cdn.example/line.gif" width="100%" height="1">"#);
        assert!(r[0].hidden.is_empty(), "{:?}", r[0].hidden);
        assert_eq!(r[0].width, Some(RELATIVE_SIZE));
    }

    #[test]
    fn a_repeated_style_says_the_same_each_time() {
        let img = r#"<img src="x.gif" style="display:none;WIDTH:1px">"#;
        let r = refs(&img.repeat(2));
        for r in &r {
            assert_eq!(r.hidden, ["size style width:1px; height:?", "display:none"]);
            assert_eq!(r.width, Some(1.0));
        }
    }

    #[test]
    fn hidden_ancestors_and_their_end() {
        let html = r#"<table><tr><td style="display:none"><img src="a.gif"></td><td><img src="b.gif"></td></tr></table>
            <div style="max-height:0;overflow:hidden"><p><span><img src="c.gif"></span></div><img src="d.gif">
            <table><tr><td style="display:none"><img src="e.gif"><td><img src="f.gif"></table>"#;
        let r = refs(html);
        let by = |u: &str| r.iter().find(|x| x.url == u).unwrap().hidden.clone();
        assert_eq!(by("a.gif"), vec!["hidden ancestor: display:none on td"]);
        assert!(by("b.gif").is_empty());
        assert_eq!(by("c.gif"), vec!["hidden ancestor: max-height:0 on div"]);
        assert!(by("d.gif").is_empty(), "closing div ends the hidden region");
        assert_eq!(by("e.gif"), vec!["hidden ancestor: display:none on td"]);
        assert!(
            by("f.gif").is_empty(),
            "an implied </td> ends the hidden cell"
        );
    }

    #[test]
    fn tiny_parent_row_does_not_hide_children() {
        let r = refs(
            r#"<table height="1"><tr><td><img src="https://cdn.example/logo.png" width="200" height="50"></td></tr></table>"#,
        );
        assert!(r[0].hidden.is_empty());
    }

    #[test]
    fn style_and_script_text_is_not_markup() {
        let ex = extract(
            r#"<script>var s = '<img src="https://in-script.example/x.gif">';</script><style>/* <img src=x> */</style><title> Hello   world </title>"#,
        );
        assert!(ex.refs.is_empty());
        assert_eq!(ex.inline_scripts.len(), 1);
        assert_eq!(ex.title.as_deref(), Some("Hello world"));
    }

    #[test]
    fn noscript_images_are_marked() {
        let r = refs(
            r#"<noscript><img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"/></noscript>"#,
        );
        assert_eq!(r.len(), 1);
        assert!(r[0].hidden.contains(&"inside <noscript>".to_string()));
    }

    #[test]
    fn line_numbers_are_one_based() {
        let r = refs("<p>\n<img src=a.gif>\n\n<img src=b.gif>");
        assert_eq!((r[0].line, r[1].line), (2, 4));
    }

    #[test]
    fn limits_bound_hostile_documents() {
        let html = "<img src=x.gif>".repeat(50);
        let ex = extract_with(
            &html,
            Limits {
                max_refs: 10,
                ..Limits::default()
            },
        );
        assert_eq!(ex.refs.len(), 10);
        assert_eq!(ex.truncated_refs, 40);

        let deep = "<div>".repeat(100_000) + "<img src=deep.gif>" + &"</div>".repeat(100_000);
        let ex = extract(&deep);
        assert_eq!(ex.refs.len(), 1);
    }

    #[test]
    fn nested_conditional_comments_are_bounded() {
        // Each unterminated comment holds the rest of the document, the next one included:
        // without a bound this re-reads the text 20,000 times, 20,000 calls deep.
        let html = "<table><tr><td><!--[if mso]><v:rect>".repeat(20_000) + "<img src=x.gif>";
        let start = std::time::Instant::now();
        let _ = extract(&html);
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        // Nesting that real mail uses still works.
        let r = refs(
            "<!--[if mso]><v:rect><v:fill src=\"https://a.example/1.png\"/><!--[if gte mso 9]><img src=\"https://a.example/2.png\"><![endif]--><![endif]-->",
        );
        let urls: Vec<&str> = r.iter().map(|x| x.url.as_str()).collect();
        assert!(urls.contains(&"https://a.example/1.png"), "{urls:?}");
    }
}
