//! The page shell: the head (Content-Security-Policy, referrer policy, the inline styles),
//! the title, the navigation and the verdict.

use std::io::Write;

use super::{esc, HtmlReporter};
use crate::model::Summary;
use crate::report::common::nouns;

const CSS: &str = r#"
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de; --bad: #cf222e; --warn: #9a6700; --ok: #1a7f37; --bar: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --panel: #161b22; --line: #30363d; --bad: #f85149; --warn: #d29922; --ok: #3fb950; --bar: #f85149; } }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .3rem; margin-top: 2rem; }
nav a { margin-right: 1rem; color: inherit; }
.note { background: var(--panel); border-left: 4px solid var(--warn); padding: .5rem .8rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem; min-width: 8rem; }
.card b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--panel); }
td.n, th.n { text-align: right; }
code, .url { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.url { word-break: break-all; }
details { margin: .3rem 0; }
details.doc { border: 1px solid var(--line); border-radius: 6px; padding: .3rem .6rem; }
details.doc > summary { cursor: pointer; }
.badge { display: inline-block; border-radius: 10px; padding: 0 .5rem; font-size: 12px; font-weight: 600; color: #fff; }
.bad { background: var(--bad); } .warn { background: var(--warn); } .ok { background: var(--ok); } .muted { color: var(--muted); }
.err { color: var(--bad); }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
svg rect.bar { fill: var(--bar); }
ul.plain { padding-left: 1.2rem; }
"#;

impl<W: Write> HtmlReporter<W> {
    /// The top of the file: head (CSP, styles), title, navigation, the verdict.
    pub(super) fn page_head(&self, sm: &Summary) -> String {
        let (one, many) = nouns(self.command);
        let mut h = String::with_capacity(32 * 1024);
        h.push_str(&format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"pixscan {}\">\n<title>pixscan {} report</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            esc(env!("CARGO_PKG_VERSION")),
            self.command
        ));
        h.push_str(&format!(
            "<h1>pixscan {} report</h1>\n<nav><a href=\"#summary\">Summary</a><a href=\"#entities\">By entity</a><a href=\"#documents\">By {one}</a><a href=\"#leaks\">By leak</a><a href=\"#skipped\">Skipped</a></nav>\n",
            self.command
        ));
        if let Some((status, word, reason)) = crate::report::verdict(sm) {
            let class = match status {
                crate::model::RunStatus::Passed => "ok",
                crate::model::RunStatus::Failed => "bad",
                crate::model::RunStatus::Error => "warn",
            };
            h.push_str(&format!(
                "<p class=\"verdict\" id=\"verdict\"><span class=\"badge {class}\">{word}</span> {} ({} {many} scanned, {} failed, {} tracking finding(s))</p>\n",
                esc(reason),
                sm.scanned,
                sm.failed,
                sm.tracking_findings
            ));
        }
        h
    }
}
