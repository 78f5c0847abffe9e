//! Human output, grouped by document. Styles are anstyle's, written through an anstream
//! `AutoStream` that passes them on when colour is on and strips them when it is off (the CLI
//! decides with anstream too: `--color`, `NO_COLOR`, `CLICOLOR`, `TERM=dumb`, a terminal).
//! Everything taken from scanned content passes through `sanitize`.

use std::io::Write;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

use super::common::{party_str, signal_note};
use super::{sanitize, Reporter};
use crate::model::{DocumentReport, Finding, Party, RunStatus, Summary};
use crate::text::shorten;

pub struct HumanReporter {
    out: AutoStream<Box<dyn Write>>,
    /// Show untracked remote resources too (otherwise only counted).
    pub verbose: bool,
    /// Skip the per-document detail (`--quiet`).
    quiet: bool,
    /// `eml` or `site`: the words of the closing note.
    command: String,
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
            command: "eml".to_string(),
        }
    }

    /// The command whose words the report speaks (`eml` or `site`).
    pub fn command(mut self, command: &str) -> Self {
        self.command = command.to_string();
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

    fn finding(&mut self, f: &Finding) -> std::io::Result<()> {
        let label = if let Some(v) = &f.verdict {
            match v.status {
                crate::model::VerdictStatus::Violation => self.paint(RED, "VIOLATES"),
                crate::model::VerdictStatus::Approved => self.paint(GREEN, "approved"),
                crate::model::VerdictStatus::Baselined => self.paint(DIM, "baseline"),
                crate::model::VerdictStatus::Allowed if f.tracking => {
                    self.paint(YELLOW, "TRACKING")
                }
                crate::model::VerdictStatus::Allowed => self.paint(DIM, "request "),
            }
        } else if f.tracking {
            self.paint(RED, "TRACKING")
        } else {
            self.paint(DIM, "request ")
        };
        let who = match &f.entity {
            Some(e) => sanitize(e),
            None => "unknown entity".to_string(),
        };
        let party = party_str(f.party);
        let times = if f.occurrences > 1 {
            format!(" ×{}", f.occurrences)
        } else {
            String::new()
        };
        writeln!(
            self.out,
            "  {label} {} {} · {party} · {}{times}",
            self.paint(BOLD, f.kind.as_str()),
            who,
            sanitize(&f.host)
        )?;
        if !f.url.is_empty() {
            writeln!(
                self.out,
                "           {}",
                self.paint(YELLOW, &shorten(&sanitize(&f.url), 200))
            )?;
        }
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
                .map(|r| format!(" ({}, {})", r.resource_type, r.phase.replace('-', " ")))
                .unwrap_or_default();
            facts.push(format!("seen by: {by}{how}"));
        }
        if let (Some(l), Some(c)) = (f.line, f.column) {
            facts.push(format!(
                "<{}> at line {l}, column {c}",
                sanitize(&f.element)
            ));
        }
        if !facts.is_empty() {
            writeln!(self.out, "           {}", facts.join(" · "))?;
        }
        if f.tracking {
            writeln!(self.out, "           {}", sanitize(&f.message))?;
        }
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
        let mut leaks = Vec::new();
        if f.leaks.ip {
            leaks.push("IP address".to_string());
        }
        if f.leaks.user_agent {
            leaks.push("user-agent".to_string());
        }
        if f.leaks.cookies {
            leaks.push("cookies".to_string());
        }
        if f.leaks.referrer {
            leaks.push("referrer".to_string());
        }
        for id in &f.leaks.identifiers {
            leaks.push(format!(
                "{} in {} ({})",
                id.kind,
                sanitize(&id.location),
                id.encoding
            ));
        }
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
        let cookies = doc.cookies.as_deref().unwrap_or_default();
        if !cookies.is_empty() {
            writeln!(self.out, "  {}", self.paint(DIM, "cookies:"))?;
        }
        for c in cookies.iter().take(40) {
            let party = party_str(c.party.unwrap_or(Party::Third));
            let life = match c.days {
                Some(d) => format!("{d} days"),
                None if c.blocked.is_empty() => "session".to_string(),
                None => String::new(),
            };
            let mut parts = vec![
                format!("{} ({})", sanitize(&c.name), sanitize(&c.domain)),
                party.to_string(),
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
            writeln!(self.out, "    {}", parts.join(" · "))?;
        }
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
                g.phase.replace('-', " "),
                states.join(", "),
                sanitize(&g.note)
            )?;
        }
        if let Some(u) = &doc.consent_unlocked {
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
            let column = |p: &crate::model::ConsentPhase, new: &str| -> Vec<String> {
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
            };
            let left = column(&u.before, "");
            let right = column(&u.after, "+");
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
        }
        Ok(())
    }
}

impl Reporter for HumanReporter {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
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
        )?;
        if let Some(e) = &doc.error {
            writeln!(self.out, "  {} {}", self.paint(RED, "error:"), sanitize(e))?;
            return Ok(());
        }
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
        writeln!(self.out, "{}", signal_note(&self.command))?;
        self.out.flush()
    }
}
