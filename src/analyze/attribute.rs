//! Who runs a request. The tiers, strongest first, each finding naming the one that matched
//! (`tier`, and a line of evidence):
//!
//! 1. endpoint rules: a host rule, or a path-shape rule that works on any host (most pixels
//!    sit on the sender's own branded hostnames); a rule also matches a URL embedded in this
//!    one (`?url=https://…`);
//! 2. filter lists (`--filter-list`, EasyPrivacy and the like), for requests no rule names:
//!    the list says a request tracks, not who runs it, so the entity tiers still name the
//!    company. Only what a document fetches is checked, as the request type the fetch-vector
//!    table gives it; links and hints fetch nothing until clicked or followed;
//! 3. the entity domain list, then CNAME alias lists of branded hostnames.
//!
//! A path shape says what the request is; who receives it is the host's owner when the host
//! is known and is not a mere carrier (CDN, hosting): Klaviyo's klclick.com runs on
//! SparkPost-shaped URLs. Party (first or third) is the host's registrable domain against the
//! document's own. On a page, a tag's account id in the URL names the site owner's account.

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;
use url::Url;

use super::{identifiers, resolve, unwrap, Context, Mode};
use crate::domain::registrable;
use crate::model::{Identifier, Party, RawRef, RefRole, Tier};
use crate::rules::{EndpointMatch, Ruleset, SignatureOn};

/// What depends on a request's host alone.
pub(super) struct HostFacts {
    pub host: String,
    pub registrable: String,
    pub party: Party,
    /// Host-rule endpoints that name this host.
    pub candidates: Vec<usize>,
    pub entity: Option<usize>,
    pub cname: Option<usize>,
    /// Path → the path-shape rules matching it ([`Ruleset::path_shapes`]), as asked.
    shapes: RefCell<FxHashMap<String, Rc<[usize]>>>,
}

impl HostFacts {
    pub fn new(host: &str, ctx: &Context<'_>) -> HostFacts {
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
            shapes: RefCell::default(),
        }
    }

    /// The path-shape rules matching `path` on this host, matched once per distinct path (a
    /// newsletter's tracked links share one).
    fn path_shapes(&self, rules: &Ruleset, path: &str) -> Rc<[usize]> {
        if let Some(hit) = self.shapes.borrow().get(path) {
            return Rc::clone(hit);
        }
        let hit: Rc<[usize]> = rules.path_shapes(path).into();
        self.shapes
            .borrow_mut()
            .insert(path.to_string(), Rc::clone(&hit));
        hit
    }
}

/// Attribution of a URL: endpoint rule, entity, and the tier that named it.
pub(super) struct Attribution<'r> {
    pub endpoint: Option<EndpointMatch<'r>>,
    /// Set when the rule matched a URL embedded in this one, not the URL itself: where it
    /// sits (`query:<param>` or `path`).
    pub via_param: Option<String>,
    pub entity: Option<usize>,
    pub tier: Option<Tier>,
    /// The filter list and rule that would block the request (`filter list NAME: RULE`),
    /// when no endpoint rule names it.
    pub listed: Option<String>,
}

impl Attribution<'_> {
    /// What the company does, as far as this request's judgement goes. A site's own company
    /// on its own pages (Spiceworks' scripts on spiceworks.com) serves the site, not a
    /// tracker: only an endpoint rule (self-hosted analytics) makes it one.
    pub fn category<'r>(&self, rules: &'r Ruleset, party: Party, mode: Mode) -> Option<&'r str> {
        let own_company = mode == Mode::Site
            && party == Party::First
            && self.tier == Some(Tier::EntityDomain)
            && self.endpoint.is_none();
        if own_company {
            return None;
        }
        self.entity
            .and_then(|e| rules.entity(e).category.as_deref())
    }
}

/// Categories whose requests exist to observe people.
pub(super) fn tracking_category(cat: Option<&str>) -> bool {
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

/// The tiers in order: an endpoint rule (on the URL, or on a URL embedded in it), then the
/// filter lists, then the host's entity, then its CNAME alias.
pub(super) fn attribute<'r>(
    r: &RawRef,
    url: &Url,
    facts: &HostFacts,
    ctx: &Context<'r>,
) -> Attribution<'r> {
    let (rules, mode) = (ctx.rules, ctx.mode);
    let mut endpoint = rules.match_endpoint_shaped(url, &facts.host, &facts.candidates, |path| {
        facts.path_shapes(rules, path)
    });
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
        return by_rule(m, via_param, facts, rules, mode);
    }
    let listed = ctx
        .filters
        .filter(|_| matches!(r.role, RefRole::Load | RefRole::Script))
        .and_then(|lists| {
            lists.check_ref(
                url.as_str(),
                ctx.page.unwrap_or(""),
                &r.element,
                &r.attribute,
            )
        });
    let (entity, tier) = match (facts.entity, facts.cname) {
        (Some(e), _) => (Some(e), Some(Tier::EntityDomain)),
        (None, Some(e)) => (Some(e), Some(Tier::Cname)),
        (None, None) => (None, None),
    };
    Attribution {
        endpoint: None,
        via_param,
        entity,
        tier,
        listed,
    }
}

/// An endpoint rule matched: a host rule (or a path shape on the platform's own domain), or
/// a path shape whose receiver is the host's owner when it is known.
fn by_rule<'r>(
    m: EndpointMatch<'r>,
    via_param: Option<String>,
    facts: &HostFacts,
    rules: &'r Ruleset,
    mode: Mode,
) -> Attribution<'r> {
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
                endpoint: Some(m),
                via_param,
                entity: Some(e),
                tier: Some(t),
                listed: None,
            };
        }
    }
    Attribution {
        endpoint: Some(m),
        via_param,
        entity: m.endpoint.entity,
        tier: m.endpoint.entity.map(|_| tier),
        listed: None,
    }
}

/// The tag account a page request names: from the URL (`gtm.js?id=GTM-…`), or an id in it
/// that the page's snippets named. It is the site owner's account, not the visitor.
pub(super) fn account(
    rules: &Ruleset,
    url: &Url,
    ids: &[Identifier],
    ctx: &Context<'_>,
) -> Option<String> {
    account_from_url(rules, url.as_str()).or_else(|| {
        ids.iter()
            .find(|i| ctx.known_accounts.contains(&i.value))
            .map(|i| i.value.clone())
    })
}

/// The account id a `src`/`both` signature finds in a URL (`gtm.js?id=GTM-…`).
fn account_from_url(rules: &Ruleset, url: &str) -> Option<String> {
    rules
        .signatures
        .iter()
        .filter(|s| matches!(s.on, SignatureOn::Src | SignatureOn::Both))
        .find_map(|s| {
            s.pattern
                .captures(url)
                .and_then(|c| c.name("account"))
                .map(|m| m.as_str().to_string())
        })
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
