//! The crawl loop: a frontier of page URLs (breadth first), robots.txt per origin, a
//! bounded number of fetches in flight, results handled in dispatch order.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;
use url::Url;

use super::fetch::{fetch, load_robots, Fetched};
use super::{in_scope, normalize, scope_reason, CrawlEvent, CrawlOptions, Page, Robots};
use crate::select::FLAGS;

/// Crawls from `start`, calling `on_event` for every page, failure and skip. Every URL
/// discovered is reported exactly once.
pub async fn crawl(
    client: reqwest::Client,
    start: Url,
    opts: CrawlOptions,
    on_event: impl FnMut(CrawlEvent) -> Vec<Url>,
) {
    let start = normalize(start);
    let mut c = Crawl {
        deadline: Instant::now() + opts.total_timeout,
        client,
        start,
        opts,
        on_event,
        seen: HashSet::new(),
        frontier: VecDeque::new(),
        robots: HashMap::new(),
        tasks: JoinSet::new(),
        task_seq: HashMap::new(),
        inflight: BTreeMap::new(),
        ready: BTreeMap::new(),
        next_seq: 0,
        dispatched: 0,
        started: 0,
    };
    c.seen.insert(c.start.to_string());
    c.frontier.push_back((c.start.clone(), 0));
    c.read_start_origin().await;
    c.run().await;
}

/// One task's result: (dispatch number, URL requested, depth, outcome).
type Done = (u64, Url, usize, Fetched);

/// The state of one crawl.
pub(super) struct Crawl<F> {
    pub(super) client: reqwest::Client,
    pub(super) start: Url,
    pub(super) opts: CrawlOptions,
    /// `--total-timeout`, counted from the start.
    pub(super) deadline: Instant,
    pub(super) on_event: F,
    /// Every URL ever reported or queued (no fragment): each is reported once.
    pub(super) seen: HashSet<String>,
    /// (page URL, depth) still to fetch.
    pub(super) frontier: VecDeque<(Url, usize)>,
    /// robots.txt by origin.
    robots: HashMap<String, Robots>,
    // Fetches run concurrently, but their results are handled in dispatch order, so the
    // frontier (and with it the whole crawl and its report) is the same from run to run.
    tasks: JoinSet<Done>,
    task_seq: HashMap<Id, u64>,
    inflight: BTreeMap<u64, (Url, usize)>,
    ready: BTreeMap<u64, (Url, usize, Fetched)>,
    next_seq: u64,
    dispatched: u64,
    /// Pages fetched or being fetched, for `--max-pages`.
    started: usize,
}

impl<F: FnMut(CrawlEvent) -> Vec<Url>> Crawl<F> {
    pub(super) fn skip(&mut self, url: String, reason: String) {
        (self.on_event)(CrawlEvent::Skipped { url, reason });
    }

    /// robots.txt of the start origin, then its sitemaps.
    async fn read_start_origin(&mut self) {
        let origin = self.start.origin().ascii_serialization();
        // Both count against --total-timeout: a robots.txt or sitemap that drips must not
        // hold the crawl past its limit.
        let load = load_robots(&self.client, &self.start, &self.opts);
        let r = match tokio::time::timeout_at(self.deadline, load).await {
            Ok(r) => r,
            Err(_) => {
                self.skip(
                    format!("{origin}/robots.txt"),
                    "total time limit reached (--total-timeout) while reading robots.txt".into(),
                );
                Robots::default()
            }
        };
        if let Some(e) = r.error() {
            let note = robots_error_note(e, &self.opts);
            self.skip(format!("{origin}/robots.txt"), note);
        }
        if self.opts.sitemap {
            self.read_sitemaps(&r.sitemaps).await;
        }
        self.robots.insert(origin, r);
    }

    async fn run(&mut self) {
        loop {
            self.dispatch().await;
            if self.tasks.is_empty() && self.ready.is_empty() {
                break;
            }
            if !self.ready.contains_key(&self.next_seq) {
                if !self.wait().await {
                    break;
                }
                continue;
            }
            let Some((requested, depth, fetched)) = self.ready.remove(&self.next_seq) else {
                continue;
            };
            self.inflight.remove(&self.next_seq);
            self.next_seq += 1;
            self.handle(requested, depth, fetched);
        }
    }

    /// Starts fetches from the frontier until `--concurrency` are in flight, reporting the
    /// pages over `--max-pages` or disallowed by robots.txt.
    async fn dispatch(&mut self) {
        while self.tasks.len() < self.opts.concurrency.max(1) {
            let Some((url, depth)) = self.frontier.pop_front() else {
                break;
            };
            if self.started >= self.opts.max_pages {
                let reason = format!("page limit reached (--max-pages {})", self.opts.max_pages);
                self.skip(url.to_string(), reason);
                continue;
            }
            if !self.robots_allow(&url).await {
                continue;
            }
            self.started += 1;
            self.spawn(url, depth);
        }
    }

    /// Whether robots.txt of the URL's origin (read on first use) lets it be fetched; if
    /// not, the URL is reported.
    async fn robots_allow(&mut self, url: &Url) -> bool {
        let o = url.origin().ascii_serialization();
        if !self.robots.contains_key(&o) {
            let r =
                tokio::time::timeout_at(self.deadline, load_robots(&self.client, url, &self.opts))
                    .await
                    .unwrap_or_default();
            if let Some(e) = r.error() {
                let note = robots_error_note(e, &self.opts);
                self.skip(format!("{o}/robots.txt"), note);
            }
            self.robots.insert(o.clone(), r);
        }
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let r = &self.robots[&o];
        if self.opts.ignore_robots || r.allowed(&path) {
            return true;
        }
        let reason = if r.error().is_some() {
            "robots.txt could not be parsed, so every page of this origin counts as \
             disallowed (--ignore-robots on your own site)"
        } else {
            "disallowed by robots.txt (--ignore-robots on your own site)"
        };
        self.skip(url.to_string(), reason.into());
        false
    }

    fn spawn(&mut self, url: Url, depth: usize) {
        let seq = self.dispatched;
        self.dispatched += 1;
        self.inflight.insert(seq, (url.clone(), depth));
        let (client, start, opts) = (self.client.clone(), self.start.clone(), self.opts.clone());
        let handle = self.tasks.spawn(async move {
            let f = fetch(&client, url.clone(), &start, &opts, true, depth > 0).await;
            (seq, url, depth, f)
        });
        self.task_seq.insert(handle.id(), seq);
    }

    /// Waits for the next fetch to finish. False when the total time limit ended the crawl.
    async fn wait(&mut self) -> bool {
        match tokio::time::timeout_at(self.deadline, self.tasks.join_next_with_id()).await {
            Ok(Some(Ok((id, (seq, url, depth, f))))) => {
                self.task_seq.remove(&id);
                self.ready.insert(seq, (url, depth, f));
            }
            Ok(Some(Err(e))) => self.task_failed(e),
            Ok(None) => {
                // Nothing in flight yet the next result is missing: move on to the
                // next one that arrived rather than wait forever.
                if let Some(&first) = self.ready.keys().next() {
                    self.next_seq = first;
                }
            }
            Err(_) => {
                self.time_out();
                return false;
            }
        }
        true
    }

    /// A task that panicked or was cancelled: its page fails, the crawl goes on.
    fn task_failed(&mut self, e: JoinError) {
        let Some(seq) = self.task_seq.remove(&e.id()) else {
            return;
        };
        if let Some((url, depth)) = self.inflight.get(&seq).cloned() {
            let failed = Fetched::Failed {
                redirects: Vec::new(),
                reason: format!("internal error: {e}"),
            };
            self.ready.insert(seq, (url, depth, failed));
        }
    }

    /// `--total-timeout`: every page in flight, queued or fetched but not yet handled is
    /// reported as not scanned.
    fn time_out(&mut self) {
        self.tasks.abort_all();
        let reason = format!(
            "total time limit reached ({:?}, --total-timeout)",
            self.opts.total_timeout
        );
        for (seq, (u, _)) in std::mem::take(&mut self.inflight) {
            if !self.ready.contains_key(&seq) {
                self.skip(u.to_string(), format!("{reason} while fetching"));
            }
        }
        let frontier: Vec<(Url, usize)> = self.frontier.drain(..).collect();
        for (u, _) in frontier {
            self.skip(u.to_string(), reason.clone());
        }
        // Pages already fetched but not yet handled are still reported, in order.
        let rest: Vec<(Url, usize, Fetched)> =
            std::mem::take(&mut self.ready).into_values().collect();
        for (u, _, _) in rest {
            self.skip(u.to_string(), reason.clone());
        }
    }

    /// One fetch's outcome, in dispatch order.
    fn handle(&mut self, requested: Url, depth: usize, fetched: Fetched) {
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
                if url != requested && !self.seen.insert(url.to_string()) {
                    let reason = format!("redirects to {url}, scanned already");
                    self.skip(requested.to_string(), reason);
                    return;
                }
                let links = (self.on_event)(CrawlEvent::Page(Page {
                    url,
                    redirects,
                    referrer_policy,
                    html,
                    depth,
                }));
                self.queue_links(links, depth);
            }
            Fetched::Failed { redirects, reason } => {
                (self.on_event)(CrawlEvent::Failed {
                    url: requested.to_string(),
                    redirects,
                    reason,
                });
            }
            Fetched::Skipped { reason } => self.skip(requested.to_string(), reason),
            Fetched::Excluded { target } => {
                // Counted once under the target; another page redirecting there is listed
                // under its own URL, as for a redirect off the site.
                if self.seen.insert(target.to_string()) {
                    (self.on_event)(CrawlEvent::Excluded {
                        url: target.to_string(),
                    });
                } else {
                    let reason = format!("redirects to {target}, which {FLAGS} leaves out");
                    self.skip(requested.to_string(), reason);
                }
            }
            Fetched::OffSite { target, reason } => {
                // The target is listed once; every other page redirecting there is listed
                // under its own URL, so each request is accounted for.
                if self.seen.insert(target.to_string()) {
                    self.skip(target.to_string(), reason);
                } else {
                    let reason =
                        format!("redirects to {target}: {}", scope_reason(self.opts.scope));
                    self.skip(requested.to_string(), reason);
                }
            }
        }
    }

    /// The links of a page at `depth`: new in-scope, selected ones within `--depth` join
    /// the frontier; the others are reported once.
    fn queue_links(&mut self, links: Vec<Url>, depth: usize) {
        for link in links {
            let link = normalize(link);
            if !matches!(link.scheme(), "http" | "https") || !self.seen.insert(link.to_string()) {
                continue;
            }
            if !in_scope(&link, &self.start, self.opts.scope) {
                self.skip(link.to_string(), scope_reason(self.opts.scope).into());
            } else if self.opts.select.excludes(&link) {
                (self.on_event)(CrawlEvent::Excluded {
                    url: link.to_string(),
                });
            } else if self.opts.depth.is_some_and(|d| depth + 1 > d) {
                let reason = format!("depth limit (--depth {})", self.opts.depth.unwrap_or(0));
                self.skip(link.to_string(), reason);
            } else {
                self.frontier.push_back((link, depth + 1));
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
