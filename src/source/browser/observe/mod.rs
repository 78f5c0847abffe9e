//! One page in one tab: a fresh browser context (its own cookie jar and storage: a first
//! visit), every request the page makes (also from out-of-process iframes and workers),
//! what each request sent and received, the cookie jar and localStorage once the network is
//! idle, and optionally what changes after clicking the consent banner's accept button.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::cdp::{Cdp, Event};

/// Longest request body kept per request (bytes): enough to find identifiers in it.
const POST_DATA_KEEP: usize = 16 * 1024;
/// Request bodies kept per page, in total (bytes); later bodies are dropped.
const POST_DATA_BUDGET: usize = 4 * 1024 * 1024;
/// Most requests recorded per page; a page beyond this is reported as truncated.
const MAX_HOPS: usize = 5000;

/// When, relative to the visitor's actions, a request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Loading and idling, plus scrolling: no interaction with the consent banner.
    #[default]
    BeforeConsent,
    /// After the accept button was clicked.
    AfterConsent,
}

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

/// Texts of buttons that accept, when no platform selector matched; a button counts only
/// inside something that looks like a consent banner or dialog.
pub const GENERIC_ACCEPT_TEXTS: &[&str] = &[
    "accept all",
    "accept all cookies",
    "accept cookies",
    "accept",
    "allow all",
    "allow all cookies",
    "allow cookies",
    "allow",
    "i agree",
    "agree",
    "i accept",
    "yes, i agree",
    "agree and close",
    "accept and close",
    "agree & close",
    "accept & close",
    "ok",
    "okay",
    "got it",
    "alle akzeptieren",
    "alle cookies akzeptieren",
    "akzeptieren",
    "zustimmen",
    "tout accepter",
    "accepter",
    "j'accepte",
    "aceptar",
    "aceptar todo",
    "aceptar todas",
    "accetta",
    "accetta tutti",
    "aceitar",
    "aceitar todos",
    "alles accepteren",
    "accepteren",
];

/// Records which script writes each cookie and localStorage key, so a first-party cookie
/// can be attributed to the tag that set it. Installed before any page script runs; the
/// original setters are always called.
const HOOK: &str = r#"(() => {
  try {
    const log = [];
    Object.defineProperty(window, '__pixscanWrites', { value: log, enumerable: false });
    const src = () => {
      const lines = String(new Error().stack || '').split('\n').slice(2);
      for (const l of lines) {
        const m = l.match(/((?:https?|file):\/\/[^\s()]+?):\d+:\d+\)?\s*$/);
        if (m) return m[1];
      }
      return '';
    };
    const d = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
    if (d && d.set) {
      Object.defineProperty(Document.prototype, 'cookie', {
        configurable: true, enumerable: d.enumerable, get: d.get,
        set(v) {
          try { if (log.length < 1000) log.push(['cookie', String(v).split(';')[0].split('=')[0].trim(), src()]); } catch (e) {}
          return d.set.call(this, v);
        }
      });
    }
    const set = Storage.prototype.setItem;
    Storage.prototype.setItem = function (k, v) {
      try { if (log.length < 1000 && this === window.localStorage) log.push(['storage', String(k), src()]); } catch (e) {}
      return set.apply(this, arguments);
    };
  } catch (e) {}
})();"#;

const STORAGE_JS: &str = r#"(() => { try { const o = []; for (let i = 0; i < localStorage.length && i < 500; i++) { const k = localStorage.key(i); o.push([k, String(localStorage.getItem(k)).slice(0, 4096)]); } return JSON.stringify(o); } catch (e) { return '[]'; } })()"#;

const SCROLL_JS: &str = r#"(async () => { const h = () => Math.max(document.body ? document.body.scrollHeight : 0, document.documentElement.scrollHeight); let y = 0; for (let i = 0; i < 60 && y < h(); i++) { y += Math.max(200, window.innerHeight * 0.8); window.scrollTo(0, y); await new Promise(r => setTimeout(r, 120)); } window.scrollTo(0, h()); return y; })()"#;

const CLICK_JS: &str = r#"((cands, texts, trusted) => {
  const visible = el => {
    if (!el || !el.isConnected || !el.getBoundingClientRect) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity || '1') > 0.05;
  };
  const roots = [];
  const walk = root => { roots.push(root); if (roots.length > 200) return; for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot); };
  walk(document);
  const fire = (el, platform, selector) => {
    try { el.scrollIntoView({ block: 'center', inline: 'center' }); } catch (e) {}
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const top = document.elementFromPoint(x, y);
    const direct = trusted && !!top && (top === el || el.contains(top));
    if (!direct) el.click();
    return { platform, selector, text: String(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 80), x, y, direct };
  };
  for (const [platform, sel] of cands) {
    for (const root of roots) {
      let els;
      try { els = root.querySelectorAll(sel); } catch (e) { break; }
      for (const el of els) if (visible(el)) return fire(el, platform, sel);
    }
  }
  const banner = /cookie|consent|gdpr|privacy|banner|cmp|notice|dialog|modal/i;
  for (const root of roots) {
    for (const el of root.querySelectorAll('button, a, [role=button], input[type=button], input[type=submit]')) {
      const t = String(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().toLowerCase().replace(/\s+/g, ' ');
      if (!texts.includes(t) || !visible(el)) continue;
      let ok = t.includes('cookie');
      let p = el;
      for (let i = 0; p && i < 15 && !ok; i++) {
        if (p.getAttribute) {
          const role = p.getAttribute('role');
          const cls = typeof p.className === 'string' ? p.className : '';
          ok = role === 'dialog' || role === 'alertdialog' || p.getAttribute('aria-modal') === 'true' || banner.test((p.id || '') + ' ' + cls);
        }
        p = p.parentElement || (p.getRootNode && p.getRootNode() !== document ? p.getRootNode().host : null);
      }
      if (ok) return fire(el, null, 'text "' + t + '"');
    }
  }
  return null;
})"#;

struct Child {
    session: String,
    kind: String,
}

struct Tracker {
    cdp: Arc<Cdp>,
    main: String,
    start: Instant,
    hops: Vec<Hop>,
    /// (session, requestId) → the current hop of that request.
    current: HashMap<(String, String), usize>,
    /// Every hop of a request, in order, so out-of-order ExtraInfo events find theirs.
    all_hops: HashMap<(String, String), Vec<usize>>,
    req_extra: HashMap<(String, String), Vec<Value>>,
    resp_extra: HashMap<(String, String), Vec<Value>>,
    inflight: HashSet<(String, String)>,
    last_activity: Instant,
    phase: Phase,
    load_ms: Option<u64>,
    final_url: Option<String>,
    children: Vec<Child>,
    crashed: Option<String>,
    truncated: bool,
    first_party_origin: String,
    headers: Vec<(String, String)>,
    main_frame: String,
    post_bytes: usize,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn key(ev: &Event, p: &Value) -> (String, String) {
    (ev.session.clone().unwrap_or_default(), s(p, "requestId"))
}

/// The script URLs on an initiator stack (async parents included), innermost first.
fn stack_urls(initiator: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stack = initiator.get("stack");
    let mut depth = 0;
    while let Some(st) = stack {
        for f in st
            .get("callFrames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let u = s(f, "url");
            if !u.is_empty() && !out.contains(&u) {
                out.push(u);
            }
        }
        depth += 1;
        if depth > 8 || out.len() > 16 {
            break;
        }
        stack = st.get("parent");
    }
    out
}

fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers
        .as_object()?
        .iter()
        .find_map(|(k, v)| k.eq_ignore_ascii_case(name).then(|| v.as_str()).flatten())
}

fn post_data(request: &Value) -> Option<String> {
    if let Some(p) = request.get("postData").and_then(Value::as_str) {
        return Some(truncate(p, POST_DATA_KEEP));
    }
    let entries = request.get("postDataEntries")?.as_array()?;
    let mut bytes = Vec::new();
    for e in entries {
        if let Some(b) = e.get("bytes").and_then(Value::as_str) {
            use base64::Engine;
            if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(b) {
                bytes.extend_from_slice(&d);
            }
        }
        if bytes.len() > POST_DATA_KEEP {
            break;
        }
    }
    (!bytes.is_empty()).then(|| truncate(&String::from_utf8_lossy(&bytes), POST_DATA_KEEP))
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The name and domain of a `Set-Cookie` line (domain from the attribute, else `host`).
fn parse_set_cookie(line: &str, host: &str) -> (String, String) {
    let mut parts = line.split(';');
    let name = parts
        .next()
        .unwrap_or("")
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let domain = parts
        .filter_map(|a| a.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("domain"))
        .map(|(_, v)| v.trim().trim_start_matches('.').to_ascii_lowercase())
        .unwrap_or_else(|| host.to_string());
    (name, domain)
}

impl Tracker {
    fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    async fn handle(&mut self, ev: Event) {
        let p = &ev.params;
        match ev.method.as_str() {
            "Network.requestWillBeSent" => {
                let k = key(&ev, p);
                let request = &p["request"];
                let url = {
                    let mut u = s(request, "url");
                    let frag = s(request, "urlFragment");
                    if !frag.is_empty() {
                        u.push_str(&frag);
                    }
                    u
                };
                self.touch();
                let mut redirected_from = None;
                if let Some(rr) = p.get("redirectResponse") {
                    if let Some(&i) = self.current.get(&k) {
                        self.hops[i].status =
                            rr.get("status").and_then(Value::as_u64).map(|x| x as u16);
                        self.hops[i].mime = Some(s(rr, "mimeType")).filter(|m| !m.is_empty());
                        redirected_from = Some(self.hops[i].url.clone());
                    }
                }
                if !(url.starts_with("http:")
                    || url.starts_with("https:")
                    || url.starts_with("ws:")
                    || url.starts_with("wss:"))
                {
                    return;
                }
                if self.hops.len() >= MAX_HOPS {
                    self.truncated = true;
                    return;
                }
                let initiator = &p["initiator"];
                let stack = stack_urls(initiator);
                let initiator_url = stack
                    .first()
                    .cloned()
                    .or_else(|| Some(s(initiator, "url")).filter(|u| !u.is_empty()));
                let child_target = ev.session.as_deref() != Some(self.main.as_str());
                let t_ms = self.start.elapsed().as_millis() as u64;
                let body = if self.post_bytes < POST_DATA_BUDGET {
                    post_data(request)
                } else {
                    None
                };
                self.post_bytes += body.as_ref().map_or(0, String::len);
                let hop = Hop {
                    url,
                    method: s(request, "method"),
                    resource_type: s(p, "type"),
                    initiator_type: s(initiator, "type"),
                    initiator_url,
                    initiator_stack: stack,
                    document_url: s(p, "documentURL"),
                    child_target,
                    post_data: body,
                    referer: header(&request["headers"], "referer").map(str::to_string),
                    redirected_from,
                    phase: self.phase,
                    t_ms,
                    frame_id: s(p, "frameId"),
                    session: k.0.clone(),
                    request_id: k.1.clone(),
                    ..Default::default()
                };
                self.hops.push(hop);
                let i = self.hops.len() - 1;
                self.current.insert(k.clone(), i);
                self.all_hops.entry(k.clone()).or_default().push(i);
                self.inflight.insert(k);
            }
            "Network.requestWillBeSentExtraInfo" => {
                self.req_extra
                    .entry(key(&ev, p))
                    .or_default()
                    .push(p.clone());
            }
            "Network.responseReceivedExtraInfo" => {
                self.resp_extra
                    .entry(key(&ev, p))
                    .or_default()
                    .push(p.clone());
            }
            "Network.responseReceived" => {
                let k = key(&ev, p);
                if let Some(&i) = self.current.get(&k) {
                    let r = &p["response"];
                    self.hops[i].status = r.get("status").and_then(Value::as_u64).map(|x| x as u16);
                    self.hops[i].mime = Some(s(r, "mimeType")).filter(|m| !m.is_empty());
                }
                self.touch();
            }
            "Network.loadingFinished" => {
                let k = key(&ev, p);
                if let Some(&i) = self.current.get(&k) {
                    self.hops[i].size = p
                        .get("encodedDataLength")
                        .and_then(Value::as_f64)
                        .map(|x| x as u64);
                }
                self.inflight.remove(&k);
                self.touch();
            }
            "Network.loadingFailed" => {
                let k = key(&ev, p);
                if let Some(&i) = self.current.get(&k) {
                    let mut err = s(p, "errorText");
                    let blocked = s(p, "blockedReason");
                    if !blocked.is_empty() {
                        err = format!("{err} (blocked: {blocked})");
                    }
                    if p.get("canceled").and_then(Value::as_bool) == Some(true) {
                        err = format!("{err} (canceled)");
                    }
                    self.hops[i].error = Some(err);
                }
                self.inflight.remove(&k);
                self.touch();
            }
            "Network.webSocketCreated" => {
                let url = s(p, "url");
                let initiator = &p["initiator"];
                let stack = stack_urls(initiator);
                if self.hops.len() < MAX_HOPS {
                    self.hops.push(Hop {
                        url,
                        method: "GET".into(),
                        resource_type: "WebSocket".into(),
                        initiator_type: s(initiator, "type"),
                        initiator_url: stack
                            .first()
                            .cloned()
                            .or_else(|| Some(s(initiator, "url")).filter(|u| !u.is_empty())),
                        initiator_stack: stack,
                        child_target: ev.session.as_deref() != Some(self.main.as_str()),
                        phase: self.phase,
                        t_ms: self.start.elapsed().as_millis() as u64,
                        session: ev.session.clone().unwrap_or_default(),
                        request_id: s(p, "requestId"),
                        ..Default::default()
                    });
                }
                self.touch();
            }
            "Page.loadEventFired" if ev.session.as_deref() == Some(self.main.as_str()) => {
                if self.load_ms.is_none() {
                    self.load_ms = Some(self.start.elapsed().as_millis() as u64);
                }
                self.touch();
            }
            "Page.frameNavigated" if ev.session.as_deref() == Some(self.main.as_str()) => {
                let f = &p["frame"];
                if f.get("parentId").is_none() {
                    self.final_url = Some(s(f, "url") + &s(f, "urlFragment"));
                    self.main_frame = s(f, "id");
                }
            }
            "Page.javascriptDialogOpening" => {
                let _ = self
                    .cdp
                    .call(
                        ev.session.as_deref(),
                        "Page.handleJavaScriptDialog",
                        json!({"accept": true}),
                    )
                    .await;
            }
            "Fetch.requestPaused" => {
                let id = s(p, "requestId");
                let url = s(&p["request"], "url");
                let mut params = json!({ "requestId": id });
                if !self.headers.is_empty() && url.starts_with(&self.first_party_origin) {
                    let mut hs: Vec<Value> = p["request"]["headers"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| {
                            !self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k))
                        })
                        .map(|(k, v)| json!({"name": k, "value": v.as_str().unwrap_or("")}))
                        .collect();
                    hs.extend(
                        self.headers
                            .iter()
                            .map(|(k, v)| json!({"name": k, "value": v})),
                    );
                    params["headers"] = Value::Array(hs);
                }
                let _ = self
                    .cdp
                    .call(ev.session.as_deref(), "Fetch.continueRequest", params)
                    .await;
            }
            "Target.attachedToTarget" => {
                let child = s(p, "sessionId");
                let kind = s(&p["targetInfo"], "type");
                self.prepare_child(&child, &kind).await;
                self.children.push(Child {
                    session: child,
                    kind,
                });
            }
            "Target.detachedFromTarget" => {
                let child = s(p, "sessionId");
                self.children.retain(|c| c.session != child);
            }
            "Debugger.paused" => {
                let _ = self
                    .cdp
                    .call(ev.session.as_deref(), "Debugger.resume", json!({}))
                    .await;
            }
            "Inspector.detached" | "Inspector.targetCrashed"
                if ev.session.as_deref() == Some(self.main.as_str()) =>
            {
                self.crashed = Some(format!("the tab went away ({})", ev.method));
            }
            _ => {}
        }
    }

    async fn prepare_child(&self, session: &str, kind: &str) {
        let c = &self.cdp;
        let sid = Some(session);
        if matches!(
            kind,
            "iframe" | "worker" | "shared_worker" | "service_worker" | "page"
        ) {
            let _ = c
                .call(
                    sid,
                    "Network.enable",
                    json!({"maxPostDataSize": POST_DATA_KEEP}),
                )
                .await;
        }
        if kind == "iframe" {
            let _ = async_stacks(c, session).await;
            let _ = c.call(sid, "Page.enable", json!({})).await;
            let _ = c
                .call(
                    sid,
                    "Target.setAutoAttach",
                    json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
                )
                .await;
        }
        let _ = c
            .call(sid, "Runtime.runIfWaitingForDebugger", json!({}))
            .await;
    }

    /// Processes events until the page has loaded (if `need_load`) and the network has been
    /// quiet for `settle`, or until `deadline`. Returns false on a timeout.
    async fn settle(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Event>,
        settle: Duration,
        deadline: Instant,
        need_load: bool,
    ) -> Result<bool, String> {
        loop {
            if let Some(c) = &self.crashed {
                return Err(c.clone());
            }
            let now = Instant::now();
            let quiet = now.saturating_duration_since(self.last_activity);
            let loaded = !need_load || self.load_ms.is_some();
            // Hanging requests (long polls, slow pixels) do not hold the page open forever:
            // three quiet settle periods count as idle with requests still in flight.
            if loaded && ((self.inflight.is_empty() && quiet >= settle) || quiet >= settle * 3) {
                return Ok(true);
            }
            if now >= deadline {
                return Ok(false);
            }
            let wake = if loaded {
                let target = if self.inflight.is_empty() {
                    settle
                } else {
                    settle * 3
                };
                (self.last_activity + target)
                    .min(deadline)
                    .max(now + Duration::from_millis(5))
            } else {
                (now + Duration::from_millis(250)).min(deadline)
            };
            match tokio::time::timeout_at(wake, rx.recv()).await {
                Ok(Some(ev)) => self.handle(ev).await,
                Ok(None) => return Err("the DevTools connection closed".into()),
                Err(_) => {}
            }
        }
    }

    /// Handles whatever events are already queued, without waiting.
    async fn drain(&mut self, rx: &mut mpsc::UnboundedReceiver<Event>) {
        while let Ok(ev) = rx.try_recv() {
            self.handle(ev).await;
        }
    }

    /// Assigns the ExtraInfo events (cookies sent, Set-Cookie results) to their hops.
    fn apply_extra_info(&mut self) {
        for (k, idxs) in &self.all_hops {
            if let Some(list) = self.req_extra.get(k) {
                for (n, extra) in list.iter().enumerate() {
                    let Some(&i) = idxs.get(n) else { break };
                    let hop = &mut self.hops[i];
                    for ac in extra["associatedCookies"].as_array().into_iter().flatten() {
                        let name = s(&ac["cookie"], "name");
                        let reasons: Vec<String> = ac["blockedReasons"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r.as_str().map(str::to_string))
                            .collect();
                        if reasons.is_empty() {
                            if !hop.sent_cookies.contains(&name) {
                                hop.sent_cookies.push(name);
                            }
                        } else {
                            hop.withheld_cookies.push((name, reasons));
                        }
                    }
                    if hop.referer.is_none() {
                        hop.referer = header(&extra["headers"], "referer").map(str::to_string);
                    }
                }
            }
            if let Some(list) = self.resp_extra.get(k) {
                for (n, extra) in list.iter().enumerate() {
                    let Some(&i) = idxs.get(n) else { break };
                    let host = url::Url::parse(&self.hops[i].url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                        .unwrap_or_default();
                    let mut cookies: Vec<SetCookie> = Vec::new();
                    let lines = header(&extra["headers"], "set-cookie").unwrap_or("");
                    for line in lines.split('\n').filter(|l| !l.trim().is_empty()) {
                        let (name, domain) = parse_set_cookie(line, &host);
                        cookies.push(SetCookie {
                            name,
                            domain,
                            blocked: Vec::new(),
                        });
                    }
                    for b in extra["blockedCookies"].as_array().into_iter().flatten() {
                        let line = s(b, "cookieLine");
                        let (name, domain) = match b.get("cookie") {
                            Some(c) if c.is_object() => (
                                s(c, "name"),
                                s(c, "domain").trim_start_matches('.').to_string(),
                            ),
                            _ => parse_set_cookie(&line, &host),
                        };
                        let reasons: Vec<String> = b["blockedReasons"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r.as_str().map(str::to_string))
                            .collect();
                        match cookies
                            .iter_mut()
                            .find(|c| c.name == name && c.blocked.is_empty())
                        {
                            Some(c) => c.blocked = reasons,
                            None => cookies.push(SetCookie {
                                name,
                                domain,
                                blocked: reasons,
                            }),
                        }
                    }
                    self.hops[i].set_cookies.extend(cookies);
                }
            }
        }
    }
}

/// Image loads start from a microtask, with no script on the stack: only async stack
/// traces carry the `img.src = …` call (and, through script insertion, the tag that loaded
/// the script) into the request's initiator. Pauses (`debugger;` in page code) are skipped.
async fn async_stacks(cdp: &Cdp, session: &str) -> Result<(), String> {
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

async fn evaluate(cdp: &Cdp, session: &str, expr: &str, await_promise: bool) -> Option<Value> {
    let r = cdp
        .call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": await_promise}),
        )
        .await
        .ok()?;
    if r.get("exceptionDetails").is_some() {
        return None;
    }
    r.get("result").and_then(|x| x.get("value")).cloned()
}

fn jar(v: &Value) -> Vec<JarCookie> {
    v["cookies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let session = c.get("session").and_then(Value::as_bool).unwrap_or(false);
            JarCookie {
                name: s(c, "name"),
                value: s(c, "value"),
                domain: s(c, "domain").trim_start_matches('.').to_string(),
                path: s(c, "path"),
                expires: if session {
                    None
                } else {
                    c.get("expires")
                        .and_then(Value::as_f64)
                        .filter(|e| *e > 0.0)
                },
                size: c.get("size").and_then(Value::as_u64).unwrap_or(0),
                http_only: c.get("httpOnly").and_then(Value::as_bool).unwrap_or(false),
                secure: c.get("secure").and_then(Value::as_bool).unwrap_or(false),
                same_site: c
                    .get("sameSite")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                partitioned: c.get("partitionKey").is_some_and(|k| !k.is_null()),
            }
        })
        .collect()
}

async fn snapshot(
    cdp: &Cdp,
    session: &str,
    context: &str,
) -> (Vec<JarCookie>, Vec<(String, String)>) {
    let cookies = cdp
        .call(
            None,
            "Storage.getCookies",
            json!({"browserContextId": context}),
        )
        .await
        .map(|v| jar(&v))
        .unwrap_or_default();
    let storage = evaluate(cdp, session, STORAGE_JS, false)
        .await
        .and_then(|v| v.as_str().map(str::to_string))
        .and_then(|t| serde_json::from_str::<Vec<(String, String)>>(&t).ok())
        .unwrap_or_default();
    (cookies, storage)
}

/// Visits one page in a new tab of a new browser context, and closes both.
pub async fn observe_page(cdp: Arc<Cdp>, job: PageJob) -> Result<PageObservation, String> {
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

async fn visit(cdp: &Arc<Cdp>, job: &PageJob, context: &str) -> Result<PageObservation, String> {
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

async fn run(
    cdp: &Arc<Cdp>,
    job: &PageJob,
    context: &str,
    session: &str,
    rx: &mut mpsc::UnboundedReceiver<Event>,
) -> Result<PageObservation, String> {
    let sid = Some(session);
    let first_party_origin = url::Url::parse(&job.url)
        .map(|u| {
            let mut o = u.origin().ascii_serialization();
            o.push('/');
            o
        })
        .unwrap_or_default();
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
    if !job.cookies.is_empty() {
        cdp.call(
            None,
            "Storage.setCookies",
            json!({"cookies": job.cookies, "browserContextId": context}),
        )
        .await?;
    }
    if !job.headers.is_empty() && !first_party_origin.is_empty() {
        cdp.call(
            sid,
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": format!("{first_party_origin}*"), "requestStage": "Request"}]}),
        )
        .await?;
    }
    let start = Instant::now();
    let mut t = Tracker {
        cdp: cdp.clone(),
        main: session.to_string(),
        start,
        hops: Vec::new(),
        current: HashMap::new(),
        all_hops: HashMap::new(),
        req_extra: HashMap::new(),
        resp_extra: HashMap::new(),
        inflight: HashSet::new(),
        last_activity: start,
        phase: Phase::BeforeConsent,
        load_ms: None,
        final_url: None,
        children: Vec::new(),
        crashed: None,
        truncated: false,
        first_party_origin,
        headers: job.headers.clone(),
        main_frame: String::new(),
        post_bytes: 0,
    };
    let mut obs = PageObservation {
        requested_url: job.url.clone(),
        ..Default::default()
    };
    let deadline = start + job.max_wait;
    // Page.navigate answers once the response has started; events keep flowing meanwhile.
    let nav = {
        let cdp = cdp.clone();
        let session = session.to_string();
        let url = job.url.clone();
        let wait = job.max_wait + Duration::from_secs(5);
        tokio::spawn(async move {
            cdp.call_timeout(Some(&session), "Page.navigate", json!({"url": url}), wait)
                .await
        })
    };
    tokio::pin!(nav);
    let nav_result = loop {
        tokio::select! {
            r = &mut nav => break r.map_err(|e| e.to_string())?,
            ev = rx.recv() => match ev {
                Some(ev) => t.handle(ev).await,
                None => return Err("the DevTools connection closed".into()),
            },
        }
    };
    let nav_result = nav_result?;
    if t.main_frame.is_empty() {
        t.main_frame = s(&nav_result, "frameId");
    }
    let error = s(&nav_result, "errorText");
    if !error.is_empty() {
        return Err(format!("the browser could not load the page: {error}"));
    }
    let idle = t.settle(rx, job.settle, deadline, true).await?;
    obs.timed_out |= !idle;
    if job.scroll {
        evaluate(cdp, session, SCROLL_JS, true).await;
        t.touch();
        let idle = t
            .settle(rx, job.settle, Instant::now() + job.max_wait, false)
            .await?;
        obs.timed_out |= !idle;
    }
    if let Some(cands) = &job.accept {
        let (cookies, storage) = snapshot(cdp, session, context).await;
        obs.cookies_before_consent = Some(cookies);
        obs.storage_before_consent = Some(storage);
        t.drain(rx).await;
        let mut click = click_accept(cdp, session, cands, true).await;
        if click.clicked.is_none() {
            // A banner can appear late (a CMP script loaded after a timer): look again once.
            let again = Instant::now() + Duration::from_millis(1500);
            while let Ok(Some(ev)) = tokio::time::timeout_at(again, rx.recv()).await {
                t.handle(ev).await;
            }
            click = click_accept(cdp, session, cands, true).await;
        }
        if click.clicked.is_none() {
            let frames: Vec<String> = t
                .children
                .iter()
                .filter(|c| c.kind == "iframe")
                .map(|c| c.session.clone())
                .collect();
            for f in frames {
                let c = click_accept(cdp, &f, cands, false).await;
                if c.clicked.is_some() {
                    click = ConsentClick {
                        in_iframe: true,
                        ..c
                    };
                    break;
                }
            }
        }
        if click.clicked.is_some() {
            t.phase = Phase::AfterConsent;
            t.touch();
            let idle = t
                .settle(rx, job.settle, Instant::now() + job.max_wait, false)
                .await?;
            obs.timed_out |= !idle;
        }
        obs.consent = Some(click);
    }
    let (cookies, storage) = snapshot(cdp, session, context).await;
    obs.cookies = cookies;
    obs.storage = storage;
    if let Some(w) = evaluate(
        cdp,
        session,
        "JSON.stringify(window.__pixscanWrites || [])",
        false,
    )
    .await
    .and_then(|v| v.as_str().map(str::to_string))
    .and_then(|t| serde_json::from_str::<Vec<(String, String, String)>>(&t).ok())
    {
        obs.writers = w
            .into_iter()
            .filter(|(_, _, src)| !src.is_empty())
            .collect();
    }
    obs.title = evaluate(cdp, session, "document.title", false)
        .await
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|t| !t.is_empty());
    t.drain(rx).await;
    t.apply_extra_info();
    // Pixel sizes of small image responses: a 1×1 GIF is a beacon, whoever asked for it.
    for i in 0..t.hops.len() {
        let h = &t.hops[i];
        if h.resource_type != "Image"
            || !h.mime.as_deref().is_some_and(|m| m.starts_with("image/"))
            || h.size.is_none_or(|n| n > 4096)
        {
            continue;
        }
        let body = cdp
            .call(
                Some(&h.session),
                "Network.getResponseBody",
                json!({"requestId": h.request_id}),
            )
            .await;
        if let Ok(b) = body {
            let raw = s(&b, "body");
            let bytes = if b.get("base64Encoded").and_then(Value::as_bool) == Some(true) {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(raw.as_bytes())
                    .unwrap_or_default()
            } else {
                raw.into_bytes()
            };
            t.hops[i].image = crate::extract::image::image_size(&bytes);
        }
    }
    for h in t.hops.iter_mut() {
        h.main_document =
            h.resource_type == "Document" && !h.child_target && h.frame_id == t.main_frame;
    }
    obs.final_url = t.final_url.clone().unwrap_or_else(|| job.url.clone());
    obs.load_ms = t.load_ms;
    obs.truncated = t.truncated;
    obs.hops = std::mem::take(&mut t.hops);
    Ok(obs)
}

async fn click_accept(
    cdp: &Cdp,
    session: &str,
    cands: &[AcceptCandidate],
    trusted: bool,
) -> ConsentClick {
    let list: Vec<(&str, &str)> = cands
        .iter()
        .map(|c| (c.platform.as_str(), c.selector.as_str()))
        .collect();
    let expr = format!(
        "({CLICK_JS})({}, {}, {trusted})",
        serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(GENERIC_ACCEPT_TEXTS).unwrap_or_else(|_| "[]".into())
    );
    let Some(v) = evaluate(cdp, session, &expr, false)
        .await
        .filter(|v| v.is_object())
    else {
        return ConsentClick::default();
    };
    if v.get("direct").and_then(Value::as_bool) == Some(true) {
        let (x, y) = (
            v.get("x").and_then(Value::as_f64).unwrap_or(0.0),
            v.get("y").and_then(Value::as_f64).unwrap_or(0.0),
        );
        for (kind, buttons) in [("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 1)] {
            let mut p = json!({"type": kind, "x": x, "y": y});
            if buttons > 0 {
                p["button"] = json!("left");
                p["buttons"] = json!(1);
                p["clickCount"] = json!(1);
            }
            let _ = cdp.call(Some(session), "Input.dispatchMouseEvent", p).await;
        }
    }
    ConsentClick {
        clicked: Some(s(&v, "selector")).filter(|x| !x.is_empty()),
        platform: v
            .get("platform")
            .and_then(Value::as_str)
            .map(str::to_string),
        text: Some(s(&v, "text")).filter(|x| !x.is_empty()),
        in_iframe: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_lines() {
        assert_eq!(
            parse_set_cookie(
                "uid=abc; Path=/; Domain=.Tracker.test; Max-Age=10",
                "px.tracker.test"
            ),
            ("uid".to_string(), "tracker.test".to_string())
        );
        assert_eq!(
            parse_set_cookie("sid=1", "px.tracker.test"),
            ("sid".to_string(), "px.tracker.test".to_string())
        );
    }

    #[test]
    fn initiator_stacks() {
        let init = json!({"type": "script", "stack": {"callFrames": [
            {"url": "https://cdn.t.example/fbevents.js"}, {"url": ""},
            {"url": "https://cdn.t.example/fbevents.js"}],
            "parent": {"callFrames": [{"url": "https://gtm.example/gtm.js"}]}}});
        assert_eq!(
            stack_urls(&init),
            vec![
                "https://cdn.t.example/fbevents.js",
                "https://gtm.example/gtm.js"
            ]
        );
    }
}
