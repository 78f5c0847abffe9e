//! Browser mode's additions: requests Chromium sent, cookies, storage, consent phases.

use serde::{Deserialize, Serialize};

use super::*;

/// Browser mode: one observed request (the first, when the same URL fired several times).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct RuntimeRequest {
    /// The URL as sent (differs from the finding's when matched by rule and account).
    pub url: String,
    /// DevTools resource type, lowercase: `image`, `ping` (sendBeacon), `fetch`, `xhr`,
    /// `script`, `document` (an iframe), `websocket`, `stylesheet`…
    #[serde(rename = "type")]
    pub resource_type: String,
    pub method: String,
    pub status: Option<u16>,
    /// `parser`, `script`, `preload`, `other`…
    pub initiator_type: String,
    /// `before-consent` (no interaction yet) or `after-consent` (after clicking accept).
    pub phase: Phase,
    /// Milliseconds after navigation started.
    pub time_ms: u64,
    /// How many times this URL was requested.
    pub count: u32,
    /// The request body, shortened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_data: Option<String>,
    /// Cookies the request carried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookies_sent: Vec<String>,
    /// Cookies the response set (or tried to).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookies_set: Vec<CookieSet>,
    /// The Referer header sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_from: Option<String>,
    /// Network error (`net::ERR_…`), if the request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The iframe document the request came from, when not the page itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<String>,
}

/// A `Set-Cookie` in a response, and whether Chromium stored it.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct CookieSet {
    pub name: String,
    pub domain: String,
    pub stored: bool,
    /// Chromium's reasons for refusing it (`SameSiteUnspecifiedTreatedAsLax`,
    /// `SecureOnly`, `UserPreferences`, `ThirdPartyPhaseout`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<String>,
}

/// Browser mode: how the page's browser run went.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct BrowserRun {
    /// `Chrome/156.0.…`.
    pub browser: String,
    pub final_url: String,
    /// Milliseconds to the load event.
    pub load_ms: Option<u64>,
    /// Requests made (the page document itself not counted).
    pub requests: u32,
    pub third_party_requests: u32,
    /// Tracking requests sent before any interaction: they fire without consent.
    pub tracking_before_consent: u32,
    /// `allowed` (stock desktop Chrome) or `blocked` (`--block-third-party-cookies`).
    pub third_party_cookies: ThirdPartyCookies,
    /// A wait hit `--max-wait` before the network went idle.
    pub timed_out: bool,
    /// Why the browser could not load the page; the static findings still stand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Browser mode: one cookie, in the jar after the page settled or refused by Chromium.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct CookieReport {
    pub name: String,
    pub domain: String,
    /// First party when the cookie's registrable domain is the site's.
    pub party: Option<Party>,
    /// The entity owning the domain that set it (or the cookie's domain).
    pub entity: Option<String>,
    /// Expiry, seconds since the epoch; `null` for a session cookie.
    pub expires: Option<i64>,
    /// Lifetime from now, in days (rounded); `null` for a session cookie.
    pub days: Option<f64>,
    /// Bytes (name + value).
    pub size: u64,
    pub http_only: bool,
    pub secure: bool,
    pub same_site: Option<String>,
    /// What set it: a response (`response of URL`), or a script (`script URL`) through
    /// `document.cookie`.
    pub set_by: Option<String>,
    /// Set only after accepting consent.
    pub after_consent: bool,
    /// Non-empty: Chromium refused the cookie, for these reasons; it is not in the jar.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<String>,
}

/// Browser mode: one localStorage entry of the page's origin.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct StorageReport {
    pub key: String,
    /// Value length in characters.
    pub size: u64,
    pub set_by: Option<String>,
    pub after_consent: bool,
}

/// Browser mode with `--accept-consent`: what fired before any interaction, and what
/// appeared only after clicking the consent banner's accept button.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct ConsentUnlocked {
    /// The selector clicked (`#onetrust-accept-btn-handler`, or `text "accept all"`);
    /// `null` when no accept button was found.
    pub clicked: Option<String>,
    pub platform: Option<String>,
    pub button_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub before: ConsentPhase,
    /// Only what is new after accepting.
    pub after: ConsentPhase,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct ConsentPhase {
    /// Tracking request URLs.
    pub tracking_requests: Vec<String>,
    /// Third-party hosts contacted.
    pub third_parties: Vec<String>,
    /// Cookies, as `name (domain)`.
    pub cookies: Vec<String>,
    /// localStorage keys.
    pub storage: Vec<String>,
}

/// Browser mode: a Google request's declared consent (Consent Mode `gcs` / `gcd`) next to
/// what it actually sent.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct GoogleConsentSignal {
    pub url: String,
    pub phase: Phase,
    pub gcs: Option<String>,
    pub gcd: Option<String>,
    /// `granted`, `denied`, `not set`, or from `gcd` e.g. `denied (default)`.
    pub ad_storage: Option<String>,
    pub analytics_storage: Option<String>,
    pub ad_user_data: Option<String>,
    pub ad_personalization: Option<String>,
    /// What the request carried anyway: identifiers and cookies.
    pub sent: Vec<String>,
    pub note: String,
}
