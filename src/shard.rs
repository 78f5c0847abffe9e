//! `--shard K/N`: a deterministic split of a run's inputs so that N workers (processes,
//! machines, Kubernetes pods) together scan every input exactly once, and `pixscan merge`
//! can put their outputs back together as one run.
//!
//! Every input is owned by one shard, decided from the input alone, never from the machine
//! or the walk: an input's *key* (a file's path relative to the folder given, with `/`
//! separators; a file named on the command line by its file name; a crawl by its start URL)
//! and its *item* number inside it (0 for a file or a crawl; the message's position, from 0,
//! in an mbox; the page's position in a build folder is not needed, files are keyed by
//! path). The shard is `(fnv1a64(key) + item) mod N`: an mbox's messages go round the
//! shards, files spread by path. Every shard walks the same folders and counts what it
//! leaves to the others, so each shard's summary accounts for every input it saw.

use std::fmt;

/// Which share of the inputs a run scans: shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// The environment variable a Kubernetes Indexed Job sets to the pod's 0-based index,
/// read when `--shard /N` leaves K out.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

impl Shard {
    /// The whole run: one shard of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N` (0 ≤ K < N), or `/N` with K taken from `env_index` (the value of
    /// [`INDEX_ENV`], if set). The errors are usage messages.
    pub fn parse(arg: &str, env_index: Option<&str>) -> Result<Shard, String> {
        let arg = arg.trim();
        let (k, n) = arg.split_once('/').ok_or_else(|| {
            format!("{arg:?}: expected K/N, e.g. 0/3 (shards are numbered from 0), or /N to take K from {INDEX_ENV}")
        })?;
        let count: u64 = n.trim().parse().map_err(|_| {
            format!("{arg:?}: N must be a whole number of shards, e.g. 0/3 (got {n:?})")
        })?;
        if count == 0 {
            return Err(format!("{arg:?}: N must be at least 1"));
        }
        let k = k.trim();
        let (k, from_env) = if k.is_empty() {
            match env_index {
                Some(v) => (v.trim(), true),
                None => {
                    return Err(format!(
                        "{arg:?}: K is left out but {INDEX_ENV} is not set; give it (--shard 0/{count}), or run in a Kubernetes Indexed Job, which sets {INDEX_ENV}"
                    ))
                }
            }
        } else {
            (k, false)
        };
        let origin = if from_env {
            format!("{INDEX_ENV}={k:?}")
        } else {
            format!("{arg:?}")
        };
        let index: u64 = k
            .parse()
            .map_err(|_| format!("{origin}: K must be a whole number from 0 to {}", count - 1))?;
        if index >= count {
            return Err(format!(
                "{origin}: K must be below N ({count} shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether item `item` of the input keyed `key` belongs to this shard.
    pub fn owns(&self, key: &str, item: u64) -> bool {
        self.count <= 1 || self.owner(key, item) == self.index
    }

    /// The shard that owns item `item` of the input keyed `key`.
    pub fn owner(&self, key: &str, item: u64) -> u64 {
        if self.count <= 1 {
            return 0;
        }
        (fnv1a64(key.as_bytes()) % self.count + item % self.count) % self.count
    }
}

/// A `--shard` run: its share, and the run it is a share of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRun {
    pub shard: Shard,
    /// What every shard of the run scans, as text (`summary.shard.run`): the command and
    /// the arguments that choose and scan the inputs, without `--shard` and the options of
    /// the report and the policy, which `pixscan merge` takes. Shards whose `run` differs
    /// are shares of different runs, and `pixscan merge` refuses to put them together.
    pub run: String,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A path's shard key: its components below `root`, joined with `/` (so the key is the
/// same on every machine and operating system, wherever the folder is mounted). A path not
/// under `root` keys by its file name.
pub fn path_key(root: &std::path::Path, path: &std::path::Path) -> String {
    let rel = match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel,
        _ => return file_name_key(path),
    };
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// A file named on its own (on the command line): its file name.
pub fn file_name_key(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

/// 64-bit FNV-1a: small, stable across versions and platforms (unlike std's hasher).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_the_environment() {
        assert_eq!(Shard::parse("1/3", None), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(
            Shard::parse(" 0 / 1 ", None),
            Ok(Shard { index: 0, count: 1 })
        );
        assert_eq!(
            Shard::parse("/4", Some("3")),
            Ok(Shard { index: 3, count: 4 })
        );
        // An explicit K wins over the environment.
        assert_eq!(
            Shard::parse("2/4", Some("3")),
            Ok(Shard { index: 2, count: 4 })
        );
        let err = |a: &str, env: Option<&str>| Shard::parse(a, env).unwrap_err();
        assert!(err("3/3", None).contains("K must be below N"));
        assert!(err("3/3", None).contains("0 to 2"));
        assert!(err("0/0", None).contains("at least 1"));
        assert!(err("a/3", None).contains("whole number"));
        assert!(err("1/x", None).contains("N must be"));
        assert!(err("-1/3", None).contains("whole number"));
        assert!(err("3", None).contains("expected K/N"));
        assert!(err("/3", None).contains("JOB_COMPLETION_INDEX is not set"));
        assert!(err("/3", Some("5")).contains("JOB_COMPLETION_INDEX=\"5\""));
        assert!(err("/3", Some("five")).contains("whole number"));
    }

    #[test]
    fn every_item_has_exactly_one_owner() {
        for n in 1..6u64 {
            for key in [
                "a.eml",
                "box.mbox",
                "dir/x/y.eml",
                "https://www.example.com/",
                "",
            ] {
                for item in 0..20 {
                    let owners = (0..n)
                        .filter(|&k| Shard { index: k, count: n }.owns(key, item))
                        .count();
                    assert_eq!(owners, 1, "{key} #{item} of {n}");
                }
            }
        }
        // An mbox's messages go round the shards.
        let s = Shard { index: 0, count: 3 };
        let mine = (0..30).filter(|&i| s.owns("box.mbox", i)).count();
        assert_eq!(mine, 10);
    }

    #[test]
    fn keys_are_relative_and_stable() {
        use std::path::Path;
        assert_eq!(
            path_key(Path::new("/srv/mail"), Path::new("/srv/mail/a/b.eml")),
            "a/b.eml"
        );
        assert_eq!(
            path_key(Path::new("mail"), Path::new("mail/a/b.eml")),
            path_key(
                Path::new("/other/mount/mail"),
                Path::new("/other/mount/mail/a/b.eml")
            )
        );
        assert_eq!(path_key(Path::new("x"), Path::new("y/z.eml")), "z.eml");
        // Fixed values: the split must not change between versions or machines.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
