//! Mail benchmark (`cargo bench --bench mail`): a generated mbox of realistic HTML
//! newsletters (~35 KB, one pixel, ~25 images, ~50 links each).
//!
//! Measured side by side in one run, alternating, five rounds, on one thread:
//! - parse floor: mail-parser parse + html5ever parse (tokenizer and tree builder, into
//!   markup5ever_rcdom) of every HTML part, nothing else: the floor the targets are set
//!   against;
//! - tokenizer floor: mail-parser parse + html5ever tokenization only (no tree), a stricter
//!   reference: pixscan itself runs the tokenizer and no tree builder;
//! - pixscan: the full per-message pipeline (parse, extract, rules, identifiers, findings).
//!
//! Then the release binary scans mboxes of 2,500 and 10,000 messages (`-j 2`, JSON to
//! /dev/null) to show peak memory stays flat as the mailbox grows.
//! `PIXSCAN_BENCH_MESSAGES` overrides the message count (default 10,000).

use std::path::Path;
use std::process::Command;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use pixscan::rules::Ruleset;

mod common;
#[path = "common/newsletter.rs"]
mod newsletter;
use common::{binary, peak_rss};
use newsletter::{floor, parse_floor, thread_cpu, write_mbox};
use pixscan::source::mail::{inputs, InputLimits};

struct NoopSink;
impl TokenSink for NoopSink {
    type Handle = ();
    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        std::hint::black_box(&token);
        TokenSinkResult::Continue
    }
}

/// mail-parser + html5ever tokenization, no tree.
fn token_floor(path: &Path) -> (usize, f64) {
    floor(path, |html| {
        let tok = Tokenizer::new(NoopSink, TokenizerOpts::default());
        let q = BufferQueue::default();
        q.push_back(StrTendril::from_slice(html));
        let _ = tok.feed(&q);
        tok.end();
    })
}

fn pipeline(path: &Path, rules: &Ruleset) -> (usize, f64, u64) {
    let paths = vec![path.to_path_buf()];
    let mut skipped = Vec::new();
    let start = thread_cpu();
    let (mut n, mut tracking) = (0, 0u64);
    for input in inputs(&paths, InputLimits::default(), &mut skipped) {
        let report = pixscan::scan::scan_message(input.source, &input.bytes.unwrap(), rules, &[]);
        tracking += report.findings.iter().filter(|f| f.tracking).count() as u64;
        n += 1;
    }
    (n, thread_cpu() - start, tracking)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; nothing to list here.
    }
    let n: usize = common::env_count("PIXSCAN_BENCH_MESSAGES", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("news.mbox");
    let bytes = write_mbox(&big, n);
    println!(
        "generated {n} messages, {:.1} MB ({:.1} KB each)",
        bytes as f64 / 1e6,
        bytes as f64 / n as f64 / 1e3
    );
    let rules = Ruleset::embedded().unwrap();
    if std::env::var("PIXSCAN_BENCH_ONLY").is_ok_and(|v| v == "pipeline") {
        // For profiling: the pipeline alone.
        let (np, tp, _) = pipeline(&big, &rules);
        println!(
            "pipeline only: {np} messages, {:.2}s CPU ({:.0} msg/s)",
            tp,
            np as f64 / tp
        );
        return;
    }
    if std::env::var("PIXSCAN_BENCH_ONLY").is_ok_and(|v| v == "floors") {
        // For profiling: the two floors alone.
        let (nd, td) = parse_floor(&big);
        let (nt, tt) = token_floor(&big);
        println!("floors only: {nd} messages, parse {td:.2}s CPU, tokenizer ({nt}) {tt:.2}s CPU");
        return;
    }

    // Five rounds, each measuring the three side by side; the ratios are taken per round
    // (the three runs of a round share the machine's state) and their median reported.
    let (mut parse, mut token, mut fulls) = (Vec::new(), Vec::new(), Vec::new());
    let (mut vs_parse, mut vs_token) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let (nd, td) = parse_floor(&big);
        let (nt, tt) = token_floor(&big);
        let (np, tp, tracking) = pipeline(&big, &rules);
        assert_eq!((nd, nt, np), (n, n, n));
        assert!(
            tracking >= n as u64,
            "every message has a pixel: {tracking}"
        );
        println!(
            "round {round}: parse floor {:.2}s CPU ({:.0} msg/s), tokenizer floor {:.2}s ({:.0} msg/s), pixscan {:.2}s ({:.0} msg/s), ratios {:.2} / {:.2}",
            td, n as f64 / td, tt, n as f64 / tt, tp, n as f64 / tp, tp / td, tp / tt
        );
        parse.push(td);
        token.push(tt);
        fulls.push(tp);
        vs_parse.push(tp / td);
        vs_token.push(tp / tt);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (td, tt, tp) = (median(&mut parse), median(&mut token), median(&mut fulls));
    println!(
        "median, per core: parse floor {:.0} msg/s, tokenizer floor {:.0} msg/s, pixscan {:.0} msg/s (target >= 2000)",
        n as f64 / td, n as f64 / tt, n as f64 / tp
    );
    println!(
        "median CPU ratio per round: pixscan / parse floor {:.2} (target <= 1.30), pixscan / tokenizer floor {:.2}",
        median(&mut vs_parse),
        median(&mut vs_token)
    );

    let bin = binary();
    let small = dir.path().join("small.mbox");
    write_mbox(&small, n / 4);
    for (label, path, count) in [("quarter", &small, n / 4), ("full", &big, n)] {
        let (wall, rss_mb) = peak_rss(
            Command::new(&bin)
                .args(["eml", "--format", "json", "-j", "2", "-o", "/dev/null"])
                .arg(path),
        );
        println!("binary, {label} mailbox ({count} messages, -j 2): {:.2}s wall, {:.0} msg/s, peak RSS {:.1} MB", wall, count as f64 / wall, rss_mb);
    }
}
