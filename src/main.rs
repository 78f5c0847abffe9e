//! The `pixscan` command line: a thin layer over the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pixscan::report::human::HumanReporter;
use pixscan::report::json::JsonReporter;
use pixscan::report::Reporter;
use pixscan::rules::Ruleset;
use pixscan::scan::{self, MailOptions};
use pixscan::source::mail::InputLimits;

const EXIT_CODES: &str = "Exit codes:
  0  scanned, no tracking found
  1  tracking found
  2  usage error, unreadable input, or a message/page that could not be scanned
     (errors win over findings; the report still lists everything that was scanned)";

#[derive(Parser)]
#[command(name = "pixscan", version, about = "Find tracking pixels, beacons and tracked links in mail and web pages, before they fire.", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Audit mail: .eml files, folders, mbox files, Maildir folders, or - for stdin.
    /// Makes no network requests: loading a pixel would itself send an open signal.
    #[command(after_help = EXIT_CODES)]
    Eml(EmlArgs),
    /// Inspect the ruleset.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Args)]
struct Common {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Extra rule file(s) in the rules/ TOML format, loaded after the built-in rules.
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// List untracked remote requests too in human output.
    #[arg(long, short)]
    verbose: bool,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Args)]
struct EmlArgs {
    /// Files, folders, mbox files, Maildir folders; `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
    /// Also look for this recipient address in URLs (repeatable); To, Cc, Delivered-To
    /// and X-Original-To are always used.
    #[arg(long, value_name = "ADDRESS")]
    recipient: Vec<String>,
    /// Worker threads (default: number of CPUs).
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// Largest message scanned, in bytes; larger ones are reported as errors.
    #[arg(long, value_name = "BYTES", default_value_t = 100 * 1024 * 1024)]
    max_size: u64,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List entities with endpoint rules, and every endpoint and header rule.
    List {
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
    /// Explain which rule and entity a URL matches, and why, or why none does.
    Explain {
        url: String,
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
    /// Validate a rule file (errors name the file and line).
    Check { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
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

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Eml(args) => eml(args),
        Command::Rules(cmd) => rules_cmd(cmd),
    }
}

fn open_output(path: &Option<PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn color_enabled(common: &Common) -> bool {
    common.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn eml(args: EmlArgs) -> anyhow::Result<u8> {
    let rules = Ruleset::load(&args.common.rules)?;
    let out = open_output(&args.common.output)?;
    let mut reporter: Box<dyn Reporter> = match args.common.format {
        Format::Json => Box::new(JsonReporter::new(out, "eml")?),
        Format::Human => Box::new(HumanReporter::new(
            out,
            color_enabled(&args.common),
            args.common.verbose,
        )),
    };
    let progress = if !args.common.no_progress && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} messages scanned ({per_sec}) {msg}",
            )
            .unwrap(),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let opts = MailOptions {
        paths: args.paths,
        rules: &rules,
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        recipients: args.recipient,
        limits: InputLimits {
            max_message_bytes: args.max_size,
        },
    };
    let mut write_err: Option<std::io::Error> = None;
    let outcome = scan::scan_mail(&opts, &mut |doc| {
        progress.inc(1);
        if write_err.is_none() {
            if let Err(e) = reporter.document(&doc) {
                write_err = Some(e);
            }
        }
    });
    progress.finish_and_clear();
    if let Some(e) = write_err {
        return Err(e.into());
    }
    reporter.finish(&outcome.summary, &outcome.skipped)?;
    let s = &outcome.summary;
    Ok(if s.failed > 0 || s.inputs == 0 {
        if s.inputs == 0 {
            eprintln!("pixscan: no messages found in the given paths");
        }
        2
    } else if s.with_tracking > 0 {
        1
    } else {
        0
    })
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
                    rs.entity(e.entity).name,
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
            let explanation = pixscan::analyze::explain(&rs, &url);
            for line in explanation {
                writeln!(out, "{}", pixscan::report::sanitize(&line))?;
            }
            Ok(0)
        }
        RulesCommand::Check { file } => {
            let (entities, endpoints, headers) = Ruleset::check_file(&file)?;
            writeln!(out, "{}: ok ({entities} new entities, {endpoints} endpoint rules, {headers} header rules)", file.display())?;
            Ok(0)
        }
    }
}
