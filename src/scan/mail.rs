//! Orchestration: runs the pipeline over many documents in parallel and hands reports to
//! the caller in input order, so output is stable whatever the thread timing.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use crate::analyze::{self, Context, Mode, Recipient};
use crate::domain::{email_domain, registrable};
use crate::extract;
use crate::filters::FilterLists;
use crate::model::{DocumentReport, Finding, Kind, Party, Platform, ShardSummary, Summary, Tier};
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

/// Messages handed between threads at once: one channel message (and wake-up) per batch,
/// not per message.
const BATCH: usize = 16;

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
    let (in_tx, in_rx) = sync_channel::<(usize, Vec<Ordered>)>(jobs * 2);
    let (out_tx, out_rx) = sync_channel::<(usize, Vec<(DocumentReport, T)>)>(jobs * 2);
    let in_rx = Mutex::new(in_rx);
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
        let producer = s.spawn(move || produce(inputs, opts, &shard, in_tx, file_ends));
        for _ in 0..jobs {
            let out_tx = out_tx.clone();
            let (in_rx, trash_rx) = (&in_rx, &trash_rx);
            s.spawn(move || worker(in_rx, trash_rx, out_tx, opts, prepare));
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
/// numbered in order (message `i` is its batch's first index + its position). Records in
/// `file_ends` how many messages were sent before each file's end, for the progress line.
fn produce(
    inputs: Vec<mail::PlannedInput>,
    opts: &MailOptions<'_>,
    shard: &Shard,
    in_tx: std::sync::mpsc::SyncSender<(usize, Vec<Ordered>)>,
    file_ends: &Mutex<Vec<usize>>,
) -> Produced {
    let mut out = Produced::default();
    let (mut batch_no, mut i) = (0usize, 0usize);
    let mut batch: Vec<Ordered> = Vec::with_capacity(BATCH);
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
            batch.push(([ordinal, item], input));
            i += 1;
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if in_tx.send((batch_no, full)).is_err() {
                    // The workers are gone: nothing more will be read.
                    return out;
                }
                batch_no += 1;
            }
        }
        if opts.progress.is_some() {
            if let Ok(mut ends) = file_ends.lock() {
                ends.push(i);
            }
        }
    }
    if !batch.is_empty() {
        let _ = in_tx.send((batch_no, batch));
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
    let mut next_batch = 0usize;
    let mut next = 0usize;
    let mut files_done = 0usize;
    let mut pending: BTreeMap<usize, Vec<(DocumentReport, T)>> = BTreeMap::new();
    for (b, reports) in out_rx {
        pending.insert(b, reports);
        while let Some(mut reports) = pending.remove(&next_batch) {
            next_batch += 1;
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

fn worker<T: Send>(
    in_rx: &Mutex<Receiver<(usize, Vec<Ordered>)>>,
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
        let next = match in_rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((b, inputs)) = next else { return };
        let mut out = Vec::with_capacity(inputs.len());
        for (order, input) in inputs {
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
        if out_tx.send((b, out)).is_err() {
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
    let mut analysis = analyze::analyze(&refs, &ctx);
    if report.findings.is_empty() {
        report.findings = analysis.findings; // no read receipts: moved, not copied
    } else {
        report.findings.append(&mut analysis.findings);
    }
    report.untracked_links = analysis.untracked_links;
    report
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
