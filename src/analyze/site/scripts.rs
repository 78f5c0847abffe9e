//! Requests inline scripts make: URLs handed to a loader (`s.src = …`, async-queue stubs,
//! `document.write`, `new Image().src`) become references on the script's line, unless the
//! loader sits in a function the page never calls.

use crate::extract::js::is_ident;
use crate::extract::Extracted;
use crate::model::RawRef;

/// Requests that inline scripts hand to a loader (`s.src = '//cdn.vendor/x.js'`), as
/// references on the script's line; data scripts (JSON, templates) load nothing.
pub(super) fn loader_refs(ex: &Extracted) -> Vec<RawRef> {
    let mut out = Vec::new();
    for script in &ex.inline_scripts {
        let ty = script
            .attrs
            .iter()
            .find(|(k, _)| k == "type")
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        if ty.contains("json") || ty.contains("template") || ty.contains("html") {
            continue;
        }
        for l in crate::extract::loader::loaded_urls(&script.text) {
            if let Some(name) = crate::extract::js::enclosing_named_function(&script.text, l.offset)
            {
                if never_called(ex, name) {
                    continue;
                }
            }
            out.push(RawRef {
                url: l.url,
                element: if l.image { "img" } else { "script" }.into(),
                attribute: "inline-loader".into(),
                role: if l.script {
                    crate::model::RefRole::Script
                } else {
                    crate::model::RefRole::Load
                },
                hidden: Vec::new(),
                width: None,
                height: None,
                line: script.line + script.text[..l.offset].matches('\n').count() as u64,
                column: None,
                extra: script.attrs.clone(),
            });
        }
    }
    out
}

/// Whether the function `name` (`pinIt`, `analytics.load`) is never named again in the
/// page's scripts: defined, never called, so a loader inside it never runs (Segment's stub
/// without its `analytics.load("key")` call, a share button's on-click loader). Event
/// handler properties (`window.onload = function…`) are called by the browser.
fn never_called(ex: &Extracted, name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    if last.len() < 2 || last.starts_with("on") {
        return false;
    }
    // A hook a library calls (`window.fbAsyncInit = function…`, `config.choice_callback = …`)
    // is named nowhere else on the page, yet runs.
    let lower = last.to_ascii_lowercase();
    if name.contains('.')
        && [
            "callback", "init", "ready", "handler", "listener", "hook", "loaded", "complete",
            "success",
        ]
        .iter()
        .any(|w| lower.contains(w))
    {
        return false;
    }
    for s in &ex.inline_scripts {
        let t = s.text.as_bytes();
        for at in memchr::memmem::find_iter(t, name.as_bytes()) {
            let before = at.checked_sub(1).map(|i| t[i]);
            let after = t.get(at + name.len()).copied();
            if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
                continue;
            }
            // A definition (`function name(`, `name = function`, a page that defines it
            // twice) is no call; any other mention (a call, a callback reference) is.
            let head = s.text[..at].trim_end();
            let tail = s.text[at + name.len()..].trim_start();
            let defines =
                head.ends_with("function") || (tail.starts_with('=') && !tail.starts_with("=="));
            if !defines {
                return false;
            }
        }
    }
    true
}
