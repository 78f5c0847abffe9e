//! Policy globs: page URLs and senders (`*` matches anything) and local paths (`*` within a
//! segment, `**` across segments). Only `*` is special; globset compiles them.

use globset::{GlobBuilder, GlobMatcher};
use toml::Spanned;

/// A compiled glob (globset).
#[derive(Debug)]
pub(super) struct Glob {
    pub(super) pattern: String,
    matcher: GlobMatcher,
}

impl Glob {
    pub(super) fn is_match(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }
}

pub(super) type SpanError = (std::ops::Range<usize>, String);

pub(super) fn globs(
    raw: Vec<Spanned<String>>,
    compile: impl Fn(&str) -> Result<GlobMatcher, String>,
) -> Result<Vec<Glob>, SpanError> {
    raw.into_iter()
        .map(|s| {
            let p = s.get_ref().trim();
            if p.is_empty() {
                return Err((s.span(), "empty pattern".to_string()));
            }
            let matcher = compile(p).map_err(|m| (s.span(), m))?;
            Ok(Glob {
                pattern: p.to_string(),
                matcher,
            })
        })
        .collect()
}

/// Only `*` is special in policy globs (a URL's `?`, `[` or `{` is literal): everything
/// between the stars is escaped for globset.
fn escape_all_but_stars(p: &str) -> String {
    p.split('*')
        .map(globset::escape)
        .collect::<Vec<_>>()
        .join("*")
}

fn build(
    glob: &str,
    literal_separator: bool,
    case_insensitive: bool,
) -> Result<GlobMatcher, String> {
    GlobBuilder::new(glob)
        .literal_separator(literal_separator)
        .case_insensitive(case_insensitive)
        .backslash_escape(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

/// A URL or sender glob: `*` matches anything, `/` included. A run of stars is one star
/// (globset would read `/**/` as "zero or more folders", so `https://x/**/a` would match
/// `https://x/a`, which a pages glob never did).
pub(super) fn url_glob(p: &str, case_insensitive: bool) -> Result<GlobMatcher, String> {
    let mut one_star = String::with_capacity(p.len());
    for c in p.chars() {
        if !(c == '*' && one_star.ends_with('*')) {
            one_star.push(c);
        }
    }
    build(&escape_all_but_stars(&one_star), false, case_insensitive)
}

/// A path glob: `*` within a segment, `**` across segments, trailing `/` = everything below.
///
/// globset reads `**` as "any folders" only as a whole path component (`a/**/b`, `**/x`,
/// `a/**`); glued to a name (`public/**.html`) it would be a plain `*`. pixscan's paths
/// have always let such a `**` cross folders too, so it is written as the globset
/// alternatives it stands for: `blog**` = `blog{*,*/**/*}` (within the name, or across
/// folders).
pub(super) fn path_glob(p: &str) -> Result<GlobMatcher, String> {
    let mut p = crate::text::normalize_path(p);
    if p.ends_with('/') {
        p.push_str("**");
    }
    let parts: Vec<&str> = p.split('/').collect();
    let comps: Vec<String> = parts
        .iter()
        .map(|c| {
            if *c == "**" {
                return "**".to_string();
            }
            let pieces: Vec<String> = c.split("**").map(escape_all_but_stars).collect();
            pieces.join("{*,*/**/*}")
        })
        .collect();
    build(&comps.join("/"), true, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_for_urls_and_senders() {
        let g = url_glob("https://shop.example/checkout/*", false).unwrap();
        assert!(g.is_match("https://shop.example/checkout/"));
        assert!(g.is_match("https://shop.example/checkout/pay/step?x=1"));
        assert!(!g.is_match("https://shop.example/cart/"));
        assert!(
            !g.is_match("https://shop.example/Checkout/x"),
            "case-sensitive"
        );
        let s = url_glob("*@brand.example", true).unwrap();
        assert!(s.is_match("News@Brand.Example"));
        assert!(!s.is_match("news@other.example"));
        let u = |p: &str| url_glob(p, false).unwrap();
        assert!(u("https://x.example/a?b").is_match("https://x.example/a?b"));
        assert!(
            !u("https://x.example/a?b").is_match("https://x.example/aXb"),
            "? is literal"
        );
        assert!(!u("https://x.example/a.b").is_match("https://x.example/aXb"));
        // Only `*` is special: brackets, braces and backslashes are literal.
        assert!(u("https://x.example/[id]/{a,b}").is_match("https://x.example/[id]/{a,b}"));
        assert!(!u("https://x.example/[id]/{a,b}").is_match("https://x.example/i/a"));
        assert!(u("https://x.example/a\\*").is_match("https://x.example/a\\b"));
        assert!(u("https://x.example/**").is_match("https://x.example/a/b?c"));
        assert!(u("https://x.example/**/pay").is_match("https://x.example/a/b/pay"));
        assert!(!u("https://x.example/**/pay").is_match("https://x.example/pay"));
    }

    #[test]
    fn globs_for_paths() {
        let p = |g: &str| path_glob(g).unwrap();
        let g = p("public/blog/**");
        assert!(g.is_match("public/blog/a.html"));
        assert!(g.is_match("public/blog/2024/a.html"));
        assert!(!g.is_match("public/shop/a.html"));
        let g = p("public/*/index.html");
        assert!(g.is_match("public/blog/index.html"));
        assert!(!g.is_match("public/blog/x/index.html"));
        let g = p("**/checkout.html");
        assert!(g.is_match("checkout.html"));
        assert!(g.is_match("a/b/checkout.html"));
        assert!(p("./public/").is_match("public/x/y.html"));
        let g = p("public/**/index.html");
        assert!(g.is_match("public/index.html"));
        assert!(g.is_match("public/a/b/index.html"));
        // `**` glued to a name still crosses folders, as it always did.
        let g = p("public/blog**");
        assert!(g.is_match("public/blog.html"));
        assert!(g.is_match("public/blog/2024/a.html"));
        assert!(!g.is_match("public/shop/blog"));
        let g = p("public/**.html");
        assert!(g.is_match("public/a.html"));
        assert!(g.is_match("public/x/y/a.html"));
        assert!(!g.is_match("public/x/y/a.htm"));
        assert!(p("**.eml").is_match("mail/in/a.eml"));
        // Only `*` is special.
        assert!(p("mail/[x]?.eml").is_match("mail/[x]?.eml"));
        assert!(!p("mail/[x]?.eml").is_match("mail/x1.eml"));
    }
}
