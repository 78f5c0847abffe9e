//! One SARIF result: its level by the finding's standing, the message, the fingerprint,
//! the properties, and an approval's suppression or a baselined finding's state.

use std::io::Write;

use serde_json::{json, Value};

use super::{rule_id, SarifReporter};
use crate::model::{DocumentReport, Finding, Kind};
use crate::report::common::{
    html_part_line, leak_labels, party_str, split_mbox, standing, Standing,
};
use crate::report::sanitize;
use crate::text::shorten;

impl<W: Write> SarifReporter<W> {
    /// One SARIF result: level, message, location, fingerprint, properties, and the
    /// suppression or baseline state its standing gives it.
    pub(super) fn result(&self, doc: &DocumentReport, f: &Finding) -> Value {
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
