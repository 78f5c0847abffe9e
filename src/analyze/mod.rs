//! Stage 3: raw references → findings. Resolves and unwraps URLs, matches rules, finds
//! identifiers, and judges what each request is and what it leaks. Shared by `eml` and
//! `site`: the mode only changes what a browser or mail client would send along. `runtime`
//! judges what a real browser requested (`--browser`) with the same analysis.

pub mod decode;
pub mod identifiers;
pub mod mail;
pub mod runtime;
pub mod site;
pub mod unwrap;

use rustc_hash::FxHashMap;
use url::Url;

use crate::domain::{lower_host, registrable};
use crate::extract::vectors;
use crate::model::{Finding, Kind, Leaks, Party, RawRef, RefRole, Tier};
use crate::rules::{EndpointKind, EndpointMatch, Ruleset};
pub use identifiers::Recipient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Mail clients send no cookies or referrer with images; links open in a browser.
    Mail,
    /// A browser sends cookies (where allowed) and a referrer per the page's policy.
    Site,
}

pub struct Context<'a> {
    pub rules: &'a Ruleset,
    pub mode: Mode,
    /// Registrable domains treated as first party.
    pub first_party: Vec<String>,
    pub recipients: Vec<Recipient>,
    /// Base URL for relative references (site mode); mail has none.
    pub base: Option<Url>,
    /// Mail: the headers name a bulk-sending platform (an opaque token in a link is then a
    /// per-click token). Headers never name a request: they are forged freely.
    pub sent_by_platform: bool,
    /// Site mode: whether requests from this page carry its URL as referrer.
    pub referrer_sent: bool,
    /// Site mode: consent platforms and defaults found on the page.
    pub consent: Option<site::ConsentState>,
    /// Site mode: account ids found in the page's tag snippets.
    pub known_accounts: Vec<String>,
    /// Mail: the sender's address (From), lowercased; an address in a URL that is not the
    /// sender's is taken as the recipient's.
    pub sender: Option<String>,
    /// Site mode: the page is a Wayback Machine copy; archive URLs
    /// (`web.archive.org/web/<ts><flag>/<original>`) are judged as the original request.
    pub archive_copy: bool,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub untracked_links: u32,
    /// References that are not remote requests (cid:, data:, mailto:, relative in mail).
    pub skipped_refs: u32,
}

/// Categories whose requests exist to observe people.
fn tracking_category(cat: Option<&str>) -> bool {
    matches!(
        cat,
        Some(
            "ad" | "analytics"
                | "email-marketing"
                | "sales-tracking"
                | "social"
                | "marketing"
                | "customer-success"
                | "tag-manager"
        )
    )
}

/// Resolves a reference to an absolute http(s) URL, or `None` if it is not a remote request.
pub fn resolve(raw: &str, base: Option<&Url>) -> Option<Url> {
    let s = raw.trim();
    if s.is_empty() || s.starts_with('#') {
        return None;
    }
    for scheme in [
        "data:",
        "cid:",
        "mailto:",
        "tel:",
        "sms:",
        "javascript:",
        "about:",
        "blob:",
        "mid:",
    ] {
        if s.len() >= scheme.len()
            && s.as_bytes()[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            return None;
        }
    }
    let url = if s.starts_with("//") {
        match base {
            Some(b) => b.join(s).ok()?,
            None => Url::parse(&format!("https:{s}")).ok()?,
        }
    } else {
        match Url::parse(s) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(s).ok()?,
            Err(_) => return None,
        }
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// Evidence strings that describe context, not invisibility.
fn is_hiding(e: &str) -> bool {
    e != "inside <noscript>" && e != "in Outlook conditional comment"
}

struct SiteImage<'a, 'e> {
    r: &'a RawRef,
    url: &'a Url,
    party: Party,
    trackerish_entity: bool,
    ad_or_analytics: bool,
    personal: bool,
    own_hiding: bool,
    evidence: &'e mut Vec<String>,
}

/// An image on a web page with no endpoint rule. Pages hide content all the time
/// (carousels, tabs, menus, lazy galleries), so hiding alone never makes an image a beacon.
/// What does: a tiny declared size, or hiding together with something in the URL that varies
/// per visitor or page view; a visitor id in a third party's URL; a tracking company's image
/// that carries such parameters. The site's own images are not trackers without a rule.
fn site_image(i: SiteImage<'_, '_>) -> (Kind, bool) {
    if i.party == Party::First && !i.trackerish_entity {
        return (Kind::RemoteImage, false);
    }
    let tiny = mail::tiny(i.r);
    let shape = mail::open_tracking_path(i.url);
    let varies = i.personal || shape || mail::query_varies(i.url);
    if spacer_name(i.url) && !i.personal {
        i.evidence
            .push("a spacer image with nothing per visitor in its URL".to_string());
        return (Kind::RemoteImage, false);
    }
    if i.trackerish_entity {
        // Ad and analytics hosts report with their parameters; a social network's or a
        // widget's image (an avatar, a logo) needs a visitor id or a pixel's size.
        let tracking = if i.ad_or_analytics {
            varies || tiny
        } else {
            i.personal || tiny || shape
        };
        return (
            if tracking {
                Kind::Beacon
            } else {
                Kind::RemoteImage
            },
            tracking,
        );
    }
    if i.personal && !tiny && content_image(i.r, i.url) {
        // `…/2015/01/27/Graphics/tunisia600.jpg?uuid=…`: the id names the picture.
        i.evidence.push(
            "a content image (a picture's file name or a drawn size): the id in its URL names the asset, not the visitor"
                .to_string(),
        );
        return (Kind::RemoteImage, false);
    }
    if i.personal {
        i.evidence
            .push("a third party's image whose URL carries a visitor id".to_string());
        return (Kind::Beacon, true);
    }
    if (tiny || i.own_hiding) && varies {
        return (Kind::Beacon, true);
    }
    (Kind::RemoteImage, false)
}

/// A picture rather than a beacon: drawn at a size people see, or an image file whose name
/// is words (`tunisia600.jpg`, `team-photo_2x.png`), not an endpoint (`pixel.gif`, `b.png`) or
/// a token (`52ce05af-….png`).
fn content_image(r: &RawRef, url: &Url) -> bool {
    (r.width.is_some_and(|w| w >= 30.0) && r.height.is_some_and(|h| h >= 30.0)) || picture_name(url)
}

/// An image file named in words (`eflogomobile.jpg`, `tunisia600.jpg`), not an endpoint
/// (`pixel.gif`, `b.png`) or a token (`52ce05af-….png`).
fn picture_name(url: &Url) -> bool {
    let file = url.path().rsplit('/').next().unwrap_or("");
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    if !matches!(
        ext.to_ascii_lowercase().as_str(),
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "avif"
    ) {
        return false;
    }
    if mail::endpoint_word(stem) {
        return false;
    }
    // A word: five letters in a row, vowels among them (hex and base64 runs rarely read so).
    stem.split(|c: char| !c.is_ascii_alphabetic()).any(|w| {
        w.len() >= 5
            && w.chars()
                .filter(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u'))
                .count()
                >= 2
            && !w.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// When a `<style>` rule loads only on a reader's action (`print`, `forward`,
/// `read-duration`), as the extractor marked it.
fn css_trigger(r: &RawRef) -> Option<&str> {
    r.extra
        .iter()
        .find(|(k, _)| k == "css-trigger")
        .map(|(_, v)| v.as_str())
}

/// An image from an ad or analytics company. On a page it reports the visit; in mail such
/// companies' domains also serve plain content (logos, photos), so it counts only when the
/// URL carries something per reader or per send.
fn ad_request(category: Option<&str>, url: &Url, personal: bool, mode: Mode) -> bool {
    matches!(category, Some("ad" | "analytics"))
        && (mode == Mode::Site || personal || mail::query_varies(url))
}

fn spacer_name(url: &Url) -> bool {
    let file = url
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let stem = file.split('.').next().unwrap_or("");
    matches!(
        stem,
        "spacer"
            | "blank"
            | "clear"
            | "transparent"
            | "trans"
            | "s"
            | "dot"
            | "shim"
            | "space"
            | "empty"
            | "1x1"
            | "pixel_spacer"
            | "spc"
    ) || stem.starts_with("spacer")
}

pub fn analyze(refs: &[RawRef], ctx: &Context<'_>) -> Analysis {
    let mut out = Analysis::default();
    // One finding per distinct request: a spacer used 20 times is one finding seen 20 times.
    let mut groups: Vec<(usize, Url, Option<&'static str>, u32)> = Vec::new();
    let mut index: FxHashMap<(String, RefRole), usize> = FxHashMap::default();
    // The same text seen again needs no second parse: its group, or `None` if skipped.
    let mut by_text: FxHashMap<(&str, RefRole), Option<usize>> = FxHashMap::default();
    for (i, r) in refs.iter().enumerate() {
        let text = r.url.trim();
        if let Some(&known) = by_text.get(&(text, r.role)) {
            match known {
                Some(g) => groups[g].3 += 1,
                None => out.skipped_refs += 1,
            }
            continue;
        }
        let Some(url) = resolve(text, ctx.base.as_ref()) else {
            out.skipped_refs += 1;
            by_text.insert((text, r.role), None);
            continue;
        };
        let (url, wrapped) = unwrap::unwrap(url);
        let (url, wrapped) = match ctx.archive_copy.then(|| unwrap::wayback(&url)).flatten() {
            Some(original) => (original, Some(unwrap::WAYBACK)),
            None => (url, wrapped),
        };
        let g = match index.entry((url.as_str().to_owned(), r.role)) {
            std::collections::hash_map::Entry::Occupied(g) => {
                groups[*g.get()].3 += 1;
                *g.get()
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(groups.len());
                groups.push((i, url, wrapped, 1));
                groups.len() - 1
            }
        };
        by_text.insert((text, r.role), Some(g));
    }
    let links = if ctx.mode == Mode::Mail {
        mail::link_tokens(refs)
    } else {
        Default::default()
    };
    // A message's ~75 URLs sit on a handful of hosts: look each host up once.
    let mut hosts: FxHashMap<String, HostFacts> = FxHashMap::default();
    for (i, url, wrapped, count) in groups {
        let key = lower_host(url.host_str().unwrap_or(""));
        let facts = match hosts.get(&*key) {
            Some(f) => f,
            None => hosts
                .entry(key.into_owned())
                .or_insert_with_key(|h| HostFacts::new(h, ctx)),
        };
        match judge(&refs[i], url, wrapped, count, facts, ctx, &links) {
            Some(f) => out.findings.push(f),
            None => out.untracked_links += 1,
        }
    }
    out
}

/// What depends on a request's host alone.
struct HostFacts {
    host: String,
    registrable: String,
    party: Party,
    /// Host-rule endpoints that name this host.
    candidates: Vec<usize>,
    entity: Option<usize>,
    cname: Option<usize>,
}

impl HostFacts {
    fn new(host: &str, ctx: &Context<'_>) -> HostFacts {
        let registrable = registrable(host);
        let party = if ctx.first_party.contains(&registrable) {
            Party::First
        } else {
            Party::Third
        };
        HostFacts {
            host: host.to_string(),
            party,
            registrable,
            candidates: ctx.rules.host_candidates(host),
            entity: ctx.rules.entity_for_host(host),
            cname: ctx.rules.cname_entity(host),
        }
    }
}

/// Attribution of a URL: endpoint rule, entity, and the tier that named it.
struct Attribution<'r> {
    endpoint: Option<EndpointMatch<'r>>,
    /// Set when the rule matched a URL embedded in this one, not the URL itself: where it
    /// sits (`query:<param>` or `path`).
    via_param: Option<String>,
    entity: Option<usize>,
    tier: Option<Tier>,
}

fn attribute<'r>(url: &Url, facts: &HostFacts, rules: &'r Ruleset, mode: Mode) -> Attribution<'r> {
    let mut endpoint = rules.match_endpoint_on(url, &facts.host, &facts.candidates);
    let mut via_param = None;
    if endpoint.is_none() {
        for (param, inner) in unwrap::embedded_urls(url) {
            if let Some(m) = rules.match_endpoint(&inner) {
                endpoint = Some(m);
                via_param = Some(param);
                break;
            }
        }
    }
    if let Some(m) = endpoint {
        // A path-shape rule on the platform's own domain is as strong as a host rule.
        let own_host = m.endpoint.entity.is_some() && facts.entity == m.endpoint.entity;
        let tier = if m.by_host || own_host {
            Tier::HostRule
        } else {
            Tier::PathShape
        };
        // A URL shape says what the request is; who receives it is the host's owner when the
        // host is known (Klaviyo's klclick.com runs on SparkPost-shaped URLs).
        // Hosting and CDN owners only carry the request, so the shape's platform stays.
        let carrier = |e: usize| {
            matches!(
                rules.entity(e).category.as_deref(),
                Some("cdn" | "hosting" | "utility" | "other" | "content") | None
            )
        };
        // A shape without a vendor names the host's owner in any mode.
        if tier == Tier::PathShape
            && via_param.is_none()
            && (mode == Mode::Mail || m.endpoint.entity.is_none())
        {
            if let Some((e, t)) = facts
                .entity
                .map(|e| (e, Tier::EntityDomain))
                .or(facts.cname.map(|e| (e, Tier::Cname)))
                .filter(|(e, _)| !carrier(*e))
            {
                return Attribution {
                    endpoint,
                    via_param,
                    entity: Some(e),
                    tier: Some(t),
                };
            }
        }
        return Attribution {
            endpoint,
            via_param,
            entity: m.endpoint.entity,
            tier: m.endpoint.entity.map(|_| tier),
        };
    }
    if let Some(e) = facts.entity {
        return Attribution {
            endpoint: None,
            via_param,
            entity: Some(e),
            tier: Some(Tier::EntityDomain),
        };
    }
    if let Some(e) = facts.cname {
        return Attribution {
            endpoint: None,
            via_param,
            entity: Some(e),
            tier: Some(Tier::Cname),
        };
    }
    Attribution {
        endpoint: None,
        via_param,
        entity: None,
        tier: None,
    }
}

fn judge(
    r: &RawRef,
    url: Url,
    wrapped: Option<&'static str>,
    count: u32,
    facts: &HostFacts,
    ctx: &Context<'_>,
    links: &mail::Links<'_>,
) -> Option<Finding> {
    let rules = ctx.rules;
    let host = &facts.host;
    let party = facts.party;
    let attr = attribute(&url, facts, rules, ctx.mode);
    let rule_params: &[String] = attr
        .endpoint
        .map(|m| m.endpoint.identifiers.as_slice())
        .unwrap_or_default();
    let slots = identifiers::slots(&url);
    let mut ids = identifiers::find_in(&slots, &ctx.recipients, rule_params);
    // A link's tokens would "recur" in itself: only what loads on display is verified.
    // Computed once: the shape guards several branches below.
    let tracking_path = ctx.mode == Mode::Mail
        && r.role == RefRole::Load
        && vectors::is_image(&r.element, &r.attribute)
        && mail::open_tracking_path(&url);
    let verified_why = if ctx.mode == Mode::Mail && r.role != RefRole::Link {
        mail::verify(
            &mut ids.identifiers,
            &url,
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
    let has_recipient = ids.has_recipient();
    let has_token = !ids.identifiers.is_empty();
    // A token tied to one reader: the recipient's address, or a token verified above.
    let personal = ids
        .identifiers
        .iter()
        .any(|i| identifiers::is_personal(i.kind));

    let hiding: Vec<&String> = r.hidden.iter().filter(|e| is_hiding(e)).collect();
    // In mail, a hidden wrapper alone is not evidence (see analyze::mail).
    let own_hiding = hiding.iter().any(|e| !mail::is_ancestor_hiding(e));
    // Room for the hiding evidence plus the usual rule, identifier and note lines.
    let mut evidence: Vec<String> = Vec::with_capacity(r.hidden.len() + 4);
    evidence.extend(hiding.iter().map(|s| s.to_string()));
    evidence.extend(r.hidden.iter().filter(|e| !is_hiding(e)).cloned());
    evidence.extend(verified_why);
    let category = attr
        .entity
        .and_then(|e| rules.entity(e).category.as_deref());
    // A site's own company on its own pages (Spiceworks' scripts on spiceworks.com) serves
    // the site, not a tracker: only an endpoint rule (self-hosted analytics) makes it one.
    let own_company = ctx.mode == Mode::Site
        && party == Party::First
        && attr.tier == Some(Tier::EntityDomain)
        && attr.endpoint.is_none();
    // What the company does, as far as this request's judgement goes.
    let category = if own_company { None } else { category };
    let trackerish_entity = tracking_category(category);

    let endpoint_kind = attr.endpoint.map(|m| m.endpoint.kind);
    let mut target = None;
    let (kind, tracking) = match r.role {
        RefRole::Link => {
            if let Some(m) = attr.endpoint {
                if let Some(p) = &m.endpoint.target_param {
                    target = url
                        .query_pairs()
                        .find(|(k, _)| k == p.as_str())
                        .map(|(_, v)| v.into_owned());
                }
            }
            if target.is_none() {
                target = unwrap::embedded_urls(&url)
                    .into_iter()
                    .next()
                    .map(|(_, u)| u.to_string());
            }
            let opaque_token = ids
                .identifiers
                .iter()
                .any(|i| i.kind == "recipient-token" || i.kind == identifiers::UNVERIFIED);
            if endpoint_kind.is_some() || has_recipient || (trackerish_entity && opaque_token) {
                (Kind::TrackedLink, true)
            } else if opaque_token
                && ctx.mode == Mode::Mail
                && (target.is_some() || ctx.sent_by_platform)
            {
                evidence.push("opaque per-click token in the URL".to_string());
                (Kind::TrackedLink, true)
            } else {
                return None;
            }
        }
        // A hint resolves a host; no request carries anything: reported, never tracking.
        RefRole::Hint => (Kind::DnsPrefetch, false),
        RefRole::Script => match endpoint_kind {
            Some(_) => (Kind::TrackerScript, true),
            None => (
                if trackerish_entity {
                    Kind::TrackerScript
                } else {
                    Kind::RemoteResource
                },
                trackerish_entity,
            ),
        },
        RefRole::Load => {
            let image = vectors::is_image(&r.element, &r.attribute);
            match endpoint_kind {
                Some(EndpointKind::OpenPixel) => (Kind::OpenPixel, true),
                Some(EndpointKind::Beacon) => (Kind::Beacon, true),
                Some(EndpointKind::AdConversion) => (Kind::AdConversion, true),
                Some(EndpointKind::TrackerScript) => (Kind::TrackerScript, true),
                Some(EndpointKind::ClickRedirect) => (
                    if image {
                        Kind::TrackedImage
                    } else {
                        Kind::RemoteResource
                    },
                    true,
                ),
                None if r.element == "meta" => (Kind::MetaRefresh, has_token || trackerish_entity),
                // A stylesheet rule that loads only on a reader's action is there to observe it.
                None if ctx.mode == Mode::Mail && css_trigger(r).is_some() => {
                    let why = match css_trigger(r) {
                        Some("print") => "loads only when the message is printed (@media print)",
                        Some("forward") => {
                            "loads only when the message is quoted in a reply or forward"
                        }
                        _ => "loads only after the message stays open a while (animation step)",
                    };
                    evidence.push(format!("CSS tracker: {why}"));
                    (Kind::OpenPixel, true)
                }
                None if image
                    && ctx.mode == Mode::Mail
                    && (!own_hiding || mail::tiny(r))
                    && (personal || tracking_path) =>
                {
                    if !personal {
                        evidence.push("open-tracking path: a tracking word as a path segment or file, with an id".to_string());
                    }
                    // Visible content fetched through a tracker; sizeless or hidden: a pixel.
                    if mail::visible_size(r) && hiding.is_empty() {
                        (Kind::TrackedImage, true)
                    } else {
                        (Kind::OpenPixel, true)
                    }
                }
                None if image && !hiding.is_empty() && !own_hiding => {
                    evidence.push("hidden by a wrapper only (responsive templates hide whole copies): not evidence of tracking alone".to_string());
                    (
                        Kind::RemoteImage,
                        ad_request(category, &url, personal, ctx.mode),
                    )
                }
                // Hidden by its own style but drawn at a normal size, with nothing that tells
                // readers apart: the other copy of a responsive template, not a pixel.
                None if image
                    && ctx.mode == Mode::Mail
                    && !hiding.is_empty()
                    && !mail::tiny(r)
                    && !personal
                    && !mail::query_varies(&url)
                    && !tracking_path =>
                {
                    evidence.push("hidden, but not tiny, with nothing in the URL that tells readers apart: hidden content, not a pixel".to_string());
                    (
                        Kind::RemoteImage,
                        ad_request(category, &url, personal, ctx.mode),
                    )
                }
                None if image && ctx.mode == Mode::Site => site_image(SiteImage {
                    r,
                    url: &url,
                    party,
                    trackerish_entity,
                    ad_or_analytics: matches!(category, Some("ad" | "analytics")),
                    personal,
                    own_hiding,
                    evidence: &mut evidence,
                }),
                None if image && !hiding.is_empty() => {
                    // A file named for layout (`spacer.png`) under a template's asset
                    // folder (`/images/<hash>/…/spacer.png`) is a spacer unless a token in it
                    // is shown to be the reader's.
                    // Nothing per reader and a picture's name (`eflogomobile.jpg` in the
                    // hidden mobile copy of a template): content, hidden by the layout.
                    let spacer = (!has_token
                        && (count >= 3
                            || (party == Party::First && !trackerish_entity)
                            || (picture_name(&url) && !tracking_path)))
                        || (spacer_name(&url) && !personal && !tracking_path);
                    if spacer {
                        evidence.push(format!(
                            "no per-recipient identifier{}: a layout spacer, not a pixel",
                            if count > 1 {
                                format!(", same image used {count} times")
                            } else {
                                String::new()
                            }
                        ));
                        (Kind::RemoteImage, false)
                    } else {
                        if !has_token {
                            evidence.push("no identifier in the URL: the request still reveals IP, time and client".to_string());
                        }
                        (Kind::OpenPixel, true)
                    }
                }
                None if image && has_recipient => (Kind::TrackedImage, true),
                None if image => (
                    Kind::RemoteImage,
                    ad_request(category, &url, personal, ctx.mode),
                ),
                None => (
                    Kind::RemoteResource,
                    has_recipient || matches!(category, Some("ad" | "analytics")),
                ),
            }
        }
    };

    // The headers name the sending platform (`platforms`), never a request: headers are
    // forged freely, and a platform's own requests are named by its endpoint rules.
    if let Some(m) = attr.endpoint {
        let tier = if attr.tier == Some(Tier::HostRule) {
            "host"
        } else {
            "path-shape"
        };
        let (via, via_param) = match attr.via_param.as_deref() {
            Some(p) => (" (URL embedded in ", p),
            None => ("", ""),
        };
        let (dash, note) = match m.endpoint.note.as_deref() {
            Some(n) => (" — ", n),
            None => ("", ""),
        };
        evidence.push(concat(&[
            "rule ",
            &m.endpoint.id,
            " (",
            tier,
            ")",
            via,
            via_param,
            if via.is_empty() { "" } else { ")" },
            dash,
            note,
        ]));
    } else if let (Some(e), Some(t @ (Tier::EntityDomain | Tier::Cname))) = (attr.entity, attr.tier)
    {
        evidence.push(format!("{}: {host} → {}", t.as_str(), rules.entity(e).name));
    }
    if count > 1 && !evidence.iter().any(|e| e.contains("times")) {
        evidence.push(format!("same URL used {count} times"));
    }
    if let Some(w) = wrapped {
        evidence.push(format!("unwrapped from {w}"));
    }
    for id in &ids.identifiers {
        let line = concat(&[id.kind, " in ", &id.location, " (", id.encoding, ")"]);
        if !evidence.contains(&line) {
            evidence.push(line);
        }
    }

    // Decoding every token for display is the costliest step; only tracking URLs need it.
    let decoded = if tracking {
        identifiers::decode_all_in(&slots)
    } else {
        Vec::new()
    };
    // Click trackers often seal the destination inside their token (Mailgun `l=`,
    // Customer.io `"href"`): lift it out so the report says where a click really goes.
    if r.role == RefRole::Link && target.is_none() {
        target = decoded.iter().find_map(|d| target_in(&d.text));
    }
    let entity = attr.entity.map(|e| rules.entity(e));
    let mut identifiers = ids.identifiers;
    let mut account = None;
    let mut consent = None;
    let mut kind = kind;
    if ctx.mode == Mode::Site {
        account = site::account_from_url(rules, url.as_str()).or_else(|| {
            identifiers
                .iter()
                .find(|i| ctx.known_accounts.contains(&i.value))
                .map(|i| i.value.clone())
        });
        // A tag's account id in its URL names the site owner's account, not the visitor.
        if let Some(a) = &account {
            identifiers.retain(|i| &i.value != a);
            evidence.retain(|e| !e.starts_with("recipient-token in "));
            for id in &identifiers {
                evidence.push(format!("{} in {} ({})", id.kind, id.location, id.encoding));
            }
        }
        // "Open" is a mail notion; on a page a tiny tracking image is a beacon.
        if kind == Kind::OpenPixel {
            kind = Kind::Beacon;
        }
        // The same pixel endpoint reports page views and purchases; the event says which.
        if kind == Kind::Beacon && site::conversion_event(&url) {
            kind = Kind::AdConversion;
        }
    }
    let mut leaks = leaks(r.role, party, ctx, identifiers);
    if ctx.mode == Mode::Site {
        // An element's own referrerpolicy overrides the page's.
        if let Some((_, p)) = r.extra.iter().find(|(k, _)| k == "referrerpolicy") {
            leaks.referrer = party == Party::Third && site::referrer_sends(p) != "none";
        }
        // Consent matters for every third-party request (an embedded video sets cookies
        // too), and for any first-party request that tracks.
        if tracking || party == Party::Third {
            let (state, why) = site::consent_for(
                r,
                entity.map(|e| e.name.as_str()),
                ctx.consent.as_ref(),
                rules,
            );
            consent = Some(state);
            evidence.push(why);
        }
    }
    let who = entity.map_or(host.as_str(), |e| e.name.as_str());
    let message = message(
        kind,
        tracking,
        who,
        host,
        target.as_deref(),
        &leaks,
        ctx.mode,
    );
    let url: String = url.into();
    let raw = r.url.trim();
    let raw_url = (raw != url).then(|| raw.to_string());
    Some(Finding {
        message,
        url,
        raw_url,
        element: r.element.clone(),
        attribute: r.attribute.clone(),
        kind,
        tracking,
        entity: entity.map(|e| e.name.clone()),
        company: entity.and_then(|e| e.company.clone()),
        category: entity.and_then(|e| e.category.clone()),
        party,
        host: host.clone(),
        registrable_domain: Some(facts.registrable.clone()),
        rule: attr.endpoint.map(|m| m.endpoint.id.clone()),
        tier: attr.tier,
        evidence,
        leaks,
        decoded,
        wrapped_by: wrapped.map(str::to_string),
        target,
        occurrences: count,
        line: Some(r.line),
        column: r.column,
        account,
        consent,
        fingerprint: None,
        verdict: None,
        seen_by: None,
        initiators: Vec::new(),
        runtime: None,
    })
}

/// A destination URL inside decoded token text: a query-string or JSON field named like a
/// redirect target whose value is an http(s) URL.
fn target_in(text: &str) -> Option<String> {
    const KEYS: &[&str] = &[
        "l",
        "url",
        "u",
        "href",
        "redirect",
        "redirect_url",
        "target",
        "dest",
        "destination",
        "link",
    ];
    let is_url = |v: &str| v.starts_with("https://") || v.starts_with("http://");
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        return KEYS.iter().find_map(|k| {
            map.get(*k)
                .and_then(|v| v.as_str())
                .filter(|v| is_url(v))
                .map(str::to_string)
        });
    }
    url::form_urlencoded::parse(text.as_bytes())
        .find(|(k, v)| KEYS.contains(&k.as_ref()) && is_url(v))
        .map(|(_, v)| v.into_owned())
}

fn leaks(
    role: RefRole,
    party: Party,
    ctx: &Context<'_>,
    identifiers: Vec<crate::model::Identifier>,
) -> Leaks {
    let fetched = role != RefRole::Hint;
    let (cookies, referrer) = match (ctx.mode, role) {
        // A click opens the browser, with its cookie jar; mail clients send no referrer.
        (Mode::Mail, RefRole::Link) => (true, false),
        (Mode::Mail, _) => (false, false),
        (Mode::Site, RefRole::Hint) => (false, false),
        (Mode::Site, _) => (true, ctx.referrer_sent && party == Party::Third),
    };
    Leaks {
        ip: fetched,
        user_agent: fetched,
        cookies,
        referrer,
        identifiers,
    }
}

/// Concatenation in one allocation of the exact size: `format!` grows its buffer as it
/// goes, and findings are built by the thousand.
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

fn site_message(kind: Kind, tracking: bool, who: &str, host: &str, leaks: &Leaks) -> String {
    let ids = if leaks.identifiers.is_empty() {
        ""
    } else {
        ", with an identifier in the URL"
    };
    match kind {
        Kind::Beacon if tracking => format!("Tracking beacon ({who}): loading the page sends a request to {host} revealing the visitor's IP address, user-agent, cookies and the page{ids}."),
        Kind::AdConversion => format!("Ad conversion tag ({who}): loading the page reports the visit to {host}{ids}."),
        Kind::TrackerScript => format!("Tracker script ({who}) loaded from {host}: it runs with the page's rights and reports visits."),
        Kind::TrackedImage => format!("Tracked image ({who}) from {host}{ids}."),
        Kind::RemoteImage if tracking => format!("Image request to {who} ({host}), a tracking company{ids}."),
        Kind::RemoteImage => format!("Remote image from {host}."),
        Kind::DnsPrefetch => format!("DNS prefetch of {host}."),
        _ => format!("Request to {who} ({host}){ids}."),
    }
}

fn message(
    kind: Kind,
    tracking: bool,
    who: &str,
    host: &str,
    target: Option<&str>,
    leaks: &Leaks,
    mode: Mode,
) -> String {
    if mode == Mode::Site {
        return site_message(kind, tracking, who, host, leaks);
    }
    let carries = if leaks
        .identifiers
        .iter()
        .any(|i| i.kind == "recipient-email")
    {
        ", with the recipient's email address in the URL"
    } else if leaks
        .identifiers
        .iter()
        .any(|i| i.kind == "recipient-email-hash")
    {
        ", with a hash of the recipient's email address in the URL"
    } else if !leaks.identifiers.is_empty() {
        ", with an identifier in the URL"
    } else {
        ""
    };
    match kind {
        // The most common findings, built without `format!`.
        Kind::OpenPixel => concat(&[
            "Open-tracking pixel (",
            who,
            "): displaying it sends an open signal (an image request to ",
            host,
            ") revealing IP address, user-agent and time",
            carries,
            ". An open signal is not proof the message was read.",
        ]),
        Kind::TrackedImage => {
            format!("Tracked image ({who}): loading it sends an image request to {host}{carries}.")
        }
        Kind::TrackedLink => match target {
            Some(t) => concat(&[
                "Tracked link (",
                who,
                "): a click goes through ",
                host,
                " before reaching ",
                t,
                carries,
                ".",
            ]),
            None => concat(&[
                "Tracked link (",
                who,
                "): a click is recorded by ",
                host,
                carries,
                ".",
            ]),
        },
        Kind::Beacon => format!("Analytics beacon ({who}): a request to {host}{carries}."),
        Kind::AdConversion => format!("Ad conversion tag ({who}): a request to {host}{carries}."),
        Kind::TrackerScript => format!("Tracker script ({who}) loaded from {host}."),
        Kind::RemoteImage if tracking => {
            format!("Image request to {who} ({host}), a tracking company{carries}.")
        }
        Kind::RemoteImage => format!(
            "Remote image from {host}: loading it reveals IP address and user-agent to {host}."
        ),
        Kind::RemoteResource => format!("Remote resource from {host}{carries}."),
        Kind::ReadReceipt => format!("Read-receipt request to {who}."),
        Kind::MetaRefresh => format!("Meta refresh to {host}{carries}."),
        Kind::DnsPrefetch => {
            format!("DNS prefetch of {host}: the host is resolved before anything is shown.")
        }
    }
}

/// `pixscan rules explain URL`: what each attribution tier says about a URL.
pub fn explain(rules: &Ruleset, raw: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(url) = resolve(raw, None) else {
        return vec![format!("{raw}: not an absolute http(s) URL")];
    };
    let (url, wrapped) = unwrap::unwrap(url);
    if let Some(w) = wrapped {
        lines.push(format!("unwrapped from {w}: {url}"));
    }
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    lines.push(format!(
        "host {host}, registrable domain {}",
        registrable(&host)
    ));
    let endpoint = rules.match_endpoint(&url);
    match endpoint {
        Some(m) => {
            let e = m.endpoint;
            lines.push(format!(
                "endpoint rule {} ({}, {}) → {} [{}], from {}",
                e.id,
                if m.by_host {
                    "host rule"
                } else {
                    "path-shape rule"
                },
                e.kind.as_str(),
                e.entity
                    .map_or("no vendor named", |i| rules.entity(i).name.as_str()),
                e.note.as_deref().unwrap_or(""),
                e.origin
            ));
        }
        None => lines.push("no endpoint rule matches this host and path".to_string()),
    }
    match rules.entity_for_host(&host) {
        Some(e) => {
            let ent = rules.entity(e);
            lines.push(format!(
                "entity by domain: {} ({})",
                ent.name,
                ent.category.as_deref().unwrap_or("no category")
            ));
        }
        None => lines.push("no entity lists this host's domains".to_string()),
    }
    if let Some(e) = rules.cname_entity(&host) {
        lines.push(format!(
            "CNAME alias list: {} is an alias of {}",
            host,
            rules.entity(e).name
        ));
    }
    let rule_params = endpoint
        .map(|m| m.endpoint.identifiers.as_slice())
        .unwrap_or_default();
    let ids = identifiers::find(&url, &[], rule_params);
    for id in ids.identifiers {
        lines.push(format!(
            "identifier: {} in {} ({}): {}",
            id.kind, id.location, id.encoding, id.value
        ));
    }
    for d in identifiers::decode_all(&url) {
        lines.push(format!(
            "decoded {} ({}): {}",
            d.location, d.encoding, d.text
        ));
    }
    lines
}

#[cfg(test)]
mod target_tests {
    #[test]
    fn targets_inside_tokens() {
        assert_eq!(
            super::target_in("h=1&l=https://shop.example/orders/1&r=jane@example.org").as_deref(),
            Some("https://shop.example/orders/1")
        );
        assert_eq!(
            super::target_in(r#"{"href":"https://shop.example/p","email":"x@y.z"}"#).as_deref(),
            Some("https://shop.example/p")
        );
        assert_eq!(super::target_in("l=open&r=jane@example.org"), None);
    }
}
