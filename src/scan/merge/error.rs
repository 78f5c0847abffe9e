//! Why shard outputs cannot be merged. Every message is one line naming the file (and the
//! line, when there is one) and, where it helps, what to do about it.

use std::fmt;

use crate::model::Command;
use crate::report::json::SCHEMA;

const NOT_FINISHED: &str = "the shard did not finish (or the file was cut short); run it again";

/// A shard file and which shard it is (`K/N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardName {
    pub file: String,
    pub index: u64,
    pub count: u64,
}

impl fmt::Display for ShardName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (shard {}/{})", self.file, self.index, self.count)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no shard files given")]
    NoFiles,
    /// The file could not be opened or read (`line` when it failed part-way). The I/O
    /// error is part of the message, not a `source`, so it is not printed twice.
    #[error("{file}{}: cannot read: {error}", line.map(|n| format!(":{n}")).unwrap_or_default())]
    Read {
        file: String,
        line: Option<u64>,
        error: std::io::Error,
    },
    #[error("{file}: empty: the shard wrote nothing (did it start?)")]
    Empty { file: String },
    /// The last line is a document, or no line of pixscan's: the shard did not finish.
    #[error("{file}: truncated: {}", truncated_message(why.as_deref()))]
    Truncated { file: String, why: Option<String> },
    #[error("{file}: schema {found:?}, expected {SCHEMA:?}")]
    Schema { file: String, found: String },
    #[error("{file}: unknown command {found:?} (expected eml or site)")]
    UnknownCommand { file: String, found: String },
    #[error("mixed commands: {first} is from `pixscan {command}`, {other} from `pixscan {other_command}`; merge the shards of one run")]
    MixedCommands {
        first: String,
        command: Command,
        other: String,
        other_command: String,
    },
    #[error("{file}: written with report filters (--kind, --entity, --category), so it does not hold every finding; run the shards without them and give the filters to `pixscan merge`")]
    Filtered { file: String },
    #[error("{file} is a whole run (written without --shard): it can only be merged on its own")]
    WholeRunAmongShards { file: String },
    #[error("shards of different splits: {} is shard {}/{}, {} is shard {}/{}", first.file, first.index, first.count, other.file, other.index, other.count)]
    DifferentSplits { first: ShardName, other: ShardName },
    #[error("{}: shard {}/{} is out of range", shard.file, shard.index, shard.count)]
    OutOfRange { shard: ShardName },
    #[error("shard {index}/{count} is given twice: {first} and {second}")]
    Twice {
        index: u64,
        count: u64,
        first: String,
        second: String,
    },
    /// Shards of the split are absent; `given` are the ones there.
    #[error("{}", missing_message(missing, given, *count))]
    Missing {
        missing: Vec<u64>,
        given: Vec<ShardName>,
        count: u64,
    },
    #[error("shards of different runs: {first} ran `pixscan {first_run}`, {other} ran `pixscan {other_run}`; every shard of a run scans the same inputs with the same options")]
    DifferentRuns {
        first: Box<ShardName>,
        first_run: String,
        other: Box<ShardName>,
        other_run: String,
    },
    #[error("the shards saw different inputs: {first} counts {first_seen} file(s) and message(s), {other} counts {other_seen}; were they run over different copies of the mail, or while it changed?")]
    DifferentInputs {
        first: String,
        first_seen: u64,
        other: String,
        other_seen: u64,
    },
    #[error("{file}:{line}: a line after the summary (line {summary_line}): two runs' output in one file?")]
    AfterSummary {
        file: String,
        line: u64,
        summary_line: u64,
    },
    #[error("{file}:{line}: {why}")]
    BadLine {
        file: String,
        line: u64,
        why: String,
    },
    #[error(
        "{file}:{line}: a document without `order`: not written by `pixscan … --format ndjson`"
    )]
    NoOrder { file: String, line: u64 },
    #[error("{file}:{line}: documents out of order ({order:?} after {previous:?}): the file was edited or joined from several runs")]
    OutOfOrder {
        file: String,
        line: u64,
        order: [u64; 2],
        previous: [u64; 2],
    },
    #[error("{file}: {documents} document line(s), but its summary counts {expected} input(s): the file was edited or cut")]
    Miscounted {
        file: String,
        documents: u64,
        expected: u64,
    },
    #[error("the same input is in two shards: {first_file}:{first_line} and {second_file}:{second_line} ({source_name}, order {order:?}); were the shards run over different inputs, or with different options?")]
    SameInput {
        first_file: String,
        first_line: u64,
        second_file: String,
        second_line: u64,
        source_name: String,
        order: [u64; 2],
    },
}

fn missing_message(missing: &[u64], given: &[ShardName], count: u64) -> String {
    let missing: Vec<String> = missing.iter().map(|k| format!("{k}/{count}")).collect();
    let given: Vec<String> = given
        .iter()
        .map(|s| format!("{}/{count} ({})", s.index, s.file))
        .collect();
    let one = missing.len() == 1;
    format!(
        "shard{} {} {} missing (given: {}); merge needs all {count} shards of the run",
        if one { "" } else { "s" },
        missing.join(", "),
        if one { "is" } else { "are" },
        given.join(", ")
    )
}

fn truncated_message(why: Option<&str>) -> String {
    match why {
        Some(e) => format!("the last line is not a summary line ({e}); {NOT_FINISHED}"),
        None => format!("no summary line at the end, {NOT_FINISHED}"),
    }
}
