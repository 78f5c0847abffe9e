//! The CI gate end to end: policy files, exit codes, baselines.

mod support;

use support::text;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::pixscan;

fn bin(dir: &Path) -> Command {
    let mut c = pixscan();
    c.current_dir(dir);
    c
}

fn eml(dir: &Path, name: &str, html: &str) {
    std::fs::write(
        dir.join(name),
        format!("From: News <news@shop.example>\r\nTo: jane.doe@example.org\r\nSubject: Weekly\r\nContent-Type: text/html\r\n\r\n{html}\r\n"),
    )
    .unwrap();
}

const SENDGRID: &str = "<img src=\"https://u1.ct.sendgrid.net/wf/open?upn=u001.Xk9aTq7PzLw3Rb5Vn2Mc8Hd\" width=1 height=1>";

#[test]
fn approvals_denials_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("mail")).unwrap();
    eml(&d.join("mail"), "a.eml", SENDGRID);
    // No policy: the built-in default fails on unapproved tracking.
    let out = bin(d).args(["eml", "mail"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // pixscan.toml in the working directory approves it.
    std::fs::write(d.join("pixscan.toml"), "[[approve]]\nentity = \"SendGrid\"\nsenders = [\"*@shop.example\"]\nreason = \"our ESP\"\n").unwrap();
    let out = bin(d)
        .args(["eml", "--format", "json", "mail"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &json["documents"][0]["findings"][0];
    assert_eq!(f["verdict"]["status"], "approved");
    assert!(f["fingerprint"].as_str().unwrap().len() >= 16);
    assert_eq!(json["summary"]["policy"]["passed"], true);
    // A deny entry wins over the approval.
    std::fs::write(d.join("deny.toml"), "[[approve]]\nentity = \"SendGrid\"\nreason = \"ESP\"\n\n[[deny]]\ndomain = \"*.sendgrid.net\"\nreason = \"no open tracking in transactional mail\"\n").unwrap();
    let out = bin(d)
        .args(["eml", "--config", "deny.toml", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A bad policy file is an error naming file, line and key.
    std::fs::write(d.join("bad.toml"), "fail_on = [\"unapproved-tracking\"]\n\n[[approve]]\nentity = \"SendGrid\"\nreasn = \"typo\"\n").unwrap();
    let out = bin(d)
        .args(["eml", "--config", "bad.toml", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains(":5") && err.contains("reasn"),
        "{err}"
    );
}

#[test]
fn baseline_fails_only_new_findings_and_reports_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("mail")).unwrap();
    eml(&d.join("mail"), "a.eml", SENDGRID);
    let out = bin(d)
        .args(["eml", "--write-baseline", "base.json", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let written = std::fs::read_to_string(d.join("base.json")).unwrap();
    assert!(written.contains("pixscan-baseline/1"));
    // Same mail again: known, passes.
    let out = bin(d)
        .args(["eml", "--baseline", "base.json", "mail"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The token changes from run to run; the fingerprint does not.
    eml(
        &d.join("mail"),
        "a.eml",
        &SENDGRID.replace("Xk9aTq7PzLw3Rb5Vn2Mc8Hd", "Zz1bWq8QyMv4Sc6Wo3Nd9Je"),
    );
    let out = bin(d)
        .args(["eml", "--baseline", "base.json", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // A new tracker fails; the old one, now gone, is reported fixed.
    eml(&d.join("mail"), "a.eml", "<img src=\"https://trk.klaviyomail.com/open/abcdefghijklmnop1234567890\" width=1 height=1>");
    let out = bin(d)
        .args(["eml", "--format", "json", "--baseline", "base.json", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["summary"]["policy"]["fixed"].as_array().unwrap().len(),
        1,
        "{}",
        json["summary"]["policy"]
    );
}

#[test]
fn example_policy_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = bin(root)
        .args([
            "eml",
            "--format",
            "json",
            "--config",
            "pixscan.example.toml",
            "fixtures/mail",
        ])
        .output()
        .unwrap();
    // Exit 2: the fixtures include deliberately broken messages (errors win).
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["policy"]["config"], "pixscan.example.toml");
    let statuses: Vec<&str> = json["documents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["findings"].as_array().unwrap())
        .filter_map(|f| f["verdict"]["status"].as_str())
        .collect();
    assert!(
        statuses.contains(&"violation") && statuses.contains(&"approved"),
        "{statuses:?}"
    );
}

#[test]
fn filter_lists_completions_and_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("mail")).unwrap();
    eml(
        &d.join("mail"),
        "a.eml",
        "<img src=\"https://img.adnet.example/banner.png\" width=600 height=200>\
         <img src=\"https://img.adnet.example/p.gif\">",
    );
    std::fs::write(
        d.join("list.txt"),
        "[Adblock Plus 2.0]\n! Title: test list\n||adnet.example^$image\n",
    )
    .unwrap();
    let out = bin(d)
        .args(["eml", "--format", "json", "mail"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "a plain remote image passes");
    let out = bin(d)
        .args([
            "eml",
            "--format",
            "json",
            "--filter-list",
            "list.txt",
            "mail",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the filter list makes it tracking"
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &json["documents"][0]["findings"][0];
    assert_eq!(f["tracking"], true);
    assert!(
        f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap() == "filter list list.txt: ||adnet.example^$image"),
        "{}",
        f["evidence"]
    );
    assert_eq!(
        json["summary"]["with_tracking"], 1,
        "counted after the filter stage"
    );
    // The list is an attribution tier inside analysis: kind and message agree with the
    // verdict (not "remote-image" / "Remote image…" marked tracking afterwards).
    let kinds: Vec<(&str, &str)> = json["documents"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[0].0, "tracked-image", "a visible banner: {kinds:?}");
    assert!(
        kinds[0].1.starts_with("Tracked image (img.adnet.example)"),
        "{kinds:?}"
    );
    assert_eq!(kinds[1].0, "open-pixel", "a sizeless image: {kinds:?}");
    assert!(kinds[1].1.starts_with("Open-tracking pixel"), "{kinds:?}");

    let bash = bin(d).args(["completions", "bash"]).output().unwrap();
    assert!(String::from_utf8_lossy(&bash.stdout).contains("_pixscan"));
    let man = bin(d).arg("man").output().unwrap();
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.contains(".TH pixscan") && man.contains("Exit codes"),
        "{}",
        &man[..man.len().min(400)]
    );
}

// ---- A gate that never passes by mistake -------------------------------------------------

#[test]
fn maildir_plus_plus_folders_are_scanned_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Dovecot/Courier Maildir++: the inbox's cur/new, and each folder as a hidden sibling.
    for sub in [
        "Maildir/cur",
        "Maildir/new",
        "Maildir/tmp",
        "Maildir/.Archive.2023/cur",
        "Maildir/.Archive.2023/new",
    ] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    eml(&d.join("Maildir/cur"), "1.eml", "<p>inbox</p>");
    eml(&d.join("Maildir/.Archive.2023/cur"), "2.eml", SENDGRID);
    // A hidden folder that is not a mailbox stays skipped.
    std::fs::create_dir_all(d.join("Maildir/.git")).unwrap();
    eml(&d.join("Maildir/.git"), "x.eml", SENDGRID);
    let out = bin(d)
        .args(["eml", "--format", "json", "Maildir"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["inputs"], 2, "{}", text(&out));
    let sources: Vec<&str> = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.iter().any(|s| s.contains(".Archive.2023")),
        "{sources:?}"
    );
    let boxes: Vec<&str> = v["summary"]["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(boxes, vec!["Maildir", "Maildir/.Archive.2023"]);
    assert_eq!(out.status.code(), Some(1), "the archived pixel is tracking");
}

#[test]
#[cfg(unix)]
fn an_unreadable_folder_fails_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("mail/locked")).unwrap();
    eml(&d.join("mail"), "a.eml", "<p>clean</p>");
    eml(&d.join("mail/locked"), "b.eml", SENDGRID);
    std::fs::set_permissions(
        d.join("mail/locked"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    // Root reads anything: the test only means something when the folder really is locked.
    let locked = std::fs::read_dir(d.join("mail/locked")).is_err();
    let out = bin(d)
        .args(["eml", "--format", "json", "mail"])
        .output()
        .unwrap();
    std::fs::set_permissions(
        d.join("mail/locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    if !locked {
        eprintln!("skipped: running as a user who can read a mode-000 folder");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["summary"]["outcome"]["status"], "error");
    let failed = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| !d["error"].is_null())
        .expect("the locked folder is a failed input");
    assert!(failed["source"].as_str().unwrap().ends_with("locked"));
}

#[test]
fn a_failed_run_never_prints_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("empty")).unwrap();
    // No messages at all.
    let out = bin(d).args(["eml", "empty"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(!t.contains("PASSED"), "{t}");
    assert!(t.contains("Policy ERROR"), "{t}");
    // An unreachable start page (nothing listens on port 9 of 127.0.0.1).
    let out = bin(d)
        .args(["site", "--timeout", "2s", "http://127.0.0.1:9/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(!t.contains("PASSED"), "{t}");
    // Markdown and HTML open with the verdict.
    for (format, word) in [("markdown", "ERROR"), ("html", "ERROR")] {
        let out = bin(d)
            .args(["eml", "--format", format, "empty"])
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&out.stdout).to_string();
        let head: String = t.chars().take(4000).collect();
        assert!(head.contains(word), "{format}: {head}");
        assert!(!t.contains("PASSED"), "{format}");
    }
    eml(d, "ok.eml", "<p>nothing remote</p>");
    let out = bin(d)
        .args(["eml", "--format", "markdown", "ok.eml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let md = String::from_utf8_lossy(&out.stdout);
    let second = md.lines().nth(2).unwrap_or("");
    assert!(second.contains("PASSED"), "{md}");
}

#[test]
fn unknown_output_formats_are_rejected_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eml(d, "a.eml", SENDGRID);
    for (arg, hint) in [
        ("xml=r.xml", None),
        ("sarfi=r.sarif", Some("did you mean sarif?")),
    ] {
        let out = bin(d)
            .args(["eml", "--output", arg, "a.eml"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{arg}");
        let t = text(&out);
        assert!(t.contains("unknown format"), "{t}");
        if let Some(h) = hint {
            assert!(t.contains(h), "{t}");
        }
        assert!(!d.join(arg).exists(), "no file named {arg}");
    }
    // A real format still works, and a path holding '=' can be given as a path.
    let out = bin(d)
        .args([
            "eml",
            "--output",
            "sarif=r.sarif",
            "--output",
            "./a=b.txt",
            "a.eml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(d.join("r.sarif").exists() && d.join("a=b.txt").exists());
}

#[test]
fn rules_explain_fails_on_a_non_url() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin(dir.path())
        .args(["rules", "explain", "not a url"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("not an absolute http(s) URL"));
    let out = bin(dir.path())
        .args([
            "rules",
            "explain",
            "https://u1.ct.sendgrid.net/wf/open?upn=x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

// ---- Habits of the ecosystem ---------------------------------------------------------------

#[test]
fn config_is_found_upward_from_the_scanned_path_unless_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("repo/.git")).unwrap();
    std::fs::create_dir_all(d.join("repo/mail/inbox")).unwrap();
    eml(&d.join("repo/mail/inbox"), "a.eml", SENDGRID);
    std::fs::write(
        d.join("repo/pixscan.toml"),
        "[[approve]]\nentity = \"SendGrid\"\nreason = \"our ESP\"\n",
    )
    .unwrap();
    // Run from elsewhere: the policy beside the scanned folder's repository applies.
    let out = bin(d).args(["eml", "repo/mail/inbox"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("pixscan.toml"), "{}", text(&out));
    // --no-config: the built-in default, which fails on the unapproved pixel.
    let out = bin(d)
        .args(["eml", "--no-config", "repo/mail/inbox"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("built-in default"));
}

#[test]
fn quiet_and_colour() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eml(d, "a.eml", SENDGRID);
    let out = bin(d).args(["eml", "-q", "a.eml"]).output().unwrap();
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!t.contains("VIOLATES"), "quiet shows no findings: {t}");
    assert!(
        t.contains("Policy FAILED") && t.contains("1 input(s)"),
        "{t}"
    );
    let out = bin(d)
        .args(["eml", "--color", "always", "a.eml"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\u{1b}["));
    let out = bin(d)
        .env("TERM", "dumb")
        .args(["eml", "--color", "auto", "a.eml"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\u{1b}["));
}

#[test]
fn a_bare_domain_is_an_https_url() {
    let dir = tempfile::tempdir().unwrap();
    // Resolve the name to a closed local port: the point is the URL it became.
    let out = bin(dir.path())
        .args([
            "site",
            "--timeout",
            "2s",
            "--resolve",
            "example.com:443:127.0.0.1",
            "--format",
            "json",
            "example.com",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("https://example.com/"), "{t}");
}

#[test]
fn misspelled_entities_in_the_policy_get_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eml(d, "a.eml", SENDGRID);
    std::fs::write(
        d.join("pixscan.toml"),
        "[[approve]]\nentity = \"SendGird\"\nreason = \"our ESP\"\n",
    )
    .unwrap();
    let out = bin(d).args(["eml", "a.eml"]).output().unwrap();
    let t = text(&out);
    assert!(
        t.contains("entity \"SendGird\" is not a known entity; did you mean \"SendGrid\"?"),
        "{t}"
    );
    assert_eq!(out.status.code(), Some(1), "the typo approves nothing");
}
