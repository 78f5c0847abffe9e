//! The rule-file format as written (`rules/README.md`): what serde reads before the loader
//! compiles it. Unknown keys are errors so typos don't silently disable rules. Each item is
//! [`Spanned`], so a problem with it names its line (an array of tables' item spans its
//! `[[header]]`).

use serde::Deserialize;
use toml::Spanned;

use super::{EndpointKind, SignatureOn};

/// One rule file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    /// `fallback = true`: this file's endpoints apply only where no other file's rule
    /// matches (a broad converted list never shadows the hand-written rules).
    #[serde(default)]
    pub fallback: bool,
    #[serde(default)]
    pub entity: Vec<Spanned<EntityDef>>,
    #[serde(default)]
    pub endpoint: Vec<Spanned<EndpointDef>>,
    #[serde(default)]
    pub header: Vec<Spanned<HeaderDef>>,
    #[serde(default)]
    pub cname: Vec<Spanned<CnameDef>>,
    #[serde(default)]
    pub signature: Vec<Spanned<SignatureDef>>,
    #[serde(default)]
    pub consent: Vec<Spanned<ConsentDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EntityDef {
    pub name: String,
    pub company: Option<String>,
    /// Required by `rules check`; the loader takes an entity without one.
    pub category: Option<String>,
    pub homepage: Option<String>,
    /// Required by `rules check` (it may be empty); the loader takes an entity without.
    pub domains: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointDef {
    pub id: String,
    /// Omitted for a shape that says what a request is and where its identifiers sit, but
    /// not who runs it (a mailing kit many senders install).
    pub entity: Option<String>,
    pub kind: EndpointKind,
    #[serde(default)]
    pub hosts: Vec<String>,
    pub path: Option<String>,
    #[serde(default)]
    pub query_has: Vec<String>,
    #[serde(default)]
    pub host_prefix: Vec<String>,
    #[serde(default)]
    pub identifiers: Vec<String>,
    pub target_param: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HeaderDef {
    pub id: String,
    pub entity: String,
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CnameDef {
    pub entity: String,
    pub file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignatureDef {
    pub id: String,
    pub entity: String,
    pub tag: String,
    /// Required by `rules check`; the loader takes `tracker-script` when it is missing.
    pub kind: Option<EndpointKind>,
    pub pattern: String,
    #[serde(default)]
    pub on: SignatureOn,
    pub note: Option<String>,
    pub requires: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsentDef {
    pub id: String,
    pub name: String,
    pub entity: Option<String>,
    #[serde(default)]
    pub script_hosts: Vec<String>,
    #[serde(default)]
    pub inline: Vec<String>,
    #[serde(default)]
    pub gate_attrs: Vec<String>,
    #[serde(default)]
    pub gate_class_prefixes: Vec<String>,
    /// CSS selectors of the banner's "accept all" button (browser mode, `--accept-consent`).
    #[serde(default)]
    pub accept_selectors: Vec<String>,
}
