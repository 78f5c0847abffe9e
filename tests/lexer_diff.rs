//! Differential tests: pixscan's own tokenizer (`extract::lexer`) against html5ever's, the
//! reference implementation of the HTML standard's tokenizer. Both are driven the same way
//! (switching to raw-text modes after `<style>`, `<script>`, `<title>`…, as extraction
//! does) over every fixture, known edge cases and generated tag soup, and must produce the
//! same tags, attributes, comments, raw text and lines. The comparison itself lives in
//! `support/lexer_reference.rs`, shared with the `lexer_diff` fuzz target.

#[path = "support/lexer_reference.rs"]
mod lexer_reference;

use std::path::Path;

use proptest::prelude::*;

/// Panics, saying where, if the tokenizers disagree on `html` (see
/// [`lexer_reference::compare`]).
fn assert_same(label: &str, html: &str) {
    lexer_reference::compare(html).unwrap_or_else(|e| panic!("{label}: {e}"));
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
        let r = lexer_reference::compare(&html);
        prop_assert!(r.is_ok(), "{:?}: {}", html, r.unwrap_err());
    }
}
