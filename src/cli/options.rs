//! The library's option structs from the flags: the stages every command shares
//! (policy, baseline, report filters, reporters) and the site scan's crawl, folder and
//! browser options.

use std::path::PathBuf;

use pixscan::model::Command as ScanCommand;
use pixscan::rules::Ruleset;
use pixscan::scan::{GateOptions, Pipeline};
use pixscan::shard::ShardRun;

use super::args::{parse_resolve, site_target, Common, ScopeArg, SiteArgs};
use super::output::{build_reporter, report_filter};

/// `--filter-list`: an attribution tier inside analysis.
pub fn filter_lists(common: &Common) -> anyhow::Result<pixscan::filters::FilterLists> {
    pixscan::filters::FilterLists::load(&common.filter_lists).map_err(|e| anyhow::anyhow!(e))
}

/// The stages after the source, from the flags every command shares: policy and baseline,
/// report filters and reporters. Warns about policy entities the ruleset does not know.
pub fn pipeline(
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

/// `--urls-file`: one target a line; blank lines and `#` comments left out.
pub fn read_urls_file(file: &std::path::Path) -> anyhow::Result<Vec<String>> {
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

/// The crawl, folder and browser options from the flags.
pub fn site_options<'r>(
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
