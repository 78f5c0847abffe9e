//! `--shard K/N`: its value, what a shard's run is (so `pixscan merge` can tell the shards
//! of one run from those of another), and a shard's exit code.

use clap::parser::ValueSource;
use pixscan::shard::{Shard, INDEX_ENV};

/// `--shard K/N`, or `/N` with K from JOB_COMPLETION_INDEX.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let env = std::env::var(INDEX_ENV).ok();
    Shard::parse(s, env.as_deref())
}

/// The arguments that do not change what a shard scans or finds: the split itself, how the
/// report looks and where it goes, and the policy and report filters (`pixscan merge`
/// takes those, and judges the whole run).
const NOT_THE_SCAN: &[&str] = &[
    "shard",
    "format",
    "output",
    "verbose",
    "quiet",
    "no_progress",
    "color",
    "config",
    "no_config",
    "baseline",
    "write_baseline",
    "kinds",
    "entities",
    "categories",
    "jobs",
];

/// What a shard's run scans, as text (`summary.shard.run`): the subcommand, then every
/// argument given on the command line except [`NOT_THE_SCAN`], in the order the command
/// defines them (so `--exclude a --include b` and `--include b --exclude a` are one run).
/// Values from the environment (`PIXSCAN_CHROMIUM`) are left out: machines may differ.
pub fn shard_run(cmd: &clap::Command, matches: &clap::ArgMatches) -> String {
    let mut words = vec![cmd.get_name().to_string()];
    let mut positionals = Vec::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_THE_SCAN.contains(&id) || matches.value_source(id) != Some(ValueSource::CommandLine)
        {
            continue;
        }
        let Some(long) = arg.get_long() else {
            if let Some(values) = matches.get_raw(id) {
                positionals.extend(values.map(|v| quote(&v.to_string_lossy())));
            }
            continue;
        };
        if !arg.get_action().takes_values() {
            words.push(format!("--{long}"));
            continue;
        }
        for v in matches.get_raw(id).into_iter().flatten() {
            words.push(format!("--{long}"));
            words.push(quote(&v.to_string_lossy()));
        }
    }
    words.extend(positionals);
    words.join(" ")
}

/// A word as a shell would need it.
fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-:=,@%+~".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A `--shard` run's exit code says whether it did its work (0: its report is complete,
/// whatever it found), so engines (Kubernetes, GNU parallel) retry only shards that did
/// not finish; its share's verdict is in its summary, and `pixscan merge` gives the run's.
pub fn shard_code(shard: Option<Shard>, code: u8) -> u8 {
    let Some(shard) = shard else {
        return code;
    };
    if code != 0 {
        eprintln!(
            "pixscan: shard {shard} finished; its share {} (exit code {code} in a whole run): `pixscan merge` gives the run's verdict and exit code",
            if code == 1 { "violates the policy" } else { "has errors" }
        );
    }
    0
}

/// A shard sees only its share: a baseline compared or written there would be wrong for
/// the run (every finding of the other shards "fixed", or left out).
pub fn check_shard_flags(
    shard: Option<Shard>,
    baseline: bool,
    write_baseline: bool,
) -> anyhow::Result<()> {
    if shard.is_some() && (baseline || write_baseline) {
        anyhow::bail!(
            "{} with --shard: a shard sees only its share of the run; give it to `pixscan merge`, which judges the whole run",
            if write_baseline {
                "--write-baseline"
            } else {
                "--baseline"
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Parser)]
    struct Demo {
        #[arg(required = true)]
        paths: Vec<String>,
        #[arg(long)]
        exclude: Vec<String>,
        #[arg(long)]
        include: Vec<String>,
        #[arg(long)]
        probe: bool,
        #[arg(long, value_parser = parse_shard)]
        shard: Option<Shard>,
        #[arg(long)]
        format: Option<String>,
        #[arg(long, default_value = "100")]
        max_pages: u32,
    }

    fn run_of(args: &[&str]) -> String {
        let cmd = Demo::command().name("eml");
        let m = cmd
            .clone()
            .try_get_matches_from(std::iter::once("eml").chain(args.iter().copied()))
            .unwrap();
        Demo::from_arg_matches(&m).unwrap();
        shard_run(&cmd, &m)
    }

    #[test]
    fn a_run_is_its_scan_arguments_in_a_fixed_order() {
        assert_eq!(
            run_of(&[
                "/srv/mail",
                "--exclude",
                "Spam",
                "--shard",
                "1/4",
                "--format",
                "ndjson"
            ]),
            "eml --exclude Spam /srv/mail"
        );
        // Order of flags, --shard and --format do not matter; defaults are not written.
        assert_eq!(
            run_of(&[
                "--include",
                "a b",
                "--probe",
                "x",
                "--exclude",
                "it's",
                "--shard",
                "0/4"
            ]),
            "eml --exclude 'it'\\''s' --include 'a b' --probe x"
        );
        assert_eq!(
            run_of(&["--probe", "--include", "a b", "--exclude", "it's", "x"]),
            run_of(&[
                "--include",
                "a b",
                "--probe",
                "x",
                "--exclude",
                "it's",
                "--shard",
                "0/4"
            ])
        );
        assert_ne!(run_of(&["x", "--max-pages", "5"]), run_of(&["x"]));
    }

    #[test]
    fn baselines_belong_to_the_merge() {
        let shard = Some(Shard { index: 0, count: 2 });
        assert!(check_shard_flags(shard, false, false).is_ok());
        assert!(check_shard_flags(None, true, true).is_ok());
        let e = check_shard_flags(shard, false, true)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--write-baseline with --shard"), "{e}");
        let e = check_shard_flags(shard, true, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("give it to `pixscan merge`"), "{e}");
    }
}
