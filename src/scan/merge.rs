//! `pixscan merge`: reads the `--format ndjson` outputs of a run's shards (`--shard K/N`)
//! and hands their documents on in the order one run would have reported them, with the
//! sources' part of the summary (skipped inputs, excluded files, mailboxes) put together.
//! [`crate::scan::Pipeline::documents`] then judges and reports them as a single run.
//!
//! Before any document is read, every file's last line must be its summary (a shard that
//! did not finish has none), all files must come from the same command, and their shards
//! must be exactly 0…N-1 of one N. While reading, each file's documents must be in order
//! and their count must match its summary, and no input may be in two shards.

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};

use crate::model::Command;
use crate::model::{DocumentReport, Summary};
use crate::report::json::SCHEMA;
use crate::report::ndjson::{parse_line, Line, SummaryRead};

/// Shard outputs checked and ready to merge.
#[derive(Debug)]
pub struct Merge {
    files: Vec<ShardFile>,
    command: Command,
    /// What a reader should know (versions that differ).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
struct ShardFile {
    path: PathBuf,
    read: SummaryRead,
}

impl ShardFile {
    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Opens and checks shard outputs (see the module documentation). Errors are one line,
/// naming the file.
pub fn open(paths: &[PathBuf]) -> Result<Merge, String> {
    if paths.is_empty() {
        return Err("no shard files given".into());
    }
    let mut files = Vec::new();
    for path in paths {
        let read = last_summary(path)?;
        files.push(ShardFile {
            path: path.clone(),
            read,
        });
    }
    let first = &files[0];
    let Some(command) = Command::parse(&first.read.command) else {
        return Err(format!(
            "{}: unknown command {:?} (expected eml or site)",
            first.name(),
            first.read.command
        ));
    };
    for f in &files[1..] {
        if f.read.command != command.as_str() {
            return Err(format!(
                "mixed commands: {} is from `pixscan {}`, {} from `pixscan {}`; merge the shards of one run",
                first.name(),
                command,
                f.name(),
                f.read.command
            ));
        }
    }
    let mut warnings = Vec::new();
    for f in &files {
        if f.read.summary.filtered.is_some() {
            return Err(format!(
                "{}: written with report filters (--kind, --entity, --category), so it does not hold every finding; run the shards without them and give the filters to `pixscan merge`",
                f.name()
            ));
        }
        if f.read.version != env!("CARGO_PKG_VERSION") {
            warnings.push(format!(
                "{} was written by pixscan {}, this is {}",
                f.name(),
                f.read.version,
                env!("CARGO_PKG_VERSION")
            ));
        }
    }
    check_shards(&files)?;
    check_same_run(&files, command)?;
    // The merged output lists shards in K order (a whole run: the one file).
    files.sort_by_key(|f| f.read.summary.shard.as_ref().map_or(0, |s| s.index));
    Ok(Merge {
        files,
        command,
        warnings,
    })
}

/// The shards must be 0…N-1 of one N, each once; a file without `summary.shard` (a whole
/// run) only on its own.
fn check_shards(files: &[ShardFile]) -> Result<(), String> {
    let whole: Vec<&ShardFile> = files
        .iter()
        .filter(|f| f.read.summary.shard.is_none())
        .collect();
    if let Some(w) = whole.first() {
        if files.len() == 1 {
            return Ok(());
        }
        return Err(format!(
            "{} is a whole run (written without --shard): it can only be merged on its own",
            w.name()
        ));
    }
    let shard = |f: &ShardFile| {
        let s = f.read.summary.shard.as_ref().expect("checked above");
        (s.index, s.count)
    };
    let count = shard(&files[0]).1;
    let mut by_index: Vec<Option<&ShardFile>> = vec![None; count.min(1 << 20) as usize];
    for f in files {
        let (k, n) = shard(f);
        if n != count {
            return Err(format!(
                "shards of different splits: {} is shard {}/{}, {} is shard {k}/{n}",
                files[0].name(),
                shard(&files[0]).0,
                count,
                f.name()
            ));
        }
        let Some(slot) = by_index.get_mut(k as usize) else {
            return Err(format!("{}: shard {k}/{n} is out of range", f.name()));
        };
        if let Some(other) = slot {
            return Err(format!(
                "shard {k}/{n} is given twice: {} and {}",
                other.name(),
                f.name()
            ));
        }
        *slot = Some(f);
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_none())
        .map(|(k, _)| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        let have: Vec<String> = by_index
            .iter()
            .flatten()
            .map(|f| format!("{}/{count} ({})", shard(f).0, f.name()))
            .collect();
        return Err(format!(
            "shard{} {} {} missing (given: {}); merge needs all {count} shards of the run",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
            have.join(", ")
        ));
    }
    Ok(())
}

/// The shards must be shares of one run: the same scan (`summary.shard.run`), and for
/// `eml` the same inputs seen (every shard walks them all and accounts for each one:
/// scanned, skipped, excluded or left to the others). A shard run over another copy of
/// the folder, or the output of an earlier run left beside the others, is refused.
fn check_same_run(files: &[ShardFile], command: Command) -> Result<(), String> {
    let Some(first) = files.first() else {
        return Ok(());
    };
    let Some(s0) = &first.read.summary.shard else {
        return Ok(());
    };
    for f in &files[1..] {
        let Some(s) = &f.read.summary.shard else {
            continue;
        };
        if s.run != s0.run {
            return Err(format!(
                "shards of different runs: {} (shard {}/{}) ran `pixscan {}`, {} (shard {}/{}) ran `pixscan {}`; every shard of a run scans the same inputs with the same options",
                first.name(),
                s0.index,
                s0.count,
                s0.run,
                f.name(),
                s.index,
                s.count,
                s.run
            ));
        }
    }
    if command == Command::Eml {
        let seen = |f: &ShardFile| {
            let s = &f.read.summary;
            s.inputs
                + s.skipped.len() as u64
                + s.excluded
                + s.shard.as_ref().map_or(0, |s| s.left_to_others)
        };
        let n0 = seen(first);
        if let Some(f) = files.iter().find(|f| seen(f) != n0) {
            return Err(format!(
                "the shards saw different inputs: {} counts {n0} file(s) and message(s), {} counts {}; were they run over different copies of the mail, or while it changed?",
                first.name(),
                f.name(),
                seen(f)
            ));
        }
    }
    Ok(())
}

/// A file's last line, which must be its summary line.
fn last_summary(path: &Path) -> Result<SummaryRead, String> {
    let name = path.display();
    let line = last_line(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let Some(line) = line else {
        return Err(format!(
            "{name}: empty: the shard wrote nothing (did it start?)"
        ));
    };
    let not_finished = "the shard did not finish (or the file was cut short); run it again";
    match parse_line(&line) {
        Ok(Line::Summary(read)) => {
            if read.schema != SCHEMA {
                return Err(format!(
                    "{name}: schema {:?}, expected {SCHEMA:?}",
                    read.schema
                ));
            }
            Ok(*read)
        }
        Ok(Line::Document(_)) => Err(format!(
            "{name}: truncated: no summary line at the end, {not_finished}"
        )),
        Err(e) => Err(format!(
            "{name}: truncated: the last line is not a summary line ({e}); {not_finished}"
        )),
    }
}

/// The last non-blank line of a file, read from its end.
fn last_line(path: &Path) -> std::io::Result<Option<String>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut pos = len;
    let mut tail: Vec<u8> = Vec::new();
    while pos > 0 {
        let step = pos.min(64 * 1024);
        pos -= step;
        f.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0u8; step as usize];
        f.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        if let Some(end) = tail.iter().rposition(|b| !b.is_ascii_whitespace()) {
            if let Some(nl) = tail[..end].iter().rposition(|&b| b == b'\n') {
                return Ok(Some(
                    String::from_utf8_lossy(&tail[nl + 1..=end]).into_owned(),
                ));
            }
        }
    }
    Ok(tail
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map(|end| String::from_utf8_lossy(&tail[..=end]).into_owned()))
}

impl Merge {
    /// `eml` or `site`.
    pub fn command(&self) -> Command {
        self.command
    }

    /// How many shards (1 for a whole run).
    pub fn shards(&self) -> usize {
        self.files.len()
    }

    /// The sources' part of the run's summary: skipped inputs in a single run's order
    /// (`eml`: by the order of the file each came from; `site`: sorted, as a crawl sorts
    /// them), excluded files summed, mailboxes listed once. The counts of documents,
    /// verdict and filters are left to the pipeline.
    pub fn source_summary(&self) -> Summary {
        let mut summary = Summary::default();
        let mut skipped = Vec::new();
        for f in &self.files {
            let s = &f.read.summary;
            summary.excluded += s.excluded;
            let orders = s.shard.as_ref().map(|s| s.skipped_order.as_slice());
            for (i, sk) in s.skipped.iter().enumerate() {
                let order = orders.and_then(|o| o.get(i)).copied();
                skipped.push((order, sk.clone()));
            }
            for m in &s.mailboxes {
                if !summary.mailboxes.contains(m) {
                    summary.mailboxes.push(m.clone());
                }
            }
        }
        if self.command == Command::Site {
            skipped.sort_by(|a, b| {
                a.1.url
                    .cmp(&b.1.url)
                    .then_with(|| a.1.reason.cmp(&b.1.reason))
            });
        } else {
            // Stable: skips of one file keep their order; a skip without one goes last.
            skipped.sort_by_key(|(order, _)| order.unwrap_or([u64::MAX; 2]));
        }
        summary.skipped = skipped.into_iter().map(|(_, s)| s).collect();
        summary
    }

    /// The documents of all shards, in a single run's order (by `order`). Each file is read
    /// on its own thread. An error (a bad line, documents out of order or missing, the same
    /// input in two shards) ends the stream.
    pub fn documents(self) -> Documents {
        let mut sources = Vec::new();
        for f in self.files {
            let (tx, rx) = sync_channel::<Result<Read1, String>>(256);
            let path = f.path.clone();
            let expected = f.read.summary.inputs;
            std::thread::spawn(move || read_documents(&path, expected, &tx));
            sources.push(Source { name: f.name(), rx });
        }
        Documents {
            sources,
            heap: BinaryHeap::new(),
            started: false,
            last: None,
            failed: false,
        }
    }
}

/// A document and the line it was on.
struct Read1 {
    line: u64,
    doc: DocumentReport,
}

/// Reads a shard's documents in its thread, checking their order and count; stops when the
/// receiver is gone.
fn read_documents(
    path: &Path,
    expected: u64,
    tx: &std::sync::mpsc::SyncSender<Result<Read1, String>>,
) {
    let name = path.display();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = tx.send(Err(format!("{name}: cannot read: {e}")));
            return;
        }
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut buf = String::new();
    let (mut n, mut docs, mut summary_at) = (0u64, 0u64, None::<u64>);
    let mut prev: Option<[u64; 2]> = None;
    loop {
        buf.clear();
        match reader.read_line(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let _ = tx.send(Err(format!("{name}:{}: cannot read: {e}", n + 1)));
                return;
            }
        }
        n += 1;
        let line = buf.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(at) = summary_at {
            let _ = tx.send(Err(format!(
                "{name}:{n}: a line after the summary (line {at}): two runs' output in one file?"
            )));
            return;
        }
        let parsed = match parse_line(line) {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(Err(format!("{name}:{n}: {e}")));
                return;
            }
        };
        match parsed {
            Line::Summary(_) => summary_at = Some(n),
            Line::Document(doc) => {
                let Some(order) = doc.order else {
                    let _ = tx.send(Err(format!(
                        "{name}:{n}: a document without `order`: not written by `pixscan … --format ndjson`"
                    )));
                    return;
                };
                if prev.is_some_and(|p| p >= order) {
                    let _ = tx.send(Err(format!(
                        "{name}:{n}: documents out of order ({order:?} after {:?}): the file was edited or joined from several runs",
                        prev.unwrap_or_default()
                    )));
                    return;
                }
                prev = Some(order);
                docs += 1;
                if tx.send(Ok(Read1 { line: n, doc: *doc })).is_err() {
                    return;
                }
            }
        }
    }
    if docs != expected {
        let _ = tx.send(Err(format!(
            "{name}: {docs} document line(s), but its summary counts {expected} input(s): the file was edited or cut"
        )));
    }
}

struct Source {
    name: String,
    rx: Receiver<Result<Read1, String>>,
}

/// The merged stream of documents (see [`Merge::documents`]).
pub struct Documents {
    sources: Vec<Source>,
    /// The next document of each source not yet handed on, smallest `order` first.
    heap: BinaryHeap<Head>,
    started: bool,
    /// The last document handed on: its order, file and line.
    last: Option<([u64; 2], usize, u64)>,
    failed: bool,
}

struct Head {
    order: [u64; 2],
    source: usize,
    read: Read1,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        (self.order, self.source) == (other.order, other.source)
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    /// Reversed: `BinaryHeap` is a max-heap and the smallest order goes first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.order, other.source).cmp(&(self.order, self.source))
    }
}

impl Documents {
    /// Takes the next document of source `i` into the heap (nothing when it is done).
    fn pull(&mut self, i: usize) -> Result<(), String> {
        match self.sources[i].rx.recv() {
            Ok(Ok(read)) => {
                let order = read.doc.order.unwrap_or_default();
                self.heap.push(Head {
                    order,
                    source: i,
                    read,
                });
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(()),
        }
    }
}

impl Iterator for Documents {
    type Item = Result<DocumentReport, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let step = (|| {
            if !self.started {
                self.started = true;
                for i in 0..self.sources.len() {
                    self.pull(i)?;
                }
            }
            let Some(head) = self.heap.pop() else {
                return Ok(None);
            };
            if let Some((order, source, line)) = self.last {
                if order == head.order {
                    return Err(format!(
                        "the same input is in two shards: {}:{line} and {}:{} ({}, order {order:?}); were the shards run over different inputs, or with different options?",
                        self.sources[source].name,
                        self.sources[head.source].name,
                        head.read.line,
                        head.read.doc.source
                    ));
                }
            }
            self.last = Some((head.order, head.source, head.read.line));
            self.pull(head.source)?;
            Ok(Some(head.read.doc))
        })();
        match step {
            Ok(doc) => doc.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_is_found_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        let long = "y".repeat(200_000);
        std::fs::write(&p, format!("a\n{long}\nlast line\n\n")).unwrap();
        assert_eq!(last_line(&p).unwrap().as_deref(), Some("last line"));
        std::fs::write(&p, format!("a\n{long}")).unwrap();
        assert_eq!(last_line(&p).unwrap(), Some(long));
        std::fs::write(&p, "only").unwrap();
        assert_eq!(last_line(&p).unwrap().as_deref(), Some("only"));
        std::fs::write(&p, "\n \n").unwrap();
        assert_eq!(last_line(&p).unwrap(), None);
    }
}
