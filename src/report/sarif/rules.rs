//! Rules: the `<kind>/<entity-slug>` id, what each kind is and how to fix it (the help
//! text), the security severity, and a rule's descriptor with its name and tags.

use serde_json::{json, Value};

use super::RuleInfo;
use crate::model::{Finding, Kind};
use crate::report::common::{leaks_identity, standing, Standing, OPEN_SIGNAL_NOTE};
use crate::report::sanitize;

/// Lower-case kebab-case slug of an entity name (`Google/Doubleclick Ads` →
/// `google-doubleclick-ads`), `unknown` when there is none.
pub fn slug(name: Option<&str>) -> String {
    let mut out = String::new();
    for c in name.unwrap_or("").chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c.is_alphanumeric() {
            // Non-ASCII letters: keep ids ASCII and stable.
            out.push_str(&format!("u{:x}", c as u32));
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "unknown".to_string()
    } else {
        out
    }
}

/// The SARIF rule id for a finding: `<kind>/<entity-slug>`.
pub fn rule_id(f: &Finding) -> String {
    format!("{}/{}", f.kind.as_str(), slug(f.entity.as_deref()))
}

/// What a kind of finding is, what it leaks, and how to fix it (rule help text).
pub fn kind_help(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::OpenPixel => (
            "Open-tracking pixel",
            "A tiny or hidden remote image whose only purpose is to report that the message was displayed. Loading it sends an open signal (an image request): it shows the message was displayed or fetched, never proof that a person read it.",
            "Send mail without open tracking (turn it off in the sending platform), or approve the platform in the pixscan policy if open signals are intended and disclosed.",
        ),
        Kind::TrackedImage => (
            "Tracked image",
            "A visible remote image fetched with a per-recipient identifier, so the image request doubles as an open signal.",
            "Serve images without per-recipient identifiers (or embed them), or approve the sender in the pixscan policy.",
        ),
        Kind::TrackedLink => (
            "Tracked link",
            "A link that goes through a click-tracking redirect: a click is recorded, often with a per-recipient identifier, before the reader reaches the destination.",
            "Link to the destination directly (turn off click tracking), or approve the platform in the pixscan policy.",
        ),
        Kind::Beacon => (
            "Tracking beacon",
            "A request (image, iframe or script endpoint) that reports a visit or event to an analytics or advertising service.",
            "Remove the beacon, load it only after consent, or approve it in the pixscan policy.",
        ),
        Kind::AdConversion => (
            "Ad conversion tag",
            "A conversion or remarketing tag that reports the visit to an advertising network, usually with its cookies.",
            "Remove the tag or gate it behind consent; approve it in the pixscan policy if it is intended.",
        ),
        Kind::TrackerScript => (
            "Tracker script",
            "A third-party script that runs with the page's rights and reports visits and behaviour.",
            "Remove the script, self-host a privacy-preserving alternative, or load it only after consent; approve it in the pixscan policy if it is intended.",
        ),
        Kind::RemoteImage => (
            "Remote image",
            "An image loaded from a remote server when the document is displayed; not judged tracking by itself.",
            "Embed or self-host the image if the request should not reach that server.",
        ),
        Kind::RemoteResource => (
            "Remote resource",
            "A stylesheet, font, frame or other resource fetched from a remote server when the document is displayed; not judged tracking by itself.",
            "Self-host the resource if the request should not reach that server.",
        ),
        Kind::ReadReceipt => (
            "Read-receipt request",
            "A header asking the mail client to send a disposition notification when the message is displayed; the client may ask the reader first.",
            "Do not request read receipts, or approve the sender in the pixscan policy.",
        ),
        Kind::MetaRefresh => (
            "Meta refresh",
            "A meta refresh that makes the client fetch another URL automatically when the document is displayed.",
            "Remove the meta refresh.",
        ),
        Kind::DnsPrefetch => (
            "DNS prefetch / preconnect",
            "A resource hint that makes the client resolve or connect to a host ahead of time, revealing the reader's resolver or IP address to it.",
            "Remove the resource hint for third-party hosts.",
        ),
    }
}

/// 7.5 when the request carries the recipient's identity, 5.0 for other tracking, 2.0 for
/// informational requests.
pub fn security_severity(f: &Finding) -> f64 {
    if leaks_identity(f) {
        7.5
    } else if f.tracking || standing(f) == Standing::Violation {
        5.0
    } else {
        2.0
    }
}

/// A rule's descriptor: names, descriptions and help in the kind's words, default level
/// and tags by its severity and category.
pub(super) fn rule_descriptor(id: &str, r: &RuleInfo) -> Value {
    let (what, leaks, fix) = kind_help(r.kind);
    let entity = r.entity.as_deref().map(sanitize);
    let who = entity.clone().unwrap_or_else(|| "an unknown entity".into());
    let mut about = who.clone();
    if let Some(c) = r
        .company
        .as_deref()
        .filter(|c| Some(*c) != r.entity.as_deref())
    {
        about.push_str(&format!(" (company: {})", sanitize(c)));
    }
    if let Some(c) = &r.category {
        about.push_str(&format!(", category {}", sanitize(c)));
    }
    let mut tags = vec![
        "privacy".to_string(),
        "security".to_string(),
        r.kind.as_str().to_string(),
    ];
    if let Some(c) = &r.category {
        tags.push(sanitize(c));
    }
    let tracking_kind = !matches!(
        r.kind,
        Kind::RemoteImage | Kind::RemoteResource | Kind::DnsPrefetch
    );
    if tracking_kind {
        tags.push("tracking".into());
    }
    json!({
        "id": id,
        "name": rule_name(r.kind, entity.as_deref()),
        "shortDescription": { "text": format!("{what}: {who}") },
        "fullDescription": { "text": format!("{what} attributed to {about}. {leaks}") },
        "help": { "text": format!(
            "{what} ({who}).\n\nWhat it is: {leaks}\n\nWhat it leaks: any fetch reveals the reader's IP address, user-agent and the time; a URL can also carry the recipient's identity (address, its hash, or a per-recipient token), and web requests may carry cookies and the page as referrer. Each result lists what its request leaks.\n\nHow to fix: {fix} Approve an intended, disclosed use in the pixscan policy by this rule id ({id}) or the entity.\n\n{OPEN_SIGNAL_NOTE}"
        ) },
        "defaultConfiguration": { "level": if r.severity >= 5.0 { "error" } else { "note" } },
        "properties": {
            "tags": tags,
            "security-severity": format!("{:.1}", r.severity),
        },
    })
}

/// `OpenPixelSendgrid`-style rule name (SARIF `name`, PascalCase).
fn rule_name(kind: Kind, entity: Option<&str>) -> String {
    let mut s = String::new();
    for part in kind.as_str().split('-').chain(slug(entity).split('-')) {
        let mut cs = part.chars();
        if let Some(c) = cs.next() {
            s.extend(c.to_uppercase());
            s.push_str(cs.as_str());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_kebab_case() {
        assert_eq!(
            slug(Some("Google/Doubleclick Ads")),
            "google-doubleclick-ads"
        );
        assert_eq!(slug(Some("Customer.io")), "customer-io");
        assert_eq!(slug(None), "unknown");
        assert_eq!(slug(Some("  ")), "unknown");
    }
}
