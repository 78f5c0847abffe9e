//! The generated newsletters the mail and CLI benchmarks scan: realistic HTML newsletters
//! (~35 KB, one pixel, ~25 images, ~50 links each) in an mbox, deterministic (seeded LCG).

use std::io::{BufWriter, Write};
use std::path::Path;

use html5ever::tendril::StrTendril;
use pixscan::source::mail::{inputs, InputLimits};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize]))
            .collect()
    }
    fn token(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..n)
            .map(|_| char::from(A[(self.next() % 64) as usize]))
            .collect()
    }
}

const WORDS: &[&str] = &[
    "spring",
    "collection",
    "arrivals",
    "exclusive",
    "offer",
    "members",
    "weekend",
    "shipping",
    "classic",
    "linen",
    "summer",
    "jacket",
    "story",
    "design",
    "limited",
    "edition",
    "free",
    "returns",
    "gift",
    "guide",
];

fn paragraph(r: &mut Lcg, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[(r.next() % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// One newsletter: a table layout with inline styles, ~25 images, ~50 links, one pixel.
fn newsletter(r: &mut Lcg, i: usize) -> String {
    let brand = ["northwind", "contoso", "fabrikam", "tailspin", "wingtip"][i % 5];
    let recipient = format!("reader{i}@example.org");
    let mut html = String::with_capacity(40_000);
    html.push_str(r#"<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;padding:0;font-family:Helvetica,Arial,sans-serif}.btn{background:#0a7;color:#fff;padding:12px 24px;border-radius:4px}@media only screen and (max-width:600px){.col{width:100%!important}}</style></head><body>"#);
    html.push_str(r#"<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">Our new season is here &#847; &zwnj; &nbsp;</div>"#);
    html.push_str(r#"<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f4"><tr><td align="center">"#);
    for s in 0..12 {
        let img = format!(
            "https://cdn.{brand}.example/images/2026/{}/{}.jpg",
            paragraph(r, 1),
            r.hex(12)
        );
        html.push_str(&format!(
            r#"<table class="col" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;margin:0 auto"><tr><td style="padding:24px 32px;font-size:16px;line-height:24px;color:#333333"><a href="https://links.{brand}.example/ls/click?upn={}" style="text-decoration:none"><img src="{img}" width="536" height="300" alt="{}" style="display:block;border:0;width:100%;max-width:536px;height:auto"></a><h2 style="font-size:22px;margin:16px 0 8px">{}</h2><p style="margin:0 0 12px">{}</p><p style="margin:0 0 12px">{}</p><a class="btn" href="https://links.{brand}.example/ls/click?upn={}" style="display:inline-block;background:#0a7;color:#ffffff">Shop now</a> <a href="https://www.{brand}.example/{}/{}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring{s}">{}</a> <img src="https://cdn.{brand}.example/icons/{}.png" width="24" height="24" alt=""></td></tr></table>"#,
            r.token(120), paragraph(r, 3), paragraph(r, 6), paragraph(r, 90), paragraph(r, 80), r.token(120), paragraph(r, 1), paragraph(r, 2), paragraph(r, 2), paragraph(r, 1)
        ));
        if s % 4 == 3 {
            html.push_str(&format!(
                r#"<img src="https://cdn.{brand}.example/spacer.gif" width="1" height="10" alt="">"#
            ));
        }
    }
    for k in 0..22 {
        html.push_str(&format!(r#"<a href="https://links.{brand}.example/ls/click?upn={}" style="color:#999;font-size:12px">footer link {k}</a> "#, r.token(80)));
    }
    for k in 0..4 {
        html.push_str(&format!(r#"<a href="https://social.example/{brand}{k}"><img src="https://cdn.{brand}.example/social/{k}.png" width="32" height="32" alt="social"></a>"#));
    }
    html.push_str(&format!(
        r#"<img src="https://links.{brand}.example/wf/open?upn={}" alt="" width="1" height="1" border="0" style="height:1px!important;width:1px!important;border-width:0!important">"#,
        r.token(200)
    ));
    html.push_str("</td></tr></table></body></html>");
    format!(
        "From: {brand} <news@{brand}.example>\r\nTo: {recipient}\r\nSubject: {} #{i}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@{brand}.example>\r\nX-SG-EID: {}\r\nList-Unsubscribe: <https://links.{brand}.example/unsub?u={}>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n",
        paragraph(r, 4), r.hex(24), r.token(40), r.token(32)
    )
}

pub fn write_mbox(path: &Path, n: usize) -> u64 {
    let mut r = Lcg(42);
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut bytes = 0u64;
    for i in 0..n {
        let m = newsletter(&mut r, i);
        bytes += m.len() as u64;
        write!(w, "From news@example Mon Nov  2 10:00:00 2026\n{m}\n").unwrap();
    }
    w.flush().unwrap();
    bytes
}

/// CPU time of the calling thread, in seconds.
pub fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// mail-parser + a full html5ever parse into a DOM.
pub fn parse_floor(path: &Path) -> (usize, f64) {
    use html5ever::tendril::TendrilSink;
    floor(path, |html| {
        let dom =
            html5ever::parse_document(markup5ever_rcdom::RcDom::default(), Default::default())
                .one(StrTendril::from_slice(html));
        std::hint::black_box(&dom);
    })
}

/// Reads the mbox, parses every message with mail-parser and hands each HTML part to
/// `html`: the messages counted and the thread CPU time taken.
pub fn floor(path: &Path, mut html: impl FnMut(&str)) -> (usize, f64) {
    let paths = vec![path.to_path_buf()];
    let mut skipped = Vec::new();
    let start = thread_cpu();
    let mut n = 0;
    for input in inputs(&paths, InputLimits::default(), &mut skipped) {
        let bytes = input.bytes.unwrap();
        let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        for i in 0..msg.html_body_count() {
            if let Some(part) = msg.body_html(i) {
                html(&part);
            }
        }
        n += 1;
    }
    (n, thread_cpu() - start)
}
