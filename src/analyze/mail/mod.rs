//! Mail-only judgement: what makes an image in a message an open signal, and when a token in
//! its URL is the recipient's.
//!
//! Decisions, from labelled real mail (eval/mail):
//! - A hidden *ancestor* is not evidence. Responsive templates hide the desktop or mobile copy
//!   of the same content and spam kits hide blocks of ordinary images; only the element's own
//!   size or hiding, a tracking path, or a verified identifier makes an image tracking.
//! - An opaque token is of unknown scope: content hashes, CDN folder ids and resizer ids look
//!   like per-recipient ids. It becomes `recipient-token` only on evidence: a rule names its
//!   parameter, or it recurs in the message's links (senders stamp the same subscriber id on
//!   pixel and links). Otherwise it stays an `identifier` and never alone makes an image
//!   tracking.
//! - An email address in a URL that is not at the sender's domain is taken as the
//!   recipient's: senders put the subscriber's address in pixels, and forwarded or archived
//!   mail often no longer names the original recipient in its headers.
//!
//! * this module: a mail request with no endpoint rule (`load`): an open pixel, a tracked
//!   image, a spacer or plain content;
//! * `tokens`: which identifiers in a request are the recipient's (links, subscriber
//!   parameters, addresses not the sender's);
//! * `shape`: an open-tracking endpoint's URL, a query that varies per send, tiny sizes.

mod shape;
mod tokens;

pub(crate) use shape::endpoint_word;
pub use shape::{is_ancestor_hiding, open_tracking_path, query_varies, tiny, visible_size};
pub use tokens::{link_tokens, recurring_tail, verify, Links};

use super::classify::{self, picture_name, spacer_name, Facts};
use crate::model::{Evidence, Kind, Party, RawRef};

/// A load in a message that no rule names: see the decisions above. A CSS rule that loads
/// only on a reader's action is an open signal; an image is one when it is tiny or hidden by
/// its own style and carries something per reader, or has an open-tracking URL; hidden
/// content and layout spacers are not.
pub(super) fn load(f: &Facts<'_>, evidence: &mut Vec<Evidence>) -> (Kind, bool) {
    // A stylesheet rule that loads only on a reader's action is there to observe it.
    if let Some(trigger) = css_trigger(f.r) {
        let why = match trigger {
            "print" => "loads only when the message is printed (@media print)",
            "forward" => "loads only when the message is quoted in a reply or forward",
            _ => "loads only after the message stays open a while (animation step)",
        };
        evidence.push(Evidence::note(format!("CSS tracker: {why}")));
        return (Kind::OpenPixel, true);
    }
    if !f.image {
        return classify::other_load(f);
    }
    if (!f.own_hiding || tiny(f.r)) && (f.personal || f.tracking_path) {
        if !f.personal {
            evidence.push(
                "open-tracking path: a tracking word as a path segment or file, with an id".into(),
            );
        }
        // Visible content fetched through a tracker; sizeless or hidden: a pixel.
        return if visible_size(f.r) && !f.hidden {
            (Kind::TrackedImage, true)
        } else {
            (Kind::OpenPixel, true)
        };
    }
    if f.hidden && !f.own_hiding {
        return classify::wrapper_hidden(f, evidence);
    }
    // Hidden by its own style but drawn at a normal size, with nothing that tells readers
    // apart: the other copy of a responsive template, not a pixel.
    if f.hidden && !tiny(f.r) && !f.personal && !query_varies(f.url) && !f.tracking_path {
        evidence.push("hidden, but not tiny, with nothing in the URL that tells readers apart: hidden content, not a pixel".into());
        return (Kind::RemoteImage, classify::ad_request(f));
    }
    if f.hidden {
        return hidden_image(f, evidence);
    }
    if f.has_recipient {
        return (Kind::TrackedImage, true);
    }
    (Kind::RemoteImage, classify::ad_request(f))
}

/// A tiny or hidden image with nothing verified per reader: a layout spacer, or an open
/// pixel (the request still reveals IP, time and client).
fn hidden_image(f: &Facts<'_>, evidence: &mut Vec<Evidence>) -> (Kind, bool) {
    // A file named for layout (`spacer.png`) under a template's asset
    // folder (`/images/<hash>/…/spacer.png`) is a spacer unless a token in it
    // is shown to be the reader's.
    // Nothing per reader and a picture's name (`eflogomobile.jpg` in the
    // hidden mobile copy of a template): content, hidden by the layout.
    let spacer = (!f.has_token
        && (f.count >= 3
            || (f.party == Party::First && !f.trackerish)
            || (picture_name(f.url) && !f.tracking_path)))
        || (spacer_name(f.url) && !f.personal && !f.tracking_path);
    if spacer {
        // The line says how often the image recurs: no `same URL used` line then.
        let line = if f.count > 1 {
            Evidence::repeats(format!(
                "no per-recipient identifier, same image used {} times: a layout spacer, not a pixel",
                f.count
            ))
        } else {
            Evidence::note("no per-recipient identifier: a layout spacer, not a pixel")
        };
        evidence.push(line);
        (Kind::RemoteImage, false)
    } else {
        if !f.has_token {
            evidence.push(
                "no identifier in the URL: the request still reveals IP, time and client".into(),
            );
        }
        (Kind::OpenPixel, true)
    }
}

/// When a `<style>` rule loads only on a reader's action (`print`, `forward`,
/// `read-duration`), as the extractor marked it.
fn css_trigger(r: &RawRef) -> Option<&str> {
    r.extra
        .iter()
        .find(|(k, _)| k == "css-trigger")
        .map(|(_, v)| v.as_str())
}
