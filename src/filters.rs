//! Filter lists in the Adblock Plus syntax (EasyPrivacy and the like), matched with Brave's
//! `adblock` engine. A match turns a finding into tracking and names the list's rule as
//! evidence, so teams can reuse the lists they already maintain.

use std::path::{Path, PathBuf};

use adblock::lists::{FilterSet, ParseOptions};
use adblock::request::Request;
use adblock::Engine;

use crate::extract::vectors::resource_of;
use crate::model::DocumentReport;

pub struct FilterLists {
    lists: Vec<(String, Engine)>,
}

impl FilterLists {
    /// Loads each file as one list; an unreadable file is an error naming it.
    pub fn load(paths: &[PathBuf]) -> Result<FilterLists, String> {
        let mut lists = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read filter list: {e}", p.display()))?;
            lists.push((name_of(p), engine(&text)));
        }
        Ok(FilterLists { lists })
    }

    pub fn from_text(name: &str, text: &str) -> FilterLists {
        FilterLists {
            lists: vec![(name.to_string(), engine(text))],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// The first list and rule that would block `url` loaded by `page` as `kind`.
    pub fn check(&self, url: &str, page: &str, request_type: &str) -> Option<String> {
        let req = Request::new(url, page, request_type, "GET").ok()?;
        self.lists.iter().find_map(|(name, engine)| {
            let res = engine.check_network_request(&req);
            if !res.should_block() {
                return None;
            }
            let rule = res
                .filter
                .and_then(|f| f.raw_line)
                .unwrap_or_else(|| "(rule text unavailable)".into());
            Some(format!("filter list {name}: {rule}"))
        })
    }

    /// Marks every finding a list would block as tracking, with the rule as evidence.
    pub fn apply(&self, doc: &mut DocumentReport) {
        if self.lists.is_empty() {
            return;
        }
        let page = if doc.source.starts_with("http") {
            doc.source.clone()
        } else {
            String::new()
        };
        for f in doc.findings.iter_mut() {
            if !f.url.starts_with("http") {
                continue;
            }
            let ty = request_type(&f.element, &f.attribute, f.kind.as_str());
            let Some(ty) = ty else { continue };
            if let Some(ev) = self.check(&f.url, &page, ty) {
                f.tracking = true;
                f.evidence.push(ev);
            }
        }
    }
}

fn engine(text: &str) -> Engine {
    let mut set = FilterSet::new(true);
    set.add_filter_list(text.to_string(), ParseOptions::default());
    Engine::new_with_filter_set(set)
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The request type a filter list expects, from the fetch-vector table. Links are not
/// requests until clicked, so tracked links (and read receipts, which are headers) are not
/// checked.
fn request_type(element: &str, attribute: &str, kind: &str) -> Option<&'static str> {
    if kind == "tracked-link" || kind == "read-receipt" {
        return None;
    }
    resource_of(element, attribute).adblock_type()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_and_names_the_rule() {
        let f = FilterLists::from_text(
            "easyprivacy.txt",
            "! comment\n||px.tracker.example^$image\n@@||px.tracker.example/ok.gif\n/beacon.gif?\n",
        );
        let hit = f
            .check("https://px.tracker.example/p.gif?u=1", "", "image")
            .unwrap();
        assert_eq!(
            hit,
            "filter list easyprivacy.txt: ||px.tracker.example^$image"
        );
        assert!(
            f.check("https://px.tracker.example/ok.gif", "", "image")
                .is_none(),
            "exceptions win"
        );
        assert!(
            f.check("https://px.tracker.example/s.js", "", "script")
                .is_none(),
            "$image only"
        );
        assert!(f
            .check("https://cdn.example/beacon.gif?x=1", "", "image")
            .is_some());
        assert!(f
            .check("https://cdn.example/logo.png", "", "image")
            .is_none());
    }
}
