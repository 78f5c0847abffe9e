//! Web pages: a bounded same-site crawl over HTTP (robots.txt, sitemap.xml, scope, depth,
//! page and size limits, recorded redirects), and local build folders. Only page URLs are
//! fetched: never a tracker URL (that is `--probe`, in the site scan, and opt-in).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, COOKIE, LOCATION};
use url::Url;

use crate::domain::registrable;
use crate::select::{PathSelect, UrlSelect, FLAGS};
use crate::shard::{path_key, Shard};

/// Which URLs a crawl may visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Same host as the start URL.
    Host,
    /// Same registrable domain (site) as the start URL.
    Site,
    /// URLs starting with the start URL.
    Prefix,
}

#[derive(Debug, Clone)]
pub struct CrawlOptions {
    pub scope: Scope,
    pub max_pages: usize,
    pub depth: Option<usize>,
    pub concurrency: usize,
    pub ignore_robots: bool,
    pub sitemap: bool,
    pub request_timeout: Duration,
    pub total_timeout: Duration,
    pub max_body: u64,
    pub max_redirects: usize,
    pub headers: Vec<(String, String)>,
    pub cookie: Option<String>,
    pub user_agent: String,
    pub resolve: Vec<(String, SocketAddr)>,
    pub insecure: bool,
    /// `--include`/`--exclude`: which page URLs the crawl may fetch (the start URL always).
    pub select: UrlSelect,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        CrawlOptions {
            scope: Scope::Site,
            max_pages: 100,
            depth: None,
            concurrency: 8,
            ignore_robots: false,
            sitemap: true,
            request_timeout: Duration::from_secs(15),
            total_timeout: Duration::from_secs(600),
            max_body: 5 * 1024 * 1024,
            max_redirects: 10,
            headers: Vec::new(),
            cookie: None,
            user_agent: format!(
                "pixscan/{} (privacy audit; +https://github.com/pixscan)",
                env!("CARGO_PKG_VERSION")
            ),
            resolve: Vec::new(),
            insecure: false,
            select: UrlSelect::default(),
        }
    }
}

/// A fetched HTML page.
#[derive(Debug)]
pub struct Page {
    pub url: Url,
    pub redirects: Vec<String>,
    pub referrer_policy: Option<String>,
    pub html: String,
    pub depth: usize,
}

/// What the crawler tells its caller, as it happens.
#[derive(Debug)]
pub enum CrawlEvent {
    Page(Page),
    Failed {
        url: String,
        redirects: Vec<String>,
        reason: String,
    },
    Skipped {
        url: String,
        reason: String,
    },
    /// A page URL `--include`/`--exclude` leaves out: not fetched, counted.
    Excluded {
        url: String,
    },
}

pub fn build_client(opts: &CrawlOptions) -> Result<reqwest::Client, String> {
    let mut headers = HeaderMap::new();
    for (k, v) in &opts.headers {
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|e| format!("bad --header name {k:?}: {e}"))?;
        let value = HeaderValue::from_str(v.trim())
            .map_err(|e| format!("bad --header value for {k}: {e}"))?;
        headers.append(name, value);
    }
    if let Some(c) = &opts.cookie {
        headers.insert(
            COOKIE,
            HeaderValue::from_str(c).map_err(|e| format!("bad --cookie: {e}"))?,
        );
    }
    let mut b = reqwest::Client::builder()
        .user_agent(opts.user_agent.clone())
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(opts.request_timeout)
        .connect_timeout(opts.request_timeout.min(Duration::from_secs(10)))
        .no_proxy()
        .danger_accept_invalid_certs(opts.insecure);
    for (host, addr) in &opts.resolve {
        b = b.resolve(host, *addr);
    }
    b.build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))
}

/// URL identity for deduplication: no fragment.
pub fn normalize(mut u: Url) -> Url {
    u.set_fragment(None);
    u
}

fn in_scope(u: &Url, start: &Url, scope: Scope) -> bool {
    if !matches!(u.scheme(), "http" | "https") {
        return false;
    }
    let (Some(h), Some(sh)) = (u.host_str(), start.host_str()) else {
        return false;
    };
    match scope {
        Scope::Host => {
            h.eq_ignore_ascii_case(sh) && u.port_or_known_default() == start.port_or_known_default()
        }
        Scope::Site => registrable(h) == registrable(sh),
        Scope::Prefix => u.as_str().starts_with(start.as_str()),
    }
}

fn scope_reason(scope: Scope) -> &'static str {
    match scope {
        Scope::Host => "out of scope: another host (--scope host)",
        Scope::Site => "out of scope: another site (--scope site)",
        Scope::Prefix => "out of scope: outside the start URL prefix (--scope prefix)",
    }
}

pub use super::robots::Robots;
use super::sitemap::{self, Kind, SitemapError};

/// Sitemaps fetched per crawl (robots.txt's, `/sitemap.xml`, and those an index lists).
const MAX_SITEMAPS: usize = 10;
/// Sitemap URLs listed per crawl (fetched or reported as not read); more are counted in one
/// note.
const MAX_SITEMAPS_LISTED: usize = 100;
/// Page URLs taken from sitemaps per crawl (the sitemap protocol's per-file maximum).
const MAX_SITEMAP_PAGES: usize = 50_000;

/// Outcome of fetching one URL, following redirects by hand so each hop is recorded and
/// checked against the scope.
enum Fetched {
    /// A 2xx body: HTML for a page, or robots.txt or a sitemap.
    Body {
        url: Url,
        redirects: Vec<String>,
        referrer_policy: Option<String>,
        content_type: String,
        body: Vec<u8>,
    },
    Failed {
        redirects: Vec<String>,
        reason: String,
    },
    Skipped {
        reason: String,
    },
    /// A redirect left the crawl's scope: the target is what was not scanned.
    OffSite {
        target: Url,
        reason: String,
    },
    /// A redirect led to a URL `--include`/`--exclude` leaves out: not followed.
    Excluded {
        target: Url,
    },
}

/// `want_html`: a page (its redirects are held to the scope); `select`: its redirects are
/// held to `--include`/`--exclude` too (every page but the start URL).
async fn fetch(
    client: &reqwest::Client,
    url: Url,
    start: &Url,
    opts: &CrawlOptions,
    want_html: bool,
    select: bool,
) -> Fetched {
    let mut current = url;
    let mut chain: Vec<String> = Vec::new();
    loop {
        let resp = match client.get(current.clone()).send().await {
            Ok(r) => r,
            Err(e) => {
                return Fetched::Failed {
                    redirects: chain,
                    reason: describe_error(&e, opts),
                }
            }
        };
        let status = resp.status();
        if status.is_redirection() {
            let Some(loc) = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| current.join(l).ok())
            else {
                return Fetched::Failed {
                    redirects: chain,
                    reason: format!("HTTP {} without a usable Location", status.as_u16()),
                };
            };
            let loc = normalize(loc);
            chain.push(current.to_string());
            if chain.iter().any(|c| c == loc.as_str()) {
                chain.push(loc.to_string());
                return Fetched::Failed {
                    reason: format!("redirect loop: {}", chain.join(" → ")),
                    redirects: chain,
                };
            }
            if chain.len() > opts.max_redirects {
                return Fetched::Failed {
                    reason: format!(
                        "too many redirects (more than {}, --max-redirects)",
                        opts.max_redirects
                    ),
                    redirects: chain,
                };
            }
            if want_html && !in_scope(&loc, start, opts.scope) {
                chain.push(loc.to_string());
                return Fetched::OffSite {
                    target: loc,
                    reason: format!(
                        "{} (reached by redirect: {})",
                        scope_reason(opts.scope),
                        chain.join(" → ")
                    ),
                };
            }
            if want_html && select && opts.select.excludes(&loc) {
                return Fetched::Excluded { target: loc };
            }
            current = loc;
            continue;
        }
        if !status.is_success() {
            return Fetched::Failed {
                redirects: chain,
                reason: format!("HTTP {}", status.as_u16()),
            };
        }
        let ctype = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if want_html
            && !(ctype.is_empty()
                || ctype.starts_with("text/html")
                || ctype.starts_with("application/xhtml+xml"))
        {
            return Fetched::Skipped {
                reason: format!(
                    "not HTML (content type {})",
                    ctype.split(';').next().unwrap_or("").trim()
                ),
            };
        }
        if let Some(len) = resp.content_length() {
            if len > opts.max_body {
                let (len, max) = crate::units::size_pair(len, opts.max_body);
                return Fetched::Skipped {
                    reason: format!("body over the size limit: {len} > {max} (--max-body)"),
                };
            }
        }
        let referrer_policy = resp
            .headers()
            .get("referrer-policy")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut resp = resp;
        let mut body: Vec<u8> = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    // Decompressed size counts: a gzip bomb stops here.
                    if body.len() as u64 + c.len() as u64 > opts.max_body {
                        return Fetched::Skipped {
                            reason: format!(
                                "body over the size limit of {} (--max-body)",
                                crate::units::size(opts.max_body)
                            ),
                        };
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    return Fetched::Failed {
                        redirects: chain,
                        reason: describe_error(&e, opts),
                    }
                }
            }
        }
        return Fetched::Body {
            url: current,
            redirects: chain,
            referrer_policy,
            content_type: ctype,
            body,
        };
    }
}

fn describe_error(e: &reqwest::Error, opts: &CrawlOptions) -> String {
    if e.is_timeout() {
        return format!("timeout after {:?} (--timeout)", opts.request_timeout);
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if msg.contains("certificate") || msg.contains("UnknownIssuer") {
        msg.push_str(
            " (TLS certificate not trusted; --insecure skips the check on your own staging site)",
        );
    }
    if e.is_connect() {
        format!("connection failed: {msg}")
    } else {
        msg
    }
}

/// Crawls from `start`, calling `on_event` for every page, failure and skip. Every URL
/// discovered is reported exactly once.
pub async fn crawl(
    client: reqwest::Client,
    start: Url,
    opts: CrawlOptions,
    mut on_event: impl FnMut(CrawlEvent) -> Vec<Url>,
) {
    let start = normalize(start);
    let deadline = tokio::time::Instant::now() + opts.total_timeout;
    let mut seen: HashSet<String> = HashSet::new();
    let mut frontier: VecDeque<(Url, usize)> = VecDeque::new();
    let mut robots: HashMap<String, Robots> = HashMap::new();
    seen.insert(start.to_string());
    frontier.push_back((start.clone(), 0));

    // robots.txt of the start origin, then its sitemaps.
    let origin = start.origin().ascii_serialization();
    // Both count against --total-timeout: a robots.txt or sitemap that drips must not hold
    // the crawl past its limit.
    let r = match tokio::time::timeout_at(deadline, load_robots(&client, &start, &opts)).await {
        Ok(r) => r,
        Err(_) => {
            on_event(CrawlEvent::Skipped {
                url: format!("{origin}/robots.txt"),
                reason: "total time limit reached (--total-timeout) while reading robots.txt"
                    .into(),
            });
            Robots::default()
        }
    };
    if let Some(e) = r.error() {
        on_event(CrawlEvent::Skipped {
            url: format!("{origin}/robots.txt"),
            reason: robots_error_note(e, &opts),
        });
    }
    if opts.sitemap {
        read_sitemaps(
            &client,
            &start,
            &opts,
            deadline,
            &r.sitemaps,
            &mut seen,
            &mut frontier,
            &mut on_event,
        )
        .await;
    }
    robots.insert(origin, r);

    // Fetches run concurrently, but their results are handled in dispatch order, so the
    // frontier (and with it the whole crawl and its report) is the same from run to run.
    let mut tasks: tokio::task::JoinSet<(u64, Url, usize, Fetched)> = tokio::task::JoinSet::new();
    let mut task_seq: HashMap<tokio::task::Id, u64> = HashMap::new();
    let mut inflight: std::collections::BTreeMap<u64, (Url, usize)> =
        std::collections::BTreeMap::new();
    let mut ready: std::collections::BTreeMap<u64, (Url, usize, Fetched)> =
        std::collections::BTreeMap::new();
    let (mut next_seq, mut dispatched) = (0u64, 0u64);
    let mut started = 0usize;
    loop {
        while tasks.len() < opts.concurrency.max(1) {
            let Some((url, depth)) = frontier.pop_front() else {
                break;
            };
            if started >= opts.max_pages {
                on_event(CrawlEvent::Skipped {
                    url: url.to_string(),
                    reason: format!("page limit reached (--max-pages {})", opts.max_pages),
                });
                continue;
            }
            let o = url.origin().ascii_serialization();
            if !robots.contains_key(&o) {
                let r = tokio::time::timeout_at(deadline, load_robots(&client, &url, &opts))
                    .await
                    .unwrap_or_default();
                if let Some(e) = r.error() {
                    on_event(CrawlEvent::Skipped {
                        url: format!("{o}/robots.txt"),
                        reason: robots_error_note(e, &opts),
                    });
                }
                robots.insert(o.clone(), r);
            }
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            if !opts.ignore_robots && !robots[&o].allowed(&path) {
                let reason = if robots[&o].error().is_some() {
                    "robots.txt could not be parsed, so every page of this origin counts as \
                     disallowed (--ignore-robots on your own site)"
                } else {
                    "disallowed by robots.txt (--ignore-robots on your own site)"
                };
                on_event(CrawlEvent::Skipped {
                    url: url.to_string(),
                    reason: reason.into(),
                });
                continue;
            }
            started += 1;
            let seq = dispatched;
            dispatched += 1;
            inflight.insert(seq, (url.clone(), depth));
            let (client, start, opts) = (client.clone(), start.clone(), opts.clone());
            let handle = tasks.spawn(async move {
                let f = fetch(&client, url.clone(), &start, &opts, true, depth > 0).await;
                (seq, url, depth, f)
            });
            task_seq.insert(handle.id(), seq);
        }
        if tasks.is_empty() && ready.is_empty() {
            break;
        }
        if !ready.contains_key(&next_seq) {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(Ok((id, (seq, url, depth, f))))) => {
                    task_seq.remove(&id);
                    ready.insert(seq, (url, depth, f));
                }
                Ok(Some(Err(e))) => {
                    // A task that panicked or was cancelled: its page fails, the crawl goes on.
                    if let Some(seq) = task_seq.remove(&e.id()) {
                        if let Some((url, depth)) = inflight.get(&seq).cloned() {
                            ready.insert(
                                seq,
                                (
                                    url,
                                    depth,
                                    Fetched::Failed {
                                        redirects: Vec::new(),
                                        reason: format!("internal error: {e}"),
                                    },
                                ),
                            );
                        }
                    }
                }
                Ok(None) => {
                    // Nothing in flight yet the next result is missing: move on to the
                    // next one that arrived rather than wait forever.
                    if let Some(&first) = ready.keys().next() {
                        next_seq = first;
                    }
                }
                Err(_) => {
                    tasks.abort_all();
                    let reason = format!(
                        "total time limit reached ({:?}, --total-timeout)",
                        opts.total_timeout
                    );
                    for (seq, (u, _)) in std::mem::take(&mut inflight) {
                        if !ready.contains_key(&seq) {
                            on_event(CrawlEvent::Skipped {
                                url: u.to_string(),
                                reason: format!("{reason} while fetching"),
                            });
                        }
                    }
                    for (u, _) in frontier.drain(..) {
                        on_event(CrawlEvent::Skipped {
                            url: u.to_string(),
                            reason: reason.clone(),
                        });
                    }
                    // Pages already fetched but not yet handled are still reported, in order.
                    let rest: Vec<(Url, usize, Fetched)> =
                        std::mem::take(&mut ready).into_values().collect();
                    for (u, _, _) in rest {
                        on_event(CrawlEvent::Skipped {
                            url: u.to_string(),
                            reason: reason.clone(),
                        });
                    }
                    break;
                }
            }
            continue;
        }
        let Some((requested, depth, fetched)) = ready.remove(&next_seq) else {
            continue;
        };
        inflight.remove(&next_seq);
        next_seq += 1;
        match fetched {
            Fetched::Body {
                url,
                redirects,
                referrer_policy,
                body,
                ..
            } => {
                let html = String::from_utf8(body)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                if url != requested && !seen.insert(url.to_string()) {
                    on_event(CrawlEvent::Skipped {
                        url: requested.to_string(),
                        reason: format!("redirects to {url}, scanned already"),
                    });
                    continue;
                }
                let links = on_event(CrawlEvent::Page(Page {
                    url: url.clone(),
                    redirects,
                    referrer_policy,
                    html,
                    depth,
                }));
                for link in links {
                    let link = normalize(link);
                    if !matches!(link.scheme(), "http" | "https") || !seen.insert(link.to_string())
                    {
                        continue;
                    }
                    if !in_scope(&link, &start, opts.scope) {
                        on_event(CrawlEvent::Skipped {
                            url: link.to_string(),
                            reason: scope_reason(opts.scope).into(),
                        });
                    } else if opts.select.excludes(&link) {
                        on_event(CrawlEvent::Excluded {
                            url: link.to_string(),
                        });
                    } else if opts.depth.is_some_and(|d| depth + 1 > d) {
                        on_event(CrawlEvent::Skipped {
                            url: link.to_string(),
                            reason: format!("depth limit (--depth {})", opts.depth.unwrap_or(0)),
                        });
                    } else {
                        frontier.push_back((link, depth + 1));
                    }
                }
            }
            Fetched::Failed { redirects, reason } => {
                on_event(CrawlEvent::Failed {
                    url: requested.to_string(),
                    redirects,
                    reason,
                });
            }
            Fetched::Skipped { reason } => {
                on_event(CrawlEvent::Skipped {
                    url: requested.to_string(),
                    reason,
                });
            }
            Fetched::Excluded { target } => {
                // Counted once under the target; another page redirecting there is listed
                // under its own URL, as for a redirect off the site.
                if seen.insert(target.to_string()) {
                    on_event(CrawlEvent::Excluded {
                        url: target.to_string(),
                    });
                } else {
                    on_event(CrawlEvent::Skipped {
                        url: requested.to_string(),
                        reason: format!("redirects to {target}, which {FLAGS} leaves out"),
                    });
                }
            }
            Fetched::OffSite { target, reason } => {
                // The target is listed once; every other page redirecting there is listed
                // under its own URL, so each request is accounted for.
                if seen.insert(target.to_string()) {
                    on_event(CrawlEvent::Skipped {
                        url: target.to_string(),
                        reason,
                    });
                } else {
                    on_event(CrawlEvent::Skipped {
                        url: requested.to_string(),
                        reason: format!("redirects to {target}: {}", scope_reason(opts.scope)),
                    });
                }
            }
        }
    }
}

fn robots_error_note(e: &str, opts: &CrawlOptions) -> String {
    if opts.ignore_robots {
        format!("robots.txt could not be parsed ({e}); ignored (--ignore-robots)")
    } else {
        format!(
            "robots.txt could not be parsed ({e}): no page of this origin is fetched \
             (--ignore-robots on your own site)"
        )
    }
}

/// Reads the start origin's sitemaps (those robots.txt names, else `/sitemap.xml`, then
/// those an index lists) and queues the in-scope pages they list, at depth 1. Every problem
/// is a note, a skipped entry under the sitemap's URL; none stops the crawl. A guessed
/// `/sitemap.xml` that is missing or is not a sitemap is not worth a note.
#[allow(clippy::too_many_arguments)]
async fn read_sitemaps(
    client: &reqwest::Client,
    start: &Url,
    opts: &CrawlOptions,
    deadline: tokio::time::Instant,
    named: &[String],
    seen: &mut HashSet<String>,
    frontier: &mut VecDeque<(Url, usize)>,
    on_event: &mut impl FnMut(CrawlEvent) -> Vec<Url>,
) {
    let origin = start.origin().ascii_serialization();
    // (sitemap URL, named by robots.txt or an index rather than guessed)
    let mut queue: VecDeque<(String, bool)> = VecDeque::new();
    // Every sitemap URL ever queued: an index that lists itself, or a loop of indexes, is
    // read once.
    let mut listed: HashSet<String> = HashSet::new();
    if named.is_empty() {
        let guess = format!("{origin}/sitemap.xml");
        listed.insert(guess.clone());
        queue.push_back((guess, false));
    }
    let mut dropped = 0usize;
    for m in named {
        if listed.len() >= MAX_SITEMAPS_LISTED {
            dropped += 1;
        } else if listed.insert(m.clone()) {
            queue.push_back((m.clone(), true));
        }
    }
    if dropped > 0 {
        on_event(CrawlEvent::Skipped {
            url: format!("{origin}/robots.txt"),
            reason: format!(
                "{dropped} more sitemap(s) named here not read: at most {MAX_SITEMAPS_LISTED} \
                 sitemaps listed per crawl"
            ),
        });
    }
    let (mut fetched_maps, mut pages) = (0usize, 0usize);
    while let Some((m, named)) = queue.pop_front() {
        let mut note = |reason: String| {
            on_event(CrawlEvent::Skipped {
                url: m.clone(),
                reason,
            });
        };
        if fetched_maps >= MAX_SITEMAPS {
            note(format!(
                "sitemap not read: at most {MAX_SITEMAPS} sitemaps per crawl"
            ));
            continue;
        }
        fetched_maps += 1;
        let mu = match Url::parse(&m) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                note("sitemap not read: not an http(s) URL".into());
                continue;
            }
        };
        let fetched =
            match tokio::time::timeout_at(deadline, fetch(client, mu, start, opts, false, false))
                .await
            {
                Ok(f) => f,
                Err(_) => {
                    note(
                        "total time limit reached (--total-timeout) while reading the sitemap"
                            .into(),
                    );
                    for (rest, _) in queue.drain(..) {
                        on_event(CrawlEvent::Skipped {
                            url: rest,
                            reason: "total time limit reached (--total-timeout) before reading \
                                     the sitemap"
                                .into(),
                        });
                    }
                    break;
                }
            };
        let (url, content_type, body) = match fetched {
            Fetched::Body {
                url,
                content_type,
                body,
                ..
            } => (url, content_type, body),
            Fetched::Excluded { .. } => continue,
            Fetched::Failed { reason, .. }
            | Fetched::Skipped { reason }
            | Fetched::OffSite { reason, .. } => {
                if named {
                    note(format!("sitemap not read: {reason}"));
                }
                continue;
            }
        };
        let gzip_hint = sitemap::gzip_hint(url.path(), &content_type);
        let xml = match sitemap::inflate(&body, opts.max_body) {
            Ok(x) => x,
            Err(e) => {
                note(format!("sitemap not read: {e}"));
                continue;
            }
        };
        let room = (MAX_SITEMAP_PAGES.saturating_sub(pages))
            .max(MAX_SITEMAPS_LISTED.saturating_sub(listed.len()));
        let map = match sitemap::parse(&xml, room) {
            Ok(map) => map,
            Err(SitemapError::NotSitemap(why)) => {
                if named {
                    let gz = if gzip_hint && !body.starts_with(&[0x1f, 0x8b]) {
                        " (served as gzip, but the body is not gzip data)"
                    } else {
                        ""
                    };
                    note(format!("sitemap not read: not a sitemap: {why}{gz}"));
                }
                continue;
            }
            Err(e) => {
                note(format!("sitemap not read: {e}"));
                continue;
            }
        };
        drop(xml);
        let (mut over, mut bad, mut first_bad) = (map.over_limit, 0usize, None);
        let taken = map.locs.len();
        match map.kind {
            Kind::Index => {
                for loc in map.locs {
                    if Url::parse(&loc).is_err() {
                        bad += 1;
                        first_bad.get_or_insert(loc);
                    } else if listed.len() >= MAX_SITEMAPS_LISTED {
                        over += 1;
                    } else if listed.insert(loc.clone()) {
                        queue.push_back((loc, true));
                    }
                }
                if over > 0 {
                    note(format!(
                        "{over} sitemap(s) listed in this index not read: at most \
                         {MAX_SITEMAPS_LISTED} sitemaps listed per crawl"
                    ));
                }
            }
            Kind::Pages => {
                for loc in map.locs {
                    if pages >= MAX_SITEMAP_PAGES {
                        over += 1;
                        continue;
                    }
                    let Ok(u) = Url::parse(&loc) else {
                        bad += 1;
                        first_bad.get_or_insert(loc);
                        continue;
                    };
                    pages += 1;
                    let u = normalize(u);
                    if seen.insert(u.to_string()) {
                        if in_scope(&u, start, opts.scope) {
                            if opts.select.excludes(&u) {
                                on_event(CrawlEvent::Excluded { url: u.to_string() });
                            } else {
                                frontier.push_back((u, 1));
                            }
                        } else {
                            on_event(CrawlEvent::Skipped {
                                url: u.to_string(),
                                reason: format!("from sitemap: {}", scope_reason(opts.scope)),
                            });
                        }
                    }
                }
                if over > 0 {
                    on_event(CrawlEvent::Skipped {
                        url: m.clone(),
                        reason: format!(
                            "{over} page URL(s) in this sitemap not taken: at most \
                             {MAX_SITEMAP_PAGES} sitemap URLs per crawl"
                        ),
                    });
                }
            }
        }
        if let Some(first) = first_bad {
            on_event(CrawlEvent::Skipped {
                url: m.clone(),
                reason: format!(
                    "{bad} <loc> entr{} in this sitemap not an absolute URL, ignored (first: {:?})",
                    if bad == 1 { "y" } else { "ies" },
                    first.chars().take(200).collect::<String>()
                ),
            });
        }
        if let Some(e) = map.error {
            on_event(CrawlEvent::Skipped {
                url: m.clone(),
                reason: format!("sitemap read in part ({taken} entries before the error): {e}"),
            });
        }
    }
}

async fn load_robots(client: &reqwest::Client, any: &Url, opts: &CrawlOptions) -> Robots {
    let Ok(u) = any.join("/robots.txt") else {
        return Robots::default();
    };
    match fetch(client, u, any, opts, false, false).await {
        Fetched::Body { body, .. } => Robots::parse(&body),
        _ => Robots::default(),
    }
}

/// HTML files under a build folder (or the file itself), sorted.
pub fn local_files(path: &Path) -> Vec<PathBuf> {
    local_files_selected(path, &PathSelect::default()).0
}

fn is_html_file(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("html") || x.eq_ignore_ascii_case("htm"))
}

/// HTML files under a build folder, sorted, and how many `select` (`--include`/`--exclude`,
/// matched against paths relative to the folder) left out. A file named directly is always
/// taken; a folder an exclude glob matches is not read.
pub fn local_files_selected(path: &Path, select: &PathSelect) -> (Vec<PathBuf>, u64) {
    let (files, excluded, _) = local_files_shard(path, select, &Shard::WHOLE);
    (files, excluded)
}

/// As [`local_files_selected`], for one shard of a `--shard` split: every file is listed
/// (the scan takes its own), but the files `select` left out are counted by the shard
/// that owns each one (keyed by its path below `path`): (files, excluded by this shard,
/// excluded by the others).
pub fn local_files_shard(
    path: &Path,
    select: &PathSelect,
    shard: &Shard,
) -> (Vec<PathBuf>, u64, u64) {
    if path.is_file() {
        return (vec![path.to_path_buf()], 0, 0);
    }
    let owns = |p: &Path| shard.count <= 1 || shard.owns(&path_key(path, p), 0);
    let pruned = std::cell::Cell::new((0u64, 0u64));
    let mut excluded = (0u64, 0u64);
    let mut out: Vec<PathBuf> = Vec::new();
    let walker = walkdir::WalkDir::new(path)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() > 0 && e.file_type().is_dir() && select.excludes_folder(path, e.path()) {
                let (mut mine, mut others) = pruned.get();
                for f in walkdir::WalkDir::new(e.path())
                    .into_iter()
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_file() && is_html_file(e.path()))
                {
                    if owns(f.path()) {
                        mine += 1;
                    } else {
                        others += 1;
                    }
                }
                pruned.set((mine, others));
                return false;
            }
            true
        });
    for e in walker.filter_map(Result::ok) {
        if !e.file_type().is_file() || !is_html_file(e.path()) {
            continue;
        }
        if select.excludes(path, e.path()) {
            if owns(e.path()) {
                excluded.0 += 1;
            } else {
                excluded.1 += 1;
            }
        } else {
            out.push(e.into_path());
        }
    }
    out.sort();
    let (mine, others) = pruned.get();
    (out, excluded.0 + mine, excluded.1 + others)
}

/// The URL a local file will have once deployed under `base`.
pub fn local_url(root: &Path, file: &Path, base: &Url) -> Url {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let rel: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let mut rel = rel.join("/");
    if rel == "index.html" {
        rel.clear();
    } else if let Some(dir) = rel.strip_suffix("/index.html") {
        rel = format!("{dir}/");
    }
    base.join(&rel).unwrap_or_else(|_| base.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let s = Url::parse("https://www.shop.example/blog/").unwrap();
        let u = |x: &str| Url::parse(x).unwrap();
        assert!(in_scope(&u("https://cdn.shop.example/a"), &s, Scope::Site));
        assert!(!in_scope(&u("https://cdn.shop.example/a"), &s, Scope::Host));
        assert!(in_scope(
            &u("https://www.shop.example/blog/x"),
            &s,
            Scope::Prefix
        ));
        assert!(!in_scope(
            &u("https://www.shop.example/about"),
            &s,
            Scope::Prefix
        ));
        assert!(!in_scope(&u("https://other.example/"), &s, Scope::Site));
    }

    #[test]
    fn local_urls() {
        let base = Url::parse("https://www.shop.example/").unwrap();
        let root = Path::new("/build");
        assert_eq!(
            local_url(root, Path::new("/build/index.html"), &base).as_str(),
            "https://www.shop.example/"
        );
        assert_eq!(
            local_url(root, Path::new("/build/blog/post/index.html"), &base).as_str(),
            "https://www.shop.example/blog/post/"
        );
        assert_eq!(
            local_url(root, Path::new("/build/404.html"), &base).as_str(),
            "https://www.shop.example/404.html"
        );
    }
}
