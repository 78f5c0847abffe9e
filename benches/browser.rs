//! Browser-mode benchmark (`cargo bench --bench browser`): the release binary scans a
//! generated 50-page site on 127.0.0.1 (`PIXSCAN_BENCH_PAGES` changes the count) with
//! `--browser`, at concurrency 1 and 4, and reports pages per minute and the peak memory
//! of the Chromium process tree (the sum of the RSS of every descendant of pixscan, sampled
//! from /proc every 25 ms), next to pixscan's own peak RSS.
//!
//! Each page sets a first-party cookie, loads a tag-manager script that injects a vendor
//! library that fires a pixel with that cookie, fires an inline pixel and a sendBeacon, and
//! shows five first-party images: about the tag load of a small shop page. Settle time is
//! the default (1 s of network quiet), so most of a page's time is waiting, not work.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

const HOSTS: &[&str] = &[
    "www.bench.test",
    "tags.benchtm.test",
    "cdn.benchtracker.test",
    "px.benchtracker.test",
    "collect.benchanalytics.test",
];

fn page(i: usize, pages: usize, port: u16) -> String {
    let mut links = String::new();
    if i == 0 {
        for j in 1..pages {
            links.push_str(&format!("<li><a href=\"/p/{j}/\">Product {j}</a></li>\n"));
        }
    } else {
        links.push_str(&format!(
            "<li><a href=\"/\">Home</a></li><li><a href=\"/p/{}/\">Next</a></li>\n",
            (i % (pages - 1)) + 1
        ));
    }
    let mut images = String::new();
    for k in 0..5 {
        images.push_str(&format!(
            "<img src=\"/img/{i}-{k}.gif\" width=\"120\" height=\"90\" alt=\"\">\n"
        ));
    }
    let filler = "<p>Hand-finished linen, cut in small batches and shipped in recycled paper. \
                  Free returns within thirty days; see our care guide for washing tips.</p>\n"
        .repeat(12);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bench page {i}</title>
<script>document.cookie = "vid=v{i}x8Kq2Lm9Zt4Rw7Pb; path=/; max-age=31536000";</script>
<script async src="http://tags.benchtm.test:{port}/tm.js?id=TM-1"></script>
</head><body>
<h1>Product {i}</h1>
<ul>{links}</ul>
{images}{filler}
<script>
  new Image().src = "http://px.benchtracker.test:{port}/px.gif?p={i}";
  navigator.sendBeacon("http://collect.benchanalytics.test:{port}/b", "p={i}");
</script>
</body></html>"#
    )
}

fn serve(port_tx: std::sync::mpsc::Sender<u16>, pages: usize, hits: Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut bodies: HashMap<String, String> = HashMap::new();
    bodies.insert("/".into(), page(0, pages, port));
    for i in 1..pages {
        bodies.insert(format!("/p/{i}/"), page(i, pages, port));
    }
    bodies.insert(
        "/tm.js".into(),
        format!("(function(){{var s=document.createElement('script');s.src='http://cdn.benchtracker.test:{port}/lib.js';document.head.appendChild(s);}})();"),
    );
    bodies.insert(
        "/lib.js".into(),
        format!("(function(){{var m=document.cookie.match(/(?:^|; )vid=([^;]+)/);new Image().src='http://px.benchtracker.test:{port}/tr?ev=PageView&vid='+(m?m[1]:'');}})();"),
    );
    let bodies = Arc::new(bodies);
    port_tx.send(port).unwrap();
    for stream in listener.incoming().flatten() {
        let (bodies, hits) = (bodies.clone(), hits.clone());
        std::thread::spawn(move || {
            let _ = handle(stream, &bodies, &hits);
        });
    }
}

fn handle(
    stream: TcpStream,
    bodies: &HashMap<String, String>,
    hits: &AtomicU64,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len.min(1 << 20)];
    reader.read_exact(&mut body)?;
    hits.fetch_add(1, Ordering::Relaxed);
    let path = target.split('?').next().unwrap_or("/");
    let (status, ctype, bytes): (u16, &str, Vec<u8>) = if let Some(b) = bodies.get(path) {
        let ct = if path.ends_with(".js") {
            "application/javascript"
        } else {
            "text/html; charset=utf-8"
        };
        (200, ct, b.clone().into_bytes())
    } else if path.ends_with(".gif") || path == "/tr" {
        (200, "image/gif", GIF.to_vec())
    } else if path == "/b" {
        (204, "text/plain", Vec::new())
    } else {
        (404, "text/plain", b"not found".to_vec())
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    )?;
    stream.write_all(&bytes)?;
    stream.flush()
}

fn page_size() -> u64 {
    4096
}

/// RSS in bytes of `pid`.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<u64>().ok())
        })
        .map(|p| p * page_size())
        .unwrap_or(0)
}

/// Proportional set size in bytes of `pid` (shared pages divided among their users), from
/// /proc/PID/smaps_rollup; 0 where the kernel does not provide it.
fn pss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Pss:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|x| x.parse::<u64>().ok())
            })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Every descendant of `root` (children, grandchildren…), from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent: HashMap<u32, u32> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // pid (comm) state ppid …; comm may contain spaces and parentheses.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|x| x.parse().ok()) {
                parent.insert(pid, ppid);
            }
        }
    }
    let mut out = Vec::new();
    for (&pid, _) in parent.iter() {
        let mut p = pid;
        for _ in 0..64 {
            match parent.get(&p) {
                Some(&pp) if pp == root => {
                    out.push(pid);
                    break;
                }
                Some(&pp) if pp > 1 => p = pp,
                _ => break,
            }
        }
    }
    out
}

struct Run {
    concurrency: usize,
    pages: u64,
    wall: Duration,
    /// Peak of the summed RSS of Chromium's processes, and how many there were then.
    chromium_peak: u64,
    chromium_procs: usize,
    /// Peak of the summed PSS (shared pages counted once overall).
    chromium_pss_peak: u64,
    /// Peak summed PSS in the first and in the second half of the run: flat when tabs and
    /// contexts are really released.
    pss_halves: (u64, u64),
    pixscan_peak: u64,
}

fn run(port: u16, pages: usize, concurrency: usize) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pixscan"));
    c.args([
        "site",
        &format!("http://www.bench.test:{port}/"),
        "--browser",
        "--no-progress",
        "--no-sitemap",
        "--format",
        "json",
        "--max-pages",
        &pages.to_string(),
        "--concurrency",
        &concurrency.to_string(),
    ]);
    for h in HOSTS {
        c.args(["--resolve", &format!("{h}:{port}:127.0.0.1")]);
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = c.spawn().expect("run pixscan");
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let sampler = std::thread::spawn(move || {
        let (mut peak, mut procs, mut own) = (0u64, 0usize, 0u64);
        let mut pss_samples: Vec<(Duration, u64)> = Vec::new();
        let t0 = Instant::now();
        while !d.load(Ordering::Relaxed) {
            let kids = descendants(pid);
            let sum: u64 = kids.iter().map(|&k| rss(k)).sum();
            if sum > peak {
                peak = sum;
                procs = kids.len();
            }
            pss_samples.push((t0.elapsed(), kids.iter().map(|&k| pss(k)).sum()));
            own = own.max(rss(pid));
            std::thread::sleep(Duration::from_millis(25));
        }
        (peak, procs, own, pss_samples)
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let wall = start.elapsed();
    done.store(true, Ordering::Relaxed);
    let (chromium_peak, chromium_procs, pixscan_peak, samples) = sampler.join().unwrap();
    let half = wall / 2;
    let peak_in = |first: bool| {
        samples
            .iter()
            .filter(|(t, _)| (*t < half) == first)
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(0)
    };
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "pixscan failed: {stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&stdout).expect("JSON report");
    let docs = json["documents"].as_array().unwrap();
    let browsed = docs
        .iter()
        .filter(|d| d["browser"].is_object() && d["browser"]["error"].is_null())
        .count() as u64;
    let failed: Vec<&serde_json::Value> = docs
        .iter()
        .filter(|d| !d["browser"]["error"].is_null())
        .collect();
    assert!(failed.is_empty(), "browser errors: {failed:#?}");
    assert!(
        docs.iter().all(|d| d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["seen_by"] == "runtime")),
        "every page has runtime findings"
    );
    Run {
        concurrency,
        pages: browsed,
        wall,
        chromium_peak,
        chromium_procs,
        chromium_pss_peak: samples.iter().map(|(_, v)| *v).max().unwrap_or(0),
        pss_halves: (peak_in(true), peak_in(false)),
        pixscan_peak,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let pages: usize = std::env::var("PIXSCAN_BENCH_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .max(2);
    let hits = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let h = hits.clone();
    std::thread::spawn(move || serve(tx, pages, h));
    let port = rx.recv().unwrap();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "browser bench: {pages} generated pages on 127.0.0.1, {cpus} CPU(s), default --settle 1s"
    );
    let mut runs = Vec::new();
    for concurrency in [1, 4] {
        let r = run(port, pages, concurrency);
        println!(
            "  concurrency {}: {} pages in {:.1}s",
            r.concurrency,
            r.pages,
            r.wall.as_secs_f64()
        );
        runs.push(r);
    }
    println!();
    println!("| concurrency | pages | wall time | pages/min | Chromium peak, sum of RSS | Chromium peak, sum of PSS | PSS peak 1st / 2nd half | pixscan peak RSS |");
    println!("|---|---|---|---|---|---|---|---|");
    let mb = |b: u64| b as f64 / 1e6;
    for r in &runs {
        println!(
            "| {} | {} | {:.1} s | {:.0} | {:.0} MB ({} processes) | {:.0} MB | {:.0} / {:.0} MB | {:.0} MB |",
            r.concurrency,
            r.pages,
            r.wall.as_secs_f64(),
            r.pages as f64 * 60.0 / r.wall.as_secs_f64(),
            mb(r.chromium_peak),
            r.chromium_procs,
            mb(r.chromium_pss_peak),
            mb(r.pss_halves.0),
            mb(r.pss_halves.1),
            mb(r.pixscan_peak)
        );
    }
    println!(
        "\n(An RSS sum counts pages shared between Chromium's processes once per process, an upper\nbound; PSS splits shared pages among the processes that map them.)"
    );
    println!("server requests: {}", hits.load(Ordering::Relaxed));
}
