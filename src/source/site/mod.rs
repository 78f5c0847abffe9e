//! Web pages: a bounded same-site crawl over HTTP (robots.txt, sitemap.xml, scope, depth,
//! page and size limits, recorded redirects), and local build folders. Only page URLs are
//! fetched: never a tracker URL (that is `--probe`, in the site scan, and opt-in).

//!
//! Layout: `crawl` (the loop, its frontier and robots.txt per origin), `fetch` (one bounded
//! HTTP fetch with its redirects), `sitemaps` (the start origin's sitemaps), `local` (build
//! folders).

mod crawl;
mod fetch;
mod local;
mod sitemaps;

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, COOKIE};
use url::Url;

use crate::domain::registrable;
use crate::select::UrlSelect;

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

/// Why the crawl's HTTP client cannot be built: a header or cookie that HTTP cannot carry.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad --header name {name:?}: {why}")]
    HeaderName { name: String, why: String },
    #[error("bad --header value for {name}: {why}")]
    HeaderValue { name: String, why: String },
    #[error("bad --cookie: {0}")]
    Cookie(String),
    #[error("cannot build HTTP client: {0}")]
    Build(String),
}

pub fn build_client(opts: &CrawlOptions) -> Result<reqwest::Client, ClientError> {
    let mut headers = HeaderMap::new();
    for (k, v) in &opts.headers {
        let name =
            HeaderName::from_bytes(k.trim().as_bytes()).map_err(|e| ClientError::HeaderName {
                name: k.clone(),
                why: e.to_string(),
            })?;
        let value = HeaderValue::from_str(v.trim()).map_err(|e| ClientError::HeaderValue {
            name: k.clone(),
            why: e.to_string(),
        })?;
        headers.append(name, value);
    }
    if let Some(c) = &opts.cookie {
        let value = HeaderValue::from_str(c).map_err(|e| ClientError::Cookie(e.to_string()))?;
        headers.insert(COOKIE, value);
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
    b.build().map_err(|e| ClientError::Build(e.to_string()))
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
pub use crawl::crawl;
pub use local::{local_files, local_files_selected, local_files_shard, local_url};

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
}
