//! The rule files compiled into the binary, so a fresh install works offline.
//! Order matters: later files win domain ties (mail platforms over the generic web list).

pub const FILES: &[(&str, &str)] = &[
    (
        "rules/entities.toml",
        include_str!("../../rules/entities.toml"),
    ),
    ("rules/web.toml", include_str!("../../rules/web.toml")),
    ("rules/mail.toml", include_str!("../../rules/mail.toml")),
    ("rules/site.toml", include_str!("../../rules/site.toml")),
    (
        "rules/snippets.toml",
        include_str!("../../rules/snippets.toml"),
    ),
    ("rules/mtb.toml", include_str!("../../rules/mtb.toml")),
];

const CNAME: &[(&str, &str)] = &[
    (
        "cname/customer_io.txt",
        include_str!("../../rules/cname/customer_io.txt"),
    ),
    (
        "cname/salesforce_marketing_cloud.txt",
        include_str!("../../rules/cname/salesforce_marketing_cloud.txt"),
    ),
    (
        "cname/sailthru.txt",
        include_str!("../../rules/cname/sailthru.txt"),
    ),
    (
        "cname/cordial.txt",
        include_str!("../../rules/cname/cordial.txt"),
    ),
];

pub fn cname_file(name: &str) -> Option<&'static str> {
    CNAME.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
