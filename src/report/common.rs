//! What the report formats share: how a finding stands, what it leaks, where it is, and the
//! sentences several formats print the same way. Scanned text returned here is not escaped:
//! each format escapes for itself.

use crate::model::Command;
use crate::model::{Finding, Party, VerdictStatus};

/// The note every report carries.
pub const OPEN_SIGNAL_NOTE: &str = "A pixel load is an open signal (an image request): it shows that a message or page was displayed or fetched, never proof that a person read it.";

/// The closing note in the command's own words: mail has open signals and recipients; a
/// web page has page loads and visitors.
pub fn signal_note(command: Command) -> &'static str {
    if command == Command::Site {
        "A beacon or pixel request shows that a browser loaded the page, never proof that a visitor saw or read anything."
    } else {
        OPEN_SIGNAL_NOTE
    }
}

/// The nouns of a command's documents: (`message`, `messages`) or (`page`, `pages`).
pub fn nouns(command: Command) -> (&'static str, &'static str) {
    if command == Command::Site {
        ("page", "pages")
    } else {
        ("message", "messages")
    }
}

/// The sentence Markdown and HTML reports give the inputs `--include`/`--exclude` left out;
/// `flags` is the option names as the format writes code (`` `…` ``, `<code>…</code>`).
pub fn excluded_sentence(excluded: u64, command: Command, flags: &str) -> String {
    let what = if command == Command::Site {
        "page(s)"
    } else {
        "file(s)"
    };
    format!("{excluded} {what} left out by {flags} (not read, not fetched).")
}

/// How a finding stands once the policy (if any) has judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Fails the build. With no policy stage: every tracking finding.
    Violation,
    /// Tracking, but the policy neither fails nor approves it.
    Allowed,
    /// Tracking, known from the baseline.
    Baselined,
    /// Approved by a policy entry.
    Approved,
    /// Not tracking and not a violation: an informational remote request.
    Info,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Violation => "violation",
            Standing::Allowed => "allowed",
            Standing::Baselined => "baselined",
            Standing::Approved => "approved",
            Standing::Info => "informational",
        }
    }
}

/// Judges a finding: the policy's verdict when there is one, otherwise tracking findings
/// are violations and the rest is informational.
pub fn standing(f: &Finding) -> Standing {
    match &f.verdict {
        Some(v) => match v.status {
            VerdictStatus::Violation => Standing::Violation,
            VerdictStatus::Approved => Standing::Approved,
            VerdictStatus::Baselined => Standing::Baselined,
            VerdictStatus::Allowed if f.tracking => Standing::Allowed,
            VerdictStatus::Allowed => Standing::Info,
        },
        None if f.tracking => Standing::Violation,
        None => Standing::Info,
    }
}

/// Tracking findings and violations: what the CI formats list.
pub fn is_notable(f: &Finding) -> bool {
    f.tracking || standing(f) == Standing::Violation
}

/// What the request reveals, as short labels (`IP address`, `recipient-email in path
/// (zlib-base64)`), each identifier label once. Scanned text in the labels is not escaped:
/// callers escape for their format.
pub fn leak_labels(f: &Finding) -> Vec<String> {
    labels(f, false)
}

/// Like [`leak_labels`], but every identifier listed, repeats kept (a terminal reader sees
/// each occurrence).
pub fn every_leak_label(f: &Finding) -> Vec<String> {
    labels(f, true)
}

fn labels(f: &Finding, keep_repeats: bool) -> Vec<String> {
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
        let label = format!("{} in {} ({})", id.kind, id.location, id.encoding);
        if keep_repeats || !leaks.contains(&label) {
            leaks.push(label);
        }
    }
    leaks
}

/// Whether the request carries the recipient's identity (address, its hash, or a
/// per-recipient token).
pub fn leaks_identity(f: &Finding) -> bool {
    f.leaks.identifiers.iter().any(|i| i.kind.is_recipient())
}

pub fn party_str(p: Party) -> &'static str {
    match p {
        Party::First => "first party",
        Party::Third => "third party",
    }
}

/// `box.mbox#3` → (`box.mbox`, Some(3)).
pub fn split_mbox(source: &str) -> (&str, Option<&str>) {
    if let Some((path, n)) = source.rsplit_once('#') {
        if !path.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            return (path, Some(n));
        }
    }
    (source, None)
}

pub fn is_url(source: &str) -> bool {
    let l = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// The local file a document came from, as a forward-slash path (relative to the working
/// directory when it lies under it), or None for URLs and stdin.
pub fn local_path(source: &str) -> Option<String> {
    if is_url(source) || source.is_empty() || source == "<stdin>" || source == "-" {
        return None;
    }
    let (path, _) = split_mbox(source);
    let mut p = std::path::PathBuf::from(path);
    if p.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = p.strip_prefix(&cwd) {
                p = rel.to_path_buf();
            }
        }
    }
    Some(crate::text::normalize_path(&p.to_string_lossy()))
}

/// File, line and column for a finding when the document is a local file whose lines the
/// finding refers to (site mode: HTML files; mail lines are inside the decoded HTML part).
pub fn file_position(
    command: Command,
    source: &str,
    f: &Finding,
) -> Option<(String, u64, Option<u64>)> {
    if command != Command::Site {
        return None;
    }
    let line = f.line.filter(|l| *l > 0)?;
    let path = local_path(source)?;
    Some((path, line, f.column.filter(|c| *c > 0)))
}

/// `Some(n)` when a mail finding's line is a line of the message's HTML part.
pub fn html_part_line(command: Command, f: &Finding) -> Option<u64> {
    (command == Command::Eml).then_some(f.line).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_mbox_sources() {
        assert_eq!(split_mbox("a/box.mbox#12"), ("a/box.mbox", Some("12")));
        assert_eq!(split_mbox("a/b#c"), ("a/b#c", None));
        assert_eq!(local_path("./a\\b.eml").as_deref(), Some("a/b.eml"));
        assert_eq!(local_path("https://x.example/"), None);
    }
}
