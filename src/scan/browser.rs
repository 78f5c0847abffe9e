//! Browser mode's orchestration: runs a crawl's pages through the one long-lived browser
//! (`source::browser`) and hands each observation to the runtime analysis
//! (`analyze::runtime`), which merges it into the page's report.

use serde_json::json;

use crate::analyze::runtime::{self, RunContext};
use crate::filters::FilterLists;
use crate::model::DocumentReport;
use crate::rules::Ruleset;
use crate::source::browser::observe::AcceptCandidate;
use crate::source::browser::{Browser, PageJob};
use crate::source::site::CrawlOptions;

/// `--cookie a=b; c=d` as cookies for `url`'s jar.
fn cookie_params(cookie: Option<&str>, url: &str) -> Vec<serde_json::Value> {
    cookie
        .into_iter()
        .flat_map(|c| c.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| json!({"name": k.trim(), "value": v.trim(), "url": url}))
        .collect()
}

/// Loads every scanned page of `docs` in the browser and merges what it saw into each
/// report (a page the browser cannot load keeps its static findings, with the reason).
pub async fn browse_documents(
    browser: &Browser,
    docs: &mut [DocumentReport],
    rules: &Ruleset,
    filters: Option<&FilterLists>,
    first_party: &[String],
    crawl: &CrawlOptions,
    progress: &dyn Fn(&str),
) {
    let idx: Vec<usize> = (0..docs.len())
        .filter(|&i| docs[i].error.is_none() && docs[i].source.starts_with("http"))
        .collect();
    let jobs: Vec<PageJob> = idx
        .iter()
        .map(|&i| {
            let d = &docs[i];
            let detected = d.consent_platforms.clone().unwrap_or_default();
            let mut job = browser.job(&d.source, Some(accept_candidates(rules, &detected)));
            job.cookies = cookie_params(crawl.cookie.as_deref(), &d.source);
            job.headers = crawl.headers.clone();
            job
        })
        .collect();
    let ctx = RunContext {
        rules,
        filters,
        first_party,
        browser: &browser.product,
        block_third_party_cookies: browser.options().block_third_party_cookies,
    };
    browser
        .observe_all(jobs, |j, result| {
            let doc = &mut docs[idx[j]];
            progress(&doc.source);
            match result {
                Ok(obs) => runtime::merge(doc, &obs, &ctx),
                Err(e) => runtime::failed(doc, &e.to_string(), &ctx),
            }
        })
        .await;
}

/// Accept-button selectors to try on a page: the platforms detected on it first, then every
/// other platform's (the generic text fallback is in the click script itself).
pub fn accept_candidates(rules: &Ruleset, detected: &[String]) -> Vec<AcceptCandidate> {
    let mut order: Vec<usize> = (0..rules.consent.len())
        .filter(|&i| detected.contains(&rules.consent[i].name))
        .collect();
    let rest: Vec<usize> = (0..rules.consent.len())
        .filter(|i| !order.contains(i))
        .collect();
    order.extend(rest);
    let mut out = Vec::new();
    for i in order {
        let p = &rules.consent[i];
        for sel in &p.accept_selectors {
            out.push(AcceptCandidate {
                platform: p.name.clone(),
                selector: sel.clone(),
            });
        }
    }
    out
}
