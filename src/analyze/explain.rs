//! What a finding says: what the request leaks (IP, user-agent, cookies, referrer,
//! identifiers), its one-line message, and the evidence lines that back the verdict (the
//! rule or tier that named it, how often it recurs, what it was unwrapped from, each
//! identifier and where it sits). Messages are worded per mode: a mail client sends no
//! cookies or referrer with images and a displayed image is an open signal, not a read; a
//! browser sends cookies and, per the page's policy, a referrer.

use super::attribute::Attribution;
use super::site;
use super::{Context, Mode};
use crate::model::{
    Evidence, EvidenceKind, Identifier, IdentifierKind, Kind, Leaks, Party, RawRef, RefRole,
    ReferrerSends, Tier,
};
use crate::rules::Ruleset;

/// The lines naming what attributed the request: its endpoint rule (with the tier, the
/// parameter a URL was embedded in, the rule's note), or the filter list that names it and
/// the entity tier that named its company.
pub(super) fn attribution_lines(
    attr: &Attribution<'_>,
    rules: &Ruleset,
    host: &str,
    evidence: &mut Vec<Evidence>,
) {
    // The headers name the sending platform (`platforms`), never a request: headers are
    // forged freely, and a platform's own requests are named by its endpoint rules.
    if let Some(m) = attr.endpoint {
        let tier = if attr.tier == Some(Tier::HostRule) {
            "host"
        } else {
            "path-shape"
        };
        let (via, via_param) = match attr.via_param.as_deref() {
            Some(p) => (" (URL embedded in ", p),
            None => ("", ""),
        };
        let (dash, note) = match m.endpoint.note.as_deref() {
            Some(n) => (" — ", n),
            None => ("", ""),
        };
        evidence.push(Evidence::note(concat(&[
            "rule ",
            &m.endpoint.id,
            " (",
            tier,
            ")",
            via,
            via_param,
            if via.is_empty() { "" } else { ")" },
            dash,
            note,
        ])));
        return;
    }
    if let Some(list) = &attr.listed {
        evidence.push(Evidence::note(list.as_str()));
    }
    if let (Some(e), Some(t @ (Tier::EntityDomain | Tier::Cname))) = (attr.entity, attr.tier) {
        evidence.push(Evidence::note(format!(
            "{}: {host} → {}",
            t.as_str(),
            rules.entity(e).name
        )));
    }
}

/// How often the document makes the request, what it was unwrapped from, and each
/// identifier with where it sits and how it is encoded.
pub(super) fn request_lines(
    count: u32,
    wrapped: Option<&str>,
    ids: &[Identifier],
    evidence: &mut Vec<Evidence>,
) {
    if count > 1 && !evidence.iter().any(|e| e.kind == EvidenceKind::Repeats) {
        evidence.push(Evidence::repeats(format!("same URL used {count} times")));
    }
    if let Some(w) = wrapped {
        evidence.push(Evidence::note(format!("unwrapped from {w}")));
    }
    for id in ids {
        let line = Evidence::identifier(id);
        if !evidence.contains(&line) {
            evidence.push(line);
        }
    }
}

/// A tag's account id in its URL names the site owner's account, not the visitor: it is no
/// identifier, and the lines say so.
pub(super) fn account_named(
    account: &str,
    ids: &mut Vec<Identifier>,
    evidence: &mut Vec<Evidence>,
) {
    ids.retain(|i| i.value != account);
    evidence.retain(|e| e.kind != EvidenceKind::Identifier(IdentifierKind::RecipientToken));
    for id in ids.iter() {
        evidence.push(Evidence::identifier(id));
    }
}

/// A destination URL inside decoded token text: a query-string or JSON field named like a
/// redirect target whose value is an http(s) URL.
pub(super) fn target_in(text: &str) -> Option<String> {
    const KEYS: &[&str] = &[
        "l",
        "url",
        "u",
        "href",
        "redirect",
        "redirect_url",
        "target",
        "dest",
        "destination",
        "link",
    ];
    let is_url = |v: &str| v.starts_with("https://") || v.starts_with("http://");
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        return KEYS.iter().find_map(|k| {
            map.get(*k)
                .and_then(|v| v.as_str())
                .filter(|v| is_url(v))
                .map(str::to_string)
        });
    }
    url::form_urlencoded::parse(text.as_bytes())
        .find(|(k, v)| KEYS.contains(&k.as_ref()) && is_url(v))
        .map(|(_, v)| v.into_owned())
}

/// What the request sends along: a fetch reveals IP and user-agent (a hint fetches nothing);
/// in mail, images carry no cookies or referrer while a click opens the browser with its
/// cookie jar; on a page, cookies go along and the referrer per the page's policy, or the
/// element's own `referrerpolicy`.
pub(super) fn leaks(
    r: &RawRef,
    party: Party,
    ctx: &Context<'_>,
    identifiers: Vec<Identifier>,
) -> Leaks {
    let role = r.role;
    let fetched = role != RefRole::Hint;
    let (cookies, mut referrer) = match (ctx.mode, role) {
        // A click opens the browser, with its cookie jar; mail clients send no referrer.
        (Mode::Mail, RefRole::Link) => (true, false),
        (Mode::Mail, _) => (false, false),
        (Mode::Site, RefRole::Hint) => (false, false),
        (Mode::Site, _) => (true, ctx.referrer_sent && party == Party::Third),
    };
    if ctx.mode == Mode::Site {
        // An element's own referrerpolicy overrides the page's.
        if let Some((_, p)) = r.extra.iter().find(|(k, _)| k == "referrerpolicy") {
            referrer = party == Party::Third && site::referrer_sends(p) != ReferrerSends::Nothing;
        }
    }
    Leaks {
        ip: fetched,
        user_agent: fetched,
        cookies,
        referrer,
        identifiers,
    }
}

/// Concatenation in one allocation of the exact size: `format!` grows its buffer as it
/// goes, and findings are built by the thousand.
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

fn site_message(kind: Kind, tracking: bool, who: &str, host: &str, leaks: &Leaks) -> String {
    let ids = if leaks.identifiers.is_empty() {
        ""
    } else {
        ", with an identifier in the URL"
    };
    match kind {
        Kind::Beacon if tracking => format!("Tracking beacon ({who}): loading the page sends a request to {host} revealing the visitor's IP address, user-agent, cookies and the page{ids}."),
        Kind::AdConversion => format!("Ad conversion tag ({who}): loading the page reports the visit to {host}{ids}."),
        Kind::TrackerScript => format!("Tracker script ({who}) loaded from {host}: it runs with the page's rights and reports visits."),
        Kind::TrackedImage => format!("Tracked image ({who}) from {host}{ids}."),
        Kind::RemoteImage if tracking => format!("Image request to {who} ({host}), a tracking company{ids}."),
        Kind::RemoteImage => format!("Remote image from {host}."),
        Kind::DnsPrefetch => format!("DNS prefetch of {host}."),
        _ => format!("Request to {who} ({host}){ids}."),
    }
}

/// The finding's one-line message, worded for its mode.
pub(super) fn message(
    kind: Kind,
    tracking: bool,
    who: &str,
    host: &str,
    target: Option<&str>,
    leaks: &Leaks,
    mode: Mode,
) -> String {
    if mode == Mode::Site {
        return site_message(kind, tracking, who, host, leaks);
    }
    let carries = if leaks
        .identifiers
        .iter()
        .any(|i| i.kind == IdentifierKind::RecipientEmail)
    {
        ", with the recipient's email address in the URL"
    } else if leaks
        .identifiers
        .iter()
        .any(|i| i.kind == IdentifierKind::RecipientEmailHash)
    {
        ", with a hash of the recipient's email address in the URL"
    } else if !leaks.identifiers.is_empty() {
        ", with an identifier in the URL"
    } else {
        ""
    };
    match kind {
        // The most common findings, built without `format!`.
        Kind::OpenPixel => concat(&[
            "Open-tracking pixel (",
            who,
            "): displaying it sends an open signal (an image request to ",
            host,
            ") revealing IP address, user-agent and time",
            carries,
            ". An open signal is not proof the message was read.",
        ]),
        Kind::TrackedImage => {
            format!("Tracked image ({who}): loading it sends an image request to {host}{carries}.")
        }
        Kind::TrackedLink => match target {
            Some(t) => concat(&[
                "Tracked link (",
                who,
                "): a click goes through ",
                host,
                " before reaching ",
                t,
                carries,
                ".",
            ]),
            None => concat(&[
                "Tracked link (",
                who,
                "): a click is recorded by ",
                host,
                carries,
                ".",
            ]),
        },
        Kind::Beacon => format!("Analytics beacon ({who}): a request to {host}{carries}."),
        Kind::AdConversion => format!("Ad conversion tag ({who}): a request to {host}{carries}."),
        Kind::TrackerScript => format!("Tracker script ({who}) loaded from {host}."),
        Kind::RemoteImage if tracking => {
            format!("Image request to {who} ({host}), a tracking company{carries}.")
        }
        Kind::RemoteImage => format!(
            "Remote image from {host}: loading it reveals IP address and user-agent to {host}."
        ),
        Kind::RemoteResource => format!("Remote resource from {host}{carries}."),
        Kind::ReadReceipt => format!("Read-receipt request to {who}."),
        Kind::MetaRefresh => format!("Meta refresh to {host}{carries}."),
        Kind::DnsPrefetch => {
            format!("DNS prefetch of {host}: the host is resolved before anything is shown.")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn targets_inside_tokens() {
        assert_eq!(
            super::target_in("h=1&l=https://shop.example/orders/1&r=jane@example.org").as_deref(),
            Some("https://shop.example/orders/1")
        );
        assert_eq!(
            super::target_in(r#"{"href":"https://shop.example/p","email":"x@y.z"}"#).as_deref(),
            Some("https://shop.example/p")
        );
        assert_eq!(super::target_in("l=open&r=jane@example.org"), None);
    }
}
