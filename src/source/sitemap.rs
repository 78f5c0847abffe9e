//! sitemap.xml, read by `quick-xml`: a `<urlset>` of pages or a `<sitemapindex>` of further
//! sitemaps, under any namespace prefix, with `<loc>` as text, entities or CDATA; gzip
//! bodies (`.xml.gz`) are inflated first, within the `--max-body` limit.

use std::io::Read;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// What a sitemap lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `<urlset>`: page URLs.
    Pages,
    /// `<sitemapindex>`: further sitemaps.
    Index,
}

/// A sitemap read to its end, or as far as it was well-formed.
#[derive(Debug, PartialEq, Eq)]
pub struct Sitemap {
    pub kind: Kind,
    /// `<loc>` values, trimmed, entities resolved, in document order, at most `max_locs`.
    pub locs: Vec<String>,
    /// `<loc>` entries past `max_locs`: counted, not kept.
    pub over_limit: usize,
    /// Set when the document broke off after its root element: `locs` holds what came
    /// before.
    pub error: Option<String>,
}

/// Why a body gave no sitemap.
#[derive(Debug, PartialEq, Eq)]
pub enum SitemapError {
    /// Not a sitemap at all (an HTML page, an empty body, another XML document).
    NotSitemap(String),
    /// Inflated, the body is over the size limit.
    TooLarge(u64),
    /// The gzip data is corrupt.
    Gzip(String),
}

impl std::fmt::Display for SitemapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SitemapError::NotSitemap(why) => write!(f, "not a sitemap: {why}"),
            SitemapError::TooLarge(max) => write!(
                f,
                "decompressed sitemap over the size limit of {} (--max-body)",
                crate::units::size(*max)
            ),
            SitemapError::Gzip(e) => write!(f, "corrupt gzip data: {e}"),
        }
    }
}

/// Whether a response announces gzip: a `.gz` path or a gzip content type. Only a hint:
/// the body's magic bytes decide (a client may have inflated it already).
pub fn gzip_hint(path: &str, content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    path.to_ascii_lowercase().ends_with(".gz")
        || matches!(
            ct.as_str(),
            "application/x-gzip" | "application/gzip" | "application/gzip-compressed"
        )
}

/// The XML of a sitemap body: inflated when it starts with the gzip magic bytes, at most
/// `max_bytes` after inflating.
pub fn inflate(body: &[u8], max_bytes: u64) -> Result<std::borrow::Cow<'_, [u8]>, SitemapError> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body.into());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| SitemapError::Gzip(e.to_string()))?;
    if out.len() as u64 > max_bytes {
        return Err(SitemapError::TooLarge(max_bytes));
    }
    Ok(out.into())
}

/// Reads a sitemap or sitemap index. `<loc>` counts only as a child of a `<url>` (or
/// `<sitemap>`) child of the root, in the root's namespace: an image sitemap's
/// `<image:loc>` is not a page.
pub fn parse(xml: &[u8], max_locs: usize) -> Result<Sitemap, SitemapError> {
    let text = String::from_utf8_lossy(xml);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = NsReader::from_str(text);
    {
        let c = reader.config_mut();
        // `&` unescaped in a URL query is the commonest sitemap mistake: keep it as text.
        c.allow_dangling_amp = true;
        c.expand_empty_elements = true;
    }
    let mut w = Walk {
        max_locs,
        root: None,
        depth: 0,
        in_entry: false,
        loc: None,
        out: Sitemap {
            kind: Kind::Pages,
            locs: Vec::new(),
            over_limit: 0,
            error: None,
        },
    };
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, ev)) => (namespace(&ns), ev),
            Err(e) => {
                let at = reader.error_position();
                let msg = format!("XML error at byte {at}: {e}");
                if w.root.is_none() {
                    return Err(SitemapError::NotSitemap(msg));
                }
                w.out.error = Some(msg);
                break;
            }
        };
        match event {
            Event::Start(e) => w.start(e.local_name().as_ref(), ns)?,
            Event::End(_) => w.end(),
            Event::Text(t) => w.text(&t.xml10_content()),
            Event::CData(c) => w.text(&c.xml10_content()),
            Event::GeneralRef(r) => {
                if let Some(l) = w.loc.as_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(ch)) => l.push(ch),
                        _ => match resolve_predefined_entity(&r) {
                            Some(s) => l.push_str(s),
                            // An unknown entity stays as written.
                            None => {
                                l.push('&');
                                l.push_str(&r);
                                l.push(';');
                            }
                        },
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if w.root.is_none() {
        return Err(SitemapError::NotSitemap("no root element".into()));
    }
    Ok(w.out)
}

/// Where [`parse`] is in the document: the root's kind and namespace, the depth, whether
/// inside an entry (`<url>`/`<sitemap>` in the root's namespace) and its `<loc>` text.
struct Walk {
    max_locs: usize,
    root: Option<(Kind, Option<String>)>,
    depth: usize,
    in_entry: bool,
    loc: Option<String>,
    out: Sitemap,
}

impl Walk {
    fn start(&mut self, local: &str, ns: Option<String>) -> Result<(), SitemapError> {
        self.depth += 1;
        match (&self.root, self.depth) {
            (None, _) => {
                let kind = match local {
                    "urlset" => Kind::Pages,
                    "sitemapindex" => Kind::Index,
                    other => {
                        return Err(SitemapError::NotSitemap(format!(
                            "the root element is <{}>",
                            truncate(other, 40)
                        )))
                    }
                };
                self.out.kind = kind;
                self.root = Some((kind, ns));
            }
            (Some((kind, root_ns)), 2) => {
                let entry = match kind {
                    Kind::Pages => "url",
                    Kind::Index => "sitemap",
                };
                self.in_entry = local == entry && ns == *root_ns;
            }
            (Some((_, root_ns)), 3) if self.in_entry && local == "loc" && ns == *root_ns => {
                self.loc = Some(String::new());
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self) {
        if self.depth == 3 {
            if let Some(l) = self.loc.take() {
                let l = l.trim();
                if !l.is_empty() {
                    if self.out.locs.len() < self.max_locs {
                        self.out.locs.push(l.to_string());
                    } else {
                        self.out.over_limit += 1;
                    }
                }
            }
        } else if self.depth == 2 {
            self.in_entry = false;
        }
        self.depth = self.depth.saturating_sub(1);
    }

    fn text(&mut self, t: &str) {
        if let Some(l) = self.loc.as_mut() {
            l.push_str(t);
        }
    }
}

fn namespace(ns: &ResolveResult<'_>) -> Option<String> {
    match ns {
        ResolveResult::Bound(n) => Some(n.0.to_string()),
        ResolveResult::Unbound => None,
        // A prefix never declared: a namespace of its own, matching nothing declared.
        ResolveResult::Unknown(p) => Some(format!("undeclared prefix {p}")),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn locs(xml: &str) -> Vec<String> {
        parse(xml.as_bytes(), usize::MAX).unwrap().locs
    }

    #[test]
    fn plain_urlset() {
        assert_eq!(
            locs("<urlset><url><loc> https://a.example/x?a=1&amp;b=2 </loc></url><url><loc>https://a.example/y</loc></url></urlset>"),
            vec!["https://a.example/x?a=1&b=2", "https://a.example/y"]
        );
        // A bare `&` is kept, as the old reader did.
        assert_eq!(
            locs("<urlset><url><loc>https://a.example/x?a=1&b=2</loc></url></urlset>"),
            vec!["https://a.example/x?a=1&b=2"]
        );
    }

    #[test]
    fn namespaces_prefixes_and_cdata() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"
           xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <sm:url>
    <sm:loc><![CDATA[https://a.example/p?x=1&y=2]]></sm:loc>
    <image:image><image:loc>https://a.example/img.jpg</image:loc></image:image>
  </sm:url>
  <sm:url><sm:loc>https://a.example/&#x71;</sm:loc></sm:url>
</sm:urlset>"#;
        let s = parse(xml.as_bytes(), 100).unwrap();
        assert_eq!(s.kind, Kind::Pages);
        assert_eq!(
            s.locs,
            vec!["https://a.example/p?x=1&y=2", "https://a.example/q"]
        );
        assert_eq!(s.error, None);
        // Default namespace; an extension's `<loc>` in another namespace is not a page.
        let xml = r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:v="urn:video"><url><loc>https://a.example/</loc><v:loc>https://a.example/v.mp4</v:loc></url></urlset>"#;
        assert_eq!(locs(xml), vec!["https://a.example/"]);
    }

    #[test]
    fn index() {
        let xml = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://a.example/s1.xml.gz</loc><lastmod>2026-01-01</lastmod></sitemap><sitemap><loc><![CDATA[https://a.example/s2.xml]]></loc></sitemap></sitemapindex>"#;
        let s = parse(xml.as_bytes(), 10).unwrap();
        assert_eq!(s.kind, Kind::Index);
        assert_eq!(
            s.locs,
            vec!["https://a.example/s1.xml.gz", "https://a.example/s2.xml"]
        );
    }

    #[test]
    fn limits_and_errors() {
        let xml: String = (0..5)
            .map(|i| format!("<url><loc>https://a.example/{i}</loc></url>"))
            .collect();
        let s = parse(format!("<urlset>{xml}</urlset>").as_bytes(), 3).unwrap();
        assert_eq!(s.locs.len(), 3);
        assert_eq!(s.over_limit, 2);
        // Broken after two entries: those are kept, the error is told.
        let s = parse(
            b"<urlset><url><loc>https://a.example/1</loc></url><url><loc>https://a.example/2</loc></url><url><loc>https://a.example/3</oops></url>",
            10,
        )
        .unwrap();
        assert_eq!(s.locs, vec!["https://a.example/1", "https://a.example/2"]);
        assert!(s.error.unwrap().contains("XML error"));
        // Not sitemaps.
        for body in [
            &b"<!DOCTYPE html><html><head><title>x</title></head><body><p>hi</body></html>"[..],
            b"",
            b"   ",
            b"\x00\x01\x02<<<>>>",
            b"<rss version=\"2.0\"></rss>",
        ] {
            assert!(
                matches!(parse(body, 10), Err(SitemapError::NotSitemap(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn gzip_is_inflated_within_the_limit() {
        let xml = b"<urlset><url><loc>https://a.example/gz</loc></url></urlset>";
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(xml).unwrap();
        let gz = enc.finish().unwrap();
        let plain = inflate(&gz, 1000).unwrap();
        assert_eq!(&*plain, &xml[..]);
        assert_eq!(
            locs(std::str::from_utf8(&plain).unwrap()),
            vec!["https://a.example/gz"]
        );
        // Not gzip: passed through.
        assert_eq!(&*inflate(xml, 1000).unwrap(), &xml[..]);
        // A bomb: 10 MB of zeros in a few kB.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 10_000_000]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 100_000);
        assert_eq!(
            inflate(&bomb, 1_000_000),
            Err(SitemapError::TooLarge(1_000_000))
        );
        // Corrupt.
        assert!(matches!(
            inflate(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3], 1000),
            Err(SitemapError::Gzip(_))
        ));
        assert!(gzip_hint("/sitemap.xml.gz", ""));
        assert!(gzip_hint("/s", "application/x-gzip"));
        assert!(!gzip_hint("/sitemap.xml", "application/xml"));
    }
}
