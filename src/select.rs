//! `--include GLOB` / `--exclude GLOB` (repeatable): which inputs a run takes, with globset.
//!
//! An input is left out when an `--exclude` glob matches it, or when `--include` globs are
//! given and none matches it. What is left out is never read (an excluded folder is not even
//! opened) and never fetched, and it is counted (`summary.excluded`), so no input is lost
//! silently. What is named on the command line (a file, `-`, a start URL) is always scanned:
//! the globs choose among what a folder walk or a crawl finds.
//!
//! - Paths (`eml` folder walks, `site` build folders): a glob without `/` matches a file or
//!   folder name at any depth (`*.eml`, `Spam`, `.Trash`); a glob with `/` matches the path
//!   relative to the folder given (`archive/2023/**`, `drafts/*.html`), or the path as shown
//!   in the report (`mail/archive/**`). A glob that matches a folder applies to everything
//!   inside it. `*` stays within a name, `**` crosses folders; `?`, `[abc]` and `{a,b}` work
//!   as in any glob.
//! - URLs (`site` crawls): a glob is matched against the whole page URL, and `*` crosses `/`
//!   (`https://www.example.com/blog/*`, `*/tag/*`, `*.pdf`); a glob starting with `/` is
//!   matched against the URL's path, with and without its query (`/cart/*`, `/search`).

use std::path::Path;

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use url::Url;

/// The option names, for messages.
pub const FLAGS: &str = "--include/--exclude";

/// A bad `--include`/`--exclude` pattern, naming the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("{flag}: empty pattern")]
    Empty { flag: &'static str },
    #[error("{flag} {glob:?}: {reason}")]
    Glob {
        flag: &'static str,
        glob: String,
        reason: String,
    },
    #[error("{flag}: {reason}")]
    Set { flag: &'static str, reason: String },
}

fn compile(
    flag: &'static str,
    globs: &[&str],
    literal_separator: bool,
) -> Result<GlobSet, SelectError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = GlobBuilder::new(g)
            .literal_separator(literal_separator)
            .build()
            .map_err(|e| SelectError::Glob {
                flag,
                glob: g.to_string(),
                reason: e.kind().to_string(),
            })?;
        b.add(glob);
    }
    b.build().map_err(|e| SelectError::Set {
        flag,
        reason: e.to_string(),
    })
}

fn check_empty(flag: &'static str, globs: &[String]) -> Result<(), SelectError> {
    if globs.iter().any(|g| g.trim().is_empty()) {
        return Err(SelectError::Empty { flag });
    }
    Ok(())
}

/// Path globs for folder walks. The default selects everything.
#[derive(Debug, Clone, Default)]
pub struct PathSelect {
    include_names: GlobSet,
    include_paths: GlobSet,
    exclude_names: GlobSet,
    exclude_paths: GlobSet,
    any_include: bool,
}

impl PathSelect {
    pub fn new(include: &[String], exclude: &[String]) -> Result<PathSelect, SelectError> {
        check_empty("--include", include)?;
        check_empty("--exclude", exclude)?;
        let split = |globs: &[String]| -> (Vec<String>, Vec<String>) {
            let mut names = Vec::new();
            let mut paths = Vec::new();
            for g in globs {
                let g = crate::text::normalize_path(g.trim());
                let g = g.trim_end_matches('/');
                let g = if g.is_empty() { "/" } else { g };
                if g.contains('/') {
                    paths.push(g.to_string());
                } else {
                    names.push(g.to_string());
                }
            }
            (names, paths)
        };
        let (inc_n, inc_p) = split(include);
        let (exc_n, exc_p) = split(exclude);
        let set = |flag: &'static str, v: &[String]| {
            compile(
                flag,
                &v.iter().map(String::as_str).collect::<Vec<_>>(),
                true,
            )
        };
        Ok(PathSelect {
            include_names: set("--include", &inc_n)?,
            include_paths: set("--include", &inc_p)?,
            exclude_names: set("--exclude", &exc_n)?,
            exclude_paths: set("--exclude", &exc_p)?,
            any_include: !include.is_empty(),
        })
    }

    /// No glob given: everything is taken.
    pub fn is_empty(&self) -> bool {
        !self.any_include && self.exclude_names.is_empty() && self.exclude_paths.is_empty()
    }

    /// Whether a file found under the folder `root` is left out.
    pub fn excludes(&self, root: &Path, file: &Path) -> bool {
        if self.is_empty() {
            return false;
        }
        let steps = steps(root, file);
        let hit = |names: &GlobSet, paths: &GlobSet| {
            steps.iter().any(|(name, rel, shown)| {
                names.is_match_candidate(&Candidate::new(name))
                    || paths.is_match_candidate(&Candidate::new(rel))
                    || paths.is_match_candidate(&Candidate::new(shown))
            })
        };
        if hit(&self.exclude_names, &self.exclude_paths) {
            return true;
        }
        self.any_include && !hit(&self.include_names, &self.include_paths)
    }

    /// Whether a folder found under `root` is left out whole by an `--exclude` glob (then
    /// it is not read at all). `--include` globs never leave a folder out: files in it may
    /// match them.
    pub fn excludes_folder(&self, root: &Path, dir: &Path) -> bool {
        if self.exclude_names.is_empty() && self.exclude_paths.is_empty() {
            return false;
        }
        steps(root, dir).iter().any(|(name, rel, shown)| {
            self.exclude_names.is_match_candidate(&Candidate::new(name))
                || self.exclude_paths.is_match_candidate(&Candidate::new(rel))
                || self
                    .exclude_paths
                    .is_match_candidate(&Candidate::new(shown))
        })
    }
}

/// For each component of `path` below `root`: (its name, the path relative to `root` up to
/// it, the same path as shown in reports).
fn steps(root: &Path, path: &Path) -> Vec<(String, String, String)> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let root = crate::text::normalize_path(&root.display().to_string());
    let root = if root == "." {
        ""
    } else {
        root.trim_end_matches('/')
    };
    let mut out = Vec::new();
    let mut so_far = String::new();
    for c in rel.components() {
        let name = c.as_os_str().to_string_lossy().into_owned();
        if !so_far.is_empty() {
            so_far.push('/');
        }
        so_far.push_str(&name);
        let shown = if root.is_empty() && !path.has_root() {
            so_far.clone()
        } else {
            format!("{root}/{so_far}")
        };
        out.push((name, so_far.clone(), shown));
    }
    out
}

/// URL globs for crawls. The default selects everything.
#[derive(Debug, Clone, Default)]
pub struct UrlSelect {
    include_urls: GlobSet,
    include_paths: GlobSet,
    exclude_urls: GlobSet,
    exclude_paths: GlobSet,
    any_include: bool,
}

impl UrlSelect {
    pub fn new(include: &[String], exclude: &[String]) -> Result<UrlSelect, SelectError> {
        check_empty("--include", include)?;
        check_empty("--exclude", exclude)?;
        let split = |globs: &[String]| -> (Vec<String>, Vec<String>) {
            globs
                .iter()
                .map(|g| g.trim().to_string())
                .partition(|g| !g.starts_with('/'))
        };
        let (inc_u, inc_p) = split(include);
        let (exc_u, exc_p) = split(exclude);
        let set = |flag: &'static str, v: &[String]| {
            compile(
                flag,
                &v.iter().map(String::as_str).collect::<Vec<_>>(),
                false,
            )
        };
        Ok(UrlSelect {
            include_urls: set("--include", &inc_u)?,
            include_paths: set("--include", &inc_p)?,
            exclude_urls: set("--exclude", &exc_u)?,
            exclude_paths: set("--exclude", &exc_p)?,
            any_include: !include.is_empty(),
        })
    }

    pub fn is_empty(&self) -> bool {
        !self.any_include && self.exclude_urls.is_empty() && self.exclude_paths.is_empty()
    }

    /// Whether a page URL found by the crawl is left out.
    pub fn excludes(&self, url: &Url) -> bool {
        if self.is_empty() {
            return false;
        }
        let whole = url.as_str();
        let path = url.path();
        let with_query = match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let hit = |urls: &GlobSet, paths: &GlobSet| {
            urls.is_match(whole) || paths.is_match(path) || paths.is_match(&with_query)
        };
        if hit(&self.exclude_urls, &self.exclude_paths) {
            return true;
        }
        self.any_include && !hit(&self.include_urls, &self.include_paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn path_globs() {
        let p = PathSelect::new(&[], &s(&["Spam", "*.json", "archive/2023"])).unwrap();
        let root = Path::new("mail");
        let ex = |f: &str| p.excludes(root, &root.join(f));
        assert!(ex("Spam/cur/1.eml"), "a name matches a folder at any depth");
        assert!(ex("a/Spam/x.eml"));
        assert!(ex("x/labels.json"));
        assert!(
            ex("archive/2023/cur/1.eml"),
            "a folder glob covers what is inside"
        );
        assert!(!ex("archive/2024/cur/1.eml"));
        assert!(!ex("SpamAssassin/x.eml"));
        assert!(p.excludes_folder(root, &root.join("a/Spam")));
        assert!(!p.excludes_folder(root, &root.join("archive")));

        // The path as shown in the report works too.
        let p = PathSelect::new(&[], &s(&["mail/archive/**"])).unwrap();
        assert!(p.excludes(root, &root.join("archive/x.eml")));
        assert!(!p.excludes(root, &root.join("inbox/x.eml")));
        let p = PathSelect::new(&[], &s(&["./mail/archive/"])).unwrap();
        assert!(p.excludes(root, &root.join("archive/x.eml")));

        // `*` stays within a name; `**` crosses folders.
        let p = PathSelect::new(&s(&["inbox/*.eml"]), &[]).unwrap();
        assert!(!p.excludes(root, &root.join("inbox/a.eml")));
        assert!(p.excludes(root, &root.join("inbox/deep/a.eml")));
        assert!(p.excludes(root, &root.join("other/a.eml")));
        let p = PathSelect::new(&s(&["inbox/**/*.eml", "*.mbox"]), &[]).unwrap();
        assert!(!p.excludes(root, &root.join("inbox/deep/a.eml")));
        assert!(!p.excludes(root, &root.join("old/box.mbox")));
        assert!(p.excludes(root, &root.join("old/a.eml")));
        // Include and exclude together: exclude wins.
        let p = PathSelect::new(&s(&["*.eml"]), &s(&["draft-*"])).unwrap();
        assert!(!p.excludes(root, &root.join("a.eml")));
        assert!(p.excludes(root, &root.join("draft-1.eml")));
        assert!(p.excludes(root, &root.join("a.txt")));
        // Alternatives and classes.
        let p = PathSelect::new(&[], &s(&["{Junk,Trash}", "[0-9]*.tmp"])).unwrap();
        assert!(p.excludes(root, &root.join("Trash/a.eml")));
        assert!(p.excludes(root, &root.join("7x.tmp")));
        assert!(!p.excludes(root, &root.join("x7.tmp")));

        assert!(PathSelect::new(&[], &s(&["a[b"]))
            .unwrap_err()
            .to_string()
            .contains("--exclude \"a[b\""));
        assert_eq!(
            PathSelect::new(&s(&[" "]), &[]).unwrap_err(),
            SelectError::Empty { flag: "--include" }
        );
        assert!(PathSelect::default().is_empty());
        assert!(!PathSelect::default().excludes(root, &root.join("x")));
    }

    #[test]
    fn paths_under_the_current_or_root_folder() {
        let p = PathSelect::new(&[], &s(&["sub/*.eml"])).unwrap();
        assert!(p.excludes(Path::new("."), Path::new("./sub/a.eml")));
        assert!(p.excludes(Path::new("/srv/mail"), Path::new("/srv/mail/sub/a.eml")));
        let p = PathSelect::new(&[], &s(&["/srv/mail/sub/**"])).unwrap();
        assert!(p.excludes(Path::new("/srv/mail"), Path::new("/srv/mail/sub/a.eml")));
        assert!(!p.excludes(Path::new("/srv/mail"), Path::new("/srv/mail/top.eml")));
    }

    #[test]
    fn url_globs() {
        let u = |x: &str| Url::parse(x).unwrap();
        let p = UrlSelect::new(
            &[],
            &s(&["https://shop.example/cart/*", "*.pdf", "/search", "*/tag/*"]),
        )
        .unwrap();
        assert!(p.excludes(&u("https://shop.example/cart/1/2")));
        assert!(!p.excludes(&u("https://shop.example/carts")));
        assert!(p.excludes(&u("https://shop.example/a/b/guide.pdf")));
        assert!(p.excludes(&u("https://shop.example/search?q=x")));
        assert!(p.excludes(&u("https://shop.example/search")));
        assert!(!p.excludes(&u("https://shop.example/searches")));
        assert!(p.excludes(&u("https://shop.example/blog/tag/shoes")));
        let p = UrlSelect::new(&s(&["/blog/*"]), &s(&["/blog/drafts/*"])).unwrap();
        assert!(!p.excludes(&u("https://shop.example/blog/2024/post")));
        assert!(p.excludes(&u("https://shop.example/blog/drafts/x")));
        assert!(p.excludes(&u("https://shop.example/about")));
        assert!(UrlSelect::default().is_empty());
    }
}
