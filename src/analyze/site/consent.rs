//! Consent on a page: which consent platforms it carries (their scripts or inline code),
//! Google Consent Mode defaults, auto-blocking modes, and whether each tag is gated (an inert
//! `type`, a platform's marker, a deferred `data-src`) or fires without consent.

use std::sync::OnceLock;

use regex::Regex;
use url::Url;

use crate::analyze::resolve;
use crate::extract::Extracted;
use crate::model::{Consent, RawRef};
use crate::rules::Ruleset;

/// Consent facts about one page, shared by every finding on it.
#[derive(Debug, Clone, Default)]
pub struct ConsentState {
    /// Indices into `Ruleset::consent`.
    pub platforms: Vec<usize>,
    /// Google Consent Mode defaults set before the tags, e.g. `ad_storage=denied`.
    pub consent_mode_denied: Vec<String>,
    /// A platform that blocks tags on its own at run time (Cookiebot auto-blocking…).
    pub auto_blocking: Option<String>,
}

fn consent_mode_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"gtag\(\s*['"]consent['"]\s*,\s*['"]default['"]\s*,\s*\{([^}]*)\}"#).unwrap()
    })
}

fn denied_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"['"]?([a-z_]+)['"]?\s*:\s*['"]denied['"]"#).unwrap())
}

/// Whether a script `type` makes it inert (not executed until something rewrites it).
fn inert_type(t: &str) -> bool {
    // Browsers run exactly these; anything else (`text/plain`, `didomi/javascript`,
    // `text/template`) is parked until a consent script rewrites it.
    let t = t.trim().to_ascii_lowercase();
    let essence = t.split(';').next().unwrap_or("").trim();
    !matches!(
        essence,
        "" | "module"
            | "text/javascript"
            | "application/javascript"
            | "text/ecmascript"
            | "application/ecmascript"
            | "application/x-javascript"
            | "application/x-ecmascript"
            | "text/x-javascript"
            | "text/x-ecmascript"
            | "text/jscript"
            | "text/livescript"
            | "text/javascript1.0"
            | "text/javascript1.1"
            | "text/javascript1.2"
            | "text/javascript1.3"
            | "text/javascript1.4"
            | "text/javascript1.5"
    )
}

pub(super) fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Gated, ungated or unknown, with the mechanism as evidence.
pub fn consent_for(
    r: &RawRef,
    entity: Option<&str>,
    state: Option<&ConsentState>,
    rules: &Ruleset,
) -> (Consent, String) {
    let (state_word, why) = gate(
        &r.extra,
        r.hidden.iter().any(|h| h == "inside <noscript>"),
        r.attribute == "data-src",
        entity,
        state,
        rules,
    );
    // Auto-blockers hold back scripts and frames; a plain <img> in the markup is fetched
    // by the HTML parser before any script runs.
    if state_word == Consent::Unknown && r.element == "img" && r.attribute != "inline-loader" {
        return (
            Consent::Ungated,
            "consent: ungated — a plain <img> in the markup loads with the page, before any consent script can hold it back".into(),
        );
    }
    (state_word, why)
}

/// Gated, ungated or unknown for a tag with these attributes, with the mechanism as evidence.
pub(super) fn gate(
    attrs: &[(String, String)],
    in_noscript: bool,
    deferred: bool,
    entity: Option<&str>,
    state: Option<&ConsentState>,
    rules: &Ruleset,
) -> (Consent, String) {
    if in_noscript {
        return (Consent::Ungated, "consent: ungated — a <noscript> fallback fires for visitors without JavaScript, where no consent platform runs".into());
    }
    let ty = attr(attrs, "type").unwrap_or("");
    let class = attr(attrs, "class").unwrap_or("");
    let marker = state
        .into_iter()
        .flat_map(|s| s.platforms.iter().copied())
        .chain(0..rules.consent.len())
        .find_map(|i| {
            let p = &rules.consent[i];
            p.gate_attrs
                .iter()
                .find_map(|a| attr(attrs, a).map(|v| format!("{a}=\"{v}\" ({})", p.name)))
                .or_else(|| {
                    p.gate_class_prefixes.iter().find_map(|pre| {
                        class
                            .split_whitespace()
                            .find(|c| c.starts_with(pre.as_str()))
                            .map(|c| format!("class {c} ({})", p.name))
                    })
                })
        });
    if inert_type(ty) {
        let how = marker.map(|m| format!(" + {m}")).unwrap_or_default();
        return (
            Consent::Gated,
            format!("consent: gated — type=\"{ty}\"{how} keeps the tag inert until consent"),
        );
    }
    if deferred {
        if let Some(m) = marker {
            return (Consent::Gated, format!("consent: gated — data-src with {m}: the consent platform sets src after consent"));
        }
    }
    if let Some(state) = state {
        if entity.is_some_and(|e| e.starts_with("Google")) && !state.consent_mode_denied.is_empty()
        {
            return (
                Consent::Gated,
                format!(
                    "consent: gated by Google Consent Mode defaults ({}); in advanced mode Google tags still send cookieless pings",
                    state.consent_mode_denied.join(", ")
                ),
            );
        }
        if let Some(auto) = &state.auto_blocking {
            return (Consent::Unknown, format!("consent: unknown — {auto} may block this tag at run time; only a browser run can tell"));
        }
        if let Some(&p) = state.platforms.first() {
            return (
                Consent::Ungated,
                format!(
                    "consent: ungated — fires without consent, although {} is on the page",
                    rules.consent[p].name
                ),
            );
        }
    }
    (
        Consent::Ungated,
        "consent: ungated — fires without consent (no consent mechanism on the page)".into(),
    )
}

/// The consent platforms, Consent Mode defaults and auto-blocking on a page.
pub(super) fn consent_state(ex: &Extracted, base: &Url, rules: &Ruleset) -> ConsentState {
    let mut st = ConsentState::default();
    for (i, p) in rules.consent.iter().enumerate() {
        let by_script = ex.refs.iter().any(|r| {
            r.element == "script"
                && resolve(&r.url, Some(base))
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                    .is_some_and(|h| p.script_hosts.iter().any(|hp| hp.matches(&h)))
        });
        let by_inline = !p.inline.is_empty()
            && ex
                .inline_scripts
                .iter()
                .any(|s| p.inline.iter().any(|re| re.is_match(&s.text)));
        if by_script || by_inline {
            st.platforms.push(i);
        }
    }
    for s in &ex.inline_scripts {
        if let Some(c) = consent_mode_re().captures(&s.text) {
            for d in denied_re().captures_iter(&c[1]) {
                st.consent_mode_denied.push(format!("{}=denied", &d[1]));
            }
        }
    }
    // Nearly every CMP also implements the IAB frameworks' APIs (`__tcfapi`): name the
    // frameworks only when no specific platform was found.
    let generic = |i: &usize| rules.consent[*i].id.starts_with("iab-");
    if st.platforms.iter().any(|i| !generic(i)) {
        st.platforms.retain(|i| !generic(i));
    }
    // Auto-blocking modes rewrite tags at run time without any marker in the HTML.
    if let Some(r) = ex.refs.iter().find(|r| {
        r.element == "script"
            && attr(&r.extra, "data-blockingmode").is_some_and(|v| v.eq_ignore_ascii_case("auto"))
    }) {
        let _ = r;
        st.auto_blocking = Some("Cookiebot auto-blocking (data-blockingmode=\"auto\")".into());
    }
    if ex.refs.iter().any(|r| {
        r.element == "script" && r.url.contains("usercentrics") && r.url.contains("autoblocker")
    }) {
        st.auto_blocking = Some("the Usercentrics auto-blocker".into());
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_types() {
        assert!(inert_type("text/plain"));
        assert!(inert_type("text/didomi"));
        assert!(inert_type("didomi/javascript"));
        assert!(!inert_type("text/javascript; charset=utf-8"));
        assert!(!inert_type(""));
        assert!(!inert_type("text/javascript"));
        assert!(!inert_type("module"));
    }
}
