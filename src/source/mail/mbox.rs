//! The mbox reader: messages streamed one at a time, never the whole file in memory.

use std::io::BufRead;

use super::{checked, InputLimits, MailInput};

/// Streams an mbox: one message at a time, split on `From ` lines at the start of a line.
/// Inside a message, a `From ` line separates only after a blank line or when it has the
/// shape of a real separator (a date with a time of day), so an unquoted body line such as
/// "From here on…" (no blank line before it) stays in its message.
///
/// Lines are found in the reader's buffer (SIMD `memchr`) and copied once, straight into
/// the message; only a line that crosses the buffer's end is gathered first.
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
        lines: Lines {
            pending_from: false,
            prev_blank: true,
            preamble: false,
        },
        done: false,
        last_len: 0,
    }
}

/// The reader's state between messages.
struct Mbox<R> {
    reader: R,
    source: String,
    limits: InputLimits,
    /// Messages returned so far.
    n: usize,
    lines: Lines,
    done: bool,
    /// The last message's length: the next one's first buffer is about that size, not grown
    /// (and copied) from nothing.
    last_len: usize,
}

/// What the splitter knows from the lines before the current one.
struct Lines {
    /// A `From ` separator was read: its message follows.
    pending_from: bool,
    prev_blank: bool,
    /// Text seen before the first `From ` line.
    preamble: bool,
}

/// What a line does to the message being read.
#[derive(PartialEq, Eq)]
enum Step {
    /// The line was taken (or skipped): read on.
    More,
    /// The line is the next message's separator: this message ends before it.
    End,
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
        if !self.lines.pending_from && self.done {
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
        let first = (self.last_len + self.last_len / 8).clamp(4096, Pieces::FIRST);
        let mut msg = Pieces::with_capacity(first);
        let mut oversized = false;
        // A line that crosses the end of the reader's buffer, gathered.
        let mut carry = Carry::new(self.limits);
        let limits = self.limits;
        let mut take = |lines: &mut Lines, line: &[u8], len: u64| {
            lines.take(line, len, &mut msg, &mut oversized, limits)
        };
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                // The end, after a last line without its newline if there is one.
                if carry.len == 0 {
                    self.done = true;
                    break;
                }
                let step = take(&mut self.lines, &carry.head, carry.len);
                carry.clear();
                if step == Step::End {
                    break;
                }
                continue;
            }
            let (used, step) = match memchr::memchr(b'\n', buf) {
                Some(k) if carry.len == 0 => {
                    let line = &buf[..=k];
                    (k + 1, take(&mut self.lines, line, line.len() as u64))
                }
                Some(k) => {
                    carry.add(&buf[..=k]);
                    let step = take(&mut self.lines, &carry.head, carry.len);
                    carry.clear();
                    (k + 1, step)
                }
                None => {
                    carry.add(buf);
                    (buf.len(), Step::More)
                }
            };
            self.reader.consume(used);
            if step == Step::End {
                break;
            }
        }
        Ok(if oversized {
            Read::Oversized
        } else {
            self.last_len = msg.len();
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
        let why = if self.lines.preamble {
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

/// A line gathered across the ends of the reader's buffer: its length, and its bytes up to
/// one past the size limit. A longer line can only make its message oversized (then nothing
/// of it is kept, and only its head is looked at), so a 10 GB line holds no more memory than
/// the largest message would.
struct Carry {
    head: Vec<u8>,
    len: u64,
    keep: usize,
}

impl Carry {
    fn new(limits: InputLimits) -> Carry {
        Carry {
            head: Vec::new(),
            len: 0,
            keep: usize::try_from(limits.max_message_bytes.saturating_add(1)).unwrap_or(usize::MAX),
        }
    }

    fn add(&mut self, part: &[u8]) {
        self.len += part.len() as u64;
        let room = self.keep.saturating_sub(self.head.len());
        self.head.extend_from_slice(&part[..part.len().min(room)]);
    }

    fn clear(&mut self) {
        self.head.clear();
        self.len = 0;
    }
}

impl Lines {
    /// One line (with its newline, unless it is the input's last): a separator, text before
    /// the first separator, or a line of the message (unquoted, unless the message is over
    /// the size limit, which then holds nothing). `len` is the line's length; `line` may be
    /// only its head when it is longer than the size limit (it is then never kept, and is
    /// told apart as a separator or preamble by its head).
    fn take(
        &mut self,
        line: &[u8],
        len: u64,
        msg: &mut Pieces,
        oversized: &mut bool,
        limits: InputLimits,
    ) -> Step {
        let after_blank = self.prev_blank;
        self.prev_blank = line == b"\n" || line == b"\r\n";
        if line.starts_with(b"From ")
            && (!self.pending_from || after_blank || separator_shape(line))
        {
            if self.pending_from {
                return Step::End; // the next message starts here
            }
            self.pending_from = true;
            return Step::More;
        }
        if !self.pending_from {
            // Text before the first `From ` line is not a message; skip it.
            self.preamble |= !line.iter().all(u8::is_ascii_whitespace);
            return Step::More;
        }
        if *oversized {
            // Past the limit: read to the next separator without holding anything.
        } else if msg.len() as u64 + len > limits.max_message_bytes {
            *oversized = true;
            *msg = Pieces::default();
        } else {
            // Undo mboxrd quoting: `>From ` → `From `.
            let unq = line.first() == Some(&b'>')
                && line
                    .iter()
                    .position(|&b| b != b'>')
                    .is_some_and(|p| line[p..].starts_with(b"From "));
            msg.extend_from_slice(if unq { &line[1..] } else { line });
        }
        Step::More
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

    /// Empty, its first buffer sized for `first` bytes (at most [`Self::FIRST`]).
    fn with_capacity(first: usize) -> Self {
        Pieces {
            last: Vec::with_capacity(first.min(Self::FIRST)),
            ..Pieces::default()
        }
    }

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

    /// What the splitter makes of `data` read through a buffer of `cap` bytes.
    fn split(
        data: &[u8],
        cap: usize,
        limits: InputLimits,
    ) -> Vec<(String, Result<Vec<u8>, String>)> {
        let reader = std::io::BufReader::with_capacity(cap, std::io::Cursor::new(data.to_vec()));
        mbox("b".into(), reader, limits)
            .map(|m| (m.source, m.bytes))
            .collect()
    }

    #[test]
    fn mbox_lines_across_the_read_buffer_split_as_whole_lines() {
        // Separators, a quoted `>From`, CRLF blank lines, an oversized message, a body
        // `From` line, a last line without its newline: read through buffers of every small
        // size (lines cross their ends anywhere), the messages are those of one big buffer.
        let data = format!(
            "junk\nFrom a Mon Jan 1 00:00:00 2026\r\nSubject: 1\r\n\r\n>From x\r\n>>From y\nFrom here\n\nFrom b\nSubject: 2\n\n{}\nFrom c Tue Jan 2 10:11:12 2026\nSubject: 3\n\nlast line",
            "z".repeat(300)
        );
        let limits = InputLimits {
            max_message_bytes: 200,
        };
        let want = split(data.as_bytes(), 1 << 16, limits);
        assert_eq!(want.len(), 3, "{want:?}");
        assert_eq!(
            want[0].1.as_deref().unwrap(),
            b"Subject: 1\r\n\r\nFrom x\r\n>From y\nFrom here\n\n"
        );
        assert!(want[1].1.as_ref().unwrap_err().contains("size limit"));
        assert_eq!(want[2].1.as_deref().unwrap(), b"Subject: 3\n\nlast line");
        for cap in 1..40 {
            assert_eq!(split(data.as_bytes(), cap, limits), want, "buffer of {cap}");
        }
        // A separator as the very last line, without its newline, still opens a message
        // (an empty one, reported as such), whatever the buffer.
        let tail = b"From a\nSubject: 1\n\nx\n\nFrom b";
        let want = split(tail, 1 << 16, InputLimits::default());
        assert_eq!(want.len(), 2, "{want:?}");
        assert_eq!(want[1].1.as_ref().unwrap_err(), "empty input");
        for cap in 1..12 {
            assert_eq!(
                split(tail, cap, InputLimits::default()),
                want,
                "buffer of {cap}"
            );
        }
    }

    /// A line longer than the size limit, across many reads, makes its message oversized
    /// without being held whole, and the next message is read intact.
    #[test]
    fn a_line_over_the_limit_is_not_held_whole() {
        let limits = InputLimits {
            max_message_bytes: 200,
        };
        let data = format!(
            "From a\nSubject: long\n\n{}\n\nFrom b\nSubject: ok\n\nx\n",
            "y".repeat(10_000)
        );
        for cap in [7, 64, 1 << 16] {
            let got = split(data.as_bytes(), cap, limits);
            assert_eq!(got.len(), 2, "buffer of {cap}: {got:?}");
            assert!(got[0].1.as_ref().unwrap_err().contains("size limit"));
            assert_eq!(got[1].1.as_deref().unwrap(), b"Subject: ok\n\nx\n");
        }
        let mut carry = Carry::new(limits);
        for _ in 0..100 {
            carry.add(&[b'y'; 100]);
        }
        assert_eq!((carry.head.len(), carry.len), (201, 10_000));
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
