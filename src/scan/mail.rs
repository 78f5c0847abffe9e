//! Orchestration: runs the pipeline over many documents in parallel and hands reports to
//! the caller in input order, so output is stable whatever the thread timing.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::analyze::{self, Context, Mode, Recipient};
use crate::domain::{email_domain, registrable};
use crate::extract;
use crate::filters::FilterLists;
use crate::model::{
    DocumentReport, Finding, Kind, Party, Platform, RawRef, ShardSummary, Summary, Tier,
};
use crate::rules::Ruleset;
use crate::select::PathSelect;
use crate::shard::{Shard, ShardRun};
use crate::source::mail::{self, InputLimits, MailInput, Skipped};

pub struct MailOptions<'a> {
    pub paths: Vec<PathBuf>,
    pub rules: &'a Ruleset,
    /// `--filter-list`: an attribution tier after the ruleset.
    pub filters: Option<&'a FilterLists>,
    pub jobs: usize,
    /// Extra recipient addresses to look for (besides To/Cc/Delivered-To/X-Original-To).
    pub recipients: Vec<String>,
    pub limits: InputLimits,
    /// `--include`/`--exclude`: which files found in folders are read.
    pub select: PathSelect,
    /// Counters for a progress line, if the caller shows one.
    pub progress: Option<&'a MailProgress>,
    /// `--shard K/N`: scan only this shard's messages (see [`crate::shard`]).
    pub shard: Option<ShardRun>,
}

/// How far a mail scan is, by file (an mbox's message count is not known before it is read,
/// the number of files is): files found once the folders are walked, and files whose
/// messages have all been handed to `emit`.
#[derive(Debug, Default)]
pub struct MailProgress {
    pub files: AtomicU64,
    pub files_done: AtomicU64,
}

/// Scans every message under `opts.paths`; `emit` receives reports in input order and may
/// amend them (policy verdicts) before they are counted.
pub fn scan_mail(opts: &MailOptions<'_>, emit: &mut dyn FnMut(&mut DocumentReport)) -> Summary {
    scan_mail_with(opts, &|_| (), &mut |doc, _| emit(doc))
}

/// Messages handed between threads at once: one queue entry (and wake-up) per batch, not
/// per message. At the end of the input the last batches are handed out a message at a
/// time (see [`Queue::take`]), so the workers finish together.
const BATCH: usize = 16;

/// A batch also ends once it holds this many bytes of mail: a batch's reports are rendered,
/// written and freed while they are still in the cache (2,000 newsletters of 36 KB took
/// ~10% less CPU in batches of 2 than of 16), and small messages still travel 16 at a time.
const BATCH_BYTES: usize = 64 << 10;

/// As [`scan_mail`], with per-document work done in the worker threads: `prepare` runs
/// there on each report as soon as it is scanned (in any order), and its result reaches
/// `emit` with the report, in input order. `emit` runs on the calling thread and should
/// only do what needs input order (counting, writing). Reports and their `T` are dropped
/// back in the workers, where they were allocated, not on the writer's thread.
pub fn scan_mail_with<T: Send>(
    opts: &MailOptions<'_>,
    prepare: &(dyn Fn(&mut DocumentReport) -> T + Sync),
    emit: &mut dyn FnMut(&mut DocumentReport, &mut T),
) -> Summary {
    let mut summary = Summary::default();
    let jobs = opts.jobs.max(1);
    let queue = Queue::new(jobs);
    let (out_tx, out_rx) = sync_channel::<(usize, Vec<(DocumentReport, T)>)>(jobs * 2);
    // Emitted batches go back to the workers to be freed (glibc frees fastest on the
    // thread that allocated, and the writer's time is the run's critical path).
    let (trash_tx, trash_rx) = std::sync::mpsc::channel::<Vec<(DocumentReport, T)>>();
    let trash_rx = Mutex::new(trash_rx);
    let mut skipped = Vec::new();
    let shard = opts.shard.as_ref().map_or(Shard::WHOLE, |s| s.shard);
    let plan = mail::plan_shard(&opts.paths, &opts.select, &shard);
    summary.excluded = plan.excluded;
    let mut left = plan.excluded_elsewhere;
    let mut skipped_order = Vec::new();
    if let Some(p) = opts.progress {
        p.files.store(plan.inputs.len() as u64, Ordering::Relaxed);
    }
    // For each file read through: how many messages were sent before its end, so a file
    // counts as done once all its messages are out of `emit`.
    let file_ends: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        let inputs = plan.inputs;
        let file_ends = &file_ends;
        let queue = &queue;
        let producer = s.spawn(move || produce(inputs, opts, &shard, Feed(queue), file_ends));
        for _ in 0..jobs {
            let out_tx = out_tx.clone();
            let trash_rx = &trash_rx;
            s.spawn(move || {
                let queue = Taker {
                    queue,
                    holding: false,
                };
                worker(queue, trash_rx, out_tx, opts, prepare)
            });
        }
        drop(out_tx);
        in_order(out_rx, trash_tx, opts, file_ends, &mut |r, t| {
            emit(r, t);
            summary.add(r);
        });
        let produced = producer.join().unwrap_or_default();
        (skipped, skipped_order) = (produced.skipped, produced.skipped_order);
        left += produced.left;
    });
    summary.skipped = skipped;
    summary.shard = opts.shard.as_ref().map(|s| ShardSummary {
        index: s.shard.index,
        count: s.shard.count,
        run: s.run.clone(),
        left_to_others: left,
        skipped_order,
    });
    summary.mailboxes = mail::mailboxes(&opts.paths, &opts.select);
    summary.finish();
    summary
}

/// What the reading thread learnt beyond the messages it sent.
#[derive(Default)]
struct Produced {
    /// Files skipped as not mail.
    skipped: Vec<Skipped>,
    /// `--shard`: what this shard leaves to the others.
    left: u64,
    /// Each skip's place in a single run's order.
    skipped_order: Vec<[u64; 2]>,
}

/// The reading thread: this shard's messages of every input, in batches of [`BATCH`]
/// messages or [`BATCH_BYTES`], keyed by the index of their first message (message `i` is
/// its batch's key + its position). Records in `file_ends` how many messages were sent
/// before each file's end, for the progress line.
fn produce(
    inputs: Vec<mail::PlannedInput>,
    opts: &MailOptions<'_>,
    shard: &Shard,
    feed: Feed<'_>,
    file_ends: &Mutex<Vec<usize>>,
) -> Produced {
    let mut out = Produced::default();
    let mut i = 0usize;
    let mut batch: Vec<Ordered> = Vec::with_capacity(BATCH);
    let mut batch_bytes = 0usize;
    for (ordinal, file) in inputs.into_iter().enumerate() {
        let ordinal = ordinal as u64;
        let key = file.key().to_owned();
        let before = out.skipped.len();
        // A file whose first message is another shard's is read only if it may hold more
        // (an mbox: its messages go round the shards).
        let items = if shard.owns(&key, 0) || file.may_hold_many() {
            file.messages(opts.limits, &mut out.skipped)
        } else {
            out.left += 1;
            Box::new(std::iter::empty())
        };
        // A file skipped as not mail is its first item.
        if out.skipped.len() > before && !shard.owns(&key, 0) {
            out.left += (out.skipped.len() - before) as u64;
            out.skipped.truncate(before);
        }
        out.skipped_order.resize(out.skipped.len(), [ordinal, 0]);
        for (item, input) in items.enumerate() {
            let item = item as u64;
            if !shard.owns(&key, item) {
                out.left += 1;
                continue;
            }
            batch_bytes += input.bytes.as_ref().map_or(0, Vec::len);
            batch.push(([ordinal, item], input));
            i += 1;
            if batch.len() == BATCH || batch_bytes >= BATCH_BYTES {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                batch_bytes = 0;
                if !feed.push(i - full.len(), full) {
                    // The workers are gone: nothing more will be read.
                    return out;
                }
            }
        }
        if opts.progress.is_some() {
            if let Ok(mut ends) = file_ends.lock() {
                ends.push(i);
            }
        }
    }
    if !batch.is_empty() {
        feed.push(i - batch.len(), batch);
    }
    out
}

/// Hands the workers' reports to `emit` in the run's order, holding batches that arrive
/// early until their predecessors are out, and sends each emitted batch back to be freed.
fn in_order<T>(
    out_rx: Receiver<Batch<T>>,
    trash_tx: std::sync::mpsc::Sender<Vec<(DocumentReport, T)>>,
    opts: &MailOptions<'_>,
    file_ends: &Mutex<Vec<usize>>,
    emit: &mut dyn FnMut(&mut DocumentReport, &mut T),
) {
    // The index of the next message to emit: the key of the batch that comes next.
    let mut next = 0usize;
    let mut files_done = 0usize;
    let mut pending: BTreeMap<usize, Vec<(DocumentReport, T)>> = BTreeMap::new();
    for (first, reports) in out_rx {
        pending.insert(first, reports);
        while let Some(mut reports) = pending.remove(&next) {
            for (r, t) in reports.iter_mut() {
                next += 1;
                if let Some(p) = opts.progress {
                    if let Ok(ends) = file_ends.lock() {
                        while files_done < ends.len() && ends[files_done] <= next {
                            files_done += 1;
                        }
                    }
                    p.files_done.store(files_done as u64, Ordering::Relaxed);
                }
                emit(r, t);
            }
            let _ = trash_tx.send(reports);
        }
    }
}

type Batch<T> = (usize, Vec<(DocumentReport, T)>);

/// A message and its place in a single run's order (`DocumentReport::order`).
type Ordered = ([u64; 2], MailInput);

/// The messages read and not yet taken by a worker: batches keyed by the index of their
/// first message, at most `cap` of them (the reader waits for room, so a 10 GB mbox is
/// never read far ahead of the scan).
///
/// The end of a run is shared out: once the reader is done, the last batches are handed
/// out a message at a time, and a worker that runs out of work while another still holds
/// part of a batch waits for it, hungry; the other gives back the later half of what it
/// has not started ([`Queue::hungry`], [`Queue::give_back`]). Otherwise the worker that
/// took the last whole batch would scan it alone while the other cores idle. (The same
/// halving shares the work whenever the reader falls behind.)
struct Queue {
    state: Mutex<QueueState>,
    /// Workers wait here for a batch (or the end).
    work: Condvar,
    /// The reader waits here for room.
    room: Condvar,
    /// Workers waiting in `work` (read without the lock, between messages).
    waiting: AtomicUsize,
    cap: usize,
    workers: usize,
}

struct QueueState {
    batches: VecDeque<(usize, Vec<Ordered>)>,
    /// The reader is done: what is queued, and what the busy workers may give back, is
    /// all there is.
    done: bool,
    /// Workers still taking batches; none left means nothing more is read.
    workers: usize,
    /// Workers holding a batch (which they may give part of back).
    busy: usize,
}

impl Queue {
    fn new(workers: usize) -> Queue {
        Queue {
            state: Mutex::new(QueueState {
                batches: VecDeque::new(),
                done: false,
                workers,
                busy: 0,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            waiting: AtomicUsize::new(0),
            cap: workers * 2,
            workers,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // No code that can panic runs under this lock; a poisoned one is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next batch for a worker (`done`: the one it held is finished), `None` at the
    /// end. Once the reader is done and fewer batches are left than there are workers,
    /// they are handed out a message at a time.
    fn take(&self, done_with_one: bool) -> Option<(usize, Vec<Ordered>)> {
        let mut st = self.lock();
        if done_with_one {
            st.busy -= 1;
        }
        loop {
            let reader_done = st.done;
            let left = st.batches.len();
            if let Some((first, batch)) = st.batches.front_mut() {
                let one = if reader_done && left < self.workers && batch.len() > 1 {
                    let one = (*first, vec![batch.remove(0)]);
                    *first += 1;
                    Some(one)
                } else {
                    // Wake the reader once half the room is free, not at every batch.
                    if !reader_done && left - 1 <= self.cap / 2 {
                        self.room.notify_one();
                    }
                    None
                };
                let taken = one.or_else(|| st.batches.pop_front());
                st.busy += 1;
                return taken;
            }
            if reader_done && st.busy == 0 {
                // Nothing queued, nothing held that could come back: the end.
                self.work.notify_all();
                return None;
            }
            self.waiting.fetch_add(1, Ordering::Relaxed);
            st = self.work.wait(st).unwrap_or_else(|e| e.into_inner());
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Whether a worker waits for work (checked between messages, without the lock).
    fn hungry(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) > 0
    }

    /// Messages of a batch a worker has not started, back at the head of the queue for a
    /// waiting worker (they come before anything queued).
    fn give_back(&self, first: usize, rest: Vec<Ordered>) {
        self.lock().batches.push_front((first, rest));
        self.work.notify_one();
    }
}

/// The reader's end of the [`Queue`]; dropping it (at the end, or on a panic) tells the
/// workers that what is queued is all there is.
struct Feed<'a>(&'a Queue);

impl Feed<'_> {
    /// Queues a batch once there is room; false if no worker is left to take it.
    fn push(&self, first: usize, batch: Vec<Ordered>) -> bool {
        let q = self.0;
        let mut st = q.lock();
        while st.batches.len() >= q.cap && st.workers > 0 {
            st = q.room.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.workers == 0 {
            return false;
        }
        st.batches.push_back((first, batch));
        q.work.notify_one();
        true
    }
}

impl Drop for Feed<'_> {
    fn drop(&mut self) {
        self.0.lock().done = true;
        self.0.work.notify_all();
    }
}

/// A worker's end of the [`Queue`]; dropping it (at the end, or on a panic) counts the
/// worker out (and its batch as finished), and the reader stops once none is left.
struct Taker<'a> {
    queue: &'a Queue,
    /// A batch taken and not yet finished.
    holding: bool,
}

impl Taker<'_> {
    fn take(&mut self) -> Option<(usize, Vec<Ordered>)> {
        let next = self.queue.take(self.holding);
        self.holding = next.is_some();
        next
    }
}

impl Drop for Taker<'_> {
    fn drop(&mut self) {
        let mut st = self.queue.lock();
        st.workers -= 1;
        if self.holding {
            st.busy -= 1;
        }
        if st.workers == 0 {
            self.queue.room.notify_all();
        }
        // A worker waiting for what this one might have given back.
        self.queue.work.notify_all();
    }
}

fn worker<T: Send>(
    mut queue: Taker<'_>,
    trash_rx: &Mutex<Receiver<Vec<(DocumentReport, T)>>>,
    out_tx: std::sync::mpsc::SyncSender<Batch<T>>,
    opts: &MailOptions<'_>,
    prepare: &(dyn Fn(&mut DocumentReport) -> T + Sync),
) {
    loop {
        // Free what the writer is done with (try_lock: never wait for it).
        if let Ok(rx) = trash_rx.try_lock() {
            while let Ok(done) = rx.try_recv() {
                drop(done);
            }
        }
        let Some((first, mut inputs)) = queue.take() else {
            return;
        };
        let mut out = Vec::with_capacity(inputs.len());
        // Taken from the back; what is left can be given back in order.
        inputs.reverse();
        while let Some((order, input)) = inputs.pop() {
            let mut report = match input.bytes {
                Err(e) => DocumentReport::failed(input.source, e),
                Ok(bytes) => {
                    let source = input.source.clone();
                    // A bug must cost one message, not the batch.
                    catch_unwind(AssertUnwindSafe(|| {
                        scan_message_with_lists(
                            input.source,
                            &bytes,
                            opts.rules,
                            opts.filters,
                            &opts.recipients,
                        )
                    }))
                    .unwrap_or_else(|_| {
                        DocumentReport::failed(
                            source,
                            "internal error while scanning this message (please report it)".into(),
                        )
                    })
                }
            };
            report.order = Some(order);
            let t = prepare(&mut report);
            out.push((report, t));
            if inputs.len() > 1 && queue.queue.hungry() {
                // Another worker has nothing to do: it takes the later half of what is left
                // (the front of `inputs`, which is reversed), this one keeps the rest.
                let (left, give) = (inputs.len(), inputs.len() / 2);
                let mut later: Vec<Ordered> = inputs.drain(..give).collect();
                later.reverse();
                queue
                    .queue
                    .give_back(first + out.len() + (left - give), later);
            }
        }
        if out_tx.send((first, out)).is_err() {
            return;
        }
    }
}

/// The whole pipeline for one message: parse → extract → analyze → report.
pub fn scan_message(
    source: String,
    bytes: &[u8],
    rules: &Ruleset,
    extra_recipients: &[String],
) -> DocumentReport {
    scan_message_with_lists(source, bytes, rules, None, extra_recipients)
}

/// [`scan_message`] with filter lists (`--filter-list`) as an attribution tier.
pub fn scan_message_with_lists(
    source: String,
    bytes: &[u8],
    rules: &Ruleset,
    filters: Option<&FilterLists>,
    extra_recipients: &[String],
) -> DocumentReport {
    let doc = match mail::parse(bytes) {
        Ok(d) => d,
        Err(e) => return DocumentReport::failed(source, e),
    };
    let first_party: Vec<String> = doc
        .from
        .as_deref()
        .and_then(email_domain)
        .map(|d| registrable(&d))
        .into_iter()
        .collect();
    let mut recipients: Vec<String> = doc.recipients.clone();
    for r in extra_recipients {
        let r = r.to_ascii_lowercase();
        if !recipients.contains(&r) {
            recipients.push(r);
        }
    }
    let platforms = sending_platforms(&doc, rules);
    let sent_by_platform = !platforms.is_empty();
    let ctx = Context {
        rules,
        filters,
        page: None,
        mode: Mode::Mail,
        first_party: first_party.clone(),
        recipients: recipients.iter().map(|r| Recipient::new(r)).collect(),
        base: None,
        sent_by_platform,
        referrer_sent: false,
        consent: None,
        known_accounts: Vec::new(),
        sender: doc.from.as_deref().map(str::to_ascii_lowercase),
        archive_copy: false,
    };
    let mut report = DocumentReport {
        source,
        title: doc.subject.clone(),
        sender: doc.from.clone(),
        recipients,
        first_party: first_party.first().cloned(),
        platforms,
        ..Default::default()
    };
    for (header, value) in &doc.receipts {
        report
            .findings
            .push(read_receipt(header, value, &first_party, rules));
    }
    let refs = html_refs(&doc, &mut report);
    let mut analysis = analyze::analyze(&refs, &ctx);
    if report.findings.is_empty() {
        report.findings = analysis.findings; // no read receipts: moved, not copied
    } else {
        report.findings.append(&mut analysis.findings);
    }
    report.untracked_links = analysis.untracked_links;
    report
}

/// The remote references of every HTML body of `doc`, in order; a note on `report` when the
/// per-document limit cut some.
fn html_refs(doc: &mail::MailDocument, report: &mut DocumentReport) -> Vec<RawRef> {
    let mut refs = Vec::new();
    let mut truncated = 0u64;
    for html in &doc.html {
        let ex = extract::extract(html);
        truncated += ex.truncated_refs;
        if refs.is_empty() {
            refs = ex.refs; // the usual single HTML body: moved, not copied
        } else {
            refs.extend(ex.refs);
        }
    }
    if truncated > 0 {
        report.notes.push(format!(
            "{truncated} more remote reference(s) past the per-document limit of {} were not analyzed",
            extract::Limits::default().max_refs
        ));
    }
    refs
}

/// The sending platforms the message's headers name (header fingerprints, matched once).
fn sending_platforms(doc: &mail::MailDocument, rules: &Ruleset) -> Vec<Platform> {
    rules
        .match_headers(&doc.headers)
        .into_iter()
        .map(|(rule, evidence)| Platform {
            entity: rules.entity(rule.entity).name.clone(),
            rule: rule.id.clone(),
            evidence,
        })
        .collect()
}

fn read_receipt(header: &str, value: &str, first_party: &[String], rules: &Ruleset) -> Finding {
    let addr = value
        .split(['<', '>', ' ', ','])
        .find(|w| w.contains('@'))
        .unwrap_or(value)
        .trim()
        .to_ascii_lowercase();
    let domain = email_domain(&addr).unwrap_or_default();
    let reg = registrable(&domain);
    let party = if first_party.contains(&reg) {
        Party::First
    } else {
        Party::Third
    };
    let entity = rules.entity_for_host(&domain).map(|e| rules.entity(e));
    Finding {
        message: format!(
            "Read-receipt request ({header}): the mail client may offer to notify {addr} when the message is opened. Like an open signal, a receipt is not proof the message was read."
        ),
        tracking: true,
        entity: entity.map(|e| e.name.clone()),
        company: entity.and_then(|e| e.company.clone()),
        category: entity.and_then(|e| e.category.clone()),
        registrable_domain: Some(reg),
        tier: entity.map(|_| Tier::EntityDomain),
        evidence: vec![format!("header {header}: {}", crate::analyze::decode::shown(value)).into()],
        ..Finding::new(
            format!("mailto:{addr}"),
            "header".into(),
            header.to_string(),
            Kind::ReadReceipt,
            domain,
            party,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An mbox of `n` messages, message `i` (from 1) with subject `m{i}` and a body whose
    /// size (and scan time) varies, so workers finish out of order; every fifth is a third
    /// of [`BATCH_BYTES`] long, so some batches end by their bytes, before [`BATCH`].
    fn mbox(n: usize) -> tempfile::NamedTempFile {
        let mut text = String::new();
        for i in 1..=n {
            text.push_str(&format!(
                "From a@x Mon Jan  1 00:00:00 2026\nFrom: News <news@shop.example>\nTo: jane@example.org\nSubject: m{i}\nContent-Type: text/html\n\n<p>{i}</p>"
            ));
            for k in 0..(i * 7919) % 23 {
                text.push_str(&format!(
                    "<img src=\"https://t{k}.tracker.example/open?u={i}\" width=1 height=1>"
                ));
            }
            if i % 5 == 0 {
                text.push_str(&"<p>filler</p>".repeat(BATCH_BYTES / 3 / 13));
            }
            text.push_str("\n\n");
        }
        let file = tempfile::Builder::new().suffix(".mbox").tempfile().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn messages_come_out_in_input_order_at_any_jobs() {
        let rules = Ruleset::embedded().unwrap();
        // Not a multiple of the batch: the end hands out a partial batch, message by message.
        let n = 25 * BATCH + 3;
        let file = mbox(n);
        for jobs in [1, 2, 3, 7] {
            let progress = MailProgress::default();
            let opts = MailOptions {
                paths: vec![file.path().to_path_buf()],
                rules: &rules,
                filters: None,
                jobs,
                recipients: Vec::new(),
                limits: InputLimits::default(),
                select: PathSelect::default(),
                progress: Some(&progress),
                shard: None,
            };
            let mut seen = Vec::new();
            let summary = scan_mail_with(&opts, &|doc| doc.order, &mut |doc, order| {
                assert_eq!(doc.order, *order);
                seen.push((doc.order, doc.title.clone()));
            });
            let want: Vec<_> = (1..=n)
                .map(|i| (Some([0, i as u64 - 1]), Some(format!("m{i}"))))
                .collect();
            let wrong = seen.iter().zip(&want).position(|(a, b)| a != b);
            assert!(
                seen.len() == n && wrong.is_none(),
                "-j {jobs}: {} of {n} messages out, the first out of place at {wrong:?}",
                seen.len()
            );
            assert_eq!(
                (summary.inputs, summary.scanned),
                (n as u64, n as u64),
                "-j {jobs}"
            );
            assert_eq!(progress.files_done.load(Ordering::Relaxed), 1);
        }
    }
}
