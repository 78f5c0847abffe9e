//! By leak: what the tracking findings of each document reveal (IP, user-agent, cookies,
//! referrer, identifiers, the recipient's identity), tallied over the run, and the section
//! that lists them.

use std::io::Write;

use super::{esc, opt, HtmlReporter};
use crate::model::{Command, Finding};
use crate::report::common::{leaks_identity, nouns};

/// Documents listed by name under each leak (the counts are always complete).
const MAX_LEAK_DOCS: usize = 500;

#[derive(Default)]
pub(super) struct LeakTally {
    findings: u64,
    documents: u64,
    listed: Vec<String>,
}

impl LeakTally {
    fn add(&mut self, findings: u64, line: String) {
        if findings == 0 {
            return;
        }
        self.findings += findings;
        self.documents += 1;
        if self.listed.len() < MAX_LEAK_DOCS {
            self.listed.push(line);
        }
    }
}

/// The identifiers of the recipient's identity a document's tracking findings carry, and
/// to whom (`recipient-email in query:e (plain) → Acme`), each once.
fn identity_leaks(notable: &[&Finding]) -> Vec<String> {
    let mut what: Vec<String> = Vec::new();
    for f in notable.iter().filter(|f| leaks_identity(f)) {
        for id in f.leaks.identifiers.iter().filter(|i| i.kind.is_recipient()) {
            let w = format!(
                "{} in {} ({}) → {}",
                esc(id.kind.as_str()),
                esc(&id.location),
                esc(id.encoding.as_str()),
                opt(f.entity.as_deref())
            );
            if !what.contains(&w) {
                what.push(w);
            }
        }
    }
    what
}

/// A list of documents (`<li>` lines), with how many more there were.
pub(super) fn listed_more(out: &mut String, listed: &[String], total: usize) {
    for l in listed {
        out.push_str(l);
        out.push('\n');
    }
    if total > listed.len() {
        out.push_str(&format!("<li>… and {} more</li>\n", total - listed.len()));
    }
}
impl<W: Write> HtmlReporter<W> {
    /// Counts what a document's tracking findings leak, and lists the document under each.
    pub(super) fn tally_leaks(&mut self, src: &str, notable: &[&Finding]) {
        let count = |p: &dyn Fn(&Finding) -> bool| notable.iter().filter(|f| p(f)).count() as u64;
        let ip = count(&|f| f.leaks.ip);
        let ua = count(&|f| f.leaks.user_agent);
        let cookies = count(&|f| f.leaks.cookies);
        let referrer = count(&|f| f.leaks.referrer);
        let ids = count(&|f| !f.leaks.identifiers.is_empty());
        let identity = count(&|f| leaks_identity(f));
        let plain = format!("<li><code>{src}</code></li>");
        self.leaks[0].add(ip, plain.clone());
        self.leaks[1].add(ua, plain.clone());
        self.leaks[2].add(cookies, plain.clone());
        self.leaks[3].add(referrer, plain.clone());
        self.leaks[4].add(ids, plain);
        if identity > 0 {
            self.leaks[5].add(
                identity,
                format!(
                    "<li><code>{src}</code>: {}</li>",
                    identity_leaks(notable).join("; ")
                ),
            );
        }
    }

    /// By leak: the counts, the documents that leak the recipient's identity, and the
    /// documents under each other leak.
    pub(super) fn leak_section(&self) -> String {
        let (_, many) = nouns(self.command);
        let mut t = format!("<section id=\"leaks\"><h2>By leak</h2>\n<p class=\"muted\">What the tracking requests reveal, counted over tracking findings.</p>\n<table><thead><tr><th>leak</th><th class=\"n\">findings</th><th class=\"n\">{many}</th></tr></thead><tbody>\n");
        let labels = [
            "IP address",
            "user-agent",
            "cookies",
            "referrer (the page URL)",
            "identifiers in the URL",
            if self.command == Command::Site {
                "visitor identity (email, its hash, phone, or a visitor id)"
            } else {
                "recipient identity (address, its hash, or a per-recipient token)"
            },
        ];
        for (label, l) in labels.iter().zip(&self.leaks) {
            t.push_str(&format!(
                "<tr><td>{label}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                l.findings, l.documents
            ));
        }
        t.push_str("</tbody></table>\n");
        let identity = &self.leaks[5];
        t.push_str(&format!(
            "<h3>{many} that leak the recipient's identity ({})</h3>\n",
            identity.documents
        ));
        if identity.listed.is_empty() {
            t.push_str("<p>None.</p>\n");
        } else {
            t.push_str("<ul class=\"plain\">\n");
            listed_more(&mut t, &identity.listed, identity.documents as usize);
            t.push_str("</ul>\n");
        }
        for (label, l) in labels.iter().zip(&self.leaks).take(5) {
            if l.documents == 0 {
                continue;
            }
            t.push_str(&format!(
                "<details><summary>{many} leaking {label} ({})</summary><ul class=\"plain\">\n",
                l.documents
            ));
            listed_more(&mut t, &l.listed, l.documents as usize);
            t.push_str("</ul></details>\n");
        }
        t.push_str("</section>\n");
        t
    }
}
