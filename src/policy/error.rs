//! Policy-file errors that name the file, line and key, from the TOML parser's spans.

/// A policy-file error: `FILE:LINE: message (key `x`)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path (`approve.reason`), when known.
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(key) = &self.key {
            write!(f, " (key `{key}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

pub(super) use crate::text::line_of;

/// Turns a TOML/serde error into `FILE:LINE: message (key `x`)`.
pub(super) fn toml_error(text: &str, origin: &str, e: &toml::de::Error) -> PolicyError {
    let message = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return PolicyError {
            file: origin.to_string(),
            line: None,
            key: None,
            message,
        };
    };
    let mut key = key_at(text, span.start);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        key = Some(match key {
            Some(k) => format!("{k}.{field}"),
            None => field.to_string(),
        });
    }
    PolicyError {
        file: origin.to_string(),
        line: Some(line_of(text, span.start)),
        key,
        message,
    }
}

/// The dotted path of the key at (or whose value spans) `offset`, from toml's spanned
/// document tree. (An array of tables' items span only their `[[header]]`, which is where
/// serde reports a missing field.)
fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut best: Option<(u8, usize, String)> = None;
    walk_table(doc.get_ref(), "", offset, &mut best);
    best.map(|(_, _, k)| k)
}

fn walk_table(
    t: &toml::de::DeTable<'_>,
    prefix: &str,
    offset: usize,
    best: &mut Option<(u8, usize, String)>,
) {
    for (k, v) in t.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        // Rank: a key span hit beats a value span hit; deeper paths beat shallower ones.
        let depth = path.matches('.').count();
        let mut consider = |rank: u8| {
            if best
                .as_ref()
                .is_none_or(|(r, d, _)| (rank, depth) > (*r, *d))
            {
                *best = Some((rank, depth, path.clone()));
            }
        };
        let in_item = v
            .get_ref()
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i.span().contains(&offset)));
        if k.span().contains(&offset) {
            consider(2);
        } else if in_item || v.span().contains(&offset) {
            consider(1);
        }
        walk_value(v.get_ref(), &path, offset, best);
    }
}

fn walk_value(
    v: &toml::de::DeValue<'_>,
    path: &str,
    offset: usize,
    best: &mut Option<(u8, usize, String)>,
) {
    if let Some(t) = v.as_table() {
        walk_table(t, path, offset, best);
    } else if let Some(items) = v.as_array() {
        for item in items.iter() {
            walk_value(item.get_ref(), path, offset, best);
        }
    }
}
