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

/// What an identifier found in a URL (or handed to a tag) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentifierKind {
    /// The recipient's own address.
    RecipientEmail,
    /// A hash (MD5, SHA-1, SHA-256) of the recipient's normalised address.
    RecipientEmailHash,
    /// Someone's address, not known to be the recipient's (the sender's, a list address).
    Email,
    /// An opaque token shown to be per-recipient (a rule names it, or it recurs).
    RecipientToken,
    /// An opaque token of unknown scope: content hashes and CDN ids look the same.
    #[serde(rename = "identifier")]
    Unverified,
    /// Browser mode: a first-party identifier copied into a third party's request.
    SharedIdentifier,
    /// Site mode: a token that names the visitor or their browser.
    VisitorId,
    /// Site mode, advanced matching: the visitor's address handed to a tag.
    VisitorEmail,
    VisitorEmailHash,
    VisitorPhone,
    /// Advanced matching: other personal data, or a variable the page fills in.
    VisitorData,
}

impl IdentifierKind {
    pub const ALL: [IdentifierKind; 11] = [
        IdentifierKind::RecipientEmail,
        IdentifierKind::RecipientEmailHash,
        IdentifierKind::Email,
        IdentifierKind::RecipientToken,
        IdentifierKind::Unverified,
        IdentifierKind::SharedIdentifier,
        IdentifierKind::VisitorId,
        IdentifierKind::VisitorEmail,
        IdentifierKind::VisitorEmailHash,
        IdentifierKind::VisitorPhone,
        IdentifierKind::VisitorData,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::RecipientEmail => "recipient-email",
            IdentifierKind::RecipientEmailHash => "recipient-email-hash",
            IdentifierKind::Email => "email",
            IdentifierKind::RecipientToken => "recipient-token",
            IdentifierKind::Unverified => "identifier",
            IdentifierKind::SharedIdentifier => "shared-identifier",
            IdentifierKind::VisitorId => "visitor-id",
            IdentifierKind::VisitorEmail => "visitor-email",
            IdentifierKind::VisitorEmailHash => "visitor-email-hash",
            IdentifierKind::VisitorPhone => "visitor-phone",
            IdentifierKind::VisitorData => "visitor-data",
        }
    }

    /// Names the recipient: their address, its hash, or a per-recipient token.
    pub fn is_recipient(self) -> bool {
        matches!(
            self,
            IdentifierKind::RecipientEmail
                | IdentifierKind::RecipientEmailHash
                | IdentifierKind::RecipientToken
        )
    }
}

/// How an identifier or decoded token is spelled in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Plain,
    /// Percent-encoded (once or twice).
    Url,
    Base64,
    /// Base64 of a JSON document (a decoded token; an identifier inside it is `base64`).
    Base64Json,
    ZlibBase64,
    Base32,
    /// Hex digits spelling the text (`6a616e65…`).
    Hex,
    Json,
    Jwt,
    Md5,
    Sha1,
    Sha256,
    /// Not decodable: a token.
    Opaque,
    /// Advanced matching: a template the page fills in (`{{email}}`).
    Template,
    /// Advanced matching: a script variable (`customer.email`).
    Variable,
}

impl Encoding {
    pub const ALL: [Encoding; 15] = [
        Encoding::Plain,
        Encoding::Url,
        Encoding::Base64,
        Encoding::Base64Json,
        Encoding::ZlibBase64,
        Encoding::Base32,
        Encoding::Hex,
        Encoding::Json,
        Encoding::Jwt,
        Encoding::Md5,
        Encoding::Sha1,
        Encoding::Sha256,
        Encoding::Opaque,
        Encoding::Template,
        Encoding::Variable,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Url => "url",
            Encoding::Base64 => "base64",
            Encoding::Base64Json => "base64-json",
            Encoding::ZlibBase64 => "zlib-base64",
            Encoding::Base32 => "base32",
            Encoding::Hex => "hex",
            Encoding::Json => "json",
            Encoding::Jwt => "jwt",
            Encoding::Md5 => "md5",
            Encoding::Sha1 => "sha1",
            Encoding::Sha256 => "sha256",
            Encoding::Opaque => "opaque",
            Encoding::Template => "template",
            Encoding::Variable => "variable",
        }
    }
}

/// Site mode: where a page's effective referrer policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferrerSource {
    /// Neither header nor meta named a valid policy: the browser's default.
    Default,
    Header,
    Meta,
}

impl ReferrerSource {
    pub const ALL: [ReferrerSource; 3] = [
        ReferrerSource::Default,
        ReferrerSource::Header,
        ReferrerSource::Meta,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReferrerSource::Default => "default",
            ReferrerSource::Header => "header",
            ReferrerSource::Meta => "meta",
        }
    }
}

/// Site mode: what a referrer policy lets a cross-origin request carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferrerSends {
    /// The page URL with its path and query.
    FullUrl,
    Origin,
    /// No referrer at all (`none` in the JSON).
    #[serde(rename = "none")]
    Nothing,
}

impl ReferrerSends {
    pub const ALL: [ReferrerSends; 3] = [
        ReferrerSends::FullUrl,
        ReferrerSends::Origin,
        ReferrerSends::Nothing,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReferrerSends::FullUrl => "full-url",
            ReferrerSends::Origin => "origin",
            ReferrerSends::Nothing => "none",
        }
    }
}

/// Browser mode: whether the browser profile accepted third-party cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThirdPartyCookies {
    /// Stock desktop Chrome.
    #[default]
    Allowed,
    /// `--block-third-party-cookies`.
    Blocked,
}

impl ThirdPartyCookies {
    pub const ALL: [ThirdPartyCookies; 2] =
        [ThirdPartyCookies::Allowed, ThirdPartyCookies::Blocked];

    pub const fn as_str(self) -> &'static str {
        match self {
            ThirdPartyCookies::Allowed => "allowed",
            ThirdPartyCookies::Blocked => "blocked",
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
display_as_str!(
    Consent,
    SeenBy,
    Phase,
    IdentifierKind,
    Encoding,
    ReferrerSource,
    ReferrerSends,
    ThirdPartyCookies
);

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each vocabulary's `as_str` is the word serde writes and reads: reports, `merge` and
    /// the text outputs all spell it the same.
    fn agrees<T>(all: &[T], as_str: fn(&T) -> &'static str)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        for v in all {
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{}\"", as_str(v)));
            assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), v);
        }
    }

    #[test]
    fn vocabularies_serialize_as_their_words() {
        agrees(&Kind::ALL, |k| k.as_str());
        agrees(&Consent::ALL, |c| c.as_str());
        agrees(&IdentifierKind::ALL, |k| k.as_str());
        agrees(&Encoding::ALL, |e| e.as_str());
        agrees(&ReferrerSource::ALL, |r| r.as_str());
        agrees(&ReferrerSends::ALL, |r| r.as_str());
        agrees(&ThirdPartyCookies::ALL, |t| t.as_str());
    }

    #[test]
    fn evidence_is_a_string_and_reads_back_its_kind() {
        let id = Identifier {
            location: "query:u".into(),
            kind: IdentifierKind::RecipientToken,
            encoding: Encoding::Opaque,
            value: "abc".into(),
        };
        let lines = vec![
            Evidence::identifier(&id),
            Evidence::repeats("same URL used 3 times"),
            Evidence::consent("consent: gated — sent only after accepting consent"),
            Evidence::note("1x1 image"),
        ];
        let json = serde_json::to_string(&lines).unwrap();
        assert_eq!(
            json,
            r#"["recipient-token in query:u (opaque)","same URL used 3 times","consent: gated — sent only after accepting consent","1x1 image"]"#
        );
        assert_eq!(serde_json::from_str::<Vec<Evidence>>(&json).unwrap(), lines);
    }
}
