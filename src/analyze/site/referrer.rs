//! What a page gives away through its own URL: the referrer policy (header, then meta) and
//! the personal data in the page URL's query that a full-URL referrer carries to third
//! parties.

use std::sync::OnceLock;

use regex::Regex;
use url::Url;

use crate::model::{ReferrerInfo, ReferrerSends, ReferrerSource};

/// The policy's effect on a cross-origin request: `full-url`, `origin` or `none`.
pub fn referrer_sends(policy: &str) -> ReferrerSends {
    match policy.trim().to_ascii_lowercase().as_str() {
        "no-referrer" | "never" | "same-origin" => ReferrerSends::Nothing,
        "unsafe-url" | "always" | "no-referrer-when-downgrade" | "default" => {
            ReferrerSends::FullUrl
        }
        _ => ReferrerSends::Origin,
    }
}

const POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
    "never",
    "always",
    "default",
];

/// The last recognised token wins, as browsers do for comma-separated header values.
fn valid_policy(value: &str) -> Option<String> {
    value
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .rfind(|t| POLICIES.contains(&t.as_str()))
}

pub(super) fn referrer_info(header: Option<&str>, meta: Option<&str>) -> ReferrerInfo {
    let (policy, from) = match (meta.and_then(valid_policy), header.and_then(valid_policy)) {
        (Some(m), _) => (m, ReferrerSource::Meta),
        (None, Some(h)) => (h, ReferrerSource::Header),
        (None, None) => (
            "strict-origin-when-cross-origin".to_string(),
            ReferrerSource::Default,
        ),
    };
    let sends = referrer_sends(&policy);
    // The page URL itself leaks only when the full URL goes out; an origin is the site.
    ReferrerInfo {
        policy,
        from,
        sends,
        leaks: sends == ReferrerSends::FullUrl,
    }
}

pub(super) fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$").unwrap()
    })
}

/// Personal data in a page URL's query: addresses, phone numbers, names, as evidence.
pub fn personal_data_in_url(url: &Url) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in url.query_pairs() {
        let key = k.to_ascii_lowercase().replace(['-', '_', '[', ']'], "");
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let what = if email_re().is_match(v) {
            Some("email address")
        } else if matches!(
            key.as_str(),
            "phone" | "tel" | "telephone" | "mobile" | "cell" | "phonenumber" | "msisdn"
        ) && digits >= 7
        {
            Some("phone number")
        } else if matches!(
            key.as_str(),
            "name"
                | "fullname"
                | "firstname"
                | "lastname"
                | "fname"
                | "lname"
                | "surname"
                | "givenname"
        ) {
            Some("name")
        } else if matches!(
            key.as_str(),
            "address"
                | "street"
                | "zip"
                | "zipcode"
                | "postcode"
                | "postalcode"
                | "dob"
                | "birthdate"
                | "birthday"
                | "ssn"
        ) {
            Some("postal or identity data")
        } else {
            None
        };
        if let Some(w) = what {
            out.push(format!("{w} in query parameter {k}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_policies() {
        assert_eq!(referrer_info(None, None).sends, ReferrerSends::Origin);
        assert!(
            !referrer_info(None, None).leaks,
            "an origin is not the page URL"
        );
        assert_eq!(
            referrer_info(Some("no-referrer"), None).sends,
            ReferrerSends::Nothing
        );
        assert_eq!(
            referrer_info(Some("unsafe-url, bogus"), None).sends,
            ReferrerSends::FullUrl
        );
        let r = referrer_info(Some("no-referrer"), Some("unsafe-url"));
        assert_eq!(
            (r.from, r.sends),
            (ReferrerSource::Meta, ReferrerSends::FullUrl)
        );
        assert!(!referrer_info(Some("same-origin"), None).leaks);
        assert!(referrer_info(Some("no-referrer-when-downgrade"), None).leaks);
    }

    #[test]
    fn personal_data() {
        let u = Url::parse(
            "https://shop.example/account/?email=jane.doe%40example.org&phone=5551234567&page=2",
        )
        .unwrap();
        assert_eq!(
            personal_data_in_url(&u),
            vec![
                "email address in query parameter email",
                "phone number in query parameter phone"
            ]
        );
        assert!(
            personal_data_in_url(&Url::parse("https://shop.example/?q=shoes&page=2").unwrap())
                .is_empty()
        );
    }
}
