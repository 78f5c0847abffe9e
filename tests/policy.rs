//! The CI gate's policy stage through the library API: `pixscan::policy` (pixscan.toml) and
//! `pixscan::baseline` (fingerprints, baseline files), on real scans of the fixtures and on
//! hand-built findings.

use pixscan::model::Command;
use std::collections::HashSet;
use std::path::PathBuf;

use pixscan::baseline::{self, apply_baseline, Baseline};
use pixscan::fingerprint;
use pixscan::model::{
    DocumentReport, Finding, Identifier, Kind, Leaks, Party, Verdict, VerdictStatus,
};
use pixscan::policy::{FailOn, Policy, PolicySummary};
use pixscan::rules::Ruleset;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules() -> &'static Ruleset {
    static RULES: std::sync::OnceLock<Ruleset> = std::sync::OnceLock::new();
    RULES.get_or_init(|| Ruleset::embedded().unwrap())
}

/// Scans one mail fixture, as `pixscan eml fixtures/mail/NAME` reports it.
fn mail(name: &str) -> DocumentReport {
    let bytes = std::fs::read(root().join("fixtures/mail").join(name)).unwrap();
    pixscan::scan::scan_message(format!("fixtures/mail/{name}"), &bytes, rules(), &[])
}

/// Every page of the served fixture site, scanned from disk (folder mode, relative paths).
fn site_pages() -> &'static Vec<DocumentReport> {
    static DOCS: std::sync::OnceLock<Vec<DocumentReport>> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        // Integration tests run with the package root as the current directory.
        assert_eq!(std::env::current_dir().unwrap(), root());
        let opts = pixscan::scan::site::SiteOptions {
            targets: vec!["fixtures/site/public".into()],
            rules: rules(),
            filters: None,
            crawl: pixscan::source::site::CrawlOptions::default(),
            first_party: vec!["northwind.example".into()],
            base_url: None,
            probe: false,
            browser: None,
            select: Default::default(),
            shard: None,
        };
        let mut docs = Vec::new();
        pixscan::scan::site::scan_site(&opts, &|_| {}, &mut |d| docs.push(d.clone())).unwrap();
        assert!(docs.len() > 30);
        docs
    })
}

/// A fixture page from folder mode, e.g. `journal/quiet-week`.
fn page_file(rel: &str) -> DocumentReport {
    let src = format!("fixtures/site/public/{rel}/index.html");
    site_pages()
        .iter()
        .find(|d| d.source == src)
        .unwrap_or_else(|| panic!("no page {src}"))
        .clone()
}

/// The same page as a crawl of https://www.northwind.example/ would report it.
fn page_url(rel: &str) -> DocumentReport {
    let mut d = page_file(rel);
    d.source = format!("https://www.northwind.example/{rel}/");
    d
}

fn policy(text: &str) -> Policy {
    Policy::from_str(text, "pixscan.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn status(f: &Finding) -> VerdictStatus {
    f.verdict.as_ref().expect("verdict set").status
}

fn statuses(doc: &DocumentReport, entity: &str) -> Vec<VerdictStatus> {
    let v: Vec<VerdictStatus> = doc
        .findings
        .iter()
        .filter(|f| f.entity.as_deref() == Some(entity))
        .map(status)
        .collect();
    assert!(!v.is_empty(), "{}: no {entity} finding", doc.source);
    v
}

fn all(v: &[VerdictStatus], s: VerdictStatus) -> bool {
    v.iter().all(|x| *x == s)
}

/// A hand-built finding; tests adjust the fields they care about.
fn finding(url: &str, kind: Kind, entity: Option<&str>) -> Finding {
    let u = url::Url::parse(url).unwrap();
    let host = u.host_str().unwrap().to_string();
    Finding {
        tracking: true,
        entity: entity.map(str::to_string),
        registrable_domain: Some(pixscan::domain::registrable(&host)),
        leaks: Leaks {
            ip: true,
            user_agent: true,
            ..Default::default()
        },
        line: Some(12),
        ..Finding::new(
            url.to_string(),
            "img".into(),
            "src".into(),
            kind,
            host,
            Party::Third,
        )
    }
}

fn doc_with(source: &str, findings: Vec<Finding>) -> DocumentReport {
    DocumentReport {
        source: source.into(),
        findings,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------
// Policy semantics

#[test]
fn approval_keys_must_all_match() {
    // rule + kind: only the open pixel, not the tracked links.
    let p = policy(
        "[[approve]]\nentity = \"Mailgun\"\nrule = \"mailgun-open\"\nkind = \"open-pixel\"\nreason = \"x\"\n",
    );
    let mut doc = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut doc);
    for f in doc.findings.iter().filter(|f| f.tracking) {
        let want = if f.kind == Kind::OpenPixel {
            VerdictStatus::Approved
        } else {
            VerdictStatus::Violation
        };
        assert_eq!(status(f), want, "{}", f.url);
    }
    // company and category.
    let p = policy(
        "[[approve]]\ncompany = \"twilio\"\ncategory = \"Email-Marketing\"\nreason = \"x\"\n",
    );
    let mut doc = mail("sendgrid-newsletter.eml");
    p.apply(Command::Eml, &mut doc);
    assert!(all(&statuses(&doc, "SendGrid"), VerdictStatus::Approved));
    // A category that does not match.
    let p = policy("[[approve]]\ncompany = \"Twilio\"\ncategory = \"ad\"\nreason = \"x\"\n");
    let mut doc = mail("sendgrid-newsletter.eml");
    p.apply(Command::Eml, &mut doc);
    assert!(all(&statuses(&doc, "SendGrid"), VerdictStatus::Violation));
}

/// Each match key alone, against a finding that has it and one that does not: one row per
/// case, so a new key is a new row.
#[test]
fn each_match_key_alone() {
    use pixscan::model::Consent;
    use VerdictStatus::{Approved, Violation};
    let base = || {
        let mut f = finding(
            "https://www.google-analytics.com/g/collect?tid=G-1",
            Kind::Beacon,
            Some("Google Analytics"),
        );
        f.company = Some("Google".into());
        f.category = Some("analytics".into());
        f.rule = Some("ga4-collect".into());
        f.consent = Some(Consent::Gated);
        f
    };
    let other = |f: &mut Finding, key: &str| match key {
        "entity" => f.entity = Some("Hotjar".into()),
        "company" => f.company = Some("Meta".into()),
        "category" => f.category = Some("advertising".into()),
        "rule" => f.rule = Some("ua-collect".into()),
        "kind" => f.kind = Kind::TrackerScript,
        "consent" => f.consent = Some(Consent::Ungated),
        "domain" => {
            f.host = "stats.example.net".into();
            f.registrable_domain = Some("example.net".into());
        }
        _ => unreachable!("{key}"),
    };
    let rows: &[(&str, &str)] = &[
        ("entity", "entity = \"google analytics\""),
        ("company", "company = \"Google\""),
        ("category", "category = \"analytics\""),
        ("rule", "rule = \"ga4-collect\""),
        ("kind", "kind = \"beacon\""),
        ("consent", "consent = \"gated\""),
        ("domain", "domain = \"google-analytics.com\""),
    ];
    for (key, line) in rows {
        let p = policy(&format!("[[approve]]\n{line}\nreason = \"x\"\n"));
        let judge = |f: Finding| {
            let mut d = doc_with("https://shop.example/", vec![f]);
            p.apply(Command::Site, &mut d);
            status(&d.findings[0])
        };
        assert_eq!(judge(base()), Approved, "{line} on a finding that has it");
        let mut f = base();
        other(&mut f, key);
        assert_eq!(judge(f), Violation, "{line} on a finding that does not");
    }
}

#[test]
fn domain_patterns() {
    let judge = |pattern: &str, url: &str| {
        let p = policy(&format!(
            "[[approve]]\ndomain = \"{pattern}\"\nreason = \"x\"\n"
        ));
        let mut d = doc_with("https://a.example/", vec![finding(url, Kind::Beacon, None)]);
        p.apply(Command::Site, &mut d);
        status(&d.findings[0])
    };
    use VerdictStatus::{Approved, Violation};
    // (pattern, the finding's URL, its verdict)
    let rows = [
        // A registrable domain covers its subdomains (through the finding's registrable domain).
        (
            "sendgrid.net",
            "https://u1.ct.sendgrid.net/wf/open",
            Approved,
        ),
        // A host matches only itself.
        ("ct.sendgrid.net", "https://ct.sendgrid.net/x", Approved),
        ("ct.sendgrid.net", "https://u1.ct.sendgrid.net/x", Violation),
        // *. covers the domain and its subdomains; inner wildcards stay within a label.
        (
            "*.doubleclick.net",
            "https://stats.g.doubleclick.net/j",
            Approved,
        ),
        ("*.doubleclick.net", "https://doubleclick.net/j", Approved),
        (
            "*.doubleclick.net",
            "https://notdoubleclick.net/j",
            Violation,
        ),
        (
            "u*.ct.sendgrid.net",
            "https://u77.ct.sendgrid.net/x",
            Approved,
        ),
        (
            "u*.ct.sendgrid.net",
            "https://x.ct.sendgrid.net/x",
            Violation,
        ),
    ];
    for (pattern, url, want) in rows {
        assert_eq!(judge(pattern, url), want, "domain = {pattern:?} on {url}");
    }
}

#[test]
fn summary_counts_verdicts() {
    let p = policy("[[approve]]\nentity = \"SendGrid\"\nreason = \"ours\"\n");
    let mut s = PolicySummary::default();
    for name in ["sendgrid-newsletter.eml", "mailgun-order-shipped.eml"] {
        let mut d = mail(name);
        p.apply(Command::Eml, &mut d);
        s.add(&p, &d);
    }
    let total = (mail("sendgrid-newsletter.eml").findings.len()
        + mail("mailgun-order-shipped.eml").findings.len()) as u64;
    let sendgrid = mail("sendgrid-newsletter.eml")
        .findings
        .iter()
        .filter(|f| f.entity.as_deref() == Some("SendGrid"))
        .count() as u64;
    assert_eq!(s.approved, sendgrid);
    assert_eq!(s.violations, 3, "the Mailgun pixel and links");
    assert_eq!(s.allowed, total - sendgrid - 3, "remote images");
    assert_eq!(s.baselined, 0);
    assert_eq!(s.failing_documents, 1);
    assert!(!s.passed());
}

// ---------------------------------------------------------------------------------------
// Scope: senders, pages, paths, consent and deny entries, on real scans

const SENDERS_SHOP: &str = r#"
[[approve]]
entity = "mailgun"            # case-insensitive
reason = "Our transactional ESP"
senders = ["*@SHOP.example"]
"#;

const SENDERS_OTHER: &str =
    "[[approve]]\nentity = \"Mailgun\"\nreason = \"x\"\nsenders = [\"*@other.example\"]\n";

const PAGES: &str = r#"
[[approve]]
entity = "Google Analytics"
reason = "Our analytics on the journal"
pages = ["https://www.northwind.example/journal/*"]
"#;

const PATHS: &str = r#"
[[approve]]
entity = "Google Analytics"
reason = "Our analytics on the journal"
paths = ["fixtures/site/public/journal/**"]

[[approve]]
entity = "Hotjar"
reason = "One page only"
paths = ["./fixtures/site/public/*/index.html"]
"#;

const CONSENT_GATED: &str =
    "[[approve]]\nentity = \"Google Analytics\"\nconsent = \"gated\"\nreason = \"behind the CMP\"\n";

const DENY_HOME: &str = r#"
fail_on = []

[[approve]]
entity = "Facebook"
reason = "Marketing wants it"

[[deny]]
domain = "facebook.com"
reason = "No social tracking on the home page"
pages = ["https://www.northwind.example/"]
"#;

const DENY_IMAGES: &str =
    "fail_on = []\n[[deny]]\nkind = \"remote-image\"\nreason = \"no remote images\"\n";

/// One scope case: a policy, a document as a run reports it, and the verdict every finding
/// of one entity in it gets.
struct Scoped {
    case: &'static str,
    policy: &'static str,
    command: Command,
    doc: fn() -> DocumentReport,
    /// The findings looked at: this entity's (at least one), or every finding for `""`.
    entity: &'static str,
    want: VerdictStatus,
    /// What each of their reasons starts and ends with (`""`: anything).
    starts: &'static str,
    ends: &'static str,
    /// `Policy::fails` on the document.
    fails: Option<bool>,
    /// How many approvals have matched nothing after this document.
    unused: Option<usize>,
}

const SCOPED: Scoped = Scoped {
    case: "",
    policy: "",
    command: Command::Site,
    doc: || unreachable!("every row names its document"),
    entity: "",
    want: VerdictStatus::Allowed,
    starts: "",
    ends: "",
    fails: None,
    unused: None,
};

impl Scoped {
    /// Judges the row's document with its policy and checks what the row says.
    fn check(&self) {
        let p = policy(self.policy);
        let mut doc = (self.doc)();
        p.apply(self.command, &mut doc);
        let picked: Vec<&Finding> = doc
            .findings
            .iter()
            .filter(|f| self.entity.is_empty() || f.entity.as_deref() == Some(self.entity))
            .collect();
        assert!(
            !picked.is_empty(),
            "{}: no {} finding",
            self.case,
            self.entity
        );
        for f in picked {
            let v = f.verdict.as_ref().expect("verdict set");
            assert_eq!(v.status, self.want, "{}: {}", self.case, f.url);
            assert!(
                v.reason.starts_with(self.starts) && v.reason.ends_with(self.ends),
                "{}: {}",
                self.case,
                v.reason
            );
        }
        if let Some(fails) = self.fails {
            assert_eq!(p.fails(&doc), fails, "{}", self.case);
        }
        if let Some(n) = self.unused {
            let w = p.unused_approvals();
            assert_eq!(w.len(), n, "{}: {w:?}", self.case);
        }
    }
}

#[test]
fn scope_cases() {
    use VerdictStatus::{Approved, Violation};
    let rows = [
        Scoped {
            case: "senders: the sender matches, case-insensitively",
            policy: SENDERS_SHOP,
            command: Command::Eml,
            doc: || mail("mailgun-order-shipped.eml"),
            entity: "Mailgun",
            want: Approved,
            starts: "approved by pixscan.toml:2 (entity = \"mailgun\")",
            ends: "Our transactional ESP",
            fails: Some(false),
            unused: Some(0),
        },
        Scoped {
            case: "senders: another sender",
            policy: SENDERS_OTHER,
            command: Command::Eml,
            doc: || mail("mailgun-order-shipped.eml"),
            entity: "Mailgun",
            want: Violation,
            ..SCOPED
        },
        Scoped {
            case: "pages: a page under the pattern",
            policy: PAGES,
            doc: || page_url("journal/quiet-week"),
            entity: "Google Analytics",
            want: Approved,
            ..SCOPED
        },
        Scoped {
            case: "pages: a page outside the pattern",
            policy: PAGES,
            doc: || page_url("shop"),
            entity: "Google Analytics",
            want: Violation,
            ..SCOPED
        },
        Scoped {
            case: "pages: another entity on a page in scope",
            policy: PAGES,
            doc: || page_url("journal/quiet-week"),
            entity: "Google Tag Manager",
            want: Violation,
            ..SCOPED
        },
        Scoped {
            case: "pages: a page pattern does not apply to folder-mode files",
            policy: PAGES,
            doc: || page_file("journal/quiet-week"),
            entity: "Google Analytics",
            want: Violation,
            ..SCOPED
        },
        Scoped {
            case: "paths: ** covers a file deep under the folder",
            policy: PATHS,
            doc: || page_file("journal/quiet-week"),
            entity: "Google Analytics",
            want: Approved,
            ..SCOPED
        },
        Scoped {
            case: "paths: a file outside the folder",
            policy: PATHS,
            doc: || page_file("shop"),
            entity: "Google Analytics",
            want: Violation,
            ..SCOPED
        },
        Scoped {
            case: "paths: * matches one folder (journal/index.html)",
            policy: PATHS,
            doc: || page_file("journal"),
            entity: "Hotjar",
            want: Approved,
            ..SCOPED
        },
        Scoped {
            case: "paths: * stays within one folder (help/returns/index.html)",
            policy: PATHS,
            doc: || page_file("help/returns"),
            entity: "Hotjar",
            want: Violation,
            ..SCOPED
        },
        Scoped {
            case: "paths: a relative pattern matches the absolute path under the current directory",
            policy: PATHS,
            doc: || {
                let mut abs = page_file("journal/quiet-week");
                abs.source = root().join(&abs.source).display().to_string();
                abs
            },
            entity: "Google Analytics",
            want: Approved,
            ..SCOPED
        },
        Scoped {
            case: "paths: a \"./\" prefix in the source is ignored",
            policy: PATHS,
            doc: || {
                let mut dotted = page_file("journal/quiet-week");
                dotted.source = format!("./{}", dotted.source);
                dotted
            },
            entity: "Google Analytics",
            want: Approved,
            ..SCOPED
        },
        Scoped {
            case: "consent: a tag behind the consent banner",
            policy: CONSENT_GATED,
            doc: || page_url("journal/gear-care"),
            entity: "Google Analytics",
            want: Approved,
            ..SCOPED
        },
        Scoped {
            case: "consent: a tag that fires before consent",
            policy: CONSENT_GATED,
            doc: || page_url("journal/quiet-week"),
            entity: "Google Analytics",
            want: Violation,
            ..SCOPED
        },
        Scoped {
            case: "deny: wins over an approval on the page in its scope",
            policy: DENY_HOME,
            doc: || {
                let mut doc = page_url("shop");
                doc.source = "https://www.northwind.example/".into();
                doc
            },
            entity: "Facebook",
            want: Violation,
            starts: "denied by pixscan.toml:8 (domain = \"facebook.com\")",
            fails: Some(true),
            // The approval matched (also where the deny entry overrode it): no warning.
            unused: Some(0),
            ..SCOPED
        },
        Scoped {
            case: "deny: out of its scope, the approval applies",
            policy: DENY_HOME,
            doc: || page_url("shop"),
            entity: "Facebook",
            want: Approved,
            unused: Some(0),
            ..SCOPED
        },
        Scoped {
            case: "deny: applies even to findings that are not tracking",
            policy: DENY_IMAGES,
            command: Command::Eml,
            doc: || mail("clean-remote-product-images.eml"),
            entity: "",
            want: Violation,
            ..SCOPED
        },
    ];
    for r in &rows {
        r.check();
    }
}

// ---------------------------------------------------------------------------------------
// fail_on: which findings (and documents) each condition fails

/// Which verdicts of a document a `fail_on` case looks at.
#[derive(Clone, Copy)]
enum Pick {
    /// The findings of this entity.
    Entity(&'static str),
    /// Tracking findings, the other ones, every finding, the first tracking finding.
    Tracking,
    Untracked,
    Every,
    FirstTracking,
    /// The document's own verdict (`Policy::document_verdict`), not its findings'.
    Document,
}

/// What the picked verdicts must be.
#[derive(Clone, Copy)]
enum Want {
    Unchecked,
    /// All of them (at least one) have this status.
    All(VerdictStatus),
    /// At least one has it.
    Any(VerdictStatus),
    /// There is none (`Pick::Document`: the document gets no verdict of its own).
    NoVerdict,
}

struct FailCase {
    case: &'static str,
    /// pixscan.toml text; `None`: `Policy::default()`.
    policy: Option<&'static str>,
    /// The conditions the policy reads as, in order (`None`: not checked).
    fail_on: Option<&'static [FailOn]>,
    command: Command,
    doc: fn() -> DocumentReport,
    /// Apply the policy first (`Policy::fails` also judges findings it was not applied to).
    apply: bool,
    pick: Pick,
    want: Want,
    /// What each picked verdict's reason contains.
    reason: &'static [&'static str],
    /// `Policy::fails` on the document.
    fails: Option<bool>,
    /// `PolicySummary` over this one document: (passed, failed_documents).
    summary: Option<(bool, u64)>,
}

const FAIL_CASE: FailCase = FailCase {
    case: "",
    policy: None,
    fail_on: None,
    command: Command::Eml,
    doc: || unreachable!("every row names its document"),
    apply: true,
    pick: Pick::Every,
    want: Want::Unchecked,
    reason: &[],
    fails: None,
    summary: None,
};

const RECIPIENT_IDENTITY: &str = "fail_on = [\"recipient-identity\"]";
const THIRD_PARTY_IDENTIFIERS: &str = "fail_on = [\"third-party-identifiers\"]";
const UNGATED: &str = "fail_on = [\"ungated\"]";
const ANY_TRACKING_BUT_SENDGRID: &str =
    "fail_on = [\"any-tracking\"]\n[[approve]]\nentity = \"SendGrid\"\nreason = \"ours\"\n";
const SCAN_ERROR: &str = "fail_on = [\"unapproved-tracking\", \"scan-error\"]";
const ONLY_DENY: &str =
    "fail_on = []\n[[deny]]\nentity = \"Mailgun\"\nreason = \"migrating away\"\n";

/// A third-party beacon on a page, as `finding` builds it: no identifiers.
fn third_party_beacon() -> DocumentReport {
    doc_with(
        "https://a.example/",
        vec![finding("https://t.example/p.gif", Kind::Beacon, None)],
    )
}

/// A message that could not be scanned.
fn broken_mail() -> DocumentReport {
    let broken = mail("empty.eml");
    assert!(broken.error.is_some());
    broken
}

impl FailCase {
    /// Judges the row's document with its policy and checks what the row says.
    fn check(&self) {
        let p = self.policy.map_or_else(Policy::default, policy);
        if let Some(want) = self.fail_on {
            assert_eq!(p.fail_on, want, "{}", self.case);
        }
        let mut doc = (self.doc)();
        if self.apply {
            p.apply(self.command, &mut doc);
        }
        let findings = |keep: &dyn Fn(&Finding) -> bool| -> Vec<Option<Verdict>> {
            doc.findings
                .iter()
                .filter(|f| keep(f))
                .map(|f| f.verdict.clone())
                .collect()
        };
        let picked = match self.pick {
            Pick::Entity(e) => findings(&|f| f.entity.as_deref() == Some(e)),
            Pick::Tracking => findings(&|f| f.tracking),
            Pick::Untracked => findings(&|f| !f.tracking),
            Pick::Every => findings(&|_| true),
            Pick::FirstTracking => findings(&|f| f.tracking).into_iter().take(1).collect(),
            Pick::Document => vec![p.document_verdict(&doc)],
        };
        let statuses: Vec<Option<VerdictStatus>> = picked
            .iter()
            .map(|v| v.as_ref().map(|v| v.status))
            .collect();
        match self.want {
            Want::Unchecked => {}
            Want::All(s) => assert!(
                !statuses.is_empty() && statuses.iter().all(|x| *x == Some(s)),
                "{}: {statuses:?}",
                self.case
            ),
            Want::Any(s) => assert!(statuses.contains(&Some(s)), "{}: {statuses:?}", self.case),
            Want::NoVerdict => assert!(
                !statuses.is_empty() && statuses.iter().all(Option::is_none),
                "{}: {statuses:?}",
                self.case
            ),
        }
        if !self.reason.is_empty() {
            assert!(!picked.is_empty(), "{}: no verdict to read", self.case);
            for v in &picked {
                let reason = &v.as_ref().expect("verdict set").reason;
                for s in self.reason {
                    assert!(reason.contains(s), "{}: {reason}", self.case);
                }
            }
        }
        if let Some(fails) = self.fails {
            assert_eq!(p.fails(&doc), fails, "{}", self.case);
        }
        if let Some((passed, failed_documents)) = self.summary {
            let mut s = PolicySummary::default();
            s.add(&p, &doc);
            assert_eq!(
                (s.passed(), s.failed_documents),
                (passed, failed_documents),
                "{}",
                self.case
            );
        }
    }
}

#[test]
fn fail_on_cases() {
    use FailOn::*;
    use VerdictStatus::{Allowed, Approved, Violation};
    let rows = [
        FailCase {
            case: "default: unapproved tracking fails, naming the condition and the entity",
            fail_on: Some(&[UnapprovedTracking]),
            doc: || mail("mailgun-order-shipped.eml"),
            pick: Pick::Tracking,
            want: Want::All(Violation),
            reason: &["unapproved-tracking", "Mailgun"],
            fails: Some(true),
            ..FAIL_CASE
        },
        FailCase {
            case: "default: requests that are not tracking are allowed",
            doc: || mail("mailgun-order-shipped.eml"),
            pick: Pick::Untracked,
            want: Want::All(Allowed),
            ..FAIL_CASE
        },
        FailCase {
            case: "default: a message with remote images only passes",
            doc: || mail("clean-remote-product-images.eml"),
            pick: Pick::Every,
            want: Want::All(Allowed),
            fails: Some(false),
            ..FAIL_CASE
        },
        FailCase {
            case: "default: an empty file is the default policy",
            policy: Some(""),
            fail_on: Some(&[UnapprovedTracking]),
            doc: || mail("mailgun-order-shipped.eml"),
            ..FAIL_CASE
        },
        FailCase {
            case: "default: fails judges findings the policy was not applied to",
            doc: || mail("mailgun-order-shipped.eml"),
            apply: false,
            fails: Some(true),
            ..FAIL_CASE
        },
        FailCase {
            case: "fail_on = []: findings it was not applied to pass",
            policy: Some("fail_on = []"),
            fail_on: Some(&[]),
            doc: || mail("mailgun-order-shipped.eml"),
            apply: false,
            fails: Some(false),
            ..FAIL_CASE
        },
        FailCase {
            case: "recipient-identity: recipient-email (zlib-base64 in the path)",
            policy: Some(RECIPIENT_IDENTITY),
            fail_on: Some(&[RecipientIdentity]),
            doc: || mail("mailgun-order-shipped.eml"),
            pick: Pick::Entity("Mailgun"),
            want: Want::All(Violation),
            reason: &["recipient-identity"],
            ..FAIL_CASE
        },
        FailCase {
            case: "recipient-identity: recipient-email-hash (MD5 of the address)",
            policy: Some(RECIPIENT_IDENTITY),
            doc: || mail("receipt-md5-hash.eml"),
            pick: Pick::Tracking,
            want: Want::Any(Violation),
            ..FAIL_CASE
        },
        FailCase {
            case: "recipient-identity: opaque per-recipient tokens are not the identity",
            policy: Some(RECIPIENT_IDENTITY),
            doc: || mail("sendgrid-newsletter.eml"),
            pick: Pick::Entity("SendGrid"),
            want: Want::All(Allowed),
            reason: &["no fail_on condition"],
            fails: Some(false),
            ..FAIL_CASE
        },
        FailCase {
            case: "third-party-identifiers: a third party with identifiers",
            policy: Some(THIRD_PARTY_IDENTIFIERS),
            fail_on: Some(&[ThirdPartyIdentifiers]),
            doc: || mail("sendgrid-newsletter.eml"),
            pick: Pick::Entity("SendGrid"),
            want: Want::All(Violation),
            ..FAIL_CASE
        },
        FailCase {
            case: "third-party-identifiers: Mailgun on the sender's own domain is first party",
            policy: Some(THIRD_PARTY_IDENTIFIERS),
            doc: || mail("mailgun-order-shipped.eml"),
            pick: Pick::Entity("Mailgun"),
            want: Want::All(Allowed),
            ..FAIL_CASE
        },
        FailCase {
            case: "third-party-identifiers: a third party without identifiers",
            policy: Some(THIRD_PARTY_IDENTIFIERS),
            command: Command::Site,
            doc: third_party_beacon,
            want: Want::All(Allowed),
            ..FAIL_CASE
        },
        FailCase {
            case: "third-party-identifiers: the same request with a token",
            policy: Some(THIRD_PARTY_IDENTIFIERS),
            command: Command::Site,
            doc: || {
                let mut d = third_party_beacon();
                d.findings[0].leaks.identifiers.push(Identifier {
                    location: "query:uid".into(),
                    kind: pixscan::model::IdentifierKind::RecipientToken,
                    encoding: pixscan::model::Encoding::Opaque,
                    value: "8f3a9c2be17d4e6fa0b1".into(),
                });
                d
            },
            want: Want::All(Violation),
            ..FAIL_CASE
        },
        FailCase {
            case: "ungated: a tag behind the consent banner",
            policy: Some(UNGATED),
            fail_on: Some(&[Ungated]),
            command: Command::Site,
            doc: || page_url("journal/gear-care"),
            pick: Pick::Entity("Google Analytics"),
            want: Want::All(Allowed),
            ..FAIL_CASE
        },
        FailCase {
            case: "ungated: a tag that fires before consent, and the reason says so",
            policy: Some(UNGATED),
            command: Command::Site,
            doc: || page_url("journal/quiet-week"),
            pick: Pick::Entity("Google Analytics"),
            want: Want::All(Violation),
            reason: &["consent"],
            ..FAIL_CASE
        },
        FailCase {
            case: "ungated: mail findings have no consent state",
            policy: Some(UNGATED),
            doc: || mail("sendgrid-newsletter.eml"),
            fails: Some(false),
            ..FAIL_CASE
        },
        FailCase {
            case: "any-tracking: an approval still approves",
            policy: Some(ANY_TRACKING_BUT_SENDGRID),
            fail_on: Some(&[AnyTracking]),
            doc: || mail("sendgrid-newsletter.eml"),
            pick: Pick::Entity("SendGrid"),
            want: Want::All(Approved),
            ..FAIL_CASE
        },
        FailCase {
            case: "any-tracking: tracking that is not approved",
            policy: Some(ANY_TRACKING_BUT_SENDGRID),
            doc: || mail("mailgun-order-shipped.eml"),
            pick: Pick::Entity("Mailgun"),
            want: Want::All(Violation),
            ..FAIL_CASE
        },
        FailCase {
            case: "any-tracking: requests that are not tracking are allowed",
            policy: Some(ANY_TRACKING_BUT_SENDGRID),
            doc: || mail("mailgun-order-shipped.eml"),
            pick: Pick::Untracked,
            want: Want::All(Allowed),
            ..FAIL_CASE
        },
        FailCase {
            case: "several conditions: duplicates collapse, the reason names each",
            policy: Some("fail_on = [\"any-tracking\", \"recipient-identity\", \"any-tracking\"]"),
            fail_on: Some(&[AnyTracking, RecipientIdentity]),
            doc: || mail("mailgun-order-shipped.eml"),
            pick: Pick::FirstTracking,
            reason: &["any-tracking, recipient-identity"],
            ..FAIL_CASE
        },
        FailCase {
            case: "scan-error: a message that could not be scanned fails, as a document",
            policy: Some(SCAN_ERROR),
            fail_on: Some(&[UnapprovedTracking, ScanError]),
            doc: broken_mail,
            pick: Pick::Document,
            want: Want::All(Violation),
            reason: &["scan-error"],
            fails: Some(true),
            summary: Some((false, 1)),
            ..FAIL_CASE
        },
        FailCase {
            case: "scan-error: without the condition, the document is allowed",
            doc: broken_mail,
            pick: Pick::Document,
            want: Want::All(Allowed),
            fails: Some(false),
            summary: Some((true, 0)),
            ..FAIL_CASE
        },
        FailCase {
            case: "scan-error: a message that was scanned gets no document verdict",
            policy: Some(SCAN_ERROR),
            doc: || mail("clean-plain-text.eml"),
            apply: false,
            pick: Pick::Document,
            want: Want::NoVerdict,
            ..FAIL_CASE
        },
        FailCase {
            case: "fail_on = []: tracking without a deny entry passes",
            policy: Some(ONLY_DENY),
            fail_on: Some(&[]),
            doc: || mail("sendgrid-newsletter.eml"),
            fails: Some(false),
            ..FAIL_CASE
        },
        FailCase {
            case: "fail_on = []: a deny entry still fails",
            policy: Some(ONLY_DENY),
            doc: || mail("mailgun-order-shipped.eml"),
            fails: Some(true),
            ..FAIL_CASE
        },
    ];
    for r in &rows {
        r.check();
    }
}

// ---------------------------------------------------------------------------------------
// Errors and warnings

fn err(text: &str) -> pixscan::policy::PolicyError {
    match Policy::from_str(text, "ci/pixscan.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn unknown_keys_name_file_line_and_key() {
    let e = err("fail_on = []\n\n[[approve]]\nentity = \"A\"\nreason = \"r\"\n\n[[approve]]\nentity = \"B\"\nreasn = \"typo\"\n");
    assert_eq!(e.file, "ci/pixscan.toml");
    assert_eq!(e.line, Some(9));
    assert_eq!(e.key.as_deref(), Some("approve.reasn"));
    let s = e.to_string();
    assert!(
        s.starts_with("ci/pixscan.toml:9: unknown field `reasn`"),
        "{s}"
    );
    assert!(s.ends_with("(key `approve.reasn`)"), "{s}");

    let e = err("# policy\nfail_on = []\nfailon = [\"scan-error\"]\n");
    assert_eq!(e.line, Some(3));
    assert_eq!(e.key.as_deref(), Some("failon"));

    let e = err("[[deny]]\ndomain = \"x.example\"\nreason = \"r\"\npage = [\"https://a/*\"]\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("deny.page")));

    // Inline tables too.
    let e = err("approve = [\n  { entity = \"A\", reason = \"r\" },\n  { entity = \"B\", reason = \"r\", sender = [] },\n]\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(3), Some("approve.sender"))
    );
}

#[test]
fn bad_values_name_file_line_and_key() {
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "fail_on = [\n  \"unapproved-tracking\",\n  \"ads\",\n]\n",
            3,
            "fail_on",
            "unknown variant `ads`",
        ),
        ("fail_on = \"any-tracking\"\n", 1, "fail_on", "invalid type"),
        (
            "[[approve]]\nentity = 3\nreason = \"r\"\n",
            2,
            "approve.entity",
            "invalid type",
        ),
        (
            "[[approve]]\nkind = \"pixel\"\nreason = \"r\"\n",
            2,
            "approve.kind",
            "unknown kind `pixel`",
        ),
        (
            "[[approve]]\nentity = \"A\"\nconsent = \"yes\"\nreason = \"r\"\n",
            3,
            "approve.consent",
            "unknown consent state",
        ),
        (
            "[[approve]]\ndomain = \"https://x.example/\"\nreason = \"r\"\n",
            2,
            "approve.domain",
            "bad host pattern",
        ),
        (
            "[[approve]]\nentity = \"A\"\nreason = \"  \"\n",
            3,
            "approve.reason",
            "must not be empty",
        ),
        (
            "\n[[approve]]\nentity = \"A\"\n",
            2,
            "approve.reason",
            "missing field `reason`",
        ),
        (
            "[[deny]]\nreason = \"r\"\npages = [\"https://a.example/*\"]\n",
            1,
            "deny",
            "needs at least one of",
        ),
        (
            "[[approve]]\nentity = \"A\"\nreason = \"r\"\npages = [\"www.shop.example/*\"]\n",
            4,
            "approve.pages",
            "is not a URL",
        ),
        (
            "[[approve]]\nentity = \"A\"\nreason = \"r\"\nsenders = \"*@a.example\"\n",
            4,
            "approve.senders",
            "invalid type",
        ),
        (
            "[[approve]]\nentity = \"\"\nreason = \"r\"\n",
            2,
            "approve.entity",
            "must not be empty",
        ),
        (
            "[approve]\nentity = \"A\"\nreason = \"r\"\n",
            1,
            "approve",
            "invalid type",
        ),
    ];
    for (text, line, key, msg) in cases {
        let e = err(text);
        assert_eq!(e.line, Some(*line), "{text}: {e}");
        assert_eq!(e.key.as_deref(), Some(*key), "{text}: {e}");
        assert!(e.message.contains(msg), "{text}: {e}");
        assert_eq!(
            e.to_string(),
            format!("ci/pixscan.toml:{line}: {} (key `{key}`)", e.message)
        );
    }
    // A TOML syntax error has a line (and no key to blame).
    let e = err("fail_on = [\"scan-error\"\n[[approve]]\n");
    assert_eq!(e.line.map(|l| l >= 1), Some(true), "{e}");
    assert!(e.to_string().starts_with("ci/pixscan.toml:"), "{e}");
}

#[test]
fn load_and_find() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Policy::find(dir.path()).is_none());
    let missing = Policy::load(&dir.path().join("pixscan.toml")).unwrap_err();
    assert!(
        missing.to_string().contains("cannot read policy file"),
        "{missing}"
    );
    assert_eq!(missing.line, None);

    let path = dir.path().join("pixscan.toml");
    std::fs::write(
        &path,
        "fail_on = [\"scan-error\"]\n\n[[approve]]\nentity = \"A\"\n",
    )
    .unwrap();
    assert_eq!(Policy::find(dir.path()), Some(path.clone()));
    let e = Policy::load(&path).unwrap_err();
    assert_eq!(e.file, path.display().to_string());
    assert_eq!(e.line, Some(3));

    std::fs::write(&path, "fail_on = [\"scan-error\"]\n").unwrap();
    let p = Policy::load(&path).unwrap();
    assert_eq!(p.fail_on, vec![FailOn::ScanError]);
    assert_eq!(p.origin, path.display().to_string());
}

#[test]
fn unused_approvals_are_reported() {
    let p = policy(
        r#"
[[approve]]
entity = "SendGrid"
reason = "used"

[[approve]]
entity = "Marketo"
reason = "we stopped using it"

[[approve]]
entity = "Hotjar"
reason = "site only"
pages = ["https://www.northwind.example/*"]
"#,
    );
    // Nothing applied yet: nothing to report.
    assert!(p.unused_approvals().is_empty());
    let mut d = mail("sendgrid-newsletter.eml");
    p.apply(Command::Eml, &mut d);
    let w = p.unused_approvals();
    // The page-scoped approval cannot apply to mail: not reported after an eml run.
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("pixscan.toml:6: approval (entity = \"Marketo\") matched no finding"),
        "{}",
        w[0]
    );
    // After a site run without Hotjar, it is.
    let mut page = page_url("journal/quiet-week");
    p.apply(Command::Site, &mut page);
    let w = p.unused_approvals();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[1].starts_with("pixscan.toml:10:"), "{}", w[1]);
    assert_eq!(p.approve[0].hits(), 7);
    // `verdict` judges without counting.
    let f = page.findings[0].clone();
    let _ = p.verdict(&page, &f);
    assert_eq!(p.approve[2].hits(), 0);
}

// ---------------------------------------------------------------------------------------
// The shipped example

#[test]
fn example_policy_parses_and_behaves() {
    let p = Policy::load(&root().join("pixscan.example.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.fail_on,
        vec![
            FailOn::UnapprovedTracking,
            FailOn::RecipientIdentity,
            FailOn::Ungated,
            FailOn::ScanError
        ]
    );
    assert!(p.approve.len() >= 4 && p.deny.len() >= 3);

    // Own analytics: approved where the consent banner gates it, not where it does not.
    let mut gated = page_url("journal/gear-care");
    let mut ungated = page_url("journal/quiet-week");
    p.apply(Command::Site, &mut gated);
    p.apply(Command::Site, &mut ungated);
    assert!(all(
        &statuses(&gated, "Google Analytics"),
        VerdictStatus::Approved
    ));
    assert!(all(
        &statuses(&gated, "Google Tag Manager"),
        VerdictStatus::Approved
    ));
    assert!(!p.fails(&gated));
    assert!(all(
        &statuses(&ungated, "Google Analytics"),
        VerdictStatus::Violation
    ));

    // Self-hosted Matomo on the store pages; in folder mode through `paths` as well.
    let mut store = page_url("stores/denver");
    p.apply(Command::Site, &mut store);
    assert!(all(&statuses(&store, "Matomo"), VerdictStatus::Approved));
    let mut store_file = page_file("stores/denver");
    store_file.source = "public/stores/denver/index.html".into();
    p.apply(Command::Site, &mut store_file);
    assert!(all(
        &statuses(&store_file, "Matomo"),
        VerdictStatus::Approved
    ));

    // Ad tags on checkout pages are denied, with the entry's reason.
    let mut thanks = page_url("checkout/thank-you");
    p.apply(Command::Site, &mut thanks);
    let ads = statuses(&thanks, "Google/Doubleclick Ads");
    assert!(all(&ads, VerdictStatus::Violation));
    let f = thanks
        .findings
        .iter()
        .find(|f| f.category.as_deref() == Some("ad"))
        .unwrap();
    let reason = &f.verdict.as_ref().unwrap().reason;
    assert!(reason.starts_with("denied by "), "{reason}");
    assert!(reason.contains("signed in or paying"), "{reason}");

    // A denied domain is a violation wherever it appears, approved entity or not.
    let mut d = doc_with(
        "https://www.northwind.example/journal/",
        vec![finding(
            "https://stats.g.doubleclick.net/j/collect?t=dc&tid=G-7XK2M9QW3E",
            Kind::Beacon,
            Some("Google Analytics"),
        )],
    );
    d.findings[0].consent = Some(pixscan::model::Consent::Gated);
    p.apply(Command::Site, &mut d);
    assert_eq!(status(&d.findings[0]), VerdictStatus::Violation);
    assert!(d.findings[0]
        .verdict
        .as_ref()
        .unwrap()
        .reason
        .contains("*.doubleclick.net"));

    // Mail: our ESP for our sender, read trackers denied for staff.
    let mut news = mail("sendgrid-newsletter.eml");
    p.apply(Command::Eml, &mut news);
    assert!(all(&statuses(&news, "SendGrid"), VerdictStatus::Approved));
    assert!(!p.fails(&news));
    let mut staff = mail("mailtrack-sales-followup.eml");
    staff.sender = Some("dan.park@northwind.example".into());
    p.apply(Command::Eml, &mut staff);
    let mt = staff.findings.iter().find(|f| f.tracking).unwrap();
    assert!(mt
        .verdict
        .as_ref()
        .unwrap()
        .reason
        .starts_with("denied by "));
    // Someone else's Mailgun mail: not approved.
    let mut other = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut other);
    assert!(all(&statuses(&other, "Mailgun"), VerdictStatus::Violation));
    // A message that could not be scanned fails (scan-error).
    assert!(p.fails(&mail("empty.eml")));
    // All approvals were used by this run.
    assert!(
        p.unused_approvals().is_empty(),
        "{:?}",
        p.unused_approvals()
    );
}

// ---------------------------------------------------------------------------------------
// Fingerprints

#[test]
fn tracking_findings_get_a_fingerprint() {
    // Fingerprints serve baselines and gates: tracking findings get one, plain requests the
    // policy allows need none.
    let mut doc = mail("mailgun-order-shipped.eml");
    Policy::default().apply(Command::Eml, &mut doc);
    for f in &doc.findings {
        assert_eq!(f.fingerprint.is_some(), f.tracking, "{}", f.url);
        if let Some(fp) = &f.fingerprint {
            assert_eq!(fp.len(), 32);
        }
    }
}

#[test]
fn fingerprints_are_stable_across_runs() {
    let run = || {
        let mut docs: Vec<DocumentReport> =
            ["mailgun-order-shipped.eml", "sendgrid-newsletter.eml"]
                .iter()
                .map(|n| mail(n))
                .collect();
        for d in &mut docs {
            Policy::default().apply(Command::Eml, d);
        }
        docs.iter()
            .flat_map(|d| d.findings.iter().filter_map(|f| f.fingerprint.clone()))
            .collect::<Vec<_>>()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(a
        .iter()
        .all(|fp| fp.len() == 32 && fp.bytes().all(|b| b.is_ascii_hexdigit())));
    // The open pixel and the tracked links of one message differ.
    let set: HashSet<&String> = a.iter().collect();
    assert!(set.len() >= 4, "{a:?}");
}

#[test]
fn fingerprints_ignore_volatile_parts() {
    let doc = mail("mailgun-order-shipped.eml");
    let f = doc
        .findings
        .iter()
        .find(|f| f.kind == Kind::OpenPixel)
        .unwrap()
        .clone();
    let fp = fingerprint::compute(Command::Eml, &doc, &f);

    // Another token in the path (the next send of the same template).
    let mut g = f.clone();
    g.url =
        "https://email.shop.example/o/eJwVzFEKwyAMANDb-FkyTdR9BHYVo8kqdLVYBj3-uv_HWzliUyIuBUgQpIKq"
            .into();
    g.line = Some(99);
    g.leaks.identifiers.clear();
    assert_eq!(fingerprint::compute(Command::Eml, &doc, &g), fp);
    // A changing order number in the subject, another mbox index.
    let mut d2 = doc.clone();
    d2.title = Some("Your order WS-50017 has shipped".into());
    d2.source = "fixtures/mail/box.mbox#7".into();
    assert_eq!(fingerprint::compute(Command::Eml, &d2, &f), fp);

    // Query values and parameter order do not matter; names do.
    let base = finding(
        "https://t.example/px/1234567/open?u=abc&id=9f8e7d6c5b4a",
        Kind::OpenPixel,
        None,
    );
    let d = doc_with("https://www.shop.example/checkout/?step=2", vec![]);
    let fpb = fingerprint::compute(Command::Site, &d, &base);
    let mut v = base.clone();
    v.url = "https://t.example/px/7654321/open?id=0a1b2c3d4e5f&u=xyz".into();
    assert_eq!(fingerprint::compute(Command::Site, &d, &v), fpb);
    v.url = "https://t.example/px/7654321/open?id=0a1b2c3d4e5f&uid=xyz".into();
    assert_ne!(fingerprint::compute(Command::Site, &d, &v), fpb);
    // The page's query and fragment do not matter; its path does.
    let d3 = doc_with("https://www.shop.example/checkout/?step=3#pay", vec![]);
    assert_eq!(fingerprint::compute(Command::Site, &d3, &base), fpb);
    let d4 = doc_with("https://www.shop.example/cart/", vec![]);
    assert_ne!(fingerprint::compute(Command::Site, &d4, &base), fpb);

    // A different entity, kind, host, element or command is a different finding.
    let mut e = f.clone();
    e.entity = Some("SendGrid".into());
    assert_ne!(fingerprint::compute(Command::Eml, &doc, &e), fp);
    let mut k = f.clone();
    k.kind = Kind::TrackedImage;
    assert_ne!(fingerprint::compute(Command::Eml, &doc, &k), fp);
    let mut h = f.clone();
    h.host = "email2.shop.example".into();
    assert_ne!(fingerprint::compute(Command::Eml, &doc, &h), fp);
    let mut el = f.clone();
    el.element = "v:fill".into();
    assert_ne!(fingerprint::compute(Command::Eml, &doc, &el), fp);
    assert_ne!(fingerprint::compute(Command::Site, &doc, &f), fp);
    // Another sender is another document.
    let mut d5 = doc.clone();
    d5.sender = Some("orders@other.example".into());
    assert_ne!(fingerprint::compute(Command::Eml, &d5, &f), fp);
}

/// The fingerprint is part of the baseline file format: baselines written before must keep
/// matching. This value was written by `--write-baseline` before SARIF and baselines shared
/// one fingerprint function ([`pixscan::fingerprint`]); changing it breaks every baseline.
#[test]
fn fingerprints_match_baselines_written_before() {
    let doc = mail("mailgun-order-shipped.eml");
    let pixel = doc
        .findings
        .iter()
        .find(|f| f.kind == Kind::OpenPixel)
        .unwrap();
    assert_eq!(
        fingerprint::compute(Command::Eml, &doc, pixel),
        "f72c5179673f187b0a6c9dec45f0d023"
    );
    let base = Baseline::from_json(
        r#"{"schema":"pixscan-baseline/1","findings":[{"fingerprint":"f72c5179673f187b0a6c9dec45f0d023","source":"fixtures/mail/box.mbox#3","kind":"open-pixel","entity":"Mailgun","url":"https://email.shop.example/o/eJwVzFEKwyAMANDb"}]}"#,
    )
    .unwrap();
    assert!(base.contains(&baseline::Entry::new(Command::Eml, &doc, pixel).fingerprint));
}

#[test]
fn inline_tags_of_one_vendor_are_told_apart() {
    // Two Segment signatures on one page: no URL, same entity and host; the rule differs.
    let mut doc = page_url("checkout");
    Policy::default().apply(Command::Site, &mut doc);
    let fps: HashSet<String> = doc
        .findings
        .iter()
        .filter(|f| f.entity.as_deref() == Some("Segment"))
        .map(|f| f.fingerprint.clone().unwrap())
        .collect();
    assert_eq!(fps.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Baselines

fn mail_run(names: &[&str], policy: &Policy) -> Vec<DocumentReport> {
    names
        .iter()
        .map(|n| {
            let mut d = mail(n);
            policy.apply(Command::Eml, &mut d);
            d
        })
        .collect()
}

/// The baseline file: its schema, sorted and unique fingerprints, the same bytes when written
/// again, and a rewrite from a baselined run that keeps the known entries.
#[test]
fn baseline_file_round_trip() {
    let p = Policy::default();
    let names = [
        "mailgun-order-shipped.eml",
        "sendgrid-newsletter.eml",
        "customerio-onboarding.eml",
    ];
    let first = mail_run(&names, &p);
    let entries: Vec<baseline::Entry> = first
        .iter()
        .flat_map(|d| baseline::entries(Command::Eml, d))
        .collect();
    let violations = first
        .iter()
        .flat_map(|d| &d.findings)
        .filter(|f| status(f) == VerdictStatus::Violation)
        .count();
    assert_eq!(entries.len(), violations);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pixscan-baseline.json");
    Baseline::write(&path, &entries).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["schema"], "pixscan-baseline/1");
    let fps: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap())
        .collect();
    let mut sorted = fps.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(fps, sorted, "sorted by fingerprint, no duplicates");
    let e0 = &json["findings"][0];
    for key in ["source", "kind", "entity", "url"] {
        assert!(e0.get(key).is_some(), "{key}");
    }
    // Writing the same entries again gives the same bytes.
    Baseline::write(&path, &entries).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    let b = Baseline::load(&path).unwrap();
    assert_eq!(b.len(), fps.len());
    assert!(fps.iter().all(|fp| b.contains(fp)));

    // Rewriting the baseline from a baselined run keeps the known entries.
    let mut seen = HashSet::new();
    let mut second = mail_run(&names, &p);
    for d in &mut second {
        apply_baseline(&b, d, &mut seen);
    }
    let rewritten: Vec<baseline::Entry> = second
        .iter()
        .flat_map(|d| baseline::entries(Command::Eml, d))
        .collect();
    assert_eq!(Baseline::from_entries(rewritten).entries().count(), b.len());
}

/// A baseline written from a first run (default policy), then a second run judged with it.
struct BaselineCase {
    case: &'static str,
    /// The messages of the first run.
    written_from: &'static [&'static str],
    /// The second run's policy (`None`: the default).
    policy: Option<&'static str>,
    /// The second run: each message, whether the policy fails it, and whether its tracking
    /// findings are all baselined (`false`: none of its findings is).
    run: &'static [(&'static str, bool, bool)],
    /// The first-run messages whose entries the second run no longer sees (fixed).
    fixed_from: &'static [&'static str],
}

const FIRST_RUN: &[&str] = &[
    "mailgun-order-shipped.eml",
    "sendgrid-newsletter.eml",
    "customerio-onboarding.eml",
];

impl BaselineCase {
    /// Writes the baseline from the first run, judges the second run with it, and checks
    /// what the row says.
    fn check(&self) {
        let entries: Vec<baseline::Entry> = mail_run(self.written_from, &Policy::default())
            .iter()
            .flat_map(|d| baseline::entries(Command::Eml, d))
            .collect();
        let b = Baseline::from_entries(entries.clone());
        assert!(!b.is_empty(), "{}", self.case);
        let p = self.policy.map_or_else(Policy::default, policy);
        let names: Vec<&str> = self.run.iter().map(|(n, _, _)| *n).collect();
        let mut seen = HashSet::new();
        let mut s = PolicySummary::default();
        let mut baselined = 0;
        for (d, (name, fails, known)) in mail_run(&names, &p).iter_mut().zip(self.run) {
            apply_baseline(&b, d, &mut seen);
            assert_eq!(p.fails(d), *fails, "{}: {name}", self.case);
            for f in &d.findings {
                if *known && f.tracking {
                    assert_eq!(
                        status(f),
                        VerdictStatus::Baselined,
                        "{}: {}",
                        self.case,
                        f.url
                    );
                    let why = &f.verdict.as_ref().unwrap().reason;
                    assert!(
                        why.contains("baseline") && why.contains("unapproved-tracking"),
                        "{}: {why}",
                        self.case
                    );
                } else if !*known {
                    assert_ne!(
                        status(f),
                        VerdictStatus::Baselined,
                        "{}: {}",
                        self.case,
                        f.url
                    );
                }
            }
            baselined += d
                .findings
                .iter()
                .filter(|f| status(f) == VerdictStatus::Baselined)
                .count();
            s.add(&p, d);
        }
        assert_eq!(
            s.passed(),
            self.run.iter().all(|(_, fails, _)| !fails),
            "{}",
            self.case
        );
        assert_eq!(s.baselined as usize, baselined, "{}", self.case);
        let fixed: HashSet<&str> = b
            .fixed(&seen)
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let want: HashSet<&str> = entries
            .iter()
            .filter(|e| {
                self.fixed_from
                    .iter()
                    .any(|n| e.source == format!("fixtures/mail/{n}"))
            })
            .map(|e| e.fingerprint.as_str())
            .collect();
        assert_eq!(want.is_empty(), self.fixed_from.is_empty(), "{}", self.case);
        assert_eq!(fixed, want, "{}", self.case);
    }
}

#[test]
fn baseline_cases() {
    let rows = [
        BaselineCase {
            case: "same inputs: everything known, the gate passes, nothing fixed",
            written_from: FIRST_RUN,
            policy: None,
            run: &[
                ("mailgun-order-shipped.eml", false, true),
                ("sendgrid-newsletter.eml", false, true),
                ("customerio-onboarding.eml", false, true),
            ],
            fixed_from: &[],
        },
        BaselineCase {
            case: "one message gone (fixed), one new message with new tracking",
            written_from: FIRST_RUN,
            policy: None,
            run: &[
                ("mailgun-order-shipped.eml", false, true),
                ("sendgrid-newsletter.eml", false, true),
                ("klaviyo-back-in-stock.eml", true, false),
            ],
            fixed_from: &["customerio-onboarding.eml"],
        },
        BaselineCase {
            case: "approved since the baseline: counts as fixed, nothing baselined",
            written_from: &["sendgrid-newsletter.eml"],
            policy: Some("[[approve]]\nentity = \"SendGrid\"\nreason = \"ours\"\n"),
            run: &[("sendgrid-newsletter.eml", false, false)],
            fixed_from: &["sendgrid-newsletter.eml"],
        },
    ];
    for r in &rows {
        r.check();
    }
}

#[test]
fn baseline_paths_are_not_confused_by_the_working_directory() {
    // Folder-mode fingerprints use the path as reported, minus a leading "./".
    let mut a = page_file("shop");
    let mut b = page_file("shop");
    b.source = format!("./{}", b.source);
    Policy::default().apply(Command::Site, &mut a);
    Policy::default().apply(Command::Site, &mut b);
    let fa: Vec<_> = a.findings.iter().map(|f| f.fingerprint.clone()).collect();
    let fb: Vec<_> = b.findings.iter().map(|f| f.fingerprint.clone()).collect();
    assert_eq!(fa, fb);
}
