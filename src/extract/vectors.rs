//! Fetch vectors: every way markup makes a browser or a mail client fetch something, in one
//! table. Extraction reads it to know which attributes to collect, classification to know
//! what a reference loads (an image can be a pixel, a stylesheet cannot), filter lists to
//! give adblock the request type, and browser mode to map DevTools' resource types onto the
//! same words. A new vector is one row here (and a fixture).

use crate::model::RefRole;

/// What a request fetches, as far as tracking is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Shown as a picture: a pixel can hide here.
    Image,
    /// Audio, video, text tracks.
    Media,
    Script,
    Stylesheet,
    Font,
    /// A framed document (`iframe`, `frame`).
    Frame,
    /// A plug-in's content (`object`, `embed`).
    Object,
    /// A top-level navigation: a link the reader follows, a meta refresh.
    Document,
    /// `navigator.sendBeacon` and `<a ping>`.
    Ping,
    /// `XMLHttpRequest` and `fetch()`.
    Xhr,
    WebSocket,
    Other,
}

impl Resource {
    /// The request type adblock filter options name (`$image`, `$script`, `$ping`…).
    /// Links the reader may follow are not requests a page makes: `None`.
    pub fn adblock_type(self) -> Option<&'static str> {
        Some(match self {
            Resource::Image => "image",
            Resource::Media => "media",
            Resource::Script => "script",
            Resource::Stylesheet => "stylesheet",
            Resource::Font => "font",
            Resource::Frame => "sub_frame",
            Resource::Object => "object",
            Resource::Document => return None,
            Resource::Ping => "ping",
            Resource::Xhr => "xmlhttprequest",
            Resource::WebSocket => "websocket",
            Resource::Other => "other",
        })
    }
}

/// The element word findings use for a request browser mode saw, from its DevTools
/// `Network.ResourceType`: `img` and `iframe` as in markup, the type's own name otherwise
/// (`script`, `ping`, `xhr`, `fetch`…); [`resource_of`] reads it back.
pub fn devtools_element(resource_type: &str) -> String {
    match resource_type {
        "Image" => "img".into(),
        "Document" => "iframe".into(),
        "" => "other".into(),
        t => t.to_ascii_lowercase(),
    }
}

/// When a row applies beyond its element and attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// `<input type=image>` only.
    InputTypeImage,
    /// `<link>`: the role follows `rel` (a hint, a load, or nothing).
    LinkRel,
    /// `<meta http-equiv=refresh>`: the URL sits inside `content`.
    MetaRefresh,
    /// A candidate list (`srcset`): every URL in it.
    CandidateList,
}

/// One attribute of one element that makes a fetch.
#[derive(Debug, Clone, Copy)]
pub struct Vector {
    pub element: &'static str,
    pub attribute: &'static str,
    pub role: RefRole,
    pub resource: Resource,
    pub when: When,
}

const fn row(element: &'static str, attribute: &'static str, resource: Resource) -> Vector {
    Vector {
        element,
        attribute,
        role: RefRole::Load,
        resource,
        when: When::Always,
    }
}

const fn with(mut v: Vector, role: RefRole, when: When) -> Vector {
    v.role = role;
    v.when = when;
    v
}

use Resource::*;

/// The element-specific vectors, in the order extraction reports them within an element.
/// Attributes any element may carry (`background`, inline styles, deferred `data-src`) are
/// handled by [`resource_of`] and the extractor's own passes.
pub const VECTORS: &[Vector] = &[
    row("img", "src", Image),
    row("img", "lowsrc", Image),
    row("img", "dynsrc", Image),
    with(
        row("img", "srcset", Image),
        RefRole::Load,
        When::CandidateList,
    ),
    row("source", "src", Image),
    with(
        row("source", "srcset", Image),
        RefRole::Load,
        When::CandidateList,
    ),
    with(
        row("input", "src", Image),
        RefRole::Load,
        When::InputTypeImage,
    ),
    row("video", "poster", Image),
    row("video", "src", Media),
    row("audio", "src", Media),
    row("track", "src", Media),
    row("embed", "src", Object),
    row("frame", "src", Frame),
    row("iframe", "src", Frame),
    row("object", "data", Object),
    with(row("script", "src", Script), RefRole::Script, When::Always),
    with(
        row("link", "href", Stylesheet),
        RefRole::Load,
        When::LinkRel,
    ),
    with(row("a", "href", Document), RefRole::Link, When::Always),
    with(row("area", "href", Document), RefRole::Link, When::Always),
    // SVG: `href` or the older `xlink:href`.
    row("image", "href", Image),
    row("image", "xlink:href", Image),
    row("feimage", "href", Image),
    row("feimage", "xlink:href", Image),
    // A sprite sheet of symbols, not shown as a picture of its own.
    row("use", "href", Other),
    row("use", "xlink:href", Other),
    // VML, Outlook's shapes.
    row("v:image", "src", Image),
    row("v:fill", "src", Image),
    row("v:imagedata", "src", Image),
    row("v:rect", "src", Image),
    row("v:roundrect", "src", Image),
    row("v:shape", "src", Image),
    with(
        row("meta", "content", Document),
        RefRole::Load,
        When::MetaRefresh,
    ),
];

/// The rows for an element, in table order. Every start tag asks, and most elements have
/// none: a match on the name answers at once where a scan compares it with every row. The
/// slices are cut at compile time; a test checks the match names every element.
pub fn of_element(element: &str) -> &'static [Vector] {
    match element {
        "img" => const { rows("img") },
        "source" => const { rows("source") },
        "input" => const { rows("input") },
        "video" => const { rows("video") },
        "audio" => const { rows("audio") },
        "track" => const { rows("track") },
        "embed" => const { rows("embed") },
        "frame" => const { rows("frame") },
        "iframe" => const { rows("iframe") },
        "object" => const { rows("object") },
        "script" => const { rows("script") },
        "link" => const { rows("link") },
        "a" => const { rows("a") },
        "area" => const { rows("area") },
        "image" => const { rows("image") },
        "feimage" => const { rows("feimage") },
        "use" => const { rows("use") },
        "v:image" => const { rows("v:image") },
        "v:fill" => const { rows("v:fill") },
        "v:imagedata" => const { rows("v:imagedata") },
        "v:rect" => const { rows("v:rect") },
        "v:roundrect" => const { rows("v:roundrect") },
        "v:shape" => const { rows("v:shape") },
        "meta" => const { rows("meta") },
        _ => &[],
    }
}

/// The table's rows for `element`, which must be adjacent (checked at compile time).
const fn rows(element: &str) -> &'static [Vector] {
    let mut start = 0;
    while start < VECTORS.len() && !same(VECTORS[start].element, element) {
        start += 1;
    }
    let mut end = start;
    while end < VECTORS.len() && same(VECTORS[end].element, element) {
        end += 1;
    }
    let mut later = end;
    while later < VECTORS.len() {
        assert!(
            !same(VECTORS[later].element, element),
            "an element's rows must be adjacent"
        );
        later += 1;
    }
    VECTORS.split_at(end).0.split_at(start).1
}

/// `a == b` for [`rows`] (string comparison is not `const`).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Elements whose `src` a consent platform or lazy loader parks in a data attribute
/// (`data-src`, `data-cookieblock-src`…) until consent or scrolling sets it.
pub const DEFERRABLE: &[&str] = &["script", "iframe", "img", "embed"];

/// What a reference found at `element`/`attribute` fetches. Knows the table's rows, the
/// attributes any element may carry (`background`, `style:…`, stylesheets' `css:…`,
/// deferred `data-src`), the words browser mode and inline-script analysis use (`runtime`,
/// `inline-loader`), and the elements that only ever show pictures.
pub fn resource_of(element: &str, attribute: &str) -> Resource {
    match attribute {
        "css:@import" => return Stylesheet,
        "css:@font-face" => return Font,
        "background" => return Image,
        a if a.starts_with("style:") || a.starts_with("css:") => return Image,
        "data-src" => return element_resource(element),
        _ => {}
    }
    if let Some(v) = VECTORS
        .iter()
        .find(|v| v.element == element && v.attribute == attribute)
    {
        return v.resource;
    }
    element_resource(element)
}

/// An element's resource whatever the attribute: what it fetches when it fetches.
fn element_resource(element: &str) -> Resource {
    match element {
        "img" | "image" | "feimage" | "picture" | "input" | "source" => Image,
        e if e.starts_with("v:") => Image,
        "script" => Script,
        "iframe" | "frame" => Frame,
        "object" | "embed" => Object,
        "audio" | "track" | "media" | "texttrack" => Media,
        "link" | "stylesheet" => Stylesheet,
        "font" => Font,
        "a" | "area" | "meta" => Document,
        "ping" | "cspviolationreport" => Ping,
        "xhr" | "fetch" | "eventsource" => Xhr,
        "websocket" => WebSocket,
        _ => Other,
    }
}

/// Whether the reference is shown as a picture (where a pixel can hide), as opposed to a
/// script, a stylesheet, a frame or media.
pub fn is_image(element: &str, attribute: &str) -> bool {
    resource_of(element, attribute) == Image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_unique_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for v in VECTORS {
            assert!(
                seen.insert((v.element, v.attribute)),
                "{} {} twice",
                v.element,
                v.attribute
            );
            assert_eq!(v.element, v.element.to_ascii_lowercase());
            assert_eq!(v.attribute, v.attribute.to_ascii_lowercase());
        }
    }

    #[test]
    fn of_element_has_every_row_of_every_element() {
        for v in VECTORS {
            let want: Vec<_> = VECTORS
                .iter()
                .filter(|r| r.element == v.element)
                .map(|r| r.attribute)
                .collect();
            let got: Vec<_> = of_element(v.element).iter().map(|r| r.attribute).collect();
            assert_eq!(got, want, "{}", v.element);
        }
        assert!(of_element("td").is_empty());
    }

    #[test]
    fn pictures_are_told_from_other_loads() {
        for (e, a) in [
            ("img", "src"),
            ("img", "data-src"),
            ("img", "srcset"),
            ("td", "background"),
            ("div", "style:background-image"),
            ("style", "css:background-image"),
            ("v:fill", "src"),
            ("video", "poster"),
            ("input", "src"),
            ("picture", "src"),
            ("img", "runtime"),
        ] {
            assert!(is_image(e, a), "{e} {a}");
        }
        for (e, a) in [
            ("style", "css:@import"),
            ("style", "css:@font-face"),
            ("video", "src"),
            ("script", "src"),
            ("script", "data-src"),
            ("iframe", "src"),
            ("link", "href"),
            ("a", "href"),
            ("use", "href"),
            ("script", "inline-loader"),
            ("ping", "runtime"),
        ] {
            assert!(!is_image(e, a), "{e} {a}");
        }
    }

    #[test]
    fn adblock_types_follow_the_resource() {
        let ty = |e, a| resource_of(e, a).adblock_type();
        assert_eq!(ty("img", "src"), Some("image"));
        assert_eq!(ty("script", "src"), Some("script"));
        assert_eq!(ty("iframe", "src"), Some("sub_frame"));
        assert_eq!(ty("embed", "src"), Some("object"));
        assert_eq!(ty("link", "href"), Some("stylesheet"));
        assert_eq!(ty("style", "css:@font-face"), Some("font"));
        assert_eq!(ty("ping", "runtime"), Some("ping"));
        assert_eq!(ty("xhr", "runtime"), Some("xmlhttprequest"));
        assert_eq!(ty("a", "href"), None);
    }

    #[test]
    fn devtools_types_map_onto_the_same_words() {
        for (t, element, resource) in [
            ("Image", "img", Image),
            ("Document", "iframe", Frame),
            ("Script", "script", Script),
            ("Ping", "ping", Ping),
            ("XHR", "xhr", Xhr),
            ("Fetch", "fetch", Xhr),
            ("TextTrack", "texttrack", Media),
            ("", "other", Other),
        ] {
            assert_eq!(devtools_element(t), element);
            assert_eq!(resource_of(element, "runtime"), resource, "{t}");
        }
    }
}
