//! Advanced matching: tag init calls that hand the visitor's own data to the vendor
//! (`fbq('init', id, {em: …})`, `ttq.identify({…})`), with the keys that carry it.

use regex::Regex;

use super::referrer::email_re;
use crate::model::{Encoding, Identifier, IdentifierKind};

/// Tag calls that hand the visitor's own data to the vendor ("advanced matching"), with the
/// entity they report to and the keys that carry personal data.
const MATCHING_CALLS: &[(&str, &str, &[&str])] = &[
    (
        r#"fbq\(\s*['"]init['"]\s*,\s*['"]?[0-9]+['"]?\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Facebook",
        &["em", "ph", "fn", "ln", "db", "external_id"],
    ),
    (
        r#"snaptr\(\s*['"]init['"]\s*,\s*['"][^'"]+['"]\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Snapchat",
        &[
            "user_email",
            "user_phone_number",
            "user_hashed_email",
            "user_hashed_phone_number",
        ],
    ),
    (
        r#"ttq\.identify\(\s*\{(?P<body>[^}]{0,600})\}"#,
        "TikTok",
        &[
            "email",
            "phone_number",
            "sha256_email",
            "sha256_phone_number",
            "external_id",
        ],
    ),
    (
        r#"gtag\(\s*['"]set['"]\s*,\s*['"]user_data['"]\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Google Analytics",
        &[
            "email",
            "phone_number",
            "sha256_email_address",
            "sha256_phone_number",
        ],
    ),
    (
        r#"pintrk\(\s*['"]load['"]\s*,\s*['"]?[0-9]+['"]?\s*,\s*\{(?P<body>[^}]{0,600})\}"#,
        "Pinterest",
        &["em", "email"],
    ),
];

fn matching_res() -> &'static [(Regex, &'static str, &'static [&'static str])] {
    static RE: std::sync::OnceLock<Vec<(Regex, &'static str, &'static [&'static str])>> =
        std::sync::OnceLock::new();
    RE.get_or_init(|| {
        MATCHING_CALLS
            .iter()
            .map(|(p, e, k)| (Regex::new(p).expect("matching pattern"), *e, *k))
            .collect()
    })
}

fn matching_value_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"['"]?(?P<key>[A-Za-z_][A-Za-z0-9_]*)['"]?\s*:\s*(?:['"](?P<val>[^'"]{0,200})['"]|(?P<var>[A-Za-z_$][\w.$]*))"#)
            .expect("matching value pattern")
    })
}

/// The visitor's identity handed to a tag in its init call: (entity, identifier) per key.
/// A value may be the address, its hash, a phone number, or a variable the page fills in.
pub(super) fn advanced_matching(text: &str) -> Vec<(&'static str, Identifier)> {
    let mut out = Vec::new();
    if !text.contains('{') {
        return out;
    }
    for (re, entity, keys) in matching_res() {
        for c in re.captures_iter(text).take(10) {
            let Some(body) = c.name("body") else { continue };
            for v in matching_value_re().captures_iter(body.as_str()) {
                let key = &v["key"];
                if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                    continue;
                }
                let (kind, encoding, value) = match (v.name("val"), v.name("var")) {
                    (Some(val), _) => {
                        let val = val.as_str().trim();
                        if val.is_empty() {
                            continue;
                        }
                        let hex = val.bytes().all(|b| b.is_ascii_hexdigit());
                        if email_re().is_match(val) {
                            (
                                IdentifierKind::VisitorEmail,
                                Encoding::Plain,
                                val.to_string(),
                            )
                        } else if hex && val.len() == 64 {
                            (
                                IdentifierKind::VisitorEmailHash,
                                Encoding::Sha256,
                                val.to_string(),
                            )
                        } else if hex && val.len() == 32 {
                            (
                                IdentifierKind::VisitorEmailHash,
                                Encoding::Md5,
                                val.to_string(),
                            )
                        } else if val.bytes().filter(u8::is_ascii_digit).count() >= 7
                            && val
                                .bytes()
                                .all(|b| b.is_ascii_digit() || b"+-() ".contains(&b))
                        {
                            (
                                IdentifierKind::VisitorPhone,
                                Encoding::Plain,
                                val.to_string(),
                            )
                        } else {
                            (
                                IdentifierKind::VisitorData,
                                Encoding::Template,
                                val.to_string(),
                            )
                        }
                    }
                    (None, Some(var)) => (
                        IdentifierKind::VisitorData,
                        Encoding::Variable,
                        var.as_str().to_string(),
                    ),
                    _ => continue,
                };
                out.push((
                    *entity,
                    Identifier {
                        location: format!("init:{key}"),
                        kind,
                        encoding,
                        value: crate::analyze::decode::shown(&value),
                    },
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::advanced_matching;
    use crate::model::{Encoding, IdentifierKind};

    #[test]
    fn identity_handed_to_tags() {
        let m = advanced_matching(
            "fbq('init', '1234567890', {em: 'jane.doe@example.org', ph: '+1 555 010 9999'});",
        );
        let kinds: Vec<_> = m
            .iter()
            .map(|(e, i)| (*e, i.kind, i.location.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("Facebook", IdentifierKind::VisitorEmail, "init:em"),
                ("Facebook", IdentifierKind::VisitorPhone, "init:ph")
            ]
        );
        let h = "a".repeat(64);
        let m = advanced_matching(&format!("ttq.identify({{sha256_email: '{h}'}})"));
        assert_eq!(
            (m[0].0, m[0].1.kind, m[0].1.encoding),
            ("TikTok", IdentifierKind::VisitorEmailHash, Encoding::Sha256)
        );
        let m = advanced_matching("snaptr('init', 'abc-123', {user_email: customer.email});");
        assert_eq!(
            (m[0].1.kind, m[0].1.encoding),
            (IdentifierKind::VisitorData, Encoding::Variable)
        );
        assert!(advanced_matching("fbq('init', '1234567890');").is_empty());
    }
}
