//! One finding: what was requested, who runs it, what it leaks, and the verdict on it.

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    /// `query:<param>`, `path`, `path:<n>`, `fragment`, or `query:<param>/<decoded field>`.
    #[serde(rename = "where")]
    pub location: String,
    /// `recipient-email`, `recipient-email-hash`, `email`, `recipient-token`…
    pub kind: IdentifierKind,
    /// `plain`, `url`, `base64`, `zlib-base64`, `md5`, `sha1`, `sha256`, `opaque`…
    pub encoding: Encoding,
    /// The matched value (the address, the hash, or the token), truncated.
    pub value: String,
}

/// One evidence line of a finding: the sentence a reader sees, and what kind of fact it
/// states, so later stages pick lines by kind rather than by their wording. Serialised as
/// the sentence alone (the JSON has always held plain strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub text: String,
}

/// What an evidence line states, where some stage needs to find it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    /// How many times the document uses the same URL (`same URL used 3 times`).
    Repeats,
    /// An identifier in the URL, where it sits and how it is encoded
    /// (`recipient-token in query:u (opaque)`).
    Identifier(IdentifierKind),
    /// Site mode: the consent state and why (`consent: gated — …`); the browser run
    /// replaces the markup's guess.
    Consent,
    /// Anything else: hiding, rules, attribution, what the browser saw.
    Note,
}

impl Evidence {
    pub fn note(text: impl Into<String>) -> Evidence {
        Evidence {
            kind: EvidenceKind::Note,
            text: text.into(),
        }
    }

    pub fn repeats(text: impl Into<String>) -> Evidence {
        Evidence {
            kind: EvidenceKind::Repeats,
            text: text.into(),
        }
    }

    pub fn consent(text: impl Into<String>) -> Evidence {
        Evidence {
            kind: EvidenceKind::Consent,
            text: text.into(),
        }
    }

    /// The line for `id`: `recipient-email in query:e (plain)`. Built without `format!`:
    /// every identifier of every request gets one.
    pub fn identifier(id: &Identifier) -> Evidence {
        let parts = [
            id.kind.as_str(),
            " in ",
            &id.location,
            " (",
            id.encoding.as_str(),
            ")",
        ];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            text.push_str(p);
        }
        Evidence {
            kind: EvidenceKind::Identifier(id.kind),
            text,
        }
    }

    /// A line read back from a report (`pixscan merge`): its kind recovered from the
    /// wording the constructors above give each kind.
    pub fn read(text: String) -> Evidence {
        let kind = if text.starts_with("consent: ") {
            EvidenceKind::Consent
        } else if text.starts_with("same URL used ")
            || text.starts_with("no per-recipient identifier, same image used ")
        {
            EvidenceKind::Repeats
        } else if let Some(k) = text
            .split_once(" in ")
            .and_then(|(word, _)| IdentifierKind::ALL.into_iter().find(|k| k.as_str() == word))
        {
            EvidenceKind::Identifier(k)
        } else {
            EvidenceKind::Note
        };
        Evidence { kind, text }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Readers (the text, HTML and Markdown reports) take a line as its text.
impl std::ops::Deref for Evidence {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A free-text line: a note.
impl From<String> for Evidence {
    fn from(text: String) -> Evidence {
        Evidence::note(text)
    }
}

impl From<&str> for Evidence {
    fn from(text: &str) -> Evidence {
        Evidence::note(text)
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
        String::deserialize(d).map(Evidence::read)
    }
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
    pub encoding: Encoding,
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
    pub evidence: Vec<Evidence>,
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
