//! `--format html`: one self-contained HTML file.
//!
//! A privacy report must not itself leak: the file loads nothing (no scripts, fonts,
//! stylesheets or images from anywhere; inline CSS and an inline SVG chart only), carries a
//! strict Content-Security-Policy (`default-src 'none'; style-src 'unsafe-inline'; img-src
//! data:`) and `referrer: no-referrer`, uses no JavaScript (`<details>` expands and
//! collapses), and shows every scanned URL as text, never as a live link, so neither a click
//! nor a prefetch can reach a tracker. Everything taken from scanned content is escaped
//! (`& < > " '`, attributes included) after control characters are made visible.
//!
//! Sections: summary, findings by entity (with a bar chart), by document, by leak (IP,
//! user-agent, cookies, referrer, identifiers: which documents carry the recipient's
//! identity), skipped inputs. Document sections are rendered as they arrive and buffered,
//! since the summary comes first in the file.
//!
//! The file stays bounded on big runs: the summary, the entity table and chart and the leak
//! counts always cover every document, but the per-document sections stop after
//! [`MAX_DOC_SECTIONS`] documents or [`MAX_SECTION_BYTES`] of HTML, whichever comes first
//! (documents that could not be scanned are kept in preference to ones with tracking). The
//! "By message/page" section then says how many were left out and points to the JSON report,
//! which lists them all.

use std::io::Write;

use super::common::{
    excluded_sentence, is_notable, leak_labels, leaks_identity, nouns, party_str, signal_note,
    standing, Standing,
};
use super::{sanitize, ReportOptions, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Finding, Summary};

/// Documents listed by name under each leak (the counts are always complete).
const MAX_LEAK_DOCS: usize = 500;
/// Clean documents listed by name.
const MAX_CLEAN_LISTED: usize = 2000;
/// Documents with tracking or errors given a section of their own under "By message/page".
pub const MAX_DOC_SECTIONS: usize = 500;
/// HTML budget for those sections together.
pub const MAX_SECTION_BYTES: usize = 8 * 1024 * 1024;

/// One buffered document section.
struct Section {
    error: bool,
    html: String,
}

#[derive(Default)]
struct LeakTally {
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

pub struct HtmlReporter<W: Write> {
    out: W,
    command: Command,
    /// Shown document sections, in input order (bounded, see [`MAX_DOC_SECTIONS`]).
    sections: Vec<Section>,
    /// Bytes in `sections`.
    section_bytes: usize,
    /// Documents with tracking / errors whose section was left out.
    omitted_tracking: u64,
    omitted_errors: u64,
    clean: Vec<String>,
    clean_total: u64,
    /// IP, user-agent, cookies, referrer, identifiers (any), recipient identity.
    leaks: [LeakTally; 6],
}

impl<W: Write> HtmlReporter<W> {
    pub fn new(out: W, opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(HtmlReporter {
            out,
            command: opts.command,
            sections: Vec::new(),
            section_bytes: 0,
            omitted_tracking: 0,
            omitted_errors: 0,
            clean: Vec::new(),
            clean_total: 0,
            leaks: Default::default(),
        })
    }

    /// Whether a section of `len` bytes still fits.
    fn fits(&self, len: usize) -> bool {
        self.sections.len() < MAX_DOC_SECTIONS && self.section_bytes + len <= MAX_SECTION_BYTES
    }

    /// Keeps a document with tracking if the budget allows; otherwise counts it as left out.
    fn push_tracking(&mut self, html: String) {
        if self.fits(html.len()) {
            self.section_bytes += html.len();
            self.sections.push(Section { error: false, html });
        } else {
            self.omitted_tracking += 1;
        }
    }

    /// Keeps a document that could not be scanned, making room by dropping the latest
    /// tracking sections if need be (errors are few, small and the first thing to fix).
    fn push_error(&mut self, html: String) {
        while !self.fits(html.len()) {
            match self.sections.iter().rposition(|s| !s.error) {
                Some(i) => {
                    let dropped = self.sections.remove(i);
                    self.section_bytes -= dropped.html.len();
                    self.omitted_tracking += 1;
                }
                None => {
                    self.omitted_errors += 1;
                    return;
                }
            }
        }
        self.section_bytes += html.len();
        self.sections.push(Section { error: true, html });
    }
}

/// Escapes scanned text for HTML text and (quoted) attribute values.
pub fn esc(s: &str) -> String {
    let s = sanitize(s);
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn opt(s: Option<&str>) -> String {
    s.map(esc).unwrap_or_else(|| "–".to_string())
}

const CSS: &str = r#"
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de; --bad: #cf222e; --warn: #9a6700; --ok: #1a7f37; --bar: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --panel: #161b22; --line: #30363d; --bad: #f85149; --warn: #d29922; --ok: #3fb950; --bar: #f85149; } }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .3rem; margin-top: 2rem; }
nav a { margin-right: 1rem; color: inherit; }
.note { background: var(--panel); border-left: 4px solid var(--warn); padding: .5rem .8rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem; min-width: 8rem; }
.card b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--panel); }
td.n, th.n { text-align: right; }
code, .url { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.url { word-break: break-all; }
details { margin: .3rem 0; }
details.doc { border: 1px solid var(--line); border-radius: 6px; padding: .3rem .6rem; }
details.doc > summary { cursor: pointer; }
.badge { display: inline-block; border-radius: 10px; padding: 0 .5rem; font-size: 12px; font-weight: 600; color: #fff; }
.bad { background: var(--bad); } .warn { background: var(--warn); } .ok { background: var(--ok); } .muted { color: var(--muted); }
.err { color: var(--bad); }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
svg rect.bar { fill: var(--bar); }
ul.plain { padding-left: 1.2rem; }
"#;

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

/// What the document itself says, on one line: sender, recipients, sending platforms,
/// consent platforms, referrer policy, personal data in the page URL, redirects.
fn document_facts(doc: &DocumentReport) -> Vec<String> {
    let mut facts = Vec::new();
    if let Some(from) = &doc.sender {
        facts.push(format!("from {}", esc(from)));
    }
    if !doc.recipients.is_empty() {
        facts.push(format!("to {}", esc(&doc.recipients.join(", "))));
    }
    if !doc.platforms.is_empty() {
        let p: Vec<String> = doc
            .platforms
            .iter()
            .map(|p| format!("{} ({})", esc(&p.entity), esc(&p.evidence)))
            .collect();
        facts.push(format!("sent via {}", p.join("; ")));
    }
    if let Some(cp) = &doc.consent_platforms {
        facts.push(format!(
            "consent platforms: {}",
            if cp.is_empty() {
                "none found".to_string()
            } else {
                esc(&cp.join(", "))
            }
        ));
    }
    if let Some(r) = &doc.referrer {
        facts.push(format!(
            "referrer policy {} (from {}): third parties get {}",
            esc(&r.policy),
            r.from,
            r.sends
        ));
    }
    if let Some(p) = doc.personal_data_in_url.as_ref().filter(|p| !p.is_empty()) {
        facts.push(format!(
            "<span class=\"err\">personal data in page URL: {}</span>",
            esc(&p.join(", "))
        ));
    }
    if !doc.redirects.is_empty() {
        facts.push(format!(
            "reached via redirects: <span class=\"url\">{}</span>",
            esc(&doc.redirects.join(" → "))
        ));
    }
    facts
}

/// The findings table of a document, then its other requests in a collapsed one.
fn findings_tables(command: Command, notable: &[&Finding], other: &[&Finding]) -> String {
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
fn listed_more(out: &mut String, listed: &[String], total: usize) {
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
    fn tally_leaks(&mut self, src: &str, notable: &[&Finding]) {
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

    /// A document without tracking: counted, and listed by name while there is room.
    fn push_clean(&mut self, doc: &DocumentReport, src: &str, other: usize) {
        self.clean_total += 1;
        if self.clean.len() < MAX_CLEAN_LISTED {
            let t = doc
                .title
                .as_deref()
                .map(|t| format!(" — {}", esc(t)))
                .unwrap_or_default();
            self.clean.push(format!(
                "<li><code>{src}</code>{t} <span class=\"muted\">({other} other request(s))</span></li>"
            ));
        }
    }

    /// The top of the file: head (CSP, styles), title, navigation, the verdict.
    fn page_head(&self, sm: &Summary) -> String {
        let (one, many) = nouns(self.command);
        let mut h = String::with_capacity(32 * 1024);
        h.push_str(&format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"pixscan {}\">\n<title>pixscan {} report</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            esc(env!("CARGO_PKG_VERSION")),
            self.command
        ));
        h.push_str(&format!(
            "<h1>pixscan {} report</h1>\n<nav><a href=\"#summary\">Summary</a><a href=\"#entities\">By entity</a><a href=\"#documents\">By {one}</a><a href=\"#leaks\">By leak</a><a href=\"#skipped\">Skipped</a></nav>\n",
            self.command
        ));
        if let Some((status, word, reason)) = super::verdict(sm) {
            let class = match status {
                crate::model::RunStatus::Passed => "ok",
                crate::model::RunStatus::Failed => "bad",
                crate::model::RunStatus::Error => "warn",
            };
            h.push_str(&format!(
                "<p class=\"verdict\" id=\"verdict\"><span class=\"badge {class}\">{word}</span> {} ({} {many} scanned, {} failed, {} tracking finding(s))</p>\n",
                esc(reason),
                sm.scanned,
                sm.failed,
                sm.tracking_findings
            ));
        }
        h
    }

    /// The summary cards, filters, exclusions and the note.
    fn summary_section(&self, sm: &Summary) -> String {
        let (_, many) = nouns(self.command);
        let mut h = String::from("<section id=\"summary\"><h2>Summary</h2>\n<div class=\"cards\">");
        for (label, n) in [
            ("inputs", sm.inputs),
            ("scanned", sm.scanned),
            ("with tracking", sm.with_tracking),
            ("clean", sm.clean),
            ("failed", sm.failed),
            ("skipped", sm.skipped.len() as u64),
            ("tracking findings", sm.tracking_findings),
            ("all findings", sm.findings),
        ] {
            h.push_str(&format!("<div class=\"card\"><b>{n}</b>{label}</div>"));
        }
        h.push_str("</div>\n");
        if let Some(ft) = &sm.filtered {
            h.push_str(&format!(
                "<p>{}</p>\n",
                esc(&super::filter::summary_line(ft))
            ));
        }
        if sm.excluded > 0 {
            h.push_str(&format!(
                "<p>{}</p>\n",
                excluded_sentence(
                    sm.excluded,
                    self.command,
                    &format!("<code>{}</code>", crate::select::FLAGS)
                )
            ));
        }
        h.push_str(&format!(
            "<p>{} of {} scanned {many} make requests judged tracking; {} could not be scanned.</p>\n<p class=\"note\">{}</p>\n</section>\n",
            sm.with_tracking,
            sm.scanned,
            sm.failed,
            esc(signal_note(self.command))
        ));
        h
    }

    /// Findings by entity: the chart and the table.
    fn entity_section(&self, sm: &Summary) -> String {
        let (_, many) = nouns(self.command);
        let mut h = String::from("<section id=\"entities\"><h2>Findings by entity</h2>\n");
        if sm.by_entity.is_empty() {
            h.push_str("<p>No finding was attributed to a known entity.</p>\n");
        } else {
            h.push_str(&bar_chart(sm));
            h.push_str(&format!("<table><thead><tr><th>entity</th><th>category</th><th class=\"n\">tracking findings</th><th class=\"n\">findings</th><th class=\"n\">{many}</th></tr></thead><tbody>\n"));
            for e in &sm.by_entity {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                    esc(&e.entity),
                    opt(e.category.as_deref()),
                    e.tracking_findings,
                    e.findings,
                    e.documents
                ));
            }
            h.push_str("</tbody></table>\n");
        }
        h.push_str("</section>\n");
        h
    }

    /// The start of the section by document, with how many documents were left out.
    fn documents_intro(&self) -> String {
        let (one, many) = nouns(self.command);
        let cap = if self.command == Command::Site {
            "Pages"
        } else {
            "Messages"
        };
        let mut h = format!(
            "<section id=\"documents\"><h2>By {one}</h2>\n<p class=\"muted\">{cap} with tracking or errors; expand one for its findings. URLs are shown as text and never linked.</p>\n"
        );
        let omitted = self.omitted_tracking + self.omitted_errors;
        if omitted > 0 {
            let (noun, verb) = if omitted == 1 {
                (one, "is")
            } else {
                (many, "are")
            };
            let errors = if self.omitted_errors > 0 {
                format!(" ({} of them could not be scanned)", self.omitted_errors)
            } else {
                String::new()
            };
            h.push_str(&format!(
                "<p class=\"note\" id=\"omitted\">{omitted} more {noun} with tracking or errors {verb} not shown here{errors}; the JSON report (--format json / --output json=FILE) lists them all. To keep this file small, details are given for {} {many} (at most {MAX_DOC_SECTIONS} or {}, those that could not be scanned first); the summary, entity and leak tables cover every {one}.</p>\n",
                self.sections.len(),
                crate::units::size(MAX_SECTION_BYTES as u64)
            ));
        }
        h
    }

    /// The documents without tracking, collapsed, closing the section by document.
    fn clean_list(&self) -> String {
        let (_, many) = nouns(self.command);
        let mut t = String::new();
        if self.clean_total > 0 {
            t.push_str(&format!(
                "<details class=\"doc\"><summary><span class=\"badge ok\">clean</span> {} {many} without tracking</summary><ul class=\"plain\">\n",
                self.clean_total
            ));
            listed_more(&mut t, &self.clean, self.clean_total as usize);
            t.push_str("</ul></details>\n");
        }
        t.push_str("</section>\n");
        t
    }

    /// By leak: the counts, the documents that leak the recipient's identity, and the
    /// documents under each other leak.
    fn leak_section(&self) -> String {
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

/// The inputs that were skipped, and why.
fn skipped_section(sm: &Summary) -> String {
    let mut t = format!(
        "<section id=\"skipped\"><h2>Skipped ({})</h2>\n",
        sm.skipped.len()
    );
    if sm.skipped.is_empty() {
        t.push_str("<p>Nothing was skipped.</p>\n");
    } else {
        t.push_str("<table><thead><tr><th>input</th><th>reason</th></tr></thead><tbody>\n");
        for s in &sm.skipped {
            t.push_str(&format!(
                "<tr><td class=\"url\">{}</td><td>{}</td></tr>\n",
                esc(&s.url),
                esc(&s.reason)
            ));
        }
        t.push_str("</tbody></table>\n");
    }
    t.push_str("</section>\n");
    t
}

impl<W: Write> Reporter for HtmlReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let src = esc(&doc.source);
        if let Some(e) = &doc.error {
            self.push_error(format!(
                "<details class=\"doc\"><summary><span class=\"badge bad\">error</span> <code>{src}</code></summary><p class=\"err\">Could not be scanned: {}</p></details>\n",
                esc(e)
            ));
            return Ok(());
        }
        let notable: Vec<&Finding> = doc.findings.iter().filter(|f| is_notable(f)).collect();
        let other: Vec<&Finding> = doc.findings.iter().filter(|f| !is_notable(f)).collect();
        self.tally_leaks(&src, &notable);
        if notable.is_empty() {
            self.push_clean(doc, &src, other.len());
            return Ok(());
        }
        if !self.fits(0) {
            // The budget is spent: count the document, don't render it.
            self.omitted_tracking += 1;
            return Ok(());
        }
        let violations = notable
            .iter()
            .filter(|f| standing(f) == Standing::Violation)
            .count();
        let badge = if violations > 0 {
            format!("<span class=\"badge bad\">{violations} violation(s)</span>")
        } else {
            format!(
                "<span class=\"badge warn\">{} tracking</span>",
                notable.len()
            )
        };
        let title = doc
            .title
            .as_deref()
            .map(|t| format!(" — {}", esc(t)))
            .unwrap_or_default();
        let mut s = format!(
            "<details class=\"doc\"><summary>{badge} <code>{src}</code>{title}</summary>\n"
        );
        let facts = document_facts(doc);
        if !facts.is_empty() {
            s.push_str(&format!("<p>{}</p>\n", facts.join(" · ")));
        }
        s.push_str(&findings_tables(self.command, &notable, &other));
        s.push_str("</details>\n");
        self.push_tracking(s);
        Ok(())
    }

    fn finish(&mut self, sm: &Summary) -> std::io::Result<()> {
        let mut h = self.page_head(sm);
        h.push_str(&self.summary_section(sm));
        h.push_str(&self.entity_section(sm));
        h.push_str(&self.documents_intro());
        self.out.write_all(h.as_bytes())?;
        for sec in &self.sections {
            self.out.write_all(sec.html.as_bytes())?;
        }
        let mut t = self.clean_list();
        t.push_str(&self.leak_section());
        t.push_str(&skipped_section(sm));
        t.push_str(&format!(
            "<footer><p class=\"muted\">Generated by pixscan {}. {}</p></footer>\n</body>\n</html>\n",
            esc(env!("CARGO_PKG_VERSION")),
            esc(signal_note(self.command))
        ));
        self.out.write_all(t.as_bytes())?;
        self.out.flush()
    }
}

/// An inline SVG bar chart of tracking findings for the top entities.
fn bar_chart(sm: &Summary) -> String {
    let rows: Vec<_> = sm
        .by_entity
        .iter()
        .filter(|e| e.tracking_findings > 0)
        .take(20)
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let max = rows
        .iter()
        .map(|e| e.tracking_findings)
        .max()
        .unwrap_or(1)
        .max(1);
    let (label_w, bar_w, row_h) = (220.0, 460.0, 22.0);
    let height = rows.len() as f64 * row_h + 10.0;
    let mut s = format!(
        "<svg role=\"img\" aria-labelledby=\"chart-title\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\">\n<title id=\"chart-title\">Tracking findings by entity</title>\n",
        w = label_w + bar_w + 60.0
    );
    for (i, e) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 5.0;
        let w = (e.tracking_findings as f64 / max as f64 * bar_w).max(2.0);
        // At most 30 characters, the ellipsis included.
        let name = sanitize(&e.entity);
        let name = if name.chars().count() > 30 {
            crate::text::shorten(&name, 29)
        } else {
            name
        };
        s.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bh}\" rx=\"2\"></rect><text x=\"{vx:.1}\" y=\"{ty}\">{}</text>\n",
            esc(&name),
            e.tracking_findings,
            lx = label_w - 8.0,
            ty = y + 13.0,
            bh = row_h - 6.0,
            vx = label_w + w + 6.0,
        ));
    }
    s.push_str("</svg>\n");
    s
}
