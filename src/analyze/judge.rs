//! One distinct request through the concerns in order: who runs it and whether a filter list
//! names it (`attribute`), what in its URL names a person (`identifiers`, verified by `mail`
//! or relabelled by `site`), what kind of request it is and whether it tracks (`classify`),
//! then what it leaks and says (`explain`), into one [`Finding`]. Only tracking requests have
//! their tokens decoded for display: it is the costliest step.

use url::Url;

use super::attribute::{self, attribute, tracking_category, Attribution, HostFacts};
use super::classify::{classify, is_hiding, Facts, Verdict};
use super::explain;
use super::identifiers::{self, Slots, UrlIdentifiers};
use super::{mail, site, Context, Mode};
use crate::extract::vectors;
use crate::model::{Decoded, Evidence, Finding, Identifier, Party, RawRef, RefRole};

/// Judges one request (`count` references to the same URL in the same role); `None` for a
/// link nothing marks.
pub(super) fn judge(
    r: &RawRef,
    url: Url,
    wrapped: Option<&'static str>,
    count: u32,
    host: &HostFacts,
    ctx: &Context<'_>,
    links: &mail::Links<'_>,
) -> Option<Finding> {
    let attr = attribute(r, &url, host, ctx);
    let rule_params: &[String] = attr
        .endpoint
        .map(|m| m.endpoint.identifiers.as_slice())
        .unwrap_or_default();
    let slots = identifiers::slots(&url);
    let image = vectors::is_image(&r.element, &r.attribute);
    let (ids, verified_why, tracking_path) =
        identify(r, &url, &slots, rule_params, image, ctx, links);
    let hiding: Vec<&String> = r.hidden.iter().filter(|e| is_hiding(e)).collect();
    // Room for the hiding evidence plus the usual rule, identifier and note lines.
    let mut evidence: Vec<Evidence> = Vec::with_capacity(r.hidden.len() + 4);
    evidence.extend(hiding.iter().map(|s| Evidence::note(s.as_str())));
    evidence.extend(
        r.hidden
            .iter()
            .filter(|e| !is_hiding(e))
            .map(|e| Evidence::note(e.as_str())),
    );
    evidence.extend(verified_why.into_iter().map(Evidence::note));
    let category = attr.category(ctx.rules, host.party, ctx.mode);
    let facts = Facts {
        r,
        url: &url,
        mode: ctx.mode,
        party: host.party,
        count,
        image,
        endpoint: attr.endpoint.map(|m| m.endpoint),
        listed: attr.listed.is_some(),
        category,
        trackerish: tracking_category(category),
        ids: &ids.identifiers,
        has_recipient: ids.has_recipient(),
        has_token: !ids.identifiers.is_empty(),
        personal: ids
            .identifiers
            .iter()
            .any(|i| identifiers::is_personal(i.kind)),
        tracking_path,
        hidden: !hiding.is_empty(),
        // In mail, a hidden wrapper alone is not evidence (see analyze::mail).
        own_hiding: hiding.iter().any(|e| !mail::is_ancestor_hiding(e)),
        sent_by_platform: ctx.sent_by_platform,
    };
    let verdict = classify(&facts, &mut evidence)?;
    explain::attribution_lines(&attr, ctx.rules, &host.host, &mut evidence);
    explain::request_lines(count, wrapped, &ids.identifiers, &mut evidence);
    // Decoding every token for display is the costliest step; only tracking URLs need it.
    let decoded = if verdict.tracking {
        identifiers::decode_all_in(&slots)
    } else {
        Vec::new()
    };
    let judged = Judged {
        r,
        url,
        wrapped,
        count,
        host,
        attr,
        verdict,
        ids: ids.identifiers,
        evidence,
        decoded,
    };
    Some(finding(judged, ctx))
}

/// The identifiers in the request's URL, upgraded on evidence: in mail, tokens verified
/// against the message's links (with the reasons); on a page, visitor ids. Also whether the
/// URL has an open-tracking shape (mail loads that are pictures).
fn identify(
    r: &RawRef,
    url: &Url,
    slots: &Slots<'_>,
    rule_params: &[String],
    image: bool,
    ctx: &Context<'_>,
    links: &mail::Links<'_>,
) -> (UrlIdentifiers, Vec<String>, bool) {
    let mut ids = identifiers::find_in(slots, &ctx.recipients, rule_params);
    // A link's tokens would "recur" in itself: only what loads on display is verified.
    // Computed once: the shape guards several branches of the classification.
    let tracking_path =
        ctx.mode == Mode::Mail && r.role == RefRole::Load && image && mail::open_tracking_path(url);
    let verified_why = if ctx.mode == Mode::Mail && r.role != RefRole::Link {
        mail::verify(
            &mut ids.identifiers,
            url,
            links,
            ctx.sender.as_deref(),
            tracking_path,
        )
    } else {
        Vec::new()
    };
    if ctx.mode == Mode::Site {
        site::visitor_ids(&mut ids.identifiers);
    }
    (ids, verified_why, tracking_path)
}

/// A request judged: what the finding is built from.
struct Judged<'a, 'r> {
    r: &'a RawRef,
    url: Url,
    wrapped: Option<&'static str>,
    count: u32,
    host: &'a HostFacts,
    attr: Attribution<'r>,
    verdict: Verdict,
    ids: Vec<Identifier>,
    evidence: Vec<Evidence>,
    decoded: Vec<Decoded>,
}

/// The finding: where a tracked link leads, the page's account and consent, what the
/// request leaks, and the message.
fn finding(j: Judged<'_, '_>, ctx: &Context<'_>) -> Finding {
    let Judged {
        r,
        url,
        host,
        attr,
        verdict,
        mut ids,
        mut evidence,
        ..
    } = j;
    let rules = ctx.rules;
    // Click trackers often seal the destination inside their token (Mailgun `l=`,
    // Customer.io `"href"`): lift it out so the report says where a click really goes.
    let mut target = verdict.target;
    if r.role == RefRole::Link && target.is_none() {
        target = j.decoded.iter().find_map(|d| explain::target_in(&d.text));
    }
    let entity = attr.entity.map(|e| rules.entity(e));
    let account = (ctx.mode == Mode::Site)
        .then(|| attribute::account(rules, &url, &ids, ctx))
        .flatten();
    if let Some(a) = &account {
        explain::account_named(a, &mut ids, &mut evidence);
    }
    let leaks = explain::leaks(r, host.party, ctx, ids);
    // Consent matters for every third-party request (an embedded video sets cookies too),
    // and for any first-party request that tracks.
    let consent = (ctx.mode == Mode::Site && (verdict.tracking || host.party == Party::Third))
        .then(|| {
            let entity = entity.map(|e| e.name.as_str());
            let (state, why) = site::consent_for(r, entity, ctx.consent.as_ref(), rules);
            evidence.push(Evidence::consent(why));
            state
        });
    let who = entity.map_or(host.host.as_str(), |e| e.name.as_str());
    let message = explain::message(
        verdict.kind,
        verdict.tracking,
        who,
        &host.host,
        target.as_deref(),
        &leaks,
        ctx.mode,
    );
    let url: String = url.into();
    let raw = r.url.trim();
    let raw_url = (raw != url).then(|| raw.to_string());
    Finding {
        message,
        raw_url,
        tracking: verdict.tracking,
        entity: entity.map(|e| e.name.clone()),
        company: entity.and_then(|e| e.company.clone()),
        category: entity.and_then(|e| e.category.clone()),
        registrable_domain: Some(host.registrable.clone()),
        rule: attr.endpoint.map(|m| m.endpoint.id.clone()),
        tier: attr.tier,
        evidence,
        leaks,
        decoded: j.decoded,
        wrapped_by: j.wrapped.map(str::to_string),
        target,
        occurrences: j.count,
        line: Some(r.line),
        column: r.column,
        account,
        consent,
        ..Finding::new(
            url,
            r.element.clone(),
            r.attribute.clone(),
            verdict.kind,
            host.host.clone(),
            host.party,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze::{analyze, Context, Mode};
    use crate::filters::FilterLists;
    use crate::model::{Evidence, Finding, Kind, RawRef, RefRole};
    use crate::rules::Ruleset;

    fn reference(url: &str, element: &str, role: RefRole, size: Option<f64>) -> RawRef {
        RawRef {
            url: url.into(),
            element: element.into(),
            attribute: if matches!(element, "a" | "link") {
                "href"
            } else {
                "src"
            }
            .into(),
            role,
            hidden: Vec::new(),
            width: size,
            height: size,
            line: 1,
            column: None,
            extra: Vec::new(),
        }
    }

    fn judged(mode: Mode, lists: Option<&FilterLists>, r: RawRef) -> Option<Finding> {
        let rules = Ruleset::embedded().unwrap();
        let ctx = Context {
            rules: &rules,
            filters: lists,
            page: (mode == Mode::Site).then_some("https://news.example/"),
            mode,
            first_party: vec!["news.example".into()],
            recipients: Vec::new(),
            base: None,
            sent_by_platform: false,
            referrer_sent: true,
            consent: None,
            known_accounts: Vec::new(),
            sender: None,
            archive_copy: false,
        };
        analyze(&[r], &ctx).findings.pop()
    }

    #[test]
    fn a_listed_request_is_judged_as_tracking() {
        let lists = FilterLists::from_text("list.txt", "||adnet.example^\n");
        let banner = || {
            reference(
                "https://img.adnet.example/b.png",
                "img",
                RefRole::Load,
                Some(600.0),
            )
        };
        let plain = judged(Mode::Mail, None, banner()).unwrap();
        assert_eq!((plain.kind, plain.tracking), (Kind::RemoteImage, false));
        let cases = [
            (
                Mode::Mail,
                banner(),
                Kind::TrackedImage,
                "Tracked image (img.adnet.example)",
            ),
            (
                Mode::Mail,
                reference(
                    "https://img.adnet.example/p.gif",
                    "img",
                    RefRole::Load,
                    None,
                ),
                Kind::OpenPixel,
                "Open-tracking pixel",
            ),
            (
                Mode::Site,
                reference(
                    "https://img.adnet.example/p.gif",
                    "img",
                    RefRole::Load,
                    Some(1.0),
                ),
                Kind::Beacon,
                "Tracking beacon",
            ),
            (
                Mode::Site,
                reference(
                    "https://js.adnet.example/t.js",
                    "script",
                    RefRole::Script,
                    None,
                ),
                Kind::TrackerScript,
                "Tracker script",
            ),
            (
                Mode::Site,
                reference(
                    "https://ads.adnet.example/f.html",
                    "iframe",
                    RefRole::Load,
                    None,
                ),
                Kind::Beacon,
                "Tracking beacon",
            ),
        ];
        for (mode, r, kind, message) in cases {
            let f = judged(mode, Some(&lists), r).unwrap();
            assert_eq!((f.kind, f.tracking), (kind, true), "{f:?}");
            assert!(f.message.starts_with(message), "{}", f.message);
            assert!(f
                .evidence
                .contains(&Evidence::note("filter list list.txt: ||adnet.example^")));
        }
        // Links and hints fetch nothing until followed: no list decides them.
        let link = reference("https://go.adnet.example/c", "a", RefRole::Link, None);
        assert!(judged(Mode::Mail, Some(&lists), link).is_none());
        let hint = reference("https://cdn.adnet.example/", "link", RefRole::Hint, None);
        let f = judged(Mode::Site, Some(&lists), hint).unwrap();
        assert_eq!((f.kind, f.tracking), (Kind::DnsPrefetch, false));
    }
}
