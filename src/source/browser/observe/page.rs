//! Inside the page: the scripts pixscan runs in it (the write hook installed before any page
//! script, scrolling, reading localStorage, finding the accept button) and the state read
//! back from it (the cookie jar, localStorage, which script wrote what, the title).

use serde_json::{json, Value};

use super::{s, AcceptCandidate, ConsentClick, JarCookie};
use crate::source::browser::cdp::Cdp;

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
pub(super) const HOOK: &str = r#"(() => {
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

pub(super) const SCROLL_JS: &str = r#"(async () => { const h = () => Math.max(document.body ? document.body.scrollHeight : 0, document.documentElement.scrollHeight); let y = 0; for (let i = 0; i < 60 && y < h(); i++) { y += Math.max(200, window.innerHeight * 0.8); window.scrollTo(0, y); await new Promise(r => setTimeout(r, 120)); } window.scrollTo(0, h()); return y; })()"#;

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

/// Runs `expr` in the page; `None` if it threw or the call failed.
pub(super) async fn evaluate(
    cdp: &Cdp,
    session: &str,
    expr: &str,
    await_promise: bool,
) -> Option<Value> {
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

/// `Storage.getCookies`'s answer as jar cookies.
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

/// The browser context's cookie jar and the page origin's localStorage, as they are now.
pub(super) async fn snapshot(
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

/// Which script wrote each cookie and localStorage key (as the write hook logged it):
/// (`cookie` or `storage`, name, script URL), writes of unknown origin left out.
pub(super) async fn script_writes(
    cdp: &Cdp,
    session: &str,
) -> Option<Vec<(String, String, String)>> {
    let writes = evaluate(
        cdp,
        session,
        "JSON.stringify(window.__pixscanWrites || [])",
        false,
    )
    .await
    .and_then(|v| v.as_str().map(str::to_string))
    .and_then(|t| serde_json::from_str::<Vec<(String, String, String)>>(&t).ok())?;
    Some(
        writes
            .into_iter()
            .filter(|(_, _, src)| !src.is_empty())
            .collect(),
    )
}

/// The document's title, if it has one.
pub(super) async fn title(cdp: &Cdp, session: &str) -> Option<String> {
    evaluate(cdp, session, "document.title", false)
        .await
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|t| !t.is_empty())
}

/// Finds and clicks an accept button in `session`'s document: the candidates' selectors,
/// then the generic texts. `trusted`: a real mouse click where the button is on top (the
/// tab's own page); otherwise the element's `click()`.
pub(super) async fn click_accept(
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
