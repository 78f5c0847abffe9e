//! Filter lists in the Adblock Plus syntax (EasyPrivacy and the like), matched with Brave's
//! `adblock` engine, so teams can reuse the lists they already maintain. They are an
//! attribution tier inside analysis (`analyze::attribute`), after the ruleset and before the
//! heuristics: a request a list would block and no rule names is tracking, its kind and
//! message say so, and the list's rule is its evidence.

use std::path::{Path, PathBuf};

use adblock::lists::{FilterSet, ParseOptions};
use adblock::request::Request;
use adblock::Engine;

use crate::extract::vectors::resource_of;

/// A filter list that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot read filter list: {source}", path.display())]
pub struct FilterListError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

pub struct FilterLists {
    lists: Vec<(String, Engine)>,
}

impl FilterLists {
    /// Loads each file as one list; an unreadable file is an error naming it.
    pub fn load(paths: &[PathBuf]) -> Result<FilterLists, FilterListError> {
        let mut lists = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(p).map_err(|source| FilterListError {
                path: p.clone(),
                source,
            })?;
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

    /// The first list and rule that would block `url` loaded by `page` as `request_type`
    /// (adblock's words: `image`, `script`, `sub_frame`…).
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

    /// The first list and rule that would block the request a reference at
    /// `element`/`attribute` makes, with the request type the fetch-vector table gives it.
    pub fn check_ref(
        &self,
        url: &str,
        page: &str,
        element: &str,
        attribute: &str,
    ) -> Option<String> {
        if self.lists.is_empty() {
            return None;
        }
        self.check(url, page, request_type(element, attribute)?)
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

/// The request type a filter list expects, from the fetch-vector table. A link is no request
/// until it is clicked (a tracked link is judged by rules and identifiers, never by a list),
/// so it has none; read receipts are headers and never reach here.
fn request_type(element: &str, attribute: &str) -> Option<&'static str> {
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

    #[test]
    fn references_are_checked_as_what_they_load() {
        let f = FilterLists::from_text(
            "l.txt",
            "||px.tracker.example^$image\n||js.tracker.example^\n",
        );
        let px = "https://px.tracker.example/p.gif";
        assert!(f.check_ref(px, "", "img", "src").is_some());
        assert!(f.check_ref(px, "", "td", "background").is_some());
        assert!(
            f.check_ref(px, "", "iframe", "src").is_none(),
            "$image only"
        );
        let js = "https://js.tracker.example/t.js";
        assert!(f.check_ref(js, "", "script", "src").is_some());
        assert!(
            f.check_ref(js, "", "a", "href").is_none(),
            "a link is no request"
        );
        assert!(FilterLists::load(&[])
            .unwrap()
            .check_ref(js, "", "script", "src")
            .is_none());
    }
}
