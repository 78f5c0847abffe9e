//! Output safety beyond tests/formats.rs: terminal controls (ESC, BEL, CR, backspace, NUL,
//! DEL, C1 such as the one-byte CSI U+009B) and bidi overrides (U+202E, U+2066…) in every
//! field a report shows, through every format; JSON that parses and gives back every
//! scanned string exactly; human output (coloured or not) whose only escape sequences are
//! its own colours. formats.rs covers markup, Markdown and workflow-command injection
//! through titles, URLs and file names; this file adds the control and bidi characters, and
//! every other field (evidence, decoded text, identifiers, platforms, errors, skips…).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use pixscan::model::{DocumentReport, Platform, Skipped, Summary};
use pixscan::report::{self, Format, ReportOptions};
use serde_json::Value;
use support::pixscan;

/// Everything a hostile sender can put in a string, on one line and across two.
const PAYLOAD: &str = "A\u{1b}[31mred\u{1b}[0m \u{1b}]0;title\u{7} bel\u{7} cr\rX bs\u{8} nul\u{0} del\u{7f} csi\u{9b}2J \u{202e}evil\u{202c} \u{2066}iso\u{2069} | *md* _u_ [x](javascript:alert(1)) <img src=x onerror=alert(1)> \"q\" 'a' \\ </script> {\"k\":1} `t` ::error::x %0A ]]> &amp;\nsecond line";

/// Characters no report may carry raw: they would reach a terminal, a log viewer or a
/// browser as controls. (Line feed and tab are layout, and allowed where a format uses them.)
fn dangerous(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn raw_dangerous(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .chars()
        .filter(|&c| dangerous(c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    v.dedup();
    v
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    let out = pixscan().args(args).output().expect("run pixscan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked"),
        "pixscan {args:?} panicked: {err}"
    );
    out
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn b64url(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Through the binary: a hostile message and a hostile page
// ---------------------------------------------------------------------------------------

/// The subject as a client decodes it (no NUL: RFC 2047 can't carry one through every
/// parser, and a title cut at a NUL would prove nothing).
fn subject() -> String {
    PAYLOAD.replace('\u{0}', "")
}

struct Inputs {
    _dir: tempfile::TempDir,
    mail: PathBuf,
    message: PathBuf,
    site: PathBuf,
    page: PathBuf,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    // A file name with ESC, BEL, CR and a right-to-left override.
    let message = mail.join("evil \u{1b}[31mname\u{7}\r\u{202e}lmth.eml");
    // A token that decodes to text carrying controls and the recipient.
    let token = b64url(
        "r=jane.doe@example.org&campaign=spring-sale-2026&x=\u{1b}[2J\u{202e}\u{9b}".as_bytes(),
    );
    let msg = format!(
        "From: \"Boss\" <news@brand.example>\r\nTo: jane.doe@example.org\r\nSubject: =?utf-8?b?{}?=\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n<img src=\"https://px.tracker.example/o/{token}.gif?n={}&u=jane.doe%40example.org\" width=\"1\" height=\"1\">\r\n<a href=\"https://click.tracker.example/c?u=jane.doe%40example.org&t={}\">x</a>\r\n<img src=\"https://px2.tracker.example/p.gif?%E2%80%AE%1B%5B31m%07=jane.doe%40example.org\" width=\"1\" height=\"1\">\r\n<table><tr><td style=\"\u{202e}\u{1b}[31m\u{9b}x: url(https://bg.tracker.example/b.gif?u=jane.doe%40example.org)\">x</td></tr></table>\r\n</body></html>\r\n",
        b64(subject().as_bytes()),
        pct(PAYLOAD),
        pct(PAYLOAD),
    );
    std::fs::write(&message, msg).unwrap();

    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    let page = site.join("evil\u{1b}[2J\u{202e}.html");
    let title: String = PAYLOAD
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '&' => "&amp;".to_string(),
            // C0 controls and DEL as character references (raw ones are parse errors that
            // some parsers drop); C1 raw, since a reference to one maps to windows-1252.
            c if c.is_ascii_control() => format!("&#x{:x};", c as u32),
            c => c.to_string(),
        })
        .collect();
    std::fs::write(
        &page,
        format!(
            "<!doctype html>\n<html><head><title>{title}</title>\n<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234\"></script></head>\n<body><img src=\"https://www.facebook.com/tr?id=1234567890&amp;ev=PageView&amp;x={}\" width=\"1\" height=\"1\"></body></html>\n",
            pct(PAYLOAD)
        ),
    )
    .unwrap();
    Inputs {
        _dir: dir,
        mail,
        message,
        site,
        page,
    }
}

fn eml(i: &Inputs, format: &str) -> Output {
    let out = run(&[
        "eml",
        "--no-progress",
        "--format",
        format,
        i.mail.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn site(i: &Inputs, format: &str) -> Output {
    let out = run(&[
        "site",
        "--no-progress",
        "--format",
        format,
        "--base-url",
        "https://www.shop.example/",
        i.site.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn utf8(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("output is UTF-8")
}

/// JSON output parses, carries no raw control characters (JSON escapes them), and gives
/// back the scanned strings exactly: a consumer sees what the message really says.
#[test]
fn json_round_trips_hostile_strings_exactly() {
    let i = inputs();
    let out = utf8(&eml(&i, "json"));
    assert!(
        !out.chars().any(|c| c < ' ' && c != '\n'),
        "raw C0 control in JSON text"
    );
    let v: Value = serde_json::from_str(&out).expect("JSON parses");
    let d = &v["documents"][0];
    assert_eq!(d["source"].as_str(), i.message.to_str(), "file name");
    let want: String = subject().chars().take(300).collect();
    assert_eq!(d["title"].as_str(), Some(want.as_str()), "subject");
    assert_eq!(d["sender"], "news@brand.example");
    let px = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "open-pixel")
        .expect("the pixel");
    // The URL as the URL standard serializes it: the payload stays percent-encoded.
    let url = px["url"].as_str().unwrap();
    assert!(url.contains(&pct(PAYLOAD)), "{url}");
    assert_eq!(url::Url::parse(url).unwrap().as_str(), url);
    // Decoded text is display text: its controls are shown escaped, even in JSON.
    let decoded = px["decoded"][0]["text"].as_str().unwrap();
    assert!(decoded.contains("jane.doe@example.org"), "{decoded}");
    assert!(
        raw_dangerous(decoded).iter().all(|c| c == "U+202E"),
        "{decoded:?}"
    );
    // Names from the content that are not URLs: a query parameter's name (percent-decoded)
    // and a CSS property's name, exactly.
    let all = d["findings"].as_array().unwrap();
    assert!(
        all.iter().any(|f| f["leaks"]["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id["where"] == "query:\u{202e}\u{1b}[31m\u{7}")),
        "{d}"
    );
    assert!(
        all.iter()
            .any(|f| f["attribute"] == "style:\u{202e}\u{1b}[31m\u{9b}x"),
        "{d}"
    );
    // Re-serialized and parsed again, nothing changes.
    let again: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(again, v);

    let out = utf8(&site(&i, "json"));
    let v: Value = serde_json::from_str(&out).expect("JSON parses");
    let d = &v["documents"][0];
    assert_eq!(
        d["source"].as_str().map(|s| s.ends_with(".html")),
        Some(true)
    );
    let title = d["title"].as_str().unwrap();
    // The title as a browser shows it: character references decoded, whitespace collapsed.
    let want: String = PAYLOAD
        .replace('\u{0}', "\u{fffd}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect();
    assert_eq!(title, want);
}

/// Human output without colour: no raw controls or bidi overrides anywhere, the override
/// is shown as `\u{202e}`, and content never starts a line of its own.
#[test]
fn human_output_shows_controls_and_bidi_escaped() {
    let i = inputs();
    for (what, out) in [("eml", eml(&i, "human")), ("site", site(&i, "human"))] {
        let text = utf8(&out);
        assert_eq!(raw_dangerous(&text), Vec::<String>::new(), "{what}: {text}");
        assert!(text.contains("\\u{202e}"), "{what}: bidi not shown: {text}");
        assert!(text.contains("\\u{1b}"), "{what}: ESC not shown: {text}");
        assert!(
            !text.lines().any(|l| l.starts_with("second line")),
            "{what}: a line break from the content reached the output"
        );
        // Verbose output lists more of the content: just as safe.
        let verbose = run(&[
            what,
            "--no-progress",
            "-v",
            if what == "eml" {
                i.mail.to_str().unwrap()
            } else {
                i.page.to_str().unwrap()
            },
        ]);
        let text = utf8(&verbose);
        assert_eq!(raw_dangerous(&text), Vec::<String>::new(), "{what} -v");
    }
}

/// Every machine and CI format from the binary: no raw control or bidi characters.
#[test]
fn no_format_carries_raw_controls_or_bidi() {
    let i = inputs();
    for format in ["sarif", "junit", "markdown", "github", "html"] {
        for (what, out) in [("eml", eml(&i, format)), ("site", site(&i, format))] {
            let text = utf8(&out);
            if format == "sarif" {
                let v: Value = serde_json::from_str(&text).expect("SARIF is JSON");
                assert_eq!(shown_sarif_dangerous(&v), Vec::<String>::new(), "{what}");
            } else {
                assert_eq!(
                    raw_dangerous(&text),
                    Vec::<String>::new(),
                    "{what} {format}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Through the library: every field of a report poisoned, every format
// ---------------------------------------------------------------------------------------

/// A writer the reporters can own ('static) while the test keeps the bytes.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn poison(s: &str) -> String {
    format!("{s}{PAYLOAD}")
}

/// A real report from the pipeline with every string field a reporter shows poisoned, a
/// failed document with a poisoned error, and a poisoned skip. With `known_gaps` false, two
/// things are left out (covered by the tests at the end): the category, which only rule
/// files set, and bidi characters in the path of a failed or skipped input.
fn poisoned(known_gaps: bool) -> (Vec<DocumentReport>, Summary) {
    let rules = pixscan::rules::Ruleset::embedded().expect("built-in rules");
    let bytes = std::fs::read(root().join("fixtures/mail/mailgun-order-shipped.eml")).unwrap();
    let mut doc = pixscan::scan::scan_message(poison("src "), &bytes, &rules, &[]);
    assert!(!doc.findings.is_empty() && !doc.platforms.is_empty());
    doc.title = Some(poison("title "));
    doc.sender = Some(poison("sender "));
    doc.recipients = vec![poison("rcpt ")];
    doc.first_party = Some(poison("fp "));
    doc.platforms.push(Platform {
        entity: poison("platform "),
        rule: poison("rule "),
        evidence: poison("X-Header: "),
    });
    doc.redirects = vec![poison("https://r.example/")];
    for f in &mut doc.findings {
        f.message = poison("message ");
        f.url = poison("https://t.example/");
        f.element = poison("el ");
        f.attribute = poison("attr ");
        f.entity = Some(poison("entity "));
        f.company = Some(poison("company "));
        if known_gaps {
            f.category = Some(poison("category "));
        }
        f.host = poison("host ");
        f.registrable_domain = Some(poison("reg "));
        f.rule = Some(poison("rule "));
        f.evidence.push(poison("evidence ").into());
        for id in &mut f.leaks.identifiers {
            id.location = poison("query:");
            id.value = poison("value ");
        }
        for d in &mut f.decoded {
            d.location = poison("where ");
            d.text = poison("text ");
        }
        f.wrapped_by = Some(poison("wrapper "));
        f.target = Some(poison("https://target.example/"));
        f.account = Some(poison("account "));
        f.verdict = Some(pixscan::model::Verdict {
            status: pixscan::model::VerdictStatus::Violation,
            reason: poison("reason "),
        });
    }
    let no_bidi = |s: String| -> String {
        s.chars()
            .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
            .collect()
    };
    let mut failed_source = poison("failed ");
    if !known_gaps {
        failed_source = no_bidi(failed_source);
    }
    let failed = DocumentReport::failed(failed_source, poison("error "));
    let docs = vec![doc, failed];
    let mut summary = Summary::default();
    for d in &docs {
        summary.add(d);
    }
    let mut skipped = poison("https://skipped.example/");
    if !known_gaps {
        skipped = no_bidi(skipped);
    }
    summary.skipped.push(Skipped {
        url: skipped,
        reason: poison("reason "),
    });
    summary.finish();
    (docs, summary)
}

fn render(format: Format, command: &'static str, color: bool, known_gaps: bool) -> String {
    let (docs, summary) = poisoned(known_gaps);
    let buf = Shared::default();
    let opts = ReportOptions {
        command: pixscan::model::Command::parse(command).unwrap(),
        color,
        verbose: true,
        quiet: false,
        filtered: false,
    };
    {
        let mut r = report::reporter(format, Box::new(buf.clone()), &opts).unwrap();
        for d in &docs {
            r.document(d).unwrap();
        }
        r.finish(&summary).unwrap();
    }
    let bytes = buf.0.lock().unwrap().clone();
    String::from_utf8(bytes).expect("UTF-8 output")
}

/// Human output with colour on: the only escape sequences are its own SGR colours
/// (`ESC [ digits/; m`), whatever the content holds.
#[test]
fn coloured_human_output_has_only_its_own_escapes() {
    for command in ["eml", "site"] {
        let text = render(Format::Human, command, true, false);
        assert!(text.contains('\u{1b}'), "colour is on");
        let mut rest = text.as_str();
        while let Some(p) = rest.find('\u{1b}') {
            let seq = &rest[p + 1..];
            let end = seq.find('m').expect("an SGR sequence ends with m");
            assert!(
                seq.starts_with('[') && seq[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
                "{command}: a foreign escape sequence: {:?}",
                &rest[p..(p + 12).min(rest.len())]
            );
            rest = &seq[end..];
        }
        let without_sgr = text.replace('\u{1b}', "");
        assert_eq!(
            raw_dangerous(&without_sgr),
            Vec::<String>::new(),
            "{command}"
        );
        assert!(text.contains("\\u{202e}"));
        assert!(!text.lines().any(|l| l.starts_with("second line")));
        for field in [
            "title ",
            "sender ",
            "message ",
            "evidence ",
            "query:",
            "text ",
            "error ",
            "src ",
        ] {
            assert!(text.contains(field), "{command}: {field:?} is not shown");
        }
    }
}

/// JSON from the library: every poisoned string comes back exactly.
#[test]
fn json_reporter_round_trips_every_field() {
    let (docs, _) = poisoned(true);
    let text = render(Format::Json, "eml", false, true);
    let v: Value = serde_json::from_str(&text).expect("JSON parses");
    let d = &v["documents"][0];
    let want = &docs[0];
    assert_eq!(d["source"].as_str(), Some(want.source.as_str()));
    assert_eq!(d["title"].as_str(), want.title.as_deref());
    assert_eq!(d["sender"].as_str(), want.sender.as_deref());
    assert_eq!(
        d["recipients"][0].as_str(),
        Some(want.recipients[0].as_str())
    );
    let i = want
        .findings
        .iter()
        .position(|f| !f.leaks.identifiers.is_empty())
        .expect("a finding with an identifier");
    let (f, wf) = (&d["findings"][i], &want.findings[i]);
    assert_eq!(f["url"].as_str(), Some(wf.url.as_str()));
    assert_eq!(f["message"].as_str(), Some(wf.message.as_str()));
    assert_eq!(
        f["evidence"].as_array().unwrap().last().unwrap().as_str(),
        wf.evidence.last().map(|e| e.as_str())
    );
    assert_eq!(
        f["leaks"]["identifiers"][0]["value"].as_str(),
        Some(wf.leaks.identifiers[0].value.as_str())
    );
    assert_eq!(
        v["documents"][1]["error"].as_str(),
        docs[1].error.as_deref()
    );
    assert_eq!(
        v["summary"]["skipped"][0]["reason"].as_str(),
        Some(poison("reason ").as_str())
    );
}

/// SARIF, JUnit, Markdown, GitHub annotations and HTML from the library: no raw control or
/// bidi characters, and the payload's markup, links and commands stay inert.
#[test]
fn every_format_neutralises_every_field() {
    for command in ["eml", "site"] {
        for format in [
            Format::Sarif,
            Format::Junit,
            Format::Markdown,
            Format::Github,
            Format::Html,
        ] {
            let text = render(format, command, false, false);
            let what = format!("{command} {format:?}");
            if format == Format::Sarif {
                // `properties` is SARIF's data bag: like JSON, it carries values exactly
                // (JSON-escaped); everything a viewer shows is checked.
                let v: Value = serde_json::from_str(&text).expect("SARIF is JSON");
                assert_eq!(shown_sarif_dangerous(&v), Vec::<String>::new(), "{what}");
            } else {
                assert_eq!(raw_dangerous(&text), Vec::<String>::new(), "{what}");
            }
            // Markup matters where the output is markup; SARIF and annotation text is plain.
            assert!(
                !matches!(format, Format::Markdown | Format::Html | Format::Junit)
                    || !text.contains("<img src=x onerror"),
                "{what}: raw markup from the content"
            );
            match format {
                Format::Github => {
                    for line in text.lines() {
                        assert!(
                            line.starts_with("::error ")
                                || line.starts_with("::warning ")
                                || line.starts_with("::notice ")
                                || line.starts_with("pixscan: "),
                            "{what}: an injected line: {line:?}"
                        );
                    }
                }
                Format::Html => {
                    // Every `</script>` closes one of the report's own scripts.
                    assert_eq!(
                        text.matches("</script>").count(),
                        text.matches("<script").count(),
                        "{what}"
                    );
                }
                Format::Markdown => {
                    assert!(
                        !text.lines().any(|l| l.starts_with("second line")),
                        "{what}: a line break from the content reached the Markdown"
                    );
                }
                _ => {}
            }
        }
    }
}

/// Dangerous characters in SARIF strings a viewer shows: everything but the `properties`
/// bags (data, carried exactly like JSON), as `path: U+XXXX`.
fn shown_sarif_dangerous(v: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                for c in raw_dangerous(s) {
                    out.push(format!("{path}: {c}"));
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), out);
                }
            }
            Value::Object(o) => {
                for (k, x) in o.iter().filter(|(k, _)| k.as_str() != "properties") {
                    walk(x, &format!("{path}.{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Once-known gaps in src/report/ (rule-file categories, bidi characters in failed or
// skipped paths), fixed and kept as regression tests.
// ---------------------------------------------------------------------------------------

/// report/human/summary.rs prints the "By entity" category without `sanitize`. The category comes
/// from rule files only (`--rules`), not from scanned content.
#[test]
fn human_by_entity_category_is_sanitized() {
    for command in ["eml", "site"] {
        let text = render(Format::Human, command, false, true);
        assert_eq!(raw_dangerous(&text), Vec::<String>::new(), "{command}");
    }
}

/// report/markdown.rs `code_url` percent-encodes controls but not bidi overrides; it shows
/// the sources of failed inputs ("Could not be scanned") and skipped ones, which in `eml`
/// are file paths and may hold U+202E.
#[test]
fn markdown_failed_and_skipped_paths_have_no_raw_bidi() {
    for command in ["eml", "site"] {
        let text = render(Format::Markdown, command, false, true);
        assert_eq!(raw_dangerous(&text), Vec::<String>::new(), "{command}");
    }
}
