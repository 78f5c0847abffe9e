//! `--format markdown`: a GitHub-flavoured Markdown report for PR comments and
//! `$GITHUB_STEP_SUMMARY` (which takes at most 1 MiB: the report is cut at a document
//! boundary to fit, with a note).
//!
//! Layout: heading, summary table, table by entity, then one table of tracking findings per
//! document (documents without tracking are only counted), documents that could not be
//! scanned, skipped inputs, and the open-signal note.
//!
//! Everything from scanned content goes through [`cell`] (text) or [`code_url`] (URLs):
//! Markdown metacharacters are backslash-escaped, `<`, `>` and `&` become entities, line
//! breaks become spaces, `www.`, `scheme:` and `@mention`/`#123` patterns are broken so a
//! hostile subject or URL can't make a link, an image, raw HTML, a mention or a table cell.
//! URLs are shown shortened inside code spans, with the characters that could end the span
//! or the cell percent-encoded.

use std::io::Write;

use super::common::{
    excluded_sentence, is_notable, leak_labels, nouns, party_str, signal_note, split_mbox,
    standing, Standing,
};
use super::{sanitize, ReportOptions, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Finding, Summary};

/// GitHub's limit for a step summary.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Room kept for the parts written after the documents.
const TAIL_RESERVE: usize = 64 * 1024;

pub struct MarkdownReporter<W: Write> {
    out: W,
    command: Command,
    sections: String,
    shown: u64,
    not_shown: u64,
    clean: u64,
    failed: Vec<String>,
    failed_not_shown: u64,
}

impl<W: Write> MarkdownReporter<W> {
    pub fn new(out: W, opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(MarkdownReporter {
            out,
            command: opts.command,
            sections: String::new(),
            shown: 0,
            not_shown: 0,
            clean: 0,
            failed: Vec::new(),
            failed_not_shown: 0,
        })
    }
}

/// Escapes scanned text for a Markdown table cell or paragraph.
pub fn cell(s: &str) -> String {
    let s = sanitize(s);
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let word_start = prev.is_none_or(|p| !p.is_alphanumeric());
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' | '\t' => out.push(' '),
            '@' | '#' => {
                out.push('\\');
                out.push(c);
                // `@user` mentions and `#123` references are linked by GitHub even when
                // escaped; a zero-width space after the sign keeps them plain text.
                let next = chars.get(i + 1);
                if word_start && next.is_some_and(|n| n.is_alphanumeric()) {
                    out.push('\u{200B}');
                }
            }
            '.' => {
                // Break `www.` autolinks.
                let tail: String = chars[i.saturating_sub(3)..i].iter().collect();
                if tail.eq_ignore_ascii_case("www") {
                    out.push('\\');
                }
                out.push('.');
            }
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '!' | '|' | '~' | ':' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A URL for a cell: shortened to `max` characters, in a code span, with the characters
/// that could end the span or the table cell (or smuggle HTML) percent-encoded.
pub fn code_url(url: &str, max: usize) -> String {
    let mut body = String::new();
    for (n, c) in url.chars().enumerate() {
        if n >= max {
            body.push('…');
            break;
        }
        match c {
            '`' | '|' | '<' | '>' | '"' | '\\' | ' ' => {
                body.push_str(&format!("%{:02X}", c as u32))
            }
            c if c.is_control()
                || c.is_whitespace()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}') =>
            {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    body.push_str(&format!("%{b:02X}"));
                }
            }
            c => body.push(c),
        }
    }
    if body.is_empty() {
        "(inline)".to_string()
    } else {
        format!("`{body}`")
    }
}

/// Host + path of a URL without its query (which holds the per-recipient tokens), for a
/// short "where" column.
fn short_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let mut s = format!("{}{}", u.host_str().unwrap_or(""), u.path());
            if u.query().is_some() {
                s.push_str("?…");
            }
            s
        }
        Err(_) => url.to_string(),
    }
}

fn finding_row(command: Command, f: &Finding) -> String {
    let st = standing(f);
    let kind = if st == Standing::Violation {
        format!("**{}**", f.kind.as_str())
    } else {
        format!("{} ({})", f.kind.as_str(), st.as_str())
    };
    let entity = f
        .entity
        .as_deref()
        .map(cell)
        .unwrap_or_else(|| "unknown".into());
    let consent = f.consent.map_or("–", |c| c.as_str());
    let account = f.account.as_deref().map(cell).unwrap_or_else(|| "–".into());
    let mut place = if f.url.is_empty() {
        format!("inline &lt;{}&gt;", cell(&f.element))
    } else {
        code_url(&short_url(&f.url), 60)
    };
    if let Some(l) = f.line {
        if command == Command::Eml {
            place.push_str(&format!(" (HTML line {l})"));
        } else {
            place.push_str(&format!(" line {l}"));
        }
    }
    let leaks = leak_labels(f);
    let leaks = if leaks.is_empty() {
        "–".to_string()
    } else {
        cell(&leaks.join(", "))
    };
    format!(
        "| {kind} | {entity} | {} | {consent} | {account} | {place} | {leaks} |\n",
        party_str(f.party)
    )
}

/// A document's heading: its source (and mbox message), then its title and sender.
fn document_heading(doc: &DocumentReport) -> String {
    let mut s = String::new();
    let (source, mbox) = split_mbox(&doc.source);
    s.push_str(&format!("### {}", cell(source)));
    if let Some(n) = mbox {
        s.push_str(&format!(" (message {n})"));
    }
    s.push('\n');
    if let Some(t) = &doc.title {
        s.push_str(&format!("\n**{}**", cell(t)));
        if let Some(from) = &doc.sender {
            s.push_str(&format!(" — from {}", cell(from)));
        }
        s.push('\n');
    }
    s
}

/// What the document itself says, on one line: consent platforms, referrer policy, personal
/// data in the page URL, the sending platforms.
fn document_facts(doc: &DocumentReport) -> Vec<String> {
    let mut facts = Vec::new();
    if let Some(cp) = &doc.consent_platforms {
        facts.push(format!(
            "consent platforms: {}",
            if cp.is_empty() {
                "none found".to_string()
            } else {
                cell(&cp.join(", "))
            }
        ));
    }
    if let Some(r) = &doc.referrer {
        facts.push(format!(
            "referrer policy {} ({}): third parties get {}",
            cell(&r.policy),
            r.from,
            r.sends
        ));
    }
    if let Some(p) = doc.personal_data_in_url.as_ref().filter(|p| !p.is_empty()) {
        facts.push(format!(
            "personal data in page URL: {}",
            cell(&p.join(", "))
        ));
    }
    if !doc.platforms.is_empty() {
        let mut p: Vec<String> = doc.platforms.iter().map(|p| cell(&p.entity)).collect();
        p.dedup();
        facts.push(format!("sent via {}", p.join(", ")));
    }
    facts
}

/// The table by entity (the first 100).
fn by_entity(sm: &Summary, many: &str) -> String {
    let mut s = format!("### By entity\n\n| entity | category | tracking findings | findings | {many} |\n|---|---|---:|---:|---:|\n");
    for e in sm.by_entity.iter().take(100) {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            cell(&e.entity),
            e.category
                .as_deref()
                .map(cell)
                .unwrap_or_else(|| "–".into()),
            e.tracking_findings,
            e.findings,
            e.documents
        ));
    }
    if sm.by_entity.len() > 100 {
        s.push_str(&format!(
            "\n{} more entities not shown.\n",
            sm.by_entity.len() - 100
        ));
    }
    s.push('\n');
    s
}

/// `s` cut at a line end so that it fits in `max` bytes.
fn cut_at_line(s: &mut String, max: usize) {
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = s[..cut].rfind('\n').map_or(0, |i| i + 1);
    s.truncate(cut);
}

impl<W: Write> MarkdownReporter<W> {
    /// What comes before the document sections: heading, verdict, summary table, filters,
    /// exclusions, the table by entity.
    fn head(&self, sm: &Summary) -> String {
        let (one, many) = nouns(self.command);
        let mut head = String::new();
        head.push_str(&format!("## pixscan {} report\n\n", self.command));
        if let Some((status, word, reason)) = super::verdict(sm) {
            let mark = match status {
                crate::model::RunStatus::Passed => "✅",
                crate::model::RunStatus::Failed => "❌",
                crate::model::RunStatus::Error => "⚠️",
            };
            head.push_str(&format!(
                "**{mark} {word}**: {} ({} {many} scanned, {} failed, {} tracking finding(s)).\n\n",
                cell(reason),
                sm.scanned,
                sm.failed,
                sm.tracking_findings
            ));
        }
        head.push_str(&format!(
            "{} of {} scanned {many} load trackers ({} tracking finding(s)).\n\n",
            sm.with_tracking, sm.scanned, sm.tracking_findings
        ));
        head.push_str("| inputs | scanned | with tracking | clean | failed | skipped | tracking findings | all findings |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        head.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n\n",
            sm.inputs,
            sm.scanned,
            sm.with_tracking,
            sm.clean,
            sm.failed,
            sm.skipped.len(),
            sm.tracking_findings,
            sm.findings
        ));
        if let Some(ft) = &sm.filtered {
            head.push_str(&format!("{}\n\n", cell(&super::filter::summary_line(ft))));
        }
        if sm.excluded > 0 {
            head.push_str(&excluded_sentence(
                sm.excluded,
                self.command,
                &format!("`{}`", crate::select::FLAGS),
            ));
            head.push_str("\n\n");
        }
        if !sm.by_entity.is_empty() {
            head.push_str(&by_entity(sm, many));
        }
        if self.shown + self.not_shown > 0 {
            head.push_str(&format!("### Tracking by {one}\n\n"));
        }
        head
    }

    /// What comes after them: documents that could not be scanned, skipped inputs, the
    /// note; cut to [`TAIL_RESERVE`] if need be.
    fn tail(&self, sm: &Summary) -> String {
        let mut tail = String::new();
        if !self.failed.is_empty() {
            tail.push_str(&format!("### Could not be scanned ({})\n\n", sm.failed));
            for l in &self.failed {
                tail.push_str(l);
            }
            if self.failed_not_shown > 0 {
                tail.push_str(&format!("- … and {} more\n", self.failed_not_shown));
            }
            tail.push('\n');
        }
        if !sm.skipped.is_empty() {
            tail.push_str(&format!("### Skipped ({})\n\n", sm.skipped.len()));
            for s in sm.skipped.iter().take(200) {
                tail.push_str(&format!(
                    "- {}: {}\n",
                    code_url(&s.url, 200),
                    cell(&s.reason)
                ));
            }
            if sm.skipped.len() > 200 {
                tail.push_str(&format!("- … and {} more\n", sm.skipped.len() - 200));
            }
            tail.push('\n');
        }
        tail.push_str(&format!("> {}\n", signal_note(self.command)));
        if tail.len() > TAIL_RESERVE {
            cut_at_line(&mut tail, TAIL_RESERVE);
            tail.push_str(&format!(
                "\n*Truncated to fit 1 MiB.*\n\n> {}\n",
                signal_note(self.command)
            ));
        }
        tail
    }

    /// The document sections that fit in `budget` bytes, cut at a section start, and how
    /// many documents with tracking are not shown.
    fn fit_sections(&mut self, budget: usize) -> (String, u64) {
        let mut sections = std::mem::take(&mut self.sections);
        let mut dropped = self.not_shown;
        if sections.len() > budget {
            let mut cut = budget;
            while !sections.is_char_boundary(cut) {
                cut -= 1;
            }
            let keep = sections[..cut].rfind("\n### ").map_or(0, |i| i + 1);
            dropped += sections[keep..].matches("\n### ").count() as u64
                + u64::from(sections[keep..].starts_with("### "));
            sections.truncate(keep);
        }
        (sections, dropped)
    }
}

impl<W: Write> Reporter for MarkdownReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        if let Some(e) = &doc.error {
            let line = format!("- {}: {}\n", code_url(&doc.source, 200), cell(e));
            if self.failed.len() < 1000 {
                self.failed.push(line);
            } else {
                self.failed_not_shown += 1;
            }
            return Ok(());
        }
        let notable: Vec<&Finding> = doc.findings.iter().filter(|f| is_notable(f)).collect();
        if notable.is_empty() {
            self.clean += 1;
            return Ok(());
        }
        let mut s = document_heading(doc);
        let facts = document_facts(doc);
        if !facts.is_empty() {
            s.push_str(&format!("\n{}\n", facts.join(" · ")));
        }
        s.push_str("\n| kind | entity | party | consent | account | where | leaks |\n|---|---|---|---|---|---|---|\n");
        for f in &notable {
            s.push_str(&finding_row(self.command, f));
        }
        let other = doc.findings.len() - notable.len();
        if other > 0 {
            s.push_str(&format!(
                "\n{other} other remote request(s) not judged tracking.\n"
            ));
        }
        s.push('\n');
        if self.sections.len() + s.len() <= MAX_BYTES {
            self.sections.push_str(&s);
            self.shown += 1;
        } else {
            self.not_shown += 1;
        }
        Ok(())
    }

    fn finish(&mut self, sm: &Summary) -> std::io::Result<()> {
        let (one, many) = nouns(self.command);
        let head = self.head(sm);
        let tail = self.tail(sm);
        // Fit the document sections in what is left of 1 MiB, cutting at a section start.
        let budget = MAX_BYTES.saturating_sub(head.len() + tail.len() + 512);
        let (sections, dropped) = self.fit_sections(budget);
        let shown = self.shown + self.not_shown - dropped;
        self.out.write_all(head.as_bytes())?;
        self.out.write_all(sections.as_bytes())?;
        if dropped > 0 {
            writeln!(
                self.out,
                "*Report truncated to fit 1 MiB: {dropped} more {} with tracking not shown ({shown} shown); see the JSON, SARIF or HTML report for all of them.*\n",
                if dropped == 1 { one } else { many }
            )?;
        }
        self.out.write_all(tail.as_bytes())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_inert() {
        let c = cell(
            "<script>x</script> ](javascript:alert(1)) | *a* _b_ `c` # @octo www.x.example\nnext",
        );
        assert!(!c.contains('<') && !c.contains('>'));
        assert!(!c.replace("\\]", "").contains("]("));
        assert!(!c.contains('\n'));
        assert!(!c.contains(" | ") && !c.contains("@o"));
        assert!(c.contains("www\\."));
        assert!(c.contains("javascript\\:"));
        let u = code_url("https://x.example/a|b`c<d>", 100);
        assert_eq!(u, "`https://x.example/a%7Cb%60c%3Cd%3E`");
    }
}
