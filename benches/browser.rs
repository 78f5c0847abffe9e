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
//!
//! With `PIXSCAN_BENCH_WEC=PATH/TO/website-evidence-collector.js` (installed by
//! `benches/wec/install.sh`), the EDPS Website Evidence Collector runs over the same pages
//! in every round too, counted the same way; `PIXSCAN_BENCH_AB` has a `wec` variant.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[allow(dead_code)]
mod common;

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

/// GETs of a page by a browser (a User-Agent with "Mozilla"): WEC's own HEAD and https
/// checks (node, not Chromium) are not page loads.
static PAGE_LOADS: AtomicU64 = AtomicU64::new(0);

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
    // A TLS ClientHello (WEC tries https:// on the same port): answer at once, as a plain
    // HTTP server does, instead of waiting for a request line that never comes.
    if reader.fill_buf()?.first() == Some(&0x16) {
        let mut stream = stream;
        stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")?;
        return stream.flush();
    }
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let method = line.split_whitespace().next().unwrap_or("GET").to_string();
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut len = 0usize;
    let mut browser = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        let h = h.to_ascii_lowercase();
        if let Some(v) = h.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if let Some(v) = h.strip_prefix("user-agent:") {
            browser = v.contains("mozilla");
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
            if method == "GET" && browser {
                PAGE_LOADS.fetch_add(1, Ordering::Relaxed);
            }
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
    if method != "HEAD" {
        stream.write_all(&bytes)?;
    }
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
    /// CPU seconds (user + system) of pixscan and every Chromium process it started.
    cpu: f64,
}

/// User + system CPU seconds of every child (and descendant) of this process that has been
/// reaped so far. The bench is a child subreaper, so Chromium processes orphaned when their
/// parent exits come back here to be reaped and counted.
fn children_cpu() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// Reaps every remaining descendant (orphans reparented to this subreaper), waiting up to
/// 15 s for them to exit.
fn reap_all() {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut status = 0;
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if r > 0 {
            continue;
        }
        if r < 0 || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run(port: u16, pages: usize, concurrency: usize) -> Run {
    run_with(port, pages, concurrency, env!("CARGO_BIN_EXE_pixscan"), &[])
}

/// One scan by `binary` with `extra` arguments after the usual ones; `--concurrency N` among
/// them replaces `concurrency`.
fn run_with(port: u16, pages: usize, concurrency: usize, binary: &str, extra: &[String]) -> Run {
    let mut extra = extra.to_vec();
    let mut concurrency = concurrency;
    if let Some(i) = extra.iter().position(|a| a == "--concurrency") {
        let n: Vec<String> = extra.drain(i..(i + 2).min(extra.len())).collect();
        concurrency = n
            .get(1)
            .and_then(|v| v.parse().ok())
            .expect("--concurrency N");
    }
    let mut c = Command::new(binary);
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
    c.args(&extra);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    reap_all();
    let cpu0 = children_cpu();
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
    reap_all();
    let cpu = children_cpu() - cpu0;
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
        cpu,
    }
}

/// The plain-load baseline: one Chromium (same binary and flags as pixscan's) loading each
/// page over DevTools and waiting for its load event, nothing observed or waited for
/// beyond that. `fresh`: each page in its own browser context and tab (a fresh visitor, as
/// pixscan does, in a windowless tab); otherwise one reused tab navigating from page to page (later pages are not
/// fresh visitors). Returns the wall time and the CPU seconds of Chromium's processes.
fn plain(
    port: u16,
    pages: usize,
    concurrency: usize,
    fresh: bool,
    extra: &[String],
) -> (Duration, f64) {
    use pixscan::source::browser::{cdp::Cdp, launch};
    use serde_json::json;
    reap_all();
    let cpu0 = children_cpu();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resolve = host_map(port);
    let binary = chromium();
    let mut process = launch::start(&binary, &resolve, false, extra).expect("start Chromium");
    let urls: Vec<String> = (0..pages)
        .map(|i| {
            if i == 0 {
                format!("http://www.bench.test:{port}/")
            } else {
                format!("http://www.bench.test:{port}/p/{i}/")
            }
        })
        .collect();
    let start = Instant::now();
    rt.block_on(async {
        let cdp = Cdp::connect(&process.ws_url).await.unwrap();
        async fn open(cdp: &Cdp, ctx: Option<&str>) -> (String, String) {
            let mut p = json!({"url": "about:blank"});
            if let Some(c) = ctx {
                // As pixscan opens its tabs: windowless (see observe::visit).
                p["browserContextId"] = json!(c);
                p["hidden"] = json!(true);
            }
            let t = cdp.call(None, "Target.createTarget", p).await.unwrap();
            let target = t["targetId"].as_str().unwrap().to_string();
            let a = cdp
                .call(
                    None,
                    "Target.attachToTarget",
                    json!({"targetId": target, "flatten": true}),
                )
                .await
                .unwrap();
            (target, a["sessionId"].as_str().unwrap().to_string())
        }
        async fn load(cdp: &Cdp, session: &str, url: &str) {
            let mut rx = cdp.subscribe(session);
            cdp.call(Some(session), "Page.enable", json!({}))
                .await
                .unwrap();
            cdp.call(Some(session), "Page.navigate", json!({"url": url}))
                .await
                .unwrap();
            let _ = tokio::time::timeout(Duration::from_secs(15), async {
                while let Some(ev) = rx.recv().await {
                    if ev.method == "Page.loadEventFired" {
                        break;
                    }
                }
            })
            .await;
            cdp.unsubscribe(session);
        }
        if fresh {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let worker = || async {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(url) = urls.get(i) else { break };
                    let c = cdp
                        .call(None, "Target.createBrowserContext", json!({}))
                        .await
                        .unwrap();
                    let ctx = c["browserContextId"].as_str().unwrap().to_string();
                    let (target, session) = open(&cdp, Some(&ctx)).await;
                    load(&cdp, &session, url).await;
                    let _ = cdp
                        .call(None, "Target.closeTarget", json!({"targetId": target}))
                        .await;
                    let _ = cdp
                        .call(
                            None,
                            "Target.disposeBrowserContext",
                            json!({"browserContextId": ctx}),
                        )
                        .await;
                }
            };
            futures_util::future::join_all((0..concurrency).map(|_| worker())).await;
        } else {
            let (_, session) = open(&cdp, None).await;
            for url in &urls {
                load(&cdp, &session, url).await;
            }
        }
        let _ = cdp
            .call_timeout(None, "Browser.close", json!({}), Duration::from_secs(3))
            .await;
    });
    process.shutdown(Duration::from_secs(5));
    let wall = start.elapsed();
    drop(process);
    reap_all();
    (wall, children_cpu() - cpu0)
}

/// The bench's host names, each mapped to the local server.
fn host_map(port: u16) -> Vec<(String, std::net::SocketAddr)> {
    HOSTS
        .iter()
        .map(|h| (h.to_string(), format!("127.0.0.1:{port}").parse().unwrap()))
        .collect()
}

/// The Chromium pixscan would run (`PIXSCAN_CHROMIUM`, else the usual places).
fn chromium() -> std::path::PathBuf {
    pixscan::source::browser::launch::find_chromium(
        std::env::var_os("PIXSCAN_CHROMIUM")
            .map(std::path::PathBuf::from)
            .as_deref(),
    )
    .expect("Chromium")
}

/// Loaded into WEC's node with `NODE_OPTIONS=--require`: resolves the bench's host names
/// (`HOSTS` below) to 127.0.0.1 inside node, as `--host-resolver-rules` does in Chromium.
/// WEC checks every link with a HEAD request of its own before the browser goes there.
const NODE_RESOLVE: &str = r#"const dns = require("dns");
const hosts = new Set(HOSTS);
const lookup = dns.lookup;
dns.lookup = function (host, options, callback) {
  if (!hosts.has(host)) return lookup.apply(this, arguments);
  if (typeof options === "function") [callback, options] = [options, {}];
  const all = options && options.all;
  process.nextTick(() =>
    all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4));
};
"#;

/// One run of the EDPS Website Evidence Collector: `wec_bin` (its
/// `bin/website-evidence-collector.js`) from the start page with `--max PAGES`, so that it
/// browses the start page and the pages it links to, one after another in one reused tab, with
/// `extra` arguments after those (e.g. `--sleep 0 --no-output`). Puppeteer runs the Chromium
/// that pixscan finds (unless `PUPPETEER_EXECUTABLE_PATH` is set), with `--no-sandbox` and
/// the bench's host mapping. WEC runs in `dir` (its default `./output` lands there, emptied
/// before the clock starts), its stdout and stderr go to files there. Every page must have
/// been loaded by the browser. Returns the wall time and the CPU seconds of node and every
/// Chromium process.
fn wec(
    port: u16,
    pages: usize,
    wec_bin: &str,
    extra: &[String],
    dir: &std::path::Path,
) -> (Duration, f64) {
    use pixscan::source::browser::launch;
    let resolve = host_map(port);
    let preload = dir.join("resolve.js");
    std::fs::write(
        &preload,
        NODE_RESOLVE.replace("HOSTS", &serde_json::json!(HOSTS).to_string()),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(dir.join("output"));
    let mut c = Command::new(wec_bin);
    c.current_dir(dir)
        .arg(format!("http://www.bench.test:{port}/"))
        .args(["--max", &pages.to_string()])
        .args(extra)
        .arg("--")
        .arg("--no-sandbox")
        .arg(format!(
            "--host-resolver-rules={}",
            launch::host_resolver_rules(&resolve).unwrap()
        ));
    let node_options = std::env::var("NODE_OPTIONS").unwrap_or_default();
    c.env(
        "NODE_OPTIONS",
        format!("{node_options} --require {}", preload.display()),
    );
    if std::env::var_os("PUPPETEER_EXECUTABLE_PATH").is_none() {
        let chromium = chromium();
        c.env("PUPPETEER_EXECUTABLE_PATH", chromium);
    }
    let err_path = dir.join("wec-stderr.ndjson");
    c.stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("wec-stdout")).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    reap_all();
    let loads0 = PAGE_LOADS.load(Ordering::Relaxed);
    let cpu0 = children_cpu();
    let start = Instant::now();
    let status = c.status().expect("run WEC");
    let wall = start.elapsed();
    reap_all();
    let cpu = children_cpu() - cpu0;
    let loads = PAGE_LOADS.load(Ordering::Relaxed) - loads0;
    let log = || {
        let text = std::fs::read_to_string(&err_path).unwrap_or_default();
        let from = (text.len().saturating_sub(3000)..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text[from..].to_string()
    };
    assert!(status.success(), "WEC failed ({status}): …{}", log());
    assert_eq!(
        loads,
        pages as u64,
        "WEC: page loads by the browser; …{}",
        log()
    );
    (wall, cpu)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let pages: usize = common::env_count("PIXSCAN_BENCH_PAGES", 50).max(2);
    let rounds: usize = common::env_count("PIXSCAN_BENCH_ROUNDS", 3).max(1);
    // Chromium's helpers outlive their parent by a moment; as a subreaper this process
    // reaps (and counts) them.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let hits = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let h = hits.clone();
    std::thread::spawn(move || serve(tx, pages, h));
    let port = rx.recv().unwrap();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if let Ok(spec) = std::env::var("PIXSCAN_BENCH_AB") {
        return ab(&spec, port, pages, rounds);
    }
    println!(
        "browser bench: {pages} generated pages on 127.0.0.1, {cpus} CPU(s), default --settle 1s, {rounds} round(s), medians"
    );
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(), Vec::new()];
    // (label, concurrency, fresh) → (wall, cpu) per round.
    let plain_kinds: [(&str, usize, bool); 3] = [
        ("plain load, fresh context per page", 1, true),
        ("plain load, fresh context per page", 4, true),
        ("plain load, one reused tab (not fresh)", 1, false),
    ];
    let mut plains: Vec<Vec<(Duration, f64)>> = vec![Vec::new(); plain_kinds.len()];
    // PIXSCAN_BENCH_WEC=PATH/TO/website-evidence-collector.js: WEC too (see `wec`).
    let wec_bin = std::env::var("PIXSCAN_BENCH_WEC").ok();
    let wec_args: Vec<String> = ["--sleep", "0", "--no-output", "--json"]
        .map(String::from)
        .to_vec();
    let wec_dir = tempfile::tempdir().unwrap();
    let mut wecs: Vec<(Duration, f64)> = Vec::new();
    for round in 1..=rounds {
        for (k, concurrency) in [1, 4].into_iter().enumerate() {
            let r = run(port, pages, concurrency);
            println!(
                "  round {round}, pixscan, concurrency {}: {} pages in {:.1}s, {:.1} CPU-s",
                r.concurrency,
                r.pages,
                r.wall.as_secs_f64(),
                r.cpu
            );
            runs[k].push(r);
        }
        for (k, &(label, c, fresh)) in plain_kinds.iter().enumerate() {
            let (wall, cpu) = plain(port, pages, c, fresh, &[]);
            println!(
                "  round {round}, {label}, concurrency {c}: {pages} pages in {:.1}s, {cpu:.1} CPU-s",
                wall.as_secs_f64()
            );
            plains[k].push((wall, cpu));
        }
        if let Some(bin) = &wec_bin {
            let (wall, cpu) = wec(port, pages, bin, &wec_args, wec_dir.path());
            println!(
                "  round {round}, WEC --sleep 0: {pages} pages in {:.1}s, {cpu:.1} CPU-s",
                wall.as_secs_f64()
            );
            wecs.push((wall, cpu));
        }
    }
    println!();
    println!("| run | concurrency | pages | wall time | pages/min | CPU-s (pixscan + Chromium) | CPU-s per page |");
    println!("|---|---|---|---|---|---|---|");
    for rs in &runs {
        let wall = median(rs.iter().map(|r| r.wall.as_secs_f64()).collect());
        let cpu = median(rs.iter().map(|r| r.cpu).collect());
        let n = rs[0].pages as f64;
        println!(
            "| pixscan --browser | {} | {} | {wall:.1} s | {:.0} | {cpu:.1} | {:.3} |",
            rs[0].concurrency,
            rs[0].pages,
            n * 60.0 / wall,
            cpu / n
        );
    }
    for (k, &(label, c, _)) in plain_kinds.iter().enumerate() {
        let wall = median(plains[k].iter().map(|p| p.0.as_secs_f64()).collect());
        let cpu = median(plains[k].iter().map(|p| p.1).collect());
        println!(
            "| {label} | {c} | {pages} | {wall:.1} s | {:.0} | {cpu:.1} (Chromium only) | {:.3} |",
            pages as f64 * 60.0 / wall,
            cpu / pages as f64
        );
    }
    if !wecs.is_empty() {
        let wall = median(wecs.iter().map(|p| p.0.as_secs_f64()).collect());
        let cpu = median(wecs.iter().map(|p| p.1).collect());
        println!(
            "| EDPS WEC `--sleep 0 --no-output`, one reused tab (not fresh) | 1 | {pages} | {wall:.1} s | {:.0} | {cpu:.1} (node + Chromium) | {:.3} |",
            pages as f64 * 60.0 / wall,
            cpu / pages as f64
        );
    }
    println!();
    println!("| concurrency | Chromium peak, sum of RSS | Chromium peak, sum of PSS | PSS peak 1st / 2nd half | pixscan peak RSS |");
    println!("|---|---|---|---|---|");
    let mb = |b: u64| b as f64 / 1e6;
    for rs in &runs {
        let r = &rs[rs.len() - 1];
        println!(
            "| {} | {:.0} MB ({} processes) | {:.0} MB | {:.0} / {:.0} MB | {:.0} MB |",
            r.concurrency,
            mb(r.chromium_peak),
            r.chromium_procs,
            mb(r.chromium_pss_peak),
            mb(r.pss_halves.0),
            mb(r.pss_halves.1),
            mb(r.pixscan_peak)
        );
    }
    println!(
        "\n(Memory from the last round. An RSS sum counts pages shared between Chromium's processes once per process, an upper\nbound; PSS splits shared pages among the processes that map them.)"
    );
    println!("server requests: {}", hits.load(Ordering::Relaxed));
}

/// The 1-, 5- and 15-minute load averages.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `PIXSCAN_BENCH_AB="label=BINARY [ARG…];label=plain [CHROMIUM-FLAG…];label=wec PATH [ARG…]"`:
/// an A/B comparison on a shared machine. Each round runs every variant once, in turn (so
/// load drifts hit all of them alike), at `PIXSCAN_BENCH_CONCURRENCY` (default 4): a pixscan
/// binary with extra arguments (`--concurrency N` among them replaces the default),
/// (`plain`) the plain fresh-context load with extra Chromium flags, or (`wec`) the EDPS
/// Website Evidence Collector at PATH (its `bin/website-evidence-collector.js`) with extra
/// WEC arguments, one page at a time (see [`wec`]). Reports each variant's median wall time
/// and CPU per page, and the load average around the run.
fn ab(spec: &str, port: u16, pages: usize, rounds: usize) {
    let concurrency = common::env_count("PIXSCAN_BENCH_CONCURRENCY", 4).max(1);
    let variants: Vec<(String, String, Vec<String>)> = spec
        .split(';')
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            let (label, rest) = v.trim().split_once('=').expect("label=BINARY [ARG…]");
            let mut words = rest.split_whitespace().map(str::to_string);
            let binary = words.next().expect("a binary or `plain`");
            (label.to_string(), binary, words.collect())
        })
        .collect();
    println!(
        "browser A/B: {pages} pages, concurrency {concurrency}, {rounds} round(s), load average {}",
        loadavg()
    );
    let wec_dir = tempfile::tempdir().unwrap();
    let mut results: Vec<Vec<(f64, f64)>> = vec![Vec::new(); variants.len()];
    for round in 1..=rounds {
        for (k, (label, binary, extra)) in variants.iter().enumerate() {
            let (wall, cpu) = if binary == "plain" {
                let (w, c) = plain(port, pages, concurrency, true, extra);
                (w.as_secs_f64(), c)
            } else if binary == "wec" {
                let (wec_bin, args) = extra
                    .split_first()
                    .expect("wec PATH/TO/website-evidence-collector.js [ARG…]");
                let (w, c) = wec(port, pages, wec_bin, args, wec_dir.path());
                (w.as_secs_f64(), c)
            } else {
                let r = run_with(port, pages, concurrency, binary, extra);
                assert_eq!(r.pages, pages as u64, "{label}: every page browsed");
                (r.wall.as_secs_f64(), r.cpu)
            };
            println!(
                "  round {round}, {label}: {wall:.1} s, {cpu:.1} CPU-s, {:.3} CPU-s/page (load {})",
                cpu / pages as f64,
                loadavg()
            );
            results[k].push((wall, cpu));
        }
    }
    println!("\n| variant | wall time | pages/min | CPU-s per page | per-round CPU-s |");
    println!("|---|---|---|---|---|");
    for (k, (label, ..)) in variants.iter().enumerate() {
        let wall = median(results[k].iter().map(|r| r.0).collect());
        let cpu = median(results[k].iter().map(|r| r.1).collect());
        let each: Vec<String> = results[k].iter().map(|r| format!("{:.1}", r.1)).collect();
        println!(
            "| {label} | {wall:.1} s | {:.0} | {:.3} | {} |",
            pages as f64 * 60.0 / wall,
            cpu / pages as f64,
            each.join(", ")
        );
    }
    println!("load average at the end: {}", loadavg());
}
