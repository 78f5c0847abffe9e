//! The `pixscan` command line: a thin layer over the library.

mod cli;

use cli::args::*;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use pixscan::model::Command as ScanCommand;
use pixscan::report::filter::ReportFilter;
use pixscan::report::{Format, ReportOptions, Reporter, Tee};
use pixscan::rules::Ruleset;
use pixscan::scan::{GateOptions, MailOptions, MailProgress, Pipeline};
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
        Command::Rules(cmd) => rules_cmd(cmd),
    }
}

fn open_file(p: &std::path::Path) -> anyhow::Result<Box<dyn Write>> {
    let f = std::fs::File::create(p)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", p.display()))?;
    Ok(Box::new(std::io::BufWriter::new(f)))
}

/// `--output FILE` or `--output FORMAT=FILE`. A bare word before `=` must be a format: a
/// typo (`sarfi=x`) or an unknown one (`xml=x`) is an error, never a file of that name.
/// A file whose name holds `=` can still be given as a path (`./a=b`).
fn parse_output(o: &str) -> anyhow::Result<(Option<Format>, PathBuf)> {
    if let Some((f, p)) = o.split_once('=') {
        if !f.is_empty()
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            let format = f
                .parse::<Format>()
                .map_err(|e| anyhow::anyhow!("--output {o:?}: {e}"))?;
            if p.is_empty() {
                anyhow::bail!("--output {o:?}: no file after `=`");
            }
            return Ok((Some(format), PathBuf::from(p)));
        }
    }
    Ok((None, PathBuf::from(o)))
}

/// The reporters asked for: the main format (to stdout or --output FILE) plus every
/// `--output FORMAT=FILE`.
fn build_reporter(
    common: &Common,
    command: ScanCommand,
    filtered: bool,
) -> anyhow::Result<Box<dyn Reporter>> {
    let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let format = common.format.unwrap_or(if in_actions {
        Format::Github
    } else {
        Format::Human
    });
    let mut main_file: Option<PathBuf> = None;
    let mut extra: Vec<(Format, PathBuf)> = Vec::new();
    for o in &common.output {
        match parse_output(o)? {
            (Some(f), p) => extra.push((f, p)),
            (None, p) => main_file = Some(p),
        }
    }
    // anstream decides `auto` as the ecosystem does: NO_COLOR (set and non-empty) wins,
    // then CLICOLOR_FORCE, CLICOLOR=0, then a terminal whose TERM is not `dumb`.
    let color = main_file.is_none()
        && match common.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
            }
        };
    let opts = ReportOptions {
        command,
        color,
        verbose: common.verbose,
        quiet: common.quiet,
        filtered,
    };
    let out: Box<dyn Write> = match &main_file {
        Some(p) => open_file(p)?,
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut all = vec![pixscan::report::reporter(format, out, &opts)?];
    let file_opts = ReportOptions {
        color: false,
        ..opts
    };
    for (f, p) in extra {
        all.push(pixscan::report::reporter(f, open_file(&p)?, &file_opts)?);
    }
    Ok(if all.len() == 1 {
        all.pop().expect("one reporter")
    } else {
        Box::new(Tee(all))
    })
}

/// `--kind`/`--entity`/`--category`, checked against the ruleset.
fn report_filter(common: &Common, rules: &Ruleset) -> anyhow::Result<ReportFilter> {
    ReportFilter::new(&common.kinds, &common.entities, &common.categories, rules)
        .map_err(|e| anyhow::anyhow!(e))
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
    let started = std::time::Instant::now();
    let finished = pipeline.eml(&opts, &mut || {
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
    });
    progress.finish_and_clear();
    Ok(cli::shard::shard_code(
        args.shard,
        finished_code(finished?)?,
    ))
}

/// The progress line on stderr: a spinner and `pixscan::progress::render`'s text, only on
/// a terminal and without --no-progress.
fn progress_bar(common: &Common) -> indicatif::ProgressBar {
    if common.no_progress || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {wide_msg}").expect("static template"),
    );
    pb
}

/// `--filter-list`: an attribution tier inside analysis.
fn filter_lists(common: &Common) -> anyhow::Result<pixscan::filters::FilterLists> {
    pixscan::filters::FilterLists::load(&common.filter_lists).map_err(|e| anyhow::anyhow!(e))
}

/// The stages after the source, from the flags every command shares: policy and baseline,
/// report filters and reporters. Warns about policy entities the ruleset does not know.
fn pipeline(
    command: ScanCommand,
    common: &Common,
    scanned: &[PathBuf],
    rules: &Ruleset,
) -> anyhow::Result<Pipeline> {
    let gate = GateOptions {
        config: common.config.clone(),
        discover: !common.no_config,
        baseline: common.baseline.clone(),
        write_baseline: common.write_baseline.clone(),
    };
    let view = report_filter(common, rules)?;
    let reporter = build_reporter(common, command, !view.is_empty())?;
    let (pipeline, warnings) = Pipeline::new(command, rules, &gate, scanned, view, reporter)?;
    for w in warnings {
        eprintln!("pixscan: warning: {}", pixscan::report::sanitize(&w));
    }
    Ok(pipeline)
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

/// `--urls-file`: one target a line; blank lines and `#` comments left out.
fn read_urls_file(file: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s)
            .map_err(|e| anyhow::anyhow!("--urls-file -: cannot read stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("--urls-file {}: cannot read: {e}", file.display()))?
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
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

/// The crawl, folder and browser options from the flags.
fn site_options<'r>(
    args: &SiteArgs,
    rules: &'r Ruleset,
    filters: &'r pixscan::filters::FilterLists,
    scan_run: String,
) -> anyhow::Result<pixscan::scan::site::SiteOptions<'r>> {
    use pixscan::source::site::{CrawlOptions, Scope};
    let mut headers = Vec::new();
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--header {h:?}: expected `Name: value`"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let resolve = args
        .resolve
        .iter()
        .map(|r| parse_resolve(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let defaults = CrawlOptions::default();
    let browser = args.browser.options(&resolve);
    let crawl = CrawlOptions {
        scope: match args.scope {
            ScopeArg::Host => Scope::Host,
            ScopeArg::Site => Scope::Site,
            ScopeArg::Prefix => Scope::Prefix,
        },
        max_pages: args.max_pages,
        depth: args.depth,
        concurrency: args.concurrency.max(1),
        ignore_robots: args.ignore_robots,
        sitemap: !args.no_sitemap,
        request_timeout: args.timeout,
        total_timeout: args.total_timeout,
        max_body: args.max_body,
        max_redirects: args.max_redirects,
        headers,
        cookie: args.cookie.clone(),
        user_agent: args.user_agent.clone().unwrap_or(defaults.user_agent),
        resolve,
        insecure: args.insecure,
        select: pixscan::select::UrlSelect::new(&args.include, &args.exclude)
            .map_err(|e| anyhow::anyhow!(e))?,
    };
    Ok(pixscan::scan::site::SiteOptions {
        targets: args.targets.iter().map(|t| site_target(t)).collect(),
        rules,
        filters: (!filters.is_empty()).then_some(filters),
        crawl,
        first_party: args.first_party.clone(),
        base_url: args.base_url.clone(),
        probe: args.probe,
        browser,
        select: pixscan::select::PathSelect::new(&args.include, &args.exclude)
            .map_err(|e| anyhow::anyhow!(e))?,
        shard: args.shard.map(|shard| ShardRun {
            shard,
            run: scan_run,
        }),
    })
}

/// A site scan's progress line: pages done of the expected total, per phase (crawl, then
/// the browser pass), with the page at hand.
fn site_progress(
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

fn rules_cmd(cmd: RulesCommand) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::List { rules } => {
            let rs = Ruleset::load(&rules)?;
            writeln!(
                out,
                "{} entities, {} endpoint rules, {} header rules",
                rs.entities.len(),
                rs.endpoints.len(),
                rs.headers.len()
            )?;
            for e in &rs.endpoints {
                let hosts: Vec<String> = e.hosts.iter().map(|h| format!("{h:?}")).collect();
                writeln!(
                    out,
                    "endpoint {:<40} {:<14} {:<28} {} {}",
                    e.id,
                    e.kind.as_str(),
                    e.entity.map_or("-", |i| rs.entity(i).name.as_str()),
                    if hosts.is_empty() {
                        "any host".to_string()
                    } else {
                        format!("{} host pattern(s)", hosts.len())
                    },
                    e.path.as_ref().map(|p| p.as_str()).unwrap_or("")
                )?;
            }
            for h in &rs.headers {
                writeln!(
                    out,
                    "header   {:<40} {:<28} {}",
                    h.id,
                    rs.entity(h.entity).name,
                    h.name
                )?;
            }
            Ok(0)
        }
        RulesCommand::Explain { url, rules } => {
            let rs = Ruleset::load(&rules)?;
            let absolute = url::Url::parse(url.trim())
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !absolute {
                anyhow::bail!(
                    "rules explain: {url:?} is not an absolute http(s) URL (e.g. https://t.example/o.gif?u=1)"
                );
            }
            let explanation = pixscan::analyze::explain(&rs, &url);
            for line in explanation {
                writeln!(out, "{}", pixscan::report::sanitize(&line))?;
            }
            Ok(0)
        }
        RulesCommand::Check { file } => {
            write!(out, "{}", pixscan::rules::check(&file)?)?;
            Ok(0)
        }
    }
}
