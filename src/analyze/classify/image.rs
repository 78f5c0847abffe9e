//! Images on web pages, and the file names that tell a picture from a pixel in both modes.
//! Pages hide content all the time (carousels, tabs, menus, lazy galleries), so hiding alone
//! never makes an image a beacon; a pixel's size, a visitor id, or a tracking company's
//! parameters do.

use url::Url;

use super::Facts;
use crate::analyze::mail;
use crate::model::{Evidence, Kind, Party, RawRef};

/// An image on a web page with no endpoint rule. Pages hide content all the time
/// (carousels, tabs, menus, lazy galleries), so hiding alone never makes an image a beacon.
/// What does: a tiny declared size, or hiding together with something in the URL that varies
/// per visitor or page view; a visitor id in a third party's URL; a tracking company's image
/// that carries such parameters. The site's own images are not trackers without a rule.
pub(in crate::analyze) fn on_a_page(i: &Facts<'_>, evidence: &mut Vec<Evidence>) -> (Kind, bool) {
    if i.party == Party::First && !i.trackerish {
        return (Kind::RemoteImage, false);
    }
    let tiny = mail::tiny(i.r);
    let shape = mail::open_tracking_path(i.url);
    let varies = i.personal || shape || mail::query_varies(i.url);
    if spacer_name(i.url) && !i.personal {
        evidence.push("a spacer image with nothing per visitor in its URL".into());
        return (Kind::RemoteImage, false);
    }
    if i.trackerish {
        // Ad and analytics hosts report with their parameters; a social network's or a
        // widget's image (an avatar, a logo) needs a visitor id or a pixel's size.
        let tracking = if matches!(i.category, Some("ad" | "analytics")) {
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
        evidence.push(
            "a content image (a picture's file name or a drawn size): the id in its URL names the asset, not the visitor"
                .into(),
        );
        return (Kind::RemoteImage, false);
    }
    if i.personal {
        evidence.push("a third party's image whose URL carries a visitor id".into());
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
pub(in crate::analyze) fn picture_name(url: &Url) -> bool {
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

/// A file named for layout (`spacer.gif`, `blank.png`, `1x1.gif`).
pub(in crate::analyze) fn spacer_name(url: &Url) -> bool {
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
