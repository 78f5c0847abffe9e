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
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::model::Command;
use crate::model::{DocumentReport, Summary};
use crate::report::json::SCHEMA;
use crate::report::ndjson::{parse_line, Line, SummaryRead};

mod error;
pub use error::{MergeError, ShardName};

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

    /// Which shard it is, `(K, N)`; a whole run is shard 0 of 1.
    fn split(&self) -> (u64, u64) {
        self.read
            .summary
            .shard
            .as_ref()
            .map_or((0, 1), |s| (s.index, s.count))
    }

    /// The file and its `K/N`.
    fn shard_name(&self) -> ShardName {
        let (index, count) = self.split();
        ShardName {
            file: self.name(),
            index,
            count,
        }
    }
}

/// Opens and checks shard outputs (see the module documentation). Errors are one line,
/// naming the file.
pub fn open(paths: &[PathBuf]) -> Result<Merge, MergeError> {
    if paths.is_empty() {
        return Err(MergeError::NoFiles);
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
        return Err(MergeError::UnknownCommand {
            file: first.name(),
            found: first.read.command.clone(),
        });
    };
    for f in &files[1..] {
        if f.read.command != command.as_str() {
            return Err(MergeError::MixedCommands {
                first: first.name(),
                command,
                other: f.name(),
                other_command: f.read.command.clone(),
            });
        }
    }
    let mut warnings = Vec::new();
    for f in &files {
        if f.read.summary.filtered.is_some() {
            return Err(MergeError::Filtered { file: f.name() });
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
    files.sort_by_key(|f| f.split().0);
    Ok(Merge {
        files,
        command,
        warnings,
    })
}

/// The shards must be 0…N-1 of one N, each once; a file without `summary.shard` (a whole
/// run) only on its own.
fn check_shards(files: &[ShardFile]) -> Result<(), MergeError> {
    let whole: Vec<&ShardFile> = files
        .iter()
        .filter(|f| f.read.summary.shard.is_none())
        .collect();
    if let Some(w) = whole.first() {
        if files.len() == 1 {
            return Ok(());
        }
        return Err(MergeError::WholeRunAmongShards { file: w.name() });
    }
    let count = files[0].split().1;
    let mut by_index: Vec<Option<&ShardFile>> = vec![None; count.min(1 << 20) as usize];
    for f in files {
        let (k, n) = f.split();
        if n != count {
            return Err(MergeError::DifferentSplits {
                first: files[0].shard_name(),
                other: f.shard_name(),
            });
        }
        let Some(slot) = by_index.get_mut(k as usize) else {
            return Err(MergeError::OutOfRange {
                shard: f.shard_name(),
            });
        };
        if let Some(other) = slot {
            return Err(MergeError::Twice {
                index: k,
                count: n,
                first: other.name(),
                second: f.name(),
            });
        }
        *slot = Some(f);
    }
    let missing: Vec<u64> = by_index
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_none())
        .map(|(k, _)| k as u64)
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            given: by_index.iter().flatten().map(|f| f.shard_name()).collect(),
            count,
        });
    }
    Ok(())
}

/// The shards must be shares of one run: the same scan (`summary.shard.run`), and for
/// `eml` the same inputs seen (every shard walks them all and accounts for each one:
/// scanned, skipped, excluded or left to the others). A shard run over another copy of
/// the folder, or the output of an earlier run left beside the others, is refused.
fn check_same_run(files: &[ShardFile], command: Command) -> Result<(), MergeError> {
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
            return Err(MergeError::DifferentRuns {
                first: Box::new(first.shard_name()),
                first_run: s0.run.clone(),
                other: Box::new(f.shard_name()),
                other_run: s.run.clone(),
            });
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
            return Err(MergeError::DifferentInputs {
                first: first.name(),
                first_seen: n0,
                other: f.name(),
                other_seen: seen(f),
            });
        }
    }
    Ok(())
}

/// A file's last line, which must be its summary line.
fn last_summary(path: &Path) -> Result<SummaryRead, MergeError> {
    let file = path.display().to_string();
    let line = match last_line(path) {
        Ok(Some(line)) => line,
        Ok(None) => return Err(MergeError::Empty { file }),
        Err(error) => {
            return Err(MergeError::Read {
                file,
                line: None,
                error,
            })
        }
    };
    match parse_line(&line) {
        Ok(Line::Summary(read)) if read.schema != SCHEMA => Err(MergeError::Schema {
            file,
            found: read.schema,
        }),
        Ok(Line::Summary(read)) => Ok(*read),
        Ok(Line::Document(_)) => Err(MergeError::Truncated { file, why: None }),
        Err(e) => Err(MergeError::Truncated { file, why: Some(e) }),
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
            let (tx, rx) = sync_channel::<Result<Read1, MergeError>>(256);
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
/// receiver is gone. An error is the stream's last item.
fn read_documents(path: &Path, expected: u64, tx: &SyncSender<Result<Read1, MergeError>>) {
    if let Err(e) = read_checked(path, expected, tx) {
        let _ = tx.send(Err(e));
    }
}

fn read_checked(
    path: &Path,
    expected: u64,
    tx: &SyncSender<Result<Read1, MergeError>>,
) -> Result<(), MergeError> {
    let file = path.display().to_string();
    let read_error = |line, error| MergeError::Read {
        file: file.clone(),
        line,
        error,
    };
    let reader = File::open(path).map_err(|e| read_error(None, e))?;
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut buf = String::new();
    let (mut n, mut docs, mut summary_at) = (0u64, 0u64, None::<u64>);
    let mut prev: Option<[u64; 2]> = None;
    loop {
        buf.clear();
        if reader
            .read_line(&mut buf)
            .map_err(|e| read_error(Some(n + 1), e))?
            == 0
        {
            break;
        }
        n += 1;
        let line = buf.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(summary_line) = summary_at {
            return Err(MergeError::AfterSummary {
                file,
                line: n,
                summary_line,
            });
        }
        let doc = match parse_line(line) {
            Ok(Line::Summary(_)) => {
                summary_at = Some(n);
                continue;
            }
            Ok(Line::Document(doc)) => doc,
            Err(why) => return Err(MergeError::BadLine { file, line: n, why }),
        };
        let Some(order) = doc.order else {
            return Err(MergeError::NoOrder { file, line: n });
        };
        if let Some(previous) = prev.filter(|&p| p >= order) {
            return Err(MergeError::OutOfOrder {
                file,
                line: n,
                order,
                previous,
            });
        }
        prev = Some(order);
        docs += 1;
        if tx.send(Ok(Read1 { line: n, doc: *doc })).is_err() {
            return Ok(());
        }
    }
    if docs != expected {
        return Err(MergeError::Miscounted {
            file,
            documents: docs,
            expected,
        });
    }
    Ok(())
}

struct Source {
    name: String,
    rx: Receiver<Result<Read1, MergeError>>,
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
    fn pull(&mut self, i: usize) -> Result<(), MergeError> {
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
    type Item = Result<DocumentReport, MergeError>;

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
                    return Err(MergeError::SameInput {
                        first_file: self.sources[source].name.clone(),
                        first_line: line,
                        second_file: self.sources[head.source].name.clone(),
                        second_line: head.read.line,
                        source_name: head.read.doc.source.clone(),
                        order,
                    });
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
