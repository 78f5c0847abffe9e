//! Integration tests for `pixscan site`: a real HTTP server on 127.0.0.1 serving the
//! fixture site, and the fixture build folder.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::pixscan;

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(p)
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Matches a finding against an expectation table (kind, url_contains, entity, account,
/// consent, tracking, party, evidence_contains).
fn matches(f: &Value, e: &toml::Value) -> bool {
    let want = |k: &str| e.get(k).and_then(|v| v.as_str());
    let s = |k: &str| f[k].as_str().unwrap_or("");
    want("kind").is_none_or(|k| s("kind") == k)
        && want("url_contains").is_none_or(|u| {
            s("url")
                .to_ascii_lowercase()
                .contains(&u.to_ascii_lowercase())
        })
        && want("entity").is_none_or(|x| s("entity") == x)
        && want("account").is_none_or(|x| s("account") == x)
        && want("consent").is_none_or(|x| s("consent") == x)
        && want("party").is_none_or(|x| s("party") == x)
        && e.get("tracking")
            .and_then(|t| t.as_bool())
            .is_none_or(|t| f["tracking"].as_bool() == Some(t))
        && want("evidence_contains").is_none_or(|x| {
            f["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|ev| ev.as_str().unwrap().contains(x))
        })
        && e.get("line")
            .and_then(|v| v.as_integer())
            .is_none_or(|l| f["line"].as_i64() == Some(l))
        && e.get("column")
            .and_then(|v| v.as_integer())
            .is_none_or(|c| f["column"].as_i64() == Some(c))
}

fn describe(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "\n      [{} tracking={} entity={} account={} consent={} url={} line={} col={}]",
                f["kind"],
                f["tracking"],
                f["entity"],
                f["account"],
                f["consent"],
                f["url"],
                f["line"],
                f["column"]
            )
        })
        .collect()
}

#[test]
fn crawl_matches_expectations_page_by_page() {
    let server = support::start(&fixture("site"), HashMap::new());
    let out = pixscan()
        .args([
            "site",
            "--format",
            "json",
            "--timeout",
            "1s",
            "--max-body",
            "2MB",
            "--max-pages",
            "200",
        ])
        .arg(format!("{}/", server.base))
        .output()
        .unwrap();
    let json = json_of(&out);
    assert_eq!(json["command"], "site");
    let docs = json["documents"].as_array().unwrap();
    let skipped = json["summary"]["skipped"].as_array().unwrap();
    let expected: toml::Value =
        toml::from_str(&std::fs::read_to_string(fixture("site/expected.toml")).unwrap()).unwrap();
    let pages = expected["page"].as_array().unwrap();
    assert!(pages.len() >= 30, "at least 30 pages are described");
    let full = |p: &str| {
        if p.starts_with("http") {
            p.to_string()
        } else {
            format!("{}{p}", server.base)
        }
    };
    let mut failures = Vec::new();
    for page in pages {
        let path = page["path"].as_str().unwrap();
        let url = full(path);
        let status = page["status"].as_str().unwrap();
        let mut fail = |why: String| failures.push(format!("{path}: {why}"));
        let doc = docs.iter().find(|d| d["source"] == url.as_str());
        let skip = skipped.iter().find(|s| s["url"] == url.as_str());
        let reason_ok = |r: &str| {
            page.get("reason_contains")
                .and_then(|v| v.as_str())
                .is_none_or(|want| r.to_ascii_lowercase().contains(&want.to_ascii_lowercase()))
        };
        match status {
            "scanned" => {
                let Some(doc) = doc.filter(|d| d["error"].is_null()) else {
                    fail(format!(
                        "not scanned (document: {:?}, skipped: {:?})",
                        doc.map(|d| &d["error"]),
                        skip.map(|s| &s["reason"])
                    ));
                    continue;
                };
                let findings = doc["findings"].as_array().unwrap();
                if let Some(cps) = page.get("consent_platforms").and_then(|v| v.as_array()) {
                    let mut want: Vec<&str> = cps.iter().map(|c| c.as_str().unwrap()).collect();
                    let mut got: Vec<&str> = doc["consent_platforms"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().unwrap())
                        .collect();
                    want.sort();
                    got.sort();
                    if want != got {
                        fail(format!("consent platforms: want {want:?}, got {got:?}"));
                    }
                }
                if let Some(r) = page.get("referrer_leaks").and_then(|v| v.as_bool()) {
                    if doc["referrer"]["leaks"].as_bool() != Some(r) {
                        fail(format!("referrer_leaks: want {r}, got {}", doc["referrer"]));
                    }
                }
                if let Some(p) = page.get("personal_data_in_url").and_then(|v| v.as_bool()) {
                    let got = !doc["personal_data_in_url"].as_array().unwrap().is_empty();
                    if got != p {
                        fail(format!(
                            "personal_data_in_url: want {p}, got {}",
                            doc["personal_data_in_url"]
                        ));
                    }
                }
                for e in page
                    .get("expect")
                    .and_then(|e| e.as_array())
                    .into_iter()
                    .flatten()
                {
                    if !findings.iter().any(|f| matches(f, e)) {
                        fail(format!("missing {e}\n    got: {}", describe(findings)));
                    }
                }
                for a in page
                    .get("absent")
                    .and_then(|e| e.as_array())
                    .into_iter()
                    .flatten()
                {
                    let u = a["url_contains"].as_str().unwrap();
                    if findings
                        .iter()
                        .any(|f| f["tracking"] == true && f["url"].as_str().unwrap().contains(u))
                    {
                        fail(format!("{u} must not be judged tracking"));
                    }
                }
            }
            "failed" => match doc {
                Some(d) if !d["error"].is_null() => {
                    if !reason_ok(d["error"].as_str().unwrap()) {
                        fail(format!(
                            "failed with {}, want reason containing {}",
                            d["error"], page["reason_contains"]
                        ));
                    }
                }
                _ => fail(format!(
                    "expected a failed document, got document {:?} / skipped {:?}",
                    doc.map(|d| &d["error"]),
                    skip.map(|s| &s["reason"])
                )),
            },
            "skipped" => match skip {
                Some(s) if reason_ok(s["reason"].as_str().unwrap()) => {}
                _ => fail(format!(
                    "expected skipped, got document {:?} / skipped {:?}",
                    doc.map(|d| &d["error"]),
                    skip.map(|s| &s["reason"])
                )),
            },
            other => fail(format!("unknown status {other}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} page expectation(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Robots and the audit rule: never fetch a disallowed page, never a tracker URL.
    let requests = server.targets();
    assert!(
        !requests.iter().any(|r| r.starts_with("/private/")),
        "robots.txt disallowed path was fetched: {requests:?}"
    );
    assert!(requests.iter().any(|r| r == "/robots.txt"));
    assert!(requests.iter().any(|r| r == "/sitemap.xml"));
    assert!(
        !requests
            .iter()
            .any(|r| r.contains(".gif?") || r.contains("/tr?") || r.contains("collect")),
        "a tracking URL was fetched: {requests:?}"
    );
    // Every document is accounted for in the summary.
    let s = &json["summary"];
    assert_eq!(s["inputs"].as_u64(), Some(docs.len() as u64));
    assert_eq!(
        s["scanned"].as_u64().unwrap() + s["failed"].as_u64().unwrap(),
        docs.len() as u64
    );
    assert_eq!(out.status.code(), Some(1), "tracking found");
}

#[test]
fn build_folder_findings_carry_file_line_and_column() {
    let out = pixscan()
        .args([
            "site",
            "--format",
            "json",
            "--base-url",
            "https://www.northwind.example/",
        ])
        .arg("fixtures/site-build")
        .output()
        .unwrap();
    let json = json_of(&out);
    let docs = json["documents"].as_array().unwrap();
    let expected: toml::Value =
        toml::from_str(&std::fs::read_to_string(fixture("site-build/expected.toml")).unwrap())
            .unwrap();
    let mut failures = Vec::new();
    for file in expected["file"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        let source = format!("fixtures/site-build/{path}");
        let Some(doc) = docs.iter().find(|d| d["source"] == source.as_str()) else {
            failures.push(format!("{path}: no document"));
            continue;
        };
        let findings = doc["findings"].as_array().unwrap();
        for e in file
            .get("expect")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            if !findings.iter().any(|f| matches(f, e)) {
                failures.push(format!(
                    "{path}: missing {e}\n    got: {}",
                    describe(findings)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} expectation(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn probe_is_opt_in_and_reports_real_image_size() {
    // A page on one local "site" and a pixel on another port: the pixel server must see a
    // request only with --probe.
    let gif = "GIF89a\u{1}\u{0}\u{1}\u{0}";
    let mut pixel_routes = HashMap::new();
    pixel_routes.insert(
        "/p.gif".to_string(),
        support::Route {
            status: 200,
            body: Some(gif.to_string()),
            content_type: Some("image/gif".into()),
            headers: vec![("Set-Cookie".into(), "uid=abc123; Path=/".into())],
            ..Default::default()
        },
    );
    let pixel = support::start(Path::new("/nonexistent"), pixel_routes);
    let mut page_routes = HashMap::new();
    page_routes.insert(
        "/".to_string(),
        support::Route {
            status: 200,
            body: Some(format!("<html><body><img src=\"http://localhost:{}/p.gif?uid=8f3a9c2be17d4e6fa0b1\" width=1 height=1></body></html>", pixel.port)),
            ..Default::default()
        },
    );
    let page = support::start(Path::new("/nonexistent"), page_routes);
    let run = |probe: bool| {
        let mut c = pixscan();
        c.args(["site", "--format", "json", "--no-sitemap"])
            .arg(format!("{}/", page.base));
        if probe {
            c.arg("--probe");
        }
        json_of(&c.output().unwrap())
    };
    let without = run(false);
    assert!(
        pixel.targets().is_empty(),
        "the tracker was contacted without --probe"
    );
    let f = &without["documents"][0]["findings"][0];
    assert_eq!(f["kind"], "beacon");
    let with = run(true);
    assert_eq!(pixel.targets().len(), 1);
    let ev: Vec<&str> = with["documents"][0]["findings"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        ev.iter()
            .any(|e| e.contains("image/gif") && e.contains("1×1") && e.contains("uid")),
        "{ev:?}"
    );
}

#[test]
fn crawl_limits_and_request_options() {
    let server = support::start(&fixture("site"), HashMap::new());
    let out = pixscan()
        .args([
            "site",
            "--format",
            "json",
            "--timeout",
            "1s",
            "--max-pages",
            "5",
            "--depth",
            "1",
            "--scope",
            "host",
        ])
        .args([
            "--header",
            "Authorization: Bearer staging-token",
            "--cookie",
            "session=abc123",
            "--user-agent",
            "pixscan-test/1.0",
        ])
        .arg(format!("{}/", server.base))
        .output()
        .unwrap();
    let json = json_of(&out);
    let docs = json["documents"].as_array().unwrap();
    assert!(docs.len() <= 5, "--max-pages 5: {} documents", docs.len());
    let skipped = json["summary"]["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["reason"].as_str().unwrap().contains("--max-pages")),
        "page limit is reported"
    );
    let requests = server.requests();
    let home = requests
        .iter()
        .find(|r| r.target == "/")
        .expect("home page fetched");
    let get = |k: &str| home.header(k);
    assert_eq!(get("authorization"), Some("Bearer staging-token"));
    assert_eq!(get("cookie"), Some("session=abc123"));
    assert_eq!(get("user-agent"), Some("pixscan-test/1.0"));

    // Depth 0: only the start page (and the sitemap's pages are one hop away).
    let out = pixscan()
        .args(["site", "--format", "json", "--depth", "0", "--no-sitemap"])
        .arg(format!("{}/", server.base))
        .output()
        .unwrap();
    let json = json_of(&out);
    assert_eq!(json["documents"].as_array().unwrap().len(), 1);
    assert!(json["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["reason"].as_str().unwrap().contains("--depth")));
}

#[test]
fn crawl_output_is_the_same_from_run_to_run() {
    let server = support::start(&fixture("site"), HashMap::new());
    let run = || {
        let out = pixscan()
            .args([
                "site",
                "--format",
                "json",
                "--timeout",
                "1s",
                "--max-body",
                "2MB",
                "--concurrency",
                "8",
            ])
            .arg(format!("{}/", server.base))
            .output()
            .unwrap();
        let json = json_of(&out);
        let docs: Vec<String> = json["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d["source"],
                    d["error"],
                    d["findings"].as_array().unwrap().len()
                )
            })
            .collect();
        let mut skipped: Vec<String> = json["summary"]["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["url"].to_string())
            .collect();
        skipped.sort();
        (docs, skipped)
    };
    let first = run();
    assert!(first.0.len() > 30);
    assert_eq!(first, run());
}

fn write_public(root: &Path, rel: &str, body: impl AsRef<[u8]>) {
    let p = root.join("public").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn plain_page(title: &str) -> String {
    format!("<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>\n")
}

fn scanned_sources(json: &Value) -> Vec<String> {
    json["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["error"].is_null())
        .map(|d| d["source"].as_str().unwrap().to_string())
        .collect()
}

fn skip_reason(json: &Value, url: &str) -> Option<String> {
    json["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["url"] == url)
        .map(|s| s["reason"].as_str().unwrap().to_string())
        .reduce(|a, b| format!("{a} | {b}"))
}

/// Gzip sitemaps: one named `.xml.gz` (served as application/octet-stream), one at a path
/// without `.gz` served as application/x-gzip. Both are inflated and their pages crawled;
/// a gzip bomb past --max-body is a note, not a crash.
#[test]
fn gzipped_sitemaps_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut routes = HashMap::new();
    routes.insert(
        "/feeds/pages".to_string(),
        support::Route {
            status: 200,
            file: Some("feeds/pages.bin".into()),
            content_type: Some("application/x-gzip".into()),
            ..Default::default()
        },
    );
    let server = support::start(root, routes);
    let base = &server.base;
    // The server reads files per request: the pages and sitemaps can name its port.
    write_public(root, "index.html", plain_page("Home"));
    write_public(
        root,
        "robots.txt",
        format!(
            "User-agent: *\nDisallow:\n\nSitemap: {base}/sitemaps/pages.xml.gz\nSitemap: {base}/feeds/pages\nSitemap: {base}/sitemaps/bomb.xml.gz\n"
        ),
    );
    let urlset = |paths: &[&str]| {
        let urls: String = paths
            .iter()
            .map(|p| format!("<url><loc>{base}{p}</loc></url>"))
            .collect();
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{urls}</urlset>\n")
    };
    write_public(
        root,
        "sitemaps/pages.xml.gz",
        gzip(urlset(&["/gz/one.html", "/gz/two.html"]).as_bytes()),
    );
    write_public(
        root,
        "feeds/pages.bin",
        gzip(urlset(&["/gz/three.html"]).as_bytes()),
    );
    // 50 MB of whitespace inside a urlset: far past --max-body once inflated.
    let mut bomb = urlset(&["/gz/bomb-page.html"]).into_bytes();
    bomb.splice(0..0, std::iter::repeat_n(b' ', 50_000_000));
    write_public(root, "sitemaps/bomb.xml.gz", gzip(&bomb));
    for p in [
        "gz/one.html",
        "gz/two.html",
        "gz/three.html",
        "gz/bomb-page.html",
    ] {
        write_public(root, p, plain_page(p));
    }

    let out = pixscan()
        .args([
            "site",
            "--format",
            "json",
            "--timeout",
            "5s",
            "--max-body",
            "1MB",
        ])
        .arg(format!("{base}/"))
        .output()
        .unwrap();
    let json = json_of(&out);
    let scanned = scanned_sources(&json);
    for p in ["/gz/one.html", "/gz/two.html", "/gz/three.html"] {
        assert!(
            scanned.contains(&format!("{base}{p}")),
            "{p} from a gzip sitemap was not scanned: {scanned:?}"
        );
    }
    assert!(
        !server.targets().iter().any(|r| r == "/gz/bomb-page.html"),
        "the bomb's page was taken"
    );
    let reason = skip_reason(&json, &format!("{base}/sitemaps/bomb.xml.gz"))
        .expect("the oversized sitemap is noted");
    assert!(
        reason.contains("size limit") && reason.contains("--max-body"),
        "{reason}"
    );
}

/// A sitemap index (which lists itself and a broken sitemap too) pointing to a sitemap
/// under a namespace prefix whose `<loc>` is CDATA; an image extension's `<image:loc>` is
/// not a page.
#[test]
fn sitemap_index_namespaces_and_cdata() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let server = support::start(root, HashMap::new());
    let base = &server.base;
    write_public(root, "index.html", plain_page("Home"));
    // No robots.txt: /sitemap.xml is read, and it is an index.
    write_public(
        root,
        "sitemap.xml",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/sitemap.xml</loc></sitemap>
  <sitemap><loc>{base}/maps/broken.xml</loc></sitemap>
  <sitemap>
    <loc>
      {base}/maps/prefixed.xml
    </loc>
    <lastmod>2026-11-01</lastmod>
  </sitemap>
</sitemapindex>
"#
        ),
    );
    write_public(
        root,
        "maps/prefixed.xml",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"
           xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <sm:url>
    <sm:loc><![CDATA[{base}/deep/cdata-page.html?a=1&b=2]]></sm:loc>
    <image:image><image:loc>{base}/img/hero.jpg</image:loc></image:image>
  </sm:url>
  <sm:url><sm:loc>{base}/deep/entity-page.html?a=1&amp;b=2</sm:loc></sm:url>
</sm:urlset>
"#
        ),
    );
    // Well-formed up to its second entry, then cut off.
    write_public(
        root,
        "maps/broken.xml",
        format!(
            "<urlset><url><loc>{base}/deep/before-break.html</loc></url><url><loc>{base}/deep/after-break.html</lox></url>"
        ),
    );
    for p in [
        "deep/cdata-page.html",
        "deep/entity-page.html",
        "deep/before-break.html",
    ] {
        write_public(root, p, plain_page(p));
    }

    let out = pixscan()
        .args(["site", "--format", "json", "--timeout", "5s"])
        .arg(format!("{base}/"))
        .output()
        .unwrap();
    let json = json_of(&out);
    let scanned = scanned_sources(&json);
    for p in [
        "/deep/cdata-page.html?a=1&b=2",
        "/deep/entity-page.html?a=1&b=2",
        "/deep/before-break.html",
    ] {
        assert!(
            scanned.contains(&format!("{base}{p}")),
            "{p} was not scanned: {scanned:?}"
        );
    }
    let requests = server.targets();
    assert_eq!(
        requests.iter().filter(|r| *r == "/sitemap.xml").count(),
        1,
        "an index listing itself is read once: {requests:?}"
    );
    assert!(requests.iter().any(|r| r == "/maps/prefixed.xml"));
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("/img/") || r.contains("after-break")),
        "an image or a broken entry was fetched: {requests:?}"
    );
    let note = skip_reason(&json, &format!("{base}/maps/broken.xml"))
        .expect("the broken sitemap is noted");
    assert!(
        note.contains("read in part") && note.contains("XML error"),
        "{note}"
    );
}

/// robots.txt: an Allow for a subfolder overrides the broader Disallow of its parent
/// (longest match, so it beats a shorter `/*.pdf$` too), and the group for our token wins
/// over `*`.
#[test]
fn robots_allow_overrides_broader_disallow() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let server = support::start(root, HashMap::new());
    let base = &server.base;
    write_public(
        root,
        "robots.txt",
        "# The pixscan group wins: `*` would forbid everything.\n\
         User-agent: *\nDisallow: /\n\n\
         User-agent: PixScan\nDisallow: /members/\nAllow: /members/public/\nDisallow: /*.pdf$\n",
    );
    write_public(
        root,
        "index.html",
        "<!DOCTYPE html><html><body>\
         <a href=\"/members/public/welcome.html\">welcome</a>\
         <a href=\"/members/account.html\">account</a>\
         <a href=\"/members/public/rules.pdf\">rules</a>\
         <a href=\"/docs/rules.pdf\">rules</a>\
         <a href=\"/about.html\">about</a>\
         </body></html>\n",
    );
    for p in [
        "members/public/welcome.html",
        "members/account.html",
        "about.html",
    ] {
        write_public(root, p, plain_page(p));
    }
    let out = pixscan()
        .args([
            "site",
            "--format",
            "json",
            "--timeout",
            "5s",
            "--no-sitemap",
        ])
        .arg(format!("{base}/"))
        .output()
        .unwrap();
    let json = json_of(&out);
    let scanned = scanned_sources(&json);
    for p in ["/", "/members/public/welcome.html", "/about.html"] {
        assert!(
            scanned.contains(&format!("{base}{p}")),
            "{p} was not scanned: {scanned:?}"
        );
    }
    for p in ["/members/account.html", "/docs/rules.pdf"] {
        let reason = skip_reason(&json, &format!("{base}{p}")).unwrap_or_default();
        assert!(
            reason.contains("disallowed by robots.txt"),
            "{p}: {reason:?}"
        );
    }
    let requests = server.targets();
    assert!(
        !requests
            .iter()
            .any(|r| r == "/members/account.html" || r == "/docs/rules.pdf"),
        "a disallowed path was fetched: {requests:?}"
    );
    assert!(
        requests.iter().any(|r| r == "/members/public/rules.pdf"),
        "the longer Allow wins over `Disallow: /*.pdf$`: {requests:?}"
    );
}
