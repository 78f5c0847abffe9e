//! Consent as the browser shows it: Google Consent Mode signals (`gcs`, `gcd`) in requests,
//! and what the accept click unlocked (tracking, third parties, cookies, storage that
//! appeared only after it).

use url::Url;

use super::{host_of, keep, party_of};
use crate::model::{
    ConsentPhase, ConsentUnlocked, DocumentReport, Finding, GoogleConsentSignal, Party,
};
use crate::source::browser::observe::{ConsentClick, Hop, JarCookie, PageObservation, Phase};

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

pub(super) fn google_signal(f: &Finding, h: &Hop) -> Option<GoogleConsentSignal> {
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
        phase: h.phase,
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

/// The evidence line for a Google Consent Mode signal: the parameters, each signal's
/// state, and what the request carries despite a denial.
pub(super) fn consent_mode_line(sig: &GoogleConsentSignal) -> String {
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
    format!(
        "Google Consent Mode {param}: {} — {}",
        states.join(", "),
        sig.note
    )
}

pub(super) fn consent_unlocked(
    doc: &DocumentReport,
    obs: &PageObservation,
    click: &ConsentClick,
    first_party: &[String],
) -> ConsentUnlocked {
    let tracking = |phase: Phase| -> Vec<String> {
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
            tracking_requests: tracking(Phase::AfterConsent),
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
            tracking_requests: tracking(Phase::BeforeConsent),
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
}
