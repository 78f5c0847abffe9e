//! What the integration tests share: the pixscan launcher ([`pixscan`]), the one HTTP
//! test server on 127.0.0.1 ([`Server`], in `http.rs`), and on top of it the site fixture
//! server ([`start`]): static files from a fixture folder plus special routes (redirects,
//! errors, delays, oversized bodies) from `routes.toml`, `Connection: close`.

#![allow(dead_code)]

pub mod http;

use http::Request;
pub use http::Server;

/// The pixscan binary, run from the package root with none of the ambient variables that
/// change its output (GitHub Actions mode, colour choices, a Kubernetes shard index): one launcher for every test.
pub fn pixscan() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pixscan"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    for var in [
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "JOB_COMPLETION_INDEX",
    ] {
        c.env_remove(var);
    }
    c
}

/// A run's stdout and stderr, for assertion messages and searches over both.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `source` of each document of a JSON report, in report order.
pub fn sources(v: &serde_json::Value) -> Vec<String> {
    v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["source"].as_str().unwrap().to_string())
        .collect()
}

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Route {
    pub status: u16,
    pub location: Option<String>,
    pub file: Option<String>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    pub delay_ms: u64,
    pub generate_bytes: usize,
    pub headers: Vec<(String, String)>,
}

pub fn load_routes(path: &Path) -> HashMap<String, Route> {
    let mut routes = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return routes;
    };
    let v: toml::Value = toml::from_str(&text).expect("routes.toml parses");
    for r in v
        .get("route")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
    {
        let s = |k: &str| r.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let route = Route {
            status: r.get("status").and_then(|x| x.as_integer()).unwrap_or(200) as u16,
            location: s("location"),
            file: s("file"),
            body: s("body"),
            content_type: s("content_type"),
            delay_ms: r.get("delay_ms").and_then(|x| x.as_integer()).unwrap_or(0) as u64,
            generate_bytes: r
                .get("generate_bytes")
                .and_then(|x| x.as_integer())
                .unwrap_or(0) as usize,
            headers: r
                .get("headers")
                .and_then(|h| h.as_table())
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        routes.insert(s("path").expect("route path"), route);
    }
    routes
}

/// Starts a server for `root` (with `root/public` and `root/routes.toml`), or for any extra
/// routes given.
pub fn start(root: &Path, extra: HashMap<String, Route>) -> Server {
    let mut routes = load_routes(&root.join("routes.toml"));
    routes.extend(extra);
    let public = root.join("public");
    Server::start(move |req, conn| handle(req, conn, &routes, &public))
}

fn content_type_for(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "xml" => "application/xml",
        "txt" => "text/plain",
        "json" => "application/json",
        "css" => "text/css",
        "js" => "application/javascript",
        "gif" => "image/gif",
        "png" => "image/png",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn handle(
    req: &Request,
    conn: &mut TcpStream,
    routes: &HashMap<String, Route>,
    public: &Path,
) -> std::io::Result<()> {
    // `{{BASE}}` in text bodies: the server's own base URL.
    let base = format!("http://127.0.0.1:{}", conn.local_addr()?.port());
    let path = req.path().to_string();
    let route = routes.get(&path).cloned().unwrap_or_default();
    if route.delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(route.delay_ms));
    }
    let mut status = if routes.contains_key(&path) {
        route.status
    } else {
        200
    };
    let mut ctype = route.content_type.clone();
    let body: Vec<u8> = if let Some(b) = &route.body {
        b.clone().into_bytes()
    } else if route.generate_bytes > 0 {
        let mut s = String::from("<!DOCTYPE html><html><body>");
        while s.len() < route.generate_bytes {
            s.push_str("<p>filler text for an oversized page, nothing to see here</p>\n");
        }
        ctype.get_or_insert("text/html; charset=utf-8".into());
        s.into_bytes()
    } else if (300..400).contains(&status)
        || status >= 400 && route.file.is_none() && routes.contains_key(&path)
    {
        format!("<html><body>{status}</body></html>").into_bytes()
    } else {
        let rel = route.file.clone().unwrap_or_else(|| {
            let p = path.trim_start_matches('/');
            if p.is_empty() || p.ends_with('/') {
                format!("{p}index.html")
            } else {
                p.to_string()
            }
        });
        let mut file = public.join(&rel);
        if file.is_dir() {
            file = file.join("index.html");
        }
        match std::fs::read(&file) {
            Ok(b) => {
                ctype.get_or_insert(content_type_for(&file.to_string_lossy()).into());
                b
            }
            Err(_) => {
                status = 404;
                b"<html><body>not found</body></html>".to_vec()
            }
        }
    };
    let ctype = ctype.unwrap_or_else(|| "text/html; charset=utf-8".into());
    let body = if ctype.starts_with("text/") || ctype.contains("xml") {
        String::from_utf8_lossy(&body)
            .replace("{{BASE}}", &base)
            .into_bytes()
    } else {
        body
    };
    let mut head = format!("HTTP/1.1 {status} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n", reason(status), body.len());
    if let Some(loc) = &route.location {
        head.push_str(&format!("Location: {loc}\r\n"));
    }
    for (k, v) in &route.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(&body)?;
    conn.flush()?;
    // Wait for the client to close first (no reset of an unread request).
    let _ = conn.read(&mut [0u8; 1]);
    Ok(())
}
