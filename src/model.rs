//! The data that flows between stages: raw references out of a document, findings out of
//! analysis, and per-document reports. Serialised field names are the JSON contract
//! (`schema: pixscan/1`); add fields freely, never rename.

use serde::{Deserialize, Serialize};

/// A reference to a remote resource as it appears in a document, before any analysis.
#[derive(Debug, Clone)]
pub struct RawRef {
    /// The attribute or CSS text, trimmed, not yet resolved.
    pub url: String,
    /// The element (`img`, `link`, `v:fill`, `style`…) that holds the reference.
    pub element: String,
    /// Where in the element: `src`, `srcset`, `background`, `style:background-image`…
    pub attribute: String,
    pub role: RefRole,
    /// Why this element would be invisible to a reader, if it would be (size or hiding).
    pub hidden: Vec<String>,
    /// Declared size (attributes or inline CSS), in CSS pixels.
    pub width: Option<f64>,
    pub height: Option<f64>,
    /// 1-based line in the HTML part.
    pub line: u64,
    /// 1-based column, where the extractor knows it.
    pub column: Option<u64>,
    /// Attributes that matter for consent gating and referrer handling in site mode.
    pub extra: Vec<(String, String)>,
}

/// What loading the reference does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefRole {
    /// Fetched automatically when the document is displayed (images, CSS, fonts, frames…).
    Load,
    /// Fetched only when the reader clicks (`a href`, `area href`).
    Link,
    /// Resolved ahead of time: DNS prefetch / preconnect leak the host, not a request.
    Hint,
    /// A script: loaded and executed (site mode).
    Script,
}

/// The scan a report comes from: `pixscan eml` (mail) or `pixscan site` (web pages). It
/// names the run in every output (`"command": "eml"`), and decides what a document is
/// (a mail input or a page) wherever reports, fingerprints and the gate differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Eml,
    Site,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Eml => "eml",
            Command::Site => "site",
        }
    }

    /// The command a report names, if it is one of ours.
    pub fn parse(s: &str) -> Option<Command> {
        match s {
            "eml" => Some(Command::Eml),
            "site" => Some(Command::Site),
            _ => None,
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    OpenPixel,
    TrackedImage,
    TrackedLink,
    Beacon,
    AdConversion,
    TrackerScript,
    RemoteImage,
    RemoteResource,
    ReadReceipt,
    MetaRefresh,
    DnsPrefetch,
}

impl Kind {
    /// Every kind, in the order policy errors list them.
    pub const ALL: [Kind; 11] = [
        Kind::OpenPixel,
        Kind::TrackedImage,
        Kind::TrackedLink,
        Kind::Beacon,
        Kind::AdConversion,
        Kind::TrackerScript,
        Kind::RemoteImage,
        Kind::RemoteResource,
        Kind::ReadReceipt,
        Kind::MetaRefresh,
        Kind::DnsPrefetch,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::OpenPixel => "open-pixel",
            Kind::TrackedImage => "tracked-image",
            Kind::TrackedLink => "tracked-link",
            Kind::Beacon => "beacon",
            Kind::AdConversion => "ad-conversion",
            Kind::TrackerScript => "tracker-script",
            Kind::RemoteImage => "remote-image",
            Kind::RemoteResource => "remote-resource",
            Kind::ReadReceipt => "read-receipt",
            Kind::MetaRefresh => "meta-refresh",
            Kind::DnsPrefetch => "dns-prefetch",
        }
    }
}

/// Site mode: whether a consent platform holds a tag back until the visitor agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    Gated,
    Ungated,
    Unknown,
}

impl Consent {
    /// Every state, in the order error messages list them.
    pub const ALL: [Consent; 3] = [Consent::Gated, Consent::Ungated, Consent::Unknown];

    pub const fn as_str(self) -> &'static str {
        match self {
            Consent::Gated => "gated",
            Consent::Ungated => "ungated",
            Consent::Unknown => "unknown",
        }
    }
}

/// Browser mode: which analysis saw a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeenBy {
    /// Found in the HTML only.
    Static,
    /// Seen only in the browser.
    Runtime,
    Both,
}

impl SeenBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SeenBy::Static => "static",
            SeenBy::Runtime => "runtime",
            SeenBy::Both => "both",
        }
    }
}

/// When, relative to the visitor's actions, a request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Loading and idling, plus scrolling: no interaction with the consent banner.
    #[default]
    BeforeConsent,
    /// After the accept button was clicked.
    AfterConsent,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::BeforeConsent => "before-consent",
            Phase::AfterConsent => "after-consent",
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Consent, SeenBy, Phase);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    First,
    Third,
}

/// Which attribution tier named the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    HostRule,
    PathShape,
    EntityDomain,
    Cname,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::HostRule => "host rule",
            Tier::PathShape => "path-shape rule",
            Tier::EntityDomain => "entity domain",
            Tier::Cname => "CNAME alias list",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    /// `query:<param>`, `path`, `path:<n>`, `fragment`, or `query:<param>/<decoded field>`.
    #[serde(rename = "where")]
    pub location: String,
    /// `recipient-email`, `recipient-email-hash`, `email`, `recipient-token`.
    #[serde(deserialize_with = "static_str")]
    pub kind: Word,
    /// `plain`, `url`, `base64`, `zlib-base64`, `md5`, `sha1`, `sha256`, `opaque`…
    #[serde(deserialize_with = "static_str")]
    pub encoding: Word,
    /// The matched value (the address, the hash, or the token), truncated.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Leaks {
    pub ip: bool,
    pub user_agent: bool,
    pub cookies: bool,
    pub referrer: bool,
    pub identifiers: Vec<Identifier>,
}

/// A structured token decoded out of a URL, shown so a reader sees what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decoded {
    #[serde(rename = "where")]
    pub location: String,
    #[serde(deserialize_with = "static_str")]
    pub encoding: Word,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub message: String,
    pub url: String,
    /// The URL exactly as it stands in the document, when it differs from `url` (wrapped by
    /// a proxy, entity-encoded, folded, a numeric host), so a reader can find it there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_url: Option<String>,
    pub element: String,
    pub attribute: String,
    pub kind: Kind,
    pub tracking: bool,
    pub entity: Option<String>,
    pub company: Option<String>,
    pub category: Option<String>,
    pub party: Party,
    pub host: String,
    pub registrable_domain: Option<String>,
    /// The rule id that matched, if any.
    pub rule: Option<String>,
    /// The attribution tier that named the entity.
    pub tier: Option<Tier>,
    pub evidence: Vec<String>,
    pub leaks: Leaks,
    pub decoded: Vec<Decoded>,
    /// The proxy or redirector the URL was found wrapped in (`Gmail image proxy`).
    pub wrapped_by: Option<String>,
    /// For click redirects: where the reader really goes.
    pub target: Option<String>,
    /// How many times the same URL occurs in the document (spacers repeat).
    pub occurrences: u32,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Site mode: the tag's account / pixel / measurement id, when a signature reveals it.
    pub account: Option<String>,
    /// Site mode: `gated`, `ungated` or `unknown` (the mechanism is in `evidence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// Stable identity of this finding across runs (baselines, SARIF fingerprints); set by
    /// the policy stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The policy's judgement of this finding; absent when no policy stage ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Browser mode (`site --browser`): `static` (found in the HTML only), `runtime` (seen
    /// only in the browser) or `both`. Absent without a browser run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_by: Option<SeenBy>,
    /// Browser mode: what made the request, outermost first: the page, then each script
    /// that loaded the next (`page → gtm.js → fbevents.js`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initiators: Vec<String>,
    /// Browser mode: the request as Chromium sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Box<RuntimeRequest>>,
}

impl Finding {
    /// A finding of `kind` for `url`, loaded by `element`'s `attribute` from `host`: one
    /// occurrence, not tracking, nothing attributed, leaked, decoded or judged yet. Callers
    /// fill in the rest with struct update syntax (`Finding { message, ..Finding::new(…) }`).
    pub fn new(
        url: String,
        element: String,
        attribute: String,
        kind: Kind,
        host: String,
        party: Party,
    ) -> Finding {
        Finding {
            message: String::new(),
            url,
            raw_url: None,
            element,
            attribute,
            kind,
            tracking: false,
            entity: None,
            company: None,
            category: None,
            party,
            host,
            registrable_domain: None,
            rule: None,
            tier: None,
            evidence: Vec::new(),
            leaks: Leaks::default(),
            decoded: Vec::new(),
            wrapped_by: None,
            target: None,
            occurrences: 1,
            line: None,
            column: None,
            account: None,
            consent: None,
            fingerprint: None,
            verdict: None,
            seen_by: None,
            initiators: Vec::new(),
            runtime: None,
        }
    }
}

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
    #[serde(deserialize_with = "static_str")]
    pub third_party_cookies: Word,
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

/// What the policy says about one finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Verdict {
    /// `violation` fails the build; `approved`, `baselined` and `allowed` do not.
    pub status: VerdictStatus,
    /// Why: the approval or deny entry, the `fail_on` condition, or the baseline.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictStatus {
    /// Fails the build.
    Violation,
    /// Approved by a policy entry.
    Approved,
    /// Present in the baseline: known, not new.
    Baselined,
    /// Neither approved nor failing (e.g. not tracking, or not matched by `fail_on`).
    Allowed,
}

/// A platform named by the message headers, independent of any URL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Platform {
    pub entity: String,
    pub rule: String,
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DocumentReport {
    pub source: String,
    pub error: Option<String>,
    /// Mail: the Subject; site: the page title.
    pub title: Option<String>,
    /// Mail: the From address; site: unused.
    pub sender: Option<String>,
    pub recipients: Vec<String>,
    /// The registrable domain treated as first party.
    pub first_party: Option<String>,
    pub platforms: Vec<Platform>,
    pub findings: Vec<Finding>,
    /// Plain links that were not judged tracked (kept out of `findings` to keep them readable).
    pub untracked_links: u32,
    /// Site mode: consent platforms detected on the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_platforms: Option<Vec<String>>,
    /// Site mode: the effective referrer policy and whether third parties get the page URL
    /// (`full-url`), only its origin (`origin`), or nothing (`none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<ReferrerInfo>,
    /// Site mode: personal data carried in the page URL's query (`email=…`), as evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_data_in_url: Option<Vec<String>>,
    /// What the scan could not fully cover in this document (e.g. references past the
    /// per-document limit), so a reader knows the findings are not the whole story.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Site mode: redirects followed to reach this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<String>,
    /// Browser mode: how the browser run of this page went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<BrowserRun>,
    /// Browser mode: the cookie jar once the page settled, plus cookies Chromium refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<CookieReport>>,
    /// Browser mode: localStorage of the page's origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_storage: Option<Vec<StorageReport>>,
    /// Browser mode with `--accept-consent`: what accepting unlocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_unlocked: Option<ConsentUnlocked>,
    /// Browser mode: Google Consent Mode signals seen in Google requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub google_consent: Vec<GoogleConsentSignal>,
    /// Findings of this document that `--kind`/`--entity`/`--category` hid from the report
    /// (the policy judged them); absent when none were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hidden_findings: u64,
    /// Where the document stands in a single run's order, `[input, item]`: the input's
    /// position among all the run's inputs before any `--shard` split (a file or stdin for
    /// `eml`, a target for `site`) and the item's inside it (the message in an mbox, the
    /// page in a crawl or build folder), from 0. Set by the scan; written by `--format
    /// ndjson` (as `order`) so `pixscan merge` can restore a single run's order.
    #[serde(skip)]
    pub order: Option<[u64; 2]>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A word of one of the model's fixed vocabularies (`plain`, `gated`, `before-consent`…).
/// Spelled as an alias because serde borrows every field typed `&str` from its input, and
/// these are read through [`static_str`] instead, so a model read back is not tied to the
/// text it came from.
type Word = &'static str;

/// Reads a string into a `&'static str` field (the model names its fixed vocabularies
/// with static strings). Each distinct value is stored once for the process's life, so
/// reading many reports costs no more than their distinct words.
fn static_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
    Ok(intern(&s))
}

fn intern(s: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = seen.get(s) {
        return known;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReferrerInfo {
    pub policy: String,
    /// Where the policy came from: `default`, `header`, `meta`.
    #[serde(deserialize_with = "static_str")]
    pub from: Word,
    #[serde(deserialize_with = "static_str")]
    pub sends: Word,
    /// Whether the full page URL (path and query) reaches third parties.
    pub leaks: bool,
}

/// An input or URL that was not scanned, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skipped {
    pub url: String,
    pub reason: String,
}

/// Per-entity totals across all documents.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct EntityTotal {
    pub entity: String,
    pub category: Option<String>,
    pub documents: u64,
    pub findings: u64,
    pub tracking_findings: u64,
}

impl DocumentReport {
    pub fn failed(source: String, error: String) -> Self {
        DocumentReport {
            source,
            error: Some(error),
            ..Default::default()
        }
    }

    pub fn has_tracking(&self) -> bool {
        self.findings.iter().any(|f| f.tracking)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Summary {
    pub inputs: u64,
    pub scanned: u64,
    pub failed: u64,
    pub clean: u64,
    pub with_tracking: u64,
    pub findings: u64,
    pub tracking_findings: u64,
    /// Everything not scanned (robots, scope, size, type, not mail…), with the reason.
    pub skipped: Vec<Skipped>,
    /// Files (found in folders) and page URLs (found by a crawl) left out by `--include` /
    /// `--exclude`: never read or fetched, counted here so nothing is lost unseen.
    pub excluded: u64,
    /// `eml`: the Maildir and Maildir++ folders found under the inputs, so a reader can see
    /// which mailboxes were scanned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailboxes: Vec<String>,
    /// Findings grouped by entity, most findings first.
    pub by_entity: Vec<EntityTotal>,
    /// The policy gate's result (`pixscan.toml`, baseline), when the CLI ran one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<GateResult>,
    /// The run's overall verdict, which decides the exit code: an error (unread input, no
    /// page scanned) wins over the policy, so a failed run never reads as a pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// `--kind`/`--entity`/`--category`: what the reports show and what they hid. The
    /// counts above and the policy cover every finding, hidden or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<FilterTotals>,
    /// `--shard K/N`: which share of the inputs this run scanned, and what it left to the
    /// other shards. Absent in a whole run (and in `pixscan merge`'s output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardSummary>,
}

/// A shard's account of the inputs it saw (`summary.shard`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSummary {
    /// K, from 0.
    pub index: u64,
    /// N.
    pub count: u64,
    /// What every shard of the run scans: the command and the arguments that choose and
    /// scan the inputs (`eml --exclude Spam /srv/mail`), without `--shard` and the options
    /// of the report and the policy. `pixscan merge` refuses shards whose `run` differs.
    #[serde(default)]
    pub run: String,
    /// Inputs this shard saw and left to the other shards: files, mbox messages,
    /// build-folder pages and excluded files (each counted by one shard only), and crawls
    /// (one per start URL). For `eml` and build folders, `inputs + skipped + excluded +
    /// left_to_others` is the same in every shard.
    pub left_to_others: u64,
    /// `eml`: the `order` of each `skipped` entry, so `pixscan merge` lists them as a
    /// single run would.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_order: Vec<[u64; 2]>,
}

/// What the filters hid over a run (`summary.filtered`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterTotals {
    pub kinds: Vec<String>,
    pub entities: Vec<String>,
    pub categories: Vec<String>,
    /// Findings shown in the reports.
    pub shown: u64,
    /// Findings hidden by the filters (still judged by the policy).
    pub hidden: u64,
    /// Hidden findings that are policy violations: the verdict counts them.
    pub hidden_violations: u64,
    /// Documents left out of the reports: no finding of theirs passes the filters.
    pub hidden_documents: u64,
}

impl FilterTotals {
    /// Adds the counts of `other` (kept per document by a worker thread).
    pub fn add_counts(&mut self, other: &FilterTotals) {
        self.shown += other.shown;
        self.hidden += other.hidden;
        self.hidden_violations += other.hidden_violations;
        self.hidden_documents += other.hidden_documents;
    }
}

/// The verdict over a whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcome {
    pub status: RunStatus,
    /// Why, in one line: the error, or the violation count.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Passed,
    Failed,
    Error,
}

impl RunStatus {
    /// The process exit code, as grep and ripgrep: 0 pass, 1 findings, 2 error.
    pub fn exit_code(self) -> u8 {
        match self {
            RunStatus::Passed => 0,
            RunStatus::Failed => 1,
            RunStatus::Error => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::Error => "error",
        }
    }
}

/// What the policy stage decided over the whole run.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct GateResult {
    /// The policy file used, or `built-in default`.
    pub config: String,
    pub violations: u64,
    pub approved: u64,
    pub baselined: u64,
    pub allowed: u64,
    /// Documents with at least one violation.
    pub failing_documents: u64,
    pub passed: bool,
    /// Baseline entries no longer found (fixed since the baseline was written).
    pub fixed: Vec<String>,
    /// Approvals that matched nothing (stale entries worth removing).
    pub unused_approvals: Vec<String>,
}

impl Summary {
    pub fn add(&mut self, doc: &DocumentReport) {
        self.inputs += 1;
        if doc.error.is_some() {
            self.failed += 1;
            return;
        }
        self.scanned += 1;
        self.findings += doc.findings.len() as u64;
        let tracking = doc.findings.iter().filter(|f| f.tracking).count() as u64;
        self.tracking_findings += tracking;
        if tracking > 0 {
            self.with_tracking += 1;
        } else {
            self.clean += 1;
        }
        let mut seen: Vec<&str> = Vec::new();
        for f in &doc.findings {
            let Some(name) = f.entity.as_deref() else {
                continue;
            };
            let idx = match self.by_entity.iter().position(|e| e.entity == name) {
                Some(i) => i,
                None => {
                    self.by_entity.push(EntityTotal {
                        entity: name.to_string(),
                        category: f.category.clone(),
                        ..Default::default()
                    });
                    self.by_entity.len() - 1
                }
            };
            let e = &mut self.by_entity[idx];
            e.findings += 1;
            e.tracking_findings += u64::from(f.tracking);
            if !seen.contains(&name) {
                seen.push(name);
                e.documents += 1;
            }
        }
    }

    /// Orders `by_entity` for reports: most tracking findings first, then by name.
    pub fn finish(&mut self) {
        self.by_entity.sort_by(|a, b| {
            b.tracking_findings
                .cmp(&a.tracking_findings)
                .then(b.findings.cmp(&a.findings))
                .then(a.entity.cmp(&b.entity))
        });
    }
}
