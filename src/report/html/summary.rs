//! The run's overview: the summary cards, findings by entity (the table and an inline SVG
//! bar chart), and the skipped inputs.

use std::io::Write;

use super::{esc, opt, HtmlReporter};
use crate::model::Summary;
use crate::report::common::{excluded_sentence, nouns, signal_note};
use crate::report::sanitize;

impl<W: Write> HtmlReporter<W> {
    /// The summary cards, filters, exclusions and the note.
    pub(super) fn summary_section(&self, sm: &Summary) -> String {
        let (_, many) = nouns(self.command);
        let mut h = String::from("<section id=\"summary\"><h2>Summary</h2>\n<div class=\"cards\">");
        for (label, n) in [
            ("inputs", sm.inputs),
            ("scanned", sm.scanned),
            ("with tracking", sm.with_tracking),
            ("clean", sm.clean),
            ("failed", sm.failed),
            ("skipped", sm.skipped.len() as u64),
            ("tracking findings", sm.tracking_findings),
            ("all findings", sm.findings),
        ] {
            h.push_str(&format!("<div class=\"card\"><b>{n}</b>{label}</div>"));
        }
        h.push_str("</div>\n");
        if let Some(ft) = &sm.filtered {
            h.push_str(&format!(
                "<p>{}</p>\n",
                esc(&crate::report::filter::summary_line(ft))
            ));
        }
        if sm.excluded > 0 {
            h.push_str(&format!(
                "<p>{}</p>\n",
                excluded_sentence(
                    sm.excluded,
                    self.command,
                    &format!("<code>{}</code>", crate::select::FLAGS)
                )
            ));
        }
        h.push_str(&format!(
            "<p>{} of {} scanned {many} make requests judged tracking; {} could not be scanned.</p>\n<p class=\"note\">{}</p>\n</section>\n",
            sm.with_tracking,
            sm.scanned,
            sm.failed,
            esc(signal_note(self.command))
        ));
        h
    }

    /// Findings by entity: the chart and the table.
    pub(super) fn entity_section(&self, sm: &Summary) -> String {
        let (_, many) = nouns(self.command);
        let mut h = String::from("<section id=\"entities\"><h2>Findings by entity</h2>\n");
        if sm.by_entity.is_empty() {
            h.push_str("<p>No finding was attributed to a known entity.</p>\n");
        } else {
            h.push_str(&bar_chart(sm));
            h.push_str(&format!("<table><thead><tr><th>entity</th><th>category</th><th class=\"n\">tracking findings</th><th class=\"n\">findings</th><th class=\"n\">{many}</th></tr></thead><tbody>\n"));
            for e in &sm.by_entity {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                    esc(&e.entity),
                    opt(e.category.as_deref()),
                    e.tracking_findings,
                    e.findings,
                    e.documents
                ));
            }
            h.push_str("</tbody></table>\n");
        }
        h.push_str("</section>\n");
        h
    }
}

/// The inputs that were skipped, and why.
pub(super) fn skipped_section(sm: &Summary) -> String {
    let mut t = format!(
        "<section id=\"skipped\"><h2>Skipped ({})</h2>\n",
        sm.skipped.len()
    );
    if sm.skipped.is_empty() {
        t.push_str("<p>Nothing was skipped.</p>\n");
    } else {
        t.push_str("<table><thead><tr><th>input</th><th>reason</th></tr></thead><tbody>\n");
        for s in &sm.skipped {
            t.push_str(&format!(
                "<tr><td class=\"url\">{}</td><td>{}</td></tr>\n",
                esc(&s.url),
                esc(&s.reason)
            ));
        }
        t.push_str("</tbody></table>\n");
    }
    t.push_str("</section>\n");
    t
}

/// An inline SVG bar chart of tracking findings for the top entities.
fn bar_chart(sm: &Summary) -> String {
    let rows: Vec<_> = sm
        .by_entity
        .iter()
        .filter(|e| e.tracking_findings > 0)
        .take(20)
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let max = rows
        .iter()
        .map(|e| e.tracking_findings)
        .max()
        .unwrap_or(1)
        .max(1);
    let (label_w, bar_w, row_h) = (220.0, 460.0, 22.0);
    let height = rows.len() as f64 * row_h + 10.0;
    let mut s = format!(
        "<svg role=\"img\" aria-labelledby=\"chart-title\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\">\n<title id=\"chart-title\">Tracking findings by entity</title>\n",
        w = label_w + bar_w + 60.0
    );
    for (i, e) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 5.0;
        let w = (e.tracking_findings as f64 / max as f64 * bar_w).max(2.0);
        // At most 30 characters, the ellipsis included.
        let name = sanitize(&e.entity);
        let name = if name.chars().count() > 30 {
            crate::text::shorten(&name, 29)
        } else {
            name
        };
        s.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bh}\" rx=\"2\"></rect><text x=\"{vx:.1}\" y=\"{ty}\">{}</text>\n",
            esc(&name),
            e.tracking_findings,
            lx = label_w - 8.0,
            ty = y + 13.0,
            bh = row_h - 6.0,
            vx = label_w + w + 6.0,
        ));
    }
    s.push_str("</svg>\n");
    s
}
