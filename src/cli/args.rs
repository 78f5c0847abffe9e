//! The command line's flags (clap types) and the small parsers they use. `main.rs` turns
//! them into the library's option structs and calls the pipeline.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pixscan::report::Format;

pub const EXIT_CODES_SITE: &str = "Exit codes:
  0  pass: no policy violation (by default: no unapproved tracking)
  1  policy violated (pixscan.toml / --config; default: any tracking not approved)
  2  usage error, or no page could be scanned (pages that fail, e.g. with HTTP 404, are
     listed in the report but do not make the exit code 2)";

pub const EXIT_CODES: &str = "Exit codes:
  0  pass: no policy violation (by default: no unapproved tracking)
  1  policy violated (pixscan.toml / --config; default: any tracking not approved)
  2  usage error, unreadable input, or a message/page that could not be scanned
     (errors win over findings; the report still lists everything that was scanned)";

#[derive(Parser)]
#[command(name = "pixscan", version, about = "Find tracking pixels, beacons and tracked links in mail and web pages, before they fire.", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Audit mail: .eml files, folders, mbox files, Maildir folders, or - for stdin.
    /// Makes no network requests: loading a pixel would itself send an open signal.
    #[command(after_help = EXIT_CODES)]
    Eml(Box<EmlArgs>),
    /// Audit web pages: crawl a site (same site, bounded) from URL, or scan a local build
    /// folder of .html files. Fetches pages only, never the tracker URLs (unless --probe).
    #[command(after_help = EXIT_CODES_SITE)]
    Site(Box<SiteArgs>),
    /// Merge the `--format ndjson` outputs of a run's shards (`--shard K/N`) into one
    /// report in any format, with the verdict, baseline and exit code one run would give.
    ///
    /// Every shard of the run must be given (0 to N-1, each once), finished (its summary
    /// line last), and of one run (the same command, inputs and scan options); otherwise
    /// the merge says what is wrong and exits 2. The policy is --config, else pixscan.toml
    /// in the working directory; --baseline, --write-baseline and the report filters
    /// (--kind, --entity, --category) work as in one run; --filter-list belongs to the
    /// shards, which attribute what they find.
    #[command(after_help = EXIT_CODES)]
    Merge(Box<MergeArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `pixscan man > pixscan.1`.
    Man,
    /// Inspect the ruleset.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Args)]
pub struct Common {
    /// Output format: human, json, sarif, junit, markdown, github (workflow annotations;
    /// the default when GITHUB_ACTIONS=true), html, ndjson (one JSON document per line, then
    /// a summary line: what `pixscan merge` reads).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Write the report to FILE instead of stdout; `FORMAT=FILE` (repeatable) writes another
    /// format as well, e.g. `--output sarif=pixscan.sarif --output html=report.html`.
    #[arg(long, short, value_name = "FILE|FORMAT=FILE")]
    pub output: Vec<String>,
    /// Extra rule file(s) in the rules/ TOML format, loaded after the built-in rules.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// List untracked remote requests too in human output.
    #[arg(long, short)]
    pub verbose: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Human output: only the verdict and the summary, no per-document detail.
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour in human output: auto (a terminal, unless NO_COLOR is set, CLICOLOR=0 or
    /// TERM=dumb; CLICOLOR_FORCE=1 forces it), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
    /// Policy file (default: the nearest pixscan.toml at or above a scanned folder, else in
    /// the working directory).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Use the built-in default policy; read no pixscan.toml.
    #[arg(long)]
    pub no_config: bool,
    /// Fail only on findings not in this baseline (and list the ones fixed since).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record today's violations as a baseline file (stable fingerprints, sorted).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// A filter list in Adblock Plus syntax (EasyPrivacy…), repeatable: requests it would
    /// block count as tracking, with the list's rule as evidence.
    #[arg(long = "filter-list", value_name = "FILE")]
    pub filter_lists: Vec<PathBuf>,
    /// Show only findings of this kind (repeatable): open-pixel, tracked-image,
    /// tracked-link, beacon, ad-conversion, tracker-script, remote-image, remote-resource,
    /// read-receipt, meta-refresh, dns-prefetch. Report filters narrow what the reports
    /// list, never the verdict: the policy still judges every finding, and the summary says
    /// how many were hidden.
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Show only findings attributed to this entity (repeatable; a ruleset name such as
    /// "Google Analytics", case-insensitive). A report filter, as --kind.
    #[arg(long = "entity", value_name = "NAME")]
    pub entities: Vec<String>,
    /// Show only findings of entities in this category (repeatable): analytics, ad,
    /// email-marketing, social, tag-manager… A report filter, as --kind.
    #[arg(long = "category", value_name = "CAT")]
    pub categories: Vec<String>,
}

#[derive(Args)]
pub struct EmlArgs {
    /// Files, folders, mbox files, Maildir folders; `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// Also look for this recipient address in URLs (repeatable); To, Cc, Delivered-To
    /// and X-Original-To are always used.
    #[arg(long, value_name = "ADDRESS")]
    pub recipient: Vec<String>,
    /// Worker threads (default: number of CPUs).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// Only files found in folders that match GLOB (repeatable). A GLOB without `/` matches a
    /// file or folder name at any depth (`*.eml`, `Inbox`); one with `/` the path relative
    /// to the folder given (`2023/**`). Files named on the command line are always scanned.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out files found in folders that match GLOB (repeatable; wins over --include):
    /// `--exclude Spam --exclude '*.json'`. Excluded files are counted in the summary.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Largest message scanned, e.g. 100MB, 512KB or a byte count (KB, MB, GB are powers of
    /// 1024); larger ones are reported as errors.
    #[arg(long, value_name = "SIZE", default_value = "100MB", value_parser = pixscan::units::parse_size)]
    pub max_size: u64,
    /// Scan only shard K of N (K from 0; `/N` takes K from JOB_COMPLETION_INDEX): files by
    /// their path below the folder given, mbox messages by position.
    ///
    /// The N shards (machines, pods) together scan every message once. Write each shard's
    /// report with `--format ndjson`; `pixscan merge` then gives the run's report, verdict
    /// and exit code. `--shard /N`, K left out, takes K from the environment variable
    /// JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod (`--shard 3/N`
    /// wins over it). A shard exits 0 once its share is scanned, whatever it found (2: it
    /// could not run); --baseline and --write-baseline belong to the merge.
    #[arg(long, value_name = "K/N", value_parser = crate::cli::shard::parse_shard)]
    pub shard: Option<pixscan::shard::Shard>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The shards' `--format ndjson` outputs: all N of one run, in any order (or one whole
    /// run's, to render it in another format).
    #[arg(required = true, value_name = "SHARD.ndjson")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct SiteArgs {
    /// Start URL(s) to crawl, or local folder(s)/file(s) of HTML.
    #[arg(required_unless_present = "urls_file", value_name = "URL|DIR")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub common: Common,
    /// More targets from FILE, one per line (blank lines and lines starting with `#` are
    /// ignored), after those given as arguments; `-` reads stdin. Each start URL is its own
    /// crawl.
    #[arg(long, value_name = "FILE")]
    pub urls_file: Option<PathBuf>,
    /// Scan only shard K of N (K from 0; `/N` takes K from JOB_COMPLETION_INDEX): crawls by
    /// start URL (a whole crawl per shard), build-folder files by their path.
    ///
    /// The N shards (machines, pods) together scan every page once. Write each shard's
    /// report with `--format ndjson`; `pixscan merge` then gives the run's report, verdict
    /// and exit code. `--shard /N`, K left out, takes K from the environment variable
    /// JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod (`--shard 3/N`
    /// wins over it). A shard exits 0 once its share is scanned, whatever it found (2: it
    /// could not run); --baseline and --write-baseline belong to the merge.
    #[arg(long, value_name = "K/N", value_parser = crate::cli::shard::parse_shard)]
    pub shard: Option<pixscan::shard::Shard>,
    /// What the crawl may visit: the start URL's host, its site (registrable domain), or
    /// URLs under the start URL.
    #[arg(long, value_enum, default_value_t = ScopeArg::Site)]
    pub scope: ScopeArg,
    /// Most pages fetched per start URL.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_pages: usize,
    /// Most link hops from the start URL (default: no limit besides --max-pages).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Pages fetched at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Crawl paths robots.txt disallows (for your own site).
    #[arg(long)]
    pub ignore_robots: bool,
    /// Don't read sitemap.xml to discover pages.
    #[arg(long)]
    pub no_sitemap: bool,
    /// Per-request timeout (headers and body), e.g. 15s, 500ms.
    #[arg(long, default_value = "15s", value_parser = crate::cli::browser::parse_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,
    /// Time limit for the whole crawl.
    #[arg(long, default_value = "10m", value_parser = crate::cli::browser::parse_duration, value_name = "DURATION")]
    pub total_timeout: std::time::Duration,
    /// Largest page body read (after decompression), e.g. 5MB, 512KB (powers of 1024).
    #[arg(long, default_value = "5MB", value_parser = pixscan::units::parse_size, value_name = "SIZE")]
    pub max_body: u64,
    /// Most redirects followed per page.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_redirects: usize,
    /// Extra request header, `Name: value` (repeatable), e.g. for a staging login.
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Cookie header sent with every page request, `a=b; c=d`.
    #[arg(long, value_name = "COOKIES")]
    pub cookie: Option<String>,
    /// User-Agent for page requests.
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,
    /// Another domain of yours, treated as first party (repeatable).
    #[arg(long = "first-party", value_name = "DOMAIN")]
    pub first_party: Vec<String>,
    /// Folder mode: the URL the files are served under (decides what is first party).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<url::Url>,
    /// Also fetch the tracking URLs themselves to learn real size, type and cookies. This
    /// adds hits to the trackers' analytics; off by default.
    #[arg(long)]
    pub probe: bool,
    /// Resolve HOST:PORT to ADDR, as curl's --resolve (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Accept invalid TLS certificates (your own staging site only).
    #[arg(long)]
    pub insecure: bool,
    /// Only pages that match GLOB (repeatable). Crawl: the page URL (`*` crosses `/`:
    /// `https://www.example.com/blog/*`; a GLOB starting with `/` is matched against the
    /// path: `/blog/*`); excluded URLs are never fetched. Folder: the file path relative to
    /// the folder (`blog/**`). The start URL, or a file named directly, is always scanned.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out pages that match GLOB (repeatable; wins over --include): `--exclude
    /// '/cart/*' --exclude '*.pdf'`, or in a folder `--exclude drafts`. Counted in the
    /// summary, never fetched, never a failure.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub browser: crate::cli::browser::BrowserArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ScopeArg {
    Host,
    Site,
    Prefix,
}

/// `example.com` or `example.com/blog` means `https://example.com/…`, as browsers read it,
/// unless a local file or folder of that name exists.
pub fn site_target(t: &str) -> String {
    let looks_like_host = !t.contains("://")
        && !std::path::Path::new(t).exists()
        && t.split('/').next().is_some_and(|h| {
            h.contains('.')
                && !h.starts_with('.')
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:".contains(c))
        });
    if looks_like_host {
        let with_path = if t.contains('/') {
            t.to_string()
        } else {
            format!("{t}/")
        };
        format!("https://{with_path}")
    } else {
        t.to_string()
    }
}

pub fn parse_resolve(s: &str) -> anyhow::Result<(String, std::net::SocketAddr)> {
    let mut parts = s.splitn(3, ':');
    let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("--resolve {s:?}: expected HOST:PORT:ADDR");
    };
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow::anyhow!("--resolve {s:?}: bad port"))?;
    let ip: std::net::IpAddr = addr
        .trim_matches(['[', ']'])
        .parse()
        .map_err(|_| anyhow::anyhow!("--resolve {s:?}: bad address"))?;
    Ok((host.to_string(), std::net::SocketAddr::new(ip, port)))
}

#[derive(Subcommand)]
pub enum RulesCommand {
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
    /// Validate the built-in rules, and each rule file given on top of them (errors name
    /// the file and line).
    Check { file: Vec<PathBuf> },
}
