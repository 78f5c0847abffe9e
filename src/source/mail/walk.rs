//! Walking input folders: mail files in a stable order, Maildir and Maildir++ folders,
//! `--include`/`--exclude` and `--shard` counts.

use std::path::{Path, PathBuf};

use super::{Entry, PlannedInput};
use crate::select::PathSelect;
use crate::shard::{path_key, Shard};

/// Whether a folder walk passes over this entry: hidden entries, except Maildir++ folders
/// (`.Archive.2023/` with its own `cur/` or `new/`), and a Maildir's `tmp/`.
fn walk_skips(e: &walkdir::DirEntry) -> bool {
    let name = e.file_name().to_string_lossy();
    let is_dir = e.file_type().is_dir();
    let hidden =
        e.depth() > 0 && name.starts_with('.') && !(is_dir && is_maildir_plus_plus(e.path()));
    let maildir_tmp =
        is_dir && name == "tmp" && e.path().parent().is_some_and(|p| p.join("cur").is_dir());
    hidden || maildir_tmp
}

/// Files under a folder, sorted for a stable order. A Maildir's `tmp/` holds messages still
/// being delivered and is skipped, as mail clients do. Hidden entries are skipped too, except
/// Maildir++ folders (`.Archive.2023/` with its own `cur/` or `new/`), which Dovecot and
/// Courier keep beside the inbox. A folder that cannot be read is an input that failed (it
/// may hold mail), never a quiet skip. Returns how many files `select` left out (those
/// `shard` owns, then those it leaves to other shards); a folder it excludes is not read
/// (its files are counted as well as they can be).
pub(super) fn walk_dir(
    dir: &Path,
    files: &mut Vec<PlannedInput>,
    select: &PathSelect,
    shard: &Shard,
) -> (u64, u64) {
    let pruned = std::cell::Cell::new((0u64, 0u64));
    let mut excluded = (0u64, 0u64);
    // Keys cost an allocation per file: only a split needs them.
    let key_of = |p: &Path| {
        if shard.count > 1 {
            path_key(dir, p)
        } else {
            String::new()
        }
    };
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if walk_skips(e) {
                return false;
            }
            if e.depth() > 0 && e.file_type().is_dir() && select.excludes_folder(dir, e.path()) {
                let (mine, elsewhere) = count_files(dir, e.path(), shard);
                let (m, o) = pruned.get();
                pruned.set((m + mine, o + elsewhere));
                return false;
            }
            true
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let key = key_of(e.path());
                if select.excludes(dir, e.path()) {
                    if shard.owns(&key, 0) {
                        excluded.0 += 1;
                    } else {
                        excluded.1 += 1;
                    }
                } else {
                    files.push(PlannedInput {
                        entry: Entry::File(e.into_path(), false),
                        key,
                    });
                }
            }
            Ok(_) => {}
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| dir.display().to_string());
                let why = err
                    .io_error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| err.to_string());
                let key = key_of(Path::new(&path));
                files.push(PlannedInput {
                    entry: Entry::Unreadable(path, format!("cannot read: {why}")),
                    key,
                });
            }
        }
    }
    let (m, o) = pruned.get();
    (excluded.0 + m, excluded.1 + o)
}

/// The files a walk would take under an excluded folder, for the count: those `shard`
/// owns (keyed below `root`), then the others. What cannot be read is not counted (it was
/// not going to be read either).
fn count_files(root: &Path, dir: &Path, shard: &Shard) -> (u64, u64) {
    let mut counts = (0, 0);
    let whole = shard.count <= 1;
    for e in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !walk_skips(e))
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        if whole || shard.owns(&path_key(root, e.path()), 0) {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    counts
}

/// A Maildir++ sub-folder: a hidden folder holding `cur/` or `new/`.
fn is_maildir_plus_plus(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// The mailboxes (Maildir and Maildir++ folders) under the given paths, for the summary;
/// those `select` excludes are not listed.
pub fn mailboxes(paths: &[PathBuf], select: &PathSelect) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths.iter().filter(|p| p.is_dir()) {
        let walker = walkdir::WalkDir::new(p)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.file_type().is_dir()
                    && !matches!(name.as_ref(), "cur" | "new" | "tmp")
                    && (e.depth() == 0 || !name.starts_with('.') || is_maildir_plus_plus(e.path()))
                    && (e.depth() == 0 || !select.excludes_folder(p, e.path()))
            });
        for e in walker.flatten() {
            if e.path().join("cur").is_dir() || e.path().join("new").is_dir() {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}
