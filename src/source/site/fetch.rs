//! One bounded HTTP fetch: redirects followed by hand (each hop recorded and held to the
//! scope, the loop and hop limits), the content type checked for pages, the body read in
//! chunks against `--max-body`.

use std::ops::ControlFlow::{self, Break, Continue};

use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use url::Url;

use super::{in_scope, normalize, scope_reason, CrawlOptions, Robots};

/// Outcome of fetching one URL, following redirects by hand so each hop is recorded and
/// checked against the scope.
pub(super) enum Fetched {
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

/// What one fetch is held to.
struct Rules<'a> {
    start: &'a Url,
    opts: &'a CrawlOptions,
    /// A page: redirects are held to the scope, the body must be HTML.
    want_html: bool,
    /// Redirects are held to `--include`/`--exclude` too.
    select: bool,
}

/// `want_html`: a page (its redirects are held to the scope); `select`: its redirects are
/// held to `--include`/`--exclude` too (every page but the start URL).
pub(super) async fn fetch(
    client: &reqwest::Client,
    url: Url,
    start: &Url,
    opts: &CrawlOptions,
    want_html: bool,
    select: bool,
) -> Fetched {
    let rules = Rules {
        start,
        opts,
        want_html,
        select,
    };
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
            match rules.redirect(status, resp.headers(), &current, &mut chain) {
                Continue(next) => {
                    current = next;
                    continue;
                }
                Break(done) => return done,
            }
        }
        if !status.is_success() {
            return Fetched::Failed {
                redirects: chain,
                reason: format!("HTTP {}", status.as_u16()),
            };
        }
        return rules.read_body(resp, current, chain).await;
    }
}

impl Rules<'_> {
    /// One redirect hop from `current`: the URL to fetch next, or how the fetch ends (no
    /// usable Location, a loop, too many hops, off the scope, left out by the selection).
    fn redirect(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        current: &Url,
        chain: &mut Vec<String>,
    ) -> ControlFlow<Fetched, Url> {
        let opts = self.opts;
        let Some(loc) = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| current.join(l).ok())
        else {
            return Break(Fetched::Failed {
                redirects: std::mem::take(chain),
                reason: format!("HTTP {} without a usable Location", status.as_u16()),
            });
        };
        let loc = normalize(loc);
        chain.push(current.to_string());
        if chain.iter().any(|c| c == loc.as_str()) {
            chain.push(loc.to_string());
            return Break(Fetched::Failed {
                reason: format!("redirect loop: {}", chain.join(" → ")),
                redirects: std::mem::take(chain),
            });
        }
        if chain.len() > opts.max_redirects {
            return Break(Fetched::Failed {
                reason: format!(
                    "too many redirects (more than {}, --max-redirects)",
                    opts.max_redirects
                ),
                redirects: std::mem::take(chain),
            });
        }
        if self.want_html && !in_scope(&loc, self.start, opts.scope) {
            chain.push(loc.to_string());
            return Break(Fetched::OffSite {
                reason: format!(
                    "{} (reached by redirect: {})",
                    scope_reason(opts.scope),
                    chain.join(" → ")
                ),
                target: loc,
            });
        }
        if self.want_html && self.select && opts.select.excludes(&loc) {
            return Break(Fetched::Excluded { target: loc });
        }
        Continue(loc)
    }

    /// A 2xx response: its content type checked (pages must be HTML), its body read up to
    /// `--max-body`.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        url: Url,
        chain: Vec<String>,
    ) -> Fetched {
        let opts = self.opts;
        let ctype = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if self.want_html
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
        Fetched::Body {
            url,
            redirects: chain,
            referrer_policy,
            content_type: ctype,
            body,
        }
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

pub(super) async fn load_robots(
    client: &reqwest::Client,
    any: &Url,
    opts: &CrawlOptions,
) -> Robots {
    let Ok(u) = any.join("/robots.txt") else {
        return Robots::default();
    };
    match fetch(client, u, any, opts, false, false).await {
        Fetched::Body { body, .. } => Robots::parse(&body),
        _ => Robots::default(),
    }
}
