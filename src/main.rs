//! The `pixscan` command line: a thin layer over the library.

mod cli;

use cli::args::*;
use cli::options::{filter_lists, pipeline, read_urls_file, site_options};
use cli::output::parse_output;
use cli::progress::{mail_progress, progress_bar, site_progress};

use std::path::PathBuf;
use std::process::ExitCode;

use pixscan::model::Command as ScanCommand;
use pixscan::rules::Ruleset;
use pixscan::scan::{MailOptions, MailProgress};
use pixscan::shard::ShardRun;
use pixscan::source::mail::InputLimits;

// Scans allocate and free many small strings per document on several threads; mimalloc's
// thread-local free lists cost a fraction of the system allocator's there (README: benchmarks).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Scans catch a panic per document and report it as that document's error; say so
    // briefly instead of printing Rust's panic banner and backtrace hint.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("pixscan: internal error{at}: {} (the document is reported as failed; please report this)", pixscan::report::sanitize(&what));
    }));
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| {
        e.format(&mut <Cli as clap::CommandFactory>::command())
            .exit()
    });
    // What a `--shard` run scans, for `pixscan merge` to tell runs apart.
    let scan_run = matches
        .subcommand()
        .and_then(|(name, m)| {
            let cmd = <Cli as clap::CommandFactory>::command();
            let sub = cmd.find_subcommand(name)?.clone();
            Some(cli::shard::shard_run(&sub, m))
        })
        .unwrap_or_default();
    match run(cli, scan_run) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "pixscan: {}",
                pixscan::report::sanitize_lines(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli, scan_run: String) -> anyhow::Result<u8> {
    match cli.command {
        Command::Eml(args) => eml(*args, scan_run),
        Command::Site(args) => site(*args, scan_run),
        Command::Merge(args) => merge(*args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "pixscan", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(0)
        }
        Command::Rules(cmd) => cli::rules::rules_cmd(cmd),
    }
}

fn eml(args: EmlArgs, scan_run: String) -> anyhow::Result<u8> {
    cli::shard::check_shard_flags(
        args.shard,
        args.common.baseline.is_some(),
        args.common.write_baseline.is_some(),
    )?;
    let rules = Ruleset::load(&args.common.rules)?;
    let filters = filter_lists(&args.common)?;
    let progress = progress_bar(&args.common);
    let counters = MailProgress::default();
    let opts = MailOptions {
        paths: args.paths,
        rules: &rules,
        filters: (!filters.is_empty()).then_some(&filters),
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        recipients: args.recipient,
        limits: InputLimits {
            max_message_bytes: args.max_size,
        },
        select: pixscan::select::PathSelect::new(&args.include, &args.exclude)
            .map_err(|e| anyhow::anyhow!(e))?,
        progress: (!progress.is_hidden()).then_some(&counters),
        shard: args.shard.map(|shard| ShardRun {
            shard,
            run: scan_run,
        }),
    };
    let pipeline = pipeline(ScanCommand::Eml, &args.common, &opts.paths, &rules)?;
    let finished = pipeline.eml(&opts, &mut mail_progress(&progress, &counters));
    progress.finish_and_clear();
    Ok(cli::shard::shard_code(
        args.shard,
        finished_code(finished?)?,
    ))
}

/// Tells stderr what the run's end says (stale approvals, why it is an error) and returns
/// the exit code.
fn finished_code(finished: pixscan::scan::Finished) -> anyhow::Result<u8> {
    for w in &finished.warnings {
        eprintln!("pixscan: warning: {}", pixscan::report::sanitize(w));
    }
    if let Some(reason) = &finished.error {
        eprintln!("pixscan: {}", pixscan::report::sanitize(reason));
    }
    Ok(finished.code)
}

fn site(mut args: SiteArgs, scan_run: String) -> anyhow::Result<u8> {
    cli::shard::check_shard_flags(
        args.shard,
        args.common.baseline.is_some(),
        args.common.write_baseline.is_some(),
    )?;
    if let Some(file) = &args.urls_file {
        let urls = read_urls_file(file)?;
        if urls.is_empty() && args.targets.is_empty() {
            anyhow::bail!(
                "--urls-file {}: no start URL in it (blank lines and # comments are ignored)",
                file.display()
            );
        }
        args.targets.extend(urls);
    }
    let rules = Ruleset::load(&args.common.rules)?;
    let filters = filter_lists(&args.common)?;
    let opts = site_options(&args, &rules, &filters, scan_run)?;
    // Policy discovery starts from the local folders scanned.
    let scanned: Vec<PathBuf> = opts
        .targets
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
    let pipeline = pipeline(ScanCommand::Site, &args.common, &scanned, &rules)?;
    let progress = progress_bar(&args.common);
    let finished = pipeline.site(&opts, &site_progress(&progress));
    progress.finish_and_clear();
    Ok(cli::shard::shard_code(
        args.shard,
        finished_code(finished?)?,
    ))
}

/// `pixscan merge`: the shards' documents through the same stages as one run.
fn merge(args: MergeArgs) -> anyhow::Result<u8> {
    if !args.common.filter_lists.is_empty() {
        anyhow::bail!(
            "--filter-list is applied while scanning: give it to every shard (merge judges the findings the shards report)"
        );
    }
    let rules = Ruleset::load(&args.common.rules)?;
    let merged = pixscan::scan::merge::open(&args.files)?;
    for w in &merged.warnings {
        eprintln!("pixscan: warning: {}", pixscan::report::sanitize(w));
    }
    let summary = merged.source_summary();
    let pipeline = pipeline(merged.command(), &args.common, &[], &rules)?;
    let finished = pipeline.documents(&mut merged.documents(), summary);
    if let Err(pixscan::scan::pipeline::Error::Documents(why)) = &finished {
        // A shard file went bad part-way (an edited line, a document in two shards): the
        // report files begun are not the run's, so none is left behind.
        let mut removed = Vec::new();
        for o in &args.common.output {
            let (_, path) = parse_output(o)?;
            if std::fs::remove_file(&path).is_ok() {
                removed.push(path.display().to_string());
            }
        }
        if !removed.is_empty() {
            anyhow::bail!(
                "{why}; removed the unfinished report(s) {}",
                removed.join(", ")
            );
        }
    }
    finished_code(finished?)
}
