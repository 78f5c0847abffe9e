//! One finding: its line (verdict, kind, who, party, host), the URL, its facts, the
//! sentence for tracking, then what made the request, the evidence, what it leaks, decoded
//! tokens and where a tracked link goes.

use std::io::Write;

use super::paint::{BOLD, DIM, YELLOW};
use super::HumanReporter;
use crate::model::Finding;
use crate::report::common::party_str;
use crate::report::sanitize;
use crate::text::shorten;

impl HumanReporter {
    /// One finding: its line (verdict, kind, who, party, host), the URL, its facts, then
    /// for tracking the sentence, and the details.
    pub(super) fn finding(&mut self, f: &Finding) -> std::io::Result<()> {
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
    crate::report::common::every_leak_label(f)
        .iter()
        .map(|l| sanitize(l))
        .collect()
}
