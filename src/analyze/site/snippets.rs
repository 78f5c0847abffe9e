//! Tag snippets on a page: inline scripts and markup that a signature recognises (with the
//! account id they carry), the visitor's identity handed to them, and beacon URLs written in
//! scripts. Each becomes a finding of its own, gated as the consent state says.

use std::sync::OnceLock;

use regex::Regex;
use url::Url;

use super::consent::{gate, ConsentState};
use super::matching::advanced_matching;
use crate::analyze::{analyze, resolve, Context};
use crate::domain::registrable;
use crate::extract::{Extracted, InlineScript};
use crate::model::{
    Consent, Evidence, Finding, IdentifierKind, Kind, Leaks, Party, RawRef, RefRole, Tier,
};
use crate::rules::{EndpointKind, Ruleset, SignatureOn};

fn inline_url_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?:https?:)?//[A-Za-z0-9.\-]+\.[A-Za-z]{2,}(?::\d+)?/[^\s"'<>\\`)]*"#)
            .unwrap()
    })
}

/// One tag snippet found on the page: which signature, which account, and where (an inline
/// script, or the markup for `on = "markup"` signatures).
pub(super) struct SnippetHit {
    pub(super) script: Option<usize>,
    pub(super) signature: usize,
    pub(super) account: String,
    /// 1-based line of a markup hit.
    pub(super) line: u64,
}

/// Every inline signature match on the page, once per (signature, account). Computed once:
/// the accounts feed the URL analysis, the hits become snippet findings.
pub(super) fn signature_hits(html: &str, ex: &Extracted, rules: &Ruleset) -> Vec<SnippetHit> {
    let mut out: Vec<SnippetHit> = Vec::new();
    // Each `requires` pattern is looked for once per page, only when its signature matched.
    let mut required: Vec<Option<bool>> = vec![None; rules.signatures.len()];
    let mut page_has_required = |gi: usize| {
        rules.signatures[gi]
            .requires
            .as_ref()
            .is_none_or(|req| *required[gi].get_or_insert_with(|| req.is_match(html)))
    };
    for (si, script) in ex.inline_scripts.iter().enumerate() {
        for (gi, sig) in rules.signatures.iter().enumerate() {
            if matches!(sig.on, SignatureOn::Src | SignatureOn::Markup) {
                continue;
            }
            for caps in sig.pattern.captures_iter(&script.text).take(20) {
                let Some(a) = caps.name("account") else {
                    continue;
                };
                if !page_has_required(gi) {
                    break;
                }
                if !out
                    .iter()
                    .any(|h| h.signature == gi && h.account == a.as_str())
                {
                    out.push(SnippetHit {
                        script: Some(si),
                        signature: gi,
                        account: a.as_str().to_string(),
                        line: 0,
                    });
                }
            }
        }
    }
    // Markup signatures: once over the page. An account an inline snippet of the same company
    // already reported is not reported twice.
    for (gi, sig) in rules.signatures.iter().enumerate() {
        if sig.on != SignatureOn::Markup {
            continue;
        }
        for caps in sig.pattern.captures_iter(html).take(20) {
            let Some(a) = caps.name("account") else {
                continue;
            };
            if !page_has_required(gi) {
                break;
            }
            let seen = out.iter().any(|h| {
                h.account == a.as_str()
                    && (h.signature == gi || rules.signatures[h.signature].entity == sig.entity)
            });
            if !seen {
                out.push(SnippetHit {
                    script: None,
                    signature: gi,
                    account: a.as_str().to_string(),
                    line: 1 + memchr::memchr_iter(b'\n', &html.as_bytes()[..a.start()]).count()
                        as u64,
                });
            }
        }
    }
    out
}

/// Tag snippets in inline scripts (with their account id), the visitor's identity handed to
/// them, beacon URLs written inside scripts (`new Image().src = "https://…/tr?id=…"`), and
/// account ids written in the markup.
pub(super) fn inline_findings(
    ex: &Extracted,
    hits: &[SnippetHit],
    base: &Url,
    ctx: &Context<'_>,
    state: &ConsentState,
) -> Vec<Finding> {
    let rules = ctx.rules;
    let mut out: Vec<Finding> = Vec::new();
    for (si, script) in ex.inline_scripts.iter().enumerate() {
        let gated = gate(&script.attrs, false, false, None, Some(state), rules);
        for hit in hits.iter().filter(|h| h.script == Some(si)) {
            out.push(snippet_hit(script, hit, &gated, state, rules));
        }
        advanced_matching_findings(script, &gated, rules, &mut out);
        inline_urls(script, base, ctx, &mut out);
    }
    // Ids written in the markup (`<ins class="adsbygoogle" data-ad-client="ca-pub-…">`).
    for hit in hits.iter().filter(|h| h.script.is_none()) {
        out.push(markup_hit(hit, state, rules));
    }
    out
}

/// A tag snippet in an inline script: its account, and whether consent gates it (the
/// script's own gating, or Google Consent Mode for Google's tags).
fn snippet_hit(
    script: &InlineScript,
    hit: &SnippetHit,
    gated: &(Consent, String),
    state: &ConsentState,
    rules: &Ruleset,
) -> Finding {
    let sig = &rules.signatures[hit.signature];
    let account = hit.account.clone();
    let entity = rules.entity(sig.entity);
    let (consent, why) = if entity.name.starts_with("Google") && gated.0 == Consent::Ungated {
        gate(
            &script.attrs,
            false,
            false,
            Some(&entity.name),
            Some(state),
            rules,
        )
    } else {
        gated.clone()
    };
    let mut evidence = vec![Evidence::note(format!(
        "signature {}: {} snippet with account {account}",
        sig.id, sig.tag
    ))];
    if let Some(n) = &sig.note {
        evidence.push(Evidence::note(n.as_str()));
    }
    evidence.push(Evidence::consent(why));
    snippet_finding(
        script.line,
        sig.kind,
        entity,
        &sig.tag,
        &sig.id,
        account,
        consent,
        evidence,
    )
}

/// Advanced matching: the visitor's identity handed to the tag itself, added to the tag's
/// snippet finding on the same line, or a finding of its own.
fn advanced_matching_findings(
    script: &InlineScript,
    gated: &(Consent, String),
    rules: &Ruleset,
    out: &mut Vec<Finding>,
) {
    let (consent, why) = (gated.0, &gated.1);
    for (entity_name, id) in advanced_matching(&script.text) {
        let what = match id.kind {
            IdentifierKind::VisitorEmail => "the visitor's email address",
            IdentifierKind::VisitorEmailHash => "a hash of the visitor's email address",
            IdentifierKind::VisitorPhone => "the visitor's phone number",
            _ => "the visitor's personal data (filled in by the page)",
        };
        let line = format!(
            "advanced matching: {what} in the init call ({}) goes to {entity_name}",
            id.location
        );
        match out.iter_mut().find(|f| {
            f.attribute == "inline"
                && f.line == Some(script.line)
                && f.entity
                    .as_deref()
                    .is_some_and(|e| e == entity_name || e.starts_with(entity_name))
        }) {
            Some(f) => {
                f.evidence.push(Evidence::note(line));
                f.leaks.identifiers.push(id);
            }
            None => {
                let Some(e) = rules.entity_by_name(entity_name) else {
                    continue;
                };
                let entity = rules.entity(e);
                let mut f = snippet_finding(
                    script.line,
                    EndpointKind::TrackerScript,
                    entity,
                    &format!("{} advanced matching", entity.name),
                    "advanced-matching",
                    String::new(),
                    consent,
                    vec![Evidence::note(line), Evidence::consent(why.as_str())],
                );
                f.account = None;
                f.leaks.identifiers.push(id);
                out.push(f);
            }
        }
    }
}

/// URLs inside the script that a beacon or pixel rule recognises, judged as requests.
fn inline_urls(script: &InlineScript, base: &Url, ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for m in inline_url_re().find_iter(&script.text).take(200) {
        let Some(u) = resolve(m.as_str(), Some(base)) else {
            continue;
        };
        let Some(em) = ctx.rules.match_endpoint(&u) else {
            continue;
        };
        if !matches!(
            em.endpoint.kind,
            EndpointKind::Beacon | EndpointKind::AdConversion | EndpointKind::OpenPixel
        ) {
            continue;
        }
        if out.iter().any(|f| f.url == u.as_str()) {
            continue;
        }
        let raw = RawRef {
            url: u.to_string(),
            element: "script".into(),
            attribute: "inline-url".into(),
            role: RefRole::Load,
            hidden: Vec::new(),
            width: None,
            height: None,
            line: script.line + script.text[..m.start()].matches('\n').count() as u64,
            column: None,
            extra: script.attrs.clone(),
        };
        out.extend(analyze(std::slice::from_ref(&raw), ctx).findings);
    }
}

/// An account id written in the markup: the tag's finding, gated as its company's tags are.
fn markup_hit(hit: &SnippetHit, state: &ConsentState, rules: &Ruleset) -> Finding {
    let sig = &rules.signatures[hit.signature];
    let entity = rules.entity(sig.entity);
    let (consent, why) = gate(&[], false, false, Some(&entity.name), Some(state), rules);
    let mut evidence = vec![Evidence::note(format!(
        "signature {}: {} markup with account {}",
        sig.id, sig.tag, hit.account
    ))];
    evidence.extend(sig.note.as_deref().map(Evidence::note));
    evidence.push(Evidence::consent(why));
    let mut f = snippet_finding(
        hit.line,
        sig.kind,
        entity,
        &sig.tag,
        &sig.id,
        hit.account.clone(),
        consent,
        evidence,
    );
    f.attribute = "markup".into();
    f.element = "html".into();
    f
}

#[allow(clippy::too_many_arguments)]
fn snippet_finding(
    line: u64,
    kind: EndpointKind,
    entity: &crate::rules::Entity,
    tag: &str,
    rule: &str,
    account: String,
    consent: Consent,
    evidence: Vec<Evidence>,
) -> Finding {
    let kind = match kind {
        EndpointKind::Beacon => Kind::Beacon,
        EndpointKind::AdConversion => Kind::AdConversion,
        EndpointKind::OpenPixel => Kind::OpenPixel,
        _ => Kind::TrackerScript,
    };
    let host = entity
        .domains
        .first()
        .map(|d| d.trim_start_matches("*.").to_string())
        .unwrap_or_default();
    Finding {
        message: format!(
            "{tag} ({}) initialised inline with account {account}: it loads the vendor's code and reports visits{}.",
            entity.name,
            if consent == Consent::Ungated { ", without consent" } else { "" }
        ),
        tracking: true,
        entity: Some(entity.name.clone()),
        company: entity.company.clone(),
        category: entity.category.clone(),
        registrable_domain: (!host.is_empty()).then(|| registrable(&host)),
        rule: Some(rule.to_string()),
        tier: Some(Tier::HostRule),
        evidence,
        leaks: Leaks { ip: true, user_agent: true, cookies: true, referrer: true, identifiers: Vec::new() },
        line: Some(line),
        account: Some(account),
        consent: Some(consent),
        ..Finding::new(String::new(), "script".into(), "inline".into(), kind, host, Party::Third)
    }
}
