//! The findings tables of a document's section: one row per finding (standing, kind, entity,
//! party, host, consent, account, leaks, where), its details collapsed in the last cell.

use super::{esc, opt};
use crate::model::{Command, Finding};
use crate::report::common::{leak_labels, party_str, standing, Standing};

fn finding_details(f: &Finding) -> String {
    let mut s = String::new();
    s.push_str(&format!("<p>{}</p>", esc(f.message.trim())));
    if !f.url.is_empty() {
        s.push_str(&format!(
            "<p>URL (shown as text, not a link): <span class=\"url\">{}</span></p>",
            esc(&f.url)
        ));
    }
    if let Some(t) = &f.target {
        s.push_str(&format!(
            "<p>Goes to: <span class=\"url\">{}</span></p>",
            esc(t)
        ));
    }
    if let Some(w) = &f.wrapped_by {
        s.push_str(&format!("<p>Wrapped by: {}</p>", esc(w)));
    }
    if !f.evidence.is_empty() {
        s.push_str("<p>Evidence:</p><ul class=\"plain\">");
        for e in &f.evidence {
            s.push_str(&format!("<li>{}</li>", esc(e)));
        }
        s.push_str("</ul>");
    }
    if !f.leaks.identifiers.is_empty() {
        s.push_str("<p>Identifiers in the URL:</p><ul class=\"plain\">");
        for id in &f.leaks.identifiers {
            s.push_str(&format!(
                "<li>{} in <code>{}</code> ({}): <span class=\"url\">{}</span></li>",
                esc(id.kind.as_str()),
                esc(&id.location),
                esc(id.encoding.as_str()),
                esc(&id.value)
            ));
        }
        s.push_str("</ul>");
    }
    for d in &f.decoded {
        s.push_str(&format!(
            "<p>Decoded {} ({}): <span class=\"url\">{}</span></p>",
            esc(&d.location),
            esc(d.encoding.as_str()),
            esc(&d.text)
        ));
    }
    if let Some(v) = &f.verdict {
        s.push_str(&format!("<p>Policy: {}</p>", esc(&v.reason)));
    }
    s
}

fn finding_row(command: Command, f: &Finding) -> String {
    let st = standing(f);
    let badge = match st {
        Standing::Violation => "bad",
        Standing::Allowed | Standing::Baselined => "warn",
        Standing::Approved => "ok",
        Standing::Info => "muted",
    };
    let leaks = leak_labels(f);
    let mut place = format!("&lt;{}", esc(&f.element));
    if !f.attribute.is_empty() {
        place.push_str(&format!(" {}", esc(&f.attribute)));
    }
    place.push_str("&gt;");
    if let Some(l) = f.line {
        let what = if command == Command::Eml {
            "HTML part line"
        } else {
            "line"
        };
        place.push_str(&format!(" {what} {l}"));
        if let Some(c) = f.column {
            place.push_str(&format!(":{c}"));
        }
    }
    format!(
        "<tr><td><span class=\"badge {badge}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td class=\"url\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{place}</td><td><details><summary>details</summary>{}</details></td></tr>\n",
        st.as_str(),
        f.kind.as_str(),
        opt(f.entity.as_deref()),
        party_str(f.party),
        esc(&f.host),
        f.consent.map_or("–", |c| c.as_str()),
        opt(f.account.as_deref()),
        if leaks.is_empty() { "–".to_string() } else { esc(&leaks.join(", ")) },
        finding_details(f)
    )
}

const FINDING_HEAD: &str = "<table><thead><tr><th>standing</th><th>kind</th><th>entity</th><th>party</th><th>host</th><th>consent</th><th>account</th><th>leaks</th><th>where</th><th></th></tr></thead><tbody>\n";

/// The findings table of a document, then its other requests in a collapsed one.
pub(super) fn findings_tables(
    command: Command,
    notable: &[&Finding],
    other: &[&Finding],
) -> String {
    let mut s = String::from(FINDING_HEAD);
    for f in notable {
        s.push_str(&finding_row(command, f));
    }
    s.push_str("</tbody></table>\n");
    if !other.is_empty() {
        s.push_str(&format!(
            "<details><summary>{} other remote request(s) not judged tracking</summary>\n{FINDING_HEAD}",
            other.len()
        ));
        for f in other {
            s.push_str(&finding_row(command, f));
        }
        s.push_str("</tbody></table></details>\n");
    }
    s
}
