//! `pixscan rules check`, the one validator of rule files, through the real binary: the
//! built-in rules pass, and each kind of broken rule file fails with exit code 2 and a
//! message naming the file, the line and the problem.

mod support;

use support::pixscan;

/// Runs `pixscan rules check` on `text` written to `mine.toml` (with a CNAME list beside it
/// when given); returns the exit code and stderr.
fn check(text: &str, cname: Option<&str>) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, text).unwrap();
    if let Some(list) = cname {
        std::fs::create_dir_all(dir.path().join("cname")).unwrap();
        std::fs::write(dir.path().join("cname/acme.txt"), list).unwrap();
    }
    let out = pixscan()
        .args(["rules", "check"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&dir.path().display().to_string(), "DIR");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout, stderr)
}

const ENTITY: &str =
    "[[entity]]\nname = \"Acme\"\ncategory = \"email-marketing\"\ndomains = [\"acme.example\"]\n\n";

#[test]
fn the_built_in_rules_pass() {
    let out = pixscan().args(["rules", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in ["entities", "web", "mail", "site", "snippets", "mtb"] {
        assert!(stdout.contains(&format!("rules/{file}.toml: ")), "{stdout}");
    }
    assert!(stdout.ends_with("rules OK (6 files)\n"), "{stdout}");
}

#[test]
fn a_good_file_passes_on_top_of_the_built_in_rules() {
    let (code, stdout, stderr) = check(
        &format!("{ENTITY}[[endpoint]]\nid = \"acme-open\"\nentity = \"Acme\"\nkind = \"open-pixel\"\nhosts = [\"*.acme.example\"]\npath = \"^/px$\"\n"),
        None,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(
            "mine.toml: 1 entities (1 new), 1 endpoint rules, 0 header rules, 0 cname lists"
        ),
        "{stdout}"
    );
    assert!(stdout.ends_with("rules OK (7 files)\n"), "{stdout}");
}

/// Each broken file fails, and its message names the file, the line and the problem.
#[test]
fn each_broken_file_fails_with_file_line_and_problem() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        (
            "a TOML syntax error",
            "[[entity]\nname = \"Acme\"\n",
            None,
            "mine.toml:1: unclosed array table",
        ),
        (
            "an unknown key",
            "[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\ndomains = []\ncolour = \"red\"\n",
            None,
            "mine.toml:5: unknown field `colour`",
        ),
        (
            "an unknown category",
            "[[entity]]\nname = \"Acme\"\ncategory = \"adverts\"\ndomains = []\n",
            None,
            "mine.toml:1: entity `Acme`: unknown category \"adverts\"",
        ),
        (
            "a missing category",
            "\n[[entity]]\nname = \"Acme\"\ndomains = []\n",
            None,
            "mine.toml:2: entity `Acme`: missing required key `category`",
        ),
        (
            "an entity defined twice in one file",
            "[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\ndomains = []\n\n[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\ndomains = []\n",
            None,
            "mine.toml:6: entity `Acme`: defined twice in this file (also on line 1)",
        ),
        (
            "an upper-case domain",
            "[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\ndomains = [\"Acme.example\"]\n",
            None,
            "mine.toml:1: entity `Acme`: `domains`: \"Acme.example\" is not a lower-case hostname",
        ),
        (
            "a rule naming an unknown entity",
            &format!("{ENTITY}[[endpoint]]\nid = \"acme-open\"\nentity = \"Acne\"\nkind = \"open-pixel\"\npath = \"^/px\"\n"),
            None,
            "mine.toml:6: rule `acme-open` names unknown entity `Acne`",
        ),
        (
            "a bad regex",
            &format!("{ENTITY}[[endpoint]]\nid = \"acme-open\"\nentity = \"Acme\"\nkind = \"open-pixel\"\nhosts = [\"t.acme.example\"]\npath = \"^/px(\"\n"),
            None,
            "mine.toml:6: rule `acme-open`: bad path regex",
        ),
        (
            "an unanchored path shape",
            &format!("{ENTITY}[[endpoint]]\nid = \"acme-shape\"\nentity = \"Acme\"\nkind = \"open-pixel\"\npath = \"/px/[0-9]+\"\n"),
            None,
            "mine.toml:6: endpoint `acme-shape`: a path-shape rule (no hosts) must anchor its path with ^",
        ),
        (
            "an id that is not kebab-case",
            &format!("{ENTITY}[[endpoint]]\nid = \"Acme_Open\"\nentity = \"Acme\"\nkind = \"open-pixel\"\npath = \"^/px\"\n"),
            None,
            "mine.toml:6: rule id `Acme_Open` must be kebab-case",
        ),
        (
            "an id a built-in rule already has",
            &format!("{ENTITY}[[header]]\nid = \"sendgrid-open\"\nentity = \"Acme\"\nname = \"X-Acme\"\n"),
            None,
            "mine.toml:6: header `sendgrid-open`: duplicate id (also in rules/mail.toml)",
        ),
        (
            "a signature without an account group",
            &format!("{ENTITY}[[signature]]\nid = \"acme-tag\"\nentity = \"Acme\"\ntag = \"Acme tag\"\nkind = \"tracker-script\"\npattern = \"acme\\\\.init\"\n"),
            None,
            "mine.toml:6: signature `acme-tag`: pattern needs a named group `account`",
        ),
        (
            "a consent platform that can never be detected",
            "[[consent]]\nid = \"acme-cmp\"\nname = \"Acme CMP\"\n",
            None,
            "mine.toml:1: consent `acme-cmp`: has neither `script_hosts` nor `inline`",
        ),
        (
            "a CNAME list with a bad host",
            &format!("{ENTITY}[[cname]]\nentity = \"Acme\"\nfile = \"cname/acme.txt\"\n"),
            Some("# Acme's branded hosts\nt.brand.example\nT.Other.example\n"),
            "DIR/cname/acme.txt:3: not a lower-case hostname: \"T.Other.example\"",
        ),
        (
            "a CNAME list outside the rules folder",
            &format!("{ENTITY}[[cname]]\nentity = \"Acme\"\nfile = \"../acme.txt\"\n"),
            None,
            "mine.toml:6: cname `../acme.txt`: `file` must be a relative path inside the rules folder",
        ),
    ];
    // Each case is a process that loads the whole ruleset: run them side by side.
    let failures: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = cases
            .iter()
            .map(|(what, text, cname, want)| {
                s.spawn(move || {
                    let (code, _, stderr) = check(text, *cname);
                    (code != Some(2) || !stderr.contains(want)).then(|| {
                        format!("{what}: exit {code:?}, want 2 and {want:?} in:\n{stderr}")
                    })
                })
            })
            .collect();
        runs.into_iter().filter_map(|r| r.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_problem_is_listed_not_only_the_first() {
    let (code, _, stderr) = check(
        "[[entity]]\nname = \"Acme\"\ncategory = \"adverts\"\ndomains = []\n\n[[endpoint]]\nid = \"acme-open\"\nentity = \"Acme\"\nkind = \"open-pixel\"\ntarget_param = \"u\"\npath = \"^/o\"\n",
        None,
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("rules check found 2 problem(s):"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mine.toml:1: entity `Acme`: unknown category"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mine.toml:6: endpoint `acme-open`: `target_param` is only meaningful on click-redirect rules"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_is_named() {
    let out = pixscan()
        .args(["rules", "check", "no/such/rules.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no/such/rules.toml: cannot read rule file"),
        "{stderr}"
    );
}
