//! The start origin's sitemaps: those robots.txt names (else a guessed `/sitemap.xml`),
//! then those an index lists, within per-crawl limits.

use std::collections::{HashSet, VecDeque};

use url::Url;

use super::crawl::Crawl;
use super::fetch::{fetch, Fetched};
use super::{in_scope, normalize, scope_reason, CrawlEvent};
use crate::source::sitemap::{self, Kind, Sitemap, SitemapError};

/// Sitemaps fetched per crawl (robots.txt's, `/sitemap.xml`, and those an index lists).
const MAX_SITEMAPS: usize = 10;
/// Sitemap URLs listed per crawl (fetched or reported as not read); more are counted in one
/// note.
const MAX_SITEMAPS_LISTED: usize = 100;
/// Page URLs taken from sitemaps per crawl (the sitemap protocol's per-file maximum).
const MAX_SITEMAP_PAGES: usize = 50_000;

/// The sitemaps of one crawl.
#[derive(Default)]
struct Sitemaps {
    /// (sitemap URL, named by robots.txt or an index rather than guessed)
    queue: VecDeque<(String, bool)>,
    /// Every sitemap URL ever queued: an index that lists itself, or a loop of indexes, is
    /// read once.
    listed: HashSet<String>,
    /// Sitemaps fetched so far.
    fetched: usize,
    /// Page URLs taken so far.
    pages: usize,
}

/// What reading one sitemap gave.
enum Read {
    Map(Sitemap),
    /// Nothing to take (noted, if worth a note).
    Nothing,
    /// `--total-timeout` struck while reading it.
    TimedOut,
}

/// `<loc>` entries of one sitemap that were not taken: (over a limit, not an absolute URL,
/// the first of those).
#[derive(Default)]
struct Leftovers {
    over: usize,
    bad: usize,
    first_bad: Option<String>,
}

impl Leftovers {
    fn bad(&mut self, loc: String) {
        self.bad += 1;
        self.first_bad.get_or_insert(loc);
    }
}

impl<F: FnMut(CrawlEvent) -> Vec<Url>> Crawl<F> {
    /// Reads the start origin's sitemaps (those robots.txt names, else `/sitemap.xml`, then
    /// those an index lists) and queues the in-scope pages they list, at depth 1. Every
    /// problem is a note, a skipped entry under the sitemap's URL; none stops the crawl. A
    /// guessed `/sitemap.xml` that is missing or is not a sitemap is not worth a note.
    pub(super) async fn read_sitemaps(&mut self, named: &[String]) {
        let mut maps = self.seed_sitemaps(named);
        while let Some((m, named)) = maps.queue.pop_front() {
            if maps.fetched >= MAX_SITEMAPS {
                let reason = format!("sitemap not read: at most {MAX_SITEMAPS} sitemaps per crawl");
                self.skip(m, reason);
                continue;
            }
            maps.fetched += 1;
            let room = (MAX_SITEMAP_PAGES.saturating_sub(maps.pages))
                .max(MAX_SITEMAPS_LISTED.saturating_sub(maps.listed.len()));
            let map = match self.read_sitemap(&m, named, room).await {
                Read::Map(map) => map,
                Read::Nothing => continue,
                Read::TimedOut => {
                    for (rest, _) in maps.queue.drain(..) {
                        self.skip(
                            rest,
                            "total time limit reached (--total-timeout) before reading the \
                             sitemap"
                                .into(),
                        );
                    }
                    break;
                }
            };
            self.take_sitemap(&mut maps, &m, map);
        }
    }

    /// The sitemaps to read first: those robots.txt names, else the guessed
    /// `/sitemap.xml`.
    fn seed_sitemaps(&mut self, named: &[String]) -> Sitemaps {
        let origin = self.start.origin().ascii_serialization();
        let mut maps = Sitemaps::default();
        if named.is_empty() {
            let guess = format!("{origin}/sitemap.xml");
            maps.listed.insert(guess.clone());
            maps.queue.push_back((guess, false));
        }
        let mut dropped = 0usize;
        for m in named {
            if maps.listed.len() >= MAX_SITEMAPS_LISTED {
                dropped += 1;
            } else if maps.listed.insert(m.clone()) {
                maps.queue.push_back((m.clone(), true));
            }
        }
        if dropped > 0 {
            self.skip(
                format!("{origin}/robots.txt"),
                format!(
                    "{dropped} more sitemap(s) named here not read: at most \
                     {MAX_SITEMAPS_LISTED} sitemaps listed per crawl"
                ),
            );
        }
        maps
    }

    /// Fetches, inflates and parses one sitemap (at most `room` entries kept).
    async fn read_sitemap(&mut self, m: &str, named: bool, room: usize) -> Read {
        let mu = match Url::parse(m) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                self.skip(m.into(), "sitemap not read: not an http(s) URL".into());
                return Read::Nothing;
            }
        };
        let get = fetch(&self.client, mu, &self.start, &self.opts, false, false);
        let Ok(fetched) = tokio::time::timeout_at(self.deadline, get).await else {
            self.skip(
                m.into(),
                "total time limit reached (--total-timeout) while reading the sitemap".into(),
            );
            return Read::TimedOut;
        };
        let (url, content_type, body) = match fetched {
            Fetched::Body {
                url,
                content_type,
                body,
                ..
            } => (url, content_type, body),
            Fetched::Excluded { .. } => return Read::Nothing,
            Fetched::Failed { reason, .. }
            | Fetched::Skipped { reason }
            | Fetched::OffSite { reason, .. } => {
                if named {
                    self.skip(m.into(), format!("sitemap not read: {reason}"));
                }
                return Read::Nothing;
            }
        };
        let gzip_hint = sitemap::gzip_hint(url.path(), &content_type);
        let xml = match sitemap::inflate(&body, self.opts.max_body) {
            Ok(x) => x,
            Err(e) => {
                self.skip(m.into(), format!("sitemap not read: {e}"));
                return Read::Nothing;
            }
        };
        match sitemap::parse(&xml, room) {
            Ok(map) => Read::Map(map),
            Err(SitemapError::NotSitemap(why)) => {
                if named {
                    let gz = if gzip_hint && !body.starts_with(&[0x1f, 0x8b]) {
                        " (served as gzip, but the body is not gzip data)"
                    } else {
                        ""
                    };
                    self.skip(
                        m.into(),
                        format!("sitemap not read: not a sitemap: {why}{gz}"),
                    );
                }
                Read::Nothing
            }
            Err(e) => {
                self.skip(m.into(), format!("sitemap not read: {e}"));
                Read::Nothing
            }
        }
    }

    /// Takes what sitemap `m` lists: sitemaps from an index, pages from a page sitemap;
    /// then notes what was left out.
    fn take_sitemap(&mut self, maps: &mut Sitemaps, m: &str, map: Sitemap) {
        let mut left = Leftovers {
            over: map.over_limit,
            ..Leftovers::default()
        };
        let taken = map.locs.len();
        match map.kind {
            Kind::Index => {
                for loc in map.locs {
                    if Url::parse(&loc).is_err() {
                        left.bad(loc);
                    } else if maps.listed.len() >= MAX_SITEMAPS_LISTED {
                        left.over += 1;
                    } else if maps.listed.insert(loc.clone()) {
                        maps.queue.push_back((loc, true));
                    }
                }
                if left.over > 0 {
                    let reason = format!(
                        "{} sitemap(s) listed in this index not read: at most \
                         {MAX_SITEMAPS_LISTED} sitemaps listed per crawl",
                        left.over
                    );
                    self.skip(m.into(), reason);
                }
            }
            Kind::Pages => {
                self.take_pages(maps, map.locs, &mut left);
                if left.over > 0 {
                    let reason = format!(
                        "{} page URL(s) in this sitemap not taken: at most \
                         {MAX_SITEMAP_PAGES} sitemap URLs per crawl",
                        left.over
                    );
                    self.skip(m.into(), reason);
                }
            }
        }
        if let Some(first) = left.first_bad {
            let reason = format!(
                "{} <loc> entr{} in this sitemap not an absolute URL, ignored (first: {:?})",
                left.bad,
                if left.bad == 1 { "y" } else { "ies" },
                first.chars().take(200).collect::<String>()
            );
            self.skip(m.into(), reason);
        }
        if let Some(e) = map.error {
            let reason = format!("sitemap read in part ({taken} entries before the error): {e}");
            self.skip(m.into(), reason);
        }
    }

    /// The page URLs of a sitemap: new in-scope, selected ones join the frontier at depth 1.
    fn take_pages(&mut self, maps: &mut Sitemaps, locs: Vec<String>, left: &mut Leftovers) {
        for loc in locs {
            if maps.pages >= MAX_SITEMAP_PAGES {
                left.over += 1;
                continue;
            }
            let Ok(u) = Url::parse(&loc) else {
                left.bad(loc);
                continue;
            };
            maps.pages += 1;
            let u = normalize(u);
            if !self.seen.insert(u.to_string()) {
                continue;
            }
            if !in_scope(&u, &self.start, self.opts.scope) {
                let reason = format!("from sitemap: {}", scope_reason(self.opts.scope));
                self.skip(u.to_string(), reason);
            } else if self.opts.select.excludes(&u) {
                (self.on_event)(CrawlEvent::Excluded { url: u.to_string() });
            } else {
                self.frontier.push_back((u, 1));
            }
        }
    }
}
