//! The mbox reader: messages streamed one at a time, never the whole file in memory.

use std::io::BufRead;

use super::{checked, InputLimits, MailInput};

/// Streams an mbox: one message at a time, split on `From ` lines at the start of a line.
/// Inside a message, a `From ` line separates only after a blank line or when it has the
/// shape of a real separator (a date with a time of day), so an unquoted body line such as
/// "From here on…" (no blank line before it) stays in its message.
pub(super) fn mbox<R: BufRead + 'static>(
    source: String,
    reader: R,
    limits: InputLimits,
) -> impl Iterator<Item = MailInput> {
    Mbox {
        reader,
        source,
        limits,
        n: 0,
        pending_from: false,
        done: false,
        prev_blank: true,
        preamble: false,
    }
}

/// The reader's state between messages.
struct Mbox<R> {
    reader: R,
    source: String,
    limits: InputLimits,
    /// Messages returned so far.
    n: usize,
    /// A `From ` separator was read: its message follows.
    pending_from: bool,
    done: bool,
    prev_blank: bool,
    /// Text seen before the first `From ` line.
    preamble: bool,
}

/// One message as read: its bytes, or only the fact it was over the size limit.
enum Read {
    Message(Pieces),
    Oversized,
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = MailInput;

    fn next(&mut self) -> Option<MailInput> {
        if self.done {
            return None;
        }
        let read = match self.read_message() {
            Ok(read) => read,
            Err(e) => {
                self.done = true;
                self.n += 1;
                return Some(MailInput {
                    source: format!("{}#{}", self.source, self.n),
                    bytes: Err(format!("read error: {e}")),
                });
            }
        };
        if !self.pending_from && self.done {
            return self.no_message();
        }
        self.n += 1;
        let source = format!("{}#{}", self.source, self.n);
        let bytes = match read {
            Read::Oversized => Err(format!(
                "message is over the size limit of {} (--max-size)",
                crate::units::size(self.limits.max_message_bytes)
            )),
            Read::Message(msg) => checked(msg.into_vec(), self.limits),
        };
        Some(MailInput { source, bytes })
    }
}

impl<R: BufRead> Mbox<R> {
    /// Reads up to the next separator (or the end), unquoting `>From ` lines.
    fn read_message(&mut self) -> std::io::Result<Read> {
        let mut msg = Pieces::default();
        let mut line = Vec::with_capacity(256);
        let mut oversized = false;
        loop {
            line.clear();
            if self.reader.read_until(b'\n', &mut line)? == 0 {
                self.done = true;
                break;
            }
            let after_blank = self.prev_blank;
            self.prev_blank = line == b"\n" || line == b"\r\n";
            if line.starts_with(b"From ")
                && (!self.pending_from || after_blank || separator_shape(&line))
            {
                if self.pending_from {
                    break; // the next message starts here
                }
                self.pending_from = true;
                continue;
            }
            if !self.pending_from {
                // Text before the first `From ` line is not a message; skip it.
                self.preamble |= !line.iter().all(u8::is_ascii_whitespace);
                continue;
            }
            if oversized {
                // Past the limit: read to the next separator without holding anything.
            } else if msg.len() as u64 + line.len() as u64 > self.limits.max_message_bytes {
                oversized = true;
                msg = Pieces::default();
            } else {
                // Undo mboxrd quoting: `>From ` → `From `.
                let unq = line
                    .iter()
                    .position(|&b| b != b'>')
                    .is_some_and(|p| p > 0 && line[p..].starts_with(b"From "));
                msg.extend_from_slice(if unq { &line[1..] } else { &line });
            }
        }
        Ok(if oversized {
            Read::Oversized
        } else {
            Read::Message(msg)
        })
    }

    /// The end, with no separator pending.
    fn no_message(&mut self) -> Option<MailInput> {
        if self.n > 0 {
            return None;
        }
        // Not one message in the whole file: say so, or it would vanish unaccounted.
        self.n = 1;
        let why = if self.preamble {
            "not an mbox: no `From ` separator line found"
        } else {
            "empty input"
        };
        Some(MailInput {
            source: self.source.clone(),
            bytes: Err(why.to_string()),
        })
    }
}

/// An mbox message as it is read: one growing buffer up to `FIRST` bytes (most mail), then
/// fixed blocks that are never reallocated, joined once at the end. Growing one buffer to
/// 100 MB by doubling would hold the old and the new copy at each step, and an allocator
/// that returns freed blocks lazily keeps them all; a message over the limit is dropped
/// before it is ever joined.
#[derive(Default)]
struct Pieces {
    full: Vec<Vec<u8>>,
    last: Vec<u8>,
    len: usize,
}

impl Pieces {
    const FIRST: usize = 1 << 20;
    const BLOCK: usize = 4 << 20;

    fn len(&self) -> usize {
        self.len
    }

    fn extend_from_slice(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        while !bytes.is_empty() {
            let cap = if self.full.is_empty() {
                Self::FIRST
            } else {
                Self::BLOCK
            };
            if self.last.len() == cap {
                let next = Vec::with_capacity(Self::BLOCK);
                self.full.push(std::mem::replace(&mut self.last, next));
                continue;
            }
            let n = bytes.len().min(cap - self.last.len());
            self.last.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
    }

    fn into_vec(self) -> Vec<u8> {
        if self.full.is_empty() {
            return self.last;
        }
        let mut out = Vec::with_capacity(self.len);
        for piece in self.full.iter().chain([&self.last]) {
            out.extend_from_slice(piece);
        }
        out
    }
}

/// Whether a `From ` line looks like an mbox separator written by a mail system
/// (`From sender Www Mmm dd hh:mm:ss yyyy`): it carries a time of day and a year.
fn separator_shape(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_whitespace().skip(2);
    let time = words.by_ref().any(|w| {
        let parts: Vec<&str> = w.split(':').collect();
        (2..=3).contains(&parts.len())
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
    });
    time && text
        .split_whitespace()
        .skip(2)
        .any(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_across_blocks_in_order() {
        let mut p = Pieces::default();
        let line: Vec<u8> = (0..=250u8).cycle().take(70_001).collect();
        let mut want = Vec::new();
        for _ in 0..100 {
            p.extend_from_slice(&line);
            want.extend_from_slice(&line);
        }
        assert!(want.len() > Pieces::FIRST + Pieces::BLOCK);
        assert_eq!(p.len(), want.len());
        assert_eq!(p.into_vec(), want);
        let mut small = Pieces::default();
        small.extend_from_slice(b"From: a\n");
        assert_eq!(small.into_vec(), b"From: a\n");
    }

    #[test]
    fn mbox_splits_and_unquotes() {
        let data = b"preamble\nFrom a@x Mon Jan 1 00:00:00 2026\nSubject: one\n\n>From the start\nbody\nFrom b@x Mon Jan 1 00:00:00 2026\nSubject: two\n\nhi\n".to_vec();
        let v: Vec<MailInput> = mbox(
            "box".into(),
            std::io::Cursor::new(data),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].source, "box#1");
        assert_eq!(
            v[0].bytes.as_ref().unwrap(),
            b"Subject: one\n\nFrom the start\nbody\n"
        );
        assert_eq!(v[1].bytes.as_ref().unwrap(), b"Subject: two\n\nhi\n");
    }

    #[test]
    fn mbox_body_from_line_without_blank_line_stays_in_its_message() {
        let data = b"From a@x Mon Jan 1 00:00:00 2026\nSubject: one\n\nbody\nFrom here on, text\nmore\n\nFrom b@x\nSubject: two\n\nhi\nFrom c@x Tue Jan 2 10:11:12 2026\r\nSubject: three\n\nx\n".to_vec();
        let v: Vec<MailInput> = mbox(
            "box".into(),
            std::io::Cursor::new(data),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(v.len(), 3, "{v:?}");
        assert_eq!(
            v[0].bytes.as_ref().unwrap(),
            b"Subject: one\n\nbody\nFrom here on, text\nmore\n\n"
        );
        assert_eq!(v[1].bytes.as_ref().unwrap(), b"Subject: two\n\nhi\n");
        assert_eq!(v[2].bytes.as_ref().unwrap(), b"Subject: three\n\nx\n");
        assert!(separator_shape(b"From a@b Mon Jan  1 00:00:00 2026\n"));
        assert!(separator_shape(
            b"From MAILER-DAEMON Tue Mar 12 14:30 2024\r\n"
        ));
        assert!(!separator_shape(b"From here on, at 10:30 we meet\n"));
        assert!(!separator_shape(b"From 2026 onwards\n"));
    }

    #[test]
    fn mbox_without_separators_is_one_error() {
        let v: Vec<MailInput> = mbox(
            "box".into(),
            std::io::Cursor::new(b"no separators\nat all\n".to_vec()),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].source, "box");
        assert!(v[0].bytes.as_ref().unwrap_err().contains("not an mbox"));
        let empty: Vec<MailInput> = mbox(
            "e".into(),
            std::io::Cursor::new(Vec::new()),
            InputLimits::default(),
        )
        .collect();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].bytes.as_ref().unwrap_err(), "empty input");
    }

    #[test]
    fn mbox_oversized_message_is_an_error_not_a_loss() {
        let data = format!(
            "From a\nSubject: big\n\n{}\n\nFrom b\nSubject: ok\n\nx\n",
            "y".repeat(5000)
        )
        .into_bytes();
        let v: Vec<MailInput> = mbox(
            "m".into(),
            std::io::Cursor::new(data),
            InputLimits {
                max_message_bytes: 1000,
            },
        )
        .collect();
        assert_eq!(v.len(), 2);
        assert!(v[0].bytes.as_ref().unwrap_err().contains("size limit"));
        assert!(v[1].bytes.is_ok());
    }
}
