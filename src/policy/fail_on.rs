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

    /// Why `f` meets this condition, appended to `out` (a verdict's reason is written once
    /// per finding: no intermediate strings).
    pub(super) fn explain(self, f: &Finding, out: &mut String) {
        let who = |out: &mut String| match &f.entity {
            Some(e) => out.push_str(e),
            None => {
                out.push_str(&f.host);
                out.push_str(" (unknown entity)");
            }
        };
        let (before, after) = match self {
            FailOn::UnapprovedTracking | FailOn::AnyTracking => {
                ("tracking by ", " is not approved")
            }
            FailOn::ThirdPartyIdentifiers => ("third party ", " receives an identifier"),
            FailOn::Ungated => ("tracking by ", " loads without consent gating"),
            FailOn::RecipientIdentity => {
                out.push_str("the URL carries the recipient's email address (or its hash)");
                return;
            }
            FailOn::ScanError => {
                out.push_str("the document could not be scanned");
                return;
            }
        };
        out.push_str(before);
        who(out);
        out.push_str(after);
    }
}
