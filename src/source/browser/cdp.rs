//! A minimal Chrome DevTools Protocol client: one WebSocket to the browser, flat sessions
//! (`Target.attachToTarget {flatten: true}`), commands matched to replies by id, and events
//! routed to whoever subscribed to their session. Child sessions that Chromium attaches on
//! its own (out-of-process iframes, workers: `Target.setAutoAttach`) are routed to their
//! parent's subscriber before any of their events can arrive.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::BrowserError;

/// A protocol event: `method` and `params`, from `session` (None: the browser itself).
#[derive(Debug, Clone)]
pub struct Event {
    pub session: Option<String>,
    pub method: String,
    pub params: Value,
}

type Pending = HashMap<u64, oneshot::Sender<Result<Value, String>>>;

struct Shared {
    pending: Mutex<Pending>,
    routes: Mutex<HashMap<String, mpsc::UnboundedSender<Event>>>,
    closed: Mutex<Option<String>>,
}

/// One DevTools connection, shared by every tab.
pub struct Cdp {
    out: mpsc::UnboundedSender<String>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    /// Longest wait for any single command's reply.
    pub timeout: Duration,
}

impl Cdp {
    /// Connects to the browser endpoint `ws://127.0.0.1:PORT/devtools/browser/…`.
    pub async fn connect(ws_url: &str) -> Result<Arc<Cdp>, BrowserError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(256 << 20))
            .max_frame_size(Some(256 << 20));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(ws_url, Some(config), true)
            .await
            .map_err(|e| {
                BrowserError::DevTools(format!(
                    "cannot connect to Chromium's DevTools at {ws_url}: {e}"
                ))
            })?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            routes: Mutex::new(HashMap::new()),
            closed: Mutex::new(None),
        });
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let sh = shared.clone();
        tokio::spawn(async move {
            let reason = loop {
                match stream.next().await {
                    Some(Ok(Message::Text(t))) => dispatch(&sh, t.as_str()),
                    Some(Ok(Message::Binary(b))) => {
                        if let Ok(t) = std::str::from_utf8(&b) {
                            dispatch(&sh, t)
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => {
                        break "Chromium closed the DevTools connection".to_string()
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("DevTools connection failed: {e}"),
                }
            };
            *sh.closed.lock().expect("lock") = Some(reason.clone());
            for (_, tx) in sh.pending.lock().expect("lock").drain() {
                let _ = tx.send(Err(reason.clone()));
            }
            sh.routes.lock().expect("lock").clear();
        });
        Ok(Arc::new(Cdp {
            out,
            shared,
            next_id: AtomicU64::new(1),
            timeout: Duration::from_secs(30),
        }))
    }

    /// Sends `method` (to `session`, or to the browser) and waits for its result.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, BrowserError> {
        self.call_timeout(session, method, params, self.timeout)
            .await
    }

    pub async fn call_timeout(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, BrowserError> {
        if let Some(reason) = self.shared.closed.lock().expect("lock").clone() {
            return Err(BrowserError::DevTools(reason));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_string());
        }
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().expect("lock").insert(id, tx);
        if self.out.send(msg.to_string()).is_err() {
            self.shared.pending.lock().expect("lock").remove(&id);
            return Err(BrowserError::DevTools("DevTools connection closed".into()));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r.map_err(|e| BrowserError::DevTools(format!("{method}: {e}"))),
            Ok(Err(_)) => Err(BrowserError::DevTools(format!(
                "{method}: DevTools connection closed"
            ))),
            Err(_) => {
                self.shared.pending.lock().expect("lock").remove(&id);
                Err(BrowserError::DevTools(format!(
                    "{method}: no reply within {timeout:?}"
                )))
            }
        }
    }

    /// The connection has closed (the browser exited or crashed).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.lock().expect("lock").is_some()
    }

    /// Events of `session` (and of the sessions Chromium auto-attaches under it) from now on.
    pub fn subscribe(&self, session: &str) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared
            .routes
            .lock()
            .expect("lock")
            .insert(session.to_string(), tx);
        rx
    }

    /// Stops routing events of `session` and of every child session routed with it.
    pub fn unsubscribe(&self, session: &str) {
        let mut routes = self.shared.routes.lock().expect("lock");
        if let Some(tx) = routes.remove(session) {
            routes.retain(|_, t| !t.same_channel(&tx));
        }
    }
}

fn dispatch(shared: &Shared, text: &str) {
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Some(id) = v.get("id").and_then(Value::as_u64) {
        let result = match v.get_mut("error") {
            Some(e) => Err(e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("protocol error")
                .to_string()),
            None => Ok(v.get_mut("result").map(Value::take).unwrap_or(Value::Null)),
        };
        if let Some(tx) = shared.pending.lock().expect("lock").remove(&id) {
            let _ = tx.send(result);
        }
        return;
    }
    let Some(method) = v.get("method").and_then(Value::as_str).map(str::to_string) else {
        return;
    };
    let session = v
        .get("sessionId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let params = v.get_mut("params").map(Value::take).unwrap_or(Value::Null);
    let mut routes = shared.routes.lock().expect("lock");
    let Some(tx) = session.as_ref().and_then(|s| routes.get(s)).cloned() else {
        return;
    };
    // A child target (iframe, worker) attached under a routed session: route it the same
    // way now, before Chromium can send anything on it.
    match method.as_str() {
        "Target.attachedToTarget" => {
            if let Some(child) = params.get("sessionId").and_then(Value::as_str) {
                routes.insert(child.to_string(), tx.clone());
            }
        }
        "Target.detachedFromTarget" => {
            if let Some(child) = params.get("sessionId").and_then(Value::as_str) {
                if Some(child) != session.as_deref() {
                    routes.remove(child);
                }
            }
        }
        _ => {}
    }
    drop(routes);
    let _ = tx.send(Event {
        session,
        method,
        params,
    });
}
