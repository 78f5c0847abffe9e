//! The CI gate's policy stage through the library API: `pixscan::policy` (pixscan.toml) and
//! `pixscan::baseline` (fingerprints, baseline files), on real scans of the fixtures and on
//! hand-built findings.

use pixscan::model::Command;
use std::collections::HashSet;
use std::path::PathBuf;

use pixscan::baseline::{self, apply_baseline, Baseline};
use pixscan::fingerprint;
use pixscan::model::{DocumentReport, Finding, Identifier, Kind, Leaks, Party, VerdictStatus};
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
fn default_policy_fails_unapproved_tracking_only() {
    let p = Policy::default();
    assert_eq!(p.fail_on, vec![FailOn::UnapprovedTracking]);
    let mut doc = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut doc);
    for f in &doc.findings {
        let want = if f.tracking {
            VerdictStatus::Violation
        } else {
            VerdictStatus::Allowed
        };
        assert_eq!(status(f), want, "{}", f.url);
        // Fingerprints serve baselines and gates: tracking findings get one, plain
        // requests the policy allows need none.
        assert_eq!(f.fingerprint.is_some(), f.tracking, "{}", f.url);
        if let Some(fp) = &f.fingerprint {
            assert_eq!(fp.len(), 32);
        }
    }
    let reason = &doc.findings.iter().find(|f| f.tracking).unwrap();
    let reason = &reason.verdict.as_ref().unwrap().reason;
    assert!(reason.contains("unapproved-tracking"), "{reason}");
    assert!(reason.contains("Mailgun"), "{reason}");
    assert!(p.fails(&doc));

    let mut clean = mail("clean-remote-product-images.eml");
    assert!(!clean.findings.is_empty());
    p.apply(Command::Eml, &mut clean);
    assert!(all(
        &clean.findings.iter().map(status).collect::<Vec<_>>(),
        VerdictStatus::Allowed
    ));
    assert!(!p.fails(&clean));

    // An empty file is the default policy too.
    assert_eq!(policy("").fail_on, vec![FailOn::UnapprovedTracking]);
}

#[test]
fn fails_judges_findings_that_were_not_applied() {
    let doc = mail("mailgun-order-shipped.eml");
    assert!(Policy::default().fails(&doc));
    assert!(!policy("fail_on = []").fails(&doc));
}

#[test]
fn approval_by_entity_with_sender_scope() {
    let p = policy(
        r#"
[[approve]]
entity = "mailgun"            # case-insensitive
reason = "Our transactional ESP"
senders = ["*@SHOP.example"]
"#,
    );
    let mut doc = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut doc);
    assert!(all(&statuses(&doc, "Mailgun"), VerdictStatus::Approved));
    let v = doc.findings.iter().find(|f| f.tracking).unwrap();
    let reason = &v.verdict.as_ref().unwrap().reason;
    assert!(
        reason.starts_with("approved by pixscan.toml:2 (entity = \"mailgun\")"),
        "{reason}"
    );
    assert!(reason.ends_with("Our transactional ESP"), "{reason}");
    assert!(!p.fails(&doc));
    assert!(p.unused_approvals().is_empty());

    // The same approval scoped to another sender does not apply.
    let p = policy(
        "[[approve]]\nentity = \"Mailgun\"\nreason = \"x\"\nsenders = [\"*@other.example\"]\n",
    );
    let mut doc = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut doc);
    assert!(all(&statuses(&doc, "Mailgun"), VerdictStatus::Violation));
}

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
    // A registrable domain covers its subdomains (through the finding's registrable domain).
    assert_eq!(
        judge("sendgrid.net", "https://u1.ct.sendgrid.net/wf/open"),
        Approved
    );
    // A host matches only itself.
    assert_eq!(
        judge("ct.sendgrid.net", "https://ct.sendgrid.net/x"),
        Approved
    );
    assert_eq!(
        judge("ct.sendgrid.net", "https://u1.ct.sendgrid.net/x"),
        Violation
    );
    // *. covers the domain and its subdomains; inner wildcards stay within a label.
    assert_eq!(
        judge("*.doubleclick.net", "https://stats.g.doubleclick.net/j"),
        Approved
    );
    assert_eq!(
        judge("*.doubleclick.net", "https://doubleclick.net/j"),
        Approved
    );
    assert_eq!(
        judge("*.doubleclick.net", "https://notdoubleclick.net/j"),
        Violation
    );
    assert_eq!(
        judge("u*.ct.sendgrid.net", "https://u77.ct.sendgrid.net/x"),
        Approved
    );
    assert_eq!(
        judge("u*.ct.sendgrid.net", "https://x.ct.sendgrid.net/x"),
        Violation
    );
}

#[test]
fn approval_with_page_scope() {
    let p = policy(
        r#"
[[approve]]
entity = "Google Analytics"
reason = "Our analytics on the journal"
pages = ["https://www.northwind.example/journal/*"]
"#,
    );
    let mut journal = page_url("journal/quiet-week");
    let mut shop = page_url("shop");
    p.apply(Command::Site, &mut journal);
    p.apply(Command::Site, &mut shop);
    assert!(all(
        &statuses(&journal, "Google Analytics"),
        VerdictStatus::Approved
    ));
    assert!(all(
        &statuses(&shop, "Google Analytics"),
        VerdictStatus::Violation
    ));
    // Google Tag Manager is not covered by the approval.
    assert!(all(
        &statuses(&journal, "Google Tag Manager"),
        VerdictStatus::Violation
    ));
    // A page pattern does not apply to folder-mode files.
    let mut file = page_file("journal/quiet-week");
    p.apply(Command::Site, &mut file);
    assert!(all(
        &statuses(&file, "Google Analytics"),
        VerdictStatus::Violation
    ));
}

#[test]
fn approval_with_path_scope() {
    let p = policy(
        r#"
[[approve]]
entity = "Google Analytics"
reason = "Our analytics on the journal"
paths = ["fixtures/site/public/journal/**"]

[[approve]]
entity = "Hotjar"
reason = "One page only"
paths = ["./fixtures/site/public/*/index.html"]
"#,
    );
    let mut journal = page_file("journal/quiet-week");
    let mut shop = page_file("shop");
    p.apply(Command::Site, &mut journal);
    p.apply(Command::Site, &mut shop);
    assert!(all(
        &statuses(&journal, "Google Analytics"),
        VerdictStatus::Approved
    ));
    assert!(all(
        &statuses(&shop, "Google Analytics"),
        VerdictStatus::Violation
    ));

    // `*` stays within one folder: journal/index.html yes, help/returns/index.html no.
    let mut top = page_file("journal");
    let mut deep = page_file("help/returns");
    p.apply(Command::Site, &mut top);
    p.apply(Command::Site, &mut deep);
    assert!(all(&statuses(&top, "Hotjar"), VerdictStatus::Approved));
    assert!(all(&statuses(&deep, "Hotjar"), VerdictStatus::Violation));

    // A relative pattern also matches the absolute path of a file under the current
    // directory, and a "./" prefix in the source is ignored.
    let mut abs = page_file("journal/quiet-week");
    abs.source = root().join(&abs.source).display().to_string();
    let mut dotted = page_file("journal/quiet-week");
    dotted.source = format!("./{}", dotted.source);
    p.apply(Command::Site, &mut abs);
    p.apply(Command::Site, &mut dotted);
    assert!(all(
        &statuses(&abs, "Google Analytics"),
        VerdictStatus::Approved
    ));
    assert!(all(
        &statuses(&dotted, "Google Analytics"),
        VerdictStatus::Approved
    ));
}

#[test]
fn consent_key_approves_only_gated_tags() {
    let p = policy(
        "[[approve]]\nentity = \"Google Analytics\"\nconsent = \"gated\"\nreason = \"behind the CMP\"\n",
    );
    let mut gated = page_url("journal/gear-care");
    let mut ungated = page_url("journal/quiet-week");
    p.apply(Command::Site, &mut gated);
    p.apply(Command::Site, &mut ungated);
    assert!(all(
        &statuses(&gated, "Google Analytics"),
        VerdictStatus::Approved
    ));
    assert!(all(
        &statuses(&ungated, "Google Analytics"),
        VerdictStatus::Violation
    ));
}

#[test]
fn deny_wins_over_approval() {
    let p = policy(
        r#"
fail_on = []

[[approve]]
entity = "Facebook"
reason = "Marketing wants it"

[[deny]]
domain = "facebook.com"
reason = "No social tracking on the home page"
pages = ["https://www.northwind.example/"]
"#,
    );
    let mut doc = page_url("shop");
    doc.source = "https://www.northwind.example/".into();
    p.apply(Command::Site, &mut doc);
    let fb: Vec<&Finding> = doc
        .findings
        .iter()
        .filter(|f| f.entity.as_deref() == Some("Facebook"))
        .collect();
    assert!(!fb.is_empty());
    for f in fb {
        assert_eq!(status(f), VerdictStatus::Violation);
        let reason = &f.verdict.as_ref().unwrap().reason;
        assert!(
            reason.starts_with("denied by pixscan.toml:8 (domain = \"facebook.com\")"),
            "{reason}"
        );
    }
    assert!(p.fails(&doc));
    // Out of the deny entry's scope, the approval applies.
    let mut other = page_url("shop");
    p.apply(Command::Site, &mut other);
    assert!(all(&statuses(&other, "Facebook"), VerdictStatus::Approved));
    // The approval matched (also where the deny entry overrode it): no warning.
    assert!(p.unused_approvals().is_empty());

    // A deny entry applies even to findings that are not tracking.
    let p =
        policy("fail_on = []\n[[deny]]\nkind = \"remote-image\"\nreason = \"no remote images\"\n");
    let mut doc = mail("clean-remote-product-images.eml");
    p.apply(Command::Eml, &mut doc);
    assert!(doc
        .findings
        .iter()
        .all(|f| status(f) == VerdictStatus::Violation));
}

#[test]
fn fail_on_recipient_identity() {
    let p = policy("fail_on = [\"recipient-identity\"]");
    // recipient-email (zlib-base64 in the path).
    let mut mailgun = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut mailgun);
    assert!(all(
        &statuses(&mailgun, "Mailgun"),
        VerdictStatus::Violation
    ));
    let reason = &mailgun.findings.iter().find(|f| f.tracking).unwrap();
    assert!(reason
        .verdict
        .as_ref()
        .unwrap()
        .reason
        .contains("recipient-identity"));
    // recipient-email-hash (MD5 of the address).
    let mut md5 = mail("receipt-md5-hash.eml");
    p.apply(Command::Eml, &mut md5);
    assert!(md5
        .findings
        .iter()
        .any(|f| f.tracking && status(f) == VerdictStatus::Violation));
    // Opaque per-recipient tokens are not the recipient's identity: allowed.
    let mut sendgrid = mail("sendgrid-newsletter.eml");
    p.apply(Command::Eml, &mut sendgrid);
    assert!(all(
        &statuses(&sendgrid, "SendGrid"),
        VerdictStatus::Allowed
    ));
    let allowed = &sendgrid.findings[0].verdict.as_ref().unwrap().reason;
    assert!(allowed.contains("no fail_on condition"), "{allowed}");
    assert!(!p.fails(&sendgrid));
}

#[test]
fn fail_on_third_party_identifiers() {
    let p = policy("fail_on = [\"third-party-identifiers\"]");
    let mut third = mail("sendgrid-newsletter.eml");
    p.apply(Command::Eml, &mut third);
    assert!(all(&statuses(&third, "SendGrid"), VerdictStatus::Violation));
    // Mailgun on the sender's own domain: first party, identifiers or not.
    let mut first = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut first);
    assert!(all(&statuses(&first, "Mailgun"), VerdictStatus::Allowed));
    // A third party without identifiers.
    let mut d = doc_with(
        "https://a.example/",
        vec![finding("https://t.example/p.gif", Kind::Beacon, None)],
    );
    p.apply(Command::Site, &mut d);
    assert_eq!(status(&d.findings[0]), VerdictStatus::Allowed);
    d.findings[0].leaks.identifiers.push(Identifier {
        location: "query:uid".into(),
        kind: pixscan::model::IdentifierKind::RecipientToken,
        encoding: pixscan::model::Encoding::Opaque,
        value: "8f3a9c2be17d4e6fa0b1".into(),
    });
    p.apply(Command::Site, &mut d);
    assert_eq!(status(&d.findings[0]), VerdictStatus::Violation);
}

#[test]
fn fail_on_ungated() {
    let p = policy("fail_on = [\"ungated\"]");
    let mut gated = page_url("journal/gear-care");
    let mut ungated = page_url("journal/quiet-week");
    p.apply(Command::Site, &mut gated);
    p.apply(Command::Site, &mut ungated);
    assert!(all(
        &statuses(&gated, "Google Analytics"),
        VerdictStatus::Allowed
    ));
    assert!(all(
        &statuses(&ungated, "Google Analytics"),
        VerdictStatus::Violation
    ));
    let r = &ungated.findings.iter().find(|f| f.tracking).unwrap();
    assert!(r.verdict.as_ref().unwrap().reason.contains("consent"));
    // Mail findings have no consent state: never `ungated`.
    let mut m = mail("sendgrid-newsletter.eml");
    p.apply(Command::Eml, &mut m);
    assert!(!p.fails(&m));
}

#[test]
fn fail_on_any_tracking_and_approvals() {
    let p = policy(
        "fail_on = [\"any-tracking\"]\n[[approve]]\nentity = \"SendGrid\"\nreason = \"ours\"\n",
    );
    let mut sendgrid = mail("sendgrid-newsletter.eml");
    let mut mailgun = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut sendgrid);
    p.apply(Command::Eml, &mut mailgun);
    assert!(all(
        &statuses(&sendgrid, "SendGrid"),
        VerdictStatus::Approved
    ));
    assert!(all(
        &statuses(&mailgun, "Mailgun"),
        VerdictStatus::Violation
    ));
    // Non-tracking findings are allowed.
    assert!(mailgun
        .findings
        .iter()
        .filter(|f| !f.tracking)
        .all(|f| status(f) == VerdictStatus::Allowed));
    // Several conditions at once are all named.
    let p = policy("fail_on = [\"any-tracking\", \"recipient-identity\", \"any-tracking\"]");
    assert_eq!(p.fail_on.len(), 2, "duplicates collapse");
    let mut mailgun = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut mailgun);
    let r = &mailgun.findings.iter().find(|f| f.tracking).unwrap();
    let r = &r.verdict.as_ref().unwrap().reason;
    assert!(r.contains("any-tracking, recipient-identity"), "{r}");
}

#[test]
fn fail_on_scan_error_is_document_level() {
    let mut broken = mail("empty.eml");
    assert!(broken.error.is_some());
    let strict = policy("fail_on = [\"unapproved-tracking\", \"scan-error\"]");
    let lax = Policy::default();
    strict.apply(Command::Eml, &mut broken);
    assert!(strict.fails(&broken));
    assert!(!lax.fails(&broken));
    let v = strict.document_verdict(&broken).unwrap();
    assert_eq!(v.status, VerdictStatus::Violation);
    assert!(v.reason.contains("scan-error"), "{}", v.reason);
    let v = lax.document_verdict(&broken).unwrap();
    assert_eq!(v.status, VerdictStatus::Allowed);
    assert!(strict
        .document_verdict(&mail("clean-plain-text.eml"))
        .is_none());

    let mut s = PolicySummary::default();
    s.add(&strict, &broken);
    assert_eq!(s.failed_documents, 1);
    assert!(!s.passed());
    let mut s = PolicySummary::default();
    s.add(&lax, &broken);
    assert!(s.passed());
}

#[test]
fn empty_fail_on_fails_only_on_deny() {
    let p = policy("fail_on = []\n[[deny]]\nentity = \"Mailgun\"\nreason = \"migrating away\"\n");
    let mut a = mail("sendgrid-newsletter.eml");
    let mut b = mail("mailgun-order-shipped.eml");
    p.apply(Command::Eml, &mut a);
    p.apply(Command::Eml, &mut b);
    assert!(!p.fails(&a));
    assert!(p.fails(&b));
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

#[test]
fn baseline_round_trip_and_fixed_findings() {
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

    // Second run, same inputs: everything known, the gate passes, nothing fixed.
    let mut seen = HashSet::new();
    let mut second = mail_run(&names, &p);
    for d in &mut second {
        apply_baseline(&b, d, &mut seen);
        assert!(!p.fails(d), "{}", d.source);
        for f in d.findings.iter().filter(|f| f.tracking) {
            assert_eq!(status(f), VerdictStatus::Baselined);
            let r = &f.verdict.as_ref().unwrap().reason;
            assert!(
                r.contains("baseline") && r.contains("unapproved-tracking"),
                "{r}"
            );
        }
    }
    assert!(b.fixed(&seen).is_empty());
    let mut s = PolicySummary::default();
    for d in &second {
        s.add(&p, d);
    }
    assert!(s.passed());
    assert_eq!(s.baselined as usize, violations);

    // Third run: one message fixed (gone), one new message with new tracking.
    let mut seen = HashSet::new();
    let mut third = mail_run(
        &[
            "mailgun-order-shipped.eml",
            "sendgrid-newsletter.eml",
            "klaviyo-back-in-stock.eml",
        ],
        &p,
    );
    for d in &mut third {
        apply_baseline(&b, d, &mut seen);
    }
    assert!(!p.fails(&third[0]) && !p.fails(&third[1]));
    assert!(p.fails(&third[2]), "new tracking is not in the baseline");
    let fixed = b.fixed(&seen);
    assert!(!fixed.is_empty());
    assert!(fixed
        .iter()
        .all(|e| e.source == "fixtures/mail/customerio-onboarding.eml"));
    assert_eq!(
        fixed.len(),
        entries
            .iter()
            .filter(|e| e.source.ends_with("customerio-onboarding.eml"))
            .map(|e| &e.fingerprint)
            .collect::<HashSet<_>>()
            .len()
    );

    // Rewriting the baseline from a baselined run keeps the known entries.
    let rewritten: Vec<baseline::Entry> = second
        .iter()
        .flat_map(|d| baseline::entries(Command::Eml, d))
        .collect();
    assert_eq!(Baseline::from_entries(rewritten).entries().count(), b.len());
}

#[test]
fn approved_since_counts_as_fixed() {
    let names = ["sendgrid-newsletter.eml"];
    let first = mail_run(&names, &Policy::default());
    let b = Baseline::from_entries(
        first
            .iter()
            .flat_map(|d| baseline::entries(Command::Eml, d)),
    );
    assert!(!b.is_empty());
    let p = policy("[[approve]]\nentity = \"SendGrid\"\nreason = \"ours\"\n");
    let mut seen = HashSet::new();
    for d in &mut mail_run(&names, &p) {
        apply_baseline(&b, d, &mut seen);
        assert!(d
            .findings
            .iter()
            .all(|f| status(f) != VerdictStatus::Baselined));
    }
    assert_eq!(b.fixed(&seen).len(), b.len());
}

#[test]
fn baseline_load_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.json");
    assert!(Baseline::load(&p).unwrap_err().contains("b.json"));
    std::fs::write(&p, "{\"schema\":\"pixscan-baseline/2\",\"findings\":[]}").unwrap();
    let e = Baseline::load(&p).unwrap_err();
    assert!(e.contains("unsupported baseline schema"), "{e}");
    std::fs::write(&p, "not json").unwrap();
    assert!(Baseline::load(&p)
        .unwrap_err()
        .contains("not a pixscan baseline"));
    std::fs::write(&p, "{\"schema\":\"pixscan-baseline/1\",\"findings\":[]}").unwrap();
    assert!(Baseline::load(&p).unwrap().is_empty());
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
