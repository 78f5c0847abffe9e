//! Helpers shared by the benchmarks: the release binary, a child's peak memory, and the
//! `PIXSCAN_BENCH_*` counts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Wall time and peak RSS (MB) of a child process. Peak RSS comes from polling the child's
/// own `VmHWM` in /proc: `wait4`'s `ru_maxrss` would include the parent's size at fork.
pub fn peak_rss(cmd: &mut Command) -> (f64, f64) {
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut hwm_kb = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(v) = text.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                hwm_kb = hwm_kb.max(v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0));
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (start.elapsed().as_secs_f64(), hwm_kb as f64 / 1024.0)
}

/// Builds the release binary and returns its path.
pub fn binary() -> PathBuf {
    let ok = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "pixscan", "--quiet"])
        .status()
        .unwrap();
    assert!(ok.success());
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release/pixscan")
}

/// A count from the environment (`PIXSCAN_BENCH_MESSAGES=500`), or `default` when unset or
/// not a number.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
