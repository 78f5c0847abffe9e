//! Webmail proxies and link wrappers hide the original URL; match rules against the original.

use percent_encoding::percent_decode_str;
use url::Url;

use crate::domain::{is_within, lower_host};

/// If `url` is a known proxy/wrapper, the URL it wraps and the wrapper's name.
pub fn unwrap_once(url: &Url) -> Option<(Url, &'static str)> {
    let host = lower_host(url.host_str()?);
    let host: &str = &host;
    // Gmail image proxy: https://ci3.googleusercontent.com/proxy/…#<original>
    // and the newer https://ci3.googleusercontent.com/meips/…#<original>.
    if is_within(host, "googleusercontent.com")
        && (url.path().starts_with("/proxy/") || url.path().starts_with("/meips/"))
    {
        let frag = url.fragment()?;
        let orig = percent_decode_if_needed(frag);
        return parse_http(&orig).map(|u| (u, "Gmail image proxy"));
    }
    let (param, name): (&str, &'static str) = if is_within(host, "safelinks.protection.outlook.com")
    {
        ("url", "Outlook Safe Links")
    } else if is_within(host, "yusercontent.com") || is_within(host, "yimg.com") {
        ("url", "Yahoo image proxy")
    } else if host.ends_with(".mail.protection.outlook.com")
        || is_within(host, "outlook.office.com")
        || is_within(host, "outlook.live.com")
    {
        ("url", "Outlook image proxy")
    } else if (host == "www.google.com" || host == "google.com") && url.path() == "/url" {
        ("q", "Google redirect")
    } else if is_within(host, "urldefense.com") || is_within(host, "urldefense.proofpoint.com") {
        ("u", "Proofpoint URL Defense")
    } else {
        return None;
    };
    let value = url.query_pairs().find(|(k, _)| k == param)?.1.into_owned();
    parse_http(&value).map(|u| (u, name))
}

/// The wrapper name for a Wayback Machine copy's rewritten URLs.
pub const WAYBACK: &str = "Wayback Machine copy";

/// The original URL inside a Wayback Machine URL
/// (`https://web.archive.org/web/20181206101316js_/https://cdn.vendor.example/x.js`). Only for
/// pages that are archive copies: elsewhere such a URL is a request to the archive.
pub fn wayback(url: &Url) -> Option<Url> {
    if !url.host_str()?.eq_ignore_ascii_case("web.archive.org") {
        return None;
    }
    let rest = url.as_str().split_once("/web/")?.1;
    let (stamp, original) = rest.split_once('/')?;
    let digits = stamp.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4
        || !stamp[digits..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return None;
    }
    // The archive writes `http:/host` after some rewrites, and `//host` for relative schemes.
    let original = if let Some(r) = original.strip_prefix("//") {
        format!("https://{r}")
    } else {
        original.replacen(":/", "://", 1).replacen(":///", "://", 1)
    };
    parse_http(&original)
}

/// Unwraps nested wrappers (a Safe Links URL around a Gmail proxy URL…), at most 4 deep.
pub fn unwrap(url: Url) -> (Url, Option<&'static str>) {
    let mut current = url;
    let mut first_wrapper = None;
    for _ in 0..4 {
        match unwrap_once(&current) {
            Some((inner, name)) => {
                first_wrapper.get_or_insert(name);
                current = inner;
            }
            None => break,
        }
    }
    (current, first_wrapper)
}

/// URLs carried in query parameters (redirectors, click trackers): (parameter, URL).
pub fn embedded_urls(url: &Url) -> Vec<(String, Url)> {
    let mut out = Vec::new();
    if let Some(q) = url.query().filter(|q| mentions_http(q)) {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            let v = v.trim();
            if v.len() > 10
                && (v.starts_with("http://")
                    || v.starts_with("https://")
                    || v.starts_with("http%3A")
                    || v.starts_with("https%3A"))
            {
                if let Some(u) = parse_http(&percent_decode_if_needed(v)) {
                    out.push((format!("query:{k}"), u));
                }
            }
        }
    }
    // Click trackers that keep the destination in the path: Amazon SES
    // `/L0/https:%2F%2Fshop.example%2Fp/1/…` and `/CL0/https%3A%2F%2F…`.
    if mentions_http(url.path()) {
        for segment in url.path_segments().into_iter().flatten() {
            if segment.len() > 10 && starts_with_http(segment) && segment.contains('%') {
                let decoded = percent_decode_str(segment).decode_utf8_lossy();
                if decoded.contains("://") {
                    if let Some(u) = parse_http(&decoded) {
                        out.push(("path".to_string(), u));
                        break;
                    }
                }
            }
        }
    }
    out
}

/// Whether `s` contains `http` in any case: the cheap test before looking for URLs in it.
fn mentions_http(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr2_iter(b'h', b'H', b)
        .any(|i| b.len() >= i + 4 && b[i + 1..i + 4].eq_ignore_ascii_case(b"ttp"))
}

/// `http://`, `https://`, or either with the `:` or `/` percent-encoded.
fn starts_with_http(v: &str) -> bool {
    let b = v.as_bytes();
    let rest = if b.len() >= 5 && b[..5].eq_ignore_ascii_case(b"https") {
        &v[5..]
    } else if b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"http") {
        &v[4..]
    } else {
        return false;
    };
    rest.starts_with("://")
        || rest.starts_with(":%2F")
        || rest.starts_with(":%2f")
        || rest.starts_with("%3A")
        || rest.starts_with("%3a")
}

fn percent_decode_if_needed(s: &str) -> String {
    if s.starts_with("http%3A")
        || s.starts_with("https%3A")
        || s.starts_with("http%3a")
        || s.starts_with("https%3a")
    {
        percent_decode_str(s).decode_utf8_lossy().into_owned()
    } else {
        s.to_string()
    }
}

fn parse_http(s: &str) -> Option<Url> {
    let u = Url::parse(s.trim()).ok()?;
    matches!(u.scheme(), "http" | "https").then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn wayback_originals() {
        let w = |s: &str| wayback(&u(s)).map(|u| u.to_string());
        assert_eq!(
            w("https://web.archive.org/web/20181206101316js_/https://cdn.vendor.example/x.js?a=1"),
            Some("https://cdn.vendor.example/x.js?a=1".into())
        );
        assert_eq!(
            w("https://web.archive.org/web/20131110121040im_/http://vg08.met.vgwort.example/na/abc"),
            Some("http://vg08.met.vgwort.example/na/abc".into())
        );
        assert_eq!(
            w("https://web.archive.org/web/2019/https://site.example/"),
            Some("https://site.example/".into())
        );
        assert_eq!(w("https://web.archive.org/_static/js/wombat.js"), None);
        assert_eq!(
            w("https://cdn.vendor.example/web/2019/https://x.example/"),
            None
        );
    }

    #[test]
    fn destinations_in_the_path() {
        let found = |s: &str| {
            embedded_urls(&u(s))
                .into_iter()
                .map(|(at, url)| (at, url.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found("https://a.r.us-east-1.awstrack.me/L0/https:%2F%2Fshop.example%2Fp%3Fx=1/1/0100-abc/sig=12"),
            [("path".to_string(), "https://shop.example/p?x=1".to_string())]
        );
        assert_eq!(
            found("https://track.example/CL0/https%3A%2F%2Fapp.example%2Fdashboard/1/0100/sig=3"),
            [(
                "path".to_string(),
                "https://app.example/dashboard".to_string()
            )]
        );
        assert_eq!(
            found("https://t.example/c?url=https%3A%2F%2Fshop.example%2F"),
            [("query:url".to_string(), "https://shop.example/".to_string())]
        );
        // A path that merely mentions http is not a destination.
        assert!(found("https://cdn.example/http-guide/httpbin.png").is_empty());
    }

    #[test]
    fn gmail_proxies() {
        let (inner, by) = unwrap(u("https://ci3.googleusercontent.com/meips/ADKq_NbX#https://u1.ct.sendgrid.net/wf/open?upn=abc"));
        assert_eq!(inner.as_str(), "https://u1.ct.sendgrid.net/wf/open?upn=abc");
        assert_eq!(by, Some("Gmail image proxy"));
        let (inner, _) = unwrap(u(
            "https://ci5.googleusercontent.com/proxy/xyz=s0-d-e1-ft#http://t.example/o.gif",
        ));
        assert_eq!(inner.as_str(), "http://t.example/o.gif");
    }

    #[test]
    fn safelinks_and_nesting() {
        let orig = "https://click.example/ls/click?upn=1";
        let enc: String = url::form_urlencoded::byte_serialize(orig.as_bytes()).collect();
        let (inner, by) = unwrap(u(&format!(
            "https://nam12.safelinks.protection.outlook.com/?url={enc}&data=05%7C01"
        )));
        assert_eq!((inner.as_str(), by), (orig, Some("Outlook Safe Links")));
        assert_eq!(
            unwrap(u("https://example.com/a?url=https://b.example/")).1,
            None
        );
    }

    #[test]
    fn embedded() {
        let e = embedded_urls(&u(
            "https://r.example/c?x=1&target=https%3A%2F%2Fshop.example%2Fp%3Fa%3D1",
        ));
        assert_eq!(e[0].0, "query:target");
        assert_eq!(e[0].1.as_str(), "https://shop.example/p?a=1");
    }
}
