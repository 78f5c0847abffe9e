#!/usr/bin/env python3
"""List every request a mail client would make when it displays a message.

This is the labelling and scoring side of the real-mail evaluation, written apart from
pixscan on purpose (Python's `email` and `html.parser`), so that the candidates a labeller
judges are not the ones pixscan happens to find.

    candidates.py FILE.eml...            human-readable listing for labelling
    candidates.py --json FILE.eml...     one JSON object per message (used by score.py)

A request is keyed by `key(url)`: sha256 of a canonical form of the URL as written in the
document (entity-decoded), first 16 hex digits. Labels store keys, never URLs.
"""
import base64
import email
import hashlib
import html
import json
import re
import sys
import zlib
from email import policy
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit, parse_qs

CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.I | re.S)
HIDE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all|"
                  r"max-height\s*:\s*0|opacity\s*:\s*0(?![.\d])", re.I)


def canon(url):
    """Canonical URL text: trimmed, scheme and host lower-cased, the rest percent-decoded."""
    u = url.strip()
    if u.startswith("//"):
        u = "https:" + u
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://([^/?#]*)(.*)$", u, re.S)
    if not m:
        return unquote(u)
    scheme, host, rest = m.group(1).lower(), m.group(2).lower(), m.group(3)
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    for port in (":80", ":443"):
        if host.endswith(port):
            host = host[: -len(port)]
    rest = re.sub(r"\s+", "", rest)
    if rest == "":
        rest = "/"
    return f"{scheme}://{host}{unquote(rest)}"


def key(url):
    return hashlib.sha256(canon(url).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def unwrap(url):
    """The original URL inside a webmail image proxy, or None."""
    low = url.lower()
    if ("googleusercontent.com/proxy/" in low or "googleusercontent.com/meips/" in low) and "#" in url:
        return url.split("#", 1)[1]
    if "safelinks.protection.outlook.com" in low or "yahoo" in low:
        q = parse_qs(urlsplit(url).query)
        for p in ("url", "u"):
            if p in q and q[p][0].startswith("http"):
                return q[p][0]
    return None


def is_remote(url):
    u = url.strip().lower()
    return u.startswith("http://") or u.startswith("https://") or u.startswith("//")


class Extract(HTMLParser):
    """Remote loads in one HTML body, with the context a labeller needs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.stack = []  # (tag, hidden)
        self.in_style = False
        self.style_text = []
        self.order = 0

    def hidden_ancestor(self):
        return any(h for _, h in self.stack)

    def add(self, url, tag, attr, attrs, hidden_self):
        if not url or not is_remote(url):
            return
        self.order += 1
        self.out.append({
            "url": url.strip(), "tag": tag, "attr": attr,
            "width": attrs.get("width"), "height": attrs.get("height"),
            "style": (attrs.get("style") or "")[:160],
            "hidden_self": bool(hidden_self), "hidden_ancestor": self.hidden_ancestor(),
            "alt": (attrs.get("alt") or "")[:60], "order": self.order,
            # The whole start tag: MailTrackerBlocker's regexes run over it.
            "tag_text": (self.get_starttag_text() or "") if tag == "img" else "",
        })

    def handle_starttag(self, tag, attrs_list):
        attrs = {k.lower(): (v or "") for k, v in attrs_list}
        style = attrs.get("style", "")
        hidden = bool(HIDE.search(style)) or "hidden" in attrs
        if tag == "style":
            self.in_style = True
        if tag == "img" or tag == "input" and attrs.get("type", "").lower() == "image":
            self.add(attrs.get("src"), tag, "src", attrs, hidden)
            for part in (attrs.get("srcset") or "").split(","):
                bits = part.strip().split()
                if bits:
                    self.add(bits[0], tag, "srcset", attrs, hidden)
        if tag in ("v:image", "v:fill"):
            self.add(attrs.get("src"), tag, "src", attrs, hidden)
        if tag == "video":
            self.add(attrs.get("poster"), tag, "poster", attrs, hidden)
        if tag == "link" and "stylesheet" in attrs.get("rel", "").lower():
            self.add(attrs.get("href"), tag, "href", attrs, hidden)
        if "background" in attrs:
            self.add(attrs.get("background"), tag, "background", attrs, hidden)
        for m in CSS_URL.finditer(style):
            self.add(m.group(2), tag, "style", attrs, hidden)
        if tag not in ("img", "br", "hr", "meta", "link", "input", "col", "area", "base", "wbr", "source"):
            self.stack.append((tag, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False
            css = "".join(self.style_text)
            self.style_text = []
            for m in CSS_URL.finditer(css):
                start = max(0, m.start() - 120)
                ctx = re.sub(r"\s+", " ", css[start:m.start()])
                self.order += 1
                if is_remote(m.group(2)):
                    self.out.append({"url": m.group(2).strip(), "tag": "style", "attr": "css",
                                     "width": None, "height": None, "style": ctx[-120:],
                                     "hidden_self": False, "hidden_ancestor": False, "alt": "",
                                     "order": self.order})
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.in_style:
            self.style_text.append(data)


def html_parts(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            try:
                raw = part.get_payload(decode=True) or b""
            except Exception:
                continue
            cs = part.get_content_charset() or "utf-8"
            try:
                yield raw.decode(cs, "replace")
            except LookupError:
                yield raw.decode("utf-8", "replace")


def recipients(msg):
    out = []
    for h in ("To", "Cc", "Delivered-To", "X-Original-To"):
        for v in msg.get_all(h) or []:
            out += re.findall(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*", str(v))
    return sorted({a.lower() for a in out})


EMAIL = re.compile(rb"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def identity_hits(url, addrs):
    """Where an email address shows in the URL: plain, url-encoded, base64 (maybe zlib),
    or a hash of a known recipient. Mail in this corpus has its To: rewritten, so any
    address found in the URL is shown (it is usually the original recipient)."""
    hits = []
    low = unquote(unquote(url)).lower()
    if EMAIL.search(low.encode("utf-8", "replace")):
        hits.append("plain")
    for a in addrs:
        for h, f in (("md5", hashlib.md5), ("sha1", hashlib.sha1), ("sha256", hashlib.sha256)):
            if f(a.encode()).hexdigest() in low:
                hits.append(h)
    plain = unquote(url)
    toks = re.findall(r"[A-Za-z0-9_\-+]{12,}={0,2}", plain) + re.findall(r"[A-Za-z0-9_\-+/]{12,}={0,2}", plain)
    for tok in toks:
        t = tok.replace("+", "-").replace("/", "_").rstrip("=")
        try:
            d = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
        except Exception:
            continue
        for data in (d, _inflate(d), _unhex(d)):
            if data and EMAIL.search(data):
                hits.append("base64")
    return sorted(set(hits))


def _unhex(d):
    try:
        return bytes.fromhex(d.decode("ascii"))
    except Exception:
        return b""


def _inflate(d):
    try:
        return zlib.decompress(d)
    except Exception:
        return b""


def scan(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=policy.compat32)
    reqs, links = [], []
    for body in html_parts(msg):
        p = Extract()
        try:
            p.feed(body)
            p.close()
        except Exception:
            pass
        reqs += p.out
        links += [html.unescape(m) for m in re.findall(r"""<a\b[^>]*?href\s*=\s*["']([^"']+)""", body, re.I)]
    total = len(reqs)
    seen, out = set(), []
    addrs = recipients(msg)
    link_tokens = set()
    for l in links:
        link_tokens.update(re.findall(r"[A-Za-z0-9_-]{16,}", l))
    for i, r in enumerate(reqs):
        k = key(r["url"])
        if k in seen:
            continue
        seen.add(k)
        r["key"] = k
        inner = unwrap(r["url"])
        if inner:
            r["inner_url"] = inner
            r["inner_key"] = key(inner)
        r["last"] = i == total - 1
        r["identity"] = identity_hits(r["url"], addrs)
        toks = set(re.findall(r"[A-Za-z0-9_-]{16,}", r["url"]))
        r["recurs_in_links"] = sorted(toks & link_tokens)[:3]
        out.append(r)
    return {
        "file": path.rsplit("/", 1)[-1],
        "subject": str(msg.get("Subject", ""))[:100],
        "from": str(msg.get("From", ""))[:100],
        "recipients": addrs,
        "headers": sorted({h for h in msg.keys() if h.lower().startswith(("x-", "list-", "feedback-id"))
                           and not h.lower().startswith(("x-ms-", "x-microsoft", "x-forefront", "x-eop",
                                                         "x-incoming", "x-originat"))})[:25],
        "requests": out,
    }


def show(m):
    print(f"=== {m['file']}  subj={m['subject']!r}  from={m['from']!r}")
    print(f"    recipients={m['recipients']}  x-headers={m['headers']}")
    for r in m["requests"]:
        flags = []
        if r["width"] or r["height"]:
            flags.append(f"w={r['width']} h={r['height']}")
        if r["hidden_self"]:
            flags.append("HIDDEN-SELF")
        if r["hidden_ancestor"]:
            flags.append("hidden-ancestor")
        if r["last"]:
            flags.append("last")
        if r["identity"]:
            flags.append("RECIPIENT:" + "/".join(r["identity"]))
        if r["recurs_in_links"]:
            flags.append("token-in-links")
        print(f"  [{r['key']}] <{r['tag']} {r['attr']}> {' '.join(flags)}")
        print(f"      {r['url'][:400]}")
        if r.get("inner_url"):
            print(f"      inner[{r['inner_key']}]: {r['inner_url'][:300]}")
        if r["style"]:
            print(f"      style: {r['style'][:160]}")
        if r["alt"]:
            print(f"      alt: {r['alt']}")


def main():
    args = sys.argv[1:]
    as_json = "--json" in args
    for path in [a for a in args if a != "--json"]:
        try:
            m = scan(path)
        except Exception as e:  # a broken message is reported, not fatal
            m = {"file": path.rsplit("/", 1)[-1], "error": str(e), "requests": []}
        if as_json:
            print(json.dumps(m))
        else:
            show(m) if "error" not in m else print(f"=== {m['file']} ERROR {m['error']}")


if __name__ == "__main__":
    main()
