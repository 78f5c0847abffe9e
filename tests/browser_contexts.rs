//! Browser mode runs one long-lived Chromium per scan and gives every page a fresh browser
//! context. These tests (real binary, real Chromium, a local server) check what that must
//! keep: every page is a first visit (no cookie, localStorage or cache carried over from an
//! earlier page of the same site), and a browser that dies mid-run costs only the page it
//! was loading, which is reported failed with the reason, while a new browser loads the rest.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::Value;
use support::http::{Request, Server};
use support::pixscan;

const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

const HOSTS: &[&str] = &["www.fresh.test", "px.tracker.test"];

/// Whether Chromium sent the request (pixscan's crawler does not say Chrome).
fn from_browser(r: &Request) -> bool {
    r.header("user-agent")
        .is_some_and(|ua| ua.to_ascii_lowercase().contains("chrome"))
}

struct Site {
    server: Server,
    /// The pixscan process whose Chromium `/die.gif` kills (0: none).
    victim: Arc<AtomicU32>,
}

/// Every page checks whether the visitor has been here before (a cookie or a localStorage
/// key set by an earlier page; the Set-Cookie of its own response is checked at the server)
/// and says so with a third-party pixel (`/first.gif` or
/// `/returning.gif`), then marks the visitor: a script cookie, a localStorage key, and a
/// `Set-Cookie` on the page's own response. `/shared.js` is cacheable for an hour.
fn page(path: &str, pages: usize, port: u16, crash: bool) -> String {
    let links: String = (1..pages)
        .map(|j| format!("<a href=\"/p/{j}/\">page {j}</a> "))
        .collect();
    let extra = if crash && path == "/crash/" {
        "<img src=\"/die.gif\" alt=\"\">"
    } else {
        ""
    };
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{path}</title>
<script src="/shared.js"></script>
<script>
  var returning = document.cookie.indexOf('seen=') >= 0
    || localStorage.getItem('seen') !== null;
  new Image().src = 'http://px.tracker.test:{port}/' + (returning ? 'returning' : 'first') + '.gif?page=' + encodeURIComponent(location.pathname);
  document.cookie = 'seen=v8Kq2Lm9Zt4Rw7Pb; path=/; max-age=3600';
  localStorage.setItem('seen', 'v8Kq2Lm9Zt4Rw7Pb');
</script></head><body><p><a href="/crash/">crash</a> {links}</p>{extra}</body></html>"#
    )
}

/// The site; with `crash`, `/crash/` loads `/die.gif`, which kills the browser.
fn start(pages: usize, crash: bool) -> Site {
    let victim = Arc::new(AtomicU32::new(0));
    let killed = AtomicBool::new(false);
    let v = victim.clone();
    let server = Server::start(move |req, conn| handle(req, conn, pages, crash, &v, &killed));
    Site { server, victim }
}

/// Every descendant of `root`, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = after
            .split_whitespace()
            .nth(1)
            .and_then(|x| x.parse::<u32>().ok())
        {
            parent.insert(pid, ppid);
        }
    }
    parent
        .keys()
        .copied()
        .filter(|&pid| {
            let mut p = pid;
            for _ in 0..64 {
                match parent.get(&p) {
                    Some(&pp) if pp == root => return true,
                    Some(&pp) if pp > 1 => p = pp,
                    _ => return false,
                }
            }
            false
        })
        .collect()
}

fn handle(
    req: &Request,
    stream: &mut TcpStream,
    pages: usize,
    crash: bool,
    victim: &AtomicU32,
    killed: &AtomicBool,
) -> std::io::Result<()> {
    let port = stream.local_addr()?.port();
    let path = req.path().to_string();
    if path == "/die.gif" {
        // The browser is loading /crash/: kill it (every process pixscan started), once.
        let pid = victim.load(Ordering::SeqCst);
        if pid != 0 && !killed.swap(true, Ordering::SeqCst) {
            for p in descendants(pid) {
                unsafe { libc::kill(p as i32, libc::SIGKILL) };
            }
        }
        return Ok(());
    }
    let (ctype, extra, bytes): (&str, &str, Vec<u8>) =
        if path == "/" || path == "/crash/" || path.starts_with("/p/") {
            (
                "text/html; charset=utf-8",
                "Set-Cookie: srv=s9Tq4Lm2Zx7Rw3Kb; Path=/; Max-Age=3600\r\n",
                page(&path, pages, port, crash).into_bytes(),
            )
        } else if path == "/shared.js" {
            (
                "application/javascript",
                "Cache-Control: public, max-age=3600\r\n",
                b"window.__sharedLoads = (window.__sharedLoads || 0) + 1;".to_vec(),
            )
        } else if path.ends_with(".gif") {
            ("image/gif", "", GIF.to_vec())
        } else {
            ("text/plain", "", b"not found".to_vec())
        };
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    )?;
    stream.write_all(&bytes)?;
    stream.flush()
}

/// Scans the site with `--browser`; `victim` learns pixscan's process id before Chromium
/// starts loading pages (the crawl comes first).
fn scan(site: &Site, start_path: &str, extra: &[&str]) -> (Value, String) {
    let mut c = pixscan();
    c.args([
        "site",
        &format!("http://www.fresh.test:{}{start_path}", site.server.port),
        "--browser",
        "--no-progress",
        "--no-sitemap",
        "--format",
        "json",
    ]);
    for h in HOSTS {
        c.args(["--resolve", &format!("{h}:{}:127.0.0.1", site.server.port)]);
    }
    c.args(extra);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("run pixscan");
    site.victim.store(child.id(), Ordering::SeqCst);
    let out = child.wait_with_output().expect("pixscan output");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !stderr.contains("Chromium not found") && !stderr.contains("cannot start Chromium"),
        "the browser tests need Chromium (CI installs it: apt-get install chromium): {stderr}"
    );
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}); stderr: {stderr}"));
    (json, stderr)
}

fn runtime_urls(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["runtime"]["url"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn every_page_is_a_first_visit() {
    let pages = 6;
    let site = start(pages, false);
    // One tab at a time: page N+1 loads after page N set its cookies and storage.
    let (json, stderr) = scan(&site, "/", &["--concurrency", "1", "--max-pages", "6"]);
    let docs = json["documents"].as_array().expect("documents");
    assert_eq!(docs.len(), pages, "{stderr}");
    for d in docs {
        let src = d["source"].as_str().unwrap();
        assert!(
            d["browser"]["error"].is_null(),
            "{src}: {}",
            d["browser"]["error"]
        );
        let urls = runtime_urls(d);
        assert!(
            urls.iter().any(|u| u.contains("/first.gif")),
            "{src}: the page saw a first visit: {urls:?}"
        );
        assert!(
            !urls.iter().any(|u| u.contains("/returning.gif")),
            "{src}: the page saw a returning visitor: {urls:?}"
        );
        // What Chromium's jar and storage held for this page: its own marks, once.
        let cookies: Vec<&str> = d["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert!(
            cookies.contains(&"seen") && cookies.contains(&"srv"),
            "{src}: {cookies:?}"
        );
        let storage: Vec<&str> = d["local_storage"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["key"].as_str())
            .collect();
        assert_eq!(storage, vec!["seen"], "{src}");
    }
    // The server's side: no browser request for a page carried a cookie from an earlier
    // page, and the cacheable script was fetched once per page (no shared HTTP cache).
    let log = site.server.requests();
    let navigations: Vec<&Request> = log
        .iter()
        .filter(|r| {
            from_browser(r)
                && (r.target == "/" || r.target == "/crash/" || r.target.starts_with("/p/"))
        })
        .collect();
    assert_eq!(navigations.len(), pages, "{navigations:?}");
    for n in &navigations {
        assert_eq!(n.cookie(), None, "{} was loaded with cookies", n.target);
    }
    let scripts = log
        .iter()
        .filter(|r| from_browser(r) && r.target == "/shared.js")
        .count();
    assert_eq!(scripts, pages, "the script came from a shared cache");
}

#[test]
fn a_browser_that_dies_costs_only_the_page_it_was_loading() {
    let pages = 4;
    let site = start(pages, true);
    let (json, stderr) = scan(&site, "/", &["--concurrency", "1", "--max-pages", "5"]);
    let docs = json["documents"].as_array().expect("documents");
    assert_eq!(docs.len(), pages + 1, "{stderr}");
    let crash = docs
        .iter()
        .find(|d| d["source"].as_str().unwrap().ends_with("/crash/"))
        .expect("the crash page was crawled");
    let error = crash["browser"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Chromium stopped while this page was loading")
            && error.contains("a new browser took over"),
        "{error}"
    );
    for d in docs.iter().filter(|d| !std::ptr::eq(*d, crash)) {
        let src = d["source"].as_str().unwrap();
        assert!(
            d["browser"]["error"].is_null(),
            "{src}: {}",
            d["browser"]["error"]
        );
        assert!(
            runtime_urls(d).iter().any(|u| u.contains("/first.gif")),
            "{src}"
        );
    }
    // Pixscan exits cleanly, the failed page shown in the report.
    assert!(!stderr.contains("panicked"), "{stderr}");
}
