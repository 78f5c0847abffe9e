//! Browser mode (`pixscan site URL --browser`) as a data source: what actually fires at run
//! time, in a real Chromium, before the visitor has agreed to anything, and (with
//! `--accept-consent`) what the consent banner's accept button unlocks. It yields one
//! `PageObservation` per page and judges nothing.
//!
//! * `launch`: find and start Chromium (fresh profile, DevTools on a kernel-chosen port).
//! * `cdp`: a small DevTools protocol client (tokio + tokio-tungstenite, flat sessions).
//! * `observe`: one page in one tab of a fresh browser context: every request with its
//!   initiator, cookies sent and set (and blocked, with the reason), the cookie jar and
//!   localStorage once the network is idle, the accept click and what follows.
//! * this module: the one long-lived `Browser` that runs the pages and replaces Chromium
//!   when it dies.
//!
//! `analyze::runtime` turns observations into findings through the same analysis as static
//! mode (`analyze::analyze` on `RawRef`s built from the requests), merges them with the
//! static findings, and adds what only a browser shows: identifiers copied from first-party
//! cookies into third-party requests, Google Consent Mode signals, consent behaviour.
//! `scan::browser` runs a crawl's pages through the browser and that analysis.

pub mod cdp;
mod error;
pub mod launch;
pub mod observe;

pub use error::BrowserError;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use cdp::Cdp;
pub use observe::{PageJob, PageObservation};

/// How the browser runs and what it does on each page.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// The Chromium/Chrome binary; `None` searches `PATH`.
    pub chromium: Option<PathBuf>,
    /// Click the consent banner's accept button and record what that unlocks.
    pub accept_consent: bool,
    /// Block third-party cookies (the default allows them, like a stock desktop Chrome).
    pub block_third_party_cookies: bool,
    /// Scroll to the bottom to trigger lazy-loaded tags.
    pub scroll: bool,
    /// Quiet time that counts as "network idle".
    pub settle: Duration,
    /// Longest wait for each phase of a page (load, scroll, after accepting).
    pub max_wait: Duration,
    /// `--resolve` entries, mapped into Chromium's host resolver.
    pub resolve: Vec<(String, SocketAddr)>,
    /// User-Agent; `None` uses Chromium's own without the "Headless" marker.
    pub user_agent: Option<String>,
    /// Extra Chromium command-line flags.
    pub extra_args: Vec<String>,
    /// Pages open at once (tabs); 0: the crawl's `--concurrency`.
    pub concurrency: usize,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            chromium: None,
            accept_consent: false,
            block_third_party_cookies: false,
            scroll: false,
            settle: Duration::from_secs(1),
            max_wait: Duration::from_secs(15),
            resolve: Vec::new(),
            user_agent: None,
            extra_args: Vec::new(),
            concurrency: 0,
        }
    }
}

/// Most browser launches in one run (the first and the restarts after it died).
const MAX_LAUNCHES: u64 = 10;

/// One Chromium process and its DevTools connection; replaced when the process dies.
struct Live {
    /// Counts launches, so concurrent pages that saw the same browser die restart it once.
    generation: u64,
    cdp: Arc<Cdp>,
    process: Option<launch::Process>,
}

/// A long-lived Chromium for the whole run, with its DevTools connection. Every page gets
/// its own browser context in it (`observe::observe_page`); if the browser process dies,
/// the pages it was loading fail with that reason and a new browser takes over the rest.
pub struct Browser {
    live: std::sync::Mutex<Live>,
    /// Why the browser could not be restarted after it died: every later page fails with it.
    dead: std::sync::Mutex<Option<BrowserError>>,
    /// `Chrome/156.0.…` as the browser reports it.
    pub product: String,
    user_agent: String,
    opts: BrowserOptions,
}

/// How a page's visit ended.
enum Visit {
    Done(Box<Result<PageObservation, BrowserError>>),
    /// The browser was already gone before the page was started: it goes to the next one.
    NotStarted,
}

impl Browser {
    /// Starts Chromium and connects to it. Call from inside a tokio runtime.
    pub async fn launch(opts: &BrowserOptions) -> Result<Browser, BrowserError> {
        let (cdp, process, version) = Self::start(opts).await?;
        let product = version["product"]
            .as_str()
            .unwrap_or("Chromium")
            .to_string();
        let user_agent = match &opts.user_agent {
            Some(ua) => ua.clone(),
            None => version["userAgent"]
                .as_str()
                .unwrap_or("")
                .replace("HeadlessChrome", "Chrome"),
        };
        Ok(Browser {
            live: std::sync::Mutex::new(Live {
                generation: 1,
                cdp,
                process: Some(process),
            }),
            dead: std::sync::Mutex::new(None),
            product,
            user_agent,
            opts: opts.clone(),
        })
    }

    async fn start(
        opts: &BrowserOptions,
    ) -> Result<(Arc<Cdp>, launch::Process, serde_json::Value), BrowserError> {
        let binary = launch::find_chromium(opts.chromium.as_deref())?;
        let process = launch::start(
            &binary,
            &opts.resolve,
            opts.block_third_party_cookies,
            &opts.extra_args,
        )?;
        let cdp = Cdp::connect(&process.ws_url).await?;
        let version = cdp.call(None, "Browser.getVersion", json!({})).await?;
        Ok((cdp, process, version))
    }

    /// The current browser's connection and generation.
    fn current(&self) -> (u64, Arc<Cdp>) {
        let live = self.live.lock().expect("lock");
        (live.generation, live.cdp.clone())
    }

    /// Replaces the browser of `generation` after it died (once, however many pages saw
    /// it die). Returns what to tell the pages that were loading in it.
    async fn restart(&self, generation: u64) -> String {
        {
            let live = self.live.lock().expect("lock");
            if live.generation != generation {
                return "a new browser took over the remaining pages".into();
            }
        }
        if generation >= MAX_LAUNCHES {
            let why = format!("Chromium died {generation} times; not restarting it again");
            *self.dead.lock().expect("lock") = Some(BrowserError::Unavailable(why.clone()));
            return why;
        }
        let old = self.live.lock().expect("lock").process.take();
        if let Some(mut p) = old {
            tokio::task::spawn_blocking(move || p.shutdown(Duration::from_millis(200)))
                .await
                .ok();
        }
        match Self::start(&self.opts).await {
            Ok((cdp, process, _)) => {
                let mut live = self.live.lock().expect("lock");
                *live = Live {
                    generation: generation + 1,
                    cdp,
                    process: Some(process),
                };
                "a new browser took over the remaining pages".into()
            }
            Err(e) => {
                let why = format!("Chromium died and could not be restarted: {e}");
                *self.dead.lock().expect("lock") = Some(BrowserError::Unavailable(why.clone()));
                why
            }
        }
    }

    /// The browser's process id (its renderers are its descendants); 0 while it restarts.
    pub fn pid(&self) -> u32 {
        let live = self.live.lock().expect("lock");
        live.process.as_ref().map_or(0, |p| p.child.id())
    }

    pub fn options(&self) -> &BrowserOptions {
        &self.opts
    }

    /// The job for one page with this browser's settings.
    pub fn job(&self, url: &str, accept: Option<Vec<observe::AcceptCandidate>>) -> PageJob {
        PageJob {
            url: url.to_string(),
            settle: self.opts.settle,
            max_wait: self.opts.max_wait,
            scroll: self.opts.scroll,
            accept: if self.opts.accept_consent {
                Some(accept.unwrap_or_default())
            } else {
                None
            },
            block_third_party_cookies: self.opts.block_third_party_cookies,
            user_agent: (!self.user_agent.is_empty()).then(|| self.user_agent.clone()),
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Visits one page (in its own tab and browser context).
    pub async fn observe(&self, job: PageJob) -> Result<PageObservation, BrowserError> {
        let mut out = Err(BrowserError::Unavailable("not visited".into()));
        self.observe_all(vec![job], |_, r| out = r).await;
        out
    }

    /// Visits pages `concurrency` at a time, each in a fresh browser context of the one
    /// long-lived browser; `done` gets each result as it completes, with the job's index.
    /// When the browser dies, the pages it was loading fail with that reason, a new browser
    /// is started, and the pages not yet started go to it: every page gets a result.
    pub async fn observe_all(
        &self,
        jobs: Vec<PageJob>,
        mut done: impl FnMut(usize, Result<PageObservation, BrowserError>),
    ) {
        let mut set = tokio::task::JoinSet::new();
        let mut ids = std::collections::HashMap::new();
        let mut queue: std::collections::VecDeque<(usize, PageJob)> =
            jobs.into_iter().enumerate().collect();
        loop {
            while set.len() < self.opts.concurrency.max(1) {
                let Some((i, job)) = queue.pop_front() else {
                    break;
                };
                if let Some(why) = self.dead.lock().expect("lock").clone() {
                    done(i, Err(why));
                    continue;
                }
                let (generation, cdp) = self.current();
                let retry = job.clone();
                let handle = set.spawn(async move {
                    if cdp.is_closed() {
                        return Visit::NotStarted;
                    }
                    let r = observe::observe_page(cdp.clone(), job).await;
                    match r {
                        Err(e) if cdp.is_closed() => {
                            Visit::Done(Box::new(Err(BrowserError::Stopped(Box::new(e)))))
                        }
                        r => Visit::Done(Box::new(r)),
                    }
                });
                ids.insert(handle.id(), (i, generation, retry));
            }
            let (i, generation, retry, visit) = match set.join_next_with_id().await {
                Some(Ok((id, v))) => {
                    let (i, g, j) = ids.remove(&id).expect("spawned");
                    (i, g, j, v)
                }
                Some(Err(e)) => {
                    let (i, g, j) = ids.remove(&e.id()).expect("spawned");
                    (
                        i,
                        g,
                        j,
                        Visit::Done(Box::new(Err(BrowserError::Task(e.to_string())))),
                    )
                }
                None => break,
            };
            let closed = self.current().0 == generation && self.current().1.is_closed();
            match visit {
                Visit::NotStarted => {
                    self.restart(generation).await;
                    queue.push_front((i, retry));
                }
                Visit::Done(r) => match *r {
                    Err(e) if matches!(e, BrowserError::Stopped(_)) || closed => {
                        let next = self.restart(generation).await;
                        let error = Box::new(e);
                        done(i, Err(BrowserError::Interrupted { error, next }));
                    }
                    r => done(i, r),
                },
            }
        }
    }

    /// Closes the browser and removes its profile.
    pub async fn close(self) {
        let Live { cdp, process, .. } = self.live.into_inner().expect("lock");
        let _ = cdp
            .call_timeout(None, "Browser.close", json!({}), Duration::from_secs(3))
            .await;
        if let Some(mut process) = process {
            tokio::task::spawn_blocking(move || process.shutdown(Duration::from_secs(5)))
                .await
                .ok();
        }
    }
}
