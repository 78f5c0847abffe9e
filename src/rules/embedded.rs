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

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every file in `rules/` is compiled in: a rule file or CNAME list added to the folder
    /// but not here would pass `rules check` (which checks what the binary carries) unseen.
    #[test]
    fn every_rule_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let listed = |sub: &str, ext: &str| {
            let mut names: Vec<String> = std::fs::read_dir(dir.join(sub))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(ext))
                .collect();
            names.sort();
            names
        };
        let mut toml: Vec<String> = super::FILES
            .iter()
            .map(|(origin, _)| origin.trim_start_matches("rules/").to_string())
            .collect();
        toml.sort();
        assert_eq!(toml, listed("", ".toml"));
        let mut cname: Vec<String> = super::CNAME
            .iter()
            .map(|(name, _)| name.trim_start_matches("cname/").to_string())
            .collect();
        cname.sort();
        assert_eq!(cname, listed("cname", ".txt"));
    }
}
