//! `pixscan site --probe`: the one place a site scan requests a tracking URL itself, and
//! only when asked (each request adds a hit to someone's analytics).

use std::collections::HashMap;

use crate::extract::image::image_size;
use crate::model::{DocumentReport, Evidence, Kind};

/// `--probe`: fetches each tracking image URL once (64 KB at most) to learn its real size,
/// type and cookies. This adds hits to someone's analytics, which is why it is opt-in.
pub(super) async fn probe(client: &reqwest::Client, docs: &mut [DocumentReport]) {
    let mut cache: HashMap<String, String> = HashMap::new();
    for doc in docs.iter_mut() {
        for f in doc.findings.iter_mut() {
            if !f.tracking
                || !matches!(
                    f.kind,
                    Kind::OpenPixel
                        | Kind::RemoteImage
                        | Kind::Beacon
                        | Kind::AdConversion
                        | Kind::TrackedImage
                )
                || !f.url.starts_with("http")
            {
                continue;
            }
            if cache.len() >= 500 && !cache.contains_key(&f.url) {
                continue;
            }
            if !cache.contains_key(&f.url) {
                let ev = probe_one(client, &f.url).await;
                cache.insert(f.url.clone(), ev);
            }
            f.evidence.push(Evidence::note(cache[&f.url].as_str()));
        }
    }
}

async fn probe_one(client: &reqwest::Client, url: &str) -> String {
    let resp = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return format!("probe: request failed: {e}"),
    };
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| c.split('=').next().unwrap_or("").trim().to_string())
        .collect();
    let mut resp = resp;
    let mut body = Vec::new();
    while body.len() < 65536 {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    let size = image_size(&body)
        .map(|(w, h)| format!(", {w}×{h} image"))
        .unwrap_or_default();
    let cookies = if cookies.is_empty() {
        String::new()
    } else {
        format!(", sets cookie(s) {}", cookies.join(", "))
    };
    format!(
        "probe: HTTP {status}, {}{size}{cookies}",
        if ctype.is_empty() {
            "no content type"
        } else {
            &ctype
        }
    )
}
