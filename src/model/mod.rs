//! The data that flows between stages: raw references out of a document, findings out of
//! analysis, and per-document reports. Serialised field names are the JSON contract
//! (`schema: pixscan/1`); add fields freely, never rename.

mod browser;
mod document;
mod finding;
mod summary;

pub use browser::*;
pub use document::*;
pub use finding::*;
pub use summary::*;

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

pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A word of one of the model's fixed vocabularies (`plain`, `gated`, `before-consent`…).
/// Spelled as an alias because serde borrows every field typed `&str` from its input, and
/// these are read through [`static_str`] instead, so a model read back is not tied to the
/// text it came from.
pub(crate) type Word = &'static str;

/// Reads a string into a `&'static str` field (the model names its fixed vocabularies
/// with static strings). Each distinct value is stored once for the process's life, so
/// reading many reports costs no more than their distinct words.
pub(crate) fn static_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
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
