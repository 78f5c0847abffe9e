//! Human output, grouped by document. Styles are anstyle's, written through an anstream
//! `AutoStream` that passes them on when colour is on and strips them when it is off (the CLI
//! decides with anstream too: `--color`, `NO_COLOR`, `CLICOLOR`, `TERM=dumb`, a terminal).
//! Everything taken from scanned content passes through `sanitize`.

use std::io::Write;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

use super::common::{party_str, signal_note};
use super::{sanitize, Reporter};
use crate::model::Command;
use crate::model::{
    BrowserRun, ConsentPhase, ConsentUnlocked, CookieReport, DocumentReport, Finding,
    GoogleConsentSignal, Party, RunStatus, Summary, VerdictStatus,
};
use crate::text::shorten;

pub struct HumanReporter {
    out: AutoStream<Box<dyn Write>>,
    /// Show untracked remote resources too (otherwise only counted).
    pub verbose: bool,
    /// Skip the per-document detail (`--quiet`).
    quiet: bool,
    /// `eml` or `site`: the words of the closing note.
    command: Command,
}

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();
const GREEN: Style = AnsiColor::Green.on_default();

impl HumanReporter {
    /// `color`: pass styles on (`true`) or strip them (`false`).
    pub fn new(out: Box<dyn Write>, color: bool, verbose: bool) -> Self {
        let choice = if color {
            ColorChoice::Always
        } else {
            ColorChoice::Never
        };
        HumanReporter {
            out: AutoStream::new(out, choice),
            verbose,
            quiet: false,
            command: Command::Eml,
        }
    }

    /// The command whose words the report speaks (`eml` or `site`).
    pub fn command(mut self, command: Command) -> Self {
        self.command = command;
        self
    }

    /// Only the verdict and the summary (`--quiet`).
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    fn paint(&self, style: Style, s: &str) -> String {
        format!("{style}{s}{style:#}")
    }

    /// The word that opens a finding's line: its verdict, or without a policy stage,
    /// whether it is tracking.
    fn label(&self, f: &Finding) -> String {
        if let Some(v) = &f.verdict {
            match v.status {
                VerdictStatus::Violation => self.paint(RED, "VIOLATES"),
                VerdictStatus::Approved => self.paint(GREEN, "approved"),
                VerdictStatus::Baselined => self.paint(DIM, "baseline"),
                VerdictStatus::Allowed if f.tracking => self.paint(YELLOW, "TRACKING"),
                VerdictStatus::Allowed => self.paint(DIM, "request "),
            }
        } else if f.tracking {
            self.paint(RED, "TRACKING")
        } else {
            self.paint(DIM, "request ")
        }
    }

    /// One finding: its line (verdict, kind, who, party, host), the URL, its facts, then
    /// for tracking the sentence, and the details.
    fn finding(&mut self, f: &Finding) -> std::io::Result<()> {
        let who = match &f.entity {
            Some(e) => sanitize(e),
            None => "unknown entity".to_string(),
        };
        let times = if f.occurrences > 1 {
            format!(" ×{}", f.occurrences)
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "  {} {} {} · {} · {}{times}",
            self.label(f),
            self.paint(BOLD, f.kind.as_str()),
            who,
            party_str(f.party),
            sanitize(&f.host)
        )?;
        if !f.url.is_empty() {
            writeln!(
                self.out,
                "           {}",
                self.paint(YELLOW, &shorten(&sanitize(&f.url), 200))
            )?;
        }
        let facts = finding_facts(f);
        if !facts.is_empty() {
            writeln!(self.out, "           {}", facts.join(" · "))?;
        }
        if f.tracking {
            writeln!(self.out, "           {}", sanitize(&f.message))?;
        }
        self.finding_details(f)
    }

    /// What made the request, the evidence, what it leaks (tracking only), decoded tokens
    /// and where a tracked link goes.
    fn finding_details(&mut self, f: &Finding) -> std::io::Result<()> {
        if !f.initiators.is_empty() {
            let chain: Vec<String> = f
                .initiators
                .iter()
                .map(|u| shorten(&sanitize(u), 60))
                .collect();
            writeln!(
                self.out,
                "           {} {} → this request",
                self.paint(DIM, "fired by:"),
                chain.join(" → ")
            )?;
        }
        if !f.evidence.is_empty() {
            let ev: Vec<String> = f.evidence.iter().map(|e| sanitize(e)).collect();
            writeln!(
                self.out,
                "           {} {}",
                self.paint(DIM, "evidence:"),
                ev.join(" · ")
            )?;
        }
        let leaks = leaks(f);
        if f.tracking && !leaks.is_empty() {
            writeln!(
                self.out,
                "           {} {}",
                self.paint(DIM, "leaks:"),
                leaks.join(", ")
            )?;
        }
        for d in &f.decoded {
            writeln!(
                self.out,
                "           {} {} {}: {}",
                self.paint(DIM, "decoded"),
                sanitize(&d.location),
                d.encoding,
                shorten(&sanitize(&d.text), 160)
            )?;
        }
        if let Some(t) = &f.target {
            writeln!(
                self.out,
                "           {} {}",
                self.paint(DIM, "goes to:"),
                shorten(&sanitize(t), 160)
            )?;
        }
        Ok(())
    }
}

/// The facts line under a finding: account, consent, how the browser saw it, position.
fn finding_facts(f: &Finding) -> Vec<String> {
    let mut facts = Vec::new();
    if let Some(a) = &f.account {
        facts.push(format!("account {}", sanitize(a)));
    }
    if let Some(c) = f.consent {
        facts.push(format!("consent: {c}"));
    }
    if let Some(by) = f.seen_by {
        let how = f
            .runtime
            .as_ref()
            .map(|r| {
                format!(
                    " ({}, {})",
                    r.resource_type,
                    r.phase.as_str().replace('-', " ")
                )
            })
            .unwrap_or_default();
        facts.push(format!("seen by: {by}{how}"));
    }
    if let (Some(l), Some(c)) = (f.line, f.column) {
        facts.push(format!(
            "<{}> at line {l}, column {c}",
            sanitize(&f.element)
        ));
    }
    facts
}

/// What a request leaks, every identifier listed, safe for a terminal (the location is
/// scanned text; the rest of each label is pixscan's own words).
fn leaks(f: &Finding) -> Vec<String> {
    super::common::every_leak_label(f)
        .iter()
        .map(|l| sanitize(l))
        .collect()
}

impl HumanReporter {
    /// Browser mode: the run, cookies, storage, Google Consent Mode, and what accepting
    /// consent unlocked (side by side).
    fn browser_facts(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let Some(b) = &doc.browser else {
            return Ok(());
        };
        if let Some(e) = &b.error {
            return writeln!(
                self.out,
                "  {} could not load the page: {}",
                self.paint(RED, "browser:"),
                sanitize(e)
            );
        }
        self.browser_run(b)?;
        self.cookies(doc.cookies.as_deref().unwrap_or_default())?;
        if let Some(ls) = doc.local_storage.as_ref().filter(|l| !l.is_empty()) {
            let keys: Vec<String> = ls.iter().map(|s| sanitize(&s.key)).collect();
            writeln!(
                self.out,
                "  {} {}",
                self.paint(DIM, "localStorage:"),
                keys.join(", ")
            )?;
        }
        for g in &doc.google_consent {
            self.google_consent(g)?;
        }
        match &doc.consent_unlocked {
            Some(u) => self.consent_unlocked(u),
            None => Ok(()),
        }
    }

    /// How the page's browser run went, and its notes.
    fn browser_run(&mut self, b: &BrowserRun) -> std::io::Result<()> {
        writeln!(
            self.out,
            "  {} {} · load event {} · {} request(s), {} third-party · {} tracking before any consent · third-party cookies {}{}",
            self.paint(DIM, "browser:"),
            sanitize(&b.browser),
            b.load_ms.map(|m| format!("{m} ms")).unwrap_or_else(|| "not reached".into()),
            b.requests,
            b.third_party_requests,
            b.tracking_before_consent,
            b.third_party_cookies,
            if b.timed_out { " · stopped at --max-wait" } else { "" }
        )?;
        for n in &b.notes {
            writeln!(self.out, "           {}", sanitize(n))?;
        }
        Ok(())
    }

    /// The cookie jar (the first 40), one line each.
    fn cookies(&mut self, cookies: &[CookieReport]) -> std::io::Result<()> {
        if !cookies.is_empty() {
            writeln!(self.out, "  {}", self.paint(DIM, "cookies:"))?;
        }
        for c in cookies.iter().take(40) {
            writeln!(self.out, "    {}", cookie_line(c))?;
        }
        Ok(())
    }

    /// One Google request's declared consent next to what it sent.
    fn google_consent(&mut self, g: &GoogleConsentSignal) -> std::io::Result<()> {
        let states: Vec<String> = [
            ("ad_storage", &g.ad_storage),
            ("analytics_storage", &g.analytics_storage),
            ("ad_user_data", &g.ad_user_data),
            ("ad_personalization", &g.ad_personalization),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
        .collect();
        writeln!(
            self.out,
            "  {} gcs={} gcd={} ({}): {} — {}",
            self.paint(DIM, "Google Consent Mode:"),
            sanitize(g.gcs.as_deref().unwrap_or("-")),
            sanitize(g.gcd.as_deref().unwrap_or("-")),
            g.phase.as_str().replace('-', " "),
            states.join(", "),
            sanitize(&g.note)
        )
    }

    /// Before any interaction and after accepting, in two columns.
    fn consent_unlocked(&mut self, u: &ConsentUnlocked) -> std::io::Result<()> {
        let right_title = match &u.clicked {
            Some(c) => format!(
                "after clicking {}{}",
                sanitize(c),
                u.platform
                    .as_deref()
                    .map(|p| format!(" ({})", sanitize(p)))
                    .unwrap_or_default()
            ),
            None => "no accept button found".to_string(),
        };
        let left = consent_column(&u.before, "");
        let right = consent_column(&u.after, "+");
        writeln!(
            self.out,
            "  {} {:<48} │ {}",
            self.paint(DIM, "consent:"),
            "before any interaction",
            right_title
        )?;
        for i in 0..left.len().max(right.len()) {
            writeln!(
                self.out,
                "           {:<48} │ {}",
                left.get(i).map(String::as_str).unwrap_or(""),
                right.get(i).map(String::as_str).unwrap_or("")
            )?;
        }
        if let Some(n) = &u.note {
            writeln!(self.out, "           {}", sanitize(n))?;
        }
        Ok(())
    }
}

/// One cookie: name and domain, party, lifetime, owner, what set it, when, and why
/// Chromium refused it.
fn cookie_line(c: &CookieReport) -> String {
    let life = match c.days {
        Some(d) => format!("{d} days"),
        None if c.blocked.is_empty() => "session".to_string(),
        None => String::new(),
    };
    let mut parts = vec![
        format!("{} ({})", sanitize(&c.name), sanitize(&c.domain)),
        party_str(c.party.unwrap_or(Party::Third)).to_string(),
    ];
    if !life.is_empty() {
        parts.push(life);
    }
    if let Some(e) = &c.entity {
        parts.push(sanitize(e));
    }
    if let Some(by) = &c.set_by {
        parts.push(format!("set by {}", shorten(&sanitize(by), 90)));
    }
    if c.after_consent {
        parts.push("after consent".into());
    }
    if !c.blocked.is_empty() {
        parts.push(format!(
            "refused by Chromium: {}",
            sanitize(&c.blocked.join(", "))
        ));
    }
    parts.join(" · ")
}

/// One column of the consent comparison: tracking requests, then cookies (12 of each);
/// `new` marks the after column's counts (`+2 tracking request(s)`).
fn consent_column(p: &ConsentPhase, new: &str) -> Vec<String> {
    let mut v = vec![format!(
        "{}{} tracking request(s)",
        new,
        p.tracking_requests.len()
    )];
    v.extend(p.tracking_requests.iter().take(12).map(|r| {
        let r = r.split_once("://").map(|x| x.1).unwrap_or(r);
        format!("  {}", shorten(&sanitize(r), 44))
    }));
    if !p.cookies.is_empty() {
        v.push(format!("{}{} cookie(s)", new, p.cookies.len()));
        v.extend(
            p.cookies
                .iter()
                .take(12)
                .map(|c| format!("  {}", shorten(&sanitize(c), 44))),
        );
    }
    v
}

impl HumanReporter {
    /// The document's line: source, title, sender.
    fn document_head(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let title = doc
            .title
            .as_deref()
            .map(|t| format!("  “{}”", shorten(&sanitize(t), 80)))
            .unwrap_or_default();
        let from = doc
            .sender
            .as_deref()
            .map(|s| format!("  from {}", sanitize(s)))
            .unwrap_or_default();
        writeln!(
            self.out,
            "{}{title}{from}",
            self.paint(BOLD, &sanitize(&doc.source))
        )
    }

    /// Tracking findings, then the others (listed with `--verbose`, else counted), then
    /// how many the report filters hid.
    fn findings(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        let tracking: Vec<&Finding> = doc.findings.iter().filter(|f| f.tracking).collect();
        let other: Vec<&Finding> = doc.findings.iter().filter(|f| !f.tracking).collect();
        if tracking.is_empty() && doc.hidden_findings > 0 {
            writeln!(
                self.out,
                "  {}",
                self.paint(DIM, "no tracking among the findings shown")
            )?;
        } else if tracking.is_empty() {
            writeln!(self.out, "  {}", self.paint(GREEN, "no tracking found"))?;
        }
        for f in tracking {
            self.finding(f)?;
        }
        if self.verbose {
            for f in &other {
                self.finding(f)?;
            }
        } else if !other.is_empty() {
            writeln!(
                self.out,
                "  {} other remote request(s) not judged tracking (--verbose lists them)",
                other.len()
            )?;
        }
        if doc.hidden_findings > 0 {
            writeln!(
                self.out,
                "  {}",
                self.paint(
                    DIM,
                    &format!(
                        "{} more finding(s) hidden by the report filters (--kind/--entity/--category)",
                        doc.hidden_findings
                    )
                )
            )?;
        }
        Ok(())
    }

    /// Notes, then what the page itself says: consent platforms, referrer policy, personal
    /// data in its URL, the redirects that reached it.
    fn page_facts(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        for n in &doc.notes {
            writeln!(
                self.out,
                "  {} {}",
                self.paint(YELLOW, "note:"),
                sanitize(n)
            )?;
        }
        if let Some(cp) = &doc.consent_platforms {
            let cp = if cp.is_empty() {
                "none found".to_string()
            } else {
                cp.iter()
                    .map(|c| sanitize(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                self.out,
                "  {} {}",
                self.paint(DIM, "consent platforms:"),
                cp
            )?;
        }
        if let Some(r) = &doc.referrer {
            writeln!(
                self.out,
                "  {} {} (from {}): third parties get {}",
                self.paint(DIM, "referrer policy:"),
                sanitize(&r.policy),
                r.from,
                r.sends
            )?;
        }
        if let Some(p) = doc.personal_data_in_url.as_ref().filter(|p| !p.is_empty()) {
            writeln!(
                self.out,
                "  {} {}",
                self.paint(RED, "personal data in page URL:"),
                sanitize(&p.join(", "))
            )?;
        }
        if !doc.redirects.is_empty() {
            writeln!(
                self.out,
                "  {} {}",
                self.paint(DIM, "reached via redirects:"),
                sanitize(&doc.redirects.join(" → "))
            )?;
        }
        Ok(())
    }
}

impl Reporter for HumanReporter {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.document_head(doc)?;
        if let Some(e) = &doc.error {
            writeln!(self.out, "  {} {}", self.paint(RED, "error:"), sanitize(e))?;
            return Ok(());
        }
        self.findings(doc)?;
        self.page_facts(doc)?;
        self.browser_facts(doc)?;
        if !doc.platforms.is_empty() {
            let p: Vec<String> = doc
                .platforms
                .iter()
                .map(|p| format!("{} ({})", sanitize(&p.entity), sanitize(&p.evidence)))
                .collect();
            writeln!(
                self.out,
                "  {} {}",
                self.paint(DIM, "sent via:"),
                p.join("; ")
            )?;
        }
        writeln!(self.out)
    }

    fn finish(&mut self, s: &Summary) -> std::io::Result<()> {
        for sk in &s.skipped {
            writeln!(
                self.out,
                "skipped {}: {}",
                sanitize(&sk.url),
                sanitize(&sk.reason)
            )?;
        }
        if !s.by_entity.is_empty() {
            writeln!(self.out, "By entity:")?;
            for e in s.by_entity.iter().take(30) {
                writeln!(
                    self.out,
                    "  {:<32} {:<18} {} tracking finding(s) in {} document(s)",
                    sanitize(&e.entity),
                    sanitize(e.category.as_deref().unwrap_or("-")),
                    e.tracking_findings,
                    e.documents
                )?;
            }
        }
        if let Some(p) = &s.policy {
            // An errored run never prints a pass: the policy only judged what was read.
            let errored = matches!(super::verdict(s), Some((RunStatus::Error, _, _)));
            let verdict = if errored {
                self.paint(RED, "ERROR")
            } else if p.passed {
                self.paint(GREEN, "PASSED")
            } else {
                self.paint(RED, "FAILED")
            };
            writeln!(
                self.out,
                "Policy {verdict} ({}): {} violation(s) in {} document(s), {} approved, {} baselined, {} allowed.",
                sanitize(&p.config),
                p.violations,
                p.failing_documents,
                p.approved,
                p.baselined,
                p.allowed
            )?;
            if let Some((RunStatus::Error, _, reason)) = super::verdict(s) {
                writeln!(
                    self.out,
                    "  the run failed ({}): what could not be read was not judged.",
                    sanitize(reason)
                )?;
            }
            for f in &p.fixed {
                writeln!(self.out, "  fixed since the baseline: {}", sanitize(f))?;
            }
        }
        let excluded = if s.excluded > 0 {
            format!("; {} excluded by {}", s.excluded, crate::select::FLAGS)
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "{} input(s): {} scanned ({} with tracking, {} clean), {} failed; {} tracking finding(s){excluded}.",
            s.inputs, s.scanned, s.with_tracking, s.clean, s.failed, s.tracking_findings
        )?;
        if let Some(ft) = &s.filtered {
            writeln!(self.out, "{}", sanitize(&super::filter::summary_line(ft)))?;
        }
        writeln!(self.out, "{}", signal_note(self.command))?;
        self.out.flush()
    }
}
