//! Mail inputs: `.eml` files, folders (recursive), mbox files, Maildir folders and stdin,
//! enumerated lazily in a stable order (mbox files are streamed, never loaded whole), and
//! parsed into the parts the analysis needs. Nothing here touches the network.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use mail_parser::{Address, Message, MessageParser, PartType};

use crate::select::PathSelect;
use crate::shard::{file_name_key, path_key, Shard};

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
    pub fn messages(
        self,
        limits: InputLimits,
        skipped: &mut Vec<Skipped>,
    ) -> Box<dyn Iterator<Item = MailInput>> {
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

/// Whether a folder walk passes over this entry: hidden entries, except Maildir++ folders
/// (`.Archive.2023/` with its own `cur/` or `new/`), and a Maildir's `tmp/`.
fn walk_skips(e: &walkdir::DirEntry) -> bool {
    let name = e.file_name().to_string_lossy();
    let is_dir = e.file_type().is_dir();
    let hidden =
        e.depth() > 0 && name.starts_with('.') && !(is_dir && is_maildir_plus_plus(e.path()));
    let maildir_tmp =
        is_dir && name == "tmp" && e.path().parent().is_some_and(|p| p.join("cur").is_dir());
    hidden || maildir_tmp
}

/// Files under a folder, sorted for a stable order. A Maildir's `tmp/` holds messages still
/// being delivered and is skipped, as mail clients do. Hidden entries are skipped too, except
/// Maildir++ folders (`.Archive.2023/` with its own `cur/` or `new/`), which Dovecot and
/// Courier keep beside the inbox. A folder that cannot be read is an input that failed (it
/// may hold mail), never a quiet skip. Returns how many files `select` left out (those
/// `shard` owns, then those it leaves to other shards); a folder it excludes is not read
/// (its files are counted as well as they can be).
fn walk_dir(
    dir: &Path,
    files: &mut Vec<PlannedInput>,
    select: &PathSelect,
    shard: &Shard,
) -> (u64, u64) {
    let pruned = std::cell::Cell::new((0u64, 0u64));
    let mut excluded = (0u64, 0u64);
    // Keys cost an allocation per file: only a split needs them.
    let key_of = |p: &Path| {
        if shard.count > 1 {
            path_key(dir, p)
        } else {
            String::new()
        }
    };
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if walk_skips(e) {
                return false;
            }
            if e.depth() > 0 && e.file_type().is_dir() && select.excludes_folder(dir, e.path()) {
                let (mine, elsewhere) = count_files(dir, e.path(), shard);
                let (m, o) = pruned.get();
                pruned.set((m + mine, o + elsewhere));
                return false;
            }
            true
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let key = key_of(e.path());
                if select.excludes(dir, e.path()) {
                    if shard.owns(&key, 0) {
                        excluded.0 += 1;
                    } else {
                        excluded.1 += 1;
                    }
                } else {
                    files.push(PlannedInput {
                        entry: Entry::File(e.into_path(), false),
                        key,
                    });
                }
            }
            Ok(_) => {}
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| dir.display().to_string());
                let why = err
                    .io_error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| err.to_string());
                let key = key_of(Path::new(&path));
                files.push(PlannedInput {
                    entry: Entry::Unreadable(path, format!("cannot read: {why}")),
                    key,
                });
            }
        }
    }
    let (m, o) = pruned.get();
    (excluded.0 + m, excluded.1 + o)
}

/// The files a walk would take under an excluded folder, for the count: those `shard`
/// owns (keyed below `root`), then the others. What cannot be read is not counted (it was
/// not going to be read either).
fn count_files(root: &Path, dir: &Path, shard: &Shard) -> (u64, u64) {
    let mut counts = (0, 0);
    let whole = shard.count <= 1;
    for e in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !walk_skips(e))
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        if whole || shard.owns(&path_key(root, e.path()), 0) {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    counts
}

/// A Maildir++ sub-folder: a hidden folder holding `cur/` or `new/`.
fn is_maildir_plus_plus(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// The mailboxes (Maildir and Maildir++ folders) under the given paths, for the summary;
/// those `select` excludes are not listed.
pub fn mailboxes(paths: &[PathBuf], select: &PathSelect) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths.iter().filter(|p| p.is_dir()) {
        let walker = walkdir::WalkDir::new(p)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.file_type().is_dir()
                    && !matches!(name.as_ref(), "cur" | "new" | "tmp")
                    && (e.depth() == 0 || !name.starts_with('.') || is_maildir_plus_plus(e.path()))
                    && (e.depth() == 0 || !select.excludes_folder(p, e.path()))
            });
        for e in walker.flatten() {
            if e.path().join("cur").is_dir() || e.path().join("new").is_dir() {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
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

impl Entry {
    fn messages(
        self,
        limits: InputLimits,
        skipped: &mut Vec<Skipped>,
    ) -> Box<dyn Iterator<Item = MailInput>> {
        match self {
            Entry::Missing(p) => Box::new(std::iter::once(MailInput {
                source: p.display().to_string(),
                bytes: Err("no such file or folder".to_string()),
            })),
            Entry::Unreadable(source, reason) => Box::new(std::iter::once(MailInput {
                source,
                bytes: Err(reason),
            })),
            Entry::Stdin => {
                let mut buf = Vec::new();
                let res = std::io::stdin()
                    .lock()
                    .take(limits.max_message_bytes.saturating_mul(100))
                    .read_to_end(&mut buf);
                match res {
                    Err(e) => Box::new(std::iter::once(MailInput {
                        source: "<stdin>".into(),
                        bytes: Err(format!("cannot read stdin: {e}")),
                    })),
                    Ok(_) if sniff(&buf) == Sniff::Mbox => Box::new(mbox(
                        "<stdin>".to_string(),
                        std::io::Cursor::new(buf),
                        limits,
                    )),
                    Ok(_) => Box::new(std::iter::once(MailInput {
                        source: "<stdin>".into(),
                        bytes: checked(buf, limits),
                    })),
                }
            }
            Entry::File(path, explicit) => {
                let source = path.display().to_string();
                let file = match File::open(&path) {
                    Ok(f) => f,
                    Err(e) => {
                        return Box::new(std::iter::once(MailInput {
                            source,
                            bytes: Err(format!("cannot open: {e}")),
                        }))
                    }
                };
                let mut reader = BufReader::with_capacity(64 * 1024, file);
                let kind = match reader.fill_buf() {
                    Ok(head) => sniff(head),
                    Err(e) => {
                        return Box::new(std::iter::once(MailInput {
                            source,
                            bytes: Err(format!("cannot read: {e}")),
                        }))
                    }
                };
                let named_mbox = is_named_mbox(&path);
                match kind {
                    Sniff::Mbox => Box::new(mbox(source, reader, limits)),
                    // An mbox by name with text before its first `From ` line.
                    Sniff::NotMail if named_mbox => Box::new(mbox(source, reader, limits)),
                    Sniff::NotMail if !explicit && !named_mbox && !has_mail_extension(&path) => {
                        skipped.push(Skipped {
                            url: source,
                            reason: "not mail: no header line or mbox From line at the start"
                                .into(),
                        });
                        Box::new(std::iter::empty())
                    }
                    _ => {
                        let size = path.metadata().map(|m| m.len()).unwrap_or(0);
                        if size > limits.max_message_bytes {
                            return Box::new(std::iter::once(MailInput {
                                source,
                                bytes: Err(format!(
                                    "{size} bytes ({}) is over the size limit of {} (--max-size)",
                                    crate::units::size(size),
                                    crate::units::size(limits.max_message_bytes)
                                )),
                            }));
                        }
                        let mut buf = Vec::with_capacity(size as usize);
                        let bytes = match reader
                            .take(limits.max_message_bytes + 1)
                            .read_to_end(&mut buf)
                        {
                            Ok(_) => checked(buf, limits),
                            Err(e) => Err(format!("cannot read: {e}")),
                        };
                        Box::new(std::iter::once(MailInput { source, bytes }))
                    }
                }
            }
        }
    }
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

/// Streams an mbox: one message at a time, split on `From ` lines at the start of a line.
/// Inside a message, a `From ` line separates only after a blank line or when it has the
/// shape of a real separator (a date with a time of day), so an unquoted body line such as
/// "From here on…" (no blank line before it) stays in its message.
fn mbox<R: BufRead + 'static>(
    source: String,
    reader: R,
    limits: InputLimits,
) -> impl Iterator<Item = MailInput> {
    let mut reader = reader;
    let mut n = 0usize;
    let mut pending_from = false;
    let mut done = false;
    let mut prev_blank = true;
    let mut preamble = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut msg = Pieces::default();
        let mut line = Vec::with_capacity(256);
        let mut oversized = false;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => {
                    done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    done = true;
                    n += 1;
                    return Some(MailInput {
                        source: format!("{source}#{n}"),
                        bytes: Err(format!("read error: {e}")),
                    });
                }
            }
            let after_blank = prev_blank;
            prev_blank = line == b"\n" || line == b"\r\n";
            if line.starts_with(b"From ")
                && (!pending_from || after_blank || separator_shape(&line))
            {
                if pending_from {
                    break; // the next message starts here
                }
                pending_from = true;
                continue;
            }
            if !pending_from {
                // Text before the first `From ` line is not a message; skip it.
                preamble |= !line.iter().all(u8::is_ascii_whitespace);
                continue;
            }
            if oversized {
                // Past the limit: read to the next separator without holding anything.
            } else if msg.len() as u64 + line.len() as u64 > limits.max_message_bytes {
                oversized = true;
                msg = Pieces::default();
            } else {
                // Undo mboxrd quoting: `>From ` → `From `.
                let unq = line
                    .iter()
                    .position(|&b| b != b'>')
                    .is_some_and(|p| p > 0 && line[p..].starts_with(b"From "));
                msg.extend_from_slice(if unq { &line[1..] } else { &line });
            }
        }
        if !pending_from && done {
            if n == 0 {
                // Not one message in the whole file: say so, or it would vanish unaccounted.
                n = 1;
                let why = if preamble {
                    "not an mbox: no `From ` separator line found"
                } else {
                    "empty input"
                };
                return Some(MailInput {
                    source: source.clone(),
                    bytes: Err(why.to_string()),
                });
            }
            return None;
        }
        n += 1;
        let src = format!("{source}#{n}");
        if oversized {
            return Some(MailInput {
                source: src,
                bytes: Err(format!(
                    "message is over the size limit of {} (--max-size)",
                    crate::units::size(limits.max_message_bytes)
                )),
            });
        }
        Some(MailInput {
            source: src,
            bytes: checked(msg.into_vec(), limits),
        })
    })
}

/// An mbox message as it is read: one growing buffer up to `FIRST` bytes (most mail), then
/// fixed blocks that are never reallocated, joined once at the end. Growing one buffer to
/// 100 MB by doubling would hold the old and the new copy at each step, and an allocator
/// that returns freed blocks lazily keeps them all; a message over the limit is dropped
/// before it is ever joined.
#[derive(Default)]
struct Pieces {
    full: Vec<Vec<u8>>,
    last: Vec<u8>,
    len: usize,
}

impl Pieces {
    const FIRST: usize = 1 << 20;
    const BLOCK: usize = 4 << 20;

    fn len(&self) -> usize {
        self.len
    }

    fn extend_from_slice(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        while !bytes.is_empty() {
            let cap = if self.full.is_empty() {
                Self::FIRST
            } else {
                Self::BLOCK
            };
            if self.last.len() == cap {
                let next = Vec::with_capacity(Self::BLOCK);
                self.full.push(std::mem::replace(&mut self.last, next));
                continue;
            }
            let n = bytes.len().min(cap - self.last.len());
            self.last.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
    }

    fn into_vec(self) -> Vec<u8> {
        if self.full.is_empty() {
            return self.last;
        }
        let mut out = Vec::with_capacity(self.len);
        for piece in self.full.iter().chain([&self.last]) {
            out.extend_from_slice(piece);
        }
        out
    }
}

/// Whether a `From ` line looks like an mbox separator written by a mail system
/// (`From sender Www Mmm dd hh:mm:ss yyyy`): it carries a time of day and a year.
fn separator_shape(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_whitespace().skip(2);
    let time = words.by_ref().any(|w| {
        let parts: Vec<&str> = w.split(':').collect();
        (2..=3).contains(&parts.len())
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
    });
    time && text
        .split_whitespace()
        .skip(2)
        .any(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
}

/// The parts of a parsed message the analysis uses.
#[derive(Debug, Default)]
pub struct MailDocument {
    pub subject: Option<String>,
    pub from: Option<String>,
    pub recipients: Vec<String>,
    /// Top-level headers, unfolded: (name, value).
    pub headers: Vec<(String, String)>,
    /// Decoded HTML bodies, including those of forwarded messages.
    pub html: Vec<String>,
    /// Read-receipt requests: (header, address).
    pub receipts: Vec<(String, String)>,
}

const MAX_NESTING: usize = 8;
const MAX_HTML_BYTES: usize = 32 * 1024 * 1024;
const MAX_RECIPIENTS: usize = 64;

pub fn parse(bytes: &[u8]) -> Result<MailDocument, String> {
    let msg = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| "not a parseable email message".to_string())?;
    if msg.parts.first().is_none_or(|p| p.headers.is_empty()) {
        return Err("no mail headers found: not an email message".to_string());
    }
    let mut doc = MailDocument {
        subject: msg.subject().map(|s| s.chars().take(300).collect()),
        from: msg
            .from()
            .and_then(Address::first)
            .and_then(|a| a.address())
            .map(str::to_string),
        ..Default::default()
    };
    for h in msg.parts[0].headers.iter() {
        let raw = msg
            .raw_message
            .get(h.offset_start as usize..h.offset_end as usize)
            .unwrap_or_default();
        let value: String = String::from_utf8_lossy(raw)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        doc.headers.push((h.name.as_str().to_string(), value));
    }
    if !doc.headers.iter().any(|(n, _)| {
        matches!(
            n.to_ascii_lowercase().as_str(),
            "from"
                | "to"
                | "subject"
                | "date"
                | "message-id"
                | "received"
                | "content-type"
                | "mime-version"
                | "return-path"
                | "delivered-to"
        )
    }) {
        return Err("no mail headers found: not an email message".to_string());
    }
    for (name, value) in &doc.headers {
        let n = name.to_ascii_lowercase();
        if matches!(
            n.as_str(),
            "delivered-to" | "x-original-to" | "envelope-to" | "x-envelope-to"
        ) {
            add_addresses(&mut doc.recipients, value);
        }
        if matches!(
            n.as_str(),
            "disposition-notification-to" | "return-receipt-to" | "x-confirm-reading-to"
        ) {
            doc.receipts.push((name.clone(), value.clone()));
        }
    }
    collect(&msg, &mut doc, 0);
    Ok(doc)
}

fn add_addresses(out: &mut Vec<String>, text: &str) {
    for word in text.split([',', ' ', ';', '<', '>']) {
        let w = word.trim().trim_matches('"');
        if w.contains('@') && w.len() <= 254 && out.len() < MAX_RECIPIENTS {
            let w = w.to_ascii_lowercase();
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
}

fn collect(msg: &Message<'_>, doc: &mut MailDocument, depth: usize) {
    for header in [msg.to(), msg.cc(), msg.bcc()].into_iter().flatten() {
        for a in header.iter() {
            if let Some(addr) = a.address() {
                add_addresses(&mut doc.recipients, addr);
            }
        }
    }
    let mut total: usize = doc.html.iter().map(String::len).sum();
    // Every part, not just the body parts: HTML attachments render too, and a forwarded
    // message is a part of its own.
    for part in &msg.parts {
        let html: Option<std::borrow::Cow<'_, str>> = match &part.body {
            PartType::Html(html) => Some(std::borrow::Cow::Borrowed(html.as_ref())),
            PartType::Text(text) if part.is_encoding_problem && is_html(part) => {
                Some(recover(part, text))
            }
            PartType::Message(inner) if depth < MAX_NESTING => {
                collect(inner, doc, depth + 1);
                total = doc.html.iter().map(String::len).sum();
                None
            }
            _ => None,
        };
        if let Some(html) = html {
            if total + html.len() <= MAX_HTML_BYTES
                && !doc.html.iter().any(|h| h.as_str() == html.as_ref())
            {
                total += html.len();
                doc.html.push(html.into_owned());
            }
        }
    }
}

fn is_html(part: &mail_parser::MessagePart<'_>) -> bool {
    use mail_parser::MimeHeaders;
    part.content_type().is_some_and(|ct| {
        ct.c_type.eq_ignore_ascii_case("text")
            && ct
                .c_subtype
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("html"))
    })
}

/// A part the parser could not decode (typically cut off mid-base64 by a truncated
/// download, or quoted-printable with invalid escapes): decode what is there, so a pixel in
/// the first kilobytes is still found.
fn recover<'a>(part: &mail_parser::MessagePart<'_>, text: &'a str) -> std::borrow::Cow<'a, str> {
    use base64::Engine;
    use mail_parser::MimeHeaders;
    let encoding = part.content_transfer_encoding().map(str::trim);
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable")) {
        return std::borrow::Cow::Owned(lenient_quoted_printable(text));
    }
    let base64 = encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    if !base64 {
        return std::borrow::Cow::Borrowed(text);
    }
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .collect();
    let whole = &clean[..clean.len() - clean.len() % 4];
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    match engine.decode(whole) {
        Ok(bytes) => std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => std::borrow::Cow::Borrowed(text),
    }
}

/// Quoted-printable as mail clients decode it: `=XX` is a byte, `=` at a line end joins
/// lines, and any other `=` (an invalid escape) is kept as it is. The bytes are read as
/// UTF-8, invalid sequences replaced.
fn lenient_quoted_printable(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    while i < b.len() {
        if b[i] == b'=' {
            let rest = &b[i + 1..];
            if let (Some(h), Some(l)) = (
                rest.first().copied().and_then(hex),
                rest.get(1).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            // A soft line break: `=`, optional trailing blanks, then CRLF or LF.
            let blanks = rest
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            let after = &rest[blanks..];
            if after.starts_with(b"\r\n") {
                i += 1 + blanks + 2;
                continue;
            }
            if after.starts_with(b"\n") {
                i += 1 + blanks + 1;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_across_blocks_in_order() {
        let mut p = Pieces::default();
        let line: Vec<u8> = (0..=250u8).cycle().take(70_001).collect();
        let mut want = Vec::new();
        for _ in 0..100 {
            p.extend_from_slice(&line);
            want.extend_from_slice(&line);
        }
        assert!(want.len() > Pieces::FIRST + Pieces::BLOCK);
        assert_eq!(p.len(), want.len());
        assert_eq!(p.into_vec(), want);
        let mut small = Pieces::default();
        small.extend_from_slice(b"From: a\n");
        assert_eq!(small.into_vec(), b"From: a\n");
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"From a@b Thu Jan  1 00:00:00 2026\n"), Sniff::Mbox);
        assert_eq!(sniff(b"Received: from x\r\n"), Sniff::Message);
        assert_eq!(sniff(b"X-Mailer: y\n"), Sniff::Message);
        assert_eq!(sniff(b"[[message]]\nsource = 1\n"), Sniff::NotMail);
        assert_eq!(sniff(b"#!/usr/bin/env python3\n"), Sniff::NotMail);
        assert_eq!(sniff(b"\x89PNG\r\n"), Sniff::NotMail);
    }

    #[test]
    fn mbox_splits_and_unquotes() {
        let data = b"preamble\nFrom a@x Mon Jan 1 00:00:00 2026\nSubject: one\n\n>From the start\nbody\nFrom b@x Mon Jan 1 00:00:00 2026\nSubject: two\n\nhi\n".to_vec();
        let v: Vec<MailInput> = mbox(
            "box".into(),
            std::io::Cursor::new(data),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].source, "box#1");
        assert_eq!(
            v[0].bytes.as_ref().unwrap(),
            b"Subject: one\n\nFrom the start\nbody\n"
        );
        assert_eq!(v[1].bytes.as_ref().unwrap(), b"Subject: two\n\nhi\n");
    }

    #[test]
    fn mbox_body_from_line_without_blank_line_stays_in_its_message() {
        let data = b"From a@x Mon Jan 1 00:00:00 2026\nSubject: one\n\nbody\nFrom here on, text\nmore\n\nFrom b@x\nSubject: two\n\nhi\nFrom c@x Tue Jan 2 10:11:12 2026\r\nSubject: three\n\nx\n".to_vec();
        let v: Vec<MailInput> = mbox(
            "box".into(),
            std::io::Cursor::new(data),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(v.len(), 3, "{v:?}");
        assert_eq!(
            v[0].bytes.as_ref().unwrap(),
            b"Subject: one\n\nbody\nFrom here on, text\nmore\n\n"
        );
        assert_eq!(v[1].bytes.as_ref().unwrap(), b"Subject: two\n\nhi\n");
        assert_eq!(v[2].bytes.as_ref().unwrap(), b"Subject: three\n\nx\n");
        assert!(separator_shape(b"From a@b Mon Jan  1 00:00:00 2026\n"));
        assert!(separator_shape(
            b"From MAILER-DAEMON Tue Mar 12 14:30 2024\r\n"
        ));
        assert!(!separator_shape(b"From here on, at 10:30 we meet\n"));
        assert!(!separator_shape(b"From 2026 onwards\n"));
    }

    #[test]
    fn mbox_without_separators_is_one_error() {
        let v: Vec<MailInput> = mbox(
            "box".into(),
            std::io::Cursor::new(b"no separators\nat all\n".to_vec()),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].source, "box");
        assert!(v[0].bytes.as_ref().unwrap_err().contains("not an mbox"));
        let empty: Vec<MailInput> = mbox(
            "e".into(),
            std::io::Cursor::new(Vec::new()),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].bytes.as_ref().unwrap_err(), "empty input");
    }

    #[test]
    fn mbox_oversized_message_is_an_error_not_a_loss() {
        let data = format!(
            "From a\nSubject: big\n\n{}\n\nFrom b\nSubject: ok\n\nx\n",
            "y".repeat(5000)
        )
        .into_bytes();
        let v: Vec<MailInput> = mbox(
            "m".into(),
            std::io::Cursor::new(data),
            InputLimits {
                max_message_bytes: 1000,
            },
        )
        .collect();
        assert_eq!(v.len(), 2);
        assert!(v[0].bytes.as_ref().unwrap_err().contains("size limit"));
        assert!(v[1].bytes.is_ok());
    }

    #[test]
    fn parses_nested_forward_and_recipients() {
        let eml = "From: Bob <bob@example.com>\r\nTo: Jane <Jane@Example.org>\r\nDelivered-To: jane@example.org\r\nDisposition-Notification-To: bob@example.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: shop@brand.example\r\nTo: alice@example.net\r\nSubject: Sale\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Caf=E9</p><img src=3D\"https://t.example/o.gif?u=3D1\">\r\n--b--\r\n";
        let doc = parse(eml.as_bytes()).unwrap();
        assert_eq!(doc.from.as_deref(), Some("bob@example.com"));
        assert_eq!(
            doc.recipients,
            vec!["jane@example.org", "alice@example.net"]
        );
        assert_eq!(doc.html.len(), 1);
        assert!(
            doc.html[0].contains("Café") && doc.html[0].contains("https://t.example/o.gif?u=1")
        );
        assert_eq!(doc.receipts.len(), 1);
    }

    #[test]
    fn invalid_quoted_printable_is_decoded_leniently() {
        assert_eq!(
            lenient_quoted_printable("a=ZZ=4=\r\nb=3D\"x=\n=C3=A9\" = =\t\nend="),
            "a=ZZ=4b=\"xé\" = end="
        );
        let eml = "From: a@brand.example\r\nTo: jane@example.org\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=ZZ</p><img src=3D\"https://t.example/o.gif?u=3D1\">=\r\n==\r\n";
        let doc = parse(eml.as_bytes()).unwrap();
        assert_eq!(doc.html.len(), 1, "{doc:?}");
        assert!(doc.html[0].contains("<img src=\"https://t.example/o.gif?u=1\">"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"\x00\x01\x02\xff\xfe garbage").is_err());
        assert!(parse(b"just some words\nwith no headers\n").is_err());
    }
}
