//! Which references an element makes: the fetch-vector table's attributes, deferred
//! sources consent platforms and lazy loaders park, `background`, and inline-style `url()`s.

use std::borrow::Cow;

use super::super::css;
use super::super::lexer::Tag;
use super::super::vectors::{self, When};
use crate::model::RefRole;

pub(super) type Found = (String, Cow<'static, str>, RefRole);

/// The references an element's attributes make: the fetch-vector table, deferred sources,
/// and `background`.
pub(super) fn attribute_refs(tag: &Tag<'_>, name: &str) -> Vec<Found> {
    let mut refs: Vec<Found> = Vec::new();
    let add = |attr: &'static str, role: RefRole, refs: &mut Vec<_>| {
        if let Some(v) = tag.attr(attr) {
            refs.push((v.to_string(), Cow::Borrowed(attr), role));
        }
    };
    for v in vectors::of_element(name) {
        match v.when {
            When::Always => add(v.attribute, v.role, &mut refs),
            When::CandidateList => srcset(tag, v.attribute, &mut refs),
            When::InputTypeImage => {
                if tag
                    .attr("type")
                    .is_some_and(|t| t.eq_ignore_ascii_case("image"))
                {
                    add(v.attribute, v.role, &mut refs);
                }
            }
            When::LinkRel => {
                if let Some(role) = link_role(tag) {
                    add(v.attribute, role, &mut refs);
                }
            }
            When::MetaRefresh => {
                let refresh = tag
                    .attr("http-equiv")
                    .is_some_and(|h| h.eq_ignore_ascii_case("refresh"));
                if let Some(url) = tag
                    .attr(v.attribute)
                    .filter(|_| refresh)
                    .and_then(refresh_url)
                {
                    refs.push((url, Cow::Borrowed(v.attribute), v.role));
                }
            }
        }
    }
    // Consent platforms and lazy loaders park the real URL in a data attribute until
    // consent (or scrolling) sets `src`.
    if vectors::DEFERRABLE.contains(&name) && tag.attr("src").is_none() {
        // data-src (lazy loaders, Cookiebot), data-cookieblock-src (Cookiebot),
        // data-cmp-src (consentmanager), data-lazy-src (WP Rocket), data-original
        // (lazysizes).
        let deferred = tag
            .attr("data-src")
            .or_else(|| tag.attr("data-cookieblock-src"))
            .or_else(|| tag.attr("data-cmp-src"))
            .or_else(|| tag.attr("data-lazy-src"))
            .or_else(|| tag.attr("data-original"));
        if let Some(v) = deferred {
            let role = if name == "script" {
                RefRole::Script
            } else {
                RefRole::Load
            };
            refs.push((v.to_string(), Cow::Borrowed("data-src"), role));
        }
    }
    // `background` works on body, table, td, th and a few others in mail clients.
    if name != "v:fill" {
        if let Some(bg) = tag.attr("background") {
            refs.push((bg.to_string(), Cow::Borrowed("background"), RefRole::Load));
        }
    }
    refs
}

/// The `url()`s of an inline style, as `style:PROP` references. The declarations are
/// split only when there is a `url()` in them.
pub(super) fn style_refs(style: &str, refs: &mut Vec<Found>) {
    if !has_url_call(style) {
        return;
    }
    let decls = css::declarations(style);
    for (prop, value) in &decls.0 {
        if has_url_call(value) {
            for r in css::urls(value) {
                refs.push((
                    r.url,
                    Cow::Owned(format!("style:{}", prop.to_ascii_lowercase())),
                    RefRole::Load,
                ));
            }
        }
    }
}

/// Size only describes the element's own image, not a background or a link.
pub(super) fn sized(attribute: &str, role: RefRole) -> bool {
    attribute == "src"
        || attribute == "data-src"
        || attribute == "srcset"
        || attribute == "href" && role != RefRole::Link
}

/// `<link>`: `rel` says whether `href` is fetched (stylesheets, icons, preloads), only
/// resolved ahead of time (dns-prefetch, preconnect), or neither (canonical, alternate…).
pub(super) fn link_role(tag: &Tag<'_>) -> Option<RefRole> {
    let rel = tag.attr("rel").unwrap_or("").to_ascii_lowercase();
    if rel
        .split_whitespace()
        .any(|r| r == "dns-prefetch" || r == "preconnect")
    {
        Some(RefRole::Hint)
    } else if rel.split_whitespace().any(|r| {
        matches!(
            r,
            "stylesheet"
                | "preload"
                | "prefetch"
                | "prerender"
                | "icon"
                | "modulepreload"
                | "apple-touch-icon"
        )
    }) {
        Some(RefRole::Load)
    } else {
        None
    }
}

/// Every URL of a candidate list (`srcset="a.png 1x, b.png 2x"`).
pub(super) fn srcset(tag: &Tag<'_>, attribute: &'static str, refs: &mut Vec<Found>) {
    if let Some(set) = tag.attr(attribute) {
        for candidate in set.split(", ").flat_map(|c| c.split(",\n")) {
            if let Some(url) = candidate.split_whitespace().next() {
                let url = url.trim_end_matches(',');
                if !url.is_empty() {
                    refs.push((url.to_string(), Cow::Borrowed(attribute), RefRole::Load));
                }
            }
        }
    }
}

/// Whether CSS text holds a `url(` (as authors write it: lower or upper case).
pub(super) fn has_url_call(css: &str) -> bool {
    // Every tag's style is asked: look for the parenthesis (rare in inline styles) first.
    let b = css.as_bytes();
    memchr::memchr_iter(b'(', b).any(|p| p >= 3 && matches!(&b[p - 3..p], b"url" | b"URL"))
}

/// `<meta http-equiv=refresh content="0; url=https://…">`.
pub(super) fn refresh_url(content: &str) -> Option<String> {
    let lower = content.to_ascii_lowercase();
    let pos = lower.find("url")?;
    let rest = content[pos + 3..].trim_start();
    let rest = rest.strip_prefix('=')?.trim();
    let rest = rest.trim_matches(|c| c == '\'' || c == '"');
    (!rest.is_empty()).then(|| rest.to_string())
}

pub(super) fn all_attrs(tag: &Tag<'_>) -> Vec<(String, String)> {
    tag.attrs
        .iter()
        .map(|a| (a.name.to_string(), a.value.to_string()))
        .collect()
}

/// Attributes kept for later stages: consent gating, referrer policy, lazy loading.
pub(super) fn interesting_attrs(tag: &Tag<'_>) -> Vec<(String, String)> {
    tag.attrs
        .iter()
        .filter(|a| {
            let n: &str = &a.name;
            matches!(
                n,
                "type" | "class" | "referrerpolicy" | "loading" | "rel" | "id"
            ) || n.starts_with("data-")
        })
        .map(|a| (a.name.to_string(), a.value.to_string()))
        .collect()
}
