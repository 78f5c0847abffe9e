//! URLs an inline script hands to a loader: the request the page makes once the script runs,
//! though no element names it. Tag snippets build a script element and set its `src`
//! (`j.src = 'https://www.googletagmanager.com/gtm.js?id=' + i`), pass the URL to an
//! async-queue stub (`})(window, document, 'script', '//www.google-analytics.com/analytics.js')`),
//! or write markup (`document.write('<script src="…">')`).
//!
//! A URL only *mentioned* in a script (a link in a data blob, a vendor table, a canonical URL
//! in a config) is not a request, so a string counts only in a loader context: after `src =`,
//! `src:`, `setAttribute('src', …)`, a `src=` inside a markup string, a loading call
//! (`getScript(`, `loadScript(`, `sendBeacon(`, `fetch(`…), or as a script file (`….js`)
//! passed along with the word `script`. Scheme-switching concatenations
//! (`('https:' == location.protocol ? 'https://ssl' : 'http://www') + '.google-analytics.com/ga.js'`)
//! are joined back into one URL.

use std::sync::OnceLock;

use regex::Regex;

use super::js::{open_quote_back, skip_space_back};

/// One URL a script loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// Byte offset of the URL's string literal in the script text.
    pub offset: usize,
    /// The URL, absolute or protocol-relative (`//host/…`), as written (concatenations joined).
    pub url: String,
    /// Whether it names a script file (a script request) rather than a pixel or frame.
    pub script: bool,
    /// Whether it is an image request (`img.src = …`, `new Image().src`, an image file).
    pub image: bool,
}

fn literal_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // A quoted string that starts like a URL: scheme://host or //host.
        Regex::new(r#"(?i)(?:\\?["'`])((?:https?:)?(?:\\?/){2}[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(?::\d+)?(?:(?:\\?/|[?#])(?:[^"'`\s\\]|\\/)*)?)(?:\\?["'`])"#).unwrap()
    })
}

fn joined_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // ('https://ssl' : 'http://www') + '.google-analytics.com/ga.js'
        Regex::new(r#"(?i)["'](https?://[a-z0-9-]*)["']\s*(?::\s*["']https?://[a-z0-9-]*["']\s*)?\)?\s*\+\s*["'](\.[a-z0-9.-]+\.[a-z]{2,}/[^"'\s]*)["']"#).unwrap()
    })
}

/// Words before a string that hand it to a loader (checked on the text just before it).
fn context_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?ix)(?:
                \.src\s*=\s*(?:[\w.$]+\s*\+\s*)?\(?\s*$           # s.src = '…'  /  s.src = p + '…'
              | \bsrc\s*:\s*$                                     # {src: '…'}
              | setAttribute\(\s*["'](?:src|data-src)["']\s*,\s*$ # setAttribute('src', '…')
              | \bsrc\s*=\s*\\?["']?\s*["']?\s*\+?\s*$            # '<script src="' + '…'
              | (?:getScript|loadScript|loadJS|load_script|importScripts|sendBeacon|fetch|
                   \$\.ajax|\.load|injectScript|addScript|require)\s*\(\s*(?:\{\s*url\s*:\s*)?$
              | \bnew\s+Image\(\)\s*\)?\.src\s*=\s*$
            )"#,
        )
        .unwrap()
    })
}

fn image_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?:new\s+Image\(\)\s*\)?\.src\s*=|\b(?:img|image|pixel|px|beacon)\w*\.src\s*=)\s*$").unwrap()
    })
}

fn data_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?:new\s+Image\(\)\s*\)?\.src\s*=|sendBeacon\s*\(|fetch\s*\()\s*$")
            .unwrap()
    })
}

/// Every URL the script loads, in order of appearance, each once.
pub fn loaded_urls(text: &str) -> Vec<Loaded> {
    let mut out: Vec<Loaded> = Vec::new();
    // Cheap exit: most inline scripts hold no URL at all.
    if memchr::memmem::find(text.as_bytes(), b"//").is_none()
        && memchr::memmem::find(text.as_bytes(), b"\\/\\/").is_none()
    {
        return out;
    }
    let mut push = |offset: usize, url: String, script: bool, image: bool| {
        let url = url.replace("\\/", "/");
        if !out.iter().any(|l| l.url == url) {
            out.push(Loaded {
                offset,
                url,
                script,
                image,
            });
        }
    };
    for c in joined_re().captures_iter(text) {
        let (Some(prefix), Some(rest)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let url = format!("{}{}", prefix.as_str(), rest.as_str());
        let script = is_script_file(&url);
        push(prefix.start(), url, script, false);
    }
    let mentions_script = contains_script_word(text);
    for c in literal_re().captures_iter(text).take(500) {
        let Some(m) = c.get(1) else { continue };
        let url = m.as_str();
        let before = &text[floor_char(text, m.start().saturating_sub(80))
            ..c.get(0).map_or(m.start(), |w| w.start())];
        let in_context = context_re().is_match(before);
        let script_file = is_script_file(url)
            && mentions_script
            && !in_table(text, c.get(0).map_or(m.start(), |w| w.start()));
        if in_context || script_file {
            // A pixel or beacon call loads data, not code.
            // A pixel or beacon call loads data, not code; so does an image URL.
            let image = image_re().is_match(before) || is_image_file(url);
            let data = image || data_re().is_match(before);
            let near = &text[floor_char(text, m.start().saturating_sub(300))
                ..floor_char(text, (m.end() + 200).min(text.len()))];
            let script = is_script_file(url) || contains_script_word(near);
            push(m.start(), url.to_string(), !data && script, image);
        }
    }
    out.sort_by_key(|l| l.offset);
    out
}

/// Whether the string literal starting at `start` is an entry of a table rather than an
/// argument: the value of a named key (`"tealium": "//tags…/utag.js"`, a require.js `paths`
/// map) or an element of an array (`["a.js", "b.js"]`, a vendor list). Such tables name
/// files that may load under some condition; only a loader context makes them requests.
fn in_table(text: &str, start: usize) -> bool {
    let bytes = text.as_bytes();
    let mut i = start;
    // Walk back over sibling literals and commas to the bracket or key that holds this one.
    loop {
        i = skip_space_back(bytes, i);
        if i == 0 {
            return false;
        }
        match bytes[i - 1] {
            // A value under a key (not the second arm of `cond ? a : b`). Keys that say "load
            // this" (`src:`) were matched by the context.
            b':' => return after_key(&bytes[..i - 1]),
            // An array is a table unless it is passed straight to a call
            // (`queue.concat(["…/iam.js"])`, `push([…])`).
            b'[' => {
                let head = text[..i - 1].trim_end();
                return !head.ends_with('(');
            }
            b',' => {
                i = skip_space_back(bytes, i - 1);
                // Skip one quoted sibling; anything else (an identifier, a call) ends the walk:
                // `(window, document, 'script', '//…/analytics.js')` is an argument list.
                if i < 2 || !matches!(bytes[i - 1], b'"' | b'\'' | b'`') {
                    return false;
                }
                let Some(open) = open_quote_back(bytes, i) else {
                    return false;
                };
                i = open;
            }
            b'\\' => {
                // `\"` inside a JSON string embedded in a script: look before the backslash.
                i -= 1;
            }
            _ => return false,
        }
    }
}

/// Whether `head` ends with an object key (`{name` / `, "name"`), ignoring trailing space,
/// that is not itself a loading key (`scriptUrl:`, `loader:`, `js:`).
fn after_key(head: &[u8]) -> bool {
    let end = skip_space_back(head, head.len());
    let mut i = end;
    if i > 0 && matches!(head[i - 1], b'"' | b'\'') {
        let Some(open) = open_quote_back(head, i) else {
            return false;
        };
        i = open;
    } else {
        while i > 0
            && (head[i - 1].is_ascii_alphanumeric() || matches!(head[i - 1], b'_' | b'$' | b'-'))
        {
            i -= 1;
        }
        if i == end {
            return false;
        }
    }
    let key = String::from_utf8_lossy(&head[i..end]).to_ascii_lowercase();
    let key = key.trim_matches(|c| matches!(c, '"' | '\'' | '\\'));
    if ["src", "url", "script", "loader", "js"]
        .iter()
        .any(|k| key.ends_with(k))
    {
        return false;
    }
    i = skip_space_back(head, i);
    i > 0 && matches!(head[i - 1], b'{' | b',')
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A script file: the path ends in `.js` (before any query), or a known loader endpoint.
fn is_script_file(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    path.ends_with(".js") || path.ends_with("/gtm.js") || path.contains("/gtag/js")
}

fn is_image_file(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    [".gif", ".png", ".jpg", ".jpeg", ".webp", ".svg"]
        .iter()
        .any(|e| path.ends_with(e))
}

/// Whether the script creates or writes script elements at all.
fn contains_script_word(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"script").is_some()
        || memchr::memmem::find(text.as_bytes(), b"Script").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> Vec<String> {
        loaded_urls(s).into_iter().map(|l| l.url).collect()
    }

    #[test]
    fn snippet_loaders() {
        let gtm = "(function(w,d,s,l,i){w[l]=w[l]||[];var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-AB12CD');";
        assert_eq!(
            urls(gtm),
            vec!["https://www.googletagmanager.com/gtm.js?id="]
        );
        let ga = "(function(i,s,o,g,r,a,m){i['GoogleAnalyticsObject']=r;a=s.createElement(o)})(window,document,'script','//www.google-analytics.com/analytics.js','ga');";
        assert_eq!(urls(ga), vec!["//www.google-analytics.com/analytics.js"]);
        let old = "var ga = document.createElement('script'); ga.src = ('https:' == document.location.protocol ? 'https://ssl' : 'http://www') + '.google-analytics.com/ga.js';";
        assert_eq!(urls(old), vec!["https://ssl.google-analytics.com/ga.js"]);
        let write = r#"document.write('<scr'+'ipt src="https://cdn.vendor.example/loader.js"></scr'+'ipt>');"#;
        assert_eq!(urls(write), vec!["https://cdn.vendor.example/loader.js"]);
        let img = r#"new Image().src = "https://t.vendor.example/px?id=42";"#;
        assert_eq!(urls(img), vec!["https://t.vendor.example/px?id=42"]);
        assert!(!loaded_urls(img)[0].script);
        let seg = "var t=document.createElement('script');t.src='https://cdn.segment.example/analytics.js/v1/'+key+'/analytics.min.js';";
        let l = loaded_urls(seg);
        assert_eq!(l[0].url, "https://cdn.segment.example/analytics.js/v1/");
        assert!(l[0].script);
        let attr = "e.setAttribute('src', '//static.chartbeat.example/js/chartbeat.js');";
        assert_eq!(
            urls(attr),
            vec!["//static.chartbeat.example/js/chartbeat.js"]
        );
        let escaped = r#"s.src = "https:\/\/cdn.vendor.example\/a.js";"#;
        assert_eq!(urls(escaped), vec!["https://cdn.vendor.example/a.js"]);
    }

    #[test]
    fn mentions_are_not_loads() {
        let data = r#"var cfg = {"canonical": "https://news.example/a/b", "share": "https://twitter.example/intent"};"#;
        assert!(urls(data).is_empty());
        let table = r#"var vendors = [{name: "X", policy: "https://x.example/privacy"}];"#;
        assert!(urls(table).is_empty());
        // A .js URL with no script element anywhere in sight is only data.
        assert!(urls(r#"var files = ["https://cdn.example/a.js"];"#).is_empty());
        // A require.js-style path table and an array of files in a script that builds script
        // elements elsewhere: entries, not loads.
        let paths = r#"var s=document.createElement('script'); require.config({paths: {"tealium": "\/\/tags.tiq.example\/utag.js", "twitter": "https:\/\/platform.tw.example\/widgets.js"}});"#;
        assert!(urls(paths).is_empty());
        let list = r#"createElement('script'); n({lists: ["https://a.example/x.js", "https://b.example/y.js"]});"#;
        assert!(urls(list).is_empty());
        // An argument list is a load.
        let args = r#"})(window, document, 'script', '//www.ga.example/analytics.js', 'ga');"#;
        assert_eq!(urls(args), vec!["//www.ga.example/analytics.js"]);
        // Handed to a queue, or under a key that says what it is for: loads.
        let queue = r#"window.__async_scripts = (window.__async_scripts || []).concat(["https://script.example/iam.js"]);"#;
        assert_eq!(urls(queue), vec!["https://script.example/iam.js"]);
        let key = r#"var o = {scriptUrl: '//site.disqus.example/embed.js'}; loader('.x', o);"#;
        assert_eq!(urls(key), vec!["//site.disqus.example/embed.js"]);
        // The second arm of a ternary is not a table entry.
        let tern = r#"var s=document.createElement('script'); var u = ssl ? 'https://s.example/a.js' : 'http://s.example/a.js';"#;
        assert_eq!(urls(tern).len(), 2);
    }
}
