//! Command-line flags of browser mode, flattened into `pixscan site`; they build the
//! library's plain `BrowserOptions`. `parse_duration` serves the crawl's duration flags too.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use pixscan::source::browser::BrowserOptions;

#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Browser mode")]
pub struct BrowserArgs {
    /// Also load every page in a real Chromium (headless, fresh profile per page) and
    /// report what fires at run time before any consent, next to the static findings.
    #[arg(long)]
    pub browser: bool,
    /// The Chromium or Chrome binary (default: chromium, google-chrome… on PATH).
    #[arg(long, value_name = "PATH", env = "PIXSCAN_CHROMIUM")]
    pub chromium: Option<PathBuf>,
    /// Click the consent banner's accept button and report what that unlocks
    /// (requests and cookies that appear only after accepting).
    #[arg(long)]
    pub accept_consent: bool,
    /// Block third-party cookies (default: allowed, as in a stock desktop Chrome).
    #[arg(long)]
    pub block_third_party_cookies: bool,
    /// Scroll each page to the bottom to trigger lazy-loaded tags.
    #[arg(long)]
    pub scroll: bool,
    /// Network quiet time after which a page counts as settled, e.g. 1s, 500ms.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub settle: Duration,
    /// Longest wait per page phase (load, scroll, after accepting), e.g. 15s.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION")]
    pub max_wait: Duration,
    /// Browser tabs open at once (default: --concurrency).
    #[arg(long, value_name = "N")]
    pub tabs: Option<usize>,
    /// User-Agent for the browser (default: Chromium's own, without "Headless").
    #[arg(long, value_name = "UA")]
    pub browser_user_agent: Option<String>,
    /// Extra Chromium flag (repeatable), e.g. --chromium-arg=--lang=de.
    #[arg(long = "chromium-arg", value_name = "FLAG", allow_hyphen_values = true)]
    pub chromium_args: Vec<String>,
}

impl BrowserArgs {
    /// The browser options, or `None` without `--browser`. `resolve` is `--resolve`, applied
    /// to Chromium's host resolver too.
    pub fn options(&self, resolve: &[(String, SocketAddr)]) -> Option<BrowserOptions> {
        if !self.browser {
            return None;
        }
        Some(BrowserOptions {
            chromium: self.chromium.clone(),
            accept_consent: self.accept_consent,
            block_third_party_cookies: self.block_third_party_cookies,
            scroll: self.scroll,
            settle: self.settle,
            max_wait: self.max_wait,
            resolve: resolve.to_vec(),
            user_agent: self.browser_user_agent.clone(),
            extra_args: self.chromium_args.clone(),
            concurrency: self.tabs.unwrap_or(0),
        })
    }
}

/// `15s`, `500ms`, `2m`, `1h 30m` (humantime's grammar), or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let d = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("bad duration {s:?} (e.g. 1s, 500ms, 2m)"))?
    } else {
        humantime::parse_duration(s)
            .map_err(|e| format!("bad duration {s:?} (e.g. 1s, 500ms, 2m): {e}"))?
    };
    if d.is_zero() {
        return Err(format!("duration must be positive: {s:?}"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        b: BrowserArgs,
    }

    #[test]
    fn flags_map_to_options() {
        let t = T::parse_from(["t", "--settle", "300ms", "--accept-consent"]);
        assert!(t.b.options(&[]).is_none(), "no --browser, no browser");
        let t = T::parse_from([
            "t",
            "--browser",
            "--chromium",
            "/opt/chrome",
            "--accept-consent",
            "--settle",
            "300ms",
            "--max-wait",
            "5s",
            "--chromium-arg=--lang=de",
        ]);
        let r = vec![(
            "www.shop.test".to_string(),
            "127.0.0.1:8080".parse().unwrap(),
        )];
        let o = t.b.options(&r).unwrap();
        assert!(o.accept_consent && !o.scroll && !o.block_third_party_cookies);
        assert_eq!(o.settle, Duration::from_millis(300));
        assert_eq!(o.max_wait, Duration::from_secs(5));
        assert_eq!(
            o.chromium.as_deref(),
            Some(std::path::Path::new("/opt/chrome"))
        );
        assert_eq!(o.resolve, r);
        assert_eq!(o.extra_args, vec!["--lang=de"]);
    }
}
