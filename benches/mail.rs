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

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use pixscan::rules::Ruleset;

mod common;
use common::{binary, peak_rss};
use pixscan::source::mail::{inputs, InputLimits};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize]))
            .collect()
    }
    fn token(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..n)
            .map(|_| char::from(A[(self.next() % 64) as usize]))
            .collect()
    }
}

const WORDS: &[&str] = &[
    "spring",
    "collection",
    "arrivals",
    "exclusive",
    "offer",
    "members",
    "weekend",
    "shipping",
    "classic",
    "linen",
    "summer",
    "jacket",
    "story",
    "design",
    "limited",
    "edition",
    "free",
    "returns",
    "gift",
    "guide",
];

fn paragraph(r: &mut Lcg, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[(r.next() % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// One newsletter: a table layout with inline styles, ~25 images, ~50 links, one pixel.
fn newsletter(r: &mut Lcg, i: usize) -> String {
    let brand = ["northwind", "contoso", "fabrikam", "tailspin", "wingtip"][i % 5];
    let recipient = format!("reader{i}@example.org");
    let mut html = String::with_capacity(40_000);
    html.push_str(r#"<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;padding:0;font-family:Helvetica,Arial,sans-serif}.btn{background:#0a7;color:#fff;padding:12px 24px;border-radius:4px}@media only screen and (max-width:600px){.col{width:100%!important}}</style></head><body>"#);
    html.push_str(r#"<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">Our new season is here &#847; &zwnj; &nbsp;</div>"#);
    html.push_str(r#"<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f4"><tr><td align="center">"#);
    for s in 0..12 {
        let img = format!(
            "https://cdn.{brand}.example/images/2026/{}/{}.jpg",
            paragraph(r, 1),
            r.hex(12)
        );
        html.push_str(&format!(
            r#"<table class="col" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;margin:0 auto"><tr><td style="padding:24px 32px;font-size:16px;line-height:24px;color:#333333"><a href="https://links.{brand}.example/ls/click?upn={}" style="text-decoration:none"><img src="{img}" width="536" height="300" alt="{}" style="display:block;border:0;width:100%;max-width:536px;height:auto"></a><h2 style="font-size:22px;margin:16px 0 8px">{}</h2><p style="margin:0 0 12px">{}</p><p style="margin:0 0 12px">{}</p><a class="btn" href="https://links.{brand}.example/ls/click?upn={}" style="display:inline-block;background:#0a7;color:#ffffff">Shop now</a> <a href="https://www.{brand}.example/{}/{}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring{s}">{}</a> <img src="https://cdn.{brand}.example/icons/{}.png" width="24" height="24" alt=""></td></tr></table>"#,
            r.token(120), paragraph(r, 3), paragraph(r, 6), paragraph(r, 90), paragraph(r, 80), r.token(120), paragraph(r, 1), paragraph(r, 2), paragraph(r, 2), paragraph(r, 1)
        ));
        if s % 4 == 3 {
            html.push_str(&format!(
                r#"<img src="https://cdn.{brand}.example/spacer.gif" width="1" height="10" alt="">"#
            ));
        }
    }
    for k in 0..22 {
        html.push_str(&format!(r#"<a href="https://links.{brand}.example/ls/click?upn={}" style="color:#999;font-size:12px">footer link {k}</a> "#, r.token(80)));
    }
    for k in 0..4 {
        html.push_str(&format!(r#"<a href="https://social.example/{brand}{k}"><img src="https://cdn.{brand}.example/social/{k}.png" width="32" height="32" alt="social"></a>"#));
    }
    html.push_str(&format!(
        r#"<img src="https://links.{brand}.example/wf/open?upn={}" alt="" width="1" height="1" border="0" style="height:1px!important;width:1px!important;border-width:0!important">"#,
        r.token(200)
    ));
    html.push_str("</td></tr></table></body></html>");
    format!(
        "From: {brand} <news@{brand}.example>\r\nTo: {recipient}\r\nSubject: {} #{i}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@{brand}.example>\r\nX-SG-EID: {}\r\nList-Unsubscribe: <https://links.{brand}.example/unsub?u={}>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n",
        paragraph(r, 4), r.hex(24), r.token(40), r.token(32)
    )
}

fn write_mbox(path: &Path, n: usize) -> u64 {
    let mut r = Lcg(42);
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut bytes = 0u64;
    for i in 0..n {
        let m = newsletter(&mut r, i);
        bytes += m.len() as u64;
        write!(w, "From news@example Mon Nov  2 10:00:00 2026\n{m}\n").unwrap();
    }
    w.flush().unwrap();
    bytes
}

struct NoopSink;
impl TokenSink for NoopSink {
    type Handle = ();
    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        std::hint::black_box(&token);
        TokenSinkResult::Continue
    }
}

fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// mail-parser + a full html5ever parse into a DOM.
fn parse_floor(path: &Path) -> (usize, f64) {
    use html5ever::tendril::TendrilSink;
    floor(path, |html| {
        let dom =
            html5ever::parse_document(markup5ever_rcdom::RcDom::default(), Default::default())
                .one(StrTendril::from_slice(html));
        std::hint::black_box(&dom);
    })
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

/// Reads the mbox, parses every message with mail-parser and hands each HTML part to
/// `html`: the messages counted and the thread CPU time taken.
fn floor(path: &Path, mut html: impl FnMut(&str)) -> (usize, f64) {
    let paths = vec![path.to_path_buf()];
    let mut skipped = Vec::new();
    let start = thread_cpu();
    let mut n = 0;
    for input in inputs(&paths, InputLimits::default(), &mut skipped) {
        let bytes = input.bytes.unwrap();
        let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        for i in 0..msg.html_body_count() {
            if let Some(part) = msg.body_html(i) {
                html(&part);
            }
        }
        n += 1;
    }
    (n, thread_cpu() - start)
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
    let n: usize = std::env::var("PIXSCAN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
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
