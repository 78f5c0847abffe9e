//! `pixscan rules check [FILE…]`: the one validator of rule files. It checks the built-in
//! rules (the `rules/` folder the binary was built from: CI runs it), then each file given,
//! on top of them as `--rules` would load it. A file is loaded exactly as a run loads it,
//! collecting every problem instead of stopping at the first, and linted for the
//! conventions of `rules/README.md` ([`super::lint`]). Problems name the file and line.

use std::path::Path;

use super::lint::Lint;
use super::load::{embedded_sources, read_file, Source};
use super::{RuleError, Ruleset};

/// What one checked file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCounts {
    pub file: String,
    /// `[[entity]]` blocks, and how many of them named an entity no earlier file had.
    pub entities: usize,
    pub new_entities: usize,
    pub endpoints: usize,
    pub headers: usize,
    pub cnames: usize,
    pub signatures: usize,
    pub consent: usize,
}

impl std::fmt::Display for FileCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} entities ({} new), {} endpoint rules, {} header rules, {} cname lists",
            self.file, self.entities, self.new_entities, self.endpoints, self.headers, self.cnames
        )?;
        if self.signatures > 0 || self.consent > 0 {
            write!(
                f,
                ", {} signatures, {} consent platforms",
                self.signatures, self.consent
            )?;
        }
        Ok(())
    }
}

/// Every file passed: what each holds, one line each, then `rules OK`.
#[derive(Debug, Clone)]
pub struct Checked {
    pub files: Vec<FileCounts>,
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.files {
            writeln!(f, "{c}")?;
        }
        writeln!(f, "rules OK ({} files)", self.files.len())
    }
}

/// The check failed: every problem, one per line (`FILE:LINE: message`), in load order.
#[derive(Debug, Clone)]
pub struct CheckFailed {
    pub problems: Vec<RuleError>,
}

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "rules check found {} problem(s):", self.problems.len())?;
        // A regex error spans lines: its continuation lines are indented under it.
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("  {}", p.to_string().replace('\n', "\n    ")))
            .collect();
        write!(f, "{}", lines.join("\n"))
    }
}

impl std::error::Error for CheckFailed {}

/// Checks the built-in rules and then `files` on top of them.
pub fn check(files: &[impl AsRef<Path>]) -> Result<Checked, CheckFailed> {
    let mut run = Run::default();
    for src in embedded_sources(false) {
        run.file(&src);
    }
    for path in files {
        match read_file(path.as_ref()) {
            Ok((origin, text, dir)) => {
                let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
                run.file(&Source {
                    origin: &origin,
                    text: &text,
                    read_cname: &read,
                    lazy: false,
                });
            }
            Err(e) => run.problems.push(e),
        }
    }
    if let Err(e) = run.rules.finish() {
        run.problems.push(e);
    }
    if run.problems.is_empty() {
        Ok(Checked { files: run.counts })
    } else {
        Err(CheckFailed {
            problems: run.problems,
        })
    }
}

/// One check over several files: the ruleset they build, the lint's state across files.
#[derive(Default)]
struct Run {
    rules: Ruleset,
    lint: Lint,
    counts: Vec<FileCounts>,
    problems: Vec<RuleError>,
}

impl Run {
    /// Parses, lints and loads one file; its problems in line order.
    fn file(&mut self, src: &Source) {
        let file = match src.parse() {
            Ok(f) => f,
            Err(e) => return self.problems.push(e),
        };
        let mut counts = FileCounts {
            file: src.origin.to_string(),
            entities: file.entity.len(),
            new_entities: 0,
            endpoints: file.endpoint.len(),
            headers: file.header.len(),
            cnames: file.cname.len(),
            signatures: file.signature.len(),
            consent: file.consent.len(),
        };
        let mut found = Vec::new();
        self.lint.file(src, &file, &mut found);
        let before = self.rules.entities.len();
        self.rules.add_file(src, file, &mut found);
        counts.new_entities = self.rules.entities.len() - before;
        // This file's problems first (CNAME lists after), each file's by line.
        found.sort_by_key(|e| (e.origin != src.origin, e.origin.clone(), e.line));
        self.problems.extend(found);
        self.counts.push(counts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, text).unwrap();
        match check(&[&path]) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .problems
                .iter()
                .map(|p| {
                    assert_eq!(p.origin, path.display().to_string());
                    format!("{}: {}", p.line.unwrap_or(0), p.message)
                })
                .collect(),
        }
    }

    /// One file checked alone (no built-in rules, so it runs in a moment), with the CNAME
    /// list it names when one is given: its problems as `LINE: message`.
    fn alone(text: &str, cname: Option<&'static str>) -> Vec<String> {
        let read = move |_: &str| cname.map(str::to_string);
        let mut run = Run::default();
        run.file(&Source {
            origin: "mine.toml",
            text,
            read_cname: &read,
            lazy: false,
        });
        if let Err(e) = run.rules.finish() {
            run.problems.push(e);
        }
        run.problems
            .iter()
            .map(|p| format!("{}: {}", p.line.unwrap_or(0), p.message))
            .collect()
    }

    const ACME: &str =
        "[[entity]]\nname = \"Acme\"\ncategory = \"email-marketing\"\ndomains = [\"acme.example\"]\n\n";

    /// Every check `scripts/check_rules.py` made before `rules check` replaced it, one case
    /// each: a file that breaks only that rule gets exactly that one problem, so removing
    /// any check (in the format, the loader or the lint) fails this test.
    #[test]
    fn each_check_of_the_old_script_has_its_case() {
        let a = |rest: &str| format!("{ACME}{rest}");
        let pixel = "[[endpoint]]\nid = \"acme-open\"\nentity = \"Acme\"\nkind = \"open-pixel\"\n";
        let sig = "[[signature]]\nid = \"acme-tag\"\nentity = \"Acme\"\ntag = \"Acme tag\"\n";
        let cmp = "[[consent]]\nid = \"acme-cmp\"\nname = \"Acme CMP\"\n";
        let cname = "[[cname]]\nentity = \"Acme\"\nfile = \"cname/acme.txt\"\n";
        #[rustfmt::skip]
        let cases: Vec<(&str, String, Option<&'static str>, &str)> = vec![
            // The file parses, with only the known tables and keys, of the right types.
            ("TOML syntax", "[[entity]\nname = \"Acme\"\n".into(), None,
             "1: unclosed array table"),
            ("unknown table", "[[endpiont]]\nid = \"a\"\n".into(), None,
             "1: unknown field `endpiont`"),
            ("unknown key", a("[[header]]\nid = \"acme-h\"\nentity = \"Acme\"\nname = \"X-Acme\"\nvaleu = \"1\"\n"), None,
             "10: unknown field `valeu`"),
            ("wrong type", "fallback = \"yes\"\n".into(), None,
             "1: invalid type: string \"yes\", expected a boolean"),
            ("required key (format)", a("[[endpoint]]\nid = \"acme-open\"\nentity = \"Acme\"\npath = \"^/o\"\n"), None,
             "6: missing field `kind`"),
            ("entity without category", "[[entity]]\nname = \"Acme\"\ndomains = []\n".into(), None,
             "1: entity `Acme`: missing required key `category`"),
            ("entity without domains", "[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\n".into(), None,
             "1: entity `Acme`: missing required key `domains`"),
            ("signature without kind", a(&format!("{sig}pattern = \"acme\\\\('(?P<account>[0-9]+)\"\n")), None,
             "6: signature `acme-tag`: missing required key `kind`"),
            // Ids: kebab-case, one namespace across endpoint, header, signature, consent.
            ("id not kebab-case", a("[[endpoint]]\nid = \"Acme_Open\"\nentity = \"Acme\"\nkind = \"open-pixel\"\npath = \"^/o\"\n"), None,
             "6: rule id `Acme_Open` must be kebab-case (a-z, 0-9, -)"),
            ("id with an empty part", a("[[endpoint]]\nid = \"acme--open\"\nentity = \"Acme\"\nkind = \"open-pixel\"\npath = \"^/o\"\n"), None,
             "6: endpoint `acme--open`: the id has an empty part (`--`)"),
            ("id in two tables", a(&format!("{pixel}path = \"^/o\"\n\n[[header]]\nid = \"acme-open\"\nentity = \"Acme\"\nname = \"X-Acme\"\n")), None,
             "12: header `acme-open`: duplicate id (also in mine.toml)"),
            ("endpoint id twice", a(&format!("{pixel}path = \"^/o\"\n\n{pixel}path = \"^/p\"\n")), None,
             "12: duplicate rule id `acme-open` (also in mine.toml)"),
            // Entities.
            ("entity twice in a file", format!("{ACME}{ACME}"), None,
             "6: entity `Acme`: defined twice in this file (also on line 1)"),
            ("unknown category", "[[entity]]\nname = \"Acme\"\ncategory = \"adverts\"\ndomains = []\n".into(), None,
             "1: entity `Acme`: unknown category \"adverts\""),
            ("empty entity name", "[[entity]]\nname = \" \"\ncategory = \"ad\"\ndomains = []\n".into(), None,
             "1: entity ` `: empty name"),
            ("homepage not http(s)", "[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\nhomepage = \"acme.example\"\ndomains = []\n".into(), None,
             "1: entity `Acme`: homepage is not an http(s) URL: \"acme.example\""),
            ("domain not a lower-case hostname", "[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\ndomains = [\"Acme.example\"]\n".into(), None,
             "1: entity `Acme`: `domains`: \"Acme.example\" is not a lower-case hostname"),
            ("domain twice", "[[entity]]\nname = \"Acme\"\ncategory = \"ad\"\ndomains = [\"acme.example\", \"acme.example\"]\n".into(), None,
             "1: entity `Acme`: `domains` lists \"acme.example\" twice"),
            // Every rule's entity exists.
            ("endpoint entity", a("[[endpoint]]\nid = \"acme-open\"\nentity = \"Acne\"\nkind = \"open-pixel\"\npath = \"^/o\"\n"), None,
             "6: rule `acme-open` names unknown entity `Acne`"),
            ("header entity", a("[[header]]\nid = \"acme-h\"\nentity = \"Acne\"\nname = \"X-Acme\"\n"), None,
             "6: rule `acme-h` names unknown entity `Acne`"),
            ("signature entity", a("[[signature]]\nid = \"acme-tag\"\nentity = \"Acne\"\ntag = \"t\"\nkind = \"tracker-script\"\npattern = \"(?P<account>x)\"\n"), None,
             "6: rule `acme-tag` names unknown entity `Acne`"),
            ("consent entity", a(&format!("{cmp}entity = \"Acne\"\ninline = [\"acmeCmp\"]\n")), None,
             "6: rule `acme-cmp` names unknown entity `Acne`"),
            ("cname entity", a("[[cname]]\nentity = \"Acne\"\nfile = \"cname/acme.txt\"\n"), Some("t.brand.example\n"),
             "6: rule `cname/acme.txt` names unknown entity `Acne`"),
            // Endpoints.
            ("unknown kind", a("[[endpoint]]\nid = \"acme-open\"\nentity = \"Acme\"\nkind = \"open-pixle\"\npath = \"^/o\"\n"), None,
             "9: unknown variant `open-pixle`"),
            ("target_param off a click-redirect", a(&format!("{pixel}path = \"^/o\"\ntarget_param = \"u\"\n")), None,
             "6: endpoint `acme-open`: `target_param` is only meaningful on click-redirect rules"),
            ("neither hosts nor path", a(pixel), None,
             "6: rule `acme-open` has neither hosts nor path: it would match every URL"),
            ("unanchored path shape", a(&format!("{pixel}path = \"/o/[0-9]+\"\n")), None,
             "6: endpoint `acme-open`: a path-shape rule (no hosts) must anchor its path with ^"),
            ("path regex", a(&format!("{pixel}hosts = [\"t.acme.example\"]\npath = \"^/o(\"\n")), None,
             "6: rule `acme-open`: bad path regex"),
            ("host not lower-case", a(&format!("{pixel}hosts = [\"T.acme.example\"]\n")), None,
             "6: endpoint `acme-open`: `hosts`: \"T.acme.example\" is not a lower-case host pattern"),
            ("host glob with **", a(&format!("{pixel}hosts = [\"**.acme.example\"]\n")), None,
             "6: endpoint `acme-open`: `hosts`: \"**.acme.example\" is not a lower-case host pattern"),
            ("host twice", a(&format!("{pixel}hosts = [\"t.acme.example\", \"t.acme.example\"]\n")), None,
             "6: endpoint `acme-open`: `hosts` lists \"t.acme.example\" twice"),
            ("query_has twice", a(&format!("{pixel}path = \"^/o\"\nquery_has = [\"u\", \"u\"]\n")), None,
             "6: endpoint `acme-open`: `query_has` lists \"u\" twice"),
            ("identifiers twice", a(&format!("{pixel}path = \"^/o\"\nidentifiers = [\"u\", \"u\"]\n")), None,
             "6: endpoint `acme-open`: `identifiers` lists \"u\" twice"),
            // Headers.
            ("header field name", a("[[header]]\nid = \"acme-h\"\nentity = \"Acme\"\nname = \"X:Acme\"\n"), None,
             "6: header `acme-h`: not a valid header field name: \"X:Acme\""),
            ("header value regex", a("[[header]]\nid = \"acme-h\"\nentity = \"Acme\"\nname = \"X-Acme\"\nvalue = \"(\"\n"), None,
             "6: rule `acme-h`: bad value regex"),
            // Signatures.
            ("signature kind", a(&format!("{sig}kind = \"open-pixel\"\npattern = \"(?P<account>x)\"\n")), None,
             "6: signature `acme-tag`: kind `open-pixel` is not a signature kind"),
            ("signature on", a(&format!("{sig}kind = \"beacon\"\non = \"body\"\npattern = \"(?P<account>x)\"\n")), None,
             "11: unknown variant `body`, expected one of `inline`, `src`, `both`, `markup`"),
            ("empty tag", a("[[signature]]\nid = \"acme-tag\"\nentity = \"Acme\"\ntag = \"\"\nkind = \"beacon\"\npattern = \"(?P<account>x)\"\n"), None,
             "6: signature `acme-tag`: empty tag"),
            ("pattern regex", a(&format!("{sig}kind = \"beacon\"\npattern = \"(?P<account>x\"\n")), None,
             "6: signature `acme-tag`: bad pattern"),
            ("no account group", a(&format!("{sig}kind = \"beacon\"\npattern = \"acme\"\n")), None,
             "6: signature `acme-tag`: pattern needs a named group `account`"),
            ("two account groups", a(&format!("{sig}kind = \"beacon\"\npattern = \"(?P<account>x)|(?P<account>y)\"\n")), None,
             "6: signature `acme-tag`: bad pattern"),
            ("pattern matching nothing", a(&format!("{sig}kind = \"beacon\"\npattern = \"(?P<account>x*)\"\n")), None,
             "6: signature `acme-tag`: pattern matches the empty string"),
            ("requires regex", a(&format!("{sig}kind = \"beacon\"\npattern = \"(?P<account>x)\"\nrequires = \"(\"\n")), None,
             "6: signature `acme-tag`: bad requires pattern"),
            // Consent platforms.
            ("consent name twice", format!("{cmp}inline = [\"acmeCmp\"]\n\n[[consent]]\nid = \"acme-cmp-2\"\nname = \"Acme CMP\"\ninline = [\"acmeCmp2\"]\n"), None,
             "6: consent `acme-cmp-2`: duplicate consent platform name \"Acme CMP\" (also in mine.toml)"),
            ("empty consent name", "[[consent]]\nid = \"acme-cmp\"\nname = \"\"\ninline = [\"acmeCmp\"]\n".into(), None,
             "1: consent `acme-cmp`: empty name"),
            ("script host not a hostname", format!("{cmp}script_hosts = [\"cdn*.acme.example\"]\n"), None,
             "1: consent `acme-cmp`: `script_hosts`: \"cdn*.acme.example\" is not a lower-case hostname"),
            ("inline regex", format!("{cmp}inline = [\"(\"]\n"), None,
             "1: consent `acme-cmp`: bad inline regex"),
            ("inline matching nothing", format!("{cmp}inline = [\"x?\"]\n"), None,
             "1: consent `acme-cmp`: `inline` regex matches the empty string"),
            ("undetectable consent", cmp.into(), None,
             "1: consent `acme-cmp`: has neither `script_hosts` nor `inline`"),
            ("gate attribute", format!("{cmp}inline = [\"acmeCmp\"]\ngate_attrs = [\"Data-Acme\"]\n"), None,
             "1: consent `acme-cmp`: `gate_attrs`: \"Data-Acme\" is not a lower-case HTML attribute name"),
            ("gate class prefix", format!("{cmp}inline = [\"acmeCmp\"]\ngate_class_prefixes = [\"1a\"]\n"), None,
             "1: consent `acme-cmp`: `gate_class_prefixes`: \"1a\" is not a class-name prefix"),
            ("accept selector", format!("{cmp}inline = [\"acmeCmp\"]\naccept_selectors = [\" \"]\n"), None,
             "1: consent `acme-cmp`: bad accept selector"),
            ("consent list twice", format!("{cmp}inline = [\"acmeCmp\"]\ngate_attrs = [\"data-a\", \"data-a\"]\n"), None,
             "1: consent `acme-cmp`: `gate_attrs` lists \"data-a\" twice"),
            // CNAME lists.
            ("list outside the folder", a("[[cname]]\nentity = \"Acme\"\nfile = \"../acme.txt\"\n"), Some("t.brand.example\n"),
             "6: cname `../acme.txt`: `file` must be a relative path inside the rules folder"),
            ("list missing", a(cname), None,
             "6: cname list `cname/acme.txt` not found"),
            ("list line not a hostname", a(cname), Some("# brand hosts\nt.brand.example\nT.Other.example\n"),
             "3: not a lower-case hostname: \"T.Other.example\""),
            ("list line with *.", a(cname), Some("*.brand.example\n"),
             "1: not a lower-case hostname: \"*.brand.example\""),
            ("list host twice", a(cname), Some("t.brand.example\nt.brand.example\n"),
             "2: \"t.brand.example\" is listed twice"),
            ("empty list", a(cname), Some("# nothing yet\n"),
             "6: cname `cname/acme.txt`: the list names no host"),
        ];
        let mut wrong = Vec::new();
        for (what, text, list, want) in &cases {
            let got = alone(text, *list);
            if got.len() != 1 || !got[0].starts_with(want) {
                wrong.push(format!(
                    "{what}: want one problem starting {want:?}, got {got:#?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // The cases themselves are sound: without the break, each file is clean.
        assert!(alone(&a(&format!("{pixel}path = \"^/o\"\n")), None).is_empty());
        assert!(alone(&a(cname), Some("t.brand.example\n")).is_empty());
        assert!(alone(&format!("{cmp}inline = [\"acmeCmp\"]\n"), None).is_empty());
    }

    #[test]
    fn the_built_in_rules_pass() {
        let checked = check(&[] as &[&Path]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(checked.files.len(), super::super::embedded::FILES.len());
        assert!(checked.files[0].entities > 2000);
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let p = problems(
            "[[entity]]\nname = \"Acme\"\ncategory = \"adverts\"\ndomains = [\"Acme.example\"]\n\n\
             [[endpoint]]\nid = \"acme-open\"\nentity = \"Nobody\"\nkind = \"open-pixel\"\npath = \"^/o\"\n\n\
             [[endpoint]]\nid = \"acme-shape\"\nentity = \"Acme\"\nkind = \"open-pixel\"\npath = \"/o/[a-z]+\"\n",
        );
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p[0].starts_with("1: entity `Acme`: unknown category \"adverts\""));
        assert!(p[1].starts_with("1: entity `Acme`: `domains`: \"Acme.example\" is not"));
        assert_eq!(p[2], "6: rule `acme-open` names unknown entity `Nobody`");
        assert!(p[3].starts_with("12: endpoint `acme-shape`: a path-shape rule"));
    }
}
