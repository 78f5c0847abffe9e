//! Local build folders: the HTML files under one (in order, `--include`/`--exclude` and
//! `--shard` applied) and the URL each will have once deployed.

use std::path::{Path, PathBuf};

use url::Url;

use crate::select::PathSelect;
use crate::shard::{path_key, Shard};

/// HTML files under a build folder (or the file itself), sorted.
pub fn local_files(path: &Path) -> Vec<PathBuf> {
    local_files_selected(path, &PathSelect::default()).0
}

fn is_html_file(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("html") || x.eq_ignore_ascii_case("htm"))
}

/// HTML files under a build folder, sorted, and how many `select` (`--include`/`--exclude`,
/// matched against paths relative to the folder) left out. A file named directly is always
/// taken; a folder an exclude glob matches is not read.
pub fn local_files_selected(path: &Path, select: &PathSelect) -> (Vec<PathBuf>, u64) {
    let (files, excluded, _) = local_files_shard(path, select, &Shard::WHOLE);
    (files, excluded)
}

/// As [`local_files_selected`], for one shard of a `--shard` split: every file is listed
/// (the scan takes its own), but the files `select` left out are counted by the shard
/// that owns each one (keyed by its path below `path`): (files, excluded by this shard,
/// excluded by the others).
pub fn local_files_shard(
    path: &Path,
    select: &PathSelect,
    shard: &Shard,
) -> (Vec<PathBuf>, u64, u64) {
    if path.is_file() {
        return (vec![path.to_path_buf()], 0, 0);
    }
    let owns = |p: &Path| shard.count <= 1 || shard.owns(&path_key(path, p), 0);
    let pruned = std::cell::Cell::new((0u64, 0u64));
    let mut excluded = (0u64, 0u64);
    let mut out: Vec<PathBuf> = Vec::new();
    let walker = walkdir::WalkDir::new(path)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() > 0 && e.file_type().is_dir() && select.excludes_folder(path, e.path()) {
                let (mut mine, mut others) = pruned.get();
                for f in walkdir::WalkDir::new(e.path())
                    .into_iter()
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_file() && is_html_file(e.path()))
                {
                    if owns(f.path()) {
                        mine += 1;
                    } else {
                        others += 1;
                    }
                }
                pruned.set((mine, others));
                return false;
            }
            true
        });
    for e in walker.filter_map(Result::ok) {
        if !e.file_type().is_file() || !is_html_file(e.path()) {
            continue;
        }
        if select.excludes(path, e.path()) {
            if owns(e.path()) {
                excluded.0 += 1;
            } else {
                excluded.1 += 1;
            }
        } else {
            out.push(e.into_path());
        }
    }
    out.sort();
    let (mine, others) = pruned.get();
    (out, excluded.0 + mine, excluded.1 + others)
}

/// The URL a local file will have once deployed under `base`.
pub fn local_url(root: &Path, file: &Path, base: &Url) -> Url {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let rel: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let mut rel = rel.join("/");
    if rel == "index.html" {
        rel.clear();
    } else if let Some(dir) = rel.strip_suffix("/index.html") {
        rel = format!("{dir}/");
    }
    base.join(&rel).unwrap_or_else(|_| base.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls() {
        let base = Url::parse("https://www.shop.example/").unwrap();
        let root = Path::new("/build");
        assert_eq!(
            local_url(root, Path::new("/build/index.html"), &base).as_str(),
            "https://www.shop.example/"
        );
        assert_eq!(
            local_url(root, Path::new("/build/blog/post/index.html"), &base).as_str(),
            "https://www.shop.example/blog/post/"
        );
        assert_eq!(
            local_url(root, Path::new("/build/404.html"), &base).as_str(),
            "https://www.shop.example/404.html"
        );
    }
}
