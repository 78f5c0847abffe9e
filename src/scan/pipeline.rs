//! The stages every command shares after its source: the policy's verdict and baseline,
//! report filters, the reporters, and the run's outcome and exit code. The binary
//! builds a [`Pipeline`] from its flags and calls [`Pipeline::eml`] or [`Pipeline::site`];
//! nothing here parses flags or prints.
//!
//! Per-document work (verdicts, baseline fingerprints and, for formats whose
//! bytes depend on one document alone, rendering) runs in the mail workers; the ordered
//! writer only counts and writes, so the run scales with the cores.

use std::path::PathBuf;

use crate::gate::{Gate, Judged};
use crate::model::Command;
use crate::model::{DocumentReport, FilterTotals, RunStatus, Summary};
use crate::report::filter::ReportFilter;
use crate::report::Reporter;
use crate::rules::Ruleset;
use crate::scan::mail::{scan_mail_with, MailOptions};
use crate::scan::site::{scan_site, Progress, SiteOptions};

/// What can end a run before its report is complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file or the baseline could not be read or written.
    #[error(transparent)]
    Setup(#[from] crate::gate::GateError),
    /// The site scan could not start (a bad start URL, no browser, no runtime).
    #[error(transparent)]
    Scan(#[from] crate::scan::site::SiteError),
    /// The report could not be written (a full disk, a closed pipe).
    #[error(transparent)]
    Write(#[from] std::io::Error),
    /// Documents handed to [`Pipeline::documents`] could not be read (a bad shard file).
    #[error(transparent)]
    Documents(#[from] crate::scan::merge::MergeError),
}

/// Where the policy and the baseline come from.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// `--config`; `None` looks for the nearest pixscan.toml (unless `discover` is off).
    pub config: Option<PathBuf>,
    /// Look for pixscan.toml at or above the scanned folders, then in the working directory.
    pub discover: bool,
    /// `--baseline`: fail only on findings not in it.
    pub baseline: Option<PathBuf>,
    /// `--write-baseline`: record this run's violations.
    pub write_baseline: Option<PathBuf>,
}

/// The run's end: the exit code and what the caller should tell the user on stderr.
#[derive(Debug)]
pub struct Finished {
    /// 0 pass, 1 policy violated, 2 error (see the binary's `--help`).
    pub code: u8,
    pub status: RunStatus,
    /// Why the run is an error (no input, failed inputs), when it is one.
    pub error: Option<String>,
    /// Policy entries that approved nothing in this run.
    pub warnings: Vec<String>,
}

/// The stages after the source, configured once per run.
pub struct Pipeline {
    command: Command,
    gate: Gate,
    view: ReportFilter,
    reporter: Box<dyn Reporter>,
}

impl Pipeline {
    /// Loads the policy (discovered next to `scanned` unless given) and the baseline.
    /// Returns the warnings the policy raises before any scan (entities the ruleset does not
    /// know, likely typos) beside the pipeline.
    pub fn new(
        command: Command,
        rules: &Ruleset,
        gate: &GateOptions,
        scanned: &[PathBuf],
        view: ReportFilter,
        reporter: Box<dyn Reporter>,
    ) -> Result<(Pipeline, Vec<String>), Error> {
        let gate = Gate::with_discovery(
            command,
            gate.config.as_deref(),
            scanned,
            gate.discover,
            gate.baseline.as_deref(),
            gate.write_baseline.as_deref(),
        )
        .map_err(Error::Setup)?;
        let known: Vec<&str> = rules.entities.iter().map(|e| e.name.as_str()).collect();
        let warnings = gate.unknown_entities(&known);
        let pipeline = Pipeline {
            command,
            gate,
            view,
            reporter,
        };
        Ok((pipeline, warnings))
    }

    /// Scans mail. `on_message` runs on the calling thread, which writes the report, after
    /// each message (a progress line).
    pub fn eml(
        mut self,
        opts: &MailOptions<'_>,
        on_message: &mut dyn FnMut(),
    ) -> Result<Finished, Error> {
        let mut totals = self.view.totals();
        let mut write_err: Option<std::io::Error> = None;
        let render = self.reporter.renderer();
        let (view, reporter) = (&self.view, &mut self.reporter);
        let (judge, mut tally) = self.gate.split();
        // A document's bytes are about as many as the last one's: a buffer that size (and
        // an eighth) is not regrown, and copied, on the way from 16 KB.
        let last_len = std::sync::atomic::AtomicUsize::new(16 * 1024);
        // Runs where each document is scanned, in any order.
        let prepare = |doc: &mut DocumentReport| -> (Judged, Option<Rendered>) {
            let judged = judge.judge(doc);
            let rendered = render.as_ref().map(|render| {
                let mut counts = FilterTotals::default();
                let (shown, hidden) = view.hide(doc, &mut counts);
                let bytes = shown.then(|| {
                    let last = last_len.load(std::sync::atomic::Ordering::Relaxed);
                    let mut buf = Vec::with_capacity(last + last / 8);
                    render(doc, &mut buf).map(|()| {
                        last_len.store(buf.len().max(1024), std::sync::atomic::Ordering::Relaxed);
                        buf
                    })
                });
                hidden.restore(doc);
                Rendered { counts, bytes }
            });
            (judged, rendered)
        };
        // Runs on this thread, in input order.
        let summary = scan_mail_with(opts, &prepare, &mut |doc, (judged, rendered)| {
            on_message();
            tally.record(doc, std::mem::take(judged));
            let written = match rendered {
                Some(r) => {
                    totals.add_counts(&r.counts);
                    write_rendered(reporter.as_mut(), doc, &mut r.bytes, write_err.is_none())
                }
                None => write_document(
                    reporter.as_mut(),
                    view,
                    doc,
                    &mut totals,
                    write_err.is_none(),
                ),
            };
            if let (Err(e), None) = (written, &write_err) {
                write_err = Some(e);
            }
        });
        self.finish(summary, totals, write_err)
    }

    /// Crawls or walks the targets; `progress` hears of every page (a progress line).
    pub fn site(
        mut self,
        opts: &SiteOptions<'_>,
        progress: &dyn Fn(Progress<'_>),
    ) -> Result<Finished, Error> {
        let mut totals = self.view.totals();
        let mut write_err: Option<std::io::Error> = None;
        let (view, reporter, gate) = (&self.view, &mut self.reporter, &mut self.gate);
        let scanned = scan_site(opts, progress, &mut |doc| {
            gate.process(doc);
            let written = write_document(
                reporter.as_mut(),
                view,
                doc,
                &mut totals,
                write_err.is_none(),
            );
            if let (Err(e), None) = (written, &write_err) {
                write_err = Some(e);
            }
        });
        let summary = scanned.map_err(Error::Scan)?;
        self.finish(summary, totals, write_err)
    }

    /// Judges and reports documents scanned elsewhere, as the scan that made them would
    /// have (`pixscan merge`: the shards' documents, in a single run's order): the same
    /// stages, on this thread. `summary` holds what only the sources know (skipped inputs,
    /// excluded files, mailboxes); the documents are counted into it here. An error in
    /// `docs` ends the run without a report end.
    pub fn documents(
        mut self,
        docs: &mut dyn Iterator<Item = Result<DocumentReport, crate::scan::merge::MergeError>>,
        mut summary: Summary,
    ) -> Result<Finished, Error> {
        let mut totals = self.view.totals();
        for doc in docs {
            let mut doc = doc.map_err(Error::Documents)?;
            self.gate.process(&mut doc);
            write_document(
                self.reporter.as_mut(),
                &self.view,
                &mut doc,
                &mut totals,
                true,
            )?;
            summary.add(&doc);
        }
        summary.finish();
        self.finish(summary, totals, None)
    }

    /// Ends a run whose documents are all out: a write error ends it there; otherwise the
    /// report filters' totals join the summary, the gate ends (writing the baseline), the
    /// verdict is decided and the report's end written.
    fn finish(
        mut self,
        mut summary: Summary,
        totals: FilterTotals,
        write_err: Option<std::io::Error>,
    ) -> Result<Finished, Error> {
        if let Some(e) = write_err {
            return Err(e.into());
        }
        if !self.view.is_empty() {
            summary.filtered = Some(totals);
        }
        let result = self.gate.finish().map_err(Error::Setup)?;
        let warnings = result.unused_approvals.clone();
        summary.policy = Some(result);
        let outcome = crate::gate::outcome(self.command, &summary);
        let status = outcome.status;
        let error = (status == RunStatus::Error).then(|| outcome.reason.clone());
        summary.outcome = Some(outcome);
        self.reporter.finish(&summary)?;
        Ok(Finished {
            code: status.exit_code(),
            status,
            error,
            warnings,
        })
    }
}

/// A document rendered in a worker: the report filters' counts and its bytes (`None` when
/// the filters hide it).
struct Rendered {
    counts: FilterTotals,
    bytes: Option<std::io::Result<Vec<u8>>>,
}

/// Writes bytes a worker rendered, handing the buffer back so it is freed in the worker.
fn write_rendered(
    reporter: &mut dyn Reporter,
    doc: &DocumentReport,
    bytes: &mut Option<std::io::Result<Vec<u8>>>,
    writing: bool,
) -> std::io::Result<()> {
    match bytes.take() {
        Some(Ok(b)) if writing => {
            let written = reporter.rendered(doc, &b);
            *bytes = Some(Ok(b));
            written
        }
        Some(Err(e)) => Err(e),
        _ => Ok(()),
    }
}

/// Hides what the report filters leave out, writes the document if anything is left, and
/// restores it for the counts.
fn write_document(
    reporter: &mut dyn Reporter,
    view: &ReportFilter,
    doc: &mut DocumentReport,
    totals: &mut FilterTotals,
    writing: bool,
) -> std::io::Result<()> {
    let (shown, hidden) = view.hide(doc, totals);
    let written = if shown && writing {
        reporter.document(doc)
    } else {
        Ok(())
    };
    hidden.restore(doc);
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::mail::InputLimits;
    use std::sync::{Arc, Mutex};

    /// Keeps what the pipeline hands the reporters.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<(Vec<String>, Option<Summary>)>>);

    impl Reporter for Kept {
        fn document(&mut self, doc: &DocumentReport) -> std::io::Result<()> {
            self.0.lock().unwrap().0.push(doc.source.clone());
            Ok(())
        }
        fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
            self.0.lock().unwrap().1 = Some(summary.clone());
            Ok(())
        }
    }

    fn run_eml(paths: &[&str], view: ReportFilter) -> (Finished, Kept) {
        let rules = Ruleset::embedded().unwrap();
        let kept = Kept::default();
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail");
        let opts = MailOptions {
            paths: paths.iter().map(|p| fixtures.join(p)).collect(),
            rules: &rules,
            filters: None,
            jobs: 2,
            recipients: Vec::new(),
            limits: InputLimits::default(),
            select: crate::select::PathSelect::default(),
            progress: None,
            shard: None,
        };
        let (pipeline, warnings) = Pipeline::new(
            Command::Eml,
            &rules,
            &GateOptions::default(),
            &[],
            view,
            Box::new(kept.clone()),
        )
        .unwrap();
        assert!(warnings.is_empty());
        let mut messages = 0;
        let finished = pipeline.eml(&opts, &mut || messages += 1).unwrap();
        assert_eq!(messages, paths.len());
        (finished, kept)
    }

    #[test]
    fn unapproved_tracking_fails_and_clean_mail_passes() {
        let (finished, kept) = run_eml(&["mailgun-order-shipped.eml"], ReportFilter::default());
        assert_eq!((finished.code, finished.status), (1, RunStatus::Failed));
        let (docs, summary) = &*kept.0.lock().unwrap();
        assert_eq!(docs.len(), 1);
        let summary = summary.as_ref().expect("the report was finished");
        assert!(summary.policy.as_ref().is_some_and(|p| p.violations > 0));
        assert!(summary.outcome.is_some());

        let (finished, _) = run_eml(&["clean-plain-text.eml"], ReportFilter::default());
        assert_eq!((finished.code, finished.error), (0, None));
    }

    #[test]
    fn an_unreadable_input_is_an_error_whatever_the_findings() {
        let (finished, kept) = run_eml(
            &["mailgun-order-shipped.eml", "no-such-file.eml"],
            ReportFilter::default(),
        );
        assert_eq!((finished.code, finished.status), (2, RunStatus::Error));
        assert!(finished.error.is_some_and(|e| e.contains("1 of 2")));
        // The message that could be read is still reported.
        assert_eq!(kept.0.lock().unwrap().0.len(), 2);
    }
}
