//! One runtime finding, enriched with what the browser saw of its requests: when and how
//! it was sent, cookies sent and set, the referrer, `sendBeacon`, identifiers copied from
//! the site's own cookies and storage, Google Consent Mode, and the consent phase.

use super::consent::{consent_mode_line, google_signal};
use super::identifiers::{shared_identifiers, Candidate};
use super::storage::in_jar;
use super::{initiator_chain, same_document};
use crate::analyze::decode;
use crate::model::{Consent, Evidence, EvidenceKind, IdentifierKind, SeenBy};
use crate::model::{CookieSet, Finding, GoogleConsentSignal, Kind, Party, RuntimeRequest};
use crate::source::browser::observe::{Hop, PageObservation, Phase};

/// A runtime finding with the observation's facts; returns the evidence lines added, so a
/// static finding that absorbs it can take them over.
pub(super) fn enrich(
    f: &mut Finding,
    idxs: &[usize],
    obs: &PageObservation,
    cands: &[Candidate],
    platforms: &[String],
    signals: &mut Vec<GoogleConsentSignal>,
) -> Vec<Evidence> {
    let hops: Vec<&Hop> = idxs.iter().map(|&i| &obs.hops[i]).collect();
    let first = idxs
        .iter()
        .copied()
        .find(|&i| obs.hops[i].phase == Phase::BeforeConsent)
        .unwrap_or(idxs[0]);
    let h = &obs.hops[first];
    f.seen_by = Some(SeenBy::Runtime);
    f.line = None;
    f.column = None;
    f.initiators = initiator_chain(&obs.hops, first, &obs.final_url);
    let mut lines = vec![Evidence::note(observed_line(h, hops.len()))];
    // The browser says whether cookies went along; the static guess does not stand.
    f.leaks.cookies = !h.sent_cookies.is_empty();
    if f.leaks.cookies {
        lines.push(Evidence::note(format!(
            "cookies sent: {}",
            h.sent_cookies.join(", ")
        )));
    }
    lines.extend(set_cookie_lines(h, obs).into_iter().map(Evidence::note));
    if f.party == Party::Third {
        f.leaks.referrer = h.referer.is_some();
    }
    let mut retitle = false;
    if h.resource_type == "Ping" && f.party == Party::Third {
        retitle |= make_beacon(f);
        lines.push(Evidence::note(
            "navigator.sendBeacon: a fire-and-forget report to a third party",
        ));
    }
    if f.party == Party::Third {
        retitle |= take_shared_identifiers(f, &hops, cands, &mut lines);
    }
    if let Some(sig) = google_signal(f, h) {
        lines.push(Evidence::note(consent_mode_line(&sig)));
        signals.push(sig);
    }
    f.evidence.retain(|e| e.kind != EvidenceKind::Consent);
    if f.tracking || f.party == Party::Third {
        lines.push(Evidence::consent(consent_phase(f, h.phase, obs, platforms)));
    }
    if retitle {
        retitle_as_beacon(f);
    }
    f.runtime = Some(Box::new(runtime_request(h, hops.len(), obs)));
    f.evidence.extend(lines.iter().cloned());
    lines
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

/// What became of each cookie the response tried to set: stored, answered but not in the
/// jar, or refused (with Chromium's reasons).
fn set_cookie_lines(h: &Hop, obs: &PageObservation) -> Vec<String> {
    h.set_cookies
        .iter()
        .map(|c| {
            if c.blocked.is_empty() && in_jar(obs, &c.name, &c.domain) {
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
            }
        })
        .collect()
}

/// The finding is tracking; a weaker kind (or none) becomes a beacon. Returns whether the
/// kind changed, so the message must say so.
fn make_beacon(f: &mut Finding) -> bool {
    let retitle = !f.tracking || matches!(f.kind, Kind::RemoteImage | Kind::RemoteResource);
    if retitle {
        f.kind = Kind::Beacon;
    }
    f.tracking = true;
    retitle
}

/// First-party identifiers the requests carry replace the analysis' own guesses at the same
/// locations; a request carrying one is a beacon. Returns whether the kind changed.
fn take_shared_identifiers(
    f: &mut Finding,
    hops: &[&Hop],
    cands: &[Candidate],
    lines: &mut Vec<Evidence>,
) -> bool {
    let shared = shared_identifiers(hops, cands);
    if shared.is_empty() {
        return false;
    }
    let locs: Vec<String> = shared.iter().map(|(i, _)| i.location.clone()).collect();
    let dropped: Vec<Evidence> = f
        .leaks
        .identifiers
        .iter()
        .filter(|i| locs.contains(&i.location))
        .map(Evidence::identifier)
        .collect();
    f.evidence.retain(|e| !dropped.contains(e));
    f.leaks.identifiers.retain(|i| !locs.contains(&i.location));
    for (id, why) in shared {
        f.leaks.identifiers.push(id);
        lines.push(Evidence::note(why));
    }
    make_beacon(f)
}

/// Whether the request waited for consent: `ungated` (sent before any interaction,
/// although a consent platform is on the page) or `gated` (only after the accept click).
fn consent_phase(
    f: &mut Finding,
    phase: Phase,
    obs: &PageObservation,
    platforms: &[String],
) -> String {
    match phase {
        Phase::BeforeConsent => {
            f.consent = Some(Consent::Ungated);
            let cmp = if platforms.is_empty() {
                String::new()
            } else {
                format!(", although {} is on the page", platforms.join(", "))
            };
            format!("consent: ungated — the browser sent it before any interaction{cmp}")
        }
        Phase::AfterConsent => {
            f.consent = Some(Consent::Gated);
            let how = obs
                .consent
                .as_ref()
                .and_then(|c| c.clicked.clone())
                .unwrap_or_default();
            format!("consent: gated — sent only after accepting consent (clicked {how})")
        }
    }
}

/// The message of a finding the browser showed to be a beacon.
fn retitle_as_beacon(f: &mut Finding) {
    let who = f.entity.clone().unwrap_or_else(|| f.host.clone());
    let what = if f
        .leaks
        .identifiers
        .iter()
        .any(|i| i.kind == IdentifierKind::SharedIdentifier)
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

/// The request as JSON reports it (`runtime`): the first one sent before consent, and how
/// many times it was sent.
fn runtime_request(h: &Hop, count: usize, obs: &PageObservation) -> RuntimeRequest {
    RuntimeRequest {
        url: h.url.clone(),
        resource_type: h.resource_type.to_ascii_lowercase(),
        method: h.method.clone(),
        status: h.status,
        initiator_type: h.initiator_type.clone(),
        phase: h.phase,
        time_ms: h.t_ms,
        count: count as u32,
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
    }
}
