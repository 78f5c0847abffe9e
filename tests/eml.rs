//! Integration tests: drive the real `pixscan` binary over the mail fixtures.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::pixscan;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail")
}

fn run_json(args: &[&str]) -> (Value, i32) {
    let out = pixscan()
        .args(["eml", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out.status.code().unwrap())
}

fn docs(v: &Value) -> &Vec<Value> {
    v["documents"].as_array().unwrap()
}

/// The expectations in fixtures/mail/expected.toml, checked message by message against one
/// run of the binary over the whole fixture folder.
#[test]
fn fixtures_match_expectations() {
    let expected: toml::Value =
        toml::from_str(&std::fs::read_to_string(fixtures().join("expected.toml")).unwrap())
            .unwrap();
    let messages = expected["message"].as_array().unwrap();
    assert!(messages.len() >= 25, "at least 25 fixtures");
    // --verbose: every request as a full finding (without it, plain ones are listed
    // compactly in `plain_requests`; see plain_requests_are_compact).
    let (json, _) = run_json(&["--verbose", "fixtures/mail"]);
    let by_source = |src: &str| {
        docs(&json)
            .iter()
            .find(|d| d["source"].as_str().unwrap().strip_prefix("fixtures/mail/") == Some(src))
            .unwrap_or_else(|| panic!("no document for {src}"))
    };
    let mut failures = Vec::new();
    for m in messages {
        let src = m["source"].as_str().unwrap();
        let doc = by_source(src);
        let mut fail = |why: String| failures.push(format!("{src}: {why}"));
        let error = m.get("error").and_then(|e| e.as_bool()).unwrap_or(false);
        if error == doc["error"].is_null() {
            fail(format!("expected error={error}, got {}", doc["error"]));
            continue;
        }
        if error {
            continue;
        }
        if let Some(p) = m.get("platform").and_then(|p| p.as_str()) {
            if !doc["platforms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["entity"] == p)
            {
                fail(format!("platform {p} not in {}", doc["platforms"]));
            }
        }
        let findings = doc["findings"].as_array().unwrap();
        let tracking = findings.iter().any(|f| f["tracking"] == true);
        if let Some(t) = m.get("tracking").and_then(|t| t.as_bool()) {
            if t != tracking {
                fail(format!(
                    "expected tracking={t}, got {tracking}: {}",
                    summary(findings)
                ));
            }
        }
        for e in m
            .get("expect")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            let want = |k: &str| e.get(k).and_then(|v| v.as_str());
            let hit = findings.iter().find(|f| {
                let s = |k: &str| f[k].as_str().unwrap_or("");
                want("kind").is_none_or(|k| s("kind") == k)
                    && want("url_contains").is_none_or(|u| s("url").contains(u))
                    && want("raw_url_contains").is_none_or(|u| s("raw_url").contains(u))
                    && e.get("tracking")
                        .and_then(|t| t.as_bool())
                        .is_none_or(|t| f["tracking"] == t)
                    && want("entity").is_none_or(|x| s("entity") == x)
                    && want("party").is_none_or(|x| s("party") == x)
                    && want("target").is_none_or(|x| s("target") == x)
                    && want("evidence_contains").is_none_or(|x| {
                        f["evidence"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|ev| ev.as_str().unwrap().contains(x))
                    })
                    && (want("identifier_kind").is_none()
                        && want("identifier_encoding").is_none()
                        && want("identifier_where").is_none()
                        || f["leaks"]["identifiers"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|id| {
                                want("identifier_kind").is_none_or(|x| id["kind"] == x)
                                    && want("identifier_encoding")
                                        .is_none_or(|x| id["encoding"] == x)
                                    && want("identifier_where").is_none_or(|x| {
                                        // A prefix: `path` matches `path:2`.
                                        id["where"].as_str().is_some_and(|w| w.starts_with(x))
                                    })
                            }))
            });
            if hit.is_none() {
                fail(format!("missing {e}\n    got: {}", summary(findings)));
            }
        }
        for a in m
            .get("absent")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            let u = a["url_contains"].as_str().unwrap();
            if findings
                .iter()
                .any(|f| f["tracking"] == true && f["url"].as_str().unwrap().contains(u))
            {
                fail(format!("{u} must not be judged tracking"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture expectation(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn summary(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| {
            let ids: Vec<String> = f["leaks"]["identifiers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| format!("{}/{}/{}", i["kind"], i["encoding"], i["where"]))
                .collect();
            format!(
                "\n      [{} tracking={} entity={} party={} url={} ids={:?} ev={}]",
                f["kind"], f["tracking"], f["entity"], f["party"], f["url"], ids, f["evidence"]
            )
        })
        .collect()
}

#[test]
fn summary_accounts_for_every_input() {
    let (json, code) = run_json(&["fixtures/mail"]);
    let s = &json["summary"];
    let n = docs(&json).len() as u64;
    assert_eq!(s["inputs"].as_u64(), Some(n));
    assert_eq!(
        s["scanned"].as_u64().unwrap() + s["failed"].as_u64().unwrap(),
        n
    );
    assert_eq!(
        s["clean"].as_u64().unwrap() + s["with_tracking"].as_u64().unwrap(),
        s["scanned"].as_u64().unwrap()
    );
    assert!(
        s["failed"].as_u64().unwrap() >= 1,
        "the broken fixtures fail"
    );
    assert_eq!(code, 2, "a failed input makes the exit code 2");
    for d in docs(&json) {
        if !d["error"].is_null() {
            assert!(d["findings"].as_array().unwrap().is_empty());
            assert!(!d["error"].as_str().unwrap().is_empty());
        }
    }
    assert_eq!(json["schema"], "pixscan/1");
    assert_eq!(json["command"], "eml");
}

#[test]
fn output_order_is_stable_across_thread_counts() {
    let one = pixscan()
        .args(["eml", "--format", "json", "-j", "1", "fixtures/mail"])
        .output()
        .unwrap();
    let four = pixscan()
        .args(["eml", "--format", "json", "-j", "4", "fixtures/mail"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&one.stdout),
        String::from_utf8_lossy(&four.stdout)
    );
}

fn write_eml(dir: &Path, name: &str, html: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!("From: News <news@shop.example>\r\nTo: jane.doe@example.org\r\nSubject: Test\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"),
    )
    .unwrap();
    p
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write_eml(
        dir.path(),
        "clean.eml",
        "<p>Hello</p><img src=\"https://cdn.shop.example/hero.jpg\" width=600 height=300>",
    );
    let tracked = write_eml(dir.path(), "tracked.eml", "<img src=\"https://u1.ct.sendgrid.net/wf/open?upn=u001.Xk9aTq7PzLw3Rb5Vn2Mc8Hd\" width=1 height=1>");
    let code = |args: &[&Path]| {
        pixscan()
            .arg("eml")
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    };
    assert_eq!(code(&[&clean]), 0);
    assert_eq!(code(&[&tracked]), 1);
    assert_eq!(code(&[&clean, &tracked]), 1);
    assert_eq!(code(&[&dir.path().join("missing.eml")]), 2);
    assert_eq!(
        code(&[&tracked, &dir.path().join("missing.eml")]),
        2,
        "errors win over findings"
    );
    let usage = pixscan()
        .args(["eml", "--format", "yaml", "x"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn reads_stdin_single_message_and_mbox() {
    let msg = "From: a@shop.example\nTo: jane.doe@example.org\nSubject: s\nContent-Type: text/html\n\n<img src=\"https://t.example/o.gif?e=jane.doe%40example.org\" width=1 height=1>\n";
    let run = |input: String| {
        let mut child = pixscan()
            .args(["eml", "--format", "json", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let one = run(msg.to_string());
    assert_eq!(docs(&one)[0]["source"], "<stdin>");
    let id = &docs(&one)[0]["findings"][0]["leaks"]["identifiers"][0];
    assert_eq!(
        (
            id["kind"].as_str(),
            id["encoding"].as_str(),
            id["where"].as_str()
        ),
        (Some("recipient-email"), Some("url"), Some("query:e"))
    );
    let mbox = run(format!(
        "From x Mon Jan  1 00:00:00 2026\n{msg}\nFrom y Mon Jan  1 00:00:00 2026\n{msg}"
    ));
    let sources: Vec<&str> = docs(&mbox)
        .iter()
        .map(|d| d["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["<stdin>#1", "<stdin>#2"]);
}

/// The privacy invariant: scanning mail opens no network connection, even when every pixel
/// points at a server that is listening.
#[test]
fn eml_makes_no_network_connections() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let html = format!(
        "<img src=\"http://127.0.0.1:{port}/o.gif?u=1\" width=1 height=1><link rel=stylesheet href=\"http://127.0.0.1:{port}/s.css\"><link rel=dns-prefetch href=\"//127.0.0.1:{port}\"><style>@import url(http://127.0.0.1:{port}/i.css);</style><a href=\"http://127.0.0.1:{port}/c\">x</a>"
    );
    let eml = write_eml(dir.path(), "local.eml", &html);
    let out = pixscan()
        .args(["eml", "--format", "json"])
        .arg(&eml)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the pixel is found");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        listener.accept().is_err(),
        "pixscan eml connected to the pixel's server"
    );

    // And no socket is connected at all: trace the process's connect calls.
    let strace = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o"])
        .arg(dir.path().join("trace"))
        .arg(env!("CARGO_BIN_EXE_pixscan"))
        .args(["eml", "--format", "json"])
        .arg(&eml)
        .output()
        .expect("strace is needed for this test (.ci/run installs it)");
    assert_eq!(
        strace.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&strace.stderr)
    );
    let mut trace = String::new();
    std::fs::File::open(dir.path().join("trace"))
        .unwrap()
        .read_to_string(&mut trace)
        .unwrap();
    let calls: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("connect(") || l.contains("sendto(") || l.contains("sendmsg("))
        .collect();
    assert!(
        calls.is_empty(),
        "network system calls while scanning mail:\n{}",
        calls.join("\n")
    );
}

#[test]
fn hostile_text_never_reaches_the_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.eml");
    std::fs::write(
        &p,
        "From: x@evil.example\r\nTo: jane.doe@example.org\r\nSubject: =?utf-8?q?hi=1B]0;pwned=07=1B[2J?=\r\nContent-Type: text/html\r\n\r\n<img src=\"https://t.evil.example/o.gif?e=jane.doe%40example.org&x=%1B%5B31mred\u{1b}[2J\" width=1 height=1>\r\n",
    )
    .unwrap();
    let out: Output = pixscan()
        .args(["eml", "--verbose"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code() == Some(1), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "raw control characters in output: {text:?}"
    );
}

#[test]
fn rules_commands() {
    let out = pixscan().args(["rules", "explain", "https://ci3.googleusercontent.com/meips/ADKq#https://u1.ct.sendgrid.net/wf/open?upn=abcdefghijklmnop1234"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unwrapped from Gmail image proxy"), "{text}");
    assert!(text.contains("sendgrid-open"), "{text}");
    let none = pixscan()
        .args(["rules", "explain", "https://www.example.com/about"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&none.stdout).contains("no endpoint rule matches"));

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mine.toml");
    std::fs::write(&good, "[[entity]]\nname = \"Acme Mail\"\ncategory = \"email-marketing\"\ndomains = [\"acmemail.example\"]\n\n[[endpoint]]\nid = \"acme-open\"\nentity = \"Acme Mail\"\nkind = \"open-pixel\"\nhosts = [\"*.acmemail.example\"]\npath = \"^/px$\"\n").unwrap();
    let ok = pixscan()
        .args(["rules", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[entity]]\nname = \"X\"\n\n[[endpoint]]\nid = \"x-open\"\nentity = \"X\"\nkind = \"open-pixel\"\npaht = \"^/o\"\n").unwrap();
    let err = pixscan()
        .args(["rules", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&err.stderr);
    assert!(msg.contains("bad.toml:8: unknown field `paht`"), "{msg}");

    // A user's rule attributes a pixel the built-in rules don't know.
    let eml = write_eml(
        dir.path(),
        "acme.eml",
        "<img src=\"https://t.acmemail.example/px?id=42\" alt=\"\">",
    );
    let out = pixscan()
        .args(["eml", "--format", "json", "--rules"])
        .arg(&good)
        .arg(&eml)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &docs(&json)[0]["findings"][0];
    assert_eq!(
        (f["entity"].as_str(), f["rule"].as_str(), f["kind"].as_str()),
        (Some("Acme Mail"), Some("acme-open"), Some("open-pixel"))
    );
}

/// Output that scales: plain remote requests are listed compactly (`plain_requests`), so
/// the JSON of a message with 75 plain links and images is smaller than the message, and
/// every request is still accounted for; `--verbose` writes them as full findings.
#[test]
fn plain_requests_are_compact() {
    let dir = tempfile::tempdir().unwrap();
    let mut html = String::from("<html><body>");
    for i in 0..40 {
        html.push_str(&format!(
            r#"<p><a href="https://www.shop.example/products/{i}/spring-linen-jacket">Jacket {i}</a></p>"#
        ));
    }
    for i in 0..35 {
        html.push_str(&format!(
            r#"<img src="https://cdn.shop.example/images/2026/spring/{i}.jpg" width="600" height="300" alt="product {i}">"#
        ));
    }
    html.push_str("</body></html>");
    let path = write_eml(dir.path(), "plain.eml", &html);
    let message = std::fs::metadata(&path).unwrap().len();
    let out = pixscan()
        .args(["eml", "--format", "json", "--no-config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = &docs(&json)[0];
    let rendered = serde_json::to_string(doc).unwrap().len() as u64;
    assert!(
        rendered < message,
        "the document's JSON ({rendered} bytes) is bigger than the message ({message})"
    );
    let plain = doc["plain_requests"].as_array().unwrap();
    assert_eq!(plain.len(), 35, "{doc}");
    assert_eq!(plain[0]["kind"], "remote-image");
    assert_eq!(
        plain[0]["url"],
        "https://cdn.shop.example/images/2026/spring/0.jpg"
    );
    assert_eq!(doc["untracked_links"], 40);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
    assert_eq!(json["summary"]["findings"], 35);

    let out = pixscan()
        .args(["eml", "--format", "json", "--no-config", "--verbose"])
        .arg(&path)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = &docs(&json)[0];
    assert_eq!(doc["findings"].as_array().unwrap().len(), 35);
    assert!(doc.get("plain_requests").is_none());
}
