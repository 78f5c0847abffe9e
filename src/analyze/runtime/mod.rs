//! Browser observations → findings. Every observed request goes through the same analysis
//! as a static reference (`analyze::analyze` on `RawRef`s: element = the resource type,
//! role = `Script` or `Load`), so rules, entities, party and identifiers are shared. What
//! only a browser shows is added on top: the initiator chain, cookies sent and set,
//! identifiers copied from first-party cookies and localStorage into third-party requests,
//! Google Consent Mode signals, and whether a request fired before any consent.

use std::collections::{HashMap, HashSet};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use md5::Md5;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::analyze::identifiers::looks_like_token;
use crate::analyze::{self, decode, unwrap, Context, Mode, Recipient};
use crate::domain::{is_within, registrable};
use crate::model::{
    BrowserRun, ConsentPhase, ConsentUnlocked, CookieReport, CookieSet, DocumentReport, Finding,
    GoogleConsentSignal, Identifier, Kind, Party, RawRef, RefRole, RuntimeRequest, StorageReport,
};
use crate::rules::Ruleset;
use crate::source::browser::observe::{ConsentClick, Hop, JarCookie, PageObservation, Phase};

/// What the merge needs besides the page's report and observation.
pub struct RunContext<'a> {
    pub rules: &'a Ruleset,
    /// Registrable domains of the site owner.
    pub first_party: &'a [String],
    /// The browser's product string (`Chrome/156…`).
    pub browser: &'a str,
    pub block_third_party_cookies: bool,
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::BeforeConsent => "before-consent",
        Phase::AfterConsent => "after-consent",
    }
}

fn third_party_cookies(ctx: &RunContext<'_>) -> &'static str {
    if ctx.block_third_party_cookies {
        "blocked"
    } else {
        "allowed"
    }
}

/// The browser could not load the page: say so; the static findings stand alone.
pub fn failed(doc: &mut DocumentReport, error: &str, ctx: &RunContext<'_>) {
    for f in doc.findings.iter_mut() {
        f.seen_by = Some("static");
    }
    doc.browser = Some(BrowserRun {
        browser: ctx.browser.to_string(),
        final_url: doc.source.clone(),
        third_party_cookies: third_party_cookies(ctx),
        error: Some(error.to_string()),
        ..Default::default()
    });
}

/// Requests worth a finding: not the page's own navigation, not the browser's favicon.
fn keep(h: &Hop) -> bool {
    let favicon = h.initiator_type == "other"
        && h.initiator_url.is_none()
        && h.url
            .split('?')
            .next()
            .is_some_and(|u| u.ends_with("/favicon.ico"));
    !h.main_document && !favicon
}

fn http_url(u: &str) -> String {
    if let Some(rest) = u.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = u.strip_prefix("wss://") {
        format!("https://{rest}")
    } else {
        u.to_string()
    }
}

fn element(h: &Hop) -> String {
    match h.resource_type.as_str() {
        "Image" => "img".into(),
        "Document" => "iframe".into(),
        "" => "other".into(),
        t => t.to_ascii_lowercase(),
    }
}

fn role(h: &Hop) -> RefRole {
    if h.resource_type == "Script" {
        RefRole::Script
    } else {
        RefRole::Load
    }
}

fn raw_ref(h: &Hop) -> RawRef {
    let mut hidden = Vec::new();
    let (mut width, mut height) = (None, None);
    if let Some((w, hh)) = h.image {
        width = Some(f64::from(w));
        height = Some(f64::from(hh));
        if w <= 3 && hh <= 3 {
            hidden.push(format!("{w}×{hh} image (response)"));
        }
    }
    RawRef {
        url: http_url(&h.url),
        element: element(h),
        attribute: "runtime".into(),
        role: role(h),
        hidden,
        width,
        height,
        line: 0,
        column: None,
        extra: Vec::new(),
    }
}

/// The URL a finding for this hop carries (resolved and unwrapped, as the analysis does).
fn finding_key(h: &Hop, base: Option<&Url>) -> Option<(String, RefRole)> {
    let u = analyze::resolve(&http_url(&h.url), base)?;
    Some((unwrap::unwrap(u).0.to_string(), role(h)))
}

/// Outermost first: the page, then each script (or frame) that loaded the next.
pub fn initiator_chain(hops: &[Hop], i: usize, page: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut cur = hops[i].initiator_url.clone();
    while let Some(u) = cur {
        if chain.contains(&u) || chain.len() >= 12 {
            break;
        }
        chain.push(u.clone());
        if same_document(&u, page) {
            break;
        }
        cur = hops
            .iter()
            .find(|h| {
                !h.main_document
                    && matches!(h.resource_type.as_str(), "Script" | "Document")
                    && same_document(&h.url, &u)
            })
            .and_then(|h| h.initiator_url.clone());
    }
    chain.reverse();
    chain
}

fn same_document(a: &str, b: &str) -> bool {
    a.split('#').next() == b.split('#').next()
}

fn host_of(u: &str) -> String {
    Url::parse(&http_url(u))
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

fn party_of(host: &str, first_party: &[String]) -> Party {
    if first_party.contains(&registrable(host)) {
        Party::First
    } else {
        Party::Third
    }
}

/// A first-party value that may be copied into third-party requests.
struct Candidate {
    what: String,
    value: String,
    b64: [String; 2],
    sha256: String,
    md5: String,
}

impl Candidate {
    fn new(what: String, value: String) -> Candidate {
        Candidate {
            b64: [
                STANDARD_NO_PAD.encode(value.as_bytes()),
                URL_SAFE_NO_PAD.encode(value.as_bytes()),
            ],
            sha256: hex(&Sha256::digest(value.as_bytes())),
            md5: hex(&Md5::digest(value.as_bytes())),
            what,
            value,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unique enough that finding it elsewhere is no coincidence: 8+ characters, varied, not a
/// word, a URL or a small number.
pub fn distinctive(v: &str) -> bool {
    let n = v.chars().count();
    if !(8..=512).contains(&n) || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if v.starts_with("http") || v.starts_with('/') || v.starts_with('{') || v.starts_with('[') {
        return false;
    }
    if v.chars().collect::<HashSet<_>>().len() < 5 {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let letters = v.chars().filter(|c| c.is_alphabetic()).count();
    if digits == 0 && !looks_like_token(v) {
        return false;
    }
    looks_like_token(v) || digits >= 6 || (digits >= 2 && letters >= 2 && n >= 10)
}

/// The value itself and its `.`/`|`/`:`/`~`-separated suffixes and prefixes (`_ga` is
/// `GA1.1.<client id>`, and the client id is what Google's `cid` carries).
fn pieces(value: &str) -> Vec<String> {
    fn push(out: &mut Vec<String>, s: &str, min: usize) {
        if s.len() >= min && distinctive(s) && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    let mut out: Vec<String> = Vec::new();
    let decoded = percent_decode_str(value).decode_utf8_lossy().into_owned();
    for v in [value, decoded.as_str()] {
        push(&mut out, v, 8);
        let seps: Vec<usize> = v
            .char_indices()
            .filter(|(_, c)| matches!(c, '.' | '|' | ':' | '~'))
            .map(|(i, _)| i)
            .collect();
        for &i in &seps {
            push(&mut out, &v[i + 1..], 10);
            push(&mut out, &v[..i], 10);
        }
    }
    out
}

fn json_leaves(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    if out.len() > 200 {
        return;
    }
    match v {
        Value::String(s) => out.push((path.to_string(), s.clone())),
        Value::Number(n) => out.push((path.to_string(), n.to_string())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate().take(50) {
                json_leaves(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o.iter().take(100) {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_leaves(x, &p, out);
            }
        }
        _ => {}
    }
}

fn candidates(obs: &PageObservation, first_party: &[String]) -> Vec<Candidate> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out: Vec<Candidate> = Vec::new();
    let jars = obs
        .cookies
        .iter()
        .chain(obs.cookies_before_consent.iter().flatten());
    for c in jars {
        if !first_party.contains(&registrable(&c.domain)) {
            continue;
        }
        for p in pieces(&c.value) {
            if seen.insert(p.clone()) {
                out.push(Candidate::new(
                    format!("first-party cookie {} ({})", c.name, c.domain),
                    p,
                ));
            }
        }
    }
    let stores = obs
        .storage
        .iter()
        .chain(obs.storage_before_consent.iter().flatten());
    for (k, v) in stores {
        let mut values = vec![v.clone()];
        if let Ok(j) = serde_json::from_str::<Value>(v) {
            if j.is_object() || j.is_array() {
                let mut leaves = Vec::new();
                json_leaves(&j, "", &mut leaves);
                values = leaves.into_iter().map(|(_, x)| x).collect();
            }
        }
        for v in values {
            for p in pieces(&v) {
                if seen.insert(p.clone()) {
                    out.push(Candidate::new(format!("localStorage {k}"), p));
                }
            }
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.value.len()));
    out.truncate(300);
    out
}

/// The first (longest) candidate found in one slot, and how it is encoded there.
fn match_slot<'c>(
    raw: &str,
    decoded: &str,
    cands: &'c [Candidate],
) -> Option<(&'c Candidate, &'static str)> {
    let lower = decoded.to_ascii_lowercase();
    cands.iter().find_map(|c| {
        if raw.contains(&c.value) {
            Some((c, "plain"))
        } else if decoded.contains(&c.value) {
            Some((c, "url"))
        } else if c
            .b64
            .iter()
            .any(|b| b.len() >= 8 && decoded.contains(b.as_str()))
        {
            Some((c, "base64"))
        } else if lower.contains(&c.sha256) {
            Some((c, "sha256"))
        } else if lower.contains(&c.md5) {
            Some((c, "md5"))
        } else {
            None
        }
    })
}

fn pct(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Slots of a request: query parameters, the path, and the body's fields.
fn slots(url: &str, body: Option<&str>) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    if let Ok(u) = Url::parse(&http_url(url)) {
        out.push(("path".to_string(), u.path().to_string(), pct(u.path())));
        for pair in u.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.push((format!("query:{}", pct(k)), v.to_string(), pct(v)));
        }
    }
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        let t = b.trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            if let Ok(j) = serde_json::from_str::<Value>(t) {
                let mut leaves = Vec::new();
                json_leaves(&j, "", &mut leaves);
                for (k, v) in leaves {
                    out.push((format!("body:{k}"), v.clone(), v));
                }
                return out;
            }
        }
        if b.contains('=') && !b.contains(['<', '\n', '{']) {
            for pair in b.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                out.push((format!("body:{}", pct(k)), v.to_string(), pct(v)));
            }
        } else {
            out.push(("body".to_string(), b.to_string(), pct(b)));
        }
    }
    out
}

/// First-party identifiers that a request carries to a third party.
fn shared_identifiers(hops: &[&Hop], cands: &[Candidate]) -> Vec<(Identifier, String)> {
    let mut out: Vec<(Identifier, String)> = Vec::new();
    if cands.is_empty() {
        return out;
    }
    for h in hops {
        let host = host_of(&h.url);
        for (loc, raw, decoded) in slots(&h.url, h.post_data.as_deref()) {
            if out.iter().any(|(i, _)| i.location == loc) {
                continue;
            }
            if let Some((c, enc)) = match_slot(&raw, &decoded, cands) {
                out.push((
                    Identifier {
                        location: loc.clone(),
                        kind: "shared-identifier",
                        encoding: enc,
                        value: decode::shown(&c.value),
                    },
                    format!(
                        "{} copied into {loc} ({enc}) of a request to {host}",
                        c.what
                    ),
                ));
            }
        }
    }
    out
}

/// Google Consent Mode `gcs` (`G1` + ad_storage + analytics_storage, `1` granted, `0`
/// denied, `-` not set).
pub fn decode_gcs(v: &str) -> Option<(String, String)> {
    let rest = v.strip_prefix("G1")?;
    let b: Vec<char> = rest.chars().collect();
    if b.len() < 2 {
        return None;
    }
    let state = |c: char| match c {
        '1' => "granted",
        '0' => "denied",
        _ => "not set",
    };
    Some((state(b[0]).to_string(), state(b[1]).to_string()))
}

/// Google Consent Mode `gcd`: one letter per signal (ad_storage, analytics_storage,
/// ad_user_data, ad_personalization) giving its default and update.
pub fn decode_gcd(v: &str) -> Vec<String> {
    v.chars()
        .filter(char::is_ascii_alphabetic)
        .take(4)
        .map(|c| {
            match c {
                'l' => "not set",
                'p' => "denied (default)",
                'q' => "denied (default and update)",
                't' => "granted (default)",
                'r' => "granted (update; denied by default)",
                'm' => "denied (update)",
                'n' => "granted (update)",
                'u' => "denied (update; granted by default)",
                'v' => "granted (default and update)",
                'e' => "granted (update)",
                _ => "unknown",
            }
            .to_string()
        })
        .collect()
}

fn google_signal(f: &Finding, h: &Hop) -> Option<GoogleConsentSignal> {
    let u = Url::parse(&h.url).ok()?;
    let q = |k: &str| {
        u.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    let (gcs, gcd) = (q("gcs"), q("gcd"));
    if gcs.is_none() && gcd.is_none() {
        return None;
    }
    let mut s = GoogleConsentSignal {
        url: h.url.clone(),
        phase: phase_name(h.phase),
        gcs: gcs.clone(),
        gcd: gcd.clone(),
        ..Default::default()
    };
    let d = gcd.as_deref().map(decode_gcd).unwrap_or_default();
    let at = |i: usize| d.get(i).cloned();
    (s.ad_storage, s.analytics_storage) = match gcs.as_deref().and_then(decode_gcs) {
        Some((a, b)) => (Some(a), Some(b)),
        None => (at(0), at(1)),
    };
    s.ad_user_data = at(2);
    s.ad_personalization = at(3);
    for id in &f.leaks.identifiers {
        s.sent.push(format!("{} ({})", id.location, id.kind));
    }
    for c in &h.sent_cookies {
        s.sent.push(format!("cookie {c}"));
    }
    let denied: Vec<&str> = [
        ("ad_storage", &s.ad_storage),
        ("analytics_storage", &s.analytics_storage),
        ("ad_user_data", &s.ad_user_data),
        ("ad_personalization", &s.ad_personalization),
    ]
    .iter()
    .filter(|(_, v)| v.as_deref().is_some_and(|v| v.starts_with("denied")))
    .map(|(k, _)| *k)
    .collect();
    s.note = if denied.is_empty() {
        "consent declared granted (or not set)".to_string()
    } else if s.sent.is_empty() {
        format!(
            "declares {} denied; a cookieless ping (IP address, user-agent, page) still reaches Google",
            denied.join(", ")
        )
    } else {
        format!(
            "declares {} denied, yet the request carries {}",
            denied.join(", "),
            s.sent.join(", ")
        )
    };
    Some(s)
}

fn observed_line(h: &Hop, count: usize) -> String {
    let mut s = format!(
        "observed in the browser: {} {}",
        if h.resource_type.is_empty() {
            "request"
        } else {
            &h.resource_type
        },
        h.method
    );
    match (&h.error, h.status) {
        (_, Some(st)) => s.push_str(&format!(" → HTTP {st}")),
        (Some(e), None) => s.push_str(&format!(" (sent; no response seen: {e})")),
        _ => {}
    }
    if let Some(m) = &h.mime {
        s.push_str(&format!(", {m}"));
    }
    if let Some((w, hh)) = h.image {
        s.push_str(&format!(" {w}×{hh}"));
    }
    s.push_str(&format!(", {} ms after navigation", h.t_ms));
    if count > 1 {
        s.push_str(&format!(", {count} times"));
    }
    if h.child_target {
        s.push_str(&format!(", from frame {}", h.document_url));
    }
    s
}

/// A runtime finding with the observation's facts; returns the evidence lines added, so a
/// static finding that absorbs it can take them over.
#[allow(clippy::too_many_arguments)]
fn enrich(
    f: &mut Finding,
    idxs: &[usize],
    obs: &PageObservation,
    cands: &[Candidate],
    platforms: &[String],
    signals: &mut Vec<GoogleConsentSignal>,
) -> Vec<String> {
    let hops: Vec<&Hop> = idxs.iter().map(|&i| &obs.hops[i]).collect();
    let first = idxs
        .iter()
        .copied()
        .find(|&i| obs.hops[i].phase == Phase::BeforeConsent)
        .unwrap_or(idxs[0]);
    let h = &obs.hops[first];
    f.seen_by = Some("runtime");
    f.line = None;
    f.column = None;
    f.initiators = initiator_chain(&obs.hops, first, &obs.final_url);
    let mut lines = vec![observed_line(h, hops.len())];
    // The browser says whether cookies went along; the static guess does not stand.
    f.leaks.cookies = !h.sent_cookies.is_empty();
    if f.leaks.cookies {
        lines.push(format!("cookies sent: {}", h.sent_cookies.join(", ")));
    }
    for c in &h.set_cookies {
        lines.push(if c.blocked.is_empty() && in_jar(obs, &c.name, &c.domain) {
            format!("sets cookie {} on {}", c.name, c.domain)
        } else if c.blocked.is_empty() {
            // Chromium refused nothing, but the cookie never reached its jar (a no-cors
            // request's response, say): say what the browser shows, no more.
            format!(
                "answered with Set-Cookie {} on {}, but the cookie is not in the browser's jar",
                c.name, c.domain
            )
        } else {
            format!(
                "tried to set cookie {} on {}: refused by Chromium ({})",
                c.name,
                c.domain,
                c.blocked.join(", ")
            )
        });
    }
    if f.party == Party::Third {
        f.leaks.referrer = h.referer.is_some();
    }
    let mut retitle = false;
    if h.resource_type == "Ping" && f.party == Party::Third {
        if !f.tracking || matches!(f.kind, Kind::RemoteImage | Kind::RemoteResource) {
            f.kind = Kind::Beacon;
            retitle = true;
        }
        f.tracking = true;
        lines.push("navigator.sendBeacon: a fire-and-forget report to a third party".into());
    }
    if f.party == Party::Third {
        let shared = shared_identifiers(&hops, cands);
        if !shared.is_empty() {
            let locs: Vec<String> = shared.iter().map(|(i, _)| i.location.clone()).collect();
            let dropped: Vec<String> = f
                .leaks
                .identifiers
                .iter()
                .filter(|i| locs.contains(&i.location))
                .map(|i| format!("{} in {} ({})", i.kind, i.location, i.encoding))
                .collect();
            f.evidence.retain(|e| !dropped.contains(e));
            f.leaks.identifiers.retain(|i| !locs.contains(&i.location));
            for (id, why) in shared {
                f.leaks.identifiers.push(id);
                lines.push(why);
            }
            if !f.tracking || matches!(f.kind, Kind::RemoteImage | Kind::RemoteResource) {
                retitle = true;
                f.kind = Kind::Beacon;
            }
            f.tracking = true;
        }
    }
    if let Some(sig) = google_signal(f, h) {
        let mut states = Vec::new();
        for (k, v) in [
            ("ad_storage", &sig.ad_storage),
            ("analytics_storage", &sig.analytics_storage),
            ("ad_user_data", &sig.ad_user_data),
            ("ad_personalization", &sig.ad_personalization),
        ] {
            if let Some(v) = v {
                states.push(format!("{k}={v}"));
            }
        }
        let param = match (&sig.gcs, &sig.gcd) {
            (Some(a), Some(b)) => format!("gcs={a} gcd={b}"),
            (Some(a), None) => format!("gcs={a}"),
            (None, Some(b)) => format!("gcd={b}"),
            _ => String::new(),
        };
        lines.push(format!(
            "Google Consent Mode {param}: {} — {}",
            states.join(", "),
            sig.note
        ));
        signals.push(sig);
    }
    let phase = h.phase;
    f.evidence.retain(|e| !e.starts_with("consent: "));
    if f.tracking || f.party == Party::Third {
        match phase {
            Phase::BeforeConsent => {
                f.consent = Some("ungated");
                let cmp = if platforms.is_empty() {
                    String::new()
                } else {
                    format!(", although {} is on the page", platforms.join(", "))
                };
                lines.push(format!(
                    "consent: ungated — the browser sent it before any interaction{cmp}"
                ));
            }
            Phase::AfterConsent => {
                f.consent = Some("gated");
                let how = obs
                    .consent
                    .as_ref()
                    .and_then(|c| c.clicked.clone())
                    .unwrap_or_default();
                lines.push(format!(
                    "consent: gated — sent only after accepting consent (clicked {how})"
                ));
            }
        }
    }
    if retitle {
        let who = f.entity.clone().unwrap_or_else(|| f.host.clone());
        let what = if f
            .leaks
            .identifiers
            .iter()
            .any(|i| i.kind == "shared-identifier")
        {
            ", carrying an identifier copied from the site's own cookies or storage"
        } else {
            ""
        };
        f.message = format!(
            "Tracking beacon ({who}): the page sends a request to {} revealing the visitor's IP address, user-agent and the page{what}.",
            f.host
        );
    }
    f.runtime = Some(Box::new(RuntimeRequest {
        url: h.url.clone(),
        resource_type: h.resource_type.to_ascii_lowercase(),
        method: h.method.clone(),
        status: h.status,
        initiator_type: h.initiator_type.clone(),
        phase: phase_name(phase),
        time_ms: h.t_ms,
        count: hops.len() as u32,
        post_data: h.post_data.as_deref().map(decode::shown),
        cookies_sent: h.sent_cookies.clone(),
        cookies_set: h
            .set_cookies
            .iter()
            .map(|c| CookieSet {
                name: c.name.clone(),
                domain: c.domain.clone(),
                stored: c.blocked.is_empty() && in_jar(obs, &c.name, &c.domain),
                blocked: c.blocked.clone(),
            })
            .collect(),
        referer: h.referer.clone(),
        redirected_from: h.redirected_from.clone(),
        error: h.error.clone(),
        frame: (h.child_target || (h.document_url != obs.final_url && !h.document_url.is_empty()))
            .then(|| h.document_url.clone())
            .filter(|d| !same_document(d, &obs.final_url)),
    }));
    f.evidence.extend(lines.iter().cloned());
    lines
}

/// Whether the browser's cookie jar (at the end of the visit, or before consent) holds a
/// cookie of that name for that domain: only then was a Set-Cookie really stored.
fn in_jar(obs: &PageObservation, name: &str, domain: &str) -> bool {
    let domain = domain.trim_start_matches('.');
    let matches = |c: &JarCookie| {
        let d = c.domain.trim_start_matches('.');
        c.name == name
            && (d == domain
                || domain.ends_with(&format!(".{d}"))
                || d.ends_with(&format!(".{domain}")))
    };
    obs.cookies.iter().any(matches)
        || obs
            .cookies_before_consent
            .as_ref()
            .is_some_and(|cs| cs.iter().any(matches))
}

/// A static finding seen in the browser too: it takes over the runtime facts.
fn absorb(s: &mut Finding, r: Finding, lines: Vec<String>, by_rule: bool) {
    s.seen_by = Some("both");
    s.initiators = r.initiators;
    // The browser knows more than the markup (a 1×1 response makes a beacon of a plain
    // remote image): a tracking runtime verdict replaces a weaker static one.
    if r.tracking && (!s.tracking || matches!(s.kind, Kind::RemoteImage | Kind::RemoteResource)) {
        s.tracking = true;
        s.kind = r.kind;
        s.message = r.message.clone();
    }
    // What the browser saw (a 1×1 response, the cookies) backs the finding either way.
    for e in &r.evidence {
        if !s.evidence.contains(e) && !lines.contains(e) && !e.starts_with("consent:") {
            s.evidence.push(e.clone());
        }
    }
    for id in r.leaks.identifiers {
        if !s
            .leaks
            .identifiers
            .iter()
            .any(|x| x.location == id.location && x.kind == id.kind)
        {
            s.leaks.identifiers.push(id);
        }
    }
    // Whether cookies went along is the browser's to say, not the markup's guess.
    s.leaks.cookies = r.leaks.cookies;
    if by_rule {
        s.evidence.push(format!("seen in the browser as {}", r.url));
    }
    if let Some(rc) = r.consent {
        if let Some(sc) = s.consent.filter(|sc| *sc != rc) {
            s.evidence.push(format!(
                "the markup suggested {sc}; the browser run shows {rc}"
            ));
        }
        s.consent = Some(rc);
    }
    s.runtime = r.runtime;
    s.evidence.extend(lines);
}

/// Adds the observation to the page's report: runtime findings (merged with the static
/// ones), cookies, storage, consent behaviour and Google Consent Mode signals.
pub fn merge(doc: &mut DocumentReport, obs: &PageObservation, ctx: &RunContext<'_>) {
    let page = Url::parse(&obs.final_url).ok();
    let first_party = ctx.first_party;
    let kept: Vec<usize> = (0..obs.hops.len())
        .filter(|&i| keep(&obs.hops[i]))
        .collect();
    let refs: Vec<RawRef> = kept.iter().map(|&i| raw_ref(&obs.hops[i])).collect();
    let recipients: Vec<Recipient> = page
        .iter()
        .flat_map(|u| u.query_pairs())
        .filter(|(_, v)| v.contains('@') && v.contains('.') && !v.contains(' '))
        .map(|(_, v)| Recipient::new(&v))
        .collect();
    let mut known_accounts: Vec<String> = doc
        .findings
        .iter()
        .filter_map(|f| f.account.clone())
        .collect();
    known_accounts.sort();
    known_accounts.dedup();
    let actx = Context {
        rules: ctx.rules,
        mode: Mode::Site,
        first_party: first_party.to_vec(),
        recipients,
        base: page.clone(),
        sent_by_platform: false,
        referrer_sent: true,
        consent: None,
        known_accounts,
        sender: None,
        archive_copy: false,
    };
    let analysis = analyze::analyze(&refs, &actx);
    let mut by_key: HashMap<(String, RefRole), Vec<usize>> = HashMap::new();
    for &i in &kept {
        if let Some(k) = finding_key(&obs.hops[i], page.as_ref()) {
            by_key.entry(k).or_default().push(i);
        }
    }
    let cands = candidates(obs, first_party);
    let mut platforms = doc.consent_platforms.clone().unwrap_or_default();
    if let Some(p) = obs.consent.as_ref().and_then(|c| c.platform.clone()) {
        if !platforms.contains(&p) {
            platforms.push(p);
        }
    }
    let mut signals = Vec::new();
    let mut runtime: Vec<(Finding, Vec<String>)> = Vec::new();
    for mut f in analysis.findings {
        let r = if f.element == "script" {
            RefRole::Script
        } else {
            RefRole::Load
        };
        let Some(idxs) = by_key.get(&(f.url.clone(), r)).filter(|v| !v.is_empty()) else {
            continue;
        };
        let lines = enrich(&mut f, idxs, obs, &cands, &platforms, &mut signals);
        runtime.push((f, lines));
    }
    let confirmations: Vec<(Option<String>, Option<String>, String)> = runtime
        .iter()
        .map(|(f, _)| (f.entity.clone(), f.account.clone(), f.url.clone()))
        .collect();

    // Merge with the static findings.
    let n_static = doc.findings.len();
    for f in doc.findings.iter_mut() {
        f.seen_by = Some("static");
    }
    let mut by_rule_taken = vec![false; n_static];
    let mut extra = Vec::new();
    for (r, lines) in runtime {
        let eligible = |s: &Finding| !matches!(s.kind, Kind::TrackedLink | Kind::DnsPrefetch);
        let by_url = (0..n_static).find(|&i| {
            let s = &doc.findings[i];
            eligible(s) && !s.url.is_empty() && s.url == r.url
        });
        // Same rule and account (a tag's noscript fallback and its script hit), or a URL
        // written in an inline script that the script completes at run time (`…&cid=` +
        // the client id).
        let by_rule = || {
            (0..n_static).find(|&i| {
                let s = &doc.findings[i];
                eligible(s)
                    && !by_rule_taken[i]
                    && s.runtime.is_none()
                    && s.rule.is_some()
                    && s.rule == r.rule
                    && ((s.account.is_some() && s.account == r.account)
                        || (matches!(s.attribute.as_str(), "inline-url" | "inline-loader")
                            && !s.url.is_empty()
                            && r.url.starts_with(&s.url)))
            })
        };
        match (by_url, by_url.is_none().then(by_rule).flatten()) {
            (Some(i), _) => absorb(&mut doc.findings[i], r, lines, false),
            (None, Some(i)) => {
                by_rule_taken[i] = true;
                absorb(&mut doc.findings[i], r, lines, true);
            }
            (None, None) => extra.push(r),
        }
    }
    for s in doc.findings[..n_static].iter_mut() {
        if s.seen_by != Some("static") {
            continue;
        }
        if s.url.is_empty() {
            if let Some((_, _, u)) = confirmations
                .iter()
                .find(|(e, a, _)| a.is_some() && *a == s.account && *e == s.entity)
            {
                s.seen_by = Some("both");
                s.evidence.push(format!("confirmed in the browser: {u}"));
            }
        } else if !matches!(s.kind, Kind::TrackedLink | Kind::DnsPrefetch) {
            s.evidence
                .push("not requested in the browser run (this visit)".to_string());
        }
    }
    doc.findings.extend(extra);
    if let Some(p) = obs.consent.as_ref().and_then(|c| c.platform.clone()) {
        let cp = doc.consent_platforms.get_or_insert_with(Vec::new);
        if !cp.contains(&p) {
            cp.push(p);
        }
    }

    // Page-level facts.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    doc.cookies = Some(cookie_reports(obs, ctx, now));
    doc.local_storage = Some(storage_reports(obs));
    doc.google_consent = signals;
    if let Some(click) = &obs.consent {
        doc.consent_unlocked = Some(consent_unlocked(doc, obs, click, first_party));
    }
    let third = kept
        .iter()
        .filter(|&&i| party_of(&host_of(&obs.hops[i].url), first_party) == Party::Third)
        .count();
    let mut notes = Vec::new();
    if obs.truncated {
        notes.push("more than 5,000 requests: the rest were not recorded".to_string());
    }
    if obs.consent.as_ref().is_some_and(|c| c.in_iframe) {
        notes.push("the consent banner's accept button is inside an iframe".to_string());
    }
    notes.extend(obs.notes.iter().cloned());
    doc.browser = Some(BrowserRun {
        browser: ctx.browser.to_string(),
        final_url: obs.final_url.clone(),
        load_ms: obs.load_ms,
        requests: kept.len() as u32,
        third_party_requests: third as u32,
        tracking_before_consent: doc
            .findings
            .iter()
            .filter(|f| {
                f.tracking
                    && f.runtime
                        .as_ref()
                        .is_some_and(|r| r.phase == "before-consent")
            })
            .count() as u32,
        third_party_cookies: third_party_cookies(ctx),
        timed_out: obs.timed_out,
        error: None,
        notes,
    });
    if doc.title.is_none() {
        doc.title = obs.title.clone();
    }
}

fn cookie_reports(obs: &PageObservation, ctx: &RunContext<'_>, now: f64) -> Vec<CookieReport> {
    let before: Option<HashSet<(&str, &str)>> = obs.cookies_before_consent.as_ref().map(|b| {
        b.iter()
            .map(|c| (c.name.as_str(), c.domain.as_str()))
            .collect()
    });
    let entity = |host: &str| {
        ctx.rules
            .entity_for_host(host)
            .map(|e| ctx.rules.entity(e).name.clone())
    };
    let mut out = Vec::new();
    for c in &obs.cookies {
        let from_response = obs.hops.iter().find(|h| {
            h.set_cookies.iter().any(|s| {
                s.blocked.is_empty()
                    && s.name == c.name
                    && (s.domain == c.domain || is_within(&s.domain, &c.domain))
            })
        });
        let from_script = obs
            .writers
            .iter()
            .rev()
            .find(|(k, n, _)| k == "cookie" && *n == c.name)
            .map(|(_, _, src)| src.clone());
        let (set_by, setter_host) = match (from_response, from_script) {
            (Some(h), _) => (Some(format!("response of {}", h.url)), host_of(&h.url)),
            (None, Some(src)) => {
                let host = host_of(&src);
                (Some(format!("script {src}")), host)
            }
            (None, None) => (None, c.domain.clone()),
        };
        out.push(CookieReport {
            name: c.name.clone(),
            domain: c.domain.clone(),
            party: Some(party_of(&c.domain, ctx.first_party)),
            entity: entity(&setter_host).or_else(|| entity(&c.domain)),
            expires: c.expires.map(|e| e as i64),
            days: c
                .expires
                .map(|e| ((e - now) / 86_400.0 * 10.0).round() / 10.0),
            size: c.size,
            http_only: c.http_only,
            secure: c.secure,
            same_site: c.same_site.clone(),
            set_by,
            after_consent: before
                .as_ref()
                .is_some_and(|b| !b.contains(&(c.name.as_str(), c.domain.as_str()))),
            blocked: Vec::new(),
        });
    }
    let mut refused: HashSet<(String, String, Vec<String>)> = HashSet::new();
    for h in &obs.hops {
        for s in h.set_cookies.iter().filter(|s| !s.blocked.is_empty()) {
            if !refused.insert((s.name.clone(), s.domain.clone(), s.blocked.clone())) {
                continue;
            }
            out.push(CookieReport {
                name: s.name.clone(),
                domain: s.domain.clone(),
                party: Some(party_of(&s.domain, ctx.first_party)),
                entity: entity(&host_of(&h.url)),
                set_by: Some(format!("response of {}", h.url)),
                after_consent: h.phase == Phase::AfterConsent,
                blocked: s.blocked.clone(),
                ..Default::default()
            });
        }
    }
    out
}

fn storage_reports(obs: &PageObservation) -> Vec<StorageReport> {
    let before: Option<HashSet<&str>> = obs
        .storage_before_consent
        .as_ref()
        .map(|b| b.iter().map(|(k, _)| k.as_str()).collect());
    obs.storage
        .iter()
        .map(|(k, v)| StorageReport {
            key: k.clone(),
            size: v.chars().count() as u64,
            set_by: obs
                .writers
                .iter()
                .rev()
                .find(|(kind, n, _)| kind == "storage" && n == k)
                .map(|(_, _, src)| format!("script {src}")),
            after_consent: before.as_ref().is_some_and(|b| !b.contains(k.as_str())),
        })
        .collect()
}

fn consent_unlocked(
    doc: &DocumentReport,
    obs: &PageObservation,
    click: &ConsentClick,
    first_party: &[String],
) -> ConsentUnlocked {
    let tracking = |phase: &str| -> Vec<String> {
        let mut v: Vec<String> = doc
            .findings
            .iter()
            .filter(|f| f.tracking)
            .filter_map(|f| f.runtime.as_ref())
            .filter(|r| r.phase == phase)
            .map(|r| r.url.clone())
            .collect();
        v.dedup();
        v.truncate(100);
        v
    };
    let hosts = |phase: Phase| -> Vec<String> {
        let mut v: Vec<String> = obs
            .hops
            .iter()
            .filter(|h| h.phase == phase && keep(h))
            .map(|h| host_of(&h.url))
            .filter(|h| !h.is_empty() && party_of(h, first_party) == Party::Third)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let before_hosts = hosts(Phase::BeforeConsent);
    let name = |c: &JarCookie| format!("{} ({})", c.name, c.domain);
    let before_cookies: Vec<String> = obs
        .cookies_before_consent
        .iter()
        .flatten()
        .map(name)
        .collect();
    let before_storage: Vec<String> = obs
        .storage_before_consent
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    ConsentUnlocked {
        clicked: click.clicked.clone(),
        platform: click.platform.clone(),
        button_text: click.text.clone(),
        note: click.clicked.is_none().then(|| {
            "no accept button found (tried the consent platforms' accept selectors and common accept texts in dialogs and banners): everything below fired without consent".to_string()
        }),
        after: ConsentPhase {
            tracking_requests: tracking("after-consent"),
            third_parties: hosts(Phase::AfterConsent)
                .into_iter()
                .filter(|h| !before_hosts.contains(h))
                .collect(),
            cookies: obs
                .cookies
                .iter()
                .map(name)
                .filter(|c| !before_cookies.contains(c))
                .collect(),
            storage: obs
                .storage
                .iter()
                .map(|(k, _)| k.clone())
                .filter(|k| !before_storage.contains(k))
                .collect(),
        },
        before: ConsentPhase {
            tracking_requests: tracking("before-consent"),
            third_parties: before_hosts,
            cookies: before_cookies,
            storage: before_storage,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_mode_parameters() {
        assert_eq!(
            decode_gcs("G100"),
            Some(("denied".to_string(), "denied".to_string()))
        );
        assert_eq!(
            decode_gcs("G110"),
            Some(("granted".to_string(), "denied".to_string()))
        );
        assert_eq!(
            decode_gcs("G1--"),
            Some(("not set".to_string(), "not set".to_string()))
        );
        assert_eq!(decode_gcs("X1"), None);
        assert_eq!(
            decode_gcd("13p3p3p2p5"),
            vec!["denied (default)"; 4]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        );
        assert_eq!(decode_gcd("11t1t1l1r5")[2], "not set");
        assert_eq!(
            decode_gcd("11t1t1l1r5")[3],
            "granted (update; denied by default)"
        );
    }

    #[test]
    fn identifier_pieces() {
        let p = pieces("GA1.1.5551234567.1700000000");
        assert!(p.contains(&"5551234567.1700000000".to_string()), "{p:?}");
        assert!(!p.contains(&"1700000000".to_string()));
        assert!(distinctive("v7Qm2xK9pL4sT8wZ"));
        assert!(!distinctive("granted"));
        assert!(!distinctive("true"));
        assert!(!distinctive("11111111"));
        assert!(!distinctive("/account/settings"));
    }

    #[test]
    fn finds_shared_values_in_urls_and_bodies() {
        let cands = vec![
            Candidate::new(
                "first-party cookie shop_vid (www.shop.test)".into(),
                "v7Qm2xK9pL4sT8wZ".into(),
            ),
            Candidate::new(
                "first-party cookie _ga (www.shop.test)".into(),
                "5551234567.1700000000".into(),
            ),
        ];
        let hop = Hop {
            url: "https://t.example/p?cid=5551234567.1700000000&b=djdRbTJ4SzlwTDRzVDh3Wg".into(),
            post_data: Some(r#"{"event":"x","visitor":"v7Qm2xK9pL4sT8wZ"}"#.into()),
            ..Default::default()
        };
        let found = shared_identifiers(&[&hop], &cands);
        let locs: Vec<(&str, &str)> = found
            .iter()
            .map(|(i, _)| (i.location.as_str(), i.encoding))
            .collect();
        assert!(locs.contains(&("query:cid", "plain")), "{locs:?}");
        assert!(locs.contains(&("query:b", "base64")), "{locs:?}");
        assert!(locs.contains(&("body:visitor", "plain")), "{locs:?}");
    }

    #[test]
    fn chains_follow_script_initiators() {
        let page = "https://shop.example/";
        let hops = vec![
            Hop {
                url: "https://tm.example/tm.js".into(),
                resource_type: "Script".into(),
                initiator_url: Some(page.into()),
                ..Default::default()
            },
            Hop {
                url: "https://cdn.t.example/ev.js".into(),
                resource_type: "Script".into(),
                initiator_url: Some("https://tm.example/tm.js".into()),
                ..Default::default()
            },
            Hop {
                url: "https://px.t.example/tr?id=1".into(),
                resource_type: "Image".into(),
                initiator_url: Some("https://cdn.t.example/ev.js".into()),
                ..Default::default()
            },
        ];
        assert_eq!(
            initiator_chain(&hops, 2, page),
            vec![
                page,
                "https://tm.example/tm.js",
                "https://cdn.t.example/ev.js"
            ]
        );
    }
}
