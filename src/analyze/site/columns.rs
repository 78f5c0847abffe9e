//! Where each reference sits in the page's text: the 1-based column of its tag, so reports
//! point at the exact spot.

use crate::model::RawRef;

/// The 1-based column of the first `tag` (e.g. `<script`) on a 1-based line.
pub(super) fn tag_column(html: &str, line: u64, tag: &str) -> Option<u64> {
    let text = html.split('\n').nth(line.checked_sub(1)? as usize)?;
    let pos = text.to_ascii_lowercase().find(tag)?;
    Some(text[..pos].chars().count() as u64 + 1)
}

/// Fills in 1-based columns: the `<` of the element's start tag on the reported line (or a
/// few lines above, for tags that span lines), found by the reference's text.
pub fn locate_columns(html: &str, refs: &mut [RawRef]) {
    let mut starts = vec![0usize];
    starts.extend(memchr::memchr_iter(b'\n', html.as_bytes()).map(|i| i + 1));
    for r in refs.iter_mut() {
        let needle: &str = r.url.split('&').next().unwrap_or(&r.url);
        if needle.is_empty() {
            continue;
        }
        let line = r.line as usize;
        for l in (line.saturating_sub(5).max(1)..=line).rev() {
            let Some(&start) = starts.get(l - 1) else {
                continue;
            };
            let end = starts.get(l).copied().unwrap_or(html.len());
            let text = &html[start..end];
            if let Some(pos) = text.find(needle) {
                // A URL inside a script sits where the loader names it, not at a tag.
                if r.attribute == "inline-loader" {
                    r.line = l as u64;
                    r.column = Some(text[..pos].chars().count() as u64 + 1);
                } else if let Some(lt) = text[..pos].rfind('<') {
                    r.line = l as u64;
                    r.column = Some(text[..lt].chars().count() as u64 + 1);
                }
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns() {
        let html =
            "<html>\n  <body>\n    <img src=\"https://t.example/p.gif?a=1&amp;b=2\" width=1>\n";
        let mut refs = crate::extract::extract(html).refs;
        locate_columns(html, &mut refs);
        assert_eq!((refs[0].line, refs[0].column), (3, Some(5)));
    }
}
