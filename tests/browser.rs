//! Browser mode (`pixscan site URL --browser`) against a real Chromium: the fixture shop in
//! `fixtures/browser/` served on 127.0.0.1 under several host names (first and third parties
//! are different sites), scanned by the real binary. These tests need Chromium on PATH (or
//! PIXSCAN_CHROMIUM) and fail without it: CI installs it (`apt-get install chromium`).

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::http::{Request, Server};
use support::pixscan;

/// The browser fixture on the shared test server (`tests/support`): one port serves every
/// fixture host (`--resolve host:PORT:127.0.0.1` for each), from
/// `fixtures/browser/hosts/<host>/` plus the dynamic routes of `routes.toml`. Text bodies
/// get `{{PORT}}` replaced. The server logs every request (method, host, target, headers,
/// body).
mod vhosts {
    use std::collections::HashMap;
    use std::io::Write;
    use std::net::TcpStream;
    use std::path::Path;

    use super::support::http::Request;

    #[derive(Debug, Clone, Default)]
    pub struct Route {
        pub status: u16,
        pub gif: bool,
        pub body: Option<String>,
        pub content_type: Option<String>,
        pub headers: Vec<String>,
    }

    const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

    /// `routes.toml`: (host, path) → route.
    pub fn load_routes(path: &Path) -> HashMap<(String, String), Route> {
        let mut out = HashMap::new();
        let Ok(text) = std::fs::read_to_string(path) else {
            return out;
        };
        let v: toml::Value = toml::from_str(&text).expect("routes.toml parses");
        for r in v
            .get("route")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let s = |k: &str| r.get(k).and_then(|x| x.as_str()).map(str::to_string);
            out.insert(
                (
                    s("host").expect("route host"),
                    s("path").expect("route path"),
                ),
                Route {
                    status: r.get("status").and_then(|x| x.as_integer()).unwrap_or(200) as u16,
                    gif: r.get("gif").and_then(|x| x.as_bool()).unwrap_or(false),
                    body: s("body"),
                    content_type: s("content_type"),
                    headers: r
                        .get("headers")
                        .and_then(|h| h.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|h| h.as_str().map(str::to_string))
                        .collect(),
                },
            );
        }
        out
    }

    fn content_type_for(path: &str) -> &'static str {
        match path.rsplit('.').next().unwrap_or("") {
            "html" | "htm" => "text/html; charset=utf-8",
            "js" => "application/javascript",
            "css" => "text/css",
            "txt" => "text/plain",
            "xml" => "application/xml",
            "gif" => "image/gif",
            _ => "application/octet-stream",
        }
    }

    /// Answers one request: its route, else the host's file.
    pub fn handle(
        req: &Request,
        conn: &mut TcpStream,
        routes: &HashMap<(String, String), Route>,
        hosts: &Path,
    ) -> std::io::Result<()> {
        let port = conn.local_addr()?.port();
        let host = req.host.clone();
        let path = req.path().to_string();
        let route = routes.get(&(host.clone(), path.clone())).cloned();
        let mut status = route.as_ref().map(|r| r.status).unwrap_or(200);
        let mut extra_headers: Vec<String> = route
            .as_ref()
            .map(|r| r.headers.clone())
            .unwrap_or_default();
        let (ctype, bytes): (String, Vec<u8>) = match &route {
            Some(r) if r.gif => ("image/gif".into(), GIF.to_vec()),
            Some(r) if r.body.is_some() || status == 204 => (
                r.content_type
                    .clone()
                    .unwrap_or_else(|| "text/plain".into()),
                r.body.clone().unwrap_or_default().into_bytes(),
            ),
            _ => {
                let mut rel = path.trim_start_matches('/').to_string();
                if rel.is_empty() || rel.ends_with('/') {
                    rel.push_str("index.html");
                }
                let file = hosts.join(&host).join(&rel);
                let safe =
                    !rel.contains("..") && !host.contains(['/', '\\']) && !host.contains("..");
                match std::fs::read(&file) {
                    Ok(b) if safe => (content_type_for(&rel).to_string(), b),
                    _ => {
                        status = 404;
                        extra_headers.clear();
                        (
                            "text/html".into(),
                            b"<html><body>not found</body></html>".to_vec(),
                        )
                    }
                }
            }
        };
        let bytes = if ctype.starts_with("text/") || ctype.contains("javascript") {
            String::from_utf8_lossy(&bytes)
                .replace("{{PORT}}", &port.to_string())
                .into_bytes()
        } else {
            bytes
        };
        let bytes = if status == 204 { Vec::new() } else { bytes };
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
            match status {
                200 => "OK",
                204 => "No Content",
                404 => "Not Found",
                _ => "Status",
            },
            bytes.len()
        );
        for h in &extra_headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        conn.write_all(head.as_bytes())?;
        conn.write_all(&bytes)?;
        conn.flush()
    }
}

const HOSTS: &[&str] = &[
    "www.shop.test",
    "px.tracker.test",
    "tags.tagmgr.test",
    "cdn.tracker.test",
    "metrics.analytics.test",
    "collect.analytics.test",
    "ads.adnet.test",
];

fn start() -> Server {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/browser");
    let routes = vhosts::load_routes(&root.join("routes.toml"));
    let hosts = root.join("hosts");
    Server::start(move |req, conn| vhosts::handle(req, conn, &routes, &hosts))
}

/// Runs `pixscan site http://www.shop.test:PORT/ --browser …` with every fixture host
/// resolved to the local server.
fn scan(port: u16, extra: &[&str]) -> Output {
    let mut c = pixscan();
    c.args([
        "site",
        &format!("http://www.shop.test:{port}/"),
        "--browser",
        "--rules",
        "fixtures/browser/rules.toml",
        "--no-progress",
    ]);
    for h in HOSTS {
        c.args(["--resolve", &format!("{h}:{port}:127.0.0.1")]);
    }
    c.args(extra);
    let out = c.output().expect("run pixscan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Chromium not found") && !stderr.contains("cannot start Chromium"),
        "the browser tests need Chromium (CI installs it: apt-get install chromium): {stderr}"
    );
    out
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn doc<'a>(json: &'a Value, path: &str) -> &'a Value {
    json["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["source"]
                .as_str()
                .is_some_and(|s| s.split_once(":").is_some() && s.ends_with(path))
        })
        .unwrap_or_else(|| panic!("no document for {path}: {json:#}"))
}

/// The finding whose URL (static) or observed URL (runtime) contains every `needles`.
fn finding<'a>(doc: &'a Value, needles: &[&str]) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            needles.iter().all(|n| {
                f["url"].as_str().unwrap_or("").contains(n)
                    || f["runtime"]["url"].as_str().unwrap_or("").contains(n)
            })
        })
        .unwrap_or_else(|| panic!("no finding with {needles:?} in {}", describe(doc)))
}

fn describe(doc: &Value) -> String {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "\n  [{} {} seen_by={} consent={} url={} observed={}]",
                f["kind"], f["entity"], f["seen_by"], f["consent"], f["url"], f["runtime"]["url"]
            )
        })
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn evidence_has(f: &Value, needle: &str) -> bool {
    strs(&f["evidence"]).iter().any(|e| e.contains(needle))
}

fn has_identifier(f: &Value, location: &str, kind: &str, encoding: &str) -> bool {
    f["leaks"]["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["where"] == location && i["kind"] == kind && i["encoding"] == encoding)
}

#[test]
fn browser_run_reports_what_fires_before_and_after_consent() {
    let srv = start();
    let port = srv.port;
    let out = scan(port, &["--accept-consent", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "tracking found; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = json_of(&out);
    let page = format!("http://www.shop.test:{port}/");
    let home = doc(&json, &format!("{port}/"));
    let b = &home["browser"];
    assert!(b["error"].is_null(), "{b:#}");
    assert!(b["browser"].as_str().unwrap().contains("Chrome"), "{b:#}");
    assert_eq!(b["third_party_cookies"], "allowed");
    assert!(b["tracking_before_consent"].as_u64().unwrap() >= 7, "{b:#}");

    // A pixel created by script 300 ms after the page ran, attributed to the page's inline
    // script, with the cookies its response tried to set. Its URL is written in that
    // script, handed to `img.src`, so the static pass reports it too.
    let px = finding(home, &["px.tracker.test", "/px.gif?ev=view&page=home"]);
    assert_eq!(
        px["seen_by"], "both",
        "written in an inline script, so static analysis sees it too"
    );
    assert_eq!(px["kind"], "beacon");
    assert_eq!(px["tracking"], true);
    assert_eq!(px["entity"], "Tracker Test");
    assert_eq!(px["consent"], "ungated");
    assert_eq!(px["runtime"]["type"], "image");
    assert_eq!(px["runtime"]["phase"], "before-consent");
    assert!(px["runtime"]["time_ms"].as_u64().unwrap() >= 300, "{px:#}");
    assert!(evidence_has(px, "1×1 image (response)"), "{px:#}");
    assert_eq!(strs(&px["initiators"]), vec![page.clone()]);
    let set = px["runtime"]["cookies_set"].as_array().unwrap();
    let tuid = set.iter().find(|c| c["name"] == "tuid").expect("tuid");
    assert_eq!(tuid["stored"], false);
    assert!(
        strs(&tuid["blocked"])
            .iter()
            .any(|r| r.contains("SameSiteUnspecifiedTreatedAsLax")),
        "{tuid:#}"
    );
    let secure = set
        .iter()
        .find(|c| c["name"] == "tuid_secure")
        .expect("tuid_secure");
    assert_eq!(strs(&secure["blocked"]), vec!["SecureOnly"]);

    // navigator.sendBeacon.
    let beacon = finding(home, &["collect.analytics.test", "/beacon"]);
    assert_eq!(beacon["runtime"]["type"], "ping");
    assert_eq!(beacon["runtime"]["method"], "POST");
    assert!(beacon["runtime"]["post_data"]
        .as_str()
        .unwrap()
        .contains("ev=page_view"));
    assert_eq!(
        (beacon["kind"].as_str(), beacon["tracking"].as_bool()),
        (Some("beacon"), Some(true))
    );
    assert!(evidence_has(beacon, "navigator.sendBeacon"));

    // fetch POST whose body carries the first-party visitor id.
    let collect = finding(home, &[&format!("collect.analytics.test:{port}/collect")]);
    assert_eq!(collect["runtime"]["type"], "fetch");
    assert_eq!(collect["runtime"]["method"], "POST");
    assert!(
        has_identifier(collect, "body:visitor", "shared-identifier", "plain"),
        "{collect:#}"
    );
    assert!(evidence_has(
        collect,
        "first-party cookie shop_vid (www.shop.test) copied into body:visitor"
    ));
    // Its response sets `tid`, but a no-cors request stores nothing and sends nothing in a
    // blocking profile: every claim comes from what the browser reports.
    assert!(!evidence_has(collect, "sets cookie tid"), "{collect:#}");
    if let Some(set) = collect["runtime"]["cookies_set"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "tid"))
    {
        assert_eq!(set["stored"], false, "{collect:#}");
    }
    let tid_in_jar = home["cookies"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["name"] == "tid"));
    assert!(!tid_in_jar, "the jar has no tid");
    assert_eq!(
        collect["leaks"]["cookies"],
        !collect["runtime"]["cookies_sent"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "cookies leak only when the browser sent some: {collect:#}"
    );

    // Tag manager → vendor library → pixel: the chain, the first-party cookie the library
    // set and copied into the pixel URL, and the merge with the static <noscript> pixel of
    // the same rule and account.
    let tm = finding(home, &["tags.tagmgr.test", "/tm.js?id=TM-4242"]);
    assert_eq!(tm["seen_by"], "both");
    assert_eq!(tm["account"], "TM-4242");
    let events = finding(home, &["cdn.tracker.test", "/events.js"]);
    assert_eq!(events["seen_by"], "runtime");
    assert_eq!(events["kind"], "tracker-script");
    assert_eq!(
        strs(&events["initiators"]),
        vec![
            page.clone(),
            format!("http://tags.tagmgr.test:{port}/tm.js?id=TM-4242")
        ]
    );
    let tr = finding(home, &["px.tracker.test", "/tr?id=778899"]);
    assert_eq!(tr["seen_by"], "both", "{tr:#}");
    assert_eq!(tr["rule"], "tracker-test-pixel");
    assert_eq!(tr["account"], "778899");
    assert!(tr["runtime"]["url"]
        .as_str()
        .unwrap()
        .contains("pxid=px.1."));
    assert_eq!(
        strs(&tr["initiators"]),
        vec![
            page.clone(),
            format!("http://tags.tagmgr.test:{port}/tm.js?id=TM-4242"),
            format!("http://cdn.tracker.test:{port}/events.js"),
        ]
    );
    assert!(
        has_identifier(tr, "query:pxid", "shared-identifier", "plain"),
        "{tr:#}"
    );
    assert!(evidence_has(
        tr,
        "first-party cookie _pxid (www.shop.test) copied into query:pxid"
    ));

    // Google Consent Mode: declared denied, yet the client id from _ga goes out.
    let g = finding(home, &["metrics.analytics.test", "gcs=G100"]);
    assert_eq!(g["entity"], "Google Analytics");
    assert_eq!(
        g["seen_by"], "both",
        "the inline URL completed at run time: {g:#}"
    );
    assert!(
        has_identifier(g, "query:cid", "shared-identifier", "plain"),
        "{g:#}"
    );
    assert!(evidence_has(g, "Google Consent Mode gcs=G100"), "{g:#}");
    let signals = home["google_consent"].as_array().unwrap();
    let denied = signals
        .iter()
        .find(|s| s["gcs"] == "G100")
        .expect("G100 signal");
    assert_eq!(denied["ad_storage"], "denied");
    assert_eq!(denied["analytics_storage"], "denied");
    assert_eq!(denied["ad_user_data"], "denied (default)");
    assert_eq!(denied["phase"], "before-consent");
    assert!(
        strs(&denied["sent"])
            .iter()
            .any(|s| s.starts_with("query:cid")),
        "{denied:#}"
    );
    assert!(denied["note"]
        .as_str()
        .unwrap()
        .contains("yet the request carries"));
    let granted = signals
        .iter()
        .find(|s| s["gcs"] == "G111")
        .expect("G111 signal");
    assert_eq!(granted["ad_storage"], "granted");
    assert_eq!(granted["phase"], "after-consent");

    // Cookies: first-party ids with the script that wrote them, a stored third-party cookie
    // (third-party cookies are allowed, as in desktop Chrome) that the browser sends back
    // later, and the refused ones with Chromium's reasons.
    let cookies = home["cookies"].as_array().unwrap();
    let cookie = |name: &str| {
        cookies
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("cookie {name} in {cookies:#?}"))
    };
    let pxid = cookie("_pxid");
    assert_eq!(
        (pxid["party"].as_str(), pxid["entity"].as_str()),
        (Some("first"), Some("Tracker Test"))
    );
    assert!(pxid["set_by"]
        .as_str()
        .unwrap()
        .contains("cdn.tracker.test"));
    assert!((pxid["days"].as_f64().unwrap() - 90.0).abs() < 1.0);
    let tsync = cookie("tsync");
    assert_eq!(tsync["party"], "third");
    assert_eq!(tsync["domain"], "px.tracker.localhost");
    assert!(tsync.get("blocked").is_none(), "stored: {tsync:#}");
    assert!(tsync["set_by"]
        .as_str()
        .unwrap()
        .contains("sync.gif?partner=shop"));
    let resync = finding(home, &["px.tracker.localhost", "partner=adnet"]);
    assert_eq!(strs(&resync["runtime"]["cookies_sent"]), vec!["tsync"]);
    assert!(strs(&cookie("tuid")["blocked"])
        .iter()
        .any(|r| r.contains("SameSiteUnspecifiedTreatedAsLax")));
    let storage = home["local_storage"].as_array().unwrap();
    assert!(storage.iter().any(|s| s["key"] == "shop_session"));

    // Consent: the OneTrust-style banner's accept button was clicked; the gated tag fired
    // only then.
    let cu = &home["consent_unlocked"];
    assert_eq!(cu["clicked"], "#onetrust-accept-btn-handler");
    assert_eq!(cu["platform"], "OneTrust");
    let before = strs(&cu["before"]["tracking_requests"]);
    let after = strs(&cu["after"]["tracking_requests"]);
    assert!(before
        .iter()
        .any(|u| u.contains("/px.gif?ev=view&page=home")));
    assert!(
        !before.iter().any(|u| u.contains("ads.adnet.test")),
        "{before:?}"
    );
    assert!(
        after
            .iter()
            .any(|u| u.contains("ads.adnet.test") && u.contains("/ads.js")),
        "{after:?}"
    );
    assert!(
        after.iter().any(|u| u.contains("/conv?aid=AD-77")),
        "{after:?}"
    );
    assert_eq!(strs(&cu["after"]["third_parties"]), vec!["ads.adnet.test"]);
    let after_cookies = strs(&cu["after"]["cookies"]);
    assert!(
        after_cookies.contains(&"_adnet (www.shop.test)".to_string()),
        "{after_cookies:?}"
    );
    assert!(after_cookies
        .iter()
        .any(|c| c.starts_with("OptanonConsent")));
    let ads = finding(home, &["ads.adnet.test", "/ads.js"]);
    assert_eq!(ads["seen_by"], "both");
    assert_eq!(ads["consent"], "gated");
    assert_eq!(ads["runtime"]["phase"], "after-consent");
    let conv = finding(home, &["ads.adnet.test", "/conv"]);
    assert_eq!(conv["consent"], "gated");
    assert_eq!(
        strs(&conv["initiators"]).last().map(String::as_str),
        Some(format!("http://ads.adnet.test:{port}/ads.js?aid=AD-77").as_str())
    );
    assert!(cookie("_adnet")["after_consent"].as_bool().unwrap());
    assert!(!pxid["after_consent"].as_bool().unwrap());

    // The second page has no banner: nothing to click, everything fired without consent.
    let about = doc(&json, "/about/");
    assert!(about["consent_unlocked"]["clicked"].is_null());
    assert!(about["consent_unlocked"]["note"]
        .as_str()
        .unwrap()
        .contains("no accept button"));
    let view = finding(about, &["/px.gif?ev=view&page=about"]);
    assert_eq!(view["consent"], "ungated");
    // The lazy tag's URL is in the page's script (static analysis reports it), but the
    // browser never requested it without --scroll.
    let lazy: Vec<&Value> = about["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["url"].as_str().unwrap_or("").contains("ev=scroll"))
        .collect();
    assert!(
        lazy.iter().all(|f| f["seen_by"] == "static"),
        "the lazy tag needs --scroll: {lazy:#?}"
    );

    // What the servers saw: the identifiers really left the browser.
    let log = srv.requests();
    assert!(log.iter().any(|r| r.host == "collect.analytics.test"
        && r.method == "POST"
        && r.body.contains("v7Qm2xK9pL4sT8wZ")));
    assert!(log
        .iter()
        .any(|r| r.host == "px.tracker.localhost"
            && r.cookie().is_some_and(|c| c.contains("tsync="))));
}

/// Human output split into findings: a block starts at a line indented by exactly two spaces.
fn blocks(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") {
            out.push(String::new());
        }
        if let Some(b) = out.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    out
}

#[test]
fn without_interaction_gated_tags_stay_silent_and_blocking_profile_refuses_third_party_cookies() {
    let srv = start();
    let port = srv.port;
    let out = scan(
        port,
        &[
            "--block-third-party-cookies",
            "--scroll",
            "--header",
            "X-Staging-Auth: s3cret",
            "--cookie",
            "staging=ok1234",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("third-party cookies blocked"), "{text}");
    assert!(
        text.contains("tsync (px.tracker.localhost) · third party")
            && text.contains("refused by Chromium: UserPreferences"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "fired by: http://www.shop.test:{port}/ → http://tags.tagmgr.test:{port}/tm.js?id=TM-4242 → http://cdn.tracker.test:{port}/events.js → this request"
        )),
        "{text}"
    );
    assert!(
        text.contains("seen by: both (ping, before consent)"),
        "{text}"
    );
    assert!(text.contains("Google Consent Mode: gcs=G100"), "{text}");
    // No click: the banner's gated tag never ran, and static analysis alone reports it.
    assert!(!text.contains("consent: before any interaction"), "{text}");
    let ads_block = blocks(&text)
        .into_iter()
        .find(|b| b.contains("ads.adnet.test") && b.contains("/ads.js"))
        .expect("static finding for ads.js");
    assert!(ads_block.contains("seen by: static"), "{ads_block}");
    assert!(
        ads_block.contains("not requested in the browser run"),
        "{ads_block}"
    );
    let log = srv.requests();
    assert!(!log.iter().any(|r| r.host == "ads.adnet.test"));
    // --header and --cookie reach the site's own origin from the browser too, and never a
    // third party.
    let header = |r: &Request, name: &str| r.header(name).map(str::to_string);
    let from_browser: Vec<&Request> = log
        .iter()
        .filter(|r| header(r, "user-agent").is_some_and(|ua| ua.contains("Chrome/")))
        .collect();
    assert!(from_browser.iter().any(|r| r.host == "www.shop.test"
        && header(r, "x-staging-auth").as_deref() == Some("s3cret")
        && r.cookie().is_some_and(|c| c.contains("staging=ok1234"))));
    assert!(from_browser
        .iter()
        .filter(|r| r.host != "www.shop.test")
        .all(|r| header(r, "x-staging-auth").is_none()));
    assert!(
        !from_browser
            .iter()
            .any(|r| header(r, "user-agent").is_some_and(|ua| ua.contains("Headless"))),
        "the browser presents a desktop user-agent"
    );
    // --scroll triggers the lazy tag on /about/.
    assert!(text.contains("/px.gif?ev=scroll&page=about"), "{text}");
}

#[test]
fn missing_chromium_is_a_clear_error() {
    let out = pixscan()
        .args([
            "site",
            "http://www.shop.test:9/",
            "--browser",
            "--chromium",
            "/nonexistent/chromium",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Chromium not found at /nonexistent/chromium"),
        "{err}"
    );
    assert!(err.contains("apt-get install chromium"), "{err}");
}
