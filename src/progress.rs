//! The progress line (stderr, drawn by indicatif only on a terminal): how far a run is, out
//! of a total where one is known, and a rate people read (`1,234 msg/s`, `4.2 pages/s`).

use std::time::Duration;

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noun {
    Messages,
    Pages,
}

impl Noun {
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Noun::Messages => ("message", "messages", "msg"),
            Noun::Pages => ("page", "pages", "pages"),
        }
    }
}

/// The total a count runs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Not known (a crawl without a bound, stdin, mbox files read so far).
    Unknown,
    /// Known: the files of a build folder.
    Exactly(u64),
    /// A bound: a crawl's `--max-pages`.
    AtMost(u64),
}

/// One state of the progress line.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    /// A phase name before the count (`browser`), if any.
    pub phase: Option<&'a str>,
    pub done: u64,
    pub noun: Noun,
    pub total: Total,
    /// Mail: (files read through, files found); shown when more than one file was found
    /// (messages per file are not known before an mbox is read).
    pub files: Option<(u64, u64)>,
    /// Time since the count started, for the rate.
    pub elapsed: Duration,
    /// What is being worked on (a URL or a path), shown last.
    pub current: Option<&'a str>,
}

/// `1234567` → `1,234,567`. Hand-written on purpose: one separator in ten lines, where
/// num-format or thousands would add a dependency (and locale tables) for it.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `2,345 msg/s`, `12 pages/s`, `4.2 pages/s`, `36 pages/min`; `None` until there is
/// something to measure (nothing done, or under a fifth of a second).
pub fn rate(done: u64, elapsed: Duration, noun: Noun) -> Option<String> {
    let secs = elapsed.as_secs_f64();
    if done == 0 || secs < 0.2 {
        return None;
    }
    let unit = noun.words().2;
    let per_sec = done as f64 / secs;
    Some(if per_sec >= 10.0 {
        format!("{} {unit}/s", group(per_sec.round() as u64))
    } else if per_sec >= 1.0 {
        format!("{per_sec:.1} {unit}/s")
    } else {
        format!(
            "{} {unit}/min",
            group((per_sec * 60.0).round().max(1.0) as u64)
        )
    })
}

/// The progress line: `1,234 messages · 57 of 340 files · 2,345 msg/s`,
/// `12 of 340 pages · 24 pages/s · public/blog/index.html`,
/// `browser: 3 pages (at most 100) · 36 pages/min · https://…`.
pub fn render(l: &Line<'_>) -> String {
    let (one, many, _) = l.noun.words();
    let mut parts: Vec<String> = Vec::new();
    let count = match l.total {
        Total::Exactly(t) => format!(
            "{} of {} {}",
            group(l.done),
            group(t),
            if t == 1 { one } else { many }
        ),
        Total::AtMost(t) => format!(
            "{} {} (at most {})",
            group(l.done),
            if l.done == 1 { one } else { many },
            group(t)
        ),
        Total::Unknown => format!("{} {}", group(l.done), if l.done == 1 { one } else { many }),
    };
    parts.push(match l.phase {
        Some(p) => format!("{p}: {count}"),
        None => count,
    });
    if let Some((done, found)) = l.files.filter(|&(_, found)| found > 1) {
        parts.push(format!("{} of {} files", group(done), group(found)));
    }
    if let Some(r) = rate(l.done, l.elapsed, l.noun) {
        parts.push(r);
    }
    if let Some(c) = l.current {
        parts.push(c.to_string());
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(done: u64, noun: Noun, total: Total, secs: f64) -> Line<'static> {
        Line {
            phase: None,
            done,
            noun,
            total,
            files: None,
            elapsed: Duration::from_secs_f64(secs),
            current: None,
        }
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn rates_read_well() {
        let r = |done, secs| rate(done, Duration::from_secs_f64(secs), Noun::Messages);
        assert_eq!(r(23_450, 10.0).as_deref(), Some("2,345 msg/s"));
        assert_eq!(r(120, 10.0).as_deref(), Some("12 msg/s"));
        assert_eq!(r(42, 10.0).as_deref(), Some("4.2 msg/s"));
        assert_eq!(r(6, 10.0).as_deref(), Some("36 msg/min"));
        assert_eq!(r(1, 3600.0).as_deref(), Some("1 msg/min"), "never 0/min");
        assert_eq!(r(0, 10.0), None);
        assert_eq!(r(5, 0.1), None, "too early to say");
        assert_eq!(
            rate(24, Duration::from_secs(2), Noun::Pages).as_deref(),
            Some("12 pages/s")
        );
    }

    #[test]
    fn lines_with_and_without_totals() {
        let mut l = line(1234, Noun::Messages, Total::Unknown, 0.5);
        l.files = Some((57, 340));
        assert_eq!(render(&l), "1,234 messages · 57 of 340 files · 2,468 msg/s");
        // One file (an mbox): its message count is not known, so no file part.
        l.files = Some((0, 1));
        assert_eq!(render(&l), "1,234 messages · 2,468 msg/s");
        let mut l = line(12, Noun::Pages, Total::Exactly(340), 0.5);
        l.current = Some("public/blog/index.html");
        assert_eq!(
            render(&l),
            "12 of 340 pages · 24 pages/s · public/blog/index.html"
        );
        let mut l = line(3, Noun::Pages, Total::AtMost(100), 5.0);
        l.phase = Some("browser");
        assert_eq!(render(&l), "browser: 3 pages (at most 100) · 36 pages/min");
        assert_eq!(
            render(&line(1, Noun::Pages, Total::AtMost(1_000), 0.0)),
            "1 page (at most 1,000)"
        );
        assert_eq!(
            render(&line(1, Noun::Messages, Total::Exactly(1), 0.0)),
            "1 of 1 message"
        );
    }
}
