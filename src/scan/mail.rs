//! Orchestration: runs the pipeline over many documents in parallel and hands reports to
//! the caller in input order, so output is stable whatever the thread timing.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Messages read at once: one lock of the reader, and one of the outbox, per batch.
const BATCH: usize = 16;

/// A batch also ends once it holds this many bytes of mail: a batch's reports are rendered,
/// written and freed while they are still in the cache (2,000 newsletters of 36 KB took
/// ~10% less CPU in batches of 2 than of 16), small messages still go 16 at a time, and
/// at the end of the input no thread is left alone with much more than this to scan.
const BATCH_BYTES: usize = 64 << 10;

/// Scanned batches waiting for their predecessors, per thread, before a helper waits to
/// read more (a message that takes long to scan must not let the others read a 10 GB mbox
/// into memory meanwhile).
const WAITING_PER_THREAD: usize = 8;

/// As [`scan_mail`], with per-document work done where the document is scanned: `prepare`
/// runs on each report as soon as it is scanned (on any thread, in any order), and its
/// result reaches `emit` with the report, in input order. `emit` runs on the calling
/// thread and should only do what needs input order (counting, writing).
///
/// There is no reading or writing thread. The calling thread and `jobs - 1` helpers each
/// take the next batch from the reader (under a lock), scan it, and the calling thread
/// writes whatever is next in order between its own batches. At `-j 1` all of it runs on
/// the calling thread; at `-j N` there are N threads, none of them waking another per
/// message, and a batch is read, scanned and rendered on one core.
pub fn scan_mail_with<T: Send>(
    opts: &MailOptions<'_>,
    prepare: &(dyn Fn(&mut DocumentReport) -> T + Sync),
    emit: &mut dyn FnMut(&mut DocumentReport, &mut T),
) -> Summary {
    let mut summary = Summary::default();
    let jobs = opts.jobs.max(1);
    let shard = opts.shard.as_ref().map_or(Shard::WHOLE, |s| s.shard);
    let plan = mail::plan_shard(&opts.paths, &opts.select, &shard);
    summary.excluded = plan.excluded;
    if let Some(p) = opts.progress {
        p.files.store(plan.inputs.len() as u64, Ordering::Relaxed);
    }
    // Apart from the reader: the writer checks it per message, and must not wait while a
    // helper holds the reader for its next read.
    let file_ends = Mutex::new(Vec::new());
    let reader = Mutex::new(Reader::new(plan.inputs, opts, shard, &file_ends));
    let outbox = Outbox::new(jobs - 1, jobs * WAITING_PER_THREAD);
    std::thread::scope(|s| {
        for _ in 1..jobs {
            s.spawn(|| help(&reader, &outbox, opts, prepare));
        }
        let writer = InOrder {
            next: 0,
            files_done: 0,
            progress: opts.progress,
            file_ends: &file_ends,
            emit: &mut |r, t| {
                emit(r, t);
                summary.add(r);
            },
        };
        lead(&reader, &outbox, opts, prepare, writer);
    });
    let read = reader.into_inner().unwrap_or_else(|e| e.into_inner());
    summary.skipped = read.out.skipped;
    summary.shard = opts.shard.as_ref().map(|s| ShardSummary {
        index: s.shard.index,
        count: s.shard.count,
        run: s.run.clone(),
        left_to_others: plan.excluded_elsewhere + read.out.left,
        skipped_order: read.out.skipped_order,
    });
    summary.mailboxes = mail::mailboxes(&opts.paths, &opts.select);
    summary.finish();
    summary
}

/// What reading learnt beyond the messages it handed out.
#[derive(Default)]
struct Produced {
    /// Files skipped as not mail.
    skipped: Vec<Skipped>,
    /// `--shard`: what this shard leaves to the others.
    left: u64,
    /// Each skip's place in a single run's order.
    skipped_order: Vec<[u64; 2]>,
}

/// A message and its place in a single run's order (`DocumentReport::order`).
type Ordered = ([u64; 2], MailInput);

/// Scanned messages with what `prepare` made of them.
type Scanned<T> = Vec<(DocumentReport, T)>;

/// The input, shared by the threads under a lock: this shard's messages of every input, in
/// batches of [`BATCH`] messages or [`BATCH_BYTES`], each keyed by the index of its first
/// message (message `i` is its batch's key + its position).
struct Reader<'a> {
    inputs: std::iter::Enumerate<std::vec::IntoIter<mail::PlannedInput>>,
    /// The file being read: its ordinal, its `--shard` key and its messages.
    file: Option<(u64, String, std::iter::Enumerate<mail::Messages>)>,
    opts: &'a MailOptions<'a>,
    shard: Shard,
    /// Messages handed out so far.
    sent: usize,
    /// For each file read through: how many messages were handed out before its end, so
    /// the progress line counts a file as done once all its messages are written.
    file_ends: &'a Mutex<Vec<usize>>,
    out: Produced,
}

impl<'a> Reader<'a> {
    fn new(
        inputs: Vec<mail::PlannedInput>,
        opts: &'a MailOptions<'a>,
        shard: Shard,
        file_ends: &'a Mutex<Vec<usize>>,
    ) -> Self {
        Reader {
            inputs: inputs.into_iter().enumerate(),
            file: None,
            opts,
            shard,
            sent: 0,
            file_ends,
            out: Produced::default(),
        }
    }

    /// The next batch, `None` once every input is read.
    fn batch(&mut self) -> Option<(usize, Vec<Ordered>)> {
        let mut batch = Vec::with_capacity(BATCH);
        let mut bytes = 0usize;
        while batch.len() < BATCH && bytes < BATCH_BYTES {
            let Some((ordinal, key, items)) = &mut self.file else {
                if !self.open_next() {
                    break;
                }
                continue;
            };
            let Some((item, input)) = items.next() else {
                self.file = None;
                if self.opts.progress.is_some() {
                    if let Ok(mut ends) = self.file_ends.lock() {
                        ends.push(self.sent);
                    }
                }
                continue;
            };
            let item = item as u64;
            if !self.shard.owns(key, item) {
                self.out.left += 1;
                continue;
            }
            bytes += input.bytes.as_ref().map_or(0, Vec::len);
            batch.push(([*ordinal, item], input));
            self.sent += 1;
        }
        (!batch.is_empty()).then(|| (self.sent - batch.len(), batch))
    }

    /// Starts reading the next input; false if there is none.
    fn open_next(&mut self) -> bool {
        let Some((ordinal, file)) = self.inputs.next() else {
            return false;
        };
        let ordinal = ordinal as u64;
        let key = file.key().to_owned();
        let out = &mut self.out;
        let before = out.skipped.len();
        // A file whose first message is another shard's is read only if it may hold more
        // (an mbox: its messages go round the shards).
        let items = if self.shard.owns(&key, 0) || file.may_hold_many() {
            file.messages(self.opts.limits, &mut out.skipped)
        } else {
            out.left += 1;
            Box::new(std::iter::empty())
        };
        // A file skipped as not mail is its first item.
        if out.skipped.len() > before && !self.shard.owns(&key, 0) {
            out.left += (out.skipped.len() - before) as u64;
            out.skipped.truncate(before);
        }
        out.skipped_order.resize(out.skipped.len(), [ordinal, 0]);
        self.file = Some((ordinal, key, items.enumerate()));
        true
    }
}

/// The next batch from the shared reader (`None`: the input is all read, or reading
/// panicked on another thread, which the thread scope reports).
fn read_batch(reader: &Mutex<Reader<'_>>) -> Option<(usize, Vec<Ordered>)> {
    reader.lock().ok()?.batch()
}

/// Batches scanned by the helpers, waiting for the calling thread to write them in order.
struct Outbox<T> {
    state: Mutex<OutboxState<T>>,
    /// The calling thread waits here for the batch that comes next.
    arrived: Condvar,
    /// Helpers wait here for room before reading more.
    room: Condvar,
    /// Batches held before helpers wait for room.
    cap: usize,
}

struct OutboxState<T> {
    /// Scanned batches by key; `true`: a helper's (freed back on a helper's thread).
    waiting: BTreeMap<usize, (bool, Scanned<T>)>,
    /// Batches taken out of `waiting` and being written: they still count against the cap.
    writing: usize,
    /// Written batches for the helpers to free, where they were allocated.
    trash: Vec<Scanned<T>>,
    /// Helpers still running.
    helpers: usize,
    /// The calling thread waits in `arrived`.
    lead_waiting: bool,
    /// Helpers waiting in `room`.
    helpers_waiting: usize,
    /// The run ends here: the calling thread is gone (done, or unwinding), or a helper
    /// panicked. Everyone stops.
    stop: bool,
}

impl<T> Outbox<T> {
    fn new(helpers: usize, cap: usize) -> Self {
        Outbox {
            state: Mutex::new(OutboxState {
                waiting: BTreeMap::new(),
                writing: 0,
                trash: Vec::new(),
                helpers,
                lead_waiting: false,
                helpers_waiting: 0,
                stop: false,
            }),
            arrived: Condvar::new(),
            room: Condvar::new(),
            cap,
        }
    }

    fn lock(&self) -> MutexGuard<'_, OutboxState<T>> {
        // No code that can panic runs under this lock; a poisoned one is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A helper thread: reads a batch, scans it, leaves it in the outbox, until the input ends
/// or the calling thread is gone. Dropping its guard (at the end, or on a panic) counts it
/// out, so the calling thread does not wait for it; a panic stops the run.
fn help<T: Send>(
    reader: &Mutex<Reader<'_>>,
    outbox: &Outbox<T>,
    opts: &MailOptions<'_>,
    prepare: &(dyn Fn(&mut DocumentReport) -> T + Sync),
) {
    struct Gone<'a, T>(&'a Outbox<T>);
    impl<T> Drop for Gone<'_, T> {
        fn drop(&mut self) {
            let mut st = self.0.lock();
            st.helpers -= 1;
            if std::thread::panicking() {
                // Its batch will never come: the run stops, and the scope reports the panic.
                st.stop = true;
                self.0.room.notify_all();
            }
            if st.lead_waiting {
                self.0.arrived.notify_one();
            }
        }
    }
    let _gone = Gone(outbox);
    loop {
        {
            let mut st = outbox.lock();
            while st.waiting.len() + st.writing >= outbox.cap && !st.stop {
                st.helpers_waiting += 1;
                st = outbox.room.wait(st).unwrap_or_else(|e| e.into_inner());
                st.helpers_waiting -= 1;
            }
            if st.stop {
                return;
            }
        }
        let Some((first, batch)) = read_batch(reader) else {
            return;
        };
        let scanned = scan_batch(batch, opts, prepare);
        let mut st = outbox.lock();
        st.waiting.insert(first, (true, scanned));
        let trash = std::mem::take(&mut st.trash);
        if st.lead_waiting {
            outbox.arrived.notify_one();
        }
        drop(st);
        drop(trash);
    }
}

/// The calling thread: scans batches like a helper and, between them, hands what is next
/// in order to the `writer`; once the input is read, waits for the helpers' last batches.
fn lead<T: Send>(
    reader: &Mutex<Reader<'_>>,
    outbox: &Outbox<T>,
    opts: &MailOptions<'_>,
    prepare: &(dyn Fn(&mut DocumentReport) -> T + Sync),
    mut writer: InOrder<'_, '_, T>,
) {
    /// Tells the helpers to stop when the calling thread leaves, however it leaves.
    struct Closing<'a, T>(&'a Outbox<T>);
    impl<T> Drop for Closing<'_, T> {
        fn drop(&mut self) {
            self.0.lock().stop = true;
            self.0.room.notify_all();
        }
    }
    let _closing = Closing(outbox);
    // Read and scan while there is input and room.
    loop {
        if !writer.write_ready(outbox, false) {
            return;
        }
        let Some((first, batch)) = read_batch(reader) else {
            break;
        };
        let mut scanned = scan_batch(batch, opts, prepare);
        if first == writer.next {
            writer.write(&mut scanned);
        } else {
            outbox.lock().waiting.insert(first, (false, scanned));
        }
    }
    // The input is read: what the helpers still scan comes next.
    let total = reader.lock().map_or(writer.next, |r| r.sent);
    while writer.next < total {
        if !writer.write_ready(outbox, true) {
            return; // a helper panicked: the thread scope reports it
        }
    }
}

/// The calling thread's writing: the index of the next message to emit, and where the
/// progress line stands.
struct InOrder<'r, 'e, T> {
    next: usize,
    files_done: usize,
    progress: Option<&'r MailProgress>,
    /// [`Reader::file_ends`].
    file_ends: &'r Mutex<Vec<usize>>,
    emit: &'e mut dyn FnMut(&mut DocumentReport, &mut T),
}

impl<T> InOrder<'_, '_, T> {
    /// Emits the batches that come next in the outbox, if any. With `wait` (or when the
    /// outbox is full), waits for the next one first. False: the run stops (a helper
    /// panicked, or none is left to bring the next batch).
    fn write_ready(&mut self, outbox: &Outbox<T>, wait: bool) -> bool {
        let mut ready = Vec::new();
        let mut st = outbox.lock();
        if wait || st.waiting.len() >= outbox.cap {
            while !st.waiting.contains_key(&self.next) {
                if st.helpers == 0 || st.stop {
                    return false;
                }
                st.lead_waiting = true;
                st = outbox.arrived.wait(st).unwrap_or_else(|e| e.into_inner());
                st.lead_waiting = false;
            }
        }
        let mut key = self.next;
        while let Some((helpers, scanned)) = st.waiting.remove(&key) {
            key += scanned.len();
            ready.push((helpers, scanned));
        }
        if ready.is_empty() {
            return true;
        }
        st.writing = ready.len();
        drop(st);
        let mut trash = Vec::new();
        for (helpers, mut scanned) in ready {
            self.write(&mut scanned);
            if helpers {
                trash.push(scanned);
            }
        }
        let mut st = outbox.lock();
        st.writing = 0;
        st.trash.append(&mut trash);
        if st.helpers_waiting > 0 {
            outbox.room.notify_all();
        }
        true
    }

    /// Emits a batch that comes next.
    fn write(&mut self, scanned: &mut Scanned<T>) {
        for (r, t) in scanned.iter_mut() {
            self.next += 1;
            if let Some(p) = self.progress {
                if let Ok(ends) = self.file_ends.lock() {
                    while self.files_done < ends.len() && ends[self.files_done] <= self.next {
                        self.files_done += 1;
                    }
                }
                p.files_done
                    .store(self.files_done as u64, Ordering::Relaxed);
            }
            (self.emit)(r, t);
        }
    }
}

/// Scans a batch's messages in order.
fn scan_batch<T>(
    batch: Vec<Ordered>,
    opts: &MailOptions<'_>,
    prepare: &(dyn Fn(&mut DocumentReport) -> T + Sync),
) -> Scanned<T> {
    let mut out = Vec::with_capacity(batch.len());
    for (order, input) in batch {
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
    }
    out
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

    fn options<'a>(
        file: &tempfile::NamedTempFile,
        rules: &'a Ruleset,
        jobs: usize,
        progress: Option<&'a MailProgress>,
    ) -> MailOptions<'a> {
        MailOptions {
            paths: vec![file.path().to_path_buf()],
            rules,
            filters: None,
            jobs,
            recipients: Vec::new(),
            limits: InputLimits::default(),
            select: PathSelect::default(),
            progress,
            shard: None,
        }
    }

    #[test]
    fn messages_come_out_in_input_order_at_any_jobs() {
        let rules = Ruleset::embedded().unwrap();
        // Not a multiple of the batch: the last batch is partial.
        let n = 25 * BATCH + 3;
        let file = mbox(n);
        for jobs in [1, 2, 3, 7] {
            let progress = MailProgress::default();
            let opts = options(&file, &rules, jobs, Some(&progress));
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

    /// A message that is slow to scan holds up the writing, not the memory: meanwhile the
    /// other threads scan at most the outbox's worth of batches past it, then wait.
    #[test]
    fn a_slow_message_bounds_how_far_the_others_read_ahead() {
        use std::sync::atomic::AtomicUsize;
        let rules = Ruleset::embedded().unwrap();
        let n = 60 * BATCH;
        let file = mbox(n);
        for jobs in [2, 3] {
            let opts = options(&file, &rules, jobs, None);
            let prepared = AtomicUsize::new(0);
            let (mut emitted, mut most_ahead) = (0, 0);
            let summary = scan_mail_with(
                &opts,
                &|doc| {
                    if doc.order == Some([0, 0]) {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                    prepared.fetch_add(1, Ordering::SeqCst);
                },
                &mut |_, _| {
                    emitted += 1;
                    most_ahead = most_ahead.max(prepared.load(Ordering::SeqCst) - emitted);
                },
            );
            assert_eq!(summary.scanned, n as u64, "-j {jobs}");
            // Waiting batches, and one in hand per thread.
            let bound = (jobs * WAITING_PER_THREAD + jobs) * BATCH;
            assert!(
                most_ahead <= bound,
                "-j {jobs}: {most_ahead} messages scanned ahead of the first, bound {bound}"
            );
        }
    }

    /// A panic outside a message's scan (policy, rendering) ends the run with that panic
    /// at any job count, rather than losing a batch silently or leaving a thread waiting.
    #[test]
    fn a_panic_after_the_scan_stops_the_run() {
        let rules = Ruleset::embedded().unwrap();
        let file = mbox(20 * BATCH);
        for jobs in [1, 2, 3] {
            let opts = options(&file, &rules, jobs, None);
            let run = catch_unwind(AssertUnwindSafe(|| {
                scan_mail_with(
                    &opts,
                    &|doc| {
                        if doc.order == Some([0, 100]) {
                            panic!("a bug in rendering (expected by this test)");
                        }
                    },
                    &mut |_, _| {},
                )
            }));
            assert!(run.is_err(), "-j {jobs}: the run went on past the panic");
        }
    }
}
