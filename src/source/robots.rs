//! robots.txt, read by the `texting_robots` crate: the group for our token (`pixscan`) if
//! the file names it, else `*`; longest match wins, Allow on ties; `*` wildcards and a `$`
//! end anchor; `Sitemap:` lines for everyone.

use crate::text::shorten;

/// The product token robots.txt groups are matched against (case-insensitive, whole token),
/// whatever `--user-agent` sends.
pub const ROBOTS_TOKEN: &str = "pixscan";

/// The rules of one origin's robots.txt for our token.
#[derive(Debug, Default)]
pub struct Robots {
    robot: Option<texting_robots::Robot>,
    /// Set when the file could not be parsed: then nothing on the origin is allowed.
    error: Option<String>,
    pub sitemaps: Vec<String>,
}

impl Robots {
    /// Parses a robots.txt body. A file the parser rejects (in practice: a rule whose
    /// pattern is too large to compile) allows nothing, and says why in [`Robots::error`].
    pub fn parse(body: impl AsRef<[u8]>) -> Robots {
        match texting_robots::Robot::new(ROBOTS_TOKEN, body.as_ref()) {
            Ok(robot) => Robots {
                sitemaps: robot.sitemaps.clone(),
                robot: Some(robot),
                error: None,
            },
            Err(e) => Robots {
                robot: None,
                // `{:#}` prints the whole chain: the rule that failed, then the cause. The
                // rule can be long: the note keeps its start.
                error: Some(shorten(&format!("{e:#}"), 300)),
                sitemaps: Vec::new(),
            },
        }
    }

    /// May a URL (absolute, or path and query) be fetched? No robots.txt at all allows
    /// everything.
    pub fn allowed(&self, url: &str) -> bool {
        match (&self.robot, &self.error) {
            (Some(r), _) => r.allowed(url),
            (None, Some(_)) => false,
            (None, None) => true,
        }
    }

    /// Why the file could not be parsed, if it could not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// `Crawl-delay` for our group, in seconds (read, not yet acted on by the crawler).
    pub fn crawl_delay(&self) -> Option<f32> {
        self.robot.as_ref().and_then(|r| r.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_star_group() {
        let r = Robots::parse("User-agent: googlebot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\nAllow: /private/ok\nDisallow: /*.pdf$\nSitemap: https://x.example/sitemap.xml\n");
        assert!(r.allowed("/"));
        assert!(!r.allowed("/private/a"));
        assert!(r.allowed("/private/ok.html"));
        assert!(!r.allowed("/docs/a.pdf"));
        assert!(r.allowed("/docs/a.pdf?x"));
        assert!(!r.allowed("https://x.example/private/a?q=1"));
        assert_eq!(r.sitemaps, vec!["https://x.example/sitemap.xml"]);
        assert!(Robots::parse("User-agent: *\nDisallow:\n").allowed("/anything"));
        assert!(Robots::default().allowed("/anything"));
        assert!(Robots::parse("").allowed("/anything"));
    }

    #[test]
    fn our_group_wins_over_star() {
        let txt = "User-agent: *\nDisallow: /\n\nUser-agent: PixScan\nDisallow: /admin/\n";
        let r = Robots::parse(txt);
        assert!(r.allowed("/shop/"));
        assert!(!r.allowed("/admin/x"));
        // A group for another product token that merely starts the same is not ours.
        let r = Robots::parse("User-agent: pixscanner\nDisallow: /\n");
        assert!(r.allowed("/shop/"));
    }

    #[test]
    fn longest_match_and_ties() {
        let r = Robots::parse("User-agent: *\nDisallow: /shop/\nAllow: /shop/sale/\n");
        assert!(!r.allowed("/shop/jackets/"));
        assert!(r.allowed("/shop/sale/x"));
        // Equal length: Allow wins.
        let r = Robots::parse("User-agent: *\nDisallow: /a\nAllow: /a\n");
        assert!(r.allowed("/a/b"));
        // A longer Disallow beats a shorter Allow.
        let r = Robots::parse("User-agent: *\nAllow: /\nDisallow: /cart\n");
        assert!(!r.allowed("/cart/checkout"));
        assert!(!r.allowed("/cartography"), "a rule is a prefix");
        assert!(r.allowed("/car"));
        assert!(!r.allowed("/cart"));
    }

    #[test]
    fn crawl_delay_is_read() {
        let r = Robots::parse("User-agent: *\nCrawl-delay: 2.5\nDisallow: /x\n");
        assert_eq!(r.crawl_delay(), Some(2.5));
        assert_eq!(Robots::default().crawl_delay(), None);
    }

    #[test]
    fn hostile_bodies_do_not_panic() {
        let bodies: [&[u8]; 5] = [
            b"\xff\xfe\x00garbage\x00\nUser-agent: *\nDisallow: /\xff\n",
            b"<!DOCTYPE html><html><body>Not a robots file</body></html>",
            b"User-agent: *\nDisallow: /****************************************a$\n",
            b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /x\r\n",
            b"Disallow: /y\n",
        ];
        for b in bodies {
            let _ = Robots::parse(b).allowed("/x");
        }
        assert!(!Robots::parse(bodies[3]).allowed("/x"));
        // No User-agent line: the rules apply to everyone.
        assert!(!Robots::parse(bodies[4]).allowed("/y"));
    }

    #[test]
    fn an_unparseable_file_allows_nothing_and_says_why() {
        // A `$` rule with 40 or more wildcards is over the pattern compiler's size limit
        // (measured with texting_robots 0.2.2), and the crate then rejects the whole file.
        let huge = format!("User-agent: *\nDisallow: /{}$\n", "a*".repeat(5_000));
        let r = Robots::parse(huge);
        let e = r.error().expect("rejected");
        assert!(e.contains("Invalid robots.txt rule"), "{e}");
        assert!(e.chars().count() <= 301, "the note stays short");
        assert!(!r.allowed("/"));
        assert!(r.sitemaps.is_empty());
    }
}
