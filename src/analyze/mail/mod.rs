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
//! * `tokens`: which identifiers in a request are the recipient's (links, subscriber
//!   parameters, addresses not the sender's);
//! * `shape`: an open-tracking endpoint's URL, a query that varies per send, tiny sizes.

mod shape;
mod tokens;

pub(crate) use shape::endpoint_word;
pub use shape::{is_ancestor_hiding, open_tracking_path, query_varies, tiny, visible_size};
pub use tokens::{link_tokens, recurring_tail, verify, Links};
