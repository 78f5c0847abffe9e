//! One page in one tab: a fresh browser context (its own cookie jar and storage: a first
//! visit), every request the page makes (also from out-of-process iframes and workers),
//! what each request sent and received, the cookie jar and localStorage once the network is
//! idle, and optionally what changes after clicking the consent banner's accept button.
//!
//! * this module: what is observed (`PageObservation`, `Hop`…) and the visit's steps;
//! * `tracker`: the tab's DevTools events → hops, and when the network is quiet;
//! * `events`: pure readers of those events' payloads;
//! * `page`: the scripts run inside the page and the state read back from it.

mod events;
mod page;
mod tracker;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::cdp::{Cdp, Event};
use super::BrowserError;
use crate::extract::image::image_size;
pub use page::GENERIC_ACCEPT_TEXTS;
use page::{click_accept, evaluate, snapshot, HOOK, SCROLL_JS};
use tracker::Tracker;

/// Longest request body kept per request (bytes): enough to find identifiers in it.
const POST_DATA_KEEP: usize = 16 * 1024;
/// Request bodies kept per page, in total (bytes); later bodies are dropped.
const POST_DATA_BUDGET: usize = 4 * 1024 * 1024;
/// Most requests recorded per page; a page beyond this is reported as truncated.
const MAX_HOPS: usize = 5000;

pub use crate::model::Phase;

/// A cookie a response tried to set.
#[derive(Debug, Clone, Default)]
pub struct SetCookie {
    pub name: String,
    /// The `Domain` attribute, or the host that set it.
    pub domain: String,
    /// Why Chromium refused to store it (`SameSiteUnspecifiedTreatedAsLax`,
    /// `ThirdPartyPhaseout`, `UserPreferences`…); empty when it was stored.
    pub blocked: Vec<String>,
}

/// One request as the network saw it (a redirect makes a new hop).
#[derive(Debug, Clone, Default)]
pub struct Hop {
    pub url: String,
    pub method: String,
    /// DevTools resource type: Document, Script, Image, Ping, XHR, Fetch, Stylesheet,
    /// WebSocket, Font, Media, Other…
    pub resource_type: String,
    /// `parser`, `script`, `preload`, `preflight`, `other`…
    pub initiator_type: String,
    /// The script (or document, for the parser) that made the request.
    pub initiator_url: Option<String>,
    /// Distinct script URLs on the initiating stack, innermost first.
    pub initiator_stack: Vec<String>,
    /// The document the request belongs to (an iframe's own URL inside an iframe).
    pub document_url: String,
    /// Made from an out-of-process iframe or a worker.
    pub child_target: bool,
    pub post_data: Option<String>,
    pub status: Option<u16>,
    pub mime: Option<String>,
    pub error: Option<String>,
    pub redirected_from: Option<String>,
    /// Cookies attached to the request.
    pub sent_cookies: Vec<String>,
    /// Cookies the jar had for this URL but did not send, with the reasons.
    pub withheld_cookies: Vec<(String, Vec<String>)>,
    pub set_cookies: Vec<SetCookie>,
    pub referer: Option<String>,
    pub phase: Phase,
    /// Milliseconds since navigation started.
    pub t_ms: u64,
    /// Bytes received (encoded).
    pub size: Option<u64>,
    /// Pixel size of a small image response.
    pub image: Option<(u32, u32)>,
    /// The navigation of the tab's own page (or a redirect on the way to it).
    pub main_document: bool,
    pub(crate) frame_id: String,
    pub(crate) session: String,
    pub(crate) request_id: String,
}

/// A cookie in the jar.
#[derive(Debug, Clone, Default)]
pub struct JarCookie {
    pub name: String,
    pub value: String,
    pub domain: String,
    pub path: String,
    /// Seconds since the epoch; `None` for a session cookie.
    pub expires: Option<f64>,
    pub size: u64,
    pub http_only: bool,
    pub secure: bool,
    pub same_site: Option<String>,
    pub partitioned: bool,
}

/// What clicking "accept" did.
#[derive(Debug, Clone, Default)]
pub struct ConsentClick {
    /// The selector (or `text "accept all"`) that was clicked; `None`: nothing found.
    pub clicked: Option<String>,
    /// The consent platform whose rule named the selector.
    pub platform: Option<String>,
    /// The button's text.
    pub text: Option<String>,
    /// Inside an iframe (the banner is served cross-origin).
    pub in_iframe: bool,
}

/// Everything seen on one page.
#[derive(Debug, Clone, Default)]
pub struct PageObservation {
    pub requested_url: String,
    pub final_url: String,
    pub title: Option<String>,
    pub hops: Vec<Hop>,
    /// The jar once the page settled (after accepting, when `--accept-consent`).
    pub cookies: Vec<JarCookie>,
    /// The jar before the accept click (only when one was attempted).
    pub cookies_before_consent: Option<Vec<JarCookie>>,
    /// localStorage of the page's origin: (key, value).
    pub storage: Vec<(String, String)>,
    pub storage_before_consent: Option<Vec<(String, String)>>,
    /// Writes by page scripts: (`cookie` or `storage`, name, script URL).
    pub writers: Vec<(String, String, String)>,
    pub consent: Option<ConsentClick>,
    pub load_ms: Option<u64>,
    /// A wait hit `--max-wait` before the network went idle.
    pub timed_out: bool,
    pub truncated: bool,
    pub notes: Vec<String>,
}

/// A consent platform's accept button.
#[derive(Debug, Clone)]
pub struct AcceptCandidate {
    pub platform: String,
    pub selector: String,
}

/// How to visit one page.
#[derive(Debug, Clone)]
pub struct PageJob {
    pub url: String,
    pub settle: Duration,
    pub max_wait: Duration,
    pub scroll: bool,
    /// Click accept: platform selectors to try (the page's own platforms first), then the
    /// generic text fallback. `None`: never interact.
    pub accept: Option<Vec<AcceptCandidate>>,
    pub block_third_party_cookies: bool,
    pub user_agent: Option<String>,
    /// Cookies to put in the jar first (`--cookie`), as `Network.CookieParam` objects.
    pub cookies: Vec<Value>,
    /// Extra headers for requests to the page's own origin (`--header`).
    pub headers: Vec<(String, String)>,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Visits one page in a new tab of a new browser context, and closes both.
pub async fn observe_page(cdp: Arc<Cdp>, job: PageJob) -> Result<PageObservation, BrowserError> {
    let ctx = cdp
        .call(
            None,
            "Target.createBrowserContext",
            json!({"disposeOnDetach": true}),
        )
        .await?;
    let context = s(&ctx, "browserContextId");
    let result = visit(&cdp, &job, &context).await;
    let _ = cdp
        .call(
            None,
            "Target.disposeBrowserContext",
            json!({"browserContextId": context}),
        )
        .await;
    result
}

async fn visit(
    cdp: &Arc<Cdp>,
    job: &PageJob,
    context: &str,
) -> Result<PageObservation, BrowserError> {
    let target = cdp
        .call(
            None,
            "Target.createTarget",
            // A hidden target is a tab without a browser window: the page is rendered and
            // visible (`document.visibilityState` is "visible"), but Chromium opens no window
            // (and no omnibox WebUI renderers) for each fresh context, which halves the
            // cost of a context.
            json!({"url": "about:blank", "browserContextId": context, "hidden": true}),
        )
        .await?;
    let target_id = s(&target, "targetId");
    let attached = cdp
        .call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        )
        .await;
    let session = match attached {
        Ok(a) => s(&a, "sessionId"),
        Err(e) => {
            let _ = cdp
                .call(None, "Target.closeTarget", json!({"targetId": target_id}))
                .await;
            return Err(e);
        }
    };
    let mut rx = cdp.subscribe(&session);
    let result = run(cdp, job, context, &session, &mut rx).await;
    cdp.unsubscribe(&session);
    let _ = cdp
        .call(None, "Target.closeTarget", json!({"targetId": target_id}))
        .await;
    result
}

/// The page's origin with a trailing slash (`https://www.shop.test/`): `--header` applies to
/// the requests under it. Empty when the URL has no origin.
fn first_party_origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| {
            let mut o = u.origin().ascii_serialization();
            o.push('/');
            o
        })
        .unwrap_or_default()
}

async fn run(
    cdp: &Arc<Cdp>,
    job: &PageJob,
    context: &str,
    session: &str,
    rx: &mut mpsc::UnboundedReceiver<Event>,
) -> Result<PageObservation, BrowserError> {
    let origin = first_party_origin(&job.url);
    instrument_tab(cdp, session).await?;
    apply_job_settings(cdp, job, context, session, &origin).await?;
    let mut v = PageVisit {
        cdp,
        job,
        context,
        session,
        rx,
        t: Tracker::new(cdp.clone(), session, origin, job.headers.clone()),
        obs: PageObservation {
            requested_url: job.url.clone(),
            ..Default::default()
        },
    };
    v.load().await?;
    if job.scroll {
        v.scroll().await?;
    }
    if let Some(cands) = &job.accept {
        v.accept_consent(cands).await?;
    }
    v.read_page_state().await;
    v.t.drain(v.rx).await;
    v.t.apply_extra_info();
    measure_small_images(cdp, &mut v.t.hops).await;
    Ok(v.finish())
}

/// Before the page loads: network events (with request bodies), page events, focus, async
/// stacks, the write hook, and child targets (iframes, workers) held until prepared.
async fn instrument_tab(cdp: &Cdp, session: &str) -> Result<(), BrowserError> {
    let sid = Some(session);
    cdp.call(
        sid,
        "Network.enable",
        json!({"maxPostDataSize": POST_DATA_KEEP}),
    )
    .await?;
    cdp.call(sid, "Page.enable", json!({})).await?;
    // A tab of its own window has focus; so does this windowless one (`document.hasFocus()`).
    let _ = cdp
        .call(
            sid,
            "Emulation.setFocusEmulationEnabled",
            json!({"enabled": true}),
        )
        .await;
    async_stacks(cdp, session).await?;
    cdp.call(
        sid,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": HOOK}),
    )
    .await?;
    cdp.call(
        sid,
        "Target.setAutoAttach",
        json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
    )
    .await?;
    Ok(())
}

/// The job's settings for this tab: the third-party cookie policy, the User-Agent,
/// `--cookie` in the jar, and `--header` on requests to the page's own `origin`.
async fn apply_job_settings(
    cdp: &Cdp,
    job: &PageJob,
    context: &str,
    session: &str,
    origin: &str,
) -> Result<(), BrowserError> {
    let sid = Some(session);
    // Third-party cookies: allowed, as in a stock desktop Chrome profile, unless the user
    // asks for the blocking profile. Older Chromium builds lack the command: it is optional.
    let _ = cdp
        .call(
            sid,
            "Network.setCookieControls",
            json!({"enableThirdPartyCookieRestriction": job.block_third_party_cookies}),
        )
        .await;
    if let Some(ua) = &job.user_agent {
        cdp.call(
            sid,
            "Network.setUserAgentOverride",
            json!({"userAgent": ua}),
        )
        .await?;
    }
    if !job.cookies.is_empty() {
        cdp.call(
            None,
            "Storage.setCookies",
            json!({"cookies": job.cookies, "browserContextId": context}),
        )
        .await?;
    }
    if !job.headers.is_empty() && !origin.is_empty() {
        cdp.call(
            sid,
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": format!("{origin}*"), "requestStage": "Request"}]}),
        )
        .await?;
    }
    Ok(())
}

/// One page's visit under way: the tab, its event stream, and what has been seen so far.
struct PageVisit<'a> {
    cdp: &'a Arc<Cdp>,
    job: &'a PageJob,
    context: &'a str,
    session: &'a str,
    rx: &'a mut mpsc::UnboundedReceiver<Event>,
    t: Tracker,
    obs: PageObservation,
}

impl PageVisit<'_> {
    /// Navigates, then waits for the load event and a quiet network (or `--max-wait`).
    async fn load(&mut self) -> Result<(), BrowserError> {
        let deadline = self.t.start + self.job.max_wait;
        self.navigate().await?;
        let idle = self
            .t
            .settle(self.rx, self.job.settle, deadline, true)
            .await?;
        self.obs.timed_out |= !idle;
        Ok(())
    }

    /// `Page.navigate` answers once the response has started; events keep flowing meanwhile
    /// and are handled as they come.
    async fn navigate(&mut self) -> Result<(), BrowserError> {
        let nav = {
            let cdp = self.cdp.clone();
            let session = self.session.to_string();
            let url = self.job.url.clone();
            let wait = self.job.max_wait + Duration::from_secs(5);
            tokio::spawn(async move {
                cdp.call_timeout(Some(&session), "Page.navigate", json!({"url": url}), wait)
                    .await
            })
        };
        tokio::pin!(nav);
        let nav_result = loop {
            tokio::select! {
                r = &mut nav => break r.map_err(|e| BrowserError::Task(e.to_string()))?,
                ev = self.rx.recv() => match ev {
                    Some(ev) => self.t.handle(ev).await,
                    None => return Err(BrowserError::closed()),
                },
            }
        };
        let nav_result = nav_result?;
        if self.t.main_frame.is_empty() {
            self.t.main_frame = s(&nav_result, "frameId");
        }
        let error = s(&nav_result, "errorText");
        if !error.is_empty() {
            return Err(BrowserError::Load(error));
        }
        Ok(())
    }

    /// Waits, up to `--max-wait` from now, for the network to go quiet after an action.
    async fn settle_again(&mut self) -> Result<(), BrowserError> {
        let deadline = Instant::now() + self.job.max_wait;
        let idle = self
            .t
            .settle(self.rx, self.job.settle, deadline, false)
            .await?;
        self.obs.timed_out |= !idle;
        Ok(())
    }

    /// `--scroll`: to the bottom, for lazy-loaded tags.
    async fn scroll(&mut self) -> Result<(), BrowserError> {
        evaluate(self.cdp, self.session, SCROLL_JS, true).await;
        self.t.touch();
        self.settle_again().await
    }

    /// `--accept-consent`: the jar and storage before, the click, and what follows it.
    async fn accept_consent(&mut self, cands: &[AcceptCandidate]) -> Result<(), BrowserError> {
        let (cookies, storage) = snapshot(self.cdp, self.session, self.context).await;
        self.obs.cookies_before_consent = Some(cookies);
        self.obs.storage_before_consent = Some(storage);
        self.t.drain(self.rx).await;
        let click = self.click_accept_anywhere(cands).await;
        if click.clicked.is_some() {
            self.t.phase = Phase::AfterConsent;
            self.t.touch();
            self.settle_again().await?;
        }
        self.obs.consent = Some(click);
        Ok(())
    }

    /// The accept button on the page, then (once) after a grace period, then inside the
    /// page's iframes (a banner served cross-origin).
    async fn click_accept_anywhere(&mut self, cands: &[AcceptCandidate]) -> ConsentClick {
        let mut click = click_accept(self.cdp, self.session, cands, true).await;
        if click.clicked.is_none() {
            // A banner can appear late (a CMP script loaded after a timer): look again once.
            let again = Instant::now() + Duration::from_millis(1500);
            while let Ok(Some(ev)) = tokio::time::timeout_at(again, self.rx.recv()).await {
                self.t.handle(ev).await;
            }
            click = click_accept(self.cdp, self.session, cands, true).await;
        }
        if click.clicked.is_none() {
            if let Some(c) = self.click_accept_in_iframes(cands).await {
                click = c;
            }
        }
        click
    }

    async fn click_accept_in_iframes(&self, cands: &[AcceptCandidate]) -> Option<ConsentClick> {
        let frames: Vec<String> = self
            .t
            .children
            .iter()
            .filter(|c| c.kind == "iframe")
            .map(|c| c.session.clone())
            .collect();
        for f in frames {
            let c = click_accept(self.cdp, &f, cands, false).await;
            if c.clicked.is_some() {
                return Some(ConsentClick {
                    in_iframe: true,
                    ..c
                });
            }
        }
        None
    }

    /// Once settled: the jar and localStorage, which script wrote what, and the title.
    async fn read_page_state(&mut self) {
        let (cookies, storage) = snapshot(self.cdp, self.session, self.context).await;
        self.obs.cookies = cookies;
        self.obs.storage = storage;
        if let Some(w) = page::script_writes(self.cdp, self.session).await {
            self.obs.writers = w;
        }
        self.obs.title = page::title(self.cdp, self.session).await;
    }

    /// The observation, with the tab's own navigation marked among the hops.
    fn finish(self) -> PageObservation {
        let PageVisit {
            job,
            mut t,
            mut obs,
            ..
        } = self;
        for h in t.hops.iter_mut() {
            h.main_document =
                h.resource_type == "Document" && !h.child_target && h.frame_id == t.main_frame;
        }
        obs.final_url = t.final_url.unwrap_or_else(|| job.url.clone());
        obs.load_ms = t.load_ms;
        obs.truncated = t.truncated;
        obs.hops = t.hops;
        obs
    }
}

/// Pixel sizes of small image responses: a 1×1 GIF is a beacon, whoever asked for it.
async fn measure_small_images(cdp: &Cdp, hops: &mut [Hop]) {
    for h in hops.iter_mut() {
        let small_image = h.resource_type == "Image"
            && h.mime.as_deref().is_some_and(|m| m.starts_with("image/"))
            && h.size.is_some_and(|n| n <= 4096);
        if !small_image {
            continue;
        }
        if let Some(bytes) = response_body(cdp, &h.session, &h.request_id).await {
            h.image = image_size(&bytes);
        }
    }
}

/// A response's body as DevTools kept it (base64 for binary bodies).
async fn response_body(cdp: &Cdp, session: &str, request_id: &str) -> Option<Vec<u8>> {
    let b = cdp
        .call(
            Some(session),
            "Network.getResponseBody",
            json!({"requestId": request_id}),
        )
        .await
        .ok()?;
    let raw = s(&b, "body");
    Some(
        if b.get("base64Encoded").and_then(Value::as_bool) == Some(true) {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(raw.as_bytes())
                .unwrap_or_default()
        } else {
            raw.into_bytes()
        },
    )
}

/// Image loads start from a microtask, with no script on the stack: only async stack
/// traces carry the `img.src = …` call (and, through script insertion, the tag that loaded
/// the script) into the request's initiator. Pauses (`debugger;` in page code) are skipped.
async fn async_stacks(cdp: &Cdp, session: &str) -> Result<(), BrowserError> {
    let sid = Some(session);
    cdp.call(
        sid,
        "Debugger.enable",
        json!({"maxScriptsCacheSize": 1_000_000}),
    )
    .await?;
    cdp.call(sid, "Debugger.setSkipAllPauses", json!({"skip": true}))
        .await?;
    cdp.call(
        sid,
        "Debugger.setAsyncCallStackDepth",
        json!({"maxDepth": 16}),
    )
    .await?;
    Ok(())
}
