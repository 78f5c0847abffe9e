//! The shape of a mail request: an open-tracking endpoint's URL (a tracking word as a path
//! segment, `action=open`), a query that varies per send, and a declared size too small to
//! see.

use url::Url;

use crate::model::RawRef;

/// Words that name an open-tracking endpoint when they are a whole path segment or file
/// stem (`/track/…`, `/op/…`, `open.php`, `pixel.gif`).
const ENDPOINT_WORDS: &[&str] = &[
    "track",
    "tracking",
    "tracker",
    "trk",
    "open",
    "opens",
    "opened",
    "openings",
    "op",
    "pixel",
    "px",
    "beacon",
    "imp",
    "impression",
    "counter",
    "emailopen",
    "mailopen",
];

/// A path segment whose file stem is one of [`ENDPOINT_WORDS`] (`track`, `open.php`).
pub(crate) fn endpoint_word(seg: &str) -> bool {
    let stem = seg.split('.').next().unwrap_or("");
    ENDPOINT_WORDS.iter().any(|w| stem.eq_ignore_ascii_case(w))
}

/// Whether the URL has the shape of an open-tracking endpoint: a tracking word as a whole
/// path segment or file stem (or `track` joined with `open`/`email`, as in `track_open`), or
/// a query that says `action=open`; and something that varies per send (an id or a query).
pub fn open_tracking_path(url: &Url) -> bool {
    let mut segs = url
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty());
    let mut after = None;
    for seg in segs.by_ref() {
        let stem = seg.split('.').next().unwrap_or("");
        let whole = endpoint_word(seg);
        let joined = || {
            let parts = || stem.split(['-', '_']);
            parts().any(|w| {
                ["track", "tracking", "trk"]
                    .iter()
                    .any(|t| w.eq_ignore_ascii_case(t))
            }) && parts().any(|w| {
                ["open", "email", "mail", "view"]
                    .iter()
                    .any(|t| w.eq_ignore_ascii_case(t))
            })
        };
        if whole || joined() {
            after = Some(());
            break;
        }
    }
    let action_open = || {
        // Cheap test on the raw query before decoding its pairs.
        let q = url.query().unwrap_or("").as_bytes();
        let mentions = [&b"open"[..], b"view"]
            .iter()
            .any(|w| q.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w)));
        mentions
            && url.query_pairs().any(|(k, v)| {
                ["action", "event", "type", "evt", "e"]
                    .iter()
                    .any(|a| k.eq_ignore_ascii_case(a))
                    && ["open", "opened", "view"]
                        .iter()
                        .any(|o| v.eq_ignore_ascii_case(o))
            })
    };
    if after.is_none() {
        return url.query().is_some() && action_open();
    }
    // Something that varies per send after the word: a query, or a segment with digits.
    let has_query = url.query().is_some_and(|q| !q.is_empty());
    has_query
        || segs.any(|s| s.bytes().filter(u8::is_ascii_digit).count() >= 3 || s.len() >= 16)
        || action_open()
}

/// Query parameters that only shape how an image is rendered or cached.
const RENDER_PARAMS: &[&str] = &[
    "w", "h", "wid", "hei", "width", "height", "fit", "crop", "scl", "fmt", "format", "q",
    "quality", "dpr", "auto", "v", "ver", "version", "size", "resize", "scale", "rect", "dl",
    "disable", "bg", "output", "ext", "type", "mode",
];

/// Whether the query holds something beyond rendering and campaign tags (`utm_*`): a value
/// that can differ per send or per reader.
pub fn query_varies(url: &Url) -> bool {
    if url.query().is_none_or(str::is_empty) {
        return false;
    }
    url.query_pairs().any(|(k, v)| {
        !v.is_empty()
            // `get`, not `[..4]`: a key's fourth byte may sit inside a character.
            && !k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("utm_"))
            && !RENDER_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(&k))
    })
}

#[cfg(test)]
#[test]
fn query_varies_on_multibyte_keys() {
    assert!(query_varies(
        &Url::parse("https://x.example/a.png?abc%C3%A9=1").unwrap()
    ));
    assert!(!query_varies(
        &Url::parse("https://x.example/a.png?utm_source=n").unwrap()
    ));
}

/// Declared size of at most 3 px in either dimension: drawn as (almost) nothing.
pub fn tiny(r: &RawRef) -> bool {
    r.width.is_some_and(|w| w <= 3.0) || r.height.is_some_and(|h| h <= 3.0)
}

/// Declared as big enough to see (both dimensions over 3 px, when declared).
pub fn visible_size(r: &RawRef) -> bool {
    (r.width.is_some() || r.height.is_some()) && !tiny(r)
}

/// Hiding evidence from an ancestor (`hidden ancestor: display:none on div`).
pub fn is_ancestor_hiding(e: &str) -> bool {
    e.starts_with("hidden ancestor:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn rendering_queries_do_not_vary() {
        assert!(!query_varies(&u(
            "https://cdn.example/i/a?wid=515&hei=293&fit=crop"
        )));
        assert!(!query_varies(&u(
            "https://cdn.example/a.png?utm_source=news"
        )));
        assert!(query_varies(&u("https://t.example/a.gif?s=681719&p=1")));
    }

    #[test]
    fn tracking_paths() {
        for yes in [
            "http://203.0.113.7/track/3xKq9LmN04ZpR7ts",
            "http://t.example/op/3750_md/2222/17185/431",
            "https://news.example/VT/open.php?M=60318973&L=188",
            "https://t.example/open/P2Q9Mjg1NjgmZWk9MTAzNTY5",
            "https://api.example/v2/email/track_open?token=abc",
            "https://x.example/track?hash=1f2e&action=open",
            "https://x.example/pixel.gif?id=123",
        ] {
            assert!(open_tracking_path(&u(yes)), "{yes}");
        }
        for no in [
            "https://cdn.example/images/open-house.jpg",
            "https://cdn.example/open/banner.png",
            "https://cdn.example/img/track-and-field.jpg",
            "https://cdn.example/logo.png",
        ] {
            assert!(!open_tracking_path(&u(no)), "{no}");
        }
    }
}
