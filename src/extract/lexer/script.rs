//! Where script data ends: the standard's script-data states, including `<!--` escapes
//! and the "double-escaped" `<script>` inside them, where `</script>` does not end the script.

use super::is_ws;

/// Whether `b[at..]` starts with `end` (case-insensitive) then whitespace, `/` or `>`.
pub(super) fn appropriate_end(b: &[u8], at: usize, end: &str) -> bool {
    let n = end.len();
    b.len() > at + n
        && b[at..at + n].eq_ignore_ascii_case(end.as_bytes())
        && (is_ws(b[at + n]) || matches!(b[at + n], b'/' | b'>'))
}

/// Where script data starting at `start` ends: the `<` of its end tag, or the input's end.
/// Follows the standard's script-data states, including `<!--` escapes and the
/// "double-escaped" `<script>` inside them, where `</script>` does not end the script.
pub(super) fn script_end(b: &[u8], start: usize, end: &str) -> usize {
    let mut s = Script::Data;
    let mut i = start;
    while i < b.len() {
        let step = match s {
            Script::Data => script_data(b, i, end),
            Script::Escaped | Script::EscapedDash | Script::EscapedDashDash => {
                script_escaped(b, i, s, end)
            }
            Script::Double | Script::DoubleDash | Script::DoubleDashDash => script_double(b, i, s),
        };
        match step {
            Step::Ends(at) => return at,
            Step::Goes(next, at) => (s, i) = (next, at),
        }
    }
    b.len()
}

/// The standard's script-data states (the dash states count the dashes seen).
#[derive(Clone, Copy, PartialEq)]
enum Script {
    Data,
    Escaped,
    EscapedDash,
    EscapedDashDash,
    Double,
    DoubleDash,
    DoubleDashDash,
}

/// One step of [`script_end`]: the script ends at a position, or goes on in a state.
enum Step {
    Ends(usize),
    Goes(Script, usize),
}

/// The end of a run of ASCII letters starting at `at`.
fn letters_end(b: &[u8], at: usize) -> usize {
    at + b[at..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count()
}

/// Whether `b[at]` ends a tag name: whitespace, `/` or `>`.
fn ends_name(b: &[u8], at: usize) -> bool {
    at < b.len() && (is_ws(b[at]) || matches!(b[at], b'/' | b'>'))
}

/// Script data: skip to the next `<`; an end tag ends the script, `<!--` escapes.
fn script_data(b: &[u8], i: usize, end: &str) -> Step {
    let Some(lt) = memchr::memchr(b'<', &b[i..]) else {
        return Step::Ends(b.len());
    };
    let i = i + lt;
    if b.get(i + 1) == Some(&b'/') {
        if appropriate_end(b, i + 2, end) {
            return Step::Ends(i);
        }
        Step::Goes(Script::Data, i + 2)
    } else if b[i + 1..].starts_with(b"!--") {
        // Script data escape start: `<!--`, then the dash-dash state.
        Step::Goes(Script::EscapedDashDash, i + 4)
    } else {
        Step::Goes(Script::Data, i + 1)
    }
}

/// Inside `<!--`: `-->` leaves, an end tag still ends the script, `<script` double-escapes.
fn script_escaped(b: &[u8], i: usize, s: Script, end: &str) -> Step {
    match b[i] {
        b'-' => Step::Goes(
            if s == Script::Escaped {
                Script::EscapedDash
            } else {
                Script::EscapedDashDash
            },
            i + 1,
        ),
        b'>' if s == Script::EscapedDashDash => Step::Goes(Script::Data, i + 1),
        b'<' if b.get(i + 1) == Some(&b'/') => {
            if appropriate_end(b, i + 2, end) {
                return Step::Ends(i);
            }
            Step::Goes(Script::Escaped, i + 2)
        }
        b'<' if b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
            // Double escape start: `<script` then whitespace, `/` or `>`.
            let j = letters_end(b, i + 1);
            if ends_name(b, j) && b[i + 1..j].eq_ignore_ascii_case(b"script") {
                Step::Goes(Script::Double, j + 1)
            } else {
                Step::Goes(Script::Escaped, j)
            }
        }
        _ => Step::Goes(Script::Escaped, i + 1),
    }
}

/// Inside `<!--<script>`: `</script` returns to the escaped state, `-->` leaves.
fn script_double(b: &[u8], i: usize, s: Script) -> Step {
    match b[i] {
        b'-' => Step::Goes(
            if s == Script::Double {
                Script::DoubleDash
            } else {
                Script::DoubleDashDash
            },
            i + 1,
        ),
        b'>' if s == Script::DoubleDashDash => Step::Goes(Script::Data, i + 1),
        b'<' if b.get(i + 1) == Some(&b'/') => {
            // Double escape end: `</script` then whitespace, `/` or `>`.
            let j = letters_end(b, i + 2);
            if ends_name(b, j) && b[i + 2..j].eq_ignore_ascii_case(b"script") {
                Step::Goes(Script::Escaped, j + 1)
            } else {
                Step::Goes(Script::Double, j.max(i + 2))
            }
        }
        _ => Step::Goes(Script::Double, i + 1),
    }
}
