//! `pixscan site`: crawl a site (or walk a build folder), analyze every page, and hand
//! each page's report on as soon as it is ready, in a stable order (the crawl's
//! deterministic order, or sorted paths), so memory stays flat however large the site.

use std::path::PathBuf;

use url::Url;

use crate::analyze::site::{analyze_page, PageAnalysis, PageContext};
use crate::domain::registrable;
use crate::extract;
use crate::filters::FilterLists;
use crate::model::{DocumentReport, ShardSummary, Skipped, Summary};
use crate::progress::Total;
use crate::rules::Ruleset;
use crate::shard::{path_key, Shard, ShardRun};
use crate::source::site::{self, CrawlEvent, CrawlOptions};

pub struct SiteOptions<'a> {
    /// URLs to crawl, or local folders/files.
    pub targets: Vec<String>,
    pub rules: &'a Ruleset,
    /// `--filter-list`: an attribution tier after the ruleset.
    pub filters: Option<&'a FilterLists>,
    pub crawl: CrawlOptions,
    /// The owner's other domains (CDN, analytics subdomain): first party.
    pub first_party: Vec<String>,
    /// Folder mode: the URL the files will be served under.
    pub base_url: Option<Url>,
    /// Fetch tracking URLs themselves to learn size, type and cookies (off by default).
    pub probe: bool,
    /// Browser mode: also load every crawled page in Chromium and merge what fires at run
    /// time with the static findings.
    pub browser: Option<crate::source::browser::BrowserOptions>,
    /// Folder mode: `--include`/`--exclude` over paths relative to the folder (crawls use
    /// `crawl.select`, over URLs).
    pub select: crate::select::PathSelect,
    /// `--shard K/N`: scan only this shard's crawls (by start URL) and build-folder files
    /// (by path below the folder); see [`crate::shard`].
    pub shard: Option<ShardRun>,
}

/// What [`scan_site`] tells a progress line.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// Before the first page: how many pages the run expects (the files of the build
    /// folders, or at most `--max-pages` per start URL).
    Expect(Total),
    /// A page was scanned, or failed.
    Page(&'a str),
    /// Browser mode: the browser pass over this many pages starts.
    Browser { pages: u64 },
    /// Browser mode: a page was loaded in the browser.
    BrowserPage(&'a str),
}

/// Why a site scan cannot run (a page that fails is a failed document, not this).
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{0}: neither an existing file or folder nor an http(s) URL")]
    BadTarget(String),
    #[error(transparent)]
    Client(#[from] site::ClientError),
    #[error(transparent)]
    Browser(#[from] crate::source::browser::BrowserError),
    #[error("cannot start the crawler's runtime: {0}")]
    Runtime(std::io::Error),
}

/// Scans every target; `emit` receives each page's report (and may amend it: policy
/// verdicts) before it is counted in the returned summary.
pub fn scan_site(
    opts: &SiteOptions<'_>,
    progress: &dyn Fn(Progress<'_>),
    emit: &mut dyn FnMut(&mut DocumentReport),
) -> Result<Summary, SiteError> {
    let mut summary = Summary::default();
    let mut out = |mut doc: DocumentReport| {
        emit(&mut doc);
        summary.add(&doc);
    };
    let mut run = SiteRun::new(opts)?;
    run.launch_browser()?;
    let mut local = run.list_folders();
    progress(Progress::Expect(run.expected(&local)));
    for (t, (target, listed)) in opts.targets.iter().zip(local.iter_mut()).enumerate() {
        match listed.take() {
            Some(listed) => run.folder(t, target, listed, &mut out, progress),
            None => run.crawl(t, target, &mut out, progress)?,
        }
    }
    run.finish(&mut summary);
    Ok(summary)
}

/// A build folder's files for this shard (with their place in the folder's full list),
/// how many `--include`/`--exclude` left out, and whether it had no HTML at all.
type Listed = (Vec<(u64, PathBuf)>, u64, bool);

/// One `pixscan site` run: the runtime and browser it shares across targets, and what the
/// summary will say beyond the documents (skips, exclusions, what other shards scan).
struct SiteRun<'o> {
    opts: &'o SiteOptions<'o>,
    shard: Shard,
    runtime: tokio::runtime::Runtime,
    browser: Option<crate::source::browser::Browser>,
    skipped: Vec<Skipped>,
    excluded: u64,
    /// `--shard`: what this shard leaves to the others.
    left: u64,
}

impl<'o> SiteRun<'o> {
    fn new(opts: &'o SiteOptions<'o>) -> Result<SiteRun<'o>, SiteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(SiteError::Runtime)?;
        Ok(SiteRun {
            opts,
            shard: opts.shard.as_ref().map_or(Shard::WHOLE, |s| s.shard),
            runtime,
            browser: None,
            skipped: Vec::new(),
            excluded: 0,
            left: 0,
        })
    }

    /// A crawl belongs to one shard, by its start URL; a build folder's own notes (no HTML
    /// found, not loaded in the browser) by the key ".".
    fn crawl_owned(&self, target: &str) -> bool {
        let key = Url::parse(target).map_or_else(|_| target.to_string(), |u| u.to_string());
        self.shard.owns(&key, 0)
    }

    /// Browser mode starts Chromium once, up front, so a missing browser fails fast.
    fn launch_browser(&mut self) -> Result<(), SiteError> {
        let Some(b) = &self.opts.browser else {
            return Ok(());
        };
        let any_crawl = self
            .opts
            .targets
            .iter()
            .any(|t| !PathBuf::from(t).exists() && self.crawl_owned(t));
        if !any_crawl {
            return Ok(());
        }
        let mut b = b.clone();
        if b.concurrency == 0 {
            b.concurrency = self.opts.crawl.concurrency;
        }
        if self.opts.crawl.insecure {
            b.extra_args.push("--ignore-certificate-errors".into());
        }
        self.browser = Some(
            self.runtime
                .block_on(crate::source::browser::Browser::launch(&b))?,
        );
        Ok(())
    }

    /// Build folders are listed up front, so the progress line knows the total. Each file
    /// keeps its place in the folder's full list (its `order`), shard or not. `None` for a
    /// target that is not a local path (a crawl).
    fn list_folders(&mut self) -> Vec<Option<Listed>> {
        let shard = self.shard;
        let mut left = 0;
        let listed = self
            .opts
            .targets
            .iter()
            .map(|t| {
                let path = PathBuf::from(t);
                if !path.exists() {
                    return None;
                }
                let (files, mine, others) =
                    site::local_files_shard(&path, &self.opts.select, &shard);
                let empty = files.is_empty() && mine + others == 0;
                let root = if path.is_file() {
                    path.parent().unwrap_or(&path).to_path_buf()
                } else {
                    path.clone()
                };
                left += others;
                let mut mine_files = Vec::new();
                for (i, f) in files.into_iter().enumerate() {
                    if shard.count <= 1 || shard.owns(&path_key(&root, &f), 0) {
                        mine_files.push((i as u64, f));
                    } else {
                        left += 1;
                    }
                }
                Some((mine_files, mine, empty))
            })
            .collect();
        self.left += left;
        listed
    }

    /// How many pages the run expects: the folders' files, or at most `--max-pages` per
    /// crawl.
    fn expected(&self, local: &[Option<Listed>]) -> Total {
        let files: u64 = local.iter().flatten().map(|(f, ..)| f.len() as u64).sum();
        let crawls = self
            .opts
            .targets
            .iter()
            .zip(local)
            .filter(|(t, l)| l.is_none() && self.crawl_owned(t))
            .count() as u64;
        if crawls == 0 {
            Total::Exactly(files)
        } else {
            Total::AtMost(files + crawls * self.opts.crawl.max_pages as u64)
        }
    }

    /// A build folder (or one file), the `t`-th target.
    fn folder(
        &mut self,
        t: usize,
        target: &str,
        (files, left_out, empty): Listed,
        out: &mut dyn FnMut(DocumentReport),
        progress: &dyn Fn(Progress<'_>),
    ) {
        let path = PathBuf::from(target);
        self.excluded += left_out;
        let notes_owned = self.shard.owns(".", 0);
        if empty && notes_owned {
            self.skipped.push(Skipped {
                url: path.display().to_string(),
                reason: "no .html files found".into(),
            });
        }
        self.left += u64::from(empty && !notes_owned);
        let files = files.into_iter().map(|(i, f)| ([t as u64, i], f)).collect();
        scan_local(&path, files, self.opts, out, &|p| {
            progress(Progress::Page(p))
        });
        let browser = self.opts.browser.is_some();
        self.left += u64::from(browser && !notes_owned);
        if browser && notes_owned {
            self.skipped.push(Skipped {
                url: target.to_string(),
                reason: "browser mode loads URLs only: serve the folder and scan its URL to see what fires at run time".into(),
            });
        }
    }

    /// A crawl from the `t`-th target, a start URL; with `--probe` or `--browser`, the
    /// pages are held until those passes have run over the whole crawl.
    fn crawl(
        &mut self,
        t: usize,
        target: &str,
        out: &mut dyn FnMut(DocumentReport),
        progress: &dyn Fn(Progress<'_>),
    ) -> Result<(), SiteError> {
        let opts = self.opts;
        let start = Url::parse(target)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| SiteError::BadTarget(target.to_string()))?;
        if !self.crawl_owned(target) {
            self.left += 1;
            return Ok(());
        }
        let client = site::build_client(&opts.crawl)?;
        let mut first_party = vec![registrable(start.host_str().unwrap_or(""))];
        first_party.extend(opts.first_party.iter().map(|d| registrable(d)));
        // --probe and --browser work on the whole crawl afterwards; otherwise each page
        // goes out as soon as it is analyzed.
        let batch = opts.probe || self.browser.is_some();
        let mut held = Vec::new();
        let mut page_no = 0u64;
        let (skipped, excluded) = (&mut self.skipped, &mut self.excluded);
        let mut pass = |mut doc: DocumentReport| {
            // The page's place in the crawl, for its `order`.
            doc.order = Some([t as u64, page_no]);
            page_no += 1;
            if batch {
                held.push(doc);
            } else {
                out(doc);
            }
        };
        self.runtime.block_on(site::crawl(
            client.clone(),
            start,
            opts.crawl.clone(),
            |event| match event {
                CrawlEvent::Page(page) => {
                    progress(Progress::Page(page.url.as_str()));
                    let (doc, links) = crawled_page(page, opts, &first_party);
                    pass(doc);
                    links
                }
                CrawlEvent::Failed {
                    url,
                    redirects,
                    reason,
                } => {
                    progress(Progress::Page(&url));
                    let mut d = DocumentReport::failed(url, reason);
                    d.redirects = redirects;
                    pass(d);
                    Vec::new()
                }
                CrawlEvent::Skipped { url, reason } => {
                    skipped.push(Skipped { url, reason });
                    Vec::new()
                }
                CrawlEvent::Excluded { .. } => {
                    *excluded += 1;
                    Vec::new()
                }
            },
        ));
        self.after_crawl(&client, &mut held, &first_party, progress);
        for d in held {
            out(d);
        }
        Ok(())
    }

    /// `--probe` and the browser pass, over a whole crawl's pages.
    fn after_crawl(
        &self,
        client: &reqwest::Client,
        docs: &mut [DocumentReport],
        first_party: &[String],
        progress: &dyn Fn(Progress<'_>),
    ) {
        if self.opts.probe {
            self.runtime.block_on(super::probe::probe(client, docs));
        }
        if let Some(b) = &self.browser {
            let pages = docs
                .iter()
                .filter(|d| d.error.is_none() && d.source.starts_with("http"))
                .count() as u64;
            progress(Progress::Browser { pages });
            self.runtime
                .block_on(crate::scan::browser::browse_documents(
                    b,
                    docs,
                    self.opts.rules,
                    self.opts.filters,
                    first_party,
                    &self.opts.crawl,
                    &|p| progress(Progress::BrowserPage(p)),
                ));
        }
    }

    /// Closes the browser and writes skips, exclusions and the shard's part into `summary`.
    fn finish(mut self, summary: &mut Summary) {
        if let Some(b) = self.browser.take() {
            self.runtime.block_on(b.close());
        }
        // Skips are reported as they happen, which depends on timing: sort them.
        self.skipped
            .sort_by(|a, b| a.url.cmp(&b.url).then_with(|| a.reason.cmp(&b.reason)));
        summary.skipped = self.skipped;
        summary.excluded = self.excluded;
        summary.shard = self.opts.shard.as_ref().map(|s| ShardSummary {
            index: s.shard.index,
            count: s.shard.count,
            run: s.run.clone(),
            left_to_others: self.left,
            skipped_order: Vec::new(),
        });
        summary.finish();
    }
}

/// Scans the files of a build folder (or one file), listed by `site::local_files_shard`,
/// each with its `order`.
fn scan_local(
    path: &std::path::Path,
    files: Vec<([u64; 2], PathBuf)>,
    opts: &SiteOptions<'_>,
    out: &mut dyn FnMut(DocumentReport),
    progress: &dyn Fn(&str),
) {
    let base = opts
        .base_url
        .clone()
        .unwrap_or_else(|| Url::parse("https://localhost/").expect("static URL"));
    let mut first_party = vec![registrable(base.host_str().unwrap_or("localhost"))];
    first_party.extend(opts.first_party.iter().map(|d| registrable(d)));
    let root = if path.is_file() {
        path.parent().unwrap_or(path).to_path_buf()
    } else {
        path.to_path_buf()
    };
    let mut out = |mut doc: DocumentReport, order: [u64; 2]| {
        doc.order = Some(order);
        out(doc);
    };
    for (order, file) in files {
        let source = file.display().to_string();
        progress(&source);
        let meta = std::fs::metadata(&file);
        if let Some(len) = meta
            .as_ref()
            .ok()
            .map(|m| m.len())
            .filter(|&l| l > opts.crawl.max_body)
        {
            let (len, max) = crate::units::size_pair(len, opts.crawl.max_body);
            out(
                DocumentReport::failed(
                    source,
                    format!("file of {len} is over the size limit of {max} (--max-body)"),
                ),
                order,
            );
            continue;
        }
        let html = match std::fs::read(&file) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                out(
                    DocumentReport::failed(source, format!("cannot read: {e}")),
                    order,
                );
                continue;
            }
        };
        let url = site::local_url(&root, &file, &base);
        let pctx = PageContext {
            rules: opts.rules,
            filters: opts.filters,
            first_party: first_party.clone(),
            referrer_header: None,
            site_from_page: opts.base_url.is_none(),
        };
        out(page_document(source, &url, &html, &pctx).0, order);
    }
}

/// A page the crawl fetched, as its document, and the links to follow from it.
fn crawled_page(
    page: site::Page,
    opts: &SiteOptions<'_>,
    first_party: &[String],
) -> (DocumentReport, Vec<Url>) {
    let pctx = PageContext {
        rules: opts.rules,
        filters: opts.filters,
        first_party: first_party.to_vec(),
        referrer_header: page.referrer_policy,
        site_from_page: false,
    };
    let (mut doc, links) = page_document(page.url.to_string(), &page.url, &page.html, &pctx);
    doc.redirects = page.redirects;
    (doc, links)
}

/// Extracts and analyzes one page. A bug costs this page (a failed document), never the
/// crawl. Returns the report and the page's links.
fn page_document(
    source: String,
    url: &Url,
    html: &str,
    pctx: &PageContext<'_>,
) -> (DocumentReport, Vec<Url>) {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ex = extract::extract(html);
        let analysis = analyze_page(url, html, &ex, pctx);
        let links = analysis.links.clone();
        let mut doc = document(source.clone(), analysis, &pctx.first_party);
        if ex.truncated_refs > 0 {
            doc.notes.push(format!(
                "{} more remote reference(s) past the per-page limit of {} were not analyzed",
                ex.truncated_refs,
                extract::Limits::default().max_refs
            ));
        }
        (doc, links)
    }));
    run.unwrap_or_else(|_| {
        (
            DocumentReport::failed(
                source,
                "internal error while analyzing this page (please report it)".into(),
            ),
            Vec::new(),
        )
    })
}

fn document(source: String, a: PageAnalysis, first_party: &[String]) -> DocumentReport {
    let mut notes = Vec::new();
    if let Some(copy) = &a.archive {
        notes.push(format!(
            "Wayback Machine copy (captured {}): findings describe the page as first published; this copy itself fetches everything from web.archive.org",
            copy.date()
        ));
    } else if let Some(site) = &a.declared_site {
        notes.push(format!(
            "first party: {site}, from the page's canonical URL (--base-url sets it instead)"
        ));
    }
    DocumentReport {
        source,
        error: None,
        title: a.title,
        first_party: a
            .declared_site
            .clone()
            .or_else(|| first_party.first().cloned()),
        notes,
        findings: a.findings,
        untracked_links: a.untracked_links,
        consent_platforms: Some(a.consent_platforms),
        referrer: a.referrer,
        personal_data_in_url: Some(a.personal_data),
        ..Default::default()
    }
}
