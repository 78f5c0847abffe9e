//! The progress line on stderr (only on a terminal, without `--no-progress`).

use std::io::IsTerminal;

use super::args::Common;

/// The progress line on stderr: a spinner and `pixscan::progress::render`'s text, only on
/// a terminal and without --no-progress.
pub fn progress_bar(common: &Common) -> indicatif::ProgressBar {
    if common.no_progress || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {wide_msg}").expect("static template"),
    );
    pb
}

/// A site scan's progress line: pages done of the expected total, per phase (crawl, then
/// the browser pass), with the page at hand.
pub fn site_progress(
    progress: &indicatif::ProgressBar,
) -> impl Fn(pixscan::scan::site::Progress<'_>) + '_ {
    use pixscan::progress::Total;
    // (phase, pages done, total, when the phase started)
    let meter = std::cell::RefCell::new((
        None::<&str>,
        0u64,
        Total::Unknown,
        std::time::Instant::now(),
    ));
    move |event| {
        use pixscan::scan::site::Progress;
        if progress.is_hidden() {
            return;
        }
        let mut m = meter.borrow_mut();
        let current = match event {
            Progress::Expect(total) => {
                m.2 = total;
                return;
            }
            Progress::Browser { pages } => {
                *m = (
                    Some("browser"),
                    0,
                    Total::Exactly(pages),
                    std::time::Instant::now(),
                );
                return;
            }
            Progress::Page(p) | Progress::BrowserPage(p) => p,
        };
        m.1 += 1;
        progress.tick();
        let current = pixscan::report::sanitize(current);
        progress.set_message(pixscan::progress::render(&pixscan::progress::Line {
            phase: m.0,
            done: m.1,
            noun: pixscan::progress::Noun::Pages,
            total: m.2,
            files: None,
            elapsed: m.3.elapsed(),
            current: Some(&current),
        }));
    }
}

/// A mail scan's progress line: messages done, and files done of those found so far.
pub fn mail_progress<'a>(
    progress: &'a indicatif::ProgressBar,
    counters: &'a pixscan::scan::MailProgress,
) -> impl FnMut() + 'a {
    let started = std::time::Instant::now();
    move || {
        progress.inc(1);
        if progress.is_hidden() {
            return;
        }
        use std::sync::atomic::Ordering::Relaxed;
        progress.set_message(pixscan::progress::render(&pixscan::progress::Line {
            phase: None,
            done: progress.position(),
            noun: pixscan::progress::Noun::Messages,
            total: pixscan::progress::Total::Unknown,
            files: Some((
                counters.files_done.load(Relaxed),
                counters.files.load(Relaxed),
            )),
            elapsed: started.elapsed(),
            current: None,
        }));
    }
}
