//! Why the browser could not start or could not visit a page. A page's error becomes its
//! document's error text in the report; the variants let the scheduler tell a page that
//! failed from a browser that died under it.

/// A browser-mode failure. The message is what the report shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserError {
    /// Chromium could not be found, its profile prepared, or the process started.
    #[error("{0}")]
    Launch(String),
    /// The DevTools connection could not be made or closed, or a call failed or timed out.
    #[error("{0}")]
    DevTools(String),
    /// Chromium answered but could not load the page (its `errorText`).
    #[error("the browser could not load the page: {0}")]
    Load(String),
    /// The page's tab crashed or was detached (the DevTools event that said so).
    #[error("the tab went away ({0})")]
    TabGone(String),
    /// Chromium stopped while the page was loading; holds the error the page saw.
    #[error("Chromium stopped while this page was loading ({0})")]
    Stopped(Box<BrowserError>),
    /// The browser died under the page; `next` says what became of the remaining pages.
    #[error("{error}; {next}")]
    Interrupted {
        error: Box<BrowserError>,
        next: String,
    },
    /// The browser died too often or could not be restarted: no page is visited.
    #[error("{0}")]
    Unavailable(String),
    /// The page's task panicked or was cancelled.
    #[error("browser task failed: {0}")]
    Task(String),
}

impl BrowserError {
    /// The DevTools connection closed (the browser exited or crashed).
    pub(crate) fn closed() -> BrowserError {
        BrowserError::DevTools("the DevTools connection closed".into())
    }
}
