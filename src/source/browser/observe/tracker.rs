//! The event stream of one tab → hops: every request (a redirect makes a new hop) with its
//! initiator, response and cookies, also from the out-of-process iframes and workers
//! Chromium attaches under the tab (each prepared as it attaches, then resumed), and when
//! the network has gone quiet.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::events::{
    apply_request_extra, failure_text, header, host_of, initiator_url, is_network_url, post_data,
    request_url, response_set_cookies, stack_urls,
};
use super::{async_stacks, s, Hop, Phase, MAX_HOPS, POST_DATA_BUDGET, POST_DATA_KEEP};
use crate::source::browser::cdp::{Cdp, Event};
use crate::source::browser::BrowserError;

/// A target Chromium attached under the tab (an iframe, a worker).
pub(super) struct Child {
    pub(super) session: String,
    pub(super) kind: String,
}

/// (session, requestId): a request across its redirects.
type RequestKey = (String, String);

/// What one tab has shown so far.
pub(super) struct Tracker {
    cdp: Arc<Cdp>,
    /// The tab's own session; every other session is a child target.
    main: String,
    pub(super) start: Instant,
    pub(super) hops: Vec<Hop>,
    /// (session, requestId) → the current hop of that request.
    current: HashMap<RequestKey, usize>,
    /// Every hop of a request, in order, so out-of-order ExtraInfo events find theirs.
    all_hops: HashMap<RequestKey, Vec<usize>>,
    req_extra: HashMap<RequestKey, Vec<Value>>,
    resp_extra: HashMap<RequestKey, Vec<Value>>,
    inflight: HashSet<RequestKey>,
    last_activity: Instant,
    pub(super) phase: Phase,
    pub(super) load_ms: Option<u64>,
    pub(super) final_url: Option<String>,
    pub(super) children: Vec<Child>,
    crashed: Option<String>,
    pub(super) truncated: bool,
    first_party_origin: String,
    headers: Vec<(String, String)>,
    pub(super) main_frame: String,
    post_bytes: usize,
}

fn key(ev: &Event, p: &Value) -> RequestKey {
    (ev.session.clone().unwrap_or_default(), s(p, "requestId"))
}

impl Tracker {
    pub(super) fn new(
        cdp: Arc<Cdp>,
        session: &str,
        first_party_origin: String,
        headers: Vec<(String, String)>,
    ) -> Tracker {
        let start = Instant::now();
        Tracker {
            cdp,
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
            headers,
            main_frame: String::new(),
            post_bytes: 0,
        }
    }

    pub(super) fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(super) async fn handle(&mut self, ev: Event) {
        let p = &ev.params;
        let from_tab = ev.session.as_deref() == Some(self.main.as_str());
        match ev.method.as_str() {
            "Network.requestWillBeSent" => self.on_request(&ev),
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
                if let Some(&i) = self.current.get(&key(&ev, p)) {
                    self.set_response(i, &p["response"]);
                }
                self.touch();
            }
            "Network.loadingFinished" => self.on_finished(&ev),
            "Network.loadingFailed" => self.on_failed(&ev),
            "Network.webSocketCreated" => self.on_websocket(&ev),
            "Page.loadEventFired" if from_tab => {
                if self.load_ms.is_none() {
                    self.load_ms = Some(self.elapsed_ms());
                }
                self.touch();
            }
            "Page.frameNavigated" if from_tab => {
                let f = &p["frame"];
                if f.get("parentId").is_none() {
                    self.final_url = Some(s(f, "url") + &s(f, "urlFragment"));
                    self.main_frame = s(f, "id");
                }
            }
            "Page.javascriptDialogOpening" => {
                self.reply(&ev, "Page.handleJavaScriptDialog", json!({"accept": true}))
                    .await;
            }
            "Fetch.requestPaused" => self.on_request_paused(&ev).await,
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
            "Debugger.paused" => self.reply(&ev, "Debugger.resume", json!({})).await,
            "Inspector.detached" | "Inspector.targetCrashed" if from_tab => {
                self.crashed = Some(ev.method.clone());
            }
            _ => {}
        }
    }

    /// Answers an event on its own session; a failure changes nothing for the page.
    async fn reply(&self, ev: &Event, method: &str, params: Value) {
        let _ = self.cdp.call(ev.session.as_deref(), method, params).await;
    }

    /// `Network.requestWillBeSent`: a new hop (after closing the previous one on a redirect).
    fn on_request(&mut self, ev: &Event) {
        let p = &ev.params;
        let k = key(ev, p);
        let request = &p["request"];
        let url = request_url(request);
        self.touch();
        let redirected_from = p
            .get("redirectResponse")
            .and_then(|rr| self.close_redirected(&k, rr));
        if !is_network_url(&url) {
            return;
        }
        if self.hops.len() >= MAX_HOPS {
            self.truncated = true;
            return;
        }
        let initiator = &p["initiator"];
        let stack = stack_urls(initiator);
        let post_data = self.keep_post_data(request);
        let hop = Hop {
            url,
            method: s(request, "method"),
            resource_type: s(p, "type"),
            initiator_type: s(initiator, "type"),
            initiator_url: initiator_url(initiator, &stack),
            initiator_stack: stack,
            document_url: s(p, "documentURL"),
            child_target: ev.session.as_deref() != Some(self.main.as_str()),
            post_data,
            referer: header(&request["headers"], "referer").map(str::to_string),
            redirected_from,
            phase: self.phase,
            t_ms: self.elapsed_ms(),
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

    /// A redirect ends the request's current hop with the redirect response; returns that
    /// hop's URL, where the next hop was redirected from.
    fn close_redirected(&mut self, k: &RequestKey, response: &Value) -> Option<String> {
        let &i = self.current.get(k)?;
        self.set_response(i, response);
        Some(self.hops[i].url.clone())
    }

    fn set_response(&mut self, i: usize, response: &Value) {
        self.hops[i].status = response
            .get("status")
            .and_then(Value::as_u64)
            .map(|x| x as u16);
        self.hops[i].mime = Some(s(response, "mimeType")).filter(|m| !m.is_empty());
    }

    /// The request's body, while the page's body budget lasts.
    fn keep_post_data(&mut self, request: &Value) -> Option<String> {
        let body = if self.post_bytes < POST_DATA_BUDGET {
            post_data(request)
        } else {
            None
        };
        self.post_bytes += body.as_ref().map_or(0, String::len);
        body
    }

    fn on_finished(&mut self, ev: &Event) {
        let k = key(ev, &ev.params);
        if let Some(&i) = self.current.get(&k) {
            self.hops[i].size = ev
                .params
                .get("encodedDataLength")
                .and_then(Value::as_f64)
                .map(|x| x as u64);
        }
        self.inflight.remove(&k);
        self.touch();
    }

    fn on_failed(&mut self, ev: &Event) {
        let k = key(ev, &ev.params);
        if let Some(&i) = self.current.get(&k) {
            self.hops[i].error = Some(failure_text(&ev.params));
        }
        self.inflight.remove(&k);
        self.touch();
    }

    /// A WebSocket is one hop; its frames are not recorded.
    fn on_websocket(&mut self, ev: &Event) {
        let p = &ev.params;
        let initiator = &p["initiator"];
        let stack = stack_urls(initiator);
        if self.hops.len() < MAX_HOPS {
            self.hops.push(Hop {
                url: s(p, "url"),
                method: "GET".into(),
                resource_type: "WebSocket".into(),
                initiator_type: s(initiator, "type"),
                initiator_url: initiator_url(initiator, &stack),
                initiator_stack: stack,
                child_target: ev.session.as_deref() != Some(self.main.as_str()),
                phase: self.phase,
                t_ms: self.elapsed_ms(),
                session: ev.session.clone().unwrap_or_default(),
                request_id: s(p, "requestId"),
                ..Default::default()
            });
        }
        self.touch();
    }

    /// `Fetch.requestPaused` (only with `--header`): the page's own origin gets the extra
    /// headers, replacing the browser's of the same name; everything else goes on as is.
    async fn on_request_paused(&self, ev: &Event) {
        let p = &ev.params;
        let url = s(&p["request"], "url");
        let mut params = json!({ "requestId": s(p, "requestId") });
        if !self.headers.is_empty() && url.starts_with(&self.first_party_origin) {
            params["headers"] = Value::Array(self.with_extra_headers(&p["request"]["headers"]));
        }
        self.reply(ev, "Fetch.continueRequest", params).await;
    }

    fn with_extra_headers(&self, headers: &Value) -> Vec<Value> {
        let mut hs: Vec<Value> = headers
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)))
            .map(|(k, v)| json!({"name": k, "value": v.as_str().unwrap_or("")}))
            .collect();
        hs.extend(
            self.headers
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v})),
        );
        hs
    }

    /// A child target (iframe, worker) waits for the debugger: its requests are recorded
    /// like the tab's own once it is prepared, then it runs.
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
    pub(super) async fn settle(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Event>,
        settle: Duration,
        deadline: Instant,
        need_load: bool,
    ) -> Result<bool, BrowserError> {
        loop {
            if let Some(c) = &self.crashed {
                return Err(BrowserError::TabGone(c.clone()));
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
                Ok(None) => return Err(BrowserError::closed()),
                Err(_) => {}
            }
        }
    }

    /// Handles whatever events are already queued, without waiting.
    pub(super) async fn drain(&mut self, rx: &mut mpsc::UnboundedReceiver<Event>) {
        while let Ok(ev) = rx.try_recv() {
            self.handle(ev).await;
        }
    }

    /// Assigns the ExtraInfo events (cookies sent, Set-Cookie results) to their hops.
    /// Assigns the ExtraInfo events (cookies sent, Set-Cookie results) to their hops: the
    /// n-th ExtraInfo event of a request belongs to its n-th hop.
    pub(super) fn apply_extra_info(&mut self) {
        for (k, idxs) in &self.all_hops {
            for (extra, &i) in self.req_extra.get(k).into_iter().flatten().zip(idxs) {
                apply_request_extra(&mut self.hops[i], extra);
            }
            for (extra, &i) in self.resp_extra.get(k).into_iter().flatten().zip(idxs) {
                let cookies = response_set_cookies(extra, &host_of(&self.hops[i].url));
                self.hops[i].set_cookies.extend(cookies);
            }
        }
    }
}
