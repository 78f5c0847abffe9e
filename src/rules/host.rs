//! Host patterns in rules: `example.com` (exactly), `*.example.com` (any subdomain, and the
//! domain itself), or a glob with inner wildcards (`u*.ct.sendgrid.net`, `sendibt*.com`).

use regex::Regex;

#[derive(Debug, Clone)]
pub enum HostPattern {
    Exact(String),
    Subdomains(String),
    Glob {
        fixed_suffix: Option<String>,
        /// Literal text before the first and after the last `*`: a cheap pre-check.
        prefix: String,
        suffix: String,
        re: Regex,
    },
}

impl HostPattern {
    pub fn parse(p: &str) -> Result<HostPattern, String> {
        let p = p.trim().to_ascii_lowercase();
        if p.is_empty() || p.contains(['/', ':', ' ']) {
            return Err(format!("bad host pattern `{p}`"));
        }
        if let Some(rest) = p.strip_prefix("*.") {
            if !rest.contains('*') {
                return Ok(HostPattern::Subdomains(rest.to_string()));
            }
        }
        if !p.contains('*') {
            return Ok(HostPattern::Exact(p));
        }
        let re = format!(
            "^{}$",
            p.split('*')
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join("[a-z0-9-]*")
        );
        // The part after the last wildcard's label is fixed: index by it.
        let after = &p[p.rfind('*').unwrap() + 1..];
        let fixed_suffix = after
            .find('.')
            .map(|d| after[d + 1..].to_string())
            .filter(|s| s.contains('.'));
        let prefix = p[..p.find('*').unwrap_or(0)].to_string();
        let suffix = p[p.rfind('*').map(|i| i + 1).unwrap_or(p.len())..].to_string();
        Ok(HostPattern::Glob {
            fixed_suffix,
            prefix,
            suffix,
            re: Regex::new(&re).map_err(|e| e.to_string())?,
        })
    }

    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(h) => host == h,
            HostPattern::Subdomains(d) => crate::domain::is_within(host, d),
            HostPattern::Glob {
                prefix, suffix, re, ..
            } => {
                host.starts_with(prefix.as_str())
                    && host.ends_with(suffix.as_str())
                    && re.is_match(host)
            }
        }
    }

    /// A domain every matching host ends with, for indexing; `None` for unindexable globs.
    pub fn index_key(&self) -> Option<&str> {
        match self {
            HostPattern::Exact(h) | HostPattern::Subdomains(h) => Some(h),
            HostPattern::Glob { fixed_suffix, .. } => fixed_suffix.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = HostPattern::parse("*.list-manage.com").unwrap();
        assert!(p.matches("brand.us5.list-manage.com") && p.matches("list-manage.com"));
        assert!(!p.matches("notlist-manage.com"));
        let g = HostPattern::parse("u*.ct.sendgrid.net").unwrap();
        assert!(g.matches("u123.ct.sendgrid.net") && !g.matches("x.u1.ct.sendgrid.net"));
        assert_eq!(g.index_key(), Some("ct.sendgrid.net"));
        let g = HostPattern::parse("sendibt*.com").unwrap();
        assert!(g.matches("sendibt3.com"));
        assert_eq!(g.index_key(), None);
        assert!(HostPattern::parse("a/b").is_err());
    }
}
