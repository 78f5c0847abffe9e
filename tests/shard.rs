//! Many machines: `--shard K/N` runs as separate processes, `pixscan merge` of their
//! `--format ndjson` outputs, compared with one run of the same command (same documents in
//! the same order, same summary, same verdict and exit code), over mail, build folders and a
//! crawl of local servers; the merge's refusals; the ndjson lines against their schema; the
//! GNU parallel recipe when `parallel` is installed.

mod support;

use support::sources;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    support::pixscan()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}); stderr: {}; stdout starts {:?}",
            stderr(o),
            String::from_utf8_lossy(&o.stdout[..o.stdout.len().min(300)])
        )
    })
}

/// Runs `args` as N shards, each its own process, all at once; returns their ndjson files.
/// Every shard must finish with exit code 0 (its share's verdict is the merge's business).
fn shards(args: &[&str], n: u64, dir: &Path) -> Vec<PathBuf> {
    let children: Vec<(PathBuf, std::process::Child)> = (0..n)
        .map(|k| {
            let out = dir.join(format!("shard-{k}-of-{n}.ndjson"));
            let child = bin()
                .args(args)
                .args([
                    "--shard",
                    &format!("{k}/{n}"),
                    "--format",
                    "ndjson",
                    "--output",
                ])
                .arg(&out)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (out, child)
        })
        .collect();
    children
        .into_iter()
        .map(|(out, child)| {
            let o = child.wait_with_output().unwrap();
            assert_eq!(
                o.status.code(),
                Some(0),
                "shard {} failed: {}",
                out.display(),
                stderr(&o)
            );
            out
        })
        .collect()
}

fn merge(files: &[PathBuf], args: &[&str]) -> Output {
    bin().arg("merge").args(args).args(files).output().unwrap()
}

/// The lines of an ndjson file, parsed.
fn lines(path: &Path) -> Vec<Value> {
    BufReader::new(std::fs::File::open(path).unwrap())
        .lines()
        .map(|l| {
            let l = l.unwrap();
            serde_json::from_str(&l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display()))
        })
        .collect()
}

/// One run with `--format json` against the shards merged with `--format json`: the same
/// bytes (documents, order, summary, verdict), and the same exit code.
fn assert_same_as_one_run(one: &[&str], files: &[PathBuf], merge_args: &[&str]) -> Value {
    let single = run(&[one, &["--format", "json"]].concat());
    let merged = merge(files, &[merge_args, &["--format", "json"]].concat());
    let (a, b) = (json(&single), json(&merged));
    assert_eq!(
        sources(&a),
        sources(&b),
        "documents and their order; merge stderr: {}",
        stderr(&merged)
    );
    assert_eq!(a["summary"], b["summary"], "summary");
    assert_eq!(a, b, "the whole report");
    assert_eq!(
        String::from_utf8_lossy(&single.stdout),
        String::from_utf8_lossy(&merged.stdout),
        "byte for byte"
    );
    assert_eq!(
        single.status.code(),
        merged.status.code(),
        "exit code; one run: {}; merge: {}",
        stderr(&single),
        stderr(&merged)
    );
    a
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schema/ndjson-line.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the ndjson line schema compiles")
}

/// Every line is valid against the schema, documents come first and in order, and the
/// summary is last; returns the summary.
fn check_ndjson(path: &Path) -> Value {
    let v = schema();
    let lines = lines(path);
    assert!(!lines.is_empty(), "{}: empty", path.display());
    for (i, line) in lines.iter().enumerate() {
        let errors: Vec<String> = v
            .iter_errors(line)
            .take(5)
            .map(|e| format!("{e} (at {})", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}:{}: {errors:?}",
            path.display(),
            i + 1
        );
        let last = i + 1 == lines.len();
        assert_eq!(
            line["type"],
            if last { "summary" } else { "document" },
            "{}:{}",
            path.display(),
            i + 1
        );
    }
    let orders: Vec<Vec<u64>> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_value(l["order"].clone()).unwrap())
        .collect();
    assert!(
        orders.windows(2).all(|w| w[0] < w[1]),
        "in order: {orders:?}"
    );
    assert_eq!(
        lines.last().unwrap()["inputs"].as_u64(),
        Some(orders.len() as u64),
        "the summary counts every document line"
    );
    lines.last().unwrap().clone()
}

/// What a shard saw: its inputs, skips, exclusions and what it left to the others.
fn seen(summary: &Value) -> u64 {
    summary["inputs"].as_u64().unwrap()
        + summary["skipped"].as_array().unwrap().len() as u64
        + summary["excluded"].as_u64().unwrap()
        + summary["shard"]["left_to_others"].as_u64().unwrap()
}

#[test]
fn eml_shards_merge_to_the_same_report_as_one_run() {
    let dir = tempfile::tempdir().unwrap();
    // The whole fixture folder: .eml files, an mbox (its messages go round the shards), a
    // Maildir, files that are not mail (skipped) and broken ones (errors: exit code 2).
    let args = ["eml", "--no-progress", "fixtures/mail"];
    let files = shards(&args, 3, dir.path());
    let summaries: Vec<Value> = files.iter().map(|f| check_ndjson(f)).collect();
    let one = assert_same_as_one_run(&args, &files, &[]);
    assert_eq!(one["summary"]["outcome"]["status"], "error");
    let total = seen(&summaries[0]);
    for (k, s) in summaries.iter().enumerate() {
        assert_eq!(s["shard"]["index"], k as u64);
        assert_eq!(s["shard"]["count"], 3);
        // What the shards ran, without --shard, --format, --output and --no-progress.
        assert_eq!(s["shard"]["run"], "eml fixtures/mail");
        assert_eq!(
            seen(s),
            total,
            "every shard accounts for every input it saw"
        );
        assert!(s["inputs"].as_u64().unwrap() > 5, "a fair share: {s}");
    }
    let summary = &one["summary"];
    assert_eq!(
        total,
        summary["inputs"].as_u64().unwrap() + summary["skipped"].as_array().unwrap().len() as u64
    );
    // The mbox's five messages are spread over more than one shard.
    let mbox_shards = files
        .iter()
        .filter(|f| {
            lines(f).iter().any(|l| {
                l["source"]
                    .as_str()
                    .is_some_and(|s| s.contains("box.mbox#"))
            })
        })
        .count();
    assert!(mbox_shards > 1, "mbox messages go round the shards");
    // Other formats from the same merge: the same bytes as one run's.
    for format in ["sarif", "human", "markdown", "junit", "ndjson"] {
        let one = run(&[&args[..], &["--format", format, "--color", "never"]].concat());
        let merged = merge(&files, &["--format", format, "--color", "never"]);
        assert_eq!(
            String::from_utf8_lossy(&one.stdout),
            String::from_utf8_lossy(&merged.stdout),
            "--format {format}"
        );
        assert_eq!(one.status.code(), merged.status.code(), "{format}");
    }
    // Shards may be given in any order.
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(json(&merge(&reversed, &["--format", "json"])), one);
}

#[test]
fn include_exclude_counts_are_split_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    // A file glob and a folder glob (the Maildir is pruned, its files counted).
    let args = [
        "eml",
        "fixtures/mail",
        "--exclude",
        "hidden-*",
        "--exclude",
        "maildir",
        "--exclude",
        "*.py",
    ];
    let files = shards(&args, 4, dir.path());
    let summaries: Vec<Value> = files.iter().map(|f| check_ndjson(f)).collect();
    let one = assert_same_as_one_run(&args, &files, &[]);
    let excluded: u64 = summaries
        .iter()
        .map(|s| s["excluded"].as_u64().unwrap())
        .sum();
    assert_eq!(Some(excluded), one["summary"]["excluded"].as_u64());
    assert!(excluded >= 10, "{excluded}");
    let total = seen(&summaries[0]);
    assert!(summaries.iter().all(|s| seen(s) == total));
}

/// A folder of good mail only, judged by a policy file and a baseline.
fn policy_fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let mail = dir.join("mail");
    for sub in ["", "a", "a/b", "z"] {
        std::fs::create_dir_all(mail.join(sub)).unwrap();
    }
    let pick = [
        ("mailgun-order-shipped.eml", ""),
        ("sendgrid-newsletter.eml", "a"),
        ("hubspot-newsletter.eml", "a/b"),
        ("clean-plain-text.eml", "z"),
        ("mailchimp-newsletter.eml", "z"),
        ("klaviyo-back-in-stock.eml", ""),
        ("box.mbox", "a"),
    ];
    for (name, sub) in pick {
        std::fs::copy(
            root().join("fixtures/mail").join(name),
            mail.join(sub).join(name),
        )
        .unwrap();
    }
    let config = dir.join("pixscan.toml");
    std::fs::write(
        &config,
        "fail_on = [\"unapproved-tracking\"]\n\n[[approve]]\nentity = \"Mailgun\"\nreason = \"ours\"\n",
    )
    .unwrap();
    (mail, config)
}

#[test]
fn the_policy_and_the_baseline_are_applied_again_by_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let (mail, config) = policy_fixture(dir.path());
    let (mail, config) = (mail.to_str().unwrap(), config.to_str().unwrap());
    let base_one = dir.path().join("baseline-one.json");
    let base_merged = dir.path().join("baseline-merged.json");

    // Shards judged under no policy at all: the merge's policy decides.
    let files = shards(&["eml", "--no-config", mail], 3, dir.path());
    let one = assert_same_as_one_run(
        &["eml", "--config", config, mail],
        &files,
        &["--config", config],
    );
    assert_eq!(one["summary"]["outcome"]["status"], "failed");
    assert!(one["summary"]["policy"]["approved"].as_u64().unwrap() > 0);

    // --write-baseline: the same file from one run and from the merge.
    let w1 = run(&[
        "eml",
        "--config",
        config,
        "--write-baseline",
        base_one.to_str().unwrap(),
        mail,
    ]);
    let w2 = merge(
        &files,
        &[
            "--config",
            config,
            "--write-baseline",
            base_merged.to_str().unwrap(),
        ],
    );
    assert_eq!((w1.status.code(), w2.status.code()), (Some(1), Some(1)));
    assert_eq!(
        std::fs::read_to_string(&base_one).unwrap(),
        std::fs::read_to_string(&base_merged).unwrap()
    );
    // --baseline: everything known, so both pass (exit 0).
    let one = assert_same_as_one_run(
        &[
            "eml",
            "--config",
            config,
            "--baseline",
            base_one.to_str().unwrap(),
            mail,
        ],
        &files,
        &["--config", config, "--baseline", base_one.to_str().unwrap()],
    );
    assert_eq!(one["summary"]["outcome"]["status"], "passed");
    assert!(one["summary"]["policy"]["baselined"].as_u64().unwrap() > 0);
    // Report filters at the merge: same as at one run.
    assert_same_as_one_run(
        &["eml", "--config", config, "--kind", "open-pixel", mail],
        &files,
        &["--config", config, "--kind", "open-pixel"],
    );
}

#[test]
fn a_shard_with_nothing_to_do_finishes_and_the_merge_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Two inputs, seven shards: most shards' share is empty.
    let args = [
        "eml",
        "fixtures/mail/mailgun-order-shipped.eml",
        "fixtures/mail/clean-plain-text.eml",
    ];
    let files = shards(&args, 7, dir.path());
    let mut empty = 0;
    for f in &files {
        let s = check_ndjson(f);
        assert_eq!(seen(&s), 2);
        if s["inputs"] == 0 {
            empty += 1;
            assert_eq!(
                s["outcome"]["status"], "passed",
                "an empty share is no error: {s}"
            );
        }
    }
    assert!(empty >= 5);
    assert_same_as_one_run(&args, &files, &[]);
}

#[test]
fn k_comes_from_job_completion_index() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("explicit.ndjson");
    let b = dir.path().join("env.ndjson");
    let o = run(&[
        "eml",
        "fixtures/mail",
        "--shard",
        "1/3",
        "--format",
        "ndjson",
        "--output",
        a.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = bin()
        .args([
            "eml",
            "fixtures/mail",
            "--shard",
            "/3",
            "--format",
            "ndjson",
            "--output",
        ])
        .arg(&b)
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn bad_shard_values_are_usage_errors() {
    for (value, env, says) in [
        (
            "3/3",
            None,
            "K must be below N (3 shards are numbered 0 to 2)",
        ),
        ("0/0", None, "N must be at least 1"),
        ("x/3", None, "K must be a whole number"),
        ("1/three", None, "N must be a whole number"),
        ("1", None, "expected K/N"),
        ("/3", None, "JOB_COMPLETION_INDEX is not set"),
        (
            "/3",
            Some("3"),
            "JOB_COMPLETION_INDEX=\"3\": K must be below N",
        ),
        (
            "/3",
            Some("pod-1"),
            "JOB_COMPLETION_INDEX=\"pod-1\": K must be a whole number",
        ),
    ] {
        for command in ["eml", "site"] {
            let mut c = bin();
            c.args([command, "fixtures/mail", "--shard", value]);
            if let Some(e) = env {
                c.env("JOB_COMPLETION_INDEX", e);
            }
            let o = c.output().unwrap();
            assert_eq!(o.status.code(), Some(2), "{command} --shard {value}");
            assert!(
                stderr(&o).contains(says),
                "{command} --shard {value}: {}",
                stderr(&o)
            );
            assert!(o.stdout.is_empty());
        }
    }
}

#[test]
fn build_folder_shards_merge_to_the_same_report_as_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "site",
        "--no-config",
        "fixtures/site/public",
        "fixtures/site-build",
        "fixtures/site-real",
        "--exclude",
        "journal",
    ];
    let files = shards(&args, 3, dir.path());
    let summaries: Vec<Value> = files.iter().map(|f| check_ndjson(f)).collect();
    let one = assert_same_as_one_run(&args, &files, &[]);
    assert!(sources(&one).len() > 40);
    let total = seen(&summaries[0]);
    assert!(summaries.iter().all(|s| seen(s) == total));
    assert!(summaries.iter().all(|s| s["inputs"].as_u64().unwrap() > 5));
}

/// The tests' fixture server (tests/support) for a folder of pages. It serves `root/public`
/// (and `root/routes.toml`: redirects, errors), so a folder without one is linked in as
/// `public` of a folder of its own under `tmp`.
fn serve(dir: &Path, tmp: &Path) -> support::Server {
    if dir.join("public").is_dir() {
        return support::start(dir, HashMap::new());
    }
    let root = tmp.join(format!(
        "served-{}",
        dir.file_name().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(&root).unwrap();
    std::os::unix::fs::symlink(dir, root.join("public")).unwrap();
    support::start(&root, HashMap::new())
}

#[test]
fn crawl_shards_from_a_urls_file_merge_to_the_same_report_as_one_run() {
    let dir = tempfile::tempdir().unwrap();
    // The shop with its routes (redirects, a loop, a 500), a build folder and real pages.
    let servers = [
        serve(&root().join("fixtures/site"), dir.path()),
        serve(&root().join("fixtures/site-build"), dir.path()),
        serve(&root().join("fixtures/site-real"), dir.path()),
    ];
    let [shop, build, real] = servers.each_ref().map(|s| s.base.clone());
    let urls = dir.path().join("urls.txt");
    std::fs::write(
        &urls,
        format!(
            "# start URLs, one crawl each\n\n{shop}/\n  {build}/  \n{real}/loaders.html\n# the shop again, from its journal\n{shop}/journal/\n{real}/markup-ids.html\n"
        ),
    )
    .unwrap();
    let urls = urls.to_str().unwrap().to_string();
    // A positional start URL before the file's.
    let positional = format!("{build}/blog/");
    let args = [
        "site",
        "--no-config",
        "--no-progress",
        "--max-pages",
        "12",
        "--concurrency",
        "2",
        positional.as_str(),
        "--urls-file",
        urls.as_str(),
    ];
    let files = shards(&args, 3, dir.path());
    let summaries: Vec<Value> = files.iter().map(|f| check_ndjson(f)).collect();
    let one = assert_same_as_one_run(&args, &files, &[]);
    let docs = sources(&one);
    assert!(docs.iter().any(|s| s.starts_with(&positional)));
    for base in [&shop, &build, &real] {
        assert!(docs.iter().any(|s| s.starts_with(base.as_str())), "{base}");
    }
    // Six crawls, each in one shard: the crawls a shard ran plus those it left add up.
    let crawls: u64 = summaries
        .iter()
        .map(|s| s["shard"]["left_to_others"].as_u64().unwrap())
        .sum();
    assert_eq!(
        crawls,
        6 * 2,
        "each crawl is left to the others by two shards"
    );
    // Every page of a crawl comes from one shard.
    for f in &files {
        let own: Vec<u64> = lines(f)
            .iter()
            .filter(|l| l["type"] == "document")
            .map(|l| l["order"][0].as_u64().unwrap())
            .collect();
        for other in files.iter().filter(|o| *o != f) {
            assert!(lines(other)
                .iter()
                .filter(|l| l["type"] == "document")
                .all(|l| !own.contains(&l["order"][0].as_u64().unwrap())));
        }
    }
}

#[test]
fn urls_file_errors_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing yet\n\n   \n").unwrap();
    let o = run(&["site", "--urls-file", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no start URL in it"), "{}", stderr(&o));
    let o = run(&["site", "--urls-file", "/nonexistent/urls.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--urls-file /nonexistent/urls.txt: cannot read"));
    let o = run(&["site"]);
    assert_eq!(o.status.code(), Some(2), "no target and no --urls-file");
}

/// Shard outputs to break: three shards of the policy fixture.
fn three_shards(dir: &Path) -> Vec<PathBuf> {
    let (mail, _) = policy_fixture(dir);
    shards(&["eml", "--no-config", mail.to_str().unwrap()], 3, dir)
}

fn merge_error(files: &[PathBuf]) -> String {
    let o = merge(files, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    stderr(&o)
}

#[test]
fn merge_refuses_missing_duplicate_and_mixed_shards() {
    let dir = tempfile::tempdir().unwrap();
    let files = three_shards(dir.path());
    let e = merge_error(&files[..2]);
    assert!(e.contains("shard 2/3 is missing"), "{e}");
    assert!(e.contains("0/3 ("), "names the shards given: {e}");
    let e = merge_error(&files[1..2]);
    assert!(e.contains("shards 0/3, 2/3 are missing"), "{e}");
    let e = merge_error(&[
        files[0].clone(),
        files[1].clone(),
        files[1].clone(),
        files[2].clone(),
    ]);
    assert!(e.contains("shard 1/3 is given twice"), "{e}");

    // Another split of the same run.
    let other = tempfile::tempdir().unwrap();
    let (mail, _) = policy_fixture(other.path());
    let four = shards(
        &["eml", "--no-config", mail.to_str().unwrap()],
        4,
        other.path(),
    );
    let e = merge_error(&[files[0].clone(), files[1].clone(), four[2].clone()]);
    assert!(e.contains("shards of different splits"), "{e}");

    // A shard of the same split of another run: other options, or other inputs.
    let mail = files[0].parent().unwrap().join("mail");
    let mail = mail.to_str().unwrap();
    let clean = "fixtures/mail/clean-plain-text.eml";
    for (other_run, ran) in [
        (
            &["eml", "--no-config", "--exclude", "*.mbox", mail][..],
            format!("eml --exclude '*.mbox' {mail}"),
        ),
        (
            &["eml", "--no-config", mail, clean][..],
            format!("eml {mail} {clean}"),
        ),
    ] {
        let other = tempfile::tempdir().unwrap();
        let third = shards(other_run, 3, other.path());
        let e = merge_error(&[files[0].clone(), files[1].clone(), third[2].clone()]);
        assert!(e.contains("shards of different runs"), "{e}");
        assert!(e.contains(&format!("ran `pixscan eml {mail}`")), "{e}");
        assert!(e.contains(&format!("ran `pixscan {ran}`")), "{e}");
    }

    // A site shard among eml shards.
    let site = shards(
        &["site", "--no-config", "fixtures/site-build"],
        3,
        other.path(),
    );
    let e = merge_error(&[files[0].clone(), files[1].clone(), site[2].clone()]);
    assert!(e.contains("mixed commands"), "{e}");
    assert!(e.contains("pixscan site"), "{e}");

    // A whole run among shards.
    let whole = dir.path().join("whole.ndjson");
    let o = run(&[
        "eml",
        "--no-config",
        "--format",
        "ndjson",
        "--output",
        whole.to_str().unwrap(),
        "fixtures/mail/clean-plain-text.eml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let e = merge_error(&[files[0].clone(), whole.clone()]);
    assert!(e.contains("whole run"), "{e}");
    // …but on its own it renders in any format.
    let o = merge(&[whole], &["--format", "json", "--no-config"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(sources(&json(&o)), ["fixtures/mail/clean-plain-text.eml"]);

    // Shards written with report filters do not hold every finding.
    let filtered = dir.path().join("filtered.ndjson");
    let o = run(&[
        "eml",
        "--no-config",
        "--kind",
        "open-pixel",
        "--shard",
        "0/1",
        "--format",
        "ndjson",
        "--output",
        filtered.to_str().unwrap(),
        "fixtures/mail/mailgun-order-shipped.eml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = merge_error(&[filtered]);
    assert!(e.contains("report filters"), "{e}");

    // --filter-list belongs to the shards.
    let o = merge(&files, &["--filter-list", "x.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("give it to every shard"));
}

#[test]
fn merge_refuses_truncated_and_edited_shards() {
    let dir = tempfile::tempdir().unwrap();
    let files = three_shards(dir.path());
    let text = |f: &PathBuf| std::fs::read_to_string(f).unwrap();
    let broken = |name: &str, content: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        vec![files[0].clone(), p, files[2].clone()]
    };
    let one = text(&files[1]);
    let ls: Vec<&str> = one.lines().collect();
    assert!(ls.len() >= 3, "shard 1 has documents: {one}");

    // The shard stopped before its summary: no summary line.
    let cut = ls[..ls.len() - 1].join("\n") + "\n";
    let e = merge_error(&broken("no-summary.ndjson", cut));
    assert!(
        e.contains("no-summary.ndjson: truncated: no summary line"),
        "{e}"
    );
    assert!(e.contains("did not finish"), "{e}");
    // …or in the middle of a line.
    let mid = one[..one.len() - 40].to_string();
    let e = merge_error(&broken("mid-line.ndjson", mid));
    assert!(e.contains("mid-line.ndjson: truncated"), "{e}");
    // An empty file: the shard never wrote.
    let e = merge_error(&broken("empty.ndjson", String::new()));
    assert!(e.contains("empty.ndjson: empty"), "{e}");
    // A document line taken out: the summary's count gives it away.
    let mut less: Vec<&str> = ls.clone();
    less.remove(0);
    let e = merge_error(&broken("less.ndjson", less.join("\n")));
    assert!(
        e.contains("less.ndjson: ") && e.contains("but its summary counts"),
        "{e}"
    );
    // Documents out of order.
    let mut swapped: Vec<&str> = ls.clone();
    swapped.swap(0, 1);
    let e = merge_error(&broken("swapped.ndjson", swapped.join("\n")));
    assert!(
        e.contains("swapped.ndjson:2: documents out of order"),
        "{e}"
    );
    // A line that is not JSON.
    let mut garbage: Vec<&str> = ls.clone();
    garbage.insert(1, "hello");
    let e = merge_error(&broken("garbage.ndjson", garbage.join("\n")));
    assert!(e.contains("garbage.ndjson:2: not an ndjson line"), "{e}");
    // The same input in two shards: shard 0's documents under shard 1's name.
    let zero = text(&files[0]);
    let mut lines0: Vec<String> = zero.lines().map(str::to_string).collect();
    let mut summary: Value = serde_json::from_str(lines0.last().unwrap()).unwrap();
    summary["shard"]["index"] = 1.into();
    *lines0.last_mut().unwrap() = summary.to_string();
    let twice = broken("twice.ndjson", lines0.join("\n"));
    let e = merge_error(&twice);
    assert!(e.contains("the same input is in two shards"), "{e}");
    // Found part-way through: the report files begun are removed, not left half written.
    let (report, sarif) = (
        dir.path().join("merged.json"),
        dir.path().join("merged.sarif"),
    );
    let o = merge(
        &twice,
        &[
            "--output",
            report.to_str().unwrap(),
            "--output",
            &format!("sarif={}", sarif.display()),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("removed the unfinished report(s)"),
        "{}",
        stderr(&o)
    );
    assert!(!report.exists() && !sarif.exists());
    // A file that does not exist.
    let e = merge_error(&[
        files[0].clone(),
        dir.path().join("nope.ndjson"),
        files[2].clone(),
    ]);
    assert!(e.contains("nope.ndjson: cannot read"), "{e}");
}

#[test]
fn ndjson_documents_carry_json_field_names_and_every_finding() {
    let dir = tempfile::tempdir().unwrap();
    let nd = dir.path().join("run.ndjson");
    let o = run(&[
        "eml",
        "--no-config",
        "--format",
        "ndjson",
        "--output",
        nd.to_str().unwrap(),
        "--output",
        &format!("json={}", dir.path().join("run.json").display()),
        "fixtures/mail",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let summary = check_ndjson(&nd);
    assert!(summary.get("shard").is_none(), "a whole run has no shard");
    let one: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    let docs: Vec<Value> = lines(&nd)
        .into_iter()
        .filter(|l| l["type"] == "document")
        .collect();
    let json_docs = one["documents"].as_array().unwrap();
    assert_eq!(docs.len(), json_docs.len());
    let verbose = json(&run(&[
        "eml",
        "--no-config",
        "--format",
        "json",
        "--verbose",
        "fixtures/mail",
    ]));
    for ((line, compact), full) in docs
        .iter()
        .zip(json_docs)
        .zip(verbose["documents"].as_array().unwrap())
    {
        assert_eq!(line["source"], compact["source"]);
        // The same object as --format json --verbose writes, plus `type` and `order`.
        let mut stripped = line.clone();
        let o = stripped.as_object_mut().unwrap();
        o.remove("type");
        o.remove("order");
        assert_eq!(&stripped, full);
    }
    // The summary line holds the JSON summary's fields.
    for (k, v) in one["summary"].as_object().unwrap() {
        assert_eq!(&summary[k], v, "summary.{k}");
    }
}

/// A fenced block of README.md: the first "```sh" after `heading`, its commands with their
/// line continuations joined.
fn readme_commands(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README: {heading}"));
    let open = at + readme[at..].find("```sh\n").unwrap() + "```sh\n".len();
    let close = open + readme[open..].find("```").unwrap();
    readme[open..close]
        .replace("\\\n", " ")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// PATH with the binary under test first, so a recipe's `pixscan` is this build.
fn path_with_pixscan() -> std::ffi::OsString {
    let dir = Path::new(env!("CARGO_BIN_EXE_pixscan")).parent().unwrap();
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

fn sh(script: &str, dir: &Path) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path_with_pixscan())
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

#[test]
fn the_readme_gnu_parallel_recipe_gives_one_runs_report() {
    if Command::new("parallel").arg("--version").output().is_err() {
        eprintln!("skipped: GNU parallel is not installed (Debian: apt-get install parallel)");
        return;
    }
    let commands = readme_commands("### GNU parallel across ssh hosts");
    assert_eq!(commands.len(), 2, "{commands:?}");
    let [shards_cmd, merge_cmd] = [&commands[0], &commands[1]];
    assert!(
        shards_cmd.starts_with("parallel --sshlogin scan1,scan2,scan3 "),
        "{shards_cmd}"
    );
    assert!(
        merge_cmd.starts_with("pixscan merge shard-*.ndjson"),
        "{merge_cmd}"
    );
    let dir = tempfile::tempdir().unwrap();
    let mail = root().join("fixtures/mail");
    let mail = mail.to_str().unwrap();
    // This machine (`:`) for the three hosts, the fixtures for the archive.
    let local = shards_cmd
        .replace("--sshlogin scan1,scan2,scan3", "--sshlogin :")
        .replace("/srv/mail", mail);
    assert_ne!(&local, shards_cmd);
    let o = sh(&local, dir.path());
    assert_eq!(o.status.code(), Some(0), "{local}: {}", stderr(&o));
    let files: Vec<PathBuf> = (0..8)
        .map(|k| dir.path().join(format!("shard-{k}.ndjson")))
        .collect();
    for f in &files {
        check_ndjson(f);
    }
    let merged = sh(merge_cmd, dir.path());
    // From the same working directory: SARIF writes paths below it relative to it.
    let one = bin()
        .current_dir(dir.path())
        .args(["eml", "--format", "sarif", mail])
        .output()
        .unwrap();
    assert_eq!(
        merged.status.code(),
        one.status.code(),
        "{}",
        stderr(&merged)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pixscan.sarif")).unwrap(),
        String::from_utf8_lossy(&one.stdout),
        "the merge's SARIF is one run's"
    );
    assert!(dir.path().join("pixscan.html").is_file());
    assert_same_as_one_run(&["eml", mail], &files, &[]);
}

/// The items of the YAML block list under `key:` (the first one after `after`), as plain
/// scalars: enough for the manifests in deploy/, which keep their commands that simple.
fn yaml_list(text: &str, after: &str, key: &str) -> Vec<String> {
    let from = text.find(after).unwrap_or_else(|| panic!("{after}"));
    let text = &text[from..];
    let at = text
        .find(&format!("{key}:\n"))
        .unwrap_or_else(|| panic!("{key}:"));
    text[at..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim_start()[2..].trim().to_string())
        .collect()
}

fn yaml_number(text: &str, key: &str) -> u64 {
    let at = text
        .find(&format!("\n  {key}: "))
        .unwrap_or_else(|| panic!("{key}"));
    let rest = &text[at + key.len() + 5..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_kubernetes_jobs_run_locally_give_one_runs_report() {
    let manifest =
        |name: &str| std::fs::read_to_string(root().join("deploy/kubernetes").join(name)).unwrap();
    let (shards_yaml, merge_yaml) = (
        manifest("pixscan-shards.yaml"),
        manifest("pixscan-merge.yaml"),
    );
    assert!(shards_yaml.contains("completionMode: Indexed"));
    let n = yaml_number(&shards_yaml, "completions");
    assert!(yaml_number(&shards_yaml, "parallelism") <= n);
    let args = yaml_list(&shards_yaml, "kind: Job", "args");
    // K from JOB_COMPLETION_INDEX, N the completions.
    let shard_at = args.iter().position(|a| a == "--shard").expect("--shard");
    assert_eq!(
        args[shard_at + 1],
        format!("/{n}"),
        "--shard /N with N = completions"
    );
    assert!(
        args.iter().any(|a| a.contains("$(JOB_COMPLETION_INDEX)")),
        "{args:?}"
    );

    // The pods' volumes: /mail (the fixtures), /out (a folder here). Kubernetes expands
    // $(JOB_COMPLETION_INDEX) in args and sets it in the environment; so does this.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let mail = root().join("fixtures/mail");
    let mail = mail.to_str().unwrap();
    let volumes = |a: &str| {
        a.replace("/mail", mail)
            .replace("/out/", &format!("{out}/"))
    };
    let pods: Vec<std::process::Child> = (0..n)
        .map(|k| {
            let k = k.to_string();
            bin()
                .args(
                    args.iter()
                        .map(|a| volumes(&a.replace("$(JOB_COMPLETION_INDEX)", &k))),
                )
                .env("JOB_COMPLETION_INDEX", &k)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for pod in pods {
        let o = pod.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "a pod failed: {}", stderr(&o));
    }

    // The merge Job, its volume here too.
    let command = yaml_list(&merge_yaml, "kind: Job", "command");
    assert_eq!(command[..2], ["/bin/sh", "-c"]);
    let merged = sh(&volumes(&command[2]), dir.path());
    let one = run(&["eml", "--format", "json", mail]);
    assert_eq!(
        merged.status.code(),
        one.status.code(),
        "{}",
        stderr(&merged)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pixscan.json")).unwrap())
            .unwrap();
    assert_eq!(report, json(&one), "the merge's JSON is one run's");
    assert!(String::from_utf8_lossy(&merged.stdout).contains("Policy ERROR"));
    for f in ["pixscan.sarif", "pixscan.html"] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn merge_refuses_shards_that_saw_different_mail() {
    let dir = tempfile::tempdir().unwrap();
    let (mail, _) = policy_fixture(dir.path());
    let m = mail.to_str().unwrap();
    let args = ["eml", "--no-config", m];
    let first = shards(&args, 3, dir.path());
    // The folder changes before the other shards run: same command, other inputs.
    std::fs::copy(
        root().join("fixtures/mail/clean-plain-text.eml"),
        mail.join("z/late-arrival.eml"),
    )
    .unwrap();
    let later = tempfile::tempdir().unwrap();
    let second = shards(&args, 3, later.path());
    let e = merge_error(&[first[0].clone(), second[1].clone(), second[2].clone()]);
    assert!(e.contains("the shards saw different inputs"), "{e}");
    assert!(
        e.contains(first[0].to_str().unwrap()),
        "names the files: {e}"
    );
    // The three of one moment merge.
    let o = merge(&second, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn baselines_are_the_merges_not_a_shards() {
    for flag in ["--baseline", "--write-baseline"] {
        for command in [
            &["eml", "fixtures/mail"][..],
            &["site", "fixtures/site-build"][..],
        ] {
            let o = run(&[command, &["--shard", "0/2", flag, "b.json"]].concat());
            assert_eq!(o.status.code(), Some(2), "{command:?} {flag}");
            let e = stderr(&o);
            assert!(e.contains(&format!("{flag} with --shard")), "{e}");
            assert!(e.contains("give it to `pixscan merge`"), "{e}");
        }
    }
    assert!(!root().join("b.json").exists());
}
