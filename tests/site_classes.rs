//! One made-up page per error class measured on real pages (`fixtures/site-real`, see its
//! README): folder mode, no `--base-url`, so relative URLs are the site's own.

mod support;

use serde_json::Value;
use support::pixscan;

fn scan() -> Value {
    let out = pixscan()
        .args(["site", "--format", "json", "fixtures/site-real"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The scanned document of fixture page `name`; it must have been scanned without error.
fn document<'a>(v: &'a Value, name: &str) -> &'a Value {
    let doc = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["source"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no document {name}"));
    assert!(doc["error"].is_null(), "{name}: {}", doc["error"]);
    doc
}

fn page<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    document(v, name)["findings"].as_array().unwrap()
}

fn tracked<'a>(findings: &'a [Value], entity: &str) -> Option<&'a Value> {
    findings
        .iter()
        .find(|f| f["tracking"] == true && f["entity"] == entity)
}

fn describe(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "\n  {} tracking={} entity={} account={} url={}",
                f["kind"], f["tracking"], f["entity"], f["account"], f["url"]
            )
        })
        .collect()
}

#[test]
fn trackers_loaded_from_inline_scripts_are_named() {
    let v = scan();
    let f = page(&v, "loaders.html");
    for entity in ["Chartbeat", "Taboola", "Amazon Ads", "Quantcast"] {
        assert!(tracked(f, entity).is_some(), "{entity}: {}", describe(f));
    }
    // Mentioned in a JSON block or a plain array, never handed to a loader.
    for host in [
        "criteo.com",
        "outbrain.com",
        "hotjar.com",
        "tiqcdn.com",
        "platform.twitter.com",
        "doubleverify.com",
        "criteo.net",
        "connect.facebook.net",
        "static.hotjar.com",
        "cdn.segment.com",
        "assets.pinterest.com",
    ] {
        assert!(
            !f.iter()
                .any(|x| x["url"].as_str().unwrap_or("").contains(host)),
            "{host} is only mentioned: {}",
            describe(f)
        );
    }
    for host in [
        "script.ioam.de",
        "acme.disqus.com",
        "acme-comments.disqus.com",
        "widgets.acme-social.example",
    ] {
        assert!(
            f.iter()
                .any(|x| x["url"].as_str().unwrap_or("").contains(host)),
            "{host} is loaded: {}",
            describe(f)
        );
    }
    // A snippet's config without the code it configures loads nothing.
    assert!(
        !f.iter().any(|x| x["entity"] == "New Relic"),
        "{}",
        describe(f)
    );
    let quant = tracked(f, "Quantcast").unwrap();
    assert_eq!(quant["url"], "https://secure.quantserve.com/quant.js");
    assert_eq!(quant["attribute"], "inline-loader");
}

#[test]
fn vendors_the_map_lacked_are_named() {
    let v = scan();
    let f = page(&v, "unknown-vendors.html");
    for entity in ["VG Wort", "Cloudflare Web Analytics", "NET-Metrix"] {
        assert!(tracked(f, entity).is_some(), "{entity}: {}", describe(f));
    }
}

#[test]
fn shared_domains_do_not_misname() {
    let v = scan();
    let f = page(&v, "wrong-names.html");
    assert!(tracked(f, "Nativo").is_some(), "{}", describe(f));
    assert!(!f
        .iter()
        .any(|x| x["entity"] == "Quantcast" || x["entity"] == "Bing Ads"));
    let ms = f
        .iter()
        .find(|x| x["url"].as_str().unwrap().contains("microsoft.com"))
        .unwrap();
    assert_eq!(ms["tracking"], false, "a content image on microsoft.com");
    let matomo = tracked(f, "Matomo").expect("self-hosted Matomo");
    assert_eq!(matomo["account"], "7");
    assert!(!f.iter().any(|x| x["entity"] == "Matomo Cloud"));
}

#[test]
fn account_ids_in_other_forms() {
    let v = scan();
    let f = page(&v, "accounts-snippet-families.html");
    for (entity, account) in [
        ("Google/Doubleclick Ads", "ca-pub-1234567890123456"),
        ("Google Analytics", "UA-11223-4"),
        ("Google Optimize", "GTM-OPT1234"),
        ("Chartbeat", "12345"),
        ("Taboola", "examplepublisher-news"),
        ("New Relic", "123456789"),
        ("Scorecard Research", "1234567"),
        ("Quantcast", "p-AbCdEfGh12345"),
        ("Amazon Ads", "1a2b3c4d-0000-4000-8000-123456789abc"),
    ] {
        assert!(
            f.iter()
                .any(|x| x["entity"] == entity && x["account"] == account),
            "{entity} {account}: {}",
            describe(f)
        );
    }
    // A commented-out ad slot is no account.
    assert!(!f.iter().any(|x| x["account"] == "99999999"));
}

#[test]
fn hidden_content_hints_and_embeds_are_not_trackers() {
    let v = scan();
    let f = page(&v, "hidden-content.html");
    let tracking: Vec<&Value> = f.iter().filter(|x| x["tracking"] == true).collect();
    assert!(tracking.is_empty(), "{}", describe(f));
    // Relative URLs are the site's own.
    let own = f
        .iter()
        .find(|x| {
            x["url"]
                .as_str()
                .unwrap()
                .ends_with("/assets/tab-2/diagram.png")
        })
        .unwrap();
    assert_eq!(own["party"], "first");
    // Hints are reported, apart from trackers.
    assert!(f
        .iter()
        .any(|x| x["kind"] == "dns-prefetch" && x["entity"] == "Facebook"));
}

#[test]
fn identity_handed_to_tags_is_reported() {
    let v = scan();
    let f = page(&v, "advanced-matching.html");
    let fb = tracked(f, "Facebook").unwrap();
    let ids: Vec<(&str, &str)> = fb["leaks"]["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["where"].as_str().unwrap()))
        .collect();
    assert!(ids.contains(&("visitor-email", "init:em")), "{ids:?}");
    assert!(ids.contains(&("visitor-phone", "init:ph")), "{ids:?}");
    assert!(fb["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().contains("advanced matching")));
    let tt = tracked(f, "TikTok").unwrap();
    assert_eq!(tt["leaks"]["identifiers"][0]["kind"], "visitor-email-hash");
    assert_eq!(tt["leaks"]["identifiers"][0]["encoding"], "sha256");
}

#[test]
fn unknown_beacons_with_a_visitor_id() {
    let v = scan();
    let f = page(&v, "unknown-beacons.html");
    for needle in ["p.gif?uid=", "b.png?cid="] {
        let b = f
            .iter()
            .find(|x| x["url"].as_str().unwrap().contains(needle))
            .unwrap();
        assert_eq!(b["kind"], "beacon", "{b}");
        assert_eq!(b["tracking"], true);
        assert_eq!(b["consent"], "ungated");
        assert_eq!(b["leaks"]["identifiers"][0]["kind"], "visitor-id");
    }
    let banner = f
        .iter()
        .find(|x| x["url"].as_str().unwrap().contains("banner.jpg"))
        .unwrap();
    assert_eq!(banner["tracking"], false);
    let photo = f
        .iter()
        .find(|x| x["url"].as_str().unwrap().contains("harbour-lights.jpg"))
        .unwrap();
    assert_eq!(photo["tracking"], false, "{photo}");
    assert_eq!(photo["kind"], "remote-image");
    // Web words: never a recipient on a page.
    let all = v.to_string();
    assert!(
        !all.contains("recipient-token"),
        "site output speaks of visitors"
    );
}

#[test]
fn archived_copies_describe_the_page_as_first_published() {
    let v = scan();
    let doc = document(&v, "archived-copy.html");
    assert_eq!(doc["first_party"], "shop.example");
    assert!(
        doc["notes"]
            .to_string()
            .contains("Wayback Machine copy (captured 2019-03-12)"),
        "{}",
        doc["notes"]
    );
    let f = page(&v, "archived-copy.html");
    // The archive's rewritten URL is judged as the original request, and says where it is.
    let gtag = f
        .iter()
        .find(|x| {
            x["url"]
                .as_str()
                .unwrap()
                .starts_with("https://www.googletagmanager.com/gtag/js")
        })
        .unwrap_or_else(|| panic!("{}", describe(f)));
    assert_eq!(gtag["tracking"], true, "{gtag}");
    assert_eq!(gtag["wrapped_by"], "Wayback Machine copy");
    assert!(gtag["raw_url"]
        .as_str()
        .unwrap()
        .starts_with("https://web.archive.org/web/20190312080910js_/"));
    // Inline snippets and loaders name their vendors as on the original page.
    assert!(
        f.iter()
            .any(|x| x["account"] == "UA-11223344-1" && x["tracking"] == true),
        "{}",
        describe(f)
    );
    assert!(tracked(f, "Chartbeat").is_some(), "{}", describe(f));
    // A page that only links to an archived copy is not one: its archive URLs stay requests
    // to the archive.
    let live = page(&v, "loaders.html");
    assert!(!live
        .iter()
        .any(|x| x["wrapped_by"] == "Wayback Machine copy"));
}

#[test]
fn a_saved_page_names_its_own_site() {
    let v = scan();
    let doc = document(&v, "own-absolute-urls.html");
    assert_eq!(doc["first_party"], "harbour-news.example");
    let f = page(&v, "own-absolute-urls.html");
    for own in ["stats/count.gif", "img/ferry.jpg"] {
        let x = f
            .iter()
            .find(|x| x["url"].as_str().unwrap().contains(own))
            .unwrap();
        assert_eq!(x["party"], "first", "{x}");
        assert_eq!(x["tracking"], false, "{x}");
    }
    let third = f
        .iter()
        .find(|x| x["url"].as_str().unwrap().contains("metrics-unknown"))
        .unwrap();
    assert_eq!(third["tracking"], true, "{third}");
}

#[test]
fn a_companys_own_files_on_its_own_site_are_not_trackers() {
    let v = scan();
    let f = page(&v, "own-company.html");
    for own in ["style.css", "jquery.min.js"] {
        let x = f
            .iter()
            .find(|x| x["url"].as_str().unwrap().contains(own))
            .unwrap_or_else(|| panic!("{own}: {}", describe(f)));
        assert_eq!(x["party"], "first", "{x}");
        assert_eq!(x["tracking"], false, "{x}");
        assert_ne!(x["kind"], "tracker-script", "{x}");
    }
    assert!(
        tracked(f, "Google Tag Manager").is_some(),
        "{}",
        describe(f)
    );
}

#[test]
fn account_ids_in_attributes() {
    let v = scan();
    let f = page(&v, "markup-ids.html");
    for (url, account) in [
        ("adsbygoogle.js", "ca-pub-7777777777777777"),
        (
            "cloudflareinsights.com/beacon.min.js",
            "fedcba9876543210fedcba9876543210",
        ),
        ("plausible.io/js/script.js", "shop.example"),
    ] {
        let x = f
            .iter()
            .find(|x| x["url"].as_str().unwrap().contains(url))
            .unwrap_or_else(|| panic!("{url}: {}", describe(f)));
        assert_eq!(x["account"], account, "{x}");
        assert_eq!(x["tracking"], true, "{x}");
    }
    // One finding per request: the id joined the script's finding.
    assert!(
        !f.iter().any(|x| x["attribute"] == "markup"),
        "{}",
        describe(f)
    );
}
