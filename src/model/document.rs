//! One scanned document's report.

use serde::{Deserialize, Serialize};

use super::*;

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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReferrerInfo {
    pub policy: String,
    /// Where the policy came from: `default`, `header`, `meta`.
    pub from: ReferrerSource,
    /// `full-url`, `origin` or `none`.
    pub sends: ReferrerSends,
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
