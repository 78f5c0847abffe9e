//! Pure readers of DevTools event payloads: a request's URL, initiator and body, the
//! cookies an ExtraInfo event says were sent, withheld, set or refused.

use serde_json::Value;

use super::{s, Hop, SetCookie, POST_DATA_KEEP};

/// The script URLs on an initiator stack (async parents included), innermost first.
pub(super) fn stack_urls(initiator: &Value) -> Vec<String> {
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

/// A header's value, whatever the case of its name.
pub(super) fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers
        .as_object()?
        .iter()
        .find_map(|(k, v)| k.eq_ignore_ascii_case(name).then(|| v.as_str()).flatten())
}

/// The request body (inline, or assembled from its entries), cut to `POST_DATA_KEEP`.
pub(super) fn post_data(request: &Value) -> Option<String> {
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

/// `s` cut to at most `max` bytes, on a character boundary.
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

/// The script that made a request: the innermost script on its stack, or the initiator's
/// own URL (the document, for the parser).
pub(super) fn initiator_url(initiator: &Value, stack: &[String]) -> Option<String> {
    stack
        .first()
        .cloned()
        .or_else(|| Some(s(initiator, "url")).filter(|u| !u.is_empty()))
}

/// The request's URL with its fragment (DevTools reports it apart).
pub(super) fn request_url(request: &Value) -> String {
    let mut u = s(request, "url");
    let frag = s(request, "urlFragment");
    if !frag.is_empty() {
        u.push_str(&frag);
    }
    u
}

/// Requests that leave the browser: http(s) and WebSocket URLs (not `data:`, `blob:`…).
pub(super) fn is_network_url(url: &str) -> bool {
    url.starts_with("http:")
        || url.starts_with("https:")
        || url.starts_with("ws:")
        || url.starts_with("wss:")
}

/// `Network.loadingFailed` as one line: the error, why it was blocked, whether canceled.
pub(super) fn failure_text(p: &Value) -> String {
    let mut err = s(p, "errorText");
    let blocked = s(p, "blockedReason");
    if !blocked.is_empty() {
        err = format!("{err} (blocked: {blocked})");
    }
    if p.get("canceled").and_then(Value::as_bool) == Some(true) {
        err = format!("{err} (canceled)");
    }
    err
}

/// A list of blocked-reason strings (`blockedReasons` of an ExtraInfo cookie entry).
fn reasons(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}

/// Cookies sent (or withheld, with the reasons) and the referrer, from a request's
/// `requestWillBeSentExtraInfo`.
pub(super) fn apply_request_extra(hop: &mut Hop, extra: &Value) {
    for ac in extra["associatedCookies"].as_array().into_iter().flatten() {
        let name = s(&ac["cookie"], "name");
        let reasons = reasons(&ac["blockedReasons"]);
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

/// The cookies a response tried to set (its `Set-Cookie` lines) and the ones Chromium
/// refused, with the reasons, from its `responseReceivedExtraInfo`. `host`: the responding
/// host, the domain of a cookie without a `Domain` attribute.
pub(super) fn response_set_cookies(extra: &Value, host: &str) -> Vec<SetCookie> {
    let mut cookies: Vec<SetCookie> = Vec::new();
    let lines = header(&extra["headers"], "set-cookie").unwrap_or("");
    for line in lines.split('\n').filter(|l| !l.trim().is_empty()) {
        let (name, domain) = parse_set_cookie(line, host);
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
            _ => parse_set_cookie(&line, host),
        };
        let reasons = reasons(&b["blockedReasons"]);
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
    cookies
}

/// The URL's host, lowercased; empty when it has none.
pub(super) fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
