//! Finding and starting Chromium: a fresh profile in a temporary folder, DevTools on a port
//! the kernel picks (`--remote-debugging-port=0`, read back from the `DevTools listening on`
//! line on stderr), and a clean shutdown that removes the profile.

use super::BrowserError;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Names tried on `PATH` when no binary is given.
const CANDIDATES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "headless_shell",
    "chrome-headless-shell",
];

pub const INSTALL_HINT: &str = "install Chromium (Debian/Ubuntu: `apt-get install chromium`; Fedora: `dnf install chromium`; macOS: `brew install --cask chromium`) or point --chromium PATH / PIXSCAN_CHROMIUM at a Chrome or Chromium binary";

/// The browser binary: the one given, or the first candidate on `PATH`.
pub fn find_chromium(given: Option<&Path>) -> Result<PathBuf, BrowserError> {
    if let Some(p) = given {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        if p.components().count() == 1 {
            if let Some(found) = on_path(&p.to_string_lossy()) {
                return Ok(found);
            }
        }
        return Err(BrowserError::Launch(format!(
            "Chromium not found at {}: {INSTALL_HINT}",
            p.display()
        )));
    }
    CANDIDATES.iter().find_map(|c| on_path(c)).ok_or_else(|| {
        BrowserError::Launch(format!(
            "Chromium not found on PATH (tried {}): {INSTALL_HINT}",
            CANDIDATES.join(", ")
        ))
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// `--resolve host:port:addr` entries as Chromium host-resolver rules. Chromium matches a
/// rule's pattern against `host` and then `host:port`, and the replacement may carry a port:
/// `MAP www.shop.test:8080 127.0.0.1:8080` redirects exactly what curl's `--resolve` would.
pub fn host_resolver_rules(resolve: &[(String, SocketAddr)]) -> Option<String> {
    if resolve.is_empty() {
        return None;
    }
    let rules: Vec<String> = resolve
        .iter()
        .map(|(host, addr)| format!("MAP {host}:{} {addr}", addr.port()))
        .collect();
    Some(rules.join(", "))
}

/// A temporary profile folder, removed on drop.
pub struct TempProfile(pub PathBuf);

impl TempProfile {
    pub fn new() -> Result<TempProfile, BrowserError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for attempt in 0..100u32 {
            let dir = std::env::temp_dir().join(format!(
                "pixscan-chromium-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(TempProfile(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(BrowserError::Launch(format!(
                        "cannot create a temporary Chromium profile: {e}"
                    )))
                }
            }
        }
        Err(BrowserError::Launch(
            "cannot create a temporary Chromium profile".into(),
        ))
    }
}

impl Drop for TempProfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running Chromium.
pub struct Process {
    pub child: Child,
    pub ws_url: String,
    pub binary: PathBuf,
    /// Declared after `child` so the profile is removed once the process is gone.
    pub profile: TempProfile,
}

/// The profile's cookie policy. Each page runs in its own browser context
/// (`Target.createBrowserContext`), which Chromium treats as off the record, and off-the-record
/// profiles block third-party cookies by default (blocked reason `UserPreferences`). A stock
/// desktop Chrome allows them, so the profile says so: `cookie_controls_mode` 0 (allow) or
/// 1 (block third-party cookies everywhere) for `--block-third-party-cookies`.
fn write_preferences(profile: &Path, block_third_party_cookies: bool) -> Result<(), BrowserError> {
    let dir = profile.join("Default");
    std::fs::create_dir_all(&dir)
        .map_err(|e| BrowserError::Launch(format!("cannot prepare the Chromium profile: {e}")))?;
    let prefs = serde_json::json!({
        "profile": { "cookie_controls_mode": if block_third_party_cookies { 1 } else { 0 } },
        "browser": { "has_seen_welcome_page": true },
    });
    std::fs::write(dir.join("Preferences"), prefs.to_string())
        .map_err(|e| BrowserError::Launch(format!("cannot prepare the Chromium profile: {e}")))
}

/// Flags for every launch: headless, no first-run or background chatter, a fixed window
/// size, and DevTools on a port the kernel picks.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1366,900",
    // What a visitor's browser is: no automation banner, no `navigator.webdriver`.
    "--disable-blink-features=AutomationControlled",
    // SpareRendererForSitePerProcess: Chromium keeps a spare renderer process warm for the
    // next navigation, but a spare belongs to one browser context and every page here gets a
    // new one, so each page paid for a renderer it never used (~10% of a page's CPU). Safe: it
    // only decides which process a page lands in, not what the page requests or sees.
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,InterestFeedContentSuggestions,CalculateNativeWinOcclusion,AutofillServerCommunication,SpareRendererForSitePerProcess",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
];

/// Longest wait for Chromium to open DevTools.
const DEVTOOLS_WAIT: Duration = Duration::from_secs(45);

/// Starts Chromium on a fresh profile and waits until its DevTools endpoint is known.
pub fn start(
    binary: &Path,
    resolve: &[(String, SocketAddr)],
    block_third_party_cookies: bool,
    extra_args: &[String],
) -> Result<Process, BrowserError> {
    let profile = TempProfile::new()?;
    write_preferences(&profile.0, block_third_party_cookies)?;
    let mut child = command(binary, &profile.0, resolve, extra_args)
        .spawn()
        .map_err(|e| {
            BrowserError::Launch(format!(
                "cannot start Chromium ({}): {e}; {INSTALL_HINT}",
                binary.display()
            ))
        })?;
    let stderr = child.stderr.take().expect("piped stderr");
    let devtools = watch_stderr(stderr);
    let ws_url = wait_for_devtools(&mut child, &devtools, binary)?;
    Ok(Process {
        child,
        ws_url,
        binary: binary.to_path_buf(),
        profile,
    })
}

/// The command line: `FLAGS`, the profile, `--resolve` as host-resolver rules, the user's
/// extra flags, and a blank first page; stderr piped for the DevTools line.
fn command(
    binary: &Path,
    profile: &Path,
    resolve: &[(String, SocketAddr)],
    extra_args: &[String],
) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args(FLAGS);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    if let Some(rules) = host_resolver_rules(resolve) {
        cmd.arg(format!("--host-resolver-rules={rules}"));
    }
    cmd.args(extra_args);
    cmd.arg("about:blank");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Reads Chromium's stderr on a thread of its own; sends the DevTools URL once it is
/// announced, or (if stderr ends first) the last lines, which say why.
fn watch_stderr(stderr: ChildStderr) -> mpsc::Receiver<Result<String, String>> {
    let (tx, rx) = mpsc::channel::<Result<String, String>>();
    // Chromium keeps logging to stderr; the pipe is drained for the process's whole life so
    // it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut tail: Vec<String> = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(pos) = line.find("ws://") {
                    if line.contains("DevTools listening on") {
                        let _ = tx.send(Ok(line[pos..].trim().to_string()));
                        sent = true;
                        continue;
                    }
                }
                tail.push(line);
                if tail.len() > 12 {
                    tail.remove(0);
                }
            }
        }
        if !sent {
            let _ = tx.send(Err(tail.join("\n")));
        }
    });
    rx
}

/// The DevTools URL, or why there is none: Chromium exited first (with its last words) or
/// stayed silent for `DEVTOOLS_WAIT` (then it is killed).
fn wait_for_devtools(
    child: &mut Child,
    devtools: &mpsc::Receiver<Result<String, String>>,
    binary: &Path,
) -> Result<String, BrowserError> {
    match devtools.recv_timeout(DEVTOOLS_WAIT) {
        Ok(Ok(url)) => Ok(url),
        Ok(Err(tail)) => {
            let status = child.wait().ok();
            Err(BrowserError::Launch(format!(
                "Chromium ({}) exited before opening DevTools{}{}",
                binary.display(),
                status.map(|s| format!(" ({s})")).unwrap_or_default(),
                if tail.trim().is_empty() {
                    String::new()
                } else {
                    format!(":\n{}", tail.trim())
                }
            )))
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(BrowserError::Launch(format!(
                "Chromium ({}) did not open DevTools within 45s",
                binary.display()
            )))
        }
    }
}

impl Process {
    /// Waits up to `grace` for the process to exit (after `Browser.close`), then kills it.
    pub fn shutdown(&mut self, grace: Duration) {
        let deadline = std::time::Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25))
                }
                _ => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_rules_keep_ports() {
        let r = vec![
            (
                "www.shop.test".to_string(),
                "127.0.0.1:8080".parse().unwrap(),
            ),
            ("v6.test".to_string(), "[::1]:9000".parse().unwrap()),
        ];
        assert_eq!(
            host_resolver_rules(&r).unwrap(),
            "MAP www.shop.test:8080 127.0.0.1:8080, MAP v6.test:9000 [::1]:9000"
        );
        assert_eq!(host_resolver_rules(&[]), None);
    }
}
