//! Mail inputs: `.eml` files, folders (recursive), mbox files, Maildir folders and stdin,
//! enumerated lazily in a stable order (mbox files are streamed, never loaded whole), and
//! parsed into the parts the analysis needs. Nothing here touches the network.
//!
//! Layout: this module plans the inputs and reads each file or stdin; `walk` lists input
//! folders, `mbox` streams an mbox, `parse` turns one message into a [`MailDocument`].

mod mbox;
mod parse;
mod walk;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::select::PathSelect;
use crate::shard::{file_name_key, Shard};
use mbox::mbox;
pub use parse::{parse, MailDocument};
pub use walk::mailboxes;
use walk::walk_dir;

/// One message to scan (or the reason it can't be read).
#[derive(Debug)]
pub struct MailInput {
    /// `path`, `box.mbox#12` (1-based), or `<stdin>`.
    pub source: String,
    pub bytes: Result<Vec<u8>, String>,
}

pub use crate::model::Skipped;

#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    /// Messages larger than this are reported as errors instead of parsed.
    pub max_message_bytes: u64,
}

impl Default for InputLimits {
    fn default() -> Self {
        InputLimits {
            max_message_bytes: 100 * 1024 * 1024,
        }
    }
}

/// Enumerates messages from the given paths, sending skipped files to `skipped`.
pub fn inputs<'a>(
    paths: &'a [PathBuf],
    limits: InputLimits,
    skipped: &'a mut Vec<Skipped>,
) -> impl Iterator<Item = MailInput> + 'a {
    plan(paths, &PathSelect::default())
        .inputs
        .into_iter()
        .flat_map(move |e| e.messages(limits, skipped))
}

/// What a run will read: every file, stdin or missing path, in order, found before any is
/// read (so the progress line knows the total).
#[derive(Debug, Default)]
pub struct Plan {
    pub inputs: Vec<PlannedInput>,
    /// Files under the input folders left out by `--include`/`--exclude` (never opened).
    pub excluded: u64,
    /// `--shard`: files left out by `--include`/`--exclude` that another shard counts.
    pub excluded_elsewhere: u64,
}

/// An input's messages, read lazily (on whichever scanning thread reads next).
pub type Messages = Box<dyn Iterator<Item = MailInput> + Send>;

/// One planned input: a file (an .eml, an mbox…), stdin, or a path that failed.
#[derive(Debug)]
pub struct PlannedInput {
    entry: Entry,
    /// Its `--shard` key (see [`crate::shard`]): the path below the folder given, a named
    /// file's name, `-` for stdin.
    key: String,
}

impl PlannedInput {
    /// Its messages, read lazily (an mbox is streamed); files that are not mail go to
    /// `skipped`.
    pub fn messages(self, limits: InputLimits, skipped: &mut Vec<Skipped>) -> Messages {
        self.entry.messages(limits, skipped)
    }

    /// Its `--shard` key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether it may hold more than one message (stdin, or a file that is or may be an
    /// mbox, by name or by its first bytes): a shard that does not own its first message
    /// must still read it for the others. A file that cannot be opened holds one item,
    /// its error.
    pub fn may_hold_many(&self) -> bool {
        match &self.entry {
            Entry::Stdin => true,
            Entry::File(path, _) => {
                if is_named_mbox(path) {
                    return true;
                }
                // The start `messages` sniffs: a BOM and `From `.
                let mut head = [0u8; 8];
                let n = File::open(path)
                    .and_then(|mut f| {
                        let mut n = 0;
                        while n < head.len() {
                            match f.read(&mut head[n..])? {
                                0 => break,
                                k => n += k,
                            }
                        }
                        Ok(n)
                    })
                    .unwrap_or(0);
                sniff(&head[..n]) == Sniff::Mbox
            }
            Entry::Missing(_) | Entry::Unreadable(..) => false,
        }
    }
}

/// Walks the given paths. Files named on the command line are always inputs; files found
/// in folders are subject to `select` (`--include`/`--exclude`), and those left out are
/// counted.
pub fn plan(paths: &[PathBuf], select: &PathSelect) -> Plan {
    plan_shard(paths, select, &Shard::WHOLE)
}

/// As [`plan`], for one shard of a `--shard` split: every input is still planned (the
/// scan decides which of its messages are this shard's), but files `select` leaves out
/// are counted only by the shard that owns them (the others count them in
/// `excluded_elsewhere`).
pub fn plan_shard(paths: &[PathBuf], select: &PathSelect, shard: &Shard) -> Plan {
    let mut plan = Plan::default();
    let mut files: Vec<PlannedInput> = Vec::new();
    for p in paths {
        let (entry, key) = if p.as_os_str() == "-" {
            (Entry::Stdin, "-".to_string())
        } else if p.is_dir() {
            let (mine, elsewhere) = walk_dir(p, &mut files, select, shard);
            plan.excluded += mine;
            plan.excluded_elsewhere += elsewhere;
            continue;
        } else if p.exists() {
            (Entry::File(p.clone(), true), file_name_key(p))
        } else {
            (Entry::Missing(p.clone()), file_name_key(p))
        };
        files.push(PlannedInput { entry, key });
    }
    plan.inputs = files;
    plan
}

#[derive(Debug)]
enum Entry {
    Stdin,
    /// A file; `explicit` when named on the command line (then it is always an input).
    File(PathBuf, bool),
    Missing(PathBuf),
    /// A file or folder under an input folder that could not be read: (path, reason).
    Unreadable(String, String),
}

/// What a file holds, from its first bytes.
#[derive(Debug, PartialEq, Eq)]
enum Sniff {
    Mbox,
    Message,
    NotMail,
}

fn sniff(head: &[u8]) -> Sniff {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.starts_with(b"From ") {
        return Sniff::Mbox;
    }
    // RFC 5322: the first line is a header field `Name: value` (printable, no spaces in name).
    let line = head.split(|&b| b == b'\n').next().unwrap_or(b"");
    match line.iter().position(|&b| b == b':') {
        Some(colon)
            if colon > 0
                && line[..colon]
                    .iter()
                    .all(|&b| b.is_ascii_graphic() && b != b':') =>
        {
            Sniff::Message
        }
        _ => Sniff::NotMail,
    }
}

/// An iterator of one item.
fn one(source: String, bytes: Result<Vec<u8>, String>) -> Messages {
    Box::new(std::iter::once(MailInput { source, bytes }))
}

impl Entry {
    fn messages(self, limits: InputLimits, skipped: &mut Vec<Skipped>) -> Messages {
        match self {
            Entry::Missing(p) => one(
                p.display().to_string(),
                Err("no such file or folder".to_string()),
            ),
            Entry::Unreadable(source, reason) => one(source, Err(reason)),
            Entry::Stdin => stdin_messages(limits),
            Entry::File(path, explicit) => file_messages(&path, explicit, limits, skipped),
        }
    }
}

/// Stdin: one message, or an mbox (read whole, up to 100 messages' worth).
fn stdin_messages(limits: InputLimits) -> Messages {
    let mut buf = Vec::new();
    let res = std::io::stdin()
        .lock()
        .take(limits.max_message_bytes.saturating_mul(100))
        .read_to_end(&mut buf);
    match res {
        Err(e) => one("<stdin>".into(), Err(format!("cannot read stdin: {e}"))),
        Ok(_) if sniff(&buf) == Sniff::Mbox => Box::new(mbox(
            "<stdin>".to_string(),
            std::io::Cursor::new(buf),
            limits,
        )),
        Ok(_) => one("<stdin>".into(), checked(buf, limits)),
    }
}

/// A file: an mbox (streamed), one message, or not mail (skipped, unless named on the
/// command line or by a mail extension).
fn file_messages(
    path: &Path,
    explicit: bool,
    limits: InputLimits,
    skipped: &mut Vec<Skipped>,
) -> Messages {
    let source = path.display().to_string();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return one(source, Err(format!("cannot open: {e}"))),
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let kind = match reader.fill_buf() {
        Ok(head) => sniff(head),
        Err(e) => return one(source, Err(format!("cannot read: {e}"))),
    };
    let named_mbox = is_named_mbox(path);
    match kind {
        Sniff::Mbox => Box::new(mbox(source, reader, limits)),
        // An mbox by name with text before its first `From ` line.
        Sniff::NotMail if named_mbox => Box::new(mbox(source, reader, limits)),
        Sniff::NotMail if !explicit && !named_mbox && !has_mail_extension(path) => {
            skipped.push(Skipped {
                url: source,
                reason: "not mail: no header line or mbox From line at the start".into(),
            });
            Box::new(std::iter::empty())
        }
        _ => one_message(source, path, reader, limits),
    }
}

/// A file holding one message, read whole if within `--max-size`.
fn one_message(source: String, path: &Path, reader: impl Read, limits: InputLimits) -> Messages {
    let size = path.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limits.max_message_bytes {
        let why = format!(
            "{size} bytes ({}) is over the size limit of {} (--max-size)",
            crate::units::size(size),
            crate::units::size(limits.max_message_bytes)
        );
        return one(source, Err(why));
    }
    let mut buf = Vec::with_capacity(size as usize);
    let bytes = match reader
        .take(limits.max_message_bytes + 1)
        .read_to_end(&mut buf)
    {
        Ok(_) => checked(buf, limits),
        Err(e) => Err(format!("cannot read: {e}")),
    };
    one(source, bytes)
}

fn is_named_mbox(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mbox") || e.eq_ignore_ascii_case("mbx"))
}

fn has_mail_extension(p: &Path) -> bool {
    p.extension().is_some_and(|e| {
        let e = e.to_string_lossy().to_ascii_lowercase();
        matches!(e.as_str(), "eml" | "msg" | "mbox" | "mbx" | "mail")
    })
}

fn checked(buf: Vec<u8>, limits: InputLimits) -> Result<Vec<u8>, String> {
    if buf.len() as u64 > limits.max_message_bytes {
        Err(format!(
            "message is over the size limit of {} (--max-size)",
            crate::units::size(limits.max_message_bytes)
        ))
    } else if buf.iter().all(|b| b.is_ascii_whitespace()) {
        Err("empty input".to_string())
    } else {
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"From a@b Thu Jan  1 00:00:00 2026\n"), Sniff::Mbox);
        assert_eq!(sniff(b"Received: from x\r\n"), Sniff::Message);
        assert_eq!(sniff(b"X-Mailer: y\n"), Sniff::Message);
        assert_eq!(sniff(b"[[message]]\nsource = 1\n"), Sniff::NotMail);
        assert_eq!(sniff(b"#!/usr/bin/env python3\n"), Sniff::NotMail);
        assert_eq!(sniff(b"\x89PNG\r\n"), Sniff::NotMail);
    }
}
