//! `--kind KIND`, `--entity NAME`, `--category CAT`: which findings the reports show.
//!
//! Filters narrow the report, never the judgement. The policy gate (and a baseline being
//! written) sees every finding before the filters run, so the verdict, the exit code, the
//! summary counts and the by-entity table cover everything that was found; the reports list
//! only the findings that pass, and say how many were hidden (`summary.filtered`, a
//! document's `hidden_findings`, a line in the human summary). A document with no finding
//! left to show is left out of the document list (counted as `hidden_documents`); one that
//! could not be scanned is always shown.
//!
//! Several values of one option are alternatives (`--kind open-pixel --kind beacon`);
//! different options must all match (`--kind tracker-script --category analytics`). Values
//! are checked against the kinds pixscan emits and the entities and categories of the
//! ruleset, with a "did you mean" for a typo.

use crate::model::{DocumentReport, FilterTotals, Finding, VerdictStatus};

#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    kinds: Vec<String>,
    entities: Vec<String>,
    categories: Vec<String>,
}

/// One line for the end of a report: `Report filters --kind open-pixel: 3 finding(s) shown,
/// 9 hidden (2 of them violations), 5 document(s) with nothing to show left out; the verdict
/// and the counts cover every finding.`
pub fn summary_line(t: &FilterTotals) -> String {
    let mut given = Vec::new();
    for (flag, values) in [
        ("--kind", &t.kinds),
        ("--entity", &t.entities),
        ("--category", &t.categories),
    ] {
        for v in values {
            given.push(format!("{flag} {v}"));
        }
    }
    format!(
        "Report filters {}: {} finding(s) shown, {} hidden ({} of them violation(s)), {} document(s) with nothing to show left out; the verdict and the counts cover every finding.",
        given.join(" "),
        t.shown,
        t.hidden,
        t.hidden_violations,
        t.hidden_documents
    )
}

/// The findings of one document that the filters hid, to be put back after reporting.
#[derive(Debug, Default)]
pub struct Hidden(Vec<Finding>);

impl Hidden {
    /// Puts the hidden findings back (at the end), so the summary counts every finding.
    pub fn restore(self, doc: &mut DocumentReport) {
        doc.findings.extend(self.0);
    }
}

fn check(flag: &str, what: &str, values: &[String], known: &[&str]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for v in values {
        let v = v.trim();
        match known.iter().find(|k| k.eq_ignore_ascii_case(v)) {
            Some(k) => out.push(k.to_string()),
            None => {
                let hint = super::did_you_mean(v, known.iter().copied())
                    .map(|k| format!("; did you mean {k:?}?"))
                    .unwrap_or_default();
                let list = if known.len() <= 40 {
                    format!(" (one of: {})", known.join(", "))
                } else {
                    String::new()
                };
                return Err(format!("{flag} {v:?}: not a known {what}{list}{hint}"));
            }
        }
    }
    Ok(out)
}

impl ReportFilter {
    /// Checks the values against what pixscan can emit: `kinds` against the finding kinds,
    /// `entities` and `categories` against the ruleset (case-insensitively; the ruleset's
    /// spelling is kept).
    pub fn new(
        kinds: &[String],
        entities: &[String],
        categories: &[String],
        rules: &crate::rules::Ruleset,
    ) -> Result<ReportFilter, String> {
        let names: Vec<&str> = rules.entities.iter().map(|e| e.name.as_str()).collect();
        let mut cats: Vec<&str> = rules
            .entities
            .iter()
            .filter_map(|e| e.category.as_deref())
            .collect();
        cats.sort_unstable();
        cats.dedup();
        Ok(ReportFilter {
            kinds: check("--kind", "finding kind", kinds, crate::policy::KINDS)?,
            entities: check("--entity", "entity", entities, &names)?,
            categories: check("--category", "category", categories, &cats)?,
        })
    }

    /// No filter given: every finding is shown.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty() && self.entities.is_empty() && self.categories.is_empty()
    }

    /// Whether the finding is shown.
    pub fn keeps(&self, f: &Finding) -> bool {
        let any = |want: &[String], have: Option<&str>| {
            want.is_empty() || have.is_some_and(|h| want.iter().any(|w| w.eq_ignore_ascii_case(h)))
        };
        any(&self.kinds, Some(f.kind.as_str()))
            && any(&self.entities, f.entity.as_deref())
            && any(&self.categories, f.category.as_deref())
    }

    /// Empty totals naming these filters.
    pub fn totals(&self) -> FilterTotals {
        FilterTotals {
            kinds: self.kinds.clone(),
            entities: self.entities.clone(),
            categories: self.categories.clone(),
            ..Default::default()
        }
    }

    /// Takes the findings the filters hide out of `doc` (after the policy judged them),
    /// counts them, and says whether the document is still shown. Put them back with
    /// [`Hidden::restore`] once the reports have seen the document.
    pub fn hide(&self, doc: &mut DocumentReport, totals: &mut FilterTotals) -> (bool, Hidden) {
        if self.is_empty() {
            totals.shown += doc.findings.len() as u64;
            return (true, Hidden::default());
        }
        let (kept, hidden): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut doc.findings)
            .into_iter()
            .partition(|f| self.keeps(f));
        doc.findings = kept;
        doc.hidden_findings = hidden.len() as u64;
        totals.shown += doc.findings.len() as u64;
        totals.hidden += hidden.len() as u64;
        totals.hidden_violations += hidden
            .iter()
            .filter(|f| {
                f.verdict
                    .as_ref()
                    .is_some_and(|v| v.status == VerdictStatus::Violation)
            })
            .count() as u64;
        let shown = doc.error.is_some() || !doc.findings.is_empty();
        totals.hidden_documents += u64::from(!shown);
        (shown, Hidden(hidden))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn values_are_checked_with_a_suggestion() {
        let rules = crate::rules::Ruleset::load(&[] as &[&str]).unwrap();
        let e = ReportFilter::new(&s(&["tracking-pixel"]), &[], &[], &rules).unwrap_err();
        assert!(
            e.starts_with(
                "--kind \"tracking-pixel\": not a known finding kind (one of: open-pixel, "
            ),
            "{e}"
        );
        let e = ReportFilter::new(&s(&["open-pixle"]), &[], &[], &rules).unwrap_err();
        assert!(e.ends_with("did you mean \"open-pixel\"?"), "{e}");
        let e = ReportFilter::new(&[], &s(&["Mailgn"]), &[], &rules).unwrap_err();
        assert!(
            e.contains("not a known entity; did you mean \"Mailgun\"?"),
            "{e}"
        );
        let e = ReportFilter::new(&[], &[], &s(&["analytic"]), &rules).unwrap_err();
        assert!(e.contains("did you mean \"analytics\"?"), "{e}");
        let f = ReportFilter::new(&s(&["Open-Pixel"]), &s(&["mailgun"]), &[], &rules).unwrap();
        assert_eq!(f.totals().kinds, vec!["open-pixel"]);
        assert_eq!(f.totals().entities, vec!["Mailgun"]);
        assert!(ReportFilter::default().is_empty());
    }
}
