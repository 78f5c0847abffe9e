//! `fail_on` conditions: which findings fail the build when no entry approves them.

use serde::{Deserialize, Serialize};

use crate::model::{Consent, Finding, IdentifierKind, Party};

/// A `fail_on` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    UnapprovedTracking,
    AnyTracking,
    RecipientIdentity,
    ThirdPartyIdentifiers,
    Ungated,
    ScanError,
}

impl FailOn {
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::UnapprovedTracking => "unapproved-tracking",
            FailOn::AnyTracking => "any-tracking",
            FailOn::RecipientIdentity => "recipient-identity",
            FailOn::ThirdPartyIdentifiers => "third-party-identifiers",
            FailOn::Ungated => "ungated",
            FailOn::ScanError => "scan-error",
        }
    }

    /// Whether the finding meets this condition (always false for `scan-error`).
    pub fn matches(self, f: &Finding) -> bool {
        match self {
            FailOn::UnapprovedTracking | FailOn::AnyTracking => f.tracking,
            FailOn::RecipientIdentity => f.leaks.identifiers.iter().any(|i| {
                matches!(
                    i.kind,
                    IdentifierKind::RecipientEmail
                        | IdentifierKind::RecipientEmailHash
                        | IdentifierKind::VisitorEmail
                        | IdentifierKind::VisitorEmailHash
                        | IdentifierKind::VisitorPhone
                )
            }),
            FailOn::ThirdPartyIdentifiers => {
                f.party == Party::Third && !f.leaks.identifiers.is_empty()
            }
            FailOn::Ungated => f.tracking && f.consent == Some(Consent::Ungated),
            FailOn::ScanError => false,
        }
    }

    pub(super) fn explain(self, f: &Finding) -> String {
        let who = f
            .entity
            .clone()
            .unwrap_or_else(|| format!("{} (unknown entity)", f.host));
        match self {
            FailOn::UnapprovedTracking | FailOn::AnyTracking => {
                format!("tracking by {who} is not approved")
            }
            FailOn::RecipientIdentity => {
                "the URL carries the recipient's email address (or its hash)".into()
            }
            FailOn::ThirdPartyIdentifiers => format!("third party {who} receives an identifier"),
            FailOn::Ungated => format!("tracking by {who} loads without consent gating"),
            FailOn::ScanError => "the document could not be scanned".into(),
        }
    }
}
