//! Crawl benchmark (`cargo bench --bench crawl`): a generated site of N pages (default
//! 2,000; `PIXSCAN_BENCH_PAGES`) on 127.0.0.1, every response delayed 10 ms like a network
//! round trip, HTTP/1.1 keep-alive. Alternating in one run:
//! - `curl --parallel --parallel-max 16` fetching every page URL (the fetch-only ceiling);
//! - `pixscan site --concurrency 16` crawling from `/` (fetch, parse, analyze, report).
//!
//! Reports pages/s for both, the ratio, and pixscan's peak RSS at a quarter, half and the
//! whole site (memory should stay flat as the site grows).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

mod common;
use common::{binary, peak_rss};
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(10);

fn page(i: usize, n: usize) -> String {
    let mut html = String::with_capacity(32_000);
    html.push_str(&format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Northwind page {i}</title>
<link rel="stylesheet" href="/assets/site.css"><link rel="preconnect" href="https://fonts.googleapis.com">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-7XK2M9QW3E"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',new Date());gtag('config','G-7XK2M9QW3E');</script>
<script>!function(f,b,e,v,n,t,s){{if(f.fbq)return;n=f.fbq=function(){{n.callMethod?n.callMethod.apply(n,arguments):n.queue.push(arguments)}};t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init','918273645501234');fbq('track','PageView');</script>
</head><body><header><a href="/"><img src="/assets/logo.png" width="180" height="40" alt="Northwind"></a><nav>"#
    ));
    for k in 1..=12 {
        let j = (i * 7 + k * 131) % n;
        html.push_str(&format!(r#"<a href="/p/{j}.html">Section {k}</a> "#));
    }
    html.push_str("</nav></header><main>");
    for c in [2 * i + 1, 2 * i + 2] {
        if c < n {
            html.push_str(&format!(r#"<a href="/p/{c}.html">Next {c}</a> "#));
        }
    }
    for k in 0..60 {
        html.push_str(&format!(
            r#"<section class="product"><img src="/img/{i}-{k}.jpg" width="400" height="300" alt="Product {k}"><h2>Trail jacket {k}</h2><p>Lightweight, packable and waterproof: the jacket for every season. Free returns within 30 days on every order, members get early access to new colours and sizes.</p><a href="/p/{}.html#reviews">Reviews</a></section>"#,
            (i + k * 17) % n
        ));
    }
    html.push_str(r#"<noscript><img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=918273645501234&ev=PageView&noscript=1"/></noscript>"#);
    html.push_str("</main><footer><a href=\"https://twitter.com/northwind\">Twitter</a></footer></body></html>");
    html
}

fn serve(listener: TcpListener, pages: Arc<Vec<String>>) {
    for stream in listener.incoming().flatten() {
        let pages = pages.clone();
        std::thread::spawn(move || {
            let _ = connection(stream, &pages);
        });
    }
}

fn connection(stream: TcpStream, pages: &[String]) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            if h.to_ascii_lowercase().starts_with("connection: close") {
                close = true;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
        }
        std::thread::sleep(DELAY);
        let path = target.split(['?', '#']).next().unwrap_or("/");
        let (status, ctype, body): (u16, &str, &[u8]) = if path == "/" {
            (200, "text/html; charset=utf-8", pages[0].as_bytes())
        } else if let Some(i) = path
            .strip_prefix("/p/")
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|i| *i < pages.len())
        {
            (200, "text/html; charset=utf-8", pages[i].as_bytes())
        } else {
            (404, "text/plain", b"not found")
        };
        write!(
            out,
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        out.write_all(body)?;
        out.flush()?;
        if close {
            let _ = reader.read(&mut [0u8; 1]);
            return Ok(());
        }
    }
}

fn crawl(bin: &Path, base: &str, n: usize) -> (f64, f64, usize) {
    let (secs, rss) = peak_rss(
        Command::new(bin)
            .args([
                "site",
                "--format",
                "json",
                "--no-progress",
                "--no-sitemap",
                "--ignore-robots",
                "--concurrency",
                "16",
                "--max-pages",
            ])
            .arg(n.to_string())
            .args(["-o", "/tmp/pixscan-crawl-bench.json"])
            .arg(format!("{base}/")),
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read("/tmp/pixscan-crawl-bench.json").unwrap()).unwrap();
    (
        secs,
        rss,
        json["summary"]["scanned"].as_u64().unwrap_or(0) as usize,
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = common::env_count("PIXSCAN_BENCH_PAGES", 2000);
    let pages: Arc<Vec<String>> = Arc::new((0..n).map(|i| page(i, n)).collect());
    let avg = pages.iter().map(String::len).sum::<usize>() / n;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let p = pages.clone();
    std::thread::spawn(move || serve(listener, p));
    println!(
        "site: {n} pages of ~{} KB, {} ms per response",
        avg / 1024,
        DELAY.as_millis()
    );

    let urls = std::env::temp_dir().join("pixscan-crawl-urls.txt");
    let mut cfg = String::from("url = \"/\"\n");
    cfg.clear();
    cfg.push_str(&format!("url = \"{base}/\"\noutput = \"/dev/null\"\n"));
    for i in 1..n {
        cfg.push_str(&format!(
            "url = \"{base}/p/{i}.html\"\noutput = \"/dev/null\"\n"
        ));
    }
    std::fs::write(&urls, cfg).unwrap();
    let bin = binary();
    let mut ratios = Vec::new();
    for round in 0..3 {
        let t = Instant::now();
        let ok = Command::new("curl")
            .args([
                "--parallel",
                "--parallel-max",
                "16",
                "-s",
                "--no-progress-meter",
                "-K",
            ])
            .arg(&urls)
            .status()
            .unwrap();
        assert!(ok.success());
        let curl = t.elapsed().as_secs_f64();
        let (secs, rss, scanned) = crawl(&bin, &base, n);
        assert_eq!(scanned, n, "the crawl reaches every page");
        let (cps, pps) = (n as f64 / curl, n as f64 / secs);
        println!("round {round}: curl {curl:.2}s ({cps:.0} pages/s), pixscan {secs:.2}s ({pps:.0} pages/s, {:.0}% of curl), peak RSS {rss:.1} MB", 100.0 * pps / cps);
        ratios.push(pps / cps);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median throughput vs curl: {:.0}% (target >= 80%)",
        100.0 * ratios[1]
    );
    for part in [n / 4, n / 2, n] {
        let (secs, rss, scanned) = crawl(&bin, &base, part);
        println!("crawl of {part} pages: {scanned} scanned in {secs:.2}s, peak RSS {rss:.1} MB");
    }
}
