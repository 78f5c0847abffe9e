//! `pixscan site` against a fault-injecting server on 127.0.0.1 (this file's own code, std
//! threads): bodies that drip a byte every 200 ms or never end, a gzip bomb (1 GiB of zeros
//! in about 1 MB), redirect loops and chains of 20, a page with 10,000 links, an endless
//! calendar, wrong content types, invalid UTF-8, connections reset or cut mid-body, replies
//! that are not HTTP, and a self-signed TLS endpoint (through the `openssl` command, when the
//! machine has it). Every crawl runs with small limits and must end within them, never
//! panic, and list every URL it did not scan with a reason.
//!
//! The server only ever listens on 127.0.0.1; every handler stops by itself (bounded in
//! bytes and time) and the accept loop stops when its test ends.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http::{respond, Server};
use support::pixscan;

/// No handler runs longer than this, whatever the client does.
const HANDLER_LIMIT: Duration = Duration::from_secs(40);

// ---------------------------------------------------------------------------------------
// The fault-injecting server
// ---------------------------------------------------------------------------------------

type Handler = dyn Fn(&str, &mut TcpStream) -> std::io::Result<()> + Send + Sync;

/// The shared test server (`tests/support`), answering by request target, with this
/// suite's timeouts: 5 s to read a request and 5 s per write, so a client that stops
/// reading can't hold a handler.
fn serve(handler: Arc<Handler>) -> Server {
    Server::start_with(
        Some(Duration::from_secs(5)),
        Some(Duration::from_secs(5)),
        move |req, conn| handler(&req.target, conn),
    )
}

fn html(conn: &mut TcpStream, body: &str) -> std::io::Result<()> {
    respond(
        conn,
        "200 OK",
        &[
            ("Content-Type", "text/html; charset=utf-8".into()),
            ("Content-Length", body.len().to_string()),
        ],
        body.as_bytes(),
    )
}

fn not_found(conn: &mut TcpStream) -> std::io::Result<()> {
    respond(
        conn,
        "404 Not Found",
        &[("Content-Length", "0".into())],
        b"",
    )
}

fn redirect(conn: &mut TcpStream, to: &str) -> std::io::Result<()> {
    respond(
        conn,
        "302 Found",
        &[("Location", to.into()), ("Content-Length", "0".into())],
        b"",
    )
}

/// Writes `chunk` every `every` until the client goes away, `max_bytes` are out or the
/// handler's time is up.
fn drip(
    conn: &mut TcpStream,
    chunk: &[u8],
    every: Duration,
    max_bytes: u64,
) -> std::io::Result<()> {
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < max_bytes && start.elapsed() < HANDLER_LIMIT {
        conn.write_all(chunk)?;
        conn.flush()?;
        sent += chunk.len() as u64;
        if !every.is_zero() {
            std::thread::sleep(every);
        }
    }
    Ok(())
}

/// Closes with a TCP reset instead of a FIN (SO_LINGER with a zero timeout).
fn reset(conn: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized `linger` for SOL_SOCKET/SO_LINGER.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(conn);
}

/// 1 GiB of zeros as gzip, about 1 MB: one megabyte of zeros deflated and sync-flushed
/// (byte-aligned, and its back-references only reach zeros) repeated 1024 times, a final
/// empty block, and the real CRC and size. Built once.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mb = vec![0u8; 1 << 20];
        let mut c = flate2::Compress::new(flate2::Compression::best(), false);
        let mut block = Vec::with_capacity(1 << 16);
        c.compress_vec(&mb, &mut block, flate2::FlushCompress::Sync)
            .unwrap();
        assert_eq!(
            c.total_in(),
            1 << 20,
            "one pass deflates the whole megabyte"
        );
        let mut one = flate2::Crc::new();
        one.update(&mb);
        let mut crc = flate2::Crc::new();
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        for _ in 0..1024 {
            out.extend_from_slice(&block);
            crc.combine(&one);
        }
        out.extend_from_slice(&[0x03, 0x00]);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&crc.amount().to_le_bytes());
        out
    })
}

#[test]
fn the_gzip_bomb_is_real() {
    let bomb = gzip_bomb();
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    // Inflate the first 64 MiB and the declared size: zeros, and 1 GiB.
    let mut d = flate2::read::GzDecoder::new(bomb).take(64 << 20);
    let mut buf = vec![1u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = d.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|&b| b == 0));
        total += n;
    }
    assert_eq!(total, 64 << 20);
    let isize = u32::from_le_bytes(bomb[bomb.len() - 4..].try_into().unwrap());
    assert_eq!(isize, 1 << 30);
}

const PIXEL: &str = "<img src=\"https://www.facebook.com/tr?id=1234567890&amp;ev=PageView\" width=\"1\" height=\"1\" style=\"display:none\">";

/// The routes linked from the index, and what the crawl must say about each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Scanned, with the pixel.
    Scanned,
    /// A document with an error containing this.
    Failed(&'static str),
    /// In summary.skipped with a reason containing this.
    Skipped(&'static str),
    /// Redirected out of scope, to this URL: listed as skipped, the target with the redirect
    /// chain as its reason, or the URL itself.
    OffSite(&'static str),
}

const ROUTES: &[(&str, Want)] = &[
    ("/ok", Want::Scanned),
    ("/slow-drip", Want::Failed("timeout")),
    ("/slow-headers", Want::Failed("timeout")),
    ("/endless", Want::Skipped("size limit")),
    ("/endless-chunked", Want::Skipped("size limit")),
    ("/gzip-bomb", Want::Skipped("size limit")),
    ("/huge-declared", Want::Skipped("size limit")),
    ("/loop-a", Want::Failed("redirect loop")),
    ("/chain/0", Want::Failed("too many redirects")),
    ("/image.png", Want::Skipped("not HTML")),
    ("/doc.pdf", Want::Skipped("not HTML")),
    ("/data.json", Want::Skipped("not HTML")),
    ("/no-content-type", Want::Scanned),
    ("/odd-charset", Want::Scanned),
    ("/invalid-utf8", Want::Scanned),
    ("/reset", Want::Failed("")),
    ("/truncated", Want::Failed("")),
    ("/not-http", Want::Failed("")),
    ("/empty-reply", Want::Failed("")),
    ("/endless-headers", Want::Failed("")),
    ("/endless-100-continue", Want::Failed("")),
    ("/redirect-to-file", Want::OffSite("file:///etc/passwd")),
    ("/bad-location", Want::Failed("location")),
    ("/many-links", Want::Scanned),
    ("/cal?month=0", Want::Scanned),
];

const MANY: usize = 10_000;

fn page(body: &str) -> String {
    format!("<!doctype html><html><head><title>t</title></head><body>{body}</body></html>")
}

fn hostile_site(target: &str, conn: &mut TcpStream) -> std::io::Result<()> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/" => {
            let links: String = ROUTES
                .iter()
                .map(|(r, _)| format!("<a href=\"{r}\">{r}</a>\n"))
                .collect();
            html(conn, &page(&format!("{PIXEL}{links}")))
        }
        "/robots.txt" | "/sitemap.xml" => not_found(conn),
        "/ok" | "/no-content-type" | "/odd-charset" => {
            let body = page(PIXEL);
            let ctype = match path {
                "/no-content-type" => None,
                "/odd-charset" => Some("text/html; charset=x-klingon-9"),
                _ => Some("text/html"),
            };
            let mut headers = vec![("Content-Length", body.len().to_string())];
            if let Some(c) = ctype {
                headers.push(("Content-Type", c.to_string()));
            }
            respond(conn, "200 OK", &headers, body.as_bytes())
        }
        "/slow-drip" => {
            respond(
                conn,
                "200 OK",
                &[
                    ("Content-Type", "text/html".into()),
                    ("Content-Length", "100000".into()),
                ],
                b"<",
            )?;
            drip(conn, b"p", Duration::from_millis(200), 100_000)
        }
        "/slow-headers" => {
            // Nothing at all until the client gives up (reads see its close).
            let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
            let start = Instant::now();
            let mut b = [0u8; 1];
            while start.elapsed() < HANDLER_LIMIT {
                match conn.read(&mut b) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            Ok(())
        }
        "/endless" => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><body>")?;
            let chunk = "<p>all work and no play makes a crawler a dull crawler</p>\n".repeat(1000);
            drip(conn, chunk.as_bytes(), Duration::ZERO, 1 << 30)
        }
        "/endless-chunked" => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")?;
            let data = "<p>again and again</p>\n".repeat(2000);
            let chunk = format!("{:x}\r\n{data}\r\n", data.len());
            drip(conn, chunk.as_bytes(), Duration::ZERO, 1 << 30)
        }
        "/gzip-bomb" => {
            let bomb = gzip_bomb();
            respond(
                conn,
                "200 OK",
                &[
                    ("Content-Type", "text/html".into()),
                    ("Content-Encoding", "gzip".into()),
                    ("Content-Length", bomb.len().to_string()),
                ],
                bomb,
            )
        }
        "/huge-declared" => {
            respond(
                conn,
                "200 OK",
                &[
                    ("Content-Type", "text/html".into()),
                    ("Content-Length", (10u64 << 30).to_string()),
                ],
                b"<html>",
            )?;
            drip(conn, b"<p>x</p>", Duration::from_millis(50), 1 << 20)
        }
        "/loop-a" => redirect(conn, "/loop-b"),
        "/loop-b" => redirect(conn, "/loop-a"),
        p if p.starts_with("/chain/") => {
            let n: usize = p[7..].parse().unwrap_or(0);
            if n < 20 {
                redirect(conn, &format!("/chain/{}", n + 1))
            } else {
                html(conn, &page("end of the chain"))
            }
        }
        "/image.png" | "/doc.pdf" | "/data.json" => {
            let ctype = match path {
                "/image.png" => "image/png",
                "/doc.pdf" => "application/pdf",
                _ => "application/json",
            };
            let body = page(PIXEL);
            respond(
                conn,
                "200 OK",
                &[
                    ("Content-Type", ctype.into()),
                    ("Content-Length", body.len().to_string()),
                ],
                body.as_bytes(),
            )
        }
        "/invalid-utf8" => {
            let mut body =
                b"<html><head><title>\xff\xfe broken \xc3\x28</title></head><body>\x80\x81"
                    .to_vec();
            body.extend_from_slice(PIXEL.as_bytes());
            body.extend_from_slice(b"\xed\xa0\x80</body></html>");
            respond(
                conn,
                "200 OK",
                &[
                    ("Content-Type", "text/html; charset=utf-8".into()),
                    ("Content-Length", body.len().to_string()),
                ],
                &body,
            )
        }
        "/reset" | "/truncated" => {
            let body = page(&format!("{PIXEL}{}", "<p>filler</p>".repeat(200)));
            respond(
                conn,
                "200 OK",
                &[
                    ("Content-Type", "text/html".into()),
                    ("Content-Length", "100000".into()),
                ],
                body.as_bytes(),
            )?;
            std::thread::sleep(Duration::from_millis(50));
            if path == "/reset" {
                reset(conn.try_clone()?);
            }
            Ok(())
        }
        "/not-http" => {
            conn.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02garbage\r\n\r\n")?;
            Ok(())
        }
        "/empty-reply" => Ok(()),
        "/endless-headers" => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")?;
            let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
            drip(conn, line.as_bytes(), Duration::ZERO, 1 << 30)
        }
        "/endless-100-continue" => drip(
            conn,
            b"HTTP/1.1 100 Continue\r\n\r\n",
            Duration::from_millis(1),
            1 << 30,
        ),
        "/redirect-to-file" | "/redirect-to-file-again" => redirect(conn, "file:///etc/passwd"),
        "/bad-location" => redirect(conn, "http://[::1"),
        "/many-links" => {
            let links: String = (0..MANY)
                .map(|i| format!("<a href=\"/many/{i}\">{i}</a>\n"))
                .collect();
            html(conn, &page(&links))
        }
        p if p.starts_with("/many/") => html(conn, &page("one of many")),
        "/cal" => {
            let month: u64 = query
                .strip_prefix("month=")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            html(
                conn,
                &page(&format!(
                    "month {month} <a href=\"/cal?month={}\">next</a>",
                    month + 1
                )),
            )
        }
        _ => not_found(conn),
    }
}

// ---------------------------------------------------------------------------------------
// Running the crawler
// ---------------------------------------------------------------------------------------

struct Run {
    code: i32,
    json: Value,
    stderr: String,
    wall: Duration,
    peak_rss_kb: u64,
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `pixscan site --format json ARGS`, with wall time and peak RSS; killed after 2 minutes.
/// How long a crawl ran: from the server's first request to now (just after the process
/// ended). A deadline bounds the crawl, not the process start, which a loaded machine can
/// stretch by seconds in a debug build.
fn crawl_time(first: &OnceLock<Instant>) -> Duration {
    first.get().expect("the crawl made no request").elapsed()
}

fn site(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let start = Instant::now();
    let mut child = pixscan()
        .args(["site", "--format", "json", "--no-progress"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pixscan site {args:?} still running after 2 minutes: killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = start.elapsed();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "pixscan panicked: {stderr}");
    let stdout = std::fs::read(&out).unwrap();
    let json = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); exit {:?}; stderr: {stderr}; stdout: {}",
            status.code(),
            String::from_utf8_lossy(&stdout[..stdout.len().min(2000)])
        )
    });
    Run {
        code: status.code().unwrap_or(-1),
        json,
        stderr,
        wall,
        peak_rss_kb: peak,
    }
}

const LIMITS: &[&str] = &[
    "--timeout",
    "1s",
    "--max-body",
    "1MB",
    "--max-pages",
    "50",
    "--total-timeout",
    "20s",
];

fn docs(v: &Value) -> &Vec<Value> {
    v["documents"].as_array().unwrap()
}

fn skipped(v: &Value) -> &Vec<Value> {
    v["summary"]["skipped"].as_array().unwrap()
}

fn doc_for<'a>(v: &'a Value, url: &str) -> Option<&'a Value> {
    docs(v).iter().find(|d| d["source"] == url)
}

fn skip_for<'a>(v: &'a Value, url: &str) -> Option<&'a Value> {
    skipped(v).iter().find(|s| s["url"] == url)
}

/// Every URL is accounted for exactly once: a document (scanned, or with an error) or a
/// skip with a reason.
fn assert_accounted(v: &Value, urls: &[String]) {
    let mut listed: HashMap<&str, (usize, usize)> = HashMap::new();
    for d in docs(v) {
        listed.entry(d["source"].as_str().unwrap()).or_default().0 += 1;
    }
    for s in skipped(v) {
        listed.entry(s["url"].as_str().unwrap()).or_default().1 += 1;
    }
    let mut missing = Vec::new();
    for u in urls {
        let (d, s) = listed.get(u.as_str()).copied().unwrap_or_default();
        if d + s != 1 {
            missing.push(format!("{u}: {d} document(s), {s} skip(s)"));
        }
    }
    assert!(
        missing.is_empty(),
        "{} URL(s) not accounted for exactly once:\n{}",
        missing.len(),
        missing[..missing.len().min(20)].join("\n")
    );
    for s in skipped(v) {
        assert!(
            !s["reason"].as_str().unwrap_or("").trim().is_empty(),
            "a skip without a reason: {s}"
        );
    }
    for d in docs(v) {
        if let Some(e) = d["error"].as_str() {
            assert!(!e.trim().is_empty(), "an empty error: {d}");
        }
    }
}

fn has_pixel(d: &Value) -> bool {
    d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["url"].as_str().unwrap().contains("facebook.com/tr"))
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn hostile_site_is_crawled_within_limits() {
    let server = serve(Arc::new(hostile_site));
    let start_url = server.url("/");
    let mut args = LIMITS.to_vec();
    args.push(&start_url);
    let r = site(&args);
    let v = &r.json;
    eprintln!(
        "hostile site: {:?}, peak RSS {} MB, {} documents, {} skipped",
        r.wall,
        r.peak_rss_kb / 1024,
        docs(v).len(),
        skipped(v).len()
    );
    assert!(r.wall < Duration::from_secs(30), "took {:?}", r.wall);
    assert!(
        r.peak_rss_kb < 512 * 1024,
        "peak RSS {} MB (the gzip bomb must stop at --max-body)",
        r.peak_rss_kb / 1024
    );
    // Pages failed, but some were scanned: not a usage error; tracking found: 1.
    assert_eq!(r.code, 1, "{}", r.stderr);

    // Every route, as expected.
    let mut failures = Vec::new();
    for (route, want) in ROUTES {
        let url = server.url(route);
        let (d, s) = (doc_for(v, &url), skip_for(v, &url));
        let ok = match want {
            Want::Scanned => d.is_some_and(|d| {
                d["error"].is_null()
                    && has_pixel(d) == (*route != "/many-links" && !route.starts_with("/cal"))
            }),
            Want::Failed(why) => d.is_some_and(|d| {
                d["error"]
                    .as_str()
                    .is_some_and(|e| e.to_lowercase().contains(&why.to_lowercase()))
            }),
            Want::Skipped(why) => s.is_some_and(|s| {
                s["reason"]
                    .as_str()
                    .is_some_and(|e| e.to_lowercase().contains(&why.to_lowercase()))
            }),
            Want::OffSite(target) => {
                s.is_some()
                    || skip_for(v, target).is_some_and(|s| {
                        s["reason"].as_str().is_some_and(|e| {
                            e.contains("out of scope") && e.contains(&format!("{url} → {target}"))
                        })
                    })
            }
        };
        if !ok {
            failures.push(format!(
                "{route}: want {want:?}, got document {:?} / skip {:?}",
                d.map(|d| (&d["error"], d["findings"].as_array().map(Vec::len))),
                s.map(|s| &s["reason"])
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every URL discovered: the index, its routes, the 10,000 links and the next month.
    let mut urls: Vec<String> = vec![start_url.clone()];
    urls.extend(
        ROUTES
            .iter()
            .filter(|(_, w)| !matches!(w, Want::OffSite(_)))
            .map(|(r, _)| server.url(r)),
    );
    urls.extend((0..MANY).map(|i| server.url(&format!("/many/{i}"))));
    urls.push(server.url("/cal?month=1"));
    assert_accounted(v, &urls);
    // The page limit holds, and what it cut is listed as such.
    let fetched: BTreeSet<String> = server
        .targets()
        .into_iter()
        .filter(|t| !matches!(t.as_str(), "/robots.txt" | "/sitemap.xml"))
        .filter(|t| !t.starts_with("/chain/") && t != "/loop-b")
        .collect();
    assert!(fetched.len() <= 50, "{} pages fetched", fetched.len());
    let by_limit = skipped(v)
        .iter()
        .filter(|s| s["reason"].as_str().unwrap().contains("--max-pages"))
        .count();
    assert!(
        by_limit >= MANY - 50,
        "{by_limit} skipped by the page limit"
    );
    // Every page the server was asked for is in the report.
    for t in &fetched {
        let url = server.url(t);
        let in_a_chain = skipped(v)
            .iter()
            .any(|s| s["reason"].as_str().unwrap().contains(&format!("{url} → ")));
        assert!(
            doc_for(v, &url).is_some() || skip_for(v, &url).is_some() || in_a_chain,
            "{url} was fetched but is not in the report"
        );
    }
    // Redirects followed are recorded on the failed document.
    let chain = doc_for(v, &server.url("/chain/0")).unwrap();
    assert!(chain["redirects"].as_array().is_some_and(|r| r.len() >= 10));
}

#[test]
fn crawler_trap_ends_at_the_page_limit() {
    let server = serve(Arc::new(hostile_site));
    let start = server.url("/cal?month=0");
    let mut args = LIMITS.to_vec();
    args.push(&start);
    let r = site(&args);
    let v = &r.json;
    assert!(r.wall < Duration::from_secs(30), "took {:?}", r.wall);
    assert_eq!(docs(v).len(), 50, "one document per page fetched");
    assert!(docs(v).iter().all(|d| d["error"].is_null()));
    let next = server.url("/cal?month=50");
    let s = skip_for(v, &next).expect("the first month not fetched is listed");
    assert!(
        s["reason"].as_str().unwrap().contains("--max-pages 50"),
        "{s}"
    );
    let urls: Vec<String> = (0..=50)
        .map(|m| server.url(&format!("/cal?month={m}")))
        .collect();
    assert_accounted(v, &urls);

    // With --depth the trap ends sooner, and says why.
    let r = site(&["--depth", "5", "--timeout", "1s", &start]);
    let v = &r.json;
    assert_eq!(docs(v).len(), 6);
    let s = skip_for(v, &server.url("/cal?month=6")).expect("depth limit listed");
    assert!(s["reason"].as_str().unwrap().contains("--depth 5"), "{s}");
}

#[test]
fn redirect_limits() {
    let server = serve(Arc::new(hostile_site));
    // A chain of 20 is followed with --max-redirects 20, and each hop recorded.
    let start = server.url("/chain/0");
    let r = site(&["--max-redirects", "20", "--timeout", "1s", &start]);
    let d = &docs(&r.json)[0];
    assert!(d["error"].is_null(), "{d}");
    assert_eq!(d["source"], server.url("/chain/20").as_str());
    assert_eq!(d["redirects"].as_array().unwrap().len(), 20, "{d}");
    // A loop is named as one, with its hops.
    let r = site(&["--timeout", "1s", &server.url("/loop-a")]);
    let d = &docs(&r.json)[0];
    let e = d["error"].as_str().unwrap();
    assert!(e.contains("redirect loop") && e.contains("/loop-b"), "{e}");
    assert_eq!(r.code, 2, "no page could be scanned");
}

/// Several pages redirect out of scope to the same place, one of them also linked
/// directly: each page that was requested and not scanned must still be listed.
#[test]
fn offsite_redirects_are_all_accounted() {
    let server = serve(Arc::new(
        |target: &str, conn: &mut TcpStream| match target {
            "/" => html(
                conn,
                &page(
                    "<a href=\"/away-1\">1</a><a href=\"/away-2\">2</a><a href=\"/away-3\">3</a>\
                     <a href=\"https://elsewhere.example/\">direct</a>",
                ),
            ),
            "/away-1" | "/away-2" | "/away-3" => redirect(conn, "https://elsewhere.example/"),
            _ => not_found(conn),
        },
    ));
    let start = server.url("/");
    let r = site(&["--timeout", "1s", &start]);
    let v = &r.json;
    let mut missing = Vec::new();
    for p in ["/away-1", "/away-2", "/away-3"] {
        let url = server.url(p);
        let listed = doc_for(v, &url).is_some()
            || skip_for(v, &url).is_some()
            || skipped(v)
                .iter()
                .any(|s| s["reason"].as_str().unwrap_or("").contains(&url));
        if !listed {
            missing.push(url);
        }
    }
    assert!(
        missing.is_empty(),
        "requested, redirected off-site, and not in the report: {missing:?}\nskipped: {:#?}",
        skipped(v)
    );
}

/// Pages that drip forever: the total time limit ends the crawl on time, and says what it
/// cut.
#[test]
fn total_timeout_ends_a_crawl_of_slow_pages() {
    let first = Arc::new(OnceLock::new());
    let f = first.clone();
    let server = serve(Arc::new(move |target: &str, conn: &mut TcpStream| {
        f.get_or_init(Instant::now);
        match target {
            "/robots.txt" | "/sitemap.xml" => not_found(conn),
            _ => {
                respond(
                    conn,
                    "200 OK",
                    &[
                        ("Content-Type", "text/html".into()),
                        ("Content-Length", "1000000".into()),
                    ],
                    b"<html>",
                )?;
                drip(conn, b"x", Duration::from_millis(200), 1_000_000)
            }
        }
    }));
    let start = server.url("/");
    let r = site(&["--timeout", "30s", "--total-timeout", "3s", &start]);
    let crawl = crawl_time(&first);
    eprintln!(
        "slow pages: {:?} in all, {crawl:?} from the first request",
        r.wall
    );
    assert!(
        crawl < Duration::from_secs(5),
        "--total-timeout 3s, but the crawl went on for {crawl:?} after its first request"
    );
    let s = skip_for(&r.json, &start).expect("the start URL is listed");
    assert!(
        s["reason"].as_str().unwrap().contains("--total-timeout"),
        "{s}"
    );
    assert_eq!(r.code, 2, "no page could be scanned");
}

/// robots.txt and sitemap.xml that drip forever are part of the crawl: --total-timeout
/// bounds them too.
#[test]
fn total_timeout_covers_robots_and_sitemaps() {
    let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
    let b = base.clone();
    let first = Arc::new(OnceLock::new());
    let f = first.clone();
    let server = serve(Arc::new(move |target: &str, conn: &mut TcpStream| {
        f.get_or_init(Instant::now);
        let base = b.get().map(String::as_str).unwrap_or("");
        let (path, _) = target.split_once('?').unwrap_or((target, ""));
        match path {
            "/robots.txt" => {
                respond(
                    conn,
                    "200 OK",
                    &[
                        ("Content-Type", "text/plain".into()),
                        ("Content-Length", "1000000".into()),
                    ],
                    b"User-agent: *\n",
                )?;
                drip(conn, b"#", Duration::from_millis(200), 1_000_000)
            }
            "/sitemap.xml" => {
                // An index of ten sitemaps, each of which drips.
                let body: String = (0..10)
                    .map(|i| format!("<sitemap><loc>{base}/sitemap-{i}.xml</loc></sitemap>"))
                    .collect();
                let body = format!("<sitemapindex>{body}</sitemapindex>");
                respond(
                    conn,
                    "200 OK",
                    &[
                        ("Content-Type", "application/xml".into()),
                        ("Content-Length", body.len().to_string()),
                    ],
                    body.as_bytes(),
                )
            }
            p if p.starts_with("/sitemap-") => {
                respond(
                    conn,
                    "200 OK",
                    &[
                        ("Content-Type", "application/xml".into()),
                        ("Content-Length", "1000000".into()),
                    ],
                    b"<urlset>",
                )?;
                drip(conn, b" ", Duration::from_millis(200), 1_000_000)
            }
            _ => html(conn, &page(PIXEL)),
        }
    }));
    base.set(server.base.clone()).unwrap();
    let start = server.url("/");
    let r = site(&["--timeout", "5s", "--total-timeout", "3s", &start]);
    let crawl = crawl_time(&first);
    eprintln!(
        "slow robots.txt and sitemaps: {:?} in all, {crawl:?} from the first request",
        r.wall
    );
    assert!(
        crawl < Duration::from_secs(5),
        "--total-timeout 3s, but the crawl went on for {crawl:?} after its first request (robots.txt and sitemaps are fetched before the deadline applies)"
    );
    // What the deadline cut is listed, with the reason.
    let v = &r.json;
    let robots = skip_for(v, &server.url("/robots.txt")).expect("robots.txt listed");
    assert!(
        robots["reason"]
            .as_str()
            .unwrap()
            .contains("--total-timeout"),
        "{robots}"
    );
    assert!(
        doc_for(v, &start).is_some() || skip_for(v, &start).is_some(),
        "the start URL is accounted for"
    );
}

/// A self-signed HTTPS endpoint (served by `openssl s_server`): refused by default with a
/// reason that names the certificate and the way out, scanned with --insecure.
#[test]
fn self_signed_tls() {
    if Command::new("openssl")
        .arg("version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("SKIPPED: no `openssl` command on this machine for the TLS endpoint");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    std::fs::write(d.join("index.html"), page(PIXEL)).unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "cert.pem",
            "-key",
            "key.pem",
            "-WWW",
            "-quiet",
        ])
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let result = std::panic::catch_unwind(|| {
        assert!(ready, "openssl s_server did not start");
        let url = format!("https://127.0.0.1:{port}/index.html");
        let r = site(&["--timeout", "5s", "--no-sitemap", &url]);
        let doc = &docs(&r.json)[0];
        let e = doc["error"].as_str().unwrap_or("");
        assert!(
            e.contains("certificate") && e.contains("--insecure"),
            "{}",
            doc
        );
        assert_eq!(r.code, 2);
        let r = site(&["--timeout", "5s", "--no-sitemap", "--insecure", &url]);
        let doc = &docs(&r.json)[0];
        assert!(doc["error"].is_null(), "{doc}");
        assert!(has_pixel(doc), "{doc}");
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
