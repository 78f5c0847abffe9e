//! README.md documents the JSON contract with an example; every key it shows must be a key
//! the tool really writes, so the README and the tool cannot drift apart.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::pixscan;

fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

fn run(args: &[&str]) -> Value {
    let out = pixscan().args(args).output().unwrap();
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn readme_json_example_keys_are_the_tools() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("### JSON (`--format json`")
        .expect("README has a JSON section");
    let block = &readme[start..];
    let open = block.find("```json").unwrap() + "```json".len();
    let close = block[open..].find("```").unwrap();
    let example = &block[open..open + close];
    let re = regex::Regex::new(r#""([A-Za-z_]+)"\s*:"#).unwrap();
    let documented: BTreeSet<String> = example
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .flat_map(|l| {
            re.captures_iter(l)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(documented.len() > 30, "{documented:?}");

    let mut real = BTreeSet::new();
    keys(
        &run(&["eml", "--format", "json", "fixtures/mail"]),
        &mut real,
    );
    keys(
        &run(&[
            "site",
            "--format",
            "json",
            "--base-url",
            "https://www.example.com",
            "fixtures/site-build",
        ]),
        &mut real,
    );
    let missing: Vec<&String> = documented.difference(&real).collect();
    assert!(
        missing.is_empty(),
        "README documents keys the tool never writes: {missing:?}"
    );
}
