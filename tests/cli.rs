//! Command-line habits end to end: input selection (--include/--exclude), report filters
//! (--kind/--entity/--category), sizes for people, colour through anstream.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pixscan"));
    c.current_dir(dir);
    c.env_remove("GITHUB_ACTIONS");
    c.env_remove("NO_COLOR");
    c.env_remove("CLICOLOR");
    c.env_remove("CLICOLOR_FORCE");
    c
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
