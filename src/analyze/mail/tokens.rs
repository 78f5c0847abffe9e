//! When a token in a mail request's URL is the recipient's: it recurs in the message's
//! links, a rule or an open-tracking endpoint's parameter names the subscriber, or an address
//! is not the sender's (the module notes in `analyze::mail` say why).

use rustc_hash::FxHashSet;
use url::Url;

use super::shape::endpoint_word;
use crate::model::{Encoding, Identifier, IdentifierKind, RawRef, RefRole};

/// Shortest link token that counts as recurring: long enough not to be a year or a size.
const MIN_TOKEN: usize = 12;

/// What the message's links (`a href`) hold, to verify ids found in its images.
#[derive(Default)]
pub struct Links<'a> {
    /// Token pieces (≥ 12 characters) and digit runs (≥ 5 digits), built on first use: most
    /// requests never need them.
    pieces: std::cell::OnceCell<FxHashSet<&'a str>>,
    /// The link URLs, for multi-segment ids (`/op/1344_md/2222/610/…` → `/cl/1344_md/2222/610/…`).
    urls: Vec<&'a str>,
}

impl<'a> Links<'a> {
    fn pieces(&self) -> &FxHashSet<&'a str> {
        self.pieces.get_or_init(|| {
            let mut set = FxHashSet::default();
            for u in &self.urls {
                set.extend(pieces(u));
                set.extend(digit_runs(u));
            }
            set
        })
    }

    #[cfg(test)]
    fn new(urls: Vec<&'a str>) -> Links<'a> {
        Links {
            pieces: Default::default(),
            urls,
        }
    }
}

/// Collects the message's links.
pub fn link_tokens(refs: &[RawRef]) -> Links<'_> {
    Links {
        pieces: Default::default(),
        urls: refs
            .iter()
            .filter(|r| r.role == RefRole::Link)
            .map(|r| r.url.as_str())
            .collect(),
    }
}

/// Token pieces of `s`: runs of letters, digits, `-` and `_`, split also at percent escapes
/// (`%2F`), so a link wrapped whole in a click tracker (`/L0/http:%2F%2Fhost%2Fl%2F<id>%2F…`)
/// yields the same pieces as the link itself.
fn pieces(s: &str) -> impl Iterator<Item = &str> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            // Skip separators and escapes.
            while i < b.len() {
                if b[i] == b'%'
                    && b.len() > i + 2
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit()
                {
                    i += 3;
                } else if b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_' {
                    break;
                } else {
                    i += 1;
                }
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
                i += 1;
            }
            if i - start >= MIN_TOKEN {
                return Some(&s[start..i]);
            }
        }
        None
    })
}

/// Runs of 5+ digits: the subscriber or send numbers spam kits embed in pixel and link
/// tokens alike (`3jdJQY14854lZw…285239…`).
fn digit_runs(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| (5..=12).contains(&p.len()))
}

/// Whether a token shares a piece or a digit run with the links. Digit runs count only
/// together with a second shared run or piece: one number can be a year or a price.
fn recurs(value: &str, links: &Links<'_>) -> bool {
    if links.urls.is_empty() {
        return false;
    }
    let set = links.pieces();
    if pieces(value).any(|p| set.contains(p)) {
        return true;
    }
    let mut runs: Vec<&str> = digit_runs(value).filter(|p| set.contains(p)).collect();
    runs.sort_unstable();
    runs.dedup();
    runs.len() >= 2
}

/// Whether every link holding a piece of `value` points at `url`'s own resource (same host
/// and path, another fragment or query): the token is part of the resource's address, shared
/// by every reader, not an id the links repeat.
fn only_same_resource(value: &str, url: &Url, links: &Links<'_>) -> bool {
    let own = resource(url.as_str());
    let mut any = false;
    for l in &links.urls {
        if pieces(value).any(|p| l.contains(p)) {
            if resource(l) != own {
                return false;
            }
            any = true;
        }
    }
    any
}

/// Whether an identifier's location is a path segment above the last one (`path:4` of
/// `/a/b/c/<uuid>/d/page.shtml`): a folder of the resource, not the resource's own name.
fn in_parent_folder(location: &str, url: &Url) -> bool {
    let Some(n) = location
        .strip_prefix("path:")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return false;
    };
    url.path_segments().is_some_and(|s| n < s.count())
}

/// `scheme://host/path` of a URL as written: without query and fragment, host lowercased.
fn resource(u: &str) -> String {
    let end = u.find(['?', '#']).unwrap_or(u.len());
    u[..end].to_ascii_lowercase()
}

/// On an open-tracking path, the ids after the tracking word (`/op/1344_md/2222/610/680`)
/// that recur, as a whole, in one of the message's links: the send's per-recipient ids.
/// Returns the 1-based segment where they start and the ids.
pub fn recurring_tail(url: &Url, links: &Links<'_>) -> Option<(usize, String)> {
    let segs: Vec<&str> = url.path_segments()?.collect();
    let at = segs.iter().position(|s| endpoint_word(s))?;
    let tail = &segs[at + 1..];
    let digits = tail
        .iter()
        .filter(|s| s.bytes().any(|b| b.is_ascii_digit()))
        .count();
    if tail.len() < 3 || digits < 3 {
        return None;
    }
    let joined = tail.join("/");
    links
        .urls
        .iter()
        .any(|l| l.contains(&joined))
        .then(|| (at + 2, joined))
}

/// Upgrades identifiers on evidence and says why; see the module notes. `tracking_path` is
/// [`open_tracking_path`](super::open_tracking_path) of `url`, which the caller has already computed.
pub fn verify(
    ids: &mut Vec<Identifier>,
    url: &Url,
    links: &Links<'_>,
    sender: Option<&str>,
    tracking_path: bool,
) -> Vec<String> {
    let mut why = Vec::new();
    let asset_folder = asset_file(url);
    for id in ids.iter_mut() {
        if id.kind == IdentifierKind::Unverified {
            // A folder above an image file is an asset path, shared by every reader.
            let in_folder = asset_folder && id.location.starts_with("path");
            if !in_folder
                && recurs(&id.value, links)
                && !(in_parent_folder(&id.location, url)
                    && only_same_resource(&id.value, url, links))
            {
                id.kind = IdentifierKind::RecipientToken;
                why.push(format!(
                    "the token in {} recurs in the message's links: per-recipient",
                    id.location
                ));
            }
        } else if id.kind == IdentifierKind::Email && !is_senders(&id.value, sender) {
            id.kind = IdentifierKind::RecipientEmail;
            why.push(format!(
                "an email address that is not the sender's in {}: the recipient's, most likely",
                id.location
            ));
        }
    }
    // On an open-tracking endpoint, a parameter named for the subscriber holds their id
    // (Interspire `open.php?M=`, `uid=`, `subscriber=`…).
    if tracking_path && !ids.iter().any(|i| i.kind.is_recipient()) {
        if let Some((k, v)) = url.query_pairs().find(|(k, v)| {
            SUBSCRIBER_PARAMS.iter().any(|p| k.eq_ignore_ascii_case(p))
                && v.len() >= 4
                && v.bytes().any(|b| b.is_ascii_digit())
        }) {
            why.push(format!(
                "query:{k} names the subscriber on an open-tracking endpoint: per-recipient"
            ));
            ids.retain(|i| i.location != format!("query:{k}"));
            ids.push(Identifier {
                location: format!("query:{k}"),
                kind: IdentifierKind::RecipientToken,
                encoding: Encoding::Opaque,
                value: v.into_owned(),
            });
        }
    }
    if tracking_path && !ids.iter().any(|i| i.kind == IdentifierKind::RecipientToken) {
        if let Some((seg, tail)) = recurring_tail(url, links) {
            why.push(format!(
                "the ids from path segment {seg} on recur in the message's links: per-recipient"
            ));
            ids.push(Identifier {
                location: format!("path:{seg}"),
                kind: IdentifierKind::RecipientToken,
                encoding: Encoding::Opaque,
                value: tail,
            });
        }
    }
    why
}

/// Query parameters that name the subscriber on open-tracking endpoints.
const SUBSCRIBER_PARAMS: &[&str] = &[
    "m",
    "sid",
    "subscriber",
    "subscriber_id",
    "subscriberid",
    "uid",
    "user_id",
    "userid",
    "rid",
    "recipient",
    "recipient_id",
    "contact",
    "contact_id",
    "contactid",
    "member",
    "member_id",
    "lead",
    "lead_id",
    "email_id",
    "eid",
    "sub",
    "subid",
];

/// Mailbox providers whose domain says nothing about who the sender is.
const FREEMAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "proton.me",
    "protonmail.com",
    "zoho.com",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "hotmail.fr",
    "orange.fr",
    "free.fr",
    "libero.it",
    "qq.com",
    "163.com",
];

/// The sender's own address, or an address at the sender's organisation's domain.
fn is_senders(address: &str, sender: Option<&str>) -> bool {
    let Some(sender) = sender else {
        return false;
    };
    let address = address.to_ascii_lowercase();
    if address == sender {
        return true;
    }
    let domain = |a: &str| a.rsplit('@').next().unwrap_or("").to_string();
    let (a, s) = (domain(&address), domain(sender));
    let org = crate::domain::registrable(&s);
    !FREEMAIL.contains(&org.as_str()) && (a == org || a.ends_with(&format!(".{org}")))
}

/// Whether the URL names an image file (`…/folder/x.png`): its folders are asset paths.
fn asset_file(url: &Url) -> bool {
    let last = url.path().rsplit('/').next().unwrap_or("");
    let ext = last.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some("png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" | "bmp")
    )
}

#[cfg(test)]
mod tests {
    use super::super::open_tracking_path;
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    /// [`verify`] as `judge` calls it, with the URL's own tracking shape.
    fn check(
        ids: &mut Vec<Identifier>,
        url: &Url,
        links: &Links<'_>,
        sender: Option<&str>,
    ) -> Vec<String> {
        verify(ids, url, links, sender, open_tracking_path(url))
    }

    fn ident(location: &str, kind: IdentifierKind, value: &str) -> Identifier {
        Identifier {
            location: location.into(),
            kind,
            encoding: Encoding::Opaque,
            value: value.into(),
        }
    }

    #[test]
    fn tokens_recurring_in_links_are_per_recipient() {
        let links = Links::new(vec!["https://t.example/c?s=Xk9aTq7PzLw3Rb5Vn2Mc"]);
        let mut ids = vec![ident(
            "query:s",
            IdentifierKind::Unverified,
            "Xk9aTq7PzLw3Rb5Vn2Mc",
        )];
        check(
            &mut ids,
            &u("https://t.example/o?s=Xk9aTq7PzLw3Rb5Vn2Mc"),
            &links,
            None,
        );
        assert_eq!(ids[0].kind, IdentifierKind::RecipientToken);
        // The same token as a folder above an image file is an asset path.
        let mut ids = vec![ident(
            "path",
            IdentifierKind::Unverified,
            "Xk9aTq7PzLw3Rb5Vn2Mc",
        )];
        check(
            &mut ids,
            &u("https://cdn.example/Xk9aTq7PzLw3Rb5Vn2Mc/logo.png"),
            &links,
            None,
        );
        assert_eq!(ids[0].kind, IdentifierKind::Unverified);
        // Not in the links: stays unverified.
        let mut ids = vec![ident(
            "path",
            IdentifierKind::Unverified,
            "QH65c1001455b3aa77",
        )];
        check(
            &mut ids,
            &u("https://t.example/QH65c1001455b3aa77"),
            &links,
            None,
        );
        assert_eq!(ids[0].kind, IdentifierKind::Unverified);
    }

    #[test]
    fn ids_after_a_tracking_word_that_recur_in_links() {
        let link = "http://t.example/cl/1344_md/22222/610/680/410/1190";
        let links = Links::new(vec![link]);
        let mut ids = Vec::new();
        check(
            &mut ids,
            &u("http://t.example/op/1344_md/22222/610/680/410/1190"),
            &links,
            None,
        );
        assert_eq!(ids[0].kind, IdentifierKind::RecipientToken);
        assert_eq!(ids[0].location, "path:2");
        // Digit runs shared with the links, twice, inside an opaque token.
        let link = "http://t.example/click/7aQ14854zz285239kk";
        let links = Links::new(vec![link]);
        let mut ids = vec![ident(
            "path:2",
            IdentifierKind::Unverified,
            "3jdJQY14854lZwU12dfgo285239XRMS",
        )];
        check(
            &mut ids,
            &u("http://t.example/track/3jdJQY14854lZwU12dfgo285239XRMS"),
            &links,
            None,
        );
        assert_eq!(ids[0].kind, IdentifierKind::RecipientToken);
    }

    #[test]
    fn subscriber_parameters_on_open_endpoints() {
        let none = Links::default();
        let mut ids = Vec::new();
        check(
            &mut ids,
            &u("https://news.example/mailer/open.php?M=60318&L=12&N=77"),
            &none,
            None,
        );
        assert_eq!(
            (ids[0].kind, ids[0].location.as_str()),
            (IdentifierKind::RecipientToken, "query:M")
        );
        // The same parameter on a content image says nothing.
        let mut ids = Vec::new();
        check(
            &mut ids,
            &u("https://cdn.example/img/hero.jpg?m=60318"),
            &none,
            None,
        );
        assert!(ids.is_empty());
    }

    #[test]
    fn addresses_outside_the_sender_domain_are_the_recipients() {
        let none = Links::default();
        let mut ids = vec![
            ident("query:e", IdentifierKind::Email, "jane@example.org"),
            ident(
                "query:from",
                IdentifierKind::Email,
                "news@mail.brand.example",
            ),
        ];
        check(
            &mut ids,
            &u("https://t.example/o"),
            &none,
            Some("hello@brand.example"),
        );
        assert_eq!(ids[0].kind, IdentifierKind::RecipientEmail);
        assert_eq!(ids[1].kind, IdentifierKind::Email);
        // A forward from a webmail user: the provider's domain is not an organisation.
        let mut ids = vec![ident("query:e", IdentifierKind::Email, "jane@gmail.com")];
        check(
            &mut ids,
            &u("https://t.example/o"),
            &none,
            Some("bob@gmail.com"),
        );
        assert_eq!(ids[0].kind, IdentifierKind::RecipientEmail);
    }
}
