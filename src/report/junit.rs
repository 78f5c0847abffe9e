//! `--format junit`: JUnit XML for CI test dashboards.
//!
//! One `<testsuite name="pixscan eml|site">` inside `<testsuites>`; one `<testcase
//! classname="<command>" name="<source>">` per document. A document with violations (with
//! no policy stage: tracking findings) gets a `<failure>` listing them; a document that could
//! not be scanned gets an `<error>`; every skipped input is a testcase with `<skipped>`.
//! `system-out` counts the informational findings. Testcases are buffered because the counts
//! come first in the XML. Everything from scanned content is escaped, and characters XML 1.0
//! forbids (control characters other than tab, newline and carriage return) are dropped.

use std::io::Write;

use super::common::{leak_labels, party_str, signal_note, standing, Standing};
use super::{sanitize, ReportOptions, Reporter};
use crate::model::Command;
use crate::model::{DocumentReport, Finding, Summary};

pub struct JunitReporter<W: Write> {
    out: W,
    command: Command,
    cases: String,
    tests: u64,
    failures: u64,
    errors: u64,
}

impl<W: Write> JunitReporter<W> {
    pub fn new(out: W, opts: &ReportOptions) -> std::io::Result<Self> {
        Ok(JunitReporter {
            out,
            command: opts.command,
            cases: String::new(),
            tests: 0,
            failures: 0,
            errors: 0,
        })
    }
}

/// Whether XML 1.0 allows the character at all.
fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text content.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| xml_allowed(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (double-quoted); whitespace is kept as character references
/// so attribute-value normalisation doesn't change it.
pub fn xml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| xml_allowed(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

fn describe(f: &Finding) -> String {
    // Control characters other than line breaks are made visible, as in terminal output.
    super::sanitize_lines(&describe_raw(f))
}

fn describe_raw(f: &Finding) -> String {
    let mut s = format!(
        "{} {} ({}, {})",
        f.kind.as_str(),
        f.entity.as_deref().unwrap_or("unknown entity"),
        party_str(f.party),
        f.host
    );
    if let Some(l) = f.line {
        s.push_str(&format!(" at line {l}"));
        if let Some(c) = f.column {
            s.push_str(&format!(", column {c}"));
        }
    }
    s.push_str(&format!("\n    {}", f.message.trim()));
    let leaks = leak_labels(f);
    if !leaks.is_empty() {
        s.push_str(&format!("\n    leaks: {}", leaks.join(", ")));
    }
    if !f.url.is_empty() {
        s.push_str(&format!("\n    url: {}", f.url));
    }
    if let Some(v) = &f.verdict {
        s.push_str(&format!("\n    policy: {}", v.reason));
    }
    s
}

impl<W: Write> Reporter for JunitReporter<W> {
    fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
        self.tests += 1;
        let mut case = format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            xml_attr(self.command.as_str()),
            xml_attr(&sanitize(&doc.source))
        );
        if let Some(e) = &doc.error {
            self.errors += 1;
            case.push_str(&format!(
                "      <error message=\"{}\" type=\"scan-error\">{}: could not be scanned: {}</error>\n",
                xml_attr(&sanitize(e)),
                xml_text(&sanitize(&doc.source)),
                xml_text(&sanitize(e))
            ));
        } else {
            let violations: Vec<&Finding> = doc
                .findings
                .iter()
                .filter(|f| standing(f) == Standing::Violation)
                .collect();
            if !violations.is_empty() {
                self.failures += 1;
                let mut entities: Vec<&str> = violations
                    .iter()
                    .map(|f| f.entity.as_deref().unwrap_or("unknown entity"))
                    .collect();
                entities.sort_unstable();
                entities.dedup();
                let message = format!(
                    "{} violation(s): {}",
                    violations.len(),
                    sanitize(&entities.join(", "))
                );
                let body: Vec<String> = violations.iter().map(|f| describe(f)).collect();
                case.push_str(&format!(
                    "      <failure message=\"{}\" type=\"tracking\">{}\n\n{}</failure>\n",
                    xml_attr(&message),
                    xml_text(&body.join("\n")),
                    xml_text(signal_note(self.command))
                ));
            }
            let info = doc
                .findings
                .iter()
                .filter(|f| standing(f) == Standing::Info)
                .count();
            let accepted = doc
                .findings
                .iter()
                .filter(|f| {
                    matches!(
                        standing(f),
                        Standing::Approved | Standing::Baselined | Standing::Allowed
                    )
                })
                .count();
            let mut out =
                format!("{info} informational finding(s) (remote requests not judged tracking)");
            if accepted > 0 {
                out.push_str(&format!(
                    "; {accepted} tracking finding(s) approved, baselined or allowed by the policy"
                ));
            }
            if let Some(t) = &doc.title {
                out.push_str(&format!("\ntitle: {}", sanitize(t)));
            }
            case.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml_text(&out)
            ));
        }
        case.push_str("    </testcase>\n");
        self.cases.push_str(&case);
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        let skipped = summary.skipped.len() as u64;
        for s in &summary.skipped {
            self.cases.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                xml_attr(self.command.as_str()),
                xml_attr(&sanitize(&s.url)),
                xml_attr(&sanitize(&s.reason))
            ));
        }
        let tests = self.tests + skipped;
        let name = format!("pixscan {}", self.command);
        write!(
            self.out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pixscan\" tests=\"{tests}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{skipped}\">\n  <testsuite name=\"{n}\" tests=\"{tests}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{skipped}\">\n    <properties>\n      <property name=\"version\" value=\"{v}\"/>\n      <property name=\"note\" value=\"{note}\"/>\n    </properties>\n",
            f = self.failures,
            e = self.errors,
            n = xml_attr(&name),
            v = xml_attr(env!("CARGO_PKG_VERSION")),
            note = xml_attr(signal_note(self.command)),
        )?;
        self.out.write_all(self.cases.as_bytes())?;
        write!(
            self.out,
            "    <system-out>{}</system-out>\n  </testsuite>\n</testsuites>\n",
            xml_text(&format!(
                "{} input(s): {} scanned ({} with tracking, {} clean), {} failed; {} tracking finding(s). {}",
                summary.inputs,
                summary.scanned,
                summary.with_tracking,
                summary.clean,
                summary.failed,
                summary.tracking_findings,
                signal_note(self.command)
            ))
        )?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_strips() {
        assert_eq!(xml_text("a<b>&\u{1b}[31m\u{0}"), "a&lt;b&gt;&amp;[31m");
        assert_eq!(xml_attr("\"'\n"), "&quot;&apos;&#10;");
        assert_eq!(xml_text("\u{FFFE}\u{FFFF}ok"), "ok");
    }
}
