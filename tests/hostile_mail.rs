//! Hostile mail input through the real binary: malformed MIME, encodings, sizes and nesting
//! meant to crash, hang or exhaust a scanner. Every input is generated into a temporary
//! folder at test time (nothing big is committed). For each: a clear per-message error or a
//! correct report, never a panic; the batch goes on past it (a normal tracked message in the
//! same folder is still reported); the summary accounts for every input; and the worst cases
//! finish within generous time and memory rails (safety rails, not benchmarks).

mod support;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::pixscan;

/// Safety rails for the worst cases (debug build, 2 shared cores).
const MAX_WALL: Duration = Duration::from_secs(60);
const MAX_RSS_KB: u64 = 1536 * 1024;

/// The tracked message every batch carries: a Mailgun pixel with the recipient inside.
const NORMAL: &str = "fixtures/mail/mailgun-order-shipped.eml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One run of the binary: exit code, output, wall time and peak resident memory.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    wall: Duration,
    /// VmHWM of the process, polled from /proc while it runs (kB).
    peak_rss_kb: u64,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); stderr: {}; stdout starts: {}",
                self.stderr,
                String::from_utf8_lossy(&self.stdout[..self.stdout.len().min(500)])
            )
        })
    }

    fn assert_sane(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "pixscan panicked: {}",
            self.stderr
        );
        assert!(
            matches!(self.code, 0..=2),
            "exit code {}: {}",
            self.code,
            self.stderr
        );
    }

    fn assert_within_rails(&self, what: &str) {
        assert!(
            self.wall < MAX_WALL,
            "{what}: took {:?} (rail {MAX_WALL:?})",
            self.wall
        );
        assert!(
            self.peak_rss_kb < MAX_RSS_KB,
            "{what}: peak RSS {} MB (rail {} MB)",
            self.peak_rss_kb / 1024,
            MAX_RSS_KB / 1024
        );
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `pixscan ARGS` with stdout and stderr going to files (no pipe can fill up), polling
/// the peak RSS until it exits. A run over five minutes is killed and fails the test.
fn run(args: &[&str]) -> Run {
    let out_dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let start = Instant::now();
    let mut child = pixscan()
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("run pixscan");
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pixscan {args:?} still running after 5 minutes: killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = start.elapsed();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned(),
        wall,
        peak_rss_kb: peak,
    }
}

fn eml_json(paths: &[&Path], extra: &[&str]) -> Run {
    let mut args = vec!["eml", "--format", "json", "--no-progress"];
    args.extend_from_slice(extra);
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let r = run(&args);
    r.assert_sane();
    r
}

fn docs(v: &Value) -> &Vec<Value> {
    v["documents"].as_array().expect("documents")
}

fn doc<'a>(v: &'a Value, name: &str) -> &'a Value {
    docs(v)
        .iter()
        .find(|d| {
            let s = d["source"].as_str().unwrap();
            s.ends_with(&format!("/{name}")) || s == name
        })
        .unwrap_or_else(|| panic!("no document for {name} in {v}"))
}

fn err_of(d: &Value) -> Option<&str> {
    d["error"].as_str()
}

fn findings(d: &Value) -> &Vec<Value> {
    d["findings"].as_array().expect("findings")
}

fn has_url(d: &Value, needle: &str) -> bool {
    findings(d)
        .iter()
        .any(|f| f["url"].as_str().unwrap().contains(needle))
}

/// The summary accounts for every input: inputs = scanned + failed = documents, and the
/// failures are exactly the documents with an error; the exit code is 2 exactly when one
/// failed.
fn assert_accounted(r: &Run, v: &Value) {
    let s = &v["summary"];
    let n = docs(v).len() as u64;
    let failed = docs(v).iter().filter(|d| !d["error"].is_null()).count() as u64;
    assert_eq!(s["inputs"].as_u64(), Some(n), "summary.inputs: {s}");
    assert_eq!(
        s["scanned"].as_u64().unwrap() + s["failed"].as_u64().unwrap(),
        n,
        "inputs = scanned + failed: {s}"
    );
    assert_eq!(s["failed"].as_u64(), Some(failed), "{s}");
    // Plain requests are listed compactly beside the findings; the summary counts both.
    let total: u64 = docs(v)
        .iter()
        .map(|d| {
            findings(d).len() as u64 + d["plain_requests"].as_array().map_or(0, |p| p.len() as u64)
        })
        .sum();
    assert_eq!(s["findings"].as_u64(), Some(total), "summary.findings: {s}");
    for d in docs(v) {
        if let Some(e) = err_of(d) {
            assert!(
                !e.trim().is_empty() && !e.contains('\n') && findings(d).is_empty(),
                "a per-message error is one clear line with no findings: {d}"
            );
        }
    }
    assert_eq!(
        r.code == 2,
        failed > 0,
        "exit code {} with {failed} failed input(s); stderr: {}",
        r.code,
        r.stderr
    );
}

/// The normal message in the batch is still reported, with its pixel and the recipient.
fn assert_normal_reported(v: &Value, name: &str) {
    let d = doc(v, name);
    assert!(err_of(d).is_none(), "{d}");
    let pixel = findings(d)
        .iter()
        .find(|f| f["kind"] == "open-pixel" && f["entity"] == "Mailgun")
        .unwrap_or_else(|| panic!("the normal message lost its pixel: {d}"));
    assert!(pixel["leaks"]["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "recipient-email"));
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

const HEAD: &str = "From: News <news@brand.example>\r\nTo: jane.doe@example.org\r\nSubject: hostile\r\nDate: Mon, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@brand.example>\r\nMIME-Version: 1.0\r\n";

fn pixel(tag: &str) -> String {
    format!("<img src=\"https://px.tracker.example/o/{tag}.gif?e=jane.doe%40example.org\" width=\"1\" height=\"1\">")
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Each hostile message, with what a correct result is.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
}

enum Expect {
    /// Scanned, and the pixel with this tag is found.
    Pixel(&'static str),
    /// Scanned (whatever it finds).
    Scanned,
    /// Scanned or a clear error: both are acceptable for this input.
    Either,
    /// A per-message error whose reason contains this text.
    Error(&'static str),
}

fn multipart(boundary: &str, parts: &[String], close: bool) -> String {
    let mut s = String::new();
    for p in parts {
        s.push_str(&format!("--{boundary}\r\n{p}\r\n"));
    }
    if close {
        s.push_str(&format!("--{boundary}--\r\n"));
    }
    s
}

fn html_part(body: &str) -> String {
    format!("Content-Type: text/html; charset=utf-8\r\n\r\n{body}")
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut add = |name: &'static str, bytes: Vec<u8>, expect: Expect| {
        v.push(Case {
            name,
            bytes,
            expect,
        })
    };

    // Truncated MIME: cut inside the second part, no closing boundary.
    let full = format!(
        "{HEAD}Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n{}",
        multipart(
            "b1",
            &[
                "Content-Type: text/plain\r\n\r\nhello".to_string(),
                html_part(&format!(
                    "<html><body><p>Hi</p>{}<p>and then a long tail that never ends",
                    pixel("truncated")
                )),
            ],
            true,
        )
    );
    let cut = full.find("a long tail").unwrap() + 6;
    add(
        "truncated-mime.eml",
        full.as_bytes()[..cut].to_vec(),
        Expect::Pixel("truncated"),
    );
    // Truncated in the middle of the headers.
    add(
        "truncated-headers.eml",
        b"From: a@brand.example\r\nTo: jane.doe@example.org\r\nSubject: cut he".to_vec(),
        Expect::Either,
    );
    // Multipart without a boundary parameter.
    add(
        "missing-boundary.eml",
        format!(
            "{HEAD}Content-Type: multipart/mixed\r\n\r\n--b1\r\n{}\r\n--b1--\r\n",
            html_part(&pixel("noboundary"))
        )
        .into_bytes(),
        Expect::Scanned,
    );
    // A boundary declared but never used.
    add(
        "unused-boundary.eml",
        format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=nowhere\r\n\r\n{}\r\n",
            pixel("unused")
        )
        .into_bytes(),
        Expect::Either,
    );
    // A child multipart reusing its parent's boundary; a boundary parameter given twice.
    add(
        "duplicated-boundary.eml",
        format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=dup\r\n\r\n{}",
            multipart(
                "dup",
                &[
                    format!(
                        "Content-Type: multipart/alternative; boundary=dup\r\n\r\n{}",
                        multipart("dup", &[html_part(&pixel("dup-inner"))], true)
                    ),
                    html_part(&pixel("dup-outer")),
                ],
                true
            )
        )
        .into_bytes(),
        Expect::Scanned,
    );
    add(
        "boundary-given-twice.eml",
        format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=one; boundary=two\r\n\r\n{}{}",
            multipart("one", &[html_part(&pixel("twice-one"))], true),
            multipart("two", &[html_part(&pixel("twice-two"))], true)
        )
        .into_bytes(),
        Expect::Scanned,
    );

    // 10,000 nested multiparts, the HTML at the bottom.
    let depth = 10_000;
    let mut deep = String::from(HEAD);
    deep.push_str("Content-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n");
    for i in 1..depth {
        deep.push_str(&format!(
            "--n{}\r\nContent-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n",
            i - 1
        ));
    }
    deep.push_str(&format!(
        "--n{}\r\n{}\r\n",
        depth - 1,
        html_part(&pixel("deep-mime"))
    ));
    for i in (0..depth).rev() {
        deep.push_str(&format!("--n{i}--\r\n"));
    }
    add(
        "nested-10000-multipart.eml",
        deep.into_bytes(),
        Expect::Either,
    );

    // 1,000 nested message/rfc822 (forwarded as attachment, again and again).
    let mut fwd = format!("{}\r\n{}\r\n", HEAD.trim_end(), html_part(&pixel("fwd")));
    for i in 0..1000 {
        fwd = format!(
            "From: f{i}@brand.example\r\nTo: jane.doe@example.org\r\nSubject: Fwd {i}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"f{i}\"\r\n\r\n--f{i}\r\nContent-Type: message/rfc822\r\n\r\n{fwd}\r\n--f{i}--\r\n"
        );
    }
    add("nested-1000-rfc822.eml", fwd.into_bytes(), Expect::Either);

    // Invalid base64 and quoted-printable bodies.
    let mut bad64 = b64(format!("<html>{}</html>", pixel("base64ok")).as_bytes());
    bad64.insert_str(20, "!!@@##\u{0}~~");
    add(
        "invalid-base64.eml",
        format!(
            "{HEAD}Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{bad64}\r\n====\r\n%%%%\r\n"
        )
        .into_bytes(),
        Expect::Scanned,
    );
    add(
        "invalid-quoted-printable.eml",
        format!(
            "{HEAD}Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=ZZ=4=\r\n=GG</p><img src=3D\"https://px.tracker.example/o/qp.gif?e=3Djane.doe%40example.org\" width=3D1 height=3D1>=\r\n=\r\n=="
        )
        .into_bytes(),
        Expect::Pixel("qp"),
    );
    // Unknown charsets, in the body and in an encoded-word subject.
    add(
        "unknown-charset.eml",
        format!(
            "From: a@brand.example\r\nTo: jane.doe@example.org\r\nSubject: =?x-klingon?B?cXBsYQ==?= =?utf-8?Q?=FF=FE?=\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=\"x-klingon-1\"\r\n\r\n<html>{}</html>\r\n",
            pixel("charset")
        )
        .into_bytes(),
        Expect::Pixel("charset"),
    );
    // NUL bytes in the headers and the body.
    let mut nul = format!(
        "From: a@brand.example\r\nTo: jane.doe@example.org\r\nSubject: nul\u{0}here\r\nX-Nul: \u{0}\u{0}\u{0}\r\nContent-Type: text/html\r\n\r\n<p>a\u{0}b</p>{}\u{0}\u{0}",
        pixel("nul")
    )
    .into_bytes();
    nul.extend(std::iter::repeat_n(0u8, 4096));
    add("nul-bytes.eml", nul, Expect::Pixel("nul"));
    // A file of nothing but NUL bytes (named .eml, so it is an input).
    add("all-nul.eml", vec![0u8; 65536], Expect::Error(""));
    // 1 MB header lines: a subject and an unfolded custom header.
    let mb = 1024 * 1024;
    add(
        "huge-header-lines.eml",
        format!(
            "From: a@brand.example\r\nTo: jane.doe@example.org\r\nSubject: {}\r\nX-Long: {}\r\nContent-Type: text/html\r\n\r\n{}\r\n",
            "S".repeat(mb),
            "x=1;".repeat(mb / 4),
            pixel("longheader")
        )
        .into_bytes(),
        Expect::Pixel("longheader"),
    );
    // A header of 1 MB with no colon and no line end.
    let mut headerless = b"From: a@brand.example\r\n".to_vec();
    headerless.extend(std::iter::repeat_n(b'h', mb));
    add("unterminated-header.eml", headerless, Expect::Either);

    // HTML with 100,000 images, every one a distinct URL.
    let mut many = format!("{HEAD}Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>");
    for i in 0..100_000 {
        many.push_str(&format!(
            "<img src=\"https://img{}.cdn.example/p/{i}.png\" width=\"1\" height=\"1\">\r\n",
            i % 50
        ));
    }
    many.push_str("</body></html>\r\n");
    add("100000-images.eml", many.into_bytes(), Expect::Scanned);

    // 100,000 nested <div>s, a pixel at the bottom.
    let deep_html = format!(
        "{HEAD}Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>{}{}{}</body></html>\r\n",
        "<div>".repeat(100_000),
        pixel("deepdiv"),
        "</div>".repeat(100_000)
    );
    add(
        "100000-nested-divs.eml",
        deep_html.into_bytes(),
        Expect::Pixel("deepdiv"),
    );
    // 100,000 unclosed table cells and conditional comments nested in each other.
    let mut tables = format!("{HEAD}Content-Type: text/html\r\n\r\n");
    tables.push_str(&"<table><tr><td><!--[if mso]><v:rect>".repeat(20_000));
    tables.push_str(&pixel("tables"));
    add(
        "20000-nested-tables.eml",
        tables.into_bytes(),
        Expect::Scanned,
    );
    v
}

/// An mbox with broken `From ` lines, and a `From ` line inside a body with no blank line
/// before it. Returns the file and the messages a correct reader sees in it.
fn broken_mbox(dir: &Path) -> PathBuf {
    let text = [
        "garbage before the first separator\n",
        "From \n",
        "From: first@brand.example\nTo: jane.doe@example.org\nSubject: first\nContent-Type: text/html\n\n",
        &pixel("mbox-first"),
        "\nFrom here on, this is body text: no blank line before it.\n",
        &pixel("mbox-first-tail"),
        "\n\n",
        "From weird-line-without-date\n",
        "Subject: second\nFrom: second@brand.example\nContent-Type: text/html\n\n",
        &pixel("mbox-second"),
        "\n>From quoted line\n\n",
        "From \u{0}\u{1}\u{1b}[31m binary junk Mon Jan 1 00:00:00 2026\n",
        "\n",
        "From a@b Mon Jan  1 00:00:00 2026\n",
        "From b@b Mon Jan  1 00:00:00 2026\n",
        "From: third@brand.example\r\nTo: jane.doe@example.org\r\nSubject: third\r\nContent-Type: text/html\r\n\r\n",
        &pixel("mbox-third"),
        "\r\n",
        "From c@b Mon Jan  1 00:00:00 2026",
    ]
    .concat();
    let p = dir.join("broken.mbox");
    std::fs::write(&p, text).unwrap();
    p
}

/// The hostile batch: every case plus the broken mbox, with the normal message first and
/// last in the folder.
fn batch_dir() -> (tempfile::TempDir, Vec<Case>) {
    let dir = tempfile::tempdir().unwrap();
    let normal = std::fs::read(root().join(NORMAL)).unwrap();
    std::fs::write(dir.path().join("000-normal.eml"), &normal).unwrap();
    std::fs::write(dir.path().join("zzz-normal.eml"), &normal).unwrap();
    let cases = cases();
    for c in &cases {
        std::fs::write(dir.path().join(c.name), &c.bytes).unwrap();
    }
    broken_mbox(dir.path());
    (dir, cases)
}

fn check_case(v: &Value, c: &Case) {
    let d = doc(v, c.name);
    let err = err_of(d);
    match &c.expect {
        Expect::Pixel(tag) => {
            assert!(err.is_none(), "{}: not scanned: {d}", c.name);
            assert!(
                has_url(d, &format!("/o/{tag}.gif")),
                "{}: the pixel {tag} was not found: {d}",
                c.name
            );
        }
        Expect::Scanned => assert!(err.is_none(), "{}: not scanned: {d}", c.name),
        Expect::Either => {}
        Expect::Error(want) => {
            let e = err.unwrap_or_else(|| panic!("{}: expected an error: {d}", c.name));
            assert!(e.contains(want), "{}: {e}", c.name);
        }
    }
}

#[test]
fn hostile_batch_is_scanned_to_the_end() {
    let (dir, cases) = batch_dir();
    let r = eml_json(&[dir.path()], &[]);
    r.assert_within_rails("hostile batch");
    let v = r.json();
    assert_accounted(&r, &v);
    assert_normal_reported(&v, "000-normal.eml");
    assert_normal_reported(&v, "zzz-normal.eml");
    for c in &cases {
        check_case(&v, c);
    }
    // A 1 MB subject is shown cut, not whole.
    let title = doc(&v, "huge-header-lines.eml")["title"].as_str().unwrap();
    assert!(title.starts_with("SSS") && title.chars().count() <= 300);
    // The cases, 2 normal messages and the broken mbox's (see `mbox_with_broken_from_lines`).
    assert_eq!(docs(&v).len(), cases.len() + 2 + 6);
    assert_eq!(mbox_messages(&v).len(), 6);

    // The same batch as human output: no panic, no raw control characters from the content,
    // and a summary line that accounts for every input.
    let human = run(&["eml", "--no-progress", dir.path().to_str().unwrap()]);
    human.assert_sane();
    assert_eq!(human.code, r.code);
    let out = String::from_utf8(human.stdout.clone()).expect("human output is UTF-8");
    assert!(
        !out.contains(['\u{0}', '\u{1b}', '\r']),
        "raw control characters in human output"
    );
    let s = &v["summary"];
    let line = format!(
        "{} input(s): {} scanned ({} with tracking, {} clean), {} failed;",
        s["inputs"], s["scanned"], s["with_tracking"], s["clean"], s["failed"]
    );
    assert!(out.contains(&line), "no `{line}` in the human summary");
    eprintln!(
        "hostile batch: {} inputs in {:?}, peak RSS {} MB",
        docs(&v).len(),
        r.wall,
        r.peak_rss_kb / 1024
    );
}

/// Each case alone (with the normal message): the exit code is 2 exactly when the case
/// fails.
#[test]
fn each_hostile_message_alone() {
    let dir = tempfile::tempdir().unwrap();
    let normal = dir.path().join("normal.eml");
    std::fs::copy(root().join(NORMAL), &normal).unwrap();
    for c in cases() {
        let p = dir.path().join(c.name);
        std::fs::write(&p, &c.bytes).unwrap();
        let r = eml_json(&[&p, &normal], &[]);
        let v = r.json();
        assert_accounted(&r, &v);
        check_case(&v, &c);
        assert_normal_reported(&v, "normal.eml");
        r.assert_within_rails(c.name);
        std::fs::remove_file(&p).unwrap();
    }
}

fn mbox_messages(v: &Value) -> Vec<&Value> {
    docs(v)
        .iter()
        .filter(|d| d["source"].as_str().unwrap().contains("broken.mbox#"))
        .collect()
}

#[test]
fn mbox_with_broken_from_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = broken_mbox(dir.path());
    let normal = dir.path().join("normal.eml");
    std::fs::copy(root().join(NORMAL), &normal).unwrap();
    let r = eml_json(&[&mbox, &normal], &[]);
    let v = r.json();
    assert_accounted(&r, &v);
    assert_normal_reported(&v, "normal.eml");
    let msgs = mbox_messages(&v);
    let summary: Vec<String> = msgs
        .iter()
        .map(|d| format!("{} error={} title={}", d["source"], d["error"], d["title"]))
        .collect();
    // 1: "From \n" opens the first message; the body's "From here on" line (no blank line
    //    before it, no date) is body text, so both pixels belong to message 1.
    // 2: "From weird-line-without-date" after a blank line opens message 2.
    // 3: the binary-junk From line opens a message holding only a blank line: an error.
    // 4: "From a@b …" directly followed by another dated From line: empty, an error.
    // 5: the third message (CRLF lines).
    // 6: the last line, a From line with nothing after it: an empty message, an error.
    assert_eq!(msgs.len(), 6, "{summary:#?}");
    let first = msgs[0];
    assert_eq!(first["title"], "first", "{summary:#?}");
    assert!(has_url(first, "/o/mbox-first.gif") && has_url(first, "/o/mbox-first-tail.gif"));
    assert_eq!(msgs[1]["title"], "second");
    assert!(has_url(msgs[1], "/o/mbox-second.gif"));
    for i in [2, 3, 5] {
        assert_eq!(err_of(msgs[i]), Some("empty input"), "{summary:#?}");
    }
    assert_eq!(msgs[4]["title"], "third");
    assert!(has_url(msgs[4], "/o/mbox-third.gif"));
}

/// Writes a message with a `size`-byte base64 attachment, streaming (never in memory).
fn big_attachment(path: &Path, size: u64) {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    write!(
        w,
        "{HEAD}Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\n{}\r\n--big\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        html_part(&pixel("big"))
    )
    .unwrap();
    // 76 base64 characters + CRLF per line.
    let line = format!("{}\r\n", b64(&(0u8..57).collect::<Vec<u8>>()));
    let lines = size / line.len() as u64 + 1;
    for _ in 0..lines {
        w.write_all(line.as_bytes()).unwrap();
    }
    w.write_all(b"--big--\r\n").unwrap();
    w.flush().unwrap();
}

#[test]
fn attachment_of_200_mb() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big-attachment.eml");
    big_attachment(&big, 200 * 1024 * 1024);
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 200 * 1024 * 1024);
    let normal = dir.path().join("normal.eml");
    std::fs::copy(root().join(NORMAL), &normal).unwrap();

    // The default --max-size (100 MiB): a clear per-message error, nothing read.
    let r = eml_json(&[dir.path()], &[]);
    r.assert_within_rails("200 MB attachment, default --max-size");
    let v = r.json();
    assert_accounted(&r, &v);
    assert_normal_reported(&v, "normal.eml");
    let e = err_of(doc(&v, "big-attachment.eml")).expect("over the limit");
    assert!(
        e.contains("size limit") && e.contains("--max-size") && e.contains(&size.to_string()),
        "{e}"
    );
    assert!(
        r.peak_rss_kb < 200 * 1024,
        "an over-limit file must not be read: {} MB",
        r.peak_rss_kb / 1024
    );

    // --max-size 300 MB: scanned in bounded time and memory, the pixel found.
    let r = eml_json(&[dir.path()], &["--max-size", "314572800"]);
    r.assert_within_rails("200 MB attachment, --max-size 300MB");
    let v = r.json();
    assert_accounted(&r, &v);
    assert_normal_reported(&v, "normal.eml");
    let d = doc(&v, "big-attachment.eml");
    assert!(err_of(d).is_none(), "{d}");
    assert!(has_url(d, "/o/big.gif"), "{d}");
    eprintln!(
        "200 MB attachment with --max-size 300MB: {:?}, peak RSS {} MB",
        r.wall,
        r.peak_rss_kb / 1024
    );

    // The same message inside an mbox is held to the same limit, and the mbox goes on.
    let mbox = dir.path().join("big.mbox");
    {
        let mut w = BufWriter::new(File::create(&mbox).unwrap());
        w.write_all(b"From big Mon Jan  1 00:00:00 2026\n").unwrap();
        std::io::copy(&mut File::open(&big).unwrap(), &mut w).unwrap();
        w.write_all(b"\nFrom normal Mon Jan  1 00:00:00 2026\n")
            .unwrap();
        w.write_all(&std::fs::read(root().join(NORMAL)).unwrap())
            .unwrap();
        w.flush().unwrap();
    }
    std::fs::remove_file(&big).unwrap();
    let r = eml_json(&[&mbox], &[]);
    r.assert_within_rails("200 MB message in an mbox");
    let v = r.json();
    assert_accounted(&r, &v);
    assert_eq!(docs(&v).len(), 2);
    assert!(err_of(&docs(&v)[0]).is_some_and(|e| e.contains("size limit")));
    assert_normal_reported(&v, "big.mbox#2");
    assert!(
        r.peak_rss_kb < 300 * 1024,
        "an over-limit mbox message must not be held: {} MB",
        r.peak_rss_kb / 1024
    );
}

/// The worst single cases, measured alone.
#[test]
fn worst_cases_stay_within_rails() {
    let dir = tempfile::tempdir().unwrap();
    for c in cases() {
        if !matches!(
            c.name,
            "100000-images.eml" | "nested-10000-multipart.eml" | "100000-nested-divs.eml"
        ) {
            continue;
        }
        let p = dir.path().join(c.name);
        std::fs::write(&p, &c.bytes).unwrap();
        let r = eml_json(&[&p], &[]);
        r.assert_within_rails(c.name);
        let v = r.json();
        assert_accounted(&r, &v);
        if c.name == "100000-images.eml" {
            // Capped or not, the summary counts exactly what the document lists.
            let d = doc(&v, c.name);
            let n = findings(d).len() as u64;
            assert!(n > 0 && n <= 100_000, "{n}");
            assert_eq!(v["summary"]["findings"].as_u64(), Some(n));
        }
        eprintln!(
            "{}: {:?}, peak RSS {} MB",
            c.name,
            r.wall,
            r.peak_rss_kb / 1024
        );
    }
}
