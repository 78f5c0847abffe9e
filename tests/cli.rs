//! Command-line habits end to end: input selection (--include/--exclude), report filters
//! (--kind/--entity/--category), sizes for people, colour through anstream.

mod support;

use support::{sources, text};

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bin(dir: &Path) -> Command {
    let mut c = support::pixscan();
    c.current_dir(dir);
    c
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", text(out)))
}

fn eml(dir: &Path, name: &str, html: &str) {
    std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
    std::fs::write(
        dir.join(name),
        format!("From: News <news@shop.example>\r\nTo: jane.doe@example.org\r\nSubject: Weekly\r\nContent-Type: text/html\r\n\r\n{html}\r\n"),
    )
    .unwrap();
}

const SENDGRID: &str = "<img src=\"https://u1.ct.sendgrid.net/wf/open?upn=u001.Xk9aTq7PzLw3Rb5Vn2Mc8Hd\" width=1 height=1>";

fn fixture(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(p)
}

// ---- --include / --exclude ----------------------------------------------------------------

#[test]
fn eml_include_exclude_choose_among_files_found_in_folders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eml(d, "mail/inbox/a.eml", SENDGRID);
    eml(d, "mail/inbox/b.eml", "<p>clean</p>");
    eml(d, "mail/Spam/cur/1.eml", SENDGRID);
    eml(d, "mail/Spam/cur/2.eml", SENDGRID);
    eml(d, "mail/archive/2023/old.eml", SENDGRID);
    std::fs::write(d.join("mail/inbox/labels.json"), "{}").unwrap();
    eml(d, "loose.eml", SENDGRID);

    // Without globs: everything (the JSON file is a skipped non-mail file).
    let out = bin(d)
        .args(["eml", "--format", "json", "mail"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["summary"]["inputs"], 5, "{}", text(&out));
    assert_eq!(v["summary"]["excluded"], 0);

    // A name excludes a folder at any depth; a path glob is relative to the folder given;
    // the report's own path form works too.
    let out = bin(d)
        .args([
            "eml",
            "--format",
            "json",
            "--exclude",
            "Spam",
            "--exclude",
            "*.json",
            "--exclude",
            "mail/archive/**",
            "mail",
            "loose.eml",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        sources(&v),
        vec!["mail/inbox/a.eml", "mail/inbox/b.eml", "loose.eml"],
        "{}",
        text(&out)
    );
    assert_eq!(v["summary"]["excluded"], 4);
    assert_eq!(v["summary"]["inputs"], 3);
    assert!(v["summary"]["skipped"].as_array().unwrap().is_empty());

    // --include: only matching files found in folders; a file named on the command line is
    // always scanned, even when a glob would leave it out.
    let out = bin(d)
        .args([
            "eml",
            "--format",
            "json",
            "--include",
            "inbox/*",
            "--exclude",
            "loose.eml",
            "mail",
            "loose.eml",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        sources(&v),
        vec!["mail/inbox/a.eml", "mail/inbox/b.eml", "loose.eml"]
    );
    assert_eq!(v["summary"]["excluded"], 3);

    // The human summary says it; leaving everything out is an error that says why.
    let out = bin(d)
        .args(["eml", "--exclude", "Spam", "mail"])
        .output()
        .unwrap();
    assert!(
        text(&out).contains("tracking finding(s); 2 excluded by --include/--exclude."),
        "{}",
        text(&out)
    );
    let out = bin(d)
        .args(["eml", "--include", "*.nothing", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .contains("no messages found in the given paths (6 left out by --include/--exclude)"),
        "{}",
        text(&out)
    );
    // A bad glob is a usage error naming it.
    let out = bin(d)
        .args(["eml", "--exclude", "a[b", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--exclude \"a[b\""), "{}", text(&out));
}

#[test]
#[cfg(unix)]
fn an_excluded_folder_is_not_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eml(d, "mail/a.eml", "<p>clean</p>");
    eml(d, "mail/.Trash/cur/b.eml", SENDGRID);
    eml(d, "mail/locked/c.eml", SENDGRID);
    let locked = d.join("mail/locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let really_locked = std::fs::read_dir(&locked).is_err();
    let out = bin(d)
        .args([
            "eml",
            "--format",
            "json",
            "--exclude",
            "locked",
            "--exclude",
            ".Trash",
            "mail",
        ])
        .output()
        .unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let v = json(&out);
    // The unreadable folder was left out, so it is no failed input; the Maildir++ folder
    // is not listed as a scanned mailbox.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(v["summary"]["failed"], 0);
    assert_eq!(sources(&v), vec!["mail/a.eml"]);
    assert!(v["summary"].get("mailboxes").is_none(), "{}", v["summary"]);
    // A locked folder's files cannot be counted; a readable one's are.
    let want = if really_locked { 1 } else { 2 };
    assert_eq!(v["summary"]["excluded"], want);
}

#[test]
fn site_folder_globs_match_paths_relative_to_the_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = bin(root)
        .args([
            "site",
            "--format",
            "json",
            "--base-url",
            "https://www.example.com/",
            "--exclude",
            "blog/**",
            "--exclude",
            "404.html",
            "fixtures/site-build",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    let src = sources(&v);
    assert!(!src.is_empty());
    assert!(
        src.iter()
            .all(|s| !s.contains("/blog/") && !s.ends_with("404.html")),
        "{src:?}"
    );
    assert_eq!(
        v["summary"]["excluded"], 4,
        "blog/index.html, two posts, 404.html"
    );
    // --include: only the blog; a file named directly is always scanned.
    let out = bin(root)
        .args([
            "site",
            "--format",
            "json",
            "--include",
            "blog/*/index.html",
            "fixtures/site-build",
            "fixtures/site-build/about/index.html",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        sources(&v),
        vec![
            "fixtures/site-build/blog/post-1/index.html",
            "fixtures/site-build/blog/post-2/index.html",
            "fixtures/site-build/about/index.html",
        ]
    );
}

#[test]
fn a_crawl_never_fetches_excluded_urls_and_counts_them() {
    let server = support::start(&fixture("site"), HashMap::new());
    let d = tempfile::tempdir().unwrap();
    let crawl = |extra: &[&str]| {
        let out = bin(d.path())
            .args([
                "site",
                "--format",
                "json",
                "--timeout",
                "1s",
                "--max-body",
                "2MB",
            ])
            .args(["--max-pages", "200"])
            .args(extra)
            .arg(format!("{}/", server.base))
            .output()
            .unwrap();
        json(&out)
    };
    let before = server.targets().len();
    let v = crawl(&[
        "--exclude",
        "/shop/*",
        "--exclude",
        "/api/*",
        "--exclude",
        "*.pdf",
    ]);
    let requests: Vec<String> = server.targets()[before..].to_vec();
    assert!(
        requests
            .iter()
            .all(|r| !r.starts_with("/shop/") && !r.starts_with("/api/") && !r.ends_with(".pdf")),
        "excluded URLs were fetched: {requests:?}"
    );
    assert!(requests.iter().any(|r| r == "/old-shop"), "{requests:?}");
    let excluded = v["summary"]["excluded"].as_u64().unwrap();
    // /shop/ and three product pages, /api/stock-status, the PDF.
    assert!(excluded >= 6, "{}", v["summary"]);
    // Neither documents (so no failures: /api/stock-status answers 500) nor skipped entries.
    for s in sources(&v) {
        assert!(!s.contains("/shop/") && !s.contains("/api/"), "{s}");
    }
    for sk in v["summary"]["skipped"].as_array().unwrap() {
        let url = sk["url"].as_str().unwrap();
        assert!(!url.contains("/shop/") && !url.contains("/api/"), "{sk}");
    }
    // /old-shop redirects to /shop/: the redirect is not followed.
    let old = v["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["url"].as_str().unwrap().ends_with("/old-shop"))
        .expect("the redirecting page is accounted for");
    assert!(
        old["reason"]
            .as_str()
            .unwrap()
            .contains("--include/--exclude"),
        "{old}"
    );

    // --include: the start URL is always fetched; then only matching pages.
    let before = server.targets().len();
    let v = crawl(&["--include", "/journal/*"]);
    let requests: Vec<String> = server.targets()[before..].to_vec();
    let pages: Vec<&String> = requests
        .iter()
        .filter(|r| !matches!(r.as_str(), "/" | "/robots.txt" | "/sitemap.xml"))
        .collect();
    assert!(!pages.is_empty());
    assert!(
        pages.iter().all(|r| r.starts_with("/journal/")),
        "{pages:?}"
    );
    let src = sources(&v);
    assert_eq!(src[0], format!("{}/", server.base));
    assert!(src[1..].iter().all(|s| s.contains("/journal/")), "{src:?}");
    assert!(v["summary"]["excluded"].as_u64().unwrap() > 10);
}

// ---- report filters -------------------------------------------------------------------------

const MAILGUN: &str = "fixtures/mail/mailgun-order-shipped.eml";
const MAILTRACK: &str = "fixtures/mail/mailtrack-sales-followup.eml";
const CLEAN: &str = "fixtures/mail/clean-plain-text.eml";

fn findings(doc: &Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["entity"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[test]
fn report_filters_narrow_the_report_never_the_verdict() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |filters: &[&str]| {
        let out = bin(root)
            .args(["eml", "--format", "json"])
            .args(filters)
            .args([MAILGUN, MAILTRACK, CLEAN])
            .output()
            .unwrap();
        // Four violations (three Mailgun, one Mailtrack) fail the run whatever is shown.
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let v = json(&out);
        assert_eq!(v["summary"]["policy"]["violations"], 4, "{}", v["summary"]);
        assert_eq!(v["summary"]["tracking_findings"], 4);
        assert_eq!(v["summary"]["with_tracking"], 2);
        v
    };
    // No filter: every document, no `filtered` key, no `hidden_findings`.
    let v = run(&[]);
    assert_eq!(sources(&v).len(), 3);
    assert!(v["summary"].get("filtered").is_none());
    assert!(v["documents"][0].get("hidden_findings").is_none());

    // --kind: two open pixels shown; the clean message has nothing to show.
    let v = run(&["--kind", "open-pixel"]);
    assert_eq!(sources(&v), vec![MAILGUN, MAILTRACK]);
    assert_eq!(
        findings(&v["documents"][0]),
        vec![("open-pixel".to_string(), "Mailgun".to_string())]
    );
    assert_eq!(v["documents"][0]["hidden_findings"], 3);
    assert!(v["documents"][1].get("hidden_findings").is_none());
    let f = &v["summary"]["filtered"];
    assert_eq!(f["kinds"], serde_json::json!(["open-pixel"]));
    assert_eq!(f["shown"], 2);
    assert_eq!(f["hidden"], 3);
    assert_eq!(f["hidden_violations"], 2);
    assert_eq!(f["hidden_documents"], 1);

    // --entity (any case; the ruleset's spelling is reported).
    let v = run(&["--entity", "mailtrack"]);
    assert_eq!(sources(&v), vec![MAILTRACK]);
    assert_eq!(
        v["summary"]["filtered"]["entities"],
        serde_json::json!(["Mailtrack"])
    );
    assert_eq!(v["summary"]["filtered"]["hidden_violations"], 3);

    // --category; repeated values are alternatives, different options must all match.
    let v = run(&["--category", "email-marketing"]);
    assert_eq!(sources(&v), vec![MAILGUN]);
    assert_eq!(findings(&v["documents"][0]).len(), 3);
    let v = run(&[
        "--category",
        "email-marketing",
        "--category",
        "sales-tracking",
    ]);
    assert_eq!(sources(&v), vec![MAILGUN, MAILTRACK]);
    let v = run(&["--category", "email-marketing", "--kind", "tracked-link"]);
    assert_eq!(
        findings(&v["documents"][0]),
        vec![
            ("tracked-link".to_string(), "Mailgun".to_string()),
            ("tracked-link".to_string(), "Mailgun".to_string())
        ]
    );
    assert_eq!(v["summary"]["filtered"]["hidden_documents"], 2);
}

#[test]
fn report_filters_in_human_output_and_the_gate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Only the untracked image of the Mailgun message: the report says tracking was hidden,
    // never "no tracking found", and lists the shown request without --verbose.
    let out = bin(root)
        .args(["eml", "--kind", "remote-image", MAILGUN])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!t.contains("no tracking found"), "{t}");
    assert!(t.contains("no tracking among the findings shown"), "{t}");
    assert!(t.contains("request  remote-image"), "{t}");
    assert!(
        t.contains("3 more finding(s) hidden by the report filters"),
        "{t}"
    );
    assert!(t.contains("Policy FAILED"), "{t}");
    assert!(
        t.contains("Report filters --kind remote-image: 1 finding(s) shown, 3 hidden (3 of them violation(s)), 0 document(s) with nothing to show left out"),
        "{t}"
    );
    // --quiet keeps the filter line; Markdown says it too.
    let out = bin(root)
        .args(["eml", "-q", "--entity", "Mailtrack", MAILGUN, MAILTRACK])
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        t.contains("Report filters --entity Mailtrack: 1 finding(s) shown"),
        "{t}"
    );
    let out = bin(root)
        .args([
            "eml",
            "--format",
            "markdown",
            "--entity",
            "Mailtrack",
            MAILGUN,
            MAILTRACK,
        ])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(md.contains("Report filters --entity Mailtrack"), "{md}");
    assert!(!md.contains("mailgun-order-shipped"), "{md}");

    // A baseline written under a filter records every violation, hidden ones included:
    // the same file as without the filter.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, filters: &[&str]| {
        let path = dir.path().join(name);
        let out = bin(root)
            .arg("eml")
            .args(filters)
            .arg("--write-baseline")
            .arg(&path)
            .arg(MAILGUN)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        std::fs::read_to_string(path).unwrap()
    };
    let all = write("all.json", &[]);
    assert!(
        all.contains("open-pixel") && all.contains("tracked-link"),
        "{all}"
    );
    assert_eq!(write("filtered.json", &["--kind", "remote-image"]), all);
}

#[test]
fn report_filter_values_are_checked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (args, want) in [
        (
            &["--kind", "open-pixle"][..],
            "--kind \"open-pixle\": not a known finding kind",
        ),
        (
            &["--kind", "open-pixle"][..],
            "did you mean \"open-pixel\"?",
        ),
        (&["--entity", "Sendgird"][..], "did you mean \"SendGrid\"?"),
        (
            &["--category", "analytic"][..],
            "did you mean \"analytics\"?",
        ),
    ] {
        let out = bin(root)
            .arg("eml")
            .args(args)
            .arg(MAILGUN)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out).contains(want), "{args:?}: {}", text(&out));
    }
}

#[test]
fn report_filters_on_site_pages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = bin(root)
        .args([
            "site",
            "--format",
            "json",
            "--base-url",
            "https://www.example.com/",
            "--category",
            "analytics",
            "fixtures/site-build",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    let docs = v["documents"].as_array().unwrap();
    assert!(!docs.is_empty());
    for d in docs {
        for f in d["findings"].as_array().unwrap() {
            assert_eq!(f["category"], "analytics", "{f}");
        }
    }
    let f = &v["summary"]["filtered"];
    assert!(
        f["shown"].as_u64().unwrap() > 0 && f["hidden"].as_u64().unwrap() > 0,
        "{f}"
    );
    assert_eq!(
        v["summary"]["findings"].as_u64().unwrap(),
        f["shown"].as_u64().unwrap() + f["hidden"].as_u64().unwrap()
    );
}

// ---- progress -------------------------------------------------------------------------------

#[test]
fn no_progress_line_into_a_pipe() {
    // The line itself is unit-tested (pixscan::progress); here: stderr that is not a
    // terminal gets none of it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = bin(root)
        .args(["eml", "-q", "fixtures/mail"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("msg/s") && !err.contains("files"), "{err}");
    let out = bin(root)
        .args(["site", "-q", "fixtures/site-build"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("pages"), "{err}");
}

// ---- sizes ----------------------------------------------------------------------------------

#[test]
fn sizes_are_read_and_printed_for_people() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eml(d, "big.eml", &"<p>filler</p>".repeat(400));
    // --max-size takes a size, not only a byte count; the error reads in KiB.
    let out = bin(d)
        .args(["eml", "--format", "json", "--max-size", "2KB", "big.eml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = json(&out)["documents"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        err.contains(" bytes (5.")
            && err.contains("KiB) is over the size limit of 2.0 KiB (--max-size)"),
        "{err}"
    );
    // Folder mode: a page over --max-body.
    std::fs::create_dir(d.join("site")).unwrap();
    std::fs::write(d.join("site/index.html"), "<p>x</p>".repeat(1000)).unwrap();
    let out = bin(d)
        .args(["site", "--format", "json", "--max-body", "4KB", "site"])
        .output()
        .unwrap();
    let err = json(&out)["documents"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "file of 7.8 KiB is over the size limit of 4.0 KiB (--max-body)"
    );
    let out = bin(d)
        .args(["site", "--max-body", "4 parsecs", "site"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("bad size"), "{}", text(&out));
}

// ---- colour ---------------------------------------------------------------------------------

#[test]
fn colour_follows_the_ecosystem_variables() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eml(
        d,
        "a.eml",
        "<img src=\"https://u1.ct.sendgrid.net/wf/open?upn=u001.Xk9aTq7PzLw3Rb5Vn2Mc8Hd\" width=1 height=1>",
    );
    let coloured = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = bin(d);
        c.arg("eml");
        c.args(args);
        c.arg("a.eml");
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).contains('\u{1b}')
    };
    // stdout is a pipe here: auto means no colour, unless CLICOLOR_FORCE asks for it.
    assert!(!coloured(&[], &[]));
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], &["--color", "auto"]));
    // NO_COLOR wins over CLICOLOR_FORCE; --color never and always win over both.
    assert!(!coloured(
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        &[]
    ));
    assert!(!coloured(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]));
    assert!(coloured(&[("NO_COLOR", "1")], &["--color", "always"]));
    // A report written to a file is never coloured.
    assert!(!coloured(
        &[("CLICOLOR_FORCE", "1")],
        &["--output", "r.txt"]
    ));
    assert!(!std::fs::read_to_string(d.join("r.txt"))
        .unwrap()
        .contains('\u{1b}'));
}

/// A site scan that cannot start says why in one line and exits 2, before fetching
/// anything: a target that is neither a path nor an http(s) URL, a header or cookie HTTP
/// cannot carry.
#[test]
fn site_setup_errors_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["site", "ftp://files.example/"],
            "pixscan: ftp://files.example/: neither an existing file or folder nor an http(s) URL",
        ),
        (
            &["site", "no-such-folder"],
            "pixscan: no-such-folder: neither an existing file or folder nor an http(s) URL",
        ),
        (
            &["site", "http://127.0.0.1:9/", "--header", "Bad Name: x"],
            "pixscan: bad --header name \"Bad Name\": ",
        ),
        (
            &["site", "http://127.0.0.1:9/", "--cookie", "a=1\nb=2"],
            "pixscan: bad --cookie: ",
        ),
    ];
    for (args, want) in cases {
        let out = bin(dir.path())
            .args(*args)
            .arg("--no-config")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(stderr.starts_with(want), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}
