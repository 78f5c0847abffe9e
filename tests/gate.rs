//! The CI gate end to end: policy files, exit codes, baselines.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pixscan"));
    c.current_dir(dir);
    c.env_remove("GITHUB_ACTIONS");
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
        "<img src=\"https://img.adnet.example/banner.png\" width=600 height=200>",
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
