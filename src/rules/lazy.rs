//! A rule's regex compiled on first use. The built-in rules hold some 800 regexes (endpoint
//! paths, header values, snippet signatures, consent markers); compiling them all took most
//! of a run's start-up (~0.55 G instructions of 0.66 G), while a mail scan only ever uses
//! the few whose host or header it meets. Rules from a user's file are compiled when
//! loaded, so their errors are reported there; the built-in ones are compiled by
//! `rules check` and by a test (`embedded_regexes_compile`).

use std::ops::Deref;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

pub struct LazyRegex {
    pattern: String,
    case_insensitive: bool,
    re: OnceLock<Regex>,
}

impl LazyRegex {
    /// An already compiled regex.
    pub(super) fn compiled(re: Regex) -> LazyRegex {
        LazyRegex {
            pattern: re.as_str().to_string(),
            case_insensitive: false,
            re: OnceLock::from(re),
        }
    }

    /// A regex compiled when first used; `pattern` must compile (the built-in rules, tested).
    pub(super) fn lazy(pattern: &str, case_insensitive: bool) -> LazyRegex {
        LazyRegex {
            pattern: pattern.to_string(),
            case_insensitive,
            re: OnceLock::new(),
        }
    }

    /// The pattern, without compiling it.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The regex, compiled now if it was not yet.
    pub fn regex(&self) -> &Regex {
        self.re.get_or_init(|| {
            RegexBuilder::new(&self.pattern)
                .case_insensitive(self.case_insensitive)
                .build()
                .expect("built-in rule regexes compile (rules check, tests)")
        })
    }
}

impl Deref for LazyRegex {
    type Target = Regex;
    fn deref(&self) -> &Regex {
        self.regex()
    }
}

impl std::fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Regex").field(&self.pattern).finish()
    }
}
