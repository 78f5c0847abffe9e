//! The bodies of the fuzz targets, one function per target. The `fuzz_targets/*.rs`
//! binaries call these, and `tests/fuzz_regressions.rs` in the main crate includes this
//! file to replay every saved crash input through exactly the same code.

use std::sync::OnceLock;

use pixscan::analyze::{self, decode, identifiers, unwrap, Recipient};
use pixscan::extract::{self, css};
use pixscan::rules::Ruleset;

/// The differential check of pixscan's tokenizer against html5ever's, shared with
/// `tests/lexer_diff.rs` (the path is relative to this file wherever it is included from).
#[path = "../../tests/support/lexer_reference.rs"]
mod lexer_reference;

/// The address the fuzzed messages and URLs are checked against.
pub const RECIPIENT: &str = "jane.doe@example.org";

fn rules() -> &'static Ruleset {
    static RULES: OnceLock<Ruleset> = OnceLock::new();
    RULES.get_or_init(|| Ruleset::embedded().expect("embedded rules load"))
}

fn recipients() -> &'static [Recipient] {
    static R: OnceLock<Vec<Recipient>> = OnceLock::new();
    R.get_or_init(|| vec![Recipient::new(RECIPIENT)])
}

/// `mail_parse`: one message, arbitrary bytes, through the whole mail pipeline.
pub fn mail_parse(data: &[u8]) {
    let report = pixscan::scan::scan_message(
        "fuzz.eml".to_string(),
        data,
        rules(),
        &[RECIPIENT.to_string()],
    );
    // Whatever the input, a report comes back: an error or findings, never both.
    assert!(report.error.is_none() || report.findings.is_empty());
}

/// `html_extract`: arbitrary UTF-8 as HTML, and as CSS (a stylesheet and a `style`
/// attribute).
pub fn html_extract(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ex = extract::extract(text);
    assert!(ex.refs.len() <= extract::Limits::default().max_refs);
    for r in css::urls(text) {
        assert!(r.offset <= text.len());
    }
    let decls = css::declarations(text);
    for (name, _) in &decls.0 {
        let _ = decls.get(name);
    }
}

/// `url_identifiers`: arbitrary text as a reference to resolve, a URL to unwrap and search
/// for identifiers, and a token to decode.
pub fn url_identifiers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = decode::decode_token(&text);
    let _ = identifiers::looks_like_token(&text);
    let base = url::Url::parse("https://www.example.com/a/b/").expect("base URL");
    let mut urls = Vec::new();
    urls.extend(analyze::resolve(&text, None));
    urls.extend(analyze::resolve(&text, Some(&base)));
    urls.extend(url::Url::parse(&text).ok());
    for u in urls {
        let (inner, _) = unwrap::unwrap(u.clone());
        let _ = unwrap::embedded_urls(&u);
        for target in [&u, &inner] {
            let found = identifiers::find(target, recipients(), &["id".to_string()]);
            let _ = found.has_recipient();
            let _ = identifiers::decode_all(target);
        }
    }
}

/// `rules_load`: an arbitrary rule file.
pub fn rules_load(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rs) = Ruleset::from_toml_str("fuzz.toml", text) {
        // A ruleset that loads must be usable.
        let u = url::Url::parse("https://u1.ct.sendgrid.net/wf/open?upn=abc").expect("URL");
        let _ = rs.match_endpoint(&u);
        let _ = rs.entity_for_host("u1.ct.sendgrid.net");
        let _ = rs.match_headers(&[("X-Mailer".to_string(), "x".to_string())]);
    }
}

/// `lexer_diff`: arbitrary bytes (lossily decoded as UTF-8) through pixscan's own HTML
/// tokenizer and html5ever's; any difference in tokens or lines is a finding.
pub fn lexer_diff(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = lexer_reference::compare(&text) {
        panic!("{text:?}: {e}");
    }
}
