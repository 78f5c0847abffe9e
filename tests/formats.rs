//! Integration tests for the CI report formats (SARIF, JUnit, Markdown, GitHub annotations,
//! HTML): the real binary over the shipped fixtures, hostile input through every format,
//! the HTML report in a real headless Chromium, and policy verdicts through the library.

mod support;

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pixscan::model::{
    DocumentReport, Encoding, Finding, Identifier, IdentifierKind, Kind, Leaks, Party, Summary,
    Verdict, VerdictStatus,
};
use pixscan::report::{ReportOptions, Reporter};
use serde_json::Value;
use support::pixscan;

const BASE_URL: &str = "https://www.northwind.example/";

/// The payload the brief asks every format to neutralise.
const XSS: &str = "<img src=x onerror=\"document.title='pwned'\"><script>document.body.setAttribute('data-pwned','1')</script>";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    let out = pixscan().args(args).output().expect("run pixscan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("not available yet"),
        "pixscan {args:?} failed: {err}"
    );
    out
}

fn eml(format: &str) -> Output {
    let out = run(&["eml", "--format", format, "fixtures/mail"]);
    // Two broken fixtures: exit code 2, but the report is complete.
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn site(format: &str) -> Output {
    let out = run(&[
        "site",
        "--format",
        format,
        "--base-url",
        BASE_URL,
        "fixtures/site-build",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("report is UTF-8")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

// ---------------------------------------------------------------------------------------
// SARIF
// ---------------------------------------------------------------------------------------

/// The official SARIF 2.1.0 schema, carried in `tests/data` (MIT; see its README) so the
/// tests need nothing outside the project.
fn sarif_validator() -> jsonschema::Validator {
    let path = root().join("tests/data/sarif-2.1.0-rtm.5.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the SARIF 2.1.0 schema must be at {}: {e}", path.display()));
    let mut schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    // The official schema's `language` patterns have a lone `]`: a literal in ECMA-262,
    // which the schema targets, but an error for the Rust regex engine the validator checks
    // the schema's own `regex` formats with. Escaping it keeps the exact ECMA meaning.
    fn escape_lone_bracket(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "pattern" && x == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *x = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$".into();
                    } else {
                        escape_lone_bracket(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(escape_lone_bracket),
            _ => {}
        }
    }
    escape_lone_bracket(&mut schema);
    // Formats (uri, uri-reference…) are checked on the log too.
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid_sarif(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(20)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Structural checks shared by every SARIF log; returns the run.
fn check_sarif_run(log: &Value) -> &Value {
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(
        log["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "pixscan");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://")));
    let rules = driver["rules"].as_array().expect("rules");
    let mut ids = HashSet::new();
    for r in rules {
        let id = r["id"].as_str().expect("rule id");
        assert!(ids.insert(id), "duplicate rule id {id}");
        let (kind, entity) = id.split_once('/').expect("rule id is kind/entity");
        assert!(is_kebab(kind) && is_kebab(entity), "rule id {id}");
        for k in ["shortDescription", "fullDescription", "help"] {
            assert!(
                r[k]["text"].as_str().is_some_and(|t| !t.is_empty()),
                "{id} {k}"
            );
        }
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .expect("security-severity")
            .parse()
            .expect("numeric severity");
        assert!((0.0..=10.0).contains(&sev));
        assert!(r["properties"]["tags"]
            .as_array()
            .is_some_and(|t| !t.is_empty()));
    }
    for res in run["results"].as_array().expect("results") {
        let id = res["ruleId"].as_str().expect("ruleId");
        let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], id, "ruleIndex points at the rule");
        assert!(matches!(
            res["level"].as_str(),
            Some("error" | "warning" | "note")
        ));
        assert!(res["message"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        let loc = &res["locations"][0]["physicalLocation"];
        assert!(
            loc["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|u| !u.is_empty()),
            "result without a location: {res}"
        );
        assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l >= 1));
        assert!(res["partialFingerprints"]["pixscan/v1"]
            .as_str()
            .is_some_and(|f| !f.is_empty()));
    }
    run
}

#[test]
fn sarif_schema_rejects_a_broken_log() {
    // Guards the guard: the validator really checks structure and URI formats.
    let validator = sarif_validator();
    let mut log = json(&site("sarif"));
    assert!(validator.is_valid(&log));
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&log));
    let mut log = json(&site("sarif"));
    log["runs"][0]["tool"]["driver"]["informationUri"] = "not a uri".into();
    assert!(!validator.is_valid(&log), "uri format is checked");
}

#[test]
fn sarif_site_build_validates_with_file_locations() {
    let validator = sarif_validator();
    let first = site("sarif");
    let log = json(&first);
    assert_valid_sarif(&validator, &log);
    let run = check_sarif_run(&log);
    let results = run["results"].as_array().unwrap();
    let tracking = json(&site("json"))["summary"]["tracking_findings"]
        .as_u64()
        .unwrap();
    assert_eq!(
        results.len() as u64,
        tracking,
        "one result per tracking finding (informational requests are left out)"
    );
    let index: Vec<&Value> = results
        .iter()
        .filter(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "fixtures/site-build/index.html"
        })
        .collect();
    assert!(
        !index.is_empty(),
        "results for fixtures/site-build/index.html"
    );
    for r in &index {
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() > 0);
        assert!(region["startColumn"].as_u64().is_some(), "{r}");
        assert_eq!(r["level"], "error");
    }
    // The gtag.js script on line 13, column 5.
    assert!(
        index.iter().any(|r| {
            r["ruleId"] == "tracker-script/google-tag-manager"
                && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 13
                && r["locations"][0]["physicalLocation"]["region"]["startColumn"] == 5
                && r["properties"]["endpointRule"] == "gtag-js-script"
        }),
        "{index:?}"
    );
    // Fingerprints are unique within the run and stable across runs.
    let fps: HashSet<&str> = results
        .iter()
        .map(|r| r["partialFingerprints"]["pixscan/v1"].as_str().unwrap())
        .collect();
    assert!(
        fps.len() * 10 >= results.len() * 9,
        "fingerprints mostly unique"
    );
    let second = site("sarif");
    assert_eq!(
        first.stdout, second.stdout,
        "SARIF is byte-identical across runs"
    );
}

#[test]
fn sarif_mail_validates_and_reports_broken_inputs() {
    let validator = sarif_validator();
    let first = eml("sarif");
    let log = json(&first);
    assert_valid_sarif(&validator, &log);
    let run = check_sarif_run(&log);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 172, "every tracking finding of the fixtures");
    let mailgun: Vec<&Value> = results
        .iter()
        .filter(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "fixtures/mail/mailgun-order-shipped.eml"
        })
        .collect();
    assert!(mailgun.iter().any(|r| r["ruleId"] == "open-pixel/mailgun"));
    // A recipient-identity leak is rated 7.5.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "open-pixel/mailgun")
        .unwrap();
    assert_eq!(rule["properties"]["security-severity"], "7.5");
    assert!(rule["help"]["text"]
        .as_str()
        .unwrap()
        .contains("never proof that a person read"));
    // mbox messages point at the mbox file.
    assert!(results.iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fixtures/mail/box.mbox"
    }));
    // Maildir names hold `:` and `,`: percent-encoded in the URI.
    assert!(results.iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with(
                "fixtures/mail/maildir/cur/1710576312.M512873P24117Q1.mail.example.net%3A2,S",
            )
    }));
    // The two broken fixtures are error notifications.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    for broken in ["empty.eml", "not-mail-binary.eml"] {
        assert!(
            notes.iter().any(|n| n["level"] == "error"
                && n["message"]["text"].as_str().unwrap().contains(broken)),
            "{broken}"
        );
    }
    assert_eq!(first.stdout, eml("sarif").stdout, "deterministic");
}

// ---------------------------------------------------------------------------------------
// JUnit: a tiny XML 1.0 well-formedness parser (no new dependency).
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Elem {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Elem>,
    text: String,
}

impl Elem {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    fn kids<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Elem> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn kid(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn xml_char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(';')
            .unwrap_or_else(|| panic!("bare & in {s:?}"));
        let name = &rest[i + 1..i + end];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            n if n.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&n[2..], 16).expect("hex ref")).unwrap()
            }
            n if n.starts_with('#') => char::from_u32(n[1..].parse().expect("dec ref")).unwrap(),
            n => panic!("unknown entity &{n}; in {s:?}"),
        };
        assert!(xml_char_ok(c), "character reference to an illegal char");
        out.push(c);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

fn parse_xml(s: &str) -> Elem {
    if let Some(c) = s.chars().find(|c| !xml_char_ok(*c)) {
        panic!("character {c:?} is not allowed in XML 1.0");
    }
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while s[*i..].starts_with([' ', '\n', '\r', '\t']) {
            *i += 1;
        }
    };
    let name_at = |i: &mut usize| -> String {
        let start = *i;
        while let Some(c) = s[*i..].chars().next().filter(|c| is_name_char(*c)) {
            *i += c.len_utf8();
        }
        assert!(*i > start, "expected a name at byte {start}");
        s[start..*i].to_string()
    };
    if s.starts_with("<?xml") {
        i = s.find("?>").expect("end of XML declaration") + 2;
    }
    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    while i < s.len() {
        if s[i..].starts_with("<!--") {
            i += s[i..].find("-->").expect("end of comment") + 3;
        } else if s[i..].starts_with("</") {
            i += 2;
            let name = name_at(&mut i);
            skip_ws(&mut i);
            assert!(s[i..].starts_with('>'), "malformed end tag </{name}");
            i += 1;
            let e = stack.pop().expect("end tag without start tag");
            assert_eq!(e.name, name, "mismatched end tag");
            match stack.last_mut() {
                Some(p) => p.children.push(e),
                None => {
                    assert!(root.is_none(), "two root elements");
                    root = Some(e);
                }
            }
        } else if s[i..].starts_with('<') {
            assert!(
                !s[i..].starts_with("<!") && !s[i..].starts_with("<?"),
                "unexpected markup at byte {i}"
            );
            i += 1;
            let mut e = Elem {
                name: name_at(&mut i),
                ..Default::default()
            };
            loop {
                let before = i;
                skip_ws(&mut i);
                if s[i..].starts_with("/>") {
                    i += 2;
                    match stack.last_mut() {
                        Some(p) => p.children.push(e),
                        None => {
                            assert!(root.is_none(), "two root elements");
                            root = Some(e);
                        }
                    }
                    break;
                }
                if s[i..].starts_with('>') {
                    i += 1;
                    stack.push(e);
                    break;
                }
                assert!(i > before, "attributes must be separated by whitespace");
                let an = name_at(&mut i);
                skip_ws(&mut i);
                assert!(s[i..].starts_with('='), "attribute {an} without =");
                i += 1;
                skip_ws(&mut i);
                let q = s[i..].chars().next().expect("quote");
                assert!(q == '"' || q == '\'', "unquoted attribute {an}");
                i += 1;
                let end = s[i..].find(q).expect("closing quote") + i;
                let raw = &s[i..end];
                assert!(!raw.contains('<'), "< in attribute value {raw:?}");
                assert!(
                    e.attrs.iter().all(|(n, _)| n != &an),
                    "duplicate attribute {an}"
                );
                e.attrs.push((an, decode_entities(raw)));
                i = end + 1;
            }
        } else {
            let end = s[i..].find('<').map_or(s.len(), |j| i + j);
            let raw = &s[i..end];
            assert!(!raw.contains("]]>"), "]]> in text");
            let t = decode_entities(raw);
            match stack.last_mut() {
                Some(p) => p.text.push_str(&t),
                None => assert!(t.trim().is_empty(), "text outside the root: {t:?}"),
            }
            i = end;
        }
    }
    assert!(
        stack.is_empty(),
        "unclosed elements: {:?}",
        stack.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    root.expect("a root element")
}

fn count(e: &Elem, attr: &str) -> u64 {
    e.attr(attr)
        .unwrap_or_else(|| panic!("{} has no {attr}", e.name))
        .parse()
        .expect("a count")
}

#[test]
fn junit_mail_has_one_testcase_per_message() {
    let out = eml("junit");
    let doc = json(&eml("json"));
    let xml = parse_xml(&text(&out));
    assert_eq!(xml.name, "testsuites");
    let suites: Vec<&Elem> = xml.kids("testsuite").collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attr("name"), Some("pixscan eml"));
    let cases: Vec<&Elem> = suite.kids("testcase").collect();
    let documents = doc["documents"].as_array().unwrap();
    let scanned: Vec<&&Elem> = cases
        .iter()
        .filter(|c| c.kid("skipped").is_none())
        .collect();
    assert_eq!(scanned.len(), documents.len(), "one testcase per document");
    for (c, d) in scanned.iter().zip(documents) {
        assert_eq!(c.attr("classname"), Some("eml"));
        assert_eq!(c.attr("name"), d["source"].as_str());
        let tracked = d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["tracking"] == true);
        assert_eq!(c.kid("failure").is_some(), tracked, "{:?}", c.attr("name"));
        assert_eq!(c.kid("error").is_some(), !d["error"].is_null());
        if let Some(f) = c.kid("failure") {
            assert_eq!(f.attr("type"), Some("tracking"));
            assert!(f.attr("message").unwrap().contains("violation"));
            assert!(!f.text.trim().is_empty());
        }
        if d["error"].is_null() {
            assert!(c
                .kid("system-out")
                .is_some_and(|o| o.text.contains("informational finding(s)")));
        }
    }
    let errors: Vec<&str> = scanned
        .iter()
        .filter(|c| c.kid("error").is_some())
        .map(|c| c.attr("name").unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            "fixtures/mail/empty.eml",
            "fixtures/mail/not-mail-binary.eml"
        ]
    );
    let mailgun = scanned
        .iter()
        .find(|c| c.attr("name") == Some("fixtures/mail/mailgun-order-shipped.eml"))
        .unwrap();
    assert!(mailgun.kid("failure").unwrap().text.contains("Mailgun"));
    let clean = scanned
        .iter()
        .find(|c| c.attr("name") == Some("fixtures/mail/clean-plain-text.eml"))
        .unwrap();
    assert!(clean.kid("failure").is_none());
    // Count attributes agree with the testcases.
    for e in [&xml, suite] {
        assert_eq!(count(e, "tests"), cases.len() as u64);
        assert_eq!(
            count(e, "failures"),
            cases.iter().filter(|c| c.kid("failure").is_some()).count() as u64
        );
        assert_eq!(count(e, "errors"), 2);
        assert_eq!(count(e, "skipped"), 2, "expected.toml and generate.py");
    }
    assert_eq!(count(suite, "failures"), 69);
}

#[test]
fn junit_site_build() {
    let xml = parse_xml(&text(&site("junit")));
    let suite = xml.kid("testsuite").unwrap();
    assert_eq!(suite.attr("name"), Some("pixscan site"));
    let cases: Vec<&Elem> = suite.kids("testcase").collect();
    assert_eq!(cases.len(), 8);
    assert!(cases.iter().all(|c| c.attr("classname") == Some("site")));
    assert_eq!(count(suite, "failures"), 7);
    let contact = cases
        .iter()
        .find(|c| c.attr("name") == Some("fixtures/site-build/contact/index.html"))
        .unwrap();
    assert!(contact.kid("failure").is_none());
}

// ---------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------

/// The Markdown outside code spans (code spans are inert: no links, HTML or emphasis).
fn outside_code(md: &str) -> String {
    md.lines()
        .map(|l| l.split('`').step_by(2).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks Markdown has no live markup from scanned content.
fn assert_inert_markdown(md: &str) {
    assert!(md.len() <= 1024 * 1024, "fits GITHUB_STEP_SUMMARY");
    assert!(!md.contains('\u{1b}'), "no terminal escapes");
    assert!(!md.contains('\r'));
    let out = outside_code(md);
    assert!(!out.contains('<'), "raw < in Markdown");
    assert!(!out.contains('>') || out.lines().all(|l| !l.contains('>') || l.starts_with("> ")));
    let b = out.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'[' || c == b']' {
            assert!(
                i > 0 && b[i - 1] == b'\\',
                "unescaped {} in {:?}",
                c as char,
                out.lines().find(|l| l.contains(c as char))
            );
        }
    }
    for l in md.lines() {
        // Code spans never hold a cell separator or a backtick run that could end them.
        for (n, part) in l.split('`').enumerate() {
            if n % 2 == 1 {
                assert!(!part.contains('|') && !part.contains('<'), "{l}");
            }
        }
    }
    // Every table row has as many unescaped pipes as its header.
    let mut want: Option<usize> = None;
    for l in out.lines() {
        if !l.starts_with('|') {
            want = None;
            continue;
        }
        let mut prev = ' ';
        let mut pipes = 0;
        for c in l.chars() {
            if c == '|' && prev != '\\' {
                pipes += 1;
            }
            prev = c;
        }
        match want {
            None => want = Some(pipes),
            Some(w) => assert_eq!(pipes, w, "row with an injected cell: {l}"),
        }
    }
}

#[test]
fn markdown_mail_and_site() {
    let md = text(&eml("markdown"));
    assert!(md.starts_with("## pixscan eml report"));
    assert!(md.contains("| inputs | scanned | with tracking |"));
    assert!(
        md.contains("| 78 | 76 | 69 | 7 | 2 | 2 | 172 | 276 |"),
        "{md}"
    );
    assert!(md.contains("### By entity"));
    assert!(md.contains("| SendGrid | email-marketing | 24 | 24 | 8 |"));
    assert!(md.contains("| kind | entity | party | consent | account | where | leaks |"));
    assert!(md.contains("### fixtures/mail/mailgun-order-shipped.eml"));
    assert!(md.contains("### Skipped (2)"));
    assert!(md.contains("### Could not be scanned (2)"));
    assert!(md.contains("never proof that a person read"));
    assert_inert_markdown(&md);

    let md = text(&site("markdown"));
    assert!(md.starts_with("## pixscan site report"));
    assert!(md.contains("### fixtures/site-build/index.html"));
    assert!(
        md.contains(
            "| **tracker-script** | Google Tag Manager | third party | ungated | G-7XK2M9QW3E |"
        ),
        "{md}"
    );
    assert_inert_markdown(&md);
}

// ---------------------------------------------------------------------------------------
// GitHub annotations
// ---------------------------------------------------------------------------------------

/// Parses `::level props::message` lines; panics on any other line except the closing
/// `pixscan:` summary lines.
/// One workflow command: level, properties, message.
type Annotation = (String, Vec<(String, String)>, String);

fn annotations(out: &str) -> Vec<Annotation> {
    let mut all = Vec::new();
    let mut summary_seen = false;
    for line in out.lines() {
        assert!(!line.contains('\r') && !line.contains('\u{1b}'), "{line:?}");
        if line.starts_with("pixscan: ") {
            summary_seen = true;
            continue;
        }
        assert!(!summary_seen, "annotations after the summary line");
        let rest = line
            .strip_prefix("::")
            .unwrap_or_else(|| panic!("not a workflow command: {line:?}"));
        let (cmd, msg) = rest.split_once("::").expect("::message");
        let (level, props) = cmd.split_once(' ').unwrap_or((cmd, ""));
        assert!(matches!(level, "error" | "warning"), "{line}");
        let props: Vec<(String, String)> = props
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').expect("key=value");
                assert!(matches!(k, "file" | "line" | "col" | "title"), "{line}");
                assert!(
                    !v.contains(':') && !v.contains(','),
                    "unescaped property {v:?}"
                );
                (k.to_string(), v.to_string())
            })
            .collect();
        all.push((level.to_string(), props, msg.to_string()));
    }
    assert!(summary_seen, "a plain summary line closes the output");
    all
}

#[test]
fn github_is_the_default_in_actions_and_appends_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let out = pixscan()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["site", "--base-url", BASE_URL, "fixtures/site-build"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out);
    let anns = annotations(&stdout);
    // A dns-prefetch hint is reported but never tracking: 26, not 27.
    assert_eq!(anns.len(), 26, "one error per tracking finding");
    assert!(anns.iter().all(|(l, _, _)| l == "error"));
    assert!(
        stdout.contains("::error file=fixtures/site-build/index.html,line=13,col=5,title=pixscan%3A tracker-script (Google Tag Manager)::"),
        "{stdout}"
    );
    assert!(stdout.lines().last().unwrap().starts_with("pixscan: "));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step\n## pixscan site report"),
        "{md}"
    );
    assert_inert_markdown(&md["earlier step\n".len()..]);
}

#[test]
fn github_mail_annotations() {
    let out = eml("github");
    let stdout = text(&out);
    let anns = annotations(&stdout);
    // 172 tracking findings + 2 messages that could not be scanned.
    assert_eq!(anns.len(), 174);
    assert!(anns
        .iter()
        .all(|(_, props, _)| !props.iter().any(|(k, _)| k == "file")));
    assert!(anns
        .iter()
        .any(|(_, _, m)| m.starts_with("fixtures/mail/empty.eml: ")));
    assert!(anns.iter().any(|(_, p, m)| m
        .starts_with("fixtures/mail/mailgun-order-shipped.eml (HTML part line ")
        && p.iter()
            .any(|(k, v)| k == "title" && v == "pixscan%3A open-pixel (Mailgun)")));
    assert!(stdout.contains("GitHub shows only the first 10 annotations"));
}

#[test]
fn several_formats_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    let html = dir.path().join("report.html");
    let junit = dir.path().join("junit.xml");
    let md = dir.path().join("summary.md");
    let arg = |f: &str, p: &Path| format!("{f}={}", p.display());
    let out = run(&[
        "site",
        "--format",
        "json",
        "--base-url",
        BASE_URL,
        "--output",
        &arg("sarif", &sarif),
        "--output",
        &arg("html", &html),
        "--output",
        &arg("junit", &junit),
        "--output",
        &arg("markdown", &md),
        "fixtures/site-build",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["schema"], "pixscan/1");
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_valid_sarif(&sarif_validator(), &log);
    assert_eq!(log, json(&site("sarif")), "same SARIF as --format sarif");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert_eq!(
        parse_xml(&std::fs::read_to_string(&junit).unwrap()).name,
        "testsuites"
    );
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .starts_with("## pixscan site report"));
}

// ---------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------

/// Scans the real tags of an HTML report (scanned content is escaped, so every `<` is ours)
/// and checks that nothing can load, link out or run.
fn assert_inert_html(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(lower.contains(
        "<meta http-equiv=\"content-security-policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    for bad in [
        "<script", "<img", "<iframe", "<link", "<object", "<embed", "<base", "<form",
    ] {
        assert!(!lower.contains(bad), "{bad} in the report");
    }
    for needle in [
        "src=\"http",
        "src='http",
        "src=http",
        "href=\"http",
        "href='http",
        "href=http",
        "url(http",
        "url(\"http",
        "url('http",
        "src=\"//",
        "href=\"//",
        "url(//",
    ] {
        assert!(!lower.contains(needle), "external resource: {needle}");
    }
    let allowed = [
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "nav", "a", "section",
        "div", "b", "p", "table", "thead", "tbody", "tr", "th", "td", "details", "summary", "span",
        "code", "ul", "li", "svg", "text", "rect", "footer", "dl", "dt", "dd",
    ];
    let mut i = 0;
    while let Some(j) = html[i..].find('<') {
        let start = i + j;
        let end = start + html[start..].find('>').expect("tag end");
        let tag = &html[start + 1..end];
        i = end + 1;
        if tag.starts_with('!') || tag.starts_with('/') {
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(allowed.contains(&name.as_str()), "unexpected tag <{tag}>");
        // Attributes: name="value" pairs; no event handlers, no src, only in-page links.
        let mut rest = &tag[name.len()..];
        loop {
            rest = rest.trim_start();
            if rest.is_empty() || rest == "/" {
                break;
            }
            let eq = rest
                .find('=')
                .unwrap_or_else(|| panic!("attribute without value in <{tag}>"));
            let an = rest[..eq].trim().to_ascii_lowercase();
            let q = rest[eq + 1..].chars().next().unwrap();
            assert!(q == '"', "unquoted attribute in <{tag}>");
            let vend = eq + 2 + rest[eq + 2..].find('"').unwrap();
            let value = &rest[eq + 2..vend];
            assert!(!an.starts_with("on"), "event handler {an} in <{tag}>");
            assert!(
                !matches!(
                    an.as_str(),
                    "src"
                        | "srcset"
                        | "action"
                        | "formaction"
                        | "xlink:href"
                        | "background"
                        | "poster"
                        | "data"
                ),
                "{an} in <{tag}>"
            );
            if an == "href" {
                assert!(value.starts_with('#'), "live link {value}");
            }
            rest = &rest[vend + 1..];
        }
    }
    let style_start = lower.find("<style>").unwrap();
    let style_end = lower.find("</style>").unwrap();
    let css = &lower[style_start..style_end];
    assert!(!css.contains("url(") && !css.contains("@import") && !css.contains("@font-face"));
}

#[test]
fn html_reports_are_self_contained() {
    let page = text(&eml("html"));
    assert_inert_html(&page);
    for s in [
        "id=\"summary\"",
        "id=\"entities\"",
        "id=\"documents\"",
        "id=\"leaks\"",
        "id=\"skipped\"",
        "<svg",
        "fixtures/mail/mailgun-order-shipped.eml",
        "recipient identity",
        "never proof that a person read",
    ] {
        assert!(page.contains(s), "{s}");
    }
    // URLs are text, never links.
    assert!(page.contains("<span class=\"url\">https://email.shop.example/o/"));
    let page = text(&site("html"));
    assert_inert_html(&page);
    assert!(page.contains("fixtures/site-build/index.html"));
    assert!(page.contains("Google Tag Manager"));
}

// ---------------------------------------------------------------------------------------
// Hostile input through every format
// ---------------------------------------------------------------------------------------

/// A mail folder and a site folder whose names, titles, URLs and alt text carry markup,
/// Markdown links, table pipes, workflow commands, ANSI escapes, `%0A` and raw newlines.
struct Hostile {
    _dir: tempfile::TempDir,
    mail: PathBuf,
    site: PathBuf,
}

fn b64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for ch in data.chunks(3) {
        let n = (u32::from(ch[0]) << 16)
            | (u32::from(*ch.get(1).unwrap_or(&0)) << 8)
            | u32::from(*ch.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= ch.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

fn hostile() -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    let tail = " ](javascript:alert(1)) [x](https://evil.example/) | a | b ::error::pwned \u{1b}[31mred %0A\n::warning title=x::injected\r\n@octocat #1 www.evil.example $x$";
    let subject = format!("{XSS}{tail}");
    let url = "https://t.evil.example/<script>alert(1)</script>/](javascript:alert(1))/|/::error::/%0A/`x`/o.gif?u=jane@example.org&x=<script>alert(1)</script>";
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let msg = format!(
        "From: news@evil.example\r\nTo: jane@example.org\r\nSubject: =?utf-8?b?{}?=\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Hi</p>\r\n<img src=\"{}\" width=\"1\" height=\"1\" alt=\"{}\">\r\n<a href=\"https://click.evil.example/c/{}?u=jane%40example.org\">x</a>\r\n</body></html>\r\n",
        b64(subject.as_bytes()),
        attr_escape(url),
        attr_escape(XSS),
        "%3Cscript%3E"
    );
    std::fs::write(
        mail.join("evil <b>|x::error::,%0A\n::warning::line2 [a](b).eml"),
        msg,
    )
    .unwrap();

    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    let html_title = format!("{XSS}{tail}")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let page = format!(
        "<!doctype html>\n<html><head><title>{html_title}</title>\n<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234\"></script>\n</head><body>\n<img src=\"https://www.facebook.com/tr?id=1234567890&amp;ev=PageView&amp;x=%3Cscript%3E\" width=\"1\" height=\"1\" alt=\"{}\">\n<img src=\"{}\" alt=\"x\">\n</body></html>\n",
        attr_escape(XSS),
        attr_escape(url)
    );
    std::fs::write(site.join("evil,:<i>name.html"), page).unwrap();
    Hostile {
        _dir: dir,
        mail,
        site,
    }
}

fn hostile_run(h: &Hostile, command: &str, format: &str) -> String {
    let out = match command {
        "eml" => run(&["eml", "--format", format, h.mail.to_str().unwrap()]),
        _ => run(&[
            "site",
            "--format",
            format,
            "--base-url",
            "https://evil.example/",
            h.site.to_str().unwrap(),
        ]),
    };
    assert_eq!(
        out.status.code(),
        Some(1),
        "{command} {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text(&out)
}

#[test]
fn hostile_input_is_neutralised_in_every_format() {
    let h = hostile();
    let validator = sarif_validator();
    for command in ["eml", "site"] {
        // The payload really reaches the reports (else this test proves nothing).
        let j: Value = serde_json::from_str(&hostile_run(&h, command, "json")).expect("JSON");
        let title = j["documents"][0]["title"].as_str().unwrap();
        assert!(title.contains("<script>"), "{title:?}");
        assert!(j["summary"]["tracking_findings"].as_u64().unwrap() > 0);

        let sarif: Value =
            serde_json::from_str(&hostile_run(&h, command, "sarif")).expect("SARIF is JSON");
        assert_valid_sarif(&validator, &sarif);
        check_sarif_run(&sarif);
        let s = sarif.to_string();
        assert!(!s.contains("\\u001b"), "ANSI escapes reach SARIF text");

        let xml = hostile_run(&h, command, "junit");
        let root = parse_xml(&xml);
        assert!(!xml.contains('\u{1b}'));
        let case = root.kid("testsuite").unwrap().kid("testcase").unwrap();
        assert!(
            case.attr("name").unwrap().contains("<b>")
                || case.attr("name").unwrap().contains("<i>")
        );
        assert!(case.kid("failure").is_some());

        let md = hostile_run(&h, command, "markdown");
        assert_inert_markdown(&md);
        assert!(!md.contains("@octocat"), "mention not broken");
        assert!(
            md.contains("&lt;script&gt;"),
            "the payload is shown, escaped"
        );

        let gh = hostile_run(&h, command, "github");
        let anns = annotations(&gh);
        assert!(!anns.is_empty());
        for line in gh.lines() {
            assert!(
                line.starts_with("::error ")
                    || line.starts_with("::warning ")
                    || line.starts_with("pixscan: "),
                "a new command line was injected: {line:?}"
            );
            // Content's own `%0A` is escaped to `%250A`; line breaks are shown as `\u{a}`.
            assert!(
                !line.contains("%0A"),
                "a line break from scanned content reached an annotation: {line}"
            );
        }
        if command == "site" {
            // `,` and `:` in the file name are escaped in the property.
            assert!(
                gh.contains("file=") && gh.contains("evil%2C%3A<i>name.html"),
                "{gh}"
            );
        }

        let html = hostile_run(&h, command, "html");
        assert_inert_html(&html);
        assert!(html.contains("&lt;script&gt;document.body.setAttribute("));
        assert!(!html.contains('\u{1b}'));
    }
}

// ---------------------------------------------------------------------------------------
// The HTML report in a real browser
// ---------------------------------------------------------------------------------------

fn chromium() -> PathBuf {
    let candidates = [
        std::env::var_os("CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("Chromium is required for the HTML report test (CI installs it: apt-get install chromium)")
        })
}

/// `chromium --headless --dump-dom file://…` with a timeout.
fn dump_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium timed out");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

#[test]
fn html_report_in_headless_chromium() {
    let h = hostile();
    let dir = tempfile::tempdir().unwrap();
    // Hostile mail plus a real fixture, and the hostile site page.
    std::fs::copy(
        root().join("fixtures/mail/mailgun-order-shipped.eml"),
        h.mail.join("mailgun-order-shipped.eml"),
    )
    .unwrap();
    for (command, title) in [
        ("eml", "pixscan eml report"),
        ("site", "pixscan site report"),
    ] {
        let page = dir.path().join(format!("{command}.html"));
        let html = hostile_run(&h, command, "html");
        assert_inert_html(&html);
        std::fs::write(&page, &html).unwrap();
        let dom = dump_dom(&page);
        assert!(
            dom.contains(&format!("<title>{title}</title>")),
            "title changed: {}",
            &dom[..dom.len().min(2000)]
        );
        assert!(!dom.contains("pwned</title>"));
        assert!(
            !dom.contains("data-pwned="),
            "a script from scanned content ran"
        );
        assert!(dom.contains("Summary") && dom.contains("id=\"summary\""));
        assert!(dom.contains("tracking findings"));
        // The payload is there, as text.
        assert!(dom.contains("&lt;script&gt;document.body.setAttribute("));
        if command == "eml" {
            assert!(dom.contains("mailgun-order-shipped.eml"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Policy verdicts and limits, through the library
// ---------------------------------------------------------------------------------------

/// A real finding from the pipeline (so fields added to the model later need no change
/// here), reshaped for a test.
fn finding(
    kind: Kind,
    tracking: bool,
    entity: &str,
    path: &str,
    verdict: Option<Verdict>,
) -> Finding {
    static TEMPLATE: std::sync::OnceLock<Finding> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let rules = pixscan::rules::Ruleset::load(&[] as &[PathBuf]).expect("built-in rules");
        let bytes = std::fs::read(root().join("fixtures/mail/mailgun-order-shipped.eml")).unwrap();
        let doc = pixscan::scan::scan_message("template.eml".into(), &bytes, &rules, &[]);
        doc.findings
            .into_iter()
            .find(|f| f.tracking)
            .expect("a tracking finding")
    });
    let mut f = template.clone();
    f.message = format!("{} from t.example.", kind.as_str());
    f.url = format!("https://t.example/{path}?u=abc");
    f.element = "img".into();
    f.attribute = "src".into();
    f.kind = kind;
    f.tracking = tracking;
    f.entity = Some(entity.into());
    f.company = None;
    f.category = Some("analytics".into());
    f.party = Party::Third;
    f.host = "t.example".into();
    f.registrable_domain = Some("t.example".into());
    f.rule = None;
    f.tier = None;
    f.evidence = vec![];
    f.leaks = Leaks {
        ip: true,
        user_agent: true,
        cookies: false,
        referrer: false,
        identifiers: vec![Identifier {
            location: "query:u".into(),
            kind: IdentifierKind::RecipientToken,
            encoding: Encoding::Opaque,
            value: "abc".into(),
        }],
    };
    f.decoded = vec![];
    f.target = None;
    f.line = Some(3);
    f.column = Some(7);
    f.account = None;
    f.consent = None;
    f.fingerprint = None;
    f.verdict = verdict;
    f
}

fn verdict(status: VerdictStatus, reason: &str) -> Option<Verdict> {
    Some(Verdict {
        status,
        reason: reason.into(),
    })
}

fn render(
    make: impl for<'a> FnOnce(&'a mut Vec<u8>, &ReportOptions) -> Box<dyn Reporter + 'a>,
    docs: &[DocumentReport],
) -> String {
    let opts = ReportOptions {
        command: pixscan::model::Command::Site,
        color: false,
        verbose: false,
        quiet: false,
        filtered: false,
    };
    let mut summary = Summary::default();
    for d in docs {
        summary.add(d);
    }
    summary.finish();
    let mut buf = Vec::new();
    {
        let mut r = make(&mut buf, &opts);
        for d in docs {
            r.document(d).unwrap();
        }
        r.finish(&summary).unwrap();
    }
    String::from_utf8(buf).unwrap()
}

fn sarif_of(docs: &[DocumentReport]) -> Value {
    let s = render(
        |b, o| Box::new(pixscan::report::sarif::SarifReporter::new(b, o).unwrap()),
        docs,
    );
    serde_json::from_str(&s).unwrap()
}

#[test]
fn sarif_and_junit_follow_policy_verdicts() {
    let mut fp = finding(
        Kind::Beacon,
        true,
        "Acme",
        "v",
        verdict(VerdictStatus::Violation, "fail_on: tracking"),
    );
    fp.fingerprint = Some("policy-fp-1".into());
    let doc = DocumentReport {
        source: "public/index.html".into(),
        findings: vec![
            fp,
            finding(
                Kind::Beacon,
                true,
                "Acme",
                "a",
                verdict(VerdictStatus::Approved, "approved: Acme (DPA 2024-03)"),
            ),
            finding(
                Kind::Beacon,
                true,
                "Acme",
                "b",
                verdict(VerdictStatus::Baselined, "baseline"),
            ),
            finding(
                Kind::Beacon,
                true,
                "Acme",
                "c",
                verdict(VerdictStatus::Allowed, "not matched by fail_on"),
            ),
            finding(
                Kind::RemoteImage,
                false,
                "Cdn",
                "d",
                verdict(VerdictStatus::Allowed, "not tracking"),
            ),
            finding(
                Kind::RemoteImage,
                false,
                "Cdn",
                "e",
                verdict(VerdictStatus::Violation, "deny: t.example"),
            ),
        ],
        ..Default::default()
    };
    let log = sarif_of(std::slice::from_ref(&doc));
    assert_valid_sarif(&sarif_validator(), &log);
    let run = check_sarif_run(&log);
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        5,
        "the untracked, allowed request is left out"
    );
    assert_eq!(results[0]["level"], "error");
    assert_eq!(
        results[0]["partialFingerprints"]["pixscan/v1"],
        "policy-fp-1"
    );
    assert_eq!(results[1]["level"], "note");
    assert_eq!(results[1]["suppressions"][0]["kind"], "external");
    assert_eq!(results[1]["suppressions"][0]["status"], "accepted");
    assert_eq!(
        results[1]["suppressions"][0]["justification"],
        "approved: Acme (DPA 2024-03)"
    );
    assert_eq!(results[2]["level"], "warning");
    assert_eq!(results[2]["baselineState"], "unchanged");
    assert_eq!(results[3]["level"], "warning");
    assert_eq!(results[4]["level"], "error");
    assert_eq!(results[4]["ruleId"], "remote-image/cdn");
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "public/index.html");
    assert_eq!(loc["region"]["startLine"], 3);
    assert_eq!(loc["region"]["startColumn"], 7);

    // JUnit: a document whose tracking is all approved or baselined passes.
    let junit = |docs: &[DocumentReport]| {
        parse_xml(&render(
            |b, o| Box::new(pixscan::report::junit::JunitReporter::new(b, o).unwrap()),
            docs,
        ))
    };
    let xml = junit(std::slice::from_ref(&doc));
    assert_eq!(count(&xml, "failures"), 1);
    let failure = xml
        .kid("testsuite")
        .unwrap()
        .kid("testcase")
        .unwrap()
        .kid("failure")
        .unwrap();
    assert!(failure
        .attr("message")
        .unwrap()
        .starts_with("2 violation(s)"));
    let fine = DocumentReport {
        source: "public/ok.html".into(),
        findings: vec![
            finding(
                Kind::Beacon,
                true,
                "Acme",
                "a",
                verdict(VerdictStatus::Approved, "ok"),
            ),
            finding(
                Kind::Beacon,
                true,
                "Acme",
                "b",
                verdict(VerdictStatus::Baselined, "known"),
            ),
        ],
        ..Default::default()
    };
    let xml = junit(&[fine]);
    assert_eq!(count(&xml, "failures"), 0);
}

/// SARIF names a finding by the fingerprint baselines use, also when no policy stage ran:
/// one algorithm (`pixscan::fingerprint`), blind to query values and lines.
#[test]
fn sarif_fingerprints_are_the_baseline_fingerprints() {
    let a = finding(Kind::Beacon, true, "Acme", "p", None);
    let mut b = finding(Kind::Beacon, true, "Acme", "p", None);
    b.url = "https://t.example/p?u=other-token".into();
    b.line = Some(99);
    let c = finding(Kind::Beacon, true, "Acme", "q", None);
    let doc = DocumentReport {
        source: "x.html".into(),
        findings: vec![a.clone(), b, c],
        ..Default::default()
    };
    let sarif = sarif_of(std::slice::from_ref(&doc));
    let fps: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["partialFingerprints"]["pixscan/v1"].as_str().unwrap())
        .collect();
    let fa = pixscan::fingerprint::compute(pixscan::model::Command::Site, &doc, &a);
    assert_eq!(fps.len(), 3);
    assert_eq!(
        (fps[0], fps[1]),
        (fa.as_str(), fa.as_str()),
        "query value, line"
    );
    assert_ne!(fps[2], fa, "another path");
    let elsewhere = DocumentReport {
        source: "y.html".into(),
        ..Default::default()
    };
    assert_ne!(
        pixscan::fingerprint::compute(pixscan::model::Command::Site, &elsewhere, &a),
        fa
    );
    assert_ne!(
        pixscan::fingerprint::compute(pixscan::model::Command::Eml, &doc, &a),
        fa
    );
    // The baseline entry of that finding carries the same value.
    assert_eq!(
        pixscan::baseline::Entry::new(pixscan::model::Command::Site, &doc, &a).fingerprint,
        fa
    );
}

#[test]
fn sarif_results_are_capped_with_a_notification() {
    let findings: Vec<Finding> = (0..5003)
        .map(|i| finding(Kind::Beacon, true, "Acme", &format!("p{i}"), None))
        .collect();
    let doc = DocumentReport {
        source: "big.html".into(),
        findings,
        ..Default::default()
    };
    let log = sarif_of(&[doc]);
    assert_valid_sarif(&sarif_validator(), &log);
    let run = &log["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 5000);
    let note = &run["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "warning");
    let t = note["message"]["text"].as_str().unwrap();
    assert!(t.contains("5000 of 5003"), "{t}");
}

#[test]
fn markdown_is_capped_at_one_mebibyte() {
    let docs: Vec<DocumentReport> = (0..3000)
        .map(|i| DocumentReport {
            source: format!("pages/{i}.html"),
            title: Some("x".repeat(200)),
            findings: (0..4)
                .map(|k| {
                    finding(
                        Kind::Beacon,
                        true,
                        "Acme",
                        &format!("{i}/{k}/{}", "y".repeat(50)),
                        None,
                    )
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let md = render(
        |b, o| Box::new(pixscan::report::markdown::MarkdownReporter::new(b, o).unwrap()),
        &docs,
    );
    assert!(md.len() <= 1024 * 1024, "{} bytes", md.len());
    assert!(md.contains("Report truncated to fit 1 MiB"));
    // A site report closes with the note in web words.
    assert!(md
        .trim_end()
        .ends_with("never proof that a visitor saw or read anything."));
    assert_inert_markdown(&md);
}

#[test]
fn html_report_is_bounded() {
    use pixscan::report::html::{HtmlReporter, MAX_DOC_SECTIONS, MAX_SECTION_BYTES};
    let html =
        |docs: &[DocumentReport]| render(|b, o| Box::new(HtmlReporter::new(b, o).unwrap()), docs);
    // 2,000 pages with one tracking finding each, then three that could not be scanned.
    let mut docs: Vec<DocumentReport> = (0..2000)
        .map(|i| DocumentReport {
            source: format!("pages/{i}.html"),
            title: Some(format!("Page {i}")),
            findings: vec![finding(
                Kind::Beacon,
                true,
                "Acme",
                &format!("px/{i}"),
                None,
            )],
            ..Default::default()
        })
        .collect();
    docs.extend((0..3).map(|k| DocumentReport {
        source: format!("broken/{k}.html"),
        error: Some("HTTP 500".into()),
        ..Default::default()
    }));
    let page = html(&docs);
    assert_inert_html(&page);
    assert!(page.trim_end().ends_with("</html>"));
    assert!(page.len() < 3 * 1024 * 1024, "{} bytes", page.len());
    // Details for at most MAX_DOC_SECTIONS documents, the failed ones kept.
    assert_eq!(
        page.matches("<details class=\"doc\">").count(),
        MAX_DOC_SECTIONS
    );
    for k in 0..3 {
        assert!(
            page.contains(&format!("<code>broken/{k}.html</code>")),
            "broken/{k}"
        );
    }
    assert!(page.contains("<code>pages/0.html</code>"));
    assert!(!page.contains("<code>pages/1999.html</code> — Page 1999"));
    let left_out = 2003 - MAX_DOC_SECTIONS;
    assert!(
        page.contains(&format!(
            "{left_out} more pages with tracking or errors are not shown here; the JSON report (--format json / --output json=FILE) lists them all."
        )),
        "pointer line"
    );
    // The summary, entity and leak tables still count all 2,000.
    assert!(page.contains("<div class=\"card\"><b>2000</b>with tracking</div>"));
    assert!(page.contains("<div class=\"card\"><b>3</b>failed</div>"));
    assert!(page.contains(
        "<td class=\"n\">2000</td><td class=\"n\">2000</td><td class=\"n\">2000</td></tr>"
    ));
    assert!(page.contains(
        "<tr><td>IP address</td><td class=\"n\">2000</td><td class=\"n\">2000</td></tr>"
    ));

    // Few documents, each huge: the byte budget stops them.
    let big: Vec<DocumentReport> = (0..40)
        .map(|i| DocumentReport {
            source: format!("big/{i}.html"),
            findings: (0..300)
                .map(|k| {
                    finding(
                        Kind::Beacon,
                        true,
                        "Acme",
                        &format!("{i}/{k}/{}", "z".repeat(400)),
                        None,
                    )
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let page = html(&big);
    assert!(
        page.len() < MAX_SECTION_BYTES + 512 * 1024,
        "{} bytes",
        page.len()
    );
    let shown = page.matches("<details class=\"doc\">").count();
    assert!(shown > 0 && shown < 40, "{shown} shown");
    assert!(page.contains(&format!("{} more pages with tracking", 40 - shown)));
    assert!(page.contains("<div class=\"card\"><b>40</b>with tracking</div>"));
}

/// A crawled page with every part a report can show: a browser-mode run (cookies, storage,
/// Google Consent Mode, what accepting unlocked), page facts, a tracking finding with all
/// its details, a plain request, hidden findings and notes.
fn browser_page() -> DocumentReport {
    use pixscan::model::{
        BrowserRun, ConsentPhase, ConsentUnlocked, CookieReport, Decoded, GoogleConsentSignal,
        Platform, ReferrerInfo, RuntimeRequest, StorageReport,
    };
    let mut pixel = finding(
        Kind::Beacon,
        true,
        "Acme",
        "tr",
        verdict(VerdictStatus::Violation, "fail_on: tracking"),
    );
    pixel.occurrences = 2;
    pixel.account = Some("778899".into());
    pixel.consent = Some(pixscan::model::Consent::Ungated);
    pixel.seen_by = Some(pixscan::model::SeenBy::Both);
    pixel.runtime = Some(Box::new(RuntimeRequest {
        url: "https://t.example/tr?u=abc".into(),
        resource_type: "image".into(),
        method: "GET".into(),
        phase: pixscan::model::Phase::BeforeConsent,
        ..Default::default()
    }));
    pixel.initiators = vec![
        "https://www.shop.example/".into(),
        "https://tags.example/tm.js?id=TM-4242-a-very-long-container-id-that-gets-cut".into(),
    ];
    pixel.evidence = vec!["rule acme-tr (host)".into(), "1x1 image".into()];
    pixel.decoded = vec![Decoded {
        location: "query:u".into(),
        encoding: Encoding::Base64,
        text: "jane.doe@example.org".into(),
    }];
    pixel.target = Some("https://www.shop.example/landing".into());
    let mut image = finding(
        Kind::RemoteImage,
        false,
        "Acme CDN",
        "img.png",
        verdict(VerdictStatus::Allowed, "not tracking"),
    );
    image.leaks.identifiers.clear();
    let cookie = |name: &str, party, days, blocked: Vec<String>| CookieReport {
        name: name.into(),
        domain: ".shop.example".into(),
        party,
        entity: Some("Acme".into()),
        days,
        set_by: Some("script https://cdn.example/events.js".into()),
        after_consent: blocked.is_empty() && days.is_none(),
        blocked,
        ..Default::default()
    };
    DocumentReport {
        source: "https://www.shop.example/".into(),
        title: Some("The shop".into()),
        findings: vec![pixel, image],
        platforms: vec![Platform {
            entity: "Acme".into(),
            rule: "acme-header".into(),
            evidence: "X-Acme: 1".into(),
        }],
        consent_platforms: Some(vec!["OneTrust".into()]),
        referrer: Some(ReferrerInfo {
            policy: "unsafe-url".into(),
            from: pixscan::model::ReferrerSource::Meta,
            sends: pixscan::model::ReferrerSends::FullUrl,
            leaks: true,
        }),
        personal_data_in_url: Some(vec!["email=jane.doe@example.org".into()]),
        notes: vec!["references past the limit were not read".into()],
        redirects: vec![
            "http://shop.example/".into(),
            "https://www.shop.example/".into(),
        ],
        hidden_findings: 3,
        browser: Some(BrowserRun {
            browser: "Chrome/156.0.0.0".into(),
            final_url: "https://www.shop.example/".into(),
            load_ms: Some(812),
            requests: 14,
            third_party_requests: 9,
            tracking_before_consent: 4,
            third_party_cookies: pixscan::model::ThirdPartyCookies::Allowed,
            timed_out: true,
            error: None,
            notes: vec!["a lazy image loaded on scroll".into()],
        }),
        cookies: Some(vec![
            cookie("_pxid", Some(Party::First), Some(390.0), vec![]),
            cookie("sess", None, None, vec![]),
            cookie("sync", Some(Party::Third), None, vec!["SecureOnly".into()]),
        ]),
        local_storage: Some(vec![StorageReport {
            key: "ajs_user_id".into(),
            size: 12,
            set_by: None,
            after_consent: false,
        }]),
        google_consent: vec![GoogleConsentSignal {
            url: "https://metrics.example/g/collect".into(),
            phase: pixscan::model::Phase::BeforeConsent,
            gcs: Some("G100".into()),
            gcd: None,
            ad_storage: Some("denied".into()),
            analytics_storage: Some("denied".into()),
            ad_user_data: None,
            ad_personalization: None,
            sent: vec!["cid".into()],
            note: "denied, yet an identifier was sent".into(),
        }],
        consent_unlocked: Some(ConsentUnlocked {
            clicked: Some("#onetrust-accept-btn-handler".into()),
            platform: Some("OneTrust".into()),
            button_text: Some("Accept all".into()),
            note: Some("accepting unlocked the ad network".into()),
            before: ConsentPhase {
                tracking_requests: vec!["https://t.example/tr?u=abc".into()],
                cookies: vec!["_pxid (.shop.example)".into()],
                ..Default::default()
            },
            after: ConsentPhase {
                tracking_requests: vec![
                    "https://ads.example/conv?aid=AD-77".into(),
                    "https://ads.example/sync.gif".into(),
                ],
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

/// Human output of a page in browser mode, byte for byte: the layout is a contract people
/// read, so a refactoring of the human reporter must leave it as it is.
#[test]
fn human_output_of_a_browser_page_is_pinned() {
    let buf = Shared::default();
    {
        let mut r = pixscan::report::human::HumanReporter::new(Box::new(buf.clone()), false, true)
            .command(pixscan::model::Command::Site);
        let doc = browser_page();
        let mut summary = Summary::default();
        summary.add(&doc);
        summary.finish();
        r.document(&doc).unwrap();
        r.finish(&summary).unwrap();
    }
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text, HUMAN_BROWSER_PAGE, "\n{text}");
}

const HUMAN_BROWSER_PAGE: &str = concat!(
    "https://www.shop.example/  “The shop”\n",
    "  VIOLATES beacon Acme · third party · t.example ×2\n",
    "           https://t.example/tr?u=abc\n",
    "           account 778899 · consent: ungated · seen by: both (image, before consent) · <img> at line 3, column 7\n",
    "           beacon from t.example.\n",
    "           fired by: https://www.shop.example/ → https://tags.example/tm.js?id=TM-4242-a-very-long-container-… → this request\n",
    "           evidence: rule acme-tr (host) · 1x1 image\n",
    "           leaks: IP address, user-agent, recipient-token in query:u (opaque)\n",
    "           decoded query:u base64: jane.doe@example.org\n",
    "           goes to: https://www.shop.example/landing\n",
    "  request  remote-image Acme CDN · third party · t.example\n",
    "           https://t.example/img.png?u=abc\n",
    "           <img> at line 3, column 7\n",
    "  3 more finding(s) hidden by the report filters (--kind/--entity/--category)\n",
    "  note: references past the limit were not read\n",
    "  consent platforms: OneTrust\n",
    "  referrer policy: unsafe-url (from meta): third parties get full-url\n",
    "  personal data in page URL: email=jane.doe@example.org\n",
    "  reached via redirects: http://shop.example/ → https://www.shop.example/\n",
    "  browser: Chrome/156.0.0.0 · load event 812 ms · 14 request(s), 9 third-party · 4 tracking before any consent · third-party cookies allowed · stopped at --max-wait\n",
    "           a lazy image loaded on scroll\n",
    "  cookies:\n",
    "    _pxid (.shop.example) · first party · 390 days · Acme · set by script https://cdn.example/events.js\n",
    "    sess (.shop.example) · third party · session · Acme · set by script https://cdn.example/events.js · after consent\n",
    "    sync (.shop.example) · third party · Acme · set by script https://cdn.example/events.js · refused by Chromium: SecureOnly\n",
    "  localStorage: ajs_user_id\n",
    "  Google Consent Mode: gcs=G100 gcd=- (before consent): ad_storage denied, analytics_storage denied — denied, yet an identifier was sent\n",
    "  consent: before any interaction                           │ after clicking #onetrust-accept-btn-handler (OneTrust)\n",
    "           1 tracking request(s)                            │ +2 tracking request(s)\n",
    "             t.example/tr?u=abc                             │   ads.example/conv?aid=AD-77\n",
    "           1 cookie(s)                                      │   ads.example/sync.gif\n",
    "             _pxid (.shop.example)                          │ \n",
    "           accepting unlocked the ad network\n",
    "  sent via: Acme (X-Acme: 1)\n",
    "\n",
    "By entity:\n",
    "  Acme                             analytics          1 tracking finding(s) in 1 document(s)\n",
    "  Acme CDN                         analytics          0 tracking finding(s) in 1 document(s)\n",
    "1 input(s): 1 scanned (1 with tracking, 0 clean), 0 failed; 1 tracking finding(s).\n",
    "A beacon or pixel request shows that a browser loaded the page, never proof that a visitor saw or read anything.\n",
);

#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
