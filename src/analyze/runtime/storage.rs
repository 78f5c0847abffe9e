//! The page's cookie jar and localStorage as reports: who set each cookie (a response, or
//! the script the write hook caught), its lifetime and party, the ones Chromium refused,
//! and what appeared only after consent.

use std::collections::HashSet;

use super::{host_of, party_of, RunContext};
use crate::domain::is_within;
use crate::model::{CookieReport, StorageReport};
use crate::source::browser::observe::{JarCookie, PageObservation, Phase};

/// Whether the browser's cookie jar (at the end of the visit, or before consent) holds a
/// cookie of that name for that domain: only then was a Set-Cookie really stored.
pub(super) fn in_jar(obs: &PageObservation, name: &str, domain: &str) -> bool {
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

/// The jar once the page settled, then the cookies Chromium refused to store.
pub(super) fn cookie_reports(
    obs: &PageObservation,
    ctx: &RunContext<'_>,
    now: f64,
) -> Vec<CookieReport> {
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
        let (set_by, setter_host) = set_by(obs, c);
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

/// Who set a jar cookie: the response that set it, else the script the write hook caught
/// writing it; and the setter's host (the cookie's domain when neither is known).
fn set_by(obs: &PageObservation, c: &JarCookie) -> (Option<String>, String) {
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
    match (from_response, from_script) {
        (Some(h), _) => (Some(format!("response of {}", h.url)), host_of(&h.url)),
        (None, Some(src)) => {
            let host = host_of(&src);
            (Some(format!("script {src}")), host)
        }
        (None, None) => (None, c.domain.clone()),
    }
}

/// localStorage keys, with the script that wrote each and whether it appeared after consent.
pub(super) fn storage_reports(obs: &PageObservation) -> Vec<StorageReport> {
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
