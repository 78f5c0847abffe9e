//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).
//!
//! Decisions (they are a contract for code-scanning alerts, so keep them stable):
//!
//! - **Rule ids** are `<kind>/<entity-slug>`, e.g. `open-pixel/sendgrid`,
//!   `tracker-script/google-tag-manager`, `remote-image/unknown`: one rule per finding kind ×
//!   entity, kebab-case. The endpoint rule that matched (`sendgrid-open`) is kept in the
//!   result's `properties.endpointRule`; it is not the SARIF rule id because many findings
//!   have no endpoint rule (entity-domain and CNAME matches), and a kind × entity id gives
//!   one alert family per tracker, which is how people triage them.
//! - **Which findings become results**: tracking findings and policy violations only.
//!   Informational remote requests (a product photo on the sender's CDN) would flood code
//!   scanning, so they are left out unless `--verbose` is given (then they come as `note`).
//!   Levels: `error` for violations (with no policy stage, every tracking finding is one),
//!   `warning` for tracking findings the policy neither fails nor approves and for baselined
//!   ones (`baselineState: unchanged`), `note` for approved ones, which also carry an
//!   `accepted` external suppression with the approval's reason.
//! - **Locations**: site pages use the file (relative path, forward slashes) or page URL
//!   with the finding's line and column. Mail findings carry the line inside the decoded
//!   HTML part, not in the `.eml` file, so their region is line 1 of the message file (the
//!   mbox file for `box.mbox#3`) and the HTML-part line is said in the message text.
//! - **Fingerprints**: `partialFingerprints["pixscan/v1"]` is the finding's fingerprint, the
//!   one baselines use ([`crate::fingerprint`]: document, kind, entity, host and the URL's
//!   shape, never its tokens or the line), so an alert survives re-runs and line moves.
//! - At most [`MAX_RESULTS`] results; beyond that a run-level tool notification says how
//!   many were left out. Documents that could not be scanned become `error` notifications.
//!
//! How a finding stands, what it leaks and where it is come from [`super::common`], shared
//! with the other formats.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{json, Value};

use super::common::{
    file_position, html_part_line, is_notable, is_url, leak_labels, leaks_identity, local_path,
    party_str, split_mbox, standing, Standing, OPEN_SIGNAL_NOTE,
};
use super::{sanitize, ReportOptions, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Finding, Kind, Summary};
use crate::text::shorten;

/// Results kept in one SARIF file (GitHub code scanning rejects runs over 25,000 and shows
/// far fewer; past a few thousand nobody triages alerts one by one).
pub const MAX_RESULTS: usize = 5000;
/// Tool notifications kept (failed documents, skipped inputs).
const MAX_NOTIFICATIONS: usize = 1000;

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where pixscan is documented (the crate's `repository` when Cargo.toml names one).
pub fn information_uri() -> &'static str {
    let repo = env!("CARGO_PKG_REPOSITORY");
    if repo.is_empty() {
        "https://github.com/pixscan/pixscan"
    } else {
        repo
    }
}

/// Lower-case kebab-case slug of an entity name (`Google/Doubleclick Ads` →
/// `google-doubleclick-ads`), `unknown` when there is none.
pub fn slug(name: Option<&str>) -> String {
    let mut out = String::new();
    for c in name.unwrap_or("").chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c.is_alphanumeric() {
            // Non-ASCII letters: keep ids ASCII and stable.
            out.push_str(&format!("u{:x}", c as u32));
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "unknown".to_string()
    } else {
        out
    }
}

/// The SARIF rule id for a finding: `<kind>/<entity-slug>`.
pub fn rule_id(f: &Finding) -> String {
    format!("{}/{}", f.kind.as_str(), slug(f.entity.as_deref()))
}

/// What a kind of finding is, what it leaks, and how to fix it (rule help text).
pub fn kind_help(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::OpenPixel => (
            "Open-tracking pixel",
            "A tiny or hidden remote image whose only purpose is to report that the message was displayed. Loading it sends an open signal (an image request): it shows the message was displayed or fetched, never proof that a person read it.",
            "Send mail without open tracking (turn it off in the sending platform), or approve the platform in the pixscan policy if open signals are intended and disclosed.",
        ),
        Kind::TrackedImage => (
            "Tracked image",
            "A visible remote image fetched with a per-recipient identifier, so the image request doubles as an open signal.",
            "Serve images without per-recipient identifiers (or embed them), or approve the sender in the pixscan policy.",
        ),
        Kind::TrackedLink => (
            "Tracked link",
            "A link that goes through a click-tracking redirect: a click is recorded, often with a per-recipient identifier, before the reader reaches the destination.",
            "Link to the destination directly (turn off click tracking), or approve the platform in the pixscan policy.",
        ),
        Kind::Beacon => (
            "Tracking beacon",
            "A request (image, iframe or script endpoint) that reports a visit or event to an analytics or advertising service.",
            "Remove the beacon, load it only after consent, or approve it in the pixscan policy.",
        ),
        Kind::AdConversion => (
            "Ad conversion tag",
            "A conversion or remarketing tag that reports the visit to an advertising network, usually with its cookies.",
            "Remove the tag or gate it behind consent; approve it in the pixscan policy if it is intended.",
        ),
        Kind::TrackerScript => (
            "Tracker script",
            "A third-party script that runs with the page's rights and reports visits and behaviour.",
            "Remove the script, self-host a privacy-preserving alternative, or load it only after consent; approve it in the pixscan policy if it is intended.",
        ),
        Kind::RemoteImage => (
            "Remote image",
            "An image loaded from a remote server when the document is displayed; not judged tracking by itself.",
            "Embed or self-host the image if the request should not reach that server.",
        ),
        Kind::RemoteResource => (
            "Remote resource",
            "A stylesheet, font, frame or other resource fetched from a remote server when the document is displayed; not judged tracking by itself.",
            "Self-host the resource if the request should not reach that server.",
        ),
        Kind::ReadReceipt => (
            "Read-receipt request",
            "A header asking the mail client to send a disposition notification when the message is displayed; the client may ask the reader first.",
            "Do not request read receipts, or approve the sender in the pixscan policy.",
        ),
        Kind::MetaRefresh => (
            "Meta refresh",
            "A meta refresh that makes the client fetch another URL automatically when the document is displayed.",
            "Remove the meta refresh.",
        ),
        Kind::DnsPrefetch => (
            "DNS prefetch / preconnect",
            "A resource hint that makes the client resolve or connect to a host ahead of time, revealing the reader's resolver or IP address to it.",
            "Remove the resource hint for third-party hosts.",
        ),
    }
}

/// 7.5 when the request carries the recipient's identity, 5.0 for other tracking, 2.0 for
/// informational requests.
pub fn security_severity(f: &Finding) -> f64 {
    if leaks_identity(f) {
        7.5
    } else if f.tracking || standing(f) == Standing::Violation {
        5.0
    } else {
        2.0
    }
}

// ---------------------------------------------------------------------------------------
// The SARIF reporter.
// ---------------------------------------------------------------------------------------

struct RuleInfo {
    kind: Kind,
    entity: Option<String>,
    company: Option<String>,
    category: Option<String>,
    severity: f64,
}

struct PendingResult {
    rule: String,
    value: Value,
}

pub struct SarifReporter<W: Write> {
    out: W,
    command: Command,
    verbose: bool,
    rules: BTreeMap<String, RuleInfo>,
    results: Vec<PendingResult>,
    total_results: usize,
    notifications: Vec<Value>,
    dropped_notifications: usize,
}

impl<W: Write> SarifReporter<W> {
    pub fn new(out: W, opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(SarifReporter {
            out,
            command: opts.command,
            verbose: opts.verbose,
            rules: BTreeMap::new(),
            results: Vec::new(),
            total_results: 0,
            notifications: Vec::new(),
            dropped_notifications: 0,
        })
    }

    fn notify(&mut self, level: &str, text: String, uri: Option<String>) {
        if self.notifications.len() >= MAX_NOTIFICATIONS {
            self.dropped_notifications += 1;
            return;
        }
        let mut n = json!({ "level": level, "message": { "text": text } });
        if let Some(uri) = uri {
            n["locations"] =
                json!([{ "physicalLocation": { "artifactLocation": { "uri": uri } } }]);
        }
        self.notifications.push(n);
    }

    /// The run's tool notifications: a warning first when results were left out, a closing
    /// note when notifications were.
    fn run_notifications(&mut self, included: usize) -> Vec<Value> {
        let mut notes = std::mem::take(&mut self.notifications);
        if self.total_results > included {
            notes.insert(
                0,
                json!({
                    "level": "warning",
                    "descriptor": { "id": "results-truncated" },
                    "message": { "text": format!(
                        "Results truncated: {} of {} results are included (limit {MAX_RESULTS}); see the JSON or HTML report for all findings.",
                        included,
                        self.total_results
                    ) },
                }),
            );
        }
        if self.dropped_notifications > 0 {
            notes.push(json!({
                "level": "note",
                "message": { "text": format!("{} more notification(s) left out.", self.dropped_notifications) },
            }));
        }
        notes
    }

    /// One SARIF result: level, message, location, fingerprint, properties, and the
    /// suppression or baseline state its standing gives it.
    fn result(&self, doc: &DocumentReport, f: &Finding) -> Value {
        let st = standing(f);
        let level = match st {
            Standing::Violation => "error",
            Standing::Allowed | Standing::Baselined => "warning",
            Standing::Approved | Standing::Info => "note",
        };
        let leaks = leak_labels(f);
        let mut r = json!({
            "ruleId": rule_id(f),
            "level": level,
            "message": { "text": self.message(doc, f, st, &leaks) },
            "locations": [ self.location(doc, f) ],
            "partialFingerprints": { "pixscan/v1": crate::fingerprint::of(self.command, doc, f) },
            "properties": properties(f, st, leaks),
        });
        match (st, &f.verdict) {
            (Standing::Approved, Some(v)) => {
                r["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": shorten(&v.reason, 1000),
                }]);
            }
            (Standing::Baselined, _) => r["baselineState"] = json!("unchanged"),
            _ => {}
        }
        r
    }

    /// The result's message: the finding's sentence, then who, what it leaks, the account,
    /// consent, where in a mail, the policy's reason, and the open-signal caveat.
    fn message(&self, doc: &DocumentReport, f: &Finding, st: Standing, leaks: &[String]) -> String {
        let mut text = sanitize(f.message.trim());
        if !text.ends_with('.') {
            text.push('.');
        }
        let who = match (&f.entity, &f.company) {
            (Some(e), Some(c)) if c != e => format!("{} ({})", sanitize(e), sanitize(c)),
            (Some(e), _) => sanitize(e),
            (None, _) => "unknown entity".to_string(),
        };
        text.push_str(&format!(
            " Entity: {who}, {}, host {}.",
            party_str(f.party),
            sanitize(&f.host)
        ));
        if !leaks.is_empty() {
            text.push_str(&format!(" Leaks: {}.", sanitize(&leaks.join(", "))));
        }
        if let Some(a) = &f.account {
            text.push_str(&format!(" Account: {}.", sanitize(a)));
        }
        if let Some(c) = f.consent {
            text.push_str(&format!(" Consent: {c}."));
        }
        if let (_, Some(n)) = split_mbox(&doc.source) {
            text.push_str(&format!(" Message #{n} of the mbox."));
        }
        if let Some(l) = html_part_line(self.command, f) {
            text.push_str(&format!(" Line {l} of the message's HTML part."));
        }
        if let Some(v) = &f.verdict {
            text.push_str(&format!(
                " Policy: {} ({}).",
                st.as_str(),
                sanitize(&v.reason)
            ));
        }
        if matches!(f.kind, Kind::OpenPixel | Kind::TrackedImage) {
            text.push_str(" An open signal is not proof that anyone read the message.");
        }
        text
    }

    /// The result's physical location: the file (relative to `%SRCROOT%`) or page URL, with
    /// the finding's line and column where they are lines of that artifact.
    fn location(&self, doc: &DocumentReport, f: &Finding) -> Value {
        let (uri, line, column) = match file_position(self.command, &doc.source, f) {
            Some((path, line, col)) => (artifact_uri(&path), line, col),
            None => {
                let uri = match local_path(&doc.source) {
                    Some(p) => artifact_uri(&p),
                    None if is_url(&doc.source) => url::Url::parse(&doc.source)
                        .map(|u| u.to_string())
                        .unwrap_or_else(|_| encode_path(&doc.source)),
                    None => encode_path(&doc.source),
                };
                // Crawled pages: the line is in the fetched HTML.
                let line = if self.command == Command::Site {
                    f.line.filter(|l| *l > 0)
                } else {
                    None
                };
                (
                    uri,
                    line.unwrap_or(1),
                    line.and(f.column.filter(|c| *c > 0)),
                )
            }
        };
        let mut region = json!({ "startLine": line });
        if let Some(c) = column {
            region["startColumn"] = json!(c);
        }
        let mut artifact = json!({ "uri": uri });
        if !uri.contains(':') && !uri.starts_with('/') {
            artifact["uriBaseId"] = json!("%SRCROOT%");
        }
        json!({ "physicalLocation": { "artifactLocation": artifact, "region": region } })
    }
}

/// The result's `properties`: the finding as data, for tools that read SARIF.
fn properties(f: &Finding, st: Standing, leaks: Vec<String>) -> Value {
    let mut props = serde_json::Map::new();
    props.insert("kind".into(), json!(f.kind.as_str()));
    props.insert("tracking".into(), json!(f.tracking));
    props.insert("standing".into(), json!(st.as_str()));
    props.insert("party".into(), json!(party_str(f.party)));
    props.insert("host".into(), json!(f.host));
    if !f.url.is_empty() {
        props.insert("url".into(), json!(shorten(&f.url, 1000)));
    }
    props.insert("element".into(), json!(f.element));
    for (k, v) in [
        ("entity", &f.entity),
        ("company", &f.company),
        ("category", &f.category),
        ("endpointRule", &f.rule),
        ("account", &f.account),
    ] {
        if let Some(v) = v {
            props.insert(k.into(), json!(v));
        }
    }
    if let Some(t) = f.tier {
        props.insert("tier".into(), json!(t));
    }
    if let Some(c) = f.consent {
        props.insert("consent".into(), json!(c));
    }
    props.insert("leaks".into(), json!(leaks));
    if let Some(v) = &f.verdict {
        props.insert("verdictReason".into(), json!(v.reason));
    }
    Value::Object(props)
}

/// Percent-encodes a path for a URI reference (`/` kept; `:` encoded so a first segment is
/// never read as a scheme).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A relative path stays relative (to `%SRCROOT%`); an absolute one becomes a file URI.
fn artifact_uri(path: &str) -> String {
    if path.starts_with('/') {
        format!("file://{}", encode_path(path))
    } else if path.len() > 2 && path.as_bytes()[1] == b':' {
        // A Windows drive path.
        format!("file:///{}", encode_path(path))
    } else {
        encode_path(path)
    }
}

impl<W: Write> Reporter for SarifReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if let Some(e) = &doc.error {
            let uri = local_path(&doc.source).map(|p| artifact_uri(&p));
            self.notify(
                "error",
                format!(
                    "{}: could not be scanned: {}",
                    sanitize(&doc.source),
                    sanitize(e)
                ),
                uri,
            );
            return Ok(());
        }
        for f in &doc.findings {
            if !(is_notable(f) || self.verbose) {
                continue;
            }
            let id = rule_id(f);
            let sev = security_severity(f);
            let info = self.rules.entry(id.clone()).or_insert_with(|| RuleInfo {
                kind: f.kind,
                entity: f.entity.clone(),
                company: f.company.clone(),
                category: f.category.clone(),
                severity: sev,
            });
            info.severity = info.severity.max(sev);
            self.total_results += 1;
            if self.results.len() < MAX_RESULTS {
                let value = self.result(doc, f);
                self.results.push(PendingResult { rule: id, value });
            }
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        let skipped: Vec<String> = summary
            .skipped
            .iter()
            .map(|s| format!("skipped {}: {}", sanitize(&s.url), sanitize(&s.reason)))
            .collect();
        for s in skipped {
            self.notify("note", s, None);
        }
        let mut index = BTreeMap::new();
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, (id, r)) in self.rules.iter().enumerate() {
            index.insert(id.clone(), i);
            rules.push(rule_descriptor(id, r));
        }
        let results: Vec<Value> = std::mem::take(&mut self.results)
            .into_iter()
            .map(|mut p| {
                p.value["ruleIndex"] = json!(index[&p.rule]);
                p.value
            })
            .collect();
        let notes = self.run_notifications(results.len());
        let mut invocation = json!({ "executionSuccessful": true });
        if !notes.is_empty() {
            invocation["toolExecutionNotifications"] = Value::Array(notes);
        }
        let log = json!({
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [ {
                "tool": { "driver": {
                    "name": "pixscan",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": information_uri(),
                    "rules": rules,
                } },
                "automationDetails": { "id": format!("pixscan/{}/", self.command) },
                "invocations": [ invocation ],
                "results": results,
                "properties": {
                    "command": self.command,
                    "note": OPEN_SIGNAL_NOTE,
                    "summary": {
                        "inputs": summary.inputs,
                        "scanned": summary.scanned,
                        "failed": summary.failed,
                        "withTracking": summary.with_tracking,
                        "findings": summary.findings,
                        "trackingFindings": summary.tracking_findings,
                        "resultsTotal": self.total_results,
                    },
                },
            } ],
        });
        serde_json::to_writer_pretty(&mut self.out, &log)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// A rule's descriptor: names, descriptions and help in the kind's words, default level
/// and tags by its severity and category.
fn rule_descriptor(id: &str, r: &RuleInfo) -> Value {
    let (what, leaks, fix) = kind_help(r.kind);
    let entity = r.entity.as_deref().map(sanitize);
    let who = entity.clone().unwrap_or_else(|| "an unknown entity".into());
    let mut about = who.clone();
    if let Some(c) = r
        .company
        .as_deref()
        .filter(|c| Some(*c) != r.entity.as_deref())
    {
        about.push_str(&format!(" (company: {})", sanitize(c)));
    }
    if let Some(c) = &r.category {
        about.push_str(&format!(", category {}", sanitize(c)));
    }
    let mut tags = vec![
        "privacy".to_string(),
        "security".to_string(),
        r.kind.as_str().to_string(),
    ];
    if let Some(c) = &r.category {
        tags.push(sanitize(c));
    }
    let tracking_kind = !matches!(
        r.kind,
        Kind::RemoteImage | Kind::RemoteResource | Kind::DnsPrefetch
    );
    if tracking_kind {
        tags.push("tracking".into());
    }
    json!({
        "id": id,
        "name": rule_name(r.kind, entity.as_deref()),
        "shortDescription": { "text": format!("{what}: {who}") },
        "fullDescription": { "text": format!("{what} attributed to {about}. {leaks}") },
        "help": { "text": format!(
            "{what} ({who}).\n\nWhat it is: {leaks}\n\nWhat it leaks: any fetch reveals the reader's IP address, user-agent and the time; a URL can also carry the recipient's identity (address, its hash, or a per-recipient token), and web requests may carry cookies and the page as referrer. Each result lists what its request leaks.\n\nHow to fix: {fix} Approve an intended, disclosed use in the pixscan policy by this rule id ({id}) or the entity.\n\n{OPEN_SIGNAL_NOTE}"
        ) },
        "defaultConfiguration": { "level": if r.severity >= 5.0 { "error" } else { "note" } },
        "properties": {
            "tags": tags,
            "security-severity": format!("{:.1}", r.severity),
        },
    })
}

/// `OpenPixelSendgrid`-style rule name (SARIF `name`, PascalCase).
fn rule_name(kind: Kind, entity: Option<&str>) -> String {
    let mut s = String::new();
    for part in kind.as_str().split('-').chain(slug(entity).split('-')) {
        let mut cs = part.chars();
        if let Some(c) = cs.next() {
            s.extend(c.to_uppercase());
            s.push_str(cs.as_str());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_kebab_case() {
        assert_eq!(
            slug(Some("Google/Doubleclick Ads")),
            "google-doubleclick-ads"
        );
        assert_eq!(slug(Some("Customer.io")), "customer-io");
        assert_eq!(slug(None), "unknown");
        assert_eq!(slug(Some("  ")), "unknown");
    }

    #[test]
    fn paths_are_uri_references() {
        assert_eq!(encode_path("cur/1:2,S x"), "cur/1%3A2,S%20x");
    }
}
