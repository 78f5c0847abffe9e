//! Replays every input the fuzzers found a bug with (`fuzz/regressions/<target>/`), and the
//! seed corpus (`fuzz/seeds/<target>/`), through exactly the functions the fuzz targets run
//! (`fuzz/src/lib.rs`, included here). A plain `cargo test` keeps fixed crashes fixed without
//! a nightly toolchain or cargo-fuzz.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `target` over every file under `fuzz/<dir>/<name>/`; returns how many ran.
fn replay(dir: &str, name: &str, target: fn(&[u8])) -> usize {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let start = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
            failures.push(format!("{}: panicked", f.display()));
        }
        // The fuzzers run with -timeout=10 on an optimised build; a debug build gets more.
        if start.elapsed() > Duration::from_secs(30) {
            failures.push(format!("{}: took {:?}", f.display(), start.elapsed()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    files.len()
}

fn replay_all(name: &str, target: fn(&[u8])) {
    replay("regressions", name, target);
    let seeds = replay("seeds", name, target);
    assert!(seeds > 0, "no seeds for {name}");
}

#[test]
fn mail_parse() {
    replay_all("mail_parse", targets::mail_parse);
}

#[test]
fn html_extract() {
    replay_all("html_extract", targets::html_extract);
}

#[test]
fn url_identifiers() {
    replay_all("url_identifiers", targets::url_identifiers);
}

#[test]
fn rules_load() {
    replay_all("rules_load", targets::rules_load);
}

#[test]
fn lexer_diff() {
    replay_all("lexer_diff", targets::lexer_diff);
}
