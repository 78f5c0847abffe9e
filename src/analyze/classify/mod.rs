//! What kind of request a reference makes (open pixel, tracked image, tracked link, beacon,
//! ad conversion, tracker script, remote image or resource, meta refresh, DNS prefetch) and
//! whether it tracks. The role decides first: a link tracks only when something marks it, a
//! hint never does, a script when a rule, a filter list or a tracking company runs it. A load
//! is what its endpoint rule says; one a filter list names tracks, and what it loads says
//! what it is (a visible picture a tracked image, a sizeless, tiny or hidden one a pixel,
//! anything else a beacon); without either, the heuristics of its mode decide: mail's in
//! `analyze::mail` (open signals, spacers, CSS triggers), a page's in `image` (hiding is
//! normal on a page, a visitor id or a pixel's size is not).
//!
//! "Open" is a mail notion: on a page a tracking image is a beacon, and a pixel that reports
//! a purchase (its event says so) is an ad conversion.

mod image;

pub(super) use image::{picture_name, spacer_name};

use url::Url;

use super::{mail, unwrap, Mode};
use crate::model::{Evidence, Identifier, IdentifierKind, Kind, Party, RawRef, RefRole};
use crate::rules::{Endpoint, EndpointKind};

/// What classification needs to know about one request.
pub(super) struct Facts<'a> {
    pub r: &'a RawRef,
    pub url: &'a Url,
    pub mode: Mode,
    pub party: Party,
    /// How many times the document makes this request.
    pub count: u32,
    /// Shown as a picture (the fetch-vector table says so): where a pixel can hide.
    pub image: bool,
    /// The endpoint rule that named the request.
    pub endpoint: Option<&'a Endpoint>,
    /// A filter list would block the request (and no endpoint rule names it).
    pub listed: bool,
    /// What the company behind it does (see `Attribution::category`).
    pub category: Option<&'a str>,
    /// The company exists to observe people (ads, analytics, email marketing…).
    pub trackerish: bool,
    pub ids: &'a [Identifier],
    pub has_recipient: bool,
    pub has_token: bool,
    /// A token tied to one reader: the recipient's address, or a token verified as theirs.
    pub personal: bool,
    /// Mail: the URL has the shape of an open-tracking endpoint.
    pub tracking_path: bool,
    /// Hiding evidence: a tiny size, its own style, or an ancestor's.
    pub hidden: bool,
    /// Hidden by its own size or style, not only by a wrapper.
    pub own_hiding: bool,
    /// Mail: the headers name a bulk-sending platform.
    pub sent_by_platform: bool,
}

/// What a request is, whether it tracks, and where a tracked link leads.
pub(super) struct Verdict {
    pub kind: Kind,
    pub tracking: bool,
    pub target: Option<String>,
}

/// Classifies one request, adding the reasons to `evidence`; `None` for a link nothing
/// marks (an untracked link, counted but not reported).
pub(super) fn classify(f: &Facts<'_>, evidence: &mut Vec<Evidence>) -> Option<Verdict> {
    let mut target = None;
    let (kind, tracking) = match f.r.role {
        RefRole::Link => {
            let (kind, tracking, to) = link(f, evidence)?;
            target = to;
            (kind, tracking)
        }
        // A hint resolves a host; no request carries anything: reported, never tracking.
        RefRole::Hint => (Kind::DnsPrefetch, false),
        RefRole::Script => script(f),
        RefRole::Load => load(f, evidence),
    };
    let kind = match f.mode {
        Mode::Site => on_a_page(kind, f.url),
        Mode::Mail => kind,
    };
    Some(Verdict {
        kind,
        tracking,
        target,
    })
}

/// A link tracks when a rule names it, it carries the recipient, or a tracking company's
/// link carries a token; in mail also when an opaque per-click token sits in a link that
/// redirects or that a bulk platform sent.
fn link(f: &Facts<'_>, evidence: &mut Vec<Evidence>) -> Option<(Kind, bool, Option<String>)> {
    let mut target = f
        .endpoint
        .and_then(|e| e.target_param.as_ref())
        .and_then(|p| {
            f.url
                .query_pairs()
                .find(|(k, _)| k == p.as_str())
                .map(|(_, v)| v.into_owned())
        });
    if target.is_none() {
        target = unwrap::embedded_urls(f.url)
            .into_iter()
            .next()
            .map(|(_, u)| u.to_string());
    }
    let opaque_token = f.ids.iter().any(|i| {
        matches!(
            i.kind,
            IdentifierKind::RecipientToken | IdentifierKind::Unverified
        )
    });
    if f.endpoint.is_some() || f.has_recipient || (f.trackerish && opaque_token) {
        Some((Kind::TrackedLink, true, target))
    } else if opaque_token && f.mode == Mode::Mail && (target.is_some() || f.sent_by_platform) {
        evidence.push("opaque per-click token in the URL".into());
        Some((Kind::TrackedLink, true, target))
    } else {
        None
    }
}

/// A script tracks when a rule or a filter list names it, or a tracking company serves it.
fn script(f: &Facts<'_>) -> (Kind, bool) {
    if f.endpoint.is_some() || f.listed || f.trackerish {
        (Kind::TrackerScript, true)
    } else {
        (Kind::RemoteResource, false)
    }
}

/// A load (an image, a frame, a stylesheet…): what its rule says, else its mode's
/// heuristics.
fn load(f: &Facts<'_>, evidence: &mut Vec<Evidence>) -> (Kind, bool) {
    if let Some(e) = f.endpoint {
        return by_rule(e.kind, f.image);
    }
    if f.listed {
        return (listed(f), true);
    }
    if f.r.element == "meta" {
        return (Kind::MetaRefresh, f.has_token || f.trackerish);
    }
    match f.mode {
        Mode::Mail => mail::load(f, evidence),
        Mode::Site if !f.image => other_load(f),
        Mode::Site if f.hidden && !f.own_hiding => wrapper_hidden(f, evidence),
        Mode::Site => image::on_a_page(f, evidence),
    }
}

fn by_rule(kind: EndpointKind, image: bool) -> (Kind, bool) {
    match kind {
        EndpointKind::OpenPixel => (Kind::OpenPixel, true),
        EndpointKind::Beacon => (Kind::Beacon, true),
        EndpointKind::AdConversion => (Kind::AdConversion, true),
        EndpointKind::TrackerScript => (Kind::TrackerScript, true),
        EndpointKind::ClickRedirect => (
            if image {
                Kind::TrackedImage
            } else {
                Kind::RemoteResource
            },
            true,
        ),
    }
}

/// A load a filter list names and no rule does: the list says it tracks, what it loads says
/// what it is. A picture drawn at a size people see is a tracked image; a sizeless, tiny or
/// hidden one a pixel (a beacon on a page); a frame, a stylesheet, media or a ping a beacon.
fn listed(f: &Facts<'_>) -> Kind {
    if !f.image {
        Kind::Beacon
    } else if mail::visible_size(f.r) && !f.hidden {
        Kind::TrackedImage
    } else {
        Kind::OpenPixel
    }
}

/// A load that is not a picture (a frame, a stylesheet, media): tracking when it carries
/// the recipient or an ad or analytics company serves it.
pub(super) fn other_load(f: &Facts<'_>) -> (Kind, bool) {
    (
        Kind::RemoteResource,
        f.has_recipient || matches!(f.category, Some("ad" | "analytics")),
    )
}

/// An image hidden only by a wrapper: responsive templates hide whole copies, so that
/// alone is no evidence.
pub(super) fn wrapper_hidden(f: &Facts<'_>, evidence: &mut Vec<Evidence>) -> (Kind, bool) {
    evidence.push("hidden by a wrapper only (responsive templates hide whole copies): not evidence of tracking alone".into());
    (Kind::RemoteImage, ad_request(f))
}

/// An image from an ad or analytics company. On a page it reports the visit; in mail such
/// companies' domains also serve plain content (logos, photos), so it counts only when the
/// URL carries something per reader or per send.
pub(super) fn ad_request(f: &Facts<'_>) -> bool {
    matches!(f.category, Some("ad" | "analytics"))
        && (f.mode == Mode::Site || f.personal || mail::query_varies(f.url))
}

/// Evidence strings that describe context, not invisibility.
pub(super) fn is_hiding(e: &str) -> bool {
    e != "inside <noscript>" && e != "in Outlook conditional comment"
}

/// On a page, "open" means nothing: a tracking image is a beacon; a beacon whose event is a
/// purchase or a sign-up is an ad conversion (the same pixel endpoint reports both).
fn on_a_page(kind: Kind, url: &Url) -> Kind {
    let kind = if kind == Kind::OpenPixel {
        Kind::Beacon
    } else {
        kind
    };
    if kind == Kind::Beacon && conversion_event(url) {
        Kind::AdConversion
    } else {
        kind
    }
}

/// Whether a pixel URL reports a conversion (purchase, lead, sign-up) rather than a visit.
fn conversion_event(url: &Url) -> bool {
    url.query_pairs().any(|(k, v)| {
        matches!(
            k.as_ref(),
            "ev" | "event" | "en" | "ea" | "evt" | "event_name" | "action"
        ) && matches!(
            v.to_ascii_lowercase().replace(['_', ' ', '-'], "").as_str(),
            "purchase"
                | "addtocart"
                | "lead"
                | "completeregistration"
                | "initiatecheckout"
                | "checkout"
                | "subscribe"
                | "signup"
                | "conversion"
                | "addpaymentinfo"
                | "startTrial"
                | "starttrial"
                | "submitapplication"
                | "contact"
                | "schedule"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert!(conversion_event(
            &Url::parse("https://www.facebook.com/tr?id=1&ev=Purchase&noscript=1").unwrap()
        ));
        assert!(!conversion_event(
            &Url::parse("https://www.facebook.com/tr?id=1&ev=PageView&noscript=1").unwrap()
        ));
    }
}
