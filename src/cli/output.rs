//! Where reports go: the main format to stdout or `--output FILE`, every `--output
//! FORMAT=FILE` beside it, and the report filters.

use std::io::Write;
use std::path::PathBuf;

use pixscan::model::Command as ScanCommand;
use pixscan::report::filter::ReportFilter;
use pixscan::report::{Format, ReportOptions, Reporter, Tee};
use pixscan::rules::Ruleset;

use super::args::{ColorArg, Common};

/// A report file's buffer. Writes of a MiB cost the kernel half what 64 KB writes do (an
/// ext4 file on Linux 6.18 takes large folios: 127 MB of JSON, 26 ms of system time
/// against 50), and the writing thread is the run's one serial stage. Stdout keeps the
/// default: a terminal or a pipe should see output as it comes.
const FILE_BUFFER: usize = 1 << 20;

pub fn open_file(p: &std::path::Path) -> anyhow::Result<Box<dyn Write>> {
    let f = std::fs::File::create(p)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", p.display()))?;
    Ok(Box::new(std::io::BufWriter::with_capacity(FILE_BUFFER, f)))
}

/// `--output FILE` or `--output FORMAT=FILE`. A bare word before `=` must be a format: a
/// typo (`sarfi=x`) or an unknown one (`xml=x`) is an error, never a file of that name.
/// A file whose name holds `=` can still be given as a path (`./a=b`).
pub fn parse_output(o: &str) -> anyhow::Result<(Option<Format>, PathBuf)> {
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
pub fn build_reporter(
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
pub fn report_filter(common: &Common, rules: &Ruleset) -> anyhow::Result<ReportFilter> {
    ReportFilter::new(&common.kinds, &common.entities, &common.categories, rules)
        .map_err(|e| anyhow::anyhow!(e))
}
