//! Registrable domains (public suffix list, compiled in) and first/third-party decisions.

use std::net::IpAddr;

/// The registrable domain ("eTLD+1") of a host: `email.brand.co.uk` → `brand.co.uk`.
/// IP addresses, `localhost` and bare public suffixes are their own registrable domain.
pub fn registrable(host: &str) -> String {
    let host = lower_host(host);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return bare.to_string();
    }
    match psl::domain_str(&host) {
        Some(d) => d.to_string(),
        None => host.into_owned(),
    }
}

/// A host as rules and lookups take it: lowercase, without a trailing dot. URL hosts are
/// already lowercase, so this rarely allocates.
pub fn lower_host(host: &str) -> std::borrow::Cow<'_, str> {
    let host = host.trim_end_matches('.');
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(host)
    }
}

/// The domain part of an email address, lowercased.
pub fn email_domain(addr: &str) -> Option<String> {
    let at = addr.rfind('@')?;
    let d = addr[at + 1..]
        .trim()
        .trim_end_matches('>')
        .to_ascii_lowercase();
    (!d.is_empty()).then_some(d)
}

/// Whether `host` is `domain` or one of its subdomains.
pub fn is_within(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case(domain)
        || (host.len() > domain.len()
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable("email.brand.co.uk"), "brand.co.uk");
        assert_eq!(registrable("u123.ct.sendgrid.net"), "sendgrid.net");
        assert_eq!(registrable("Foo.Example.COM."), "example.com");
        assert_eq!(registrable("127.0.0.1"), "127.0.0.1");
        assert_eq!(registrable("[::1]"), "::1");
        assert_eq!(registrable("localhost"), "localhost");
        // Private suffixes from the PSL count: each appspot app is its own site.
        assert_eq!(
            registrable("mailfoogae.appspot.com"),
            "mailfoogae.appspot.com"
        );
    }

    #[test]
    fn within() {
        assert!(is_within("a.b.example.com", "example.com"));
        assert!(is_within("example.com", "example.com"));
        assert!(!is_within("badexample.com", "example.com"));
    }
}
