//! Browser mode: how the page's run went, the cookie jar, localStorage, Google Consent Mode
//! signals, and what accepting consent unlocked (before and after, side by side).

use std::io::Write;

use super::paint::{DIM, RED};
use super::HumanReporter;
use crate::model::{
    BrowserRun, ConsentPhase, ConsentUnlocked, CookieReport, DocumentReport, GoogleConsentSignal,
    Party,
};
use crate::report::common::party_str;
use crate::report::sanitize;
use crate::text::shorten;

impl HumanReporter {
    /// Browser mode: the run, cookies, storage, Google Consent Mode, and what accepting
    /// consent unlocked (side by side).
    pub(super) fn browser_facts(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
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
