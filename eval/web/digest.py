#!/usr/bin/env python3
"""A compact digest of what a saved web page loads, for labelling by hand.

Written apart from pixscan on purpose (Python's `html.parser`): the labeller sees every
external resource and every inline script (shortened around the places that name a host or an
id), never pixscan's findings.

    digest.py PAGE.html...
"""
import re
import sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

URLISH = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s'"<>)\\]*""")
IDISH = re.compile(r"""\b(?:UA-\d{4,}-\d+|G-[A-Z0-9]{6,}|GTM-[A-Z0-9]{4,}|AW-\d{6,}|DC-\d{6,}|"""
                   r"""ca-pub-\d{10,}|pub-\d{10,})\b""")


class Digest(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ext = []  # (tag, attr, url, extra)
        self.inline = []
        self.hints = []
        self.in_script = False
        self.script_attrs = {}
        self.buf = []
        self.noscript = 0

    def handle_starttag(self, tag, attrs_list):
        a = {k.lower(): (v or "") for k, v in attrs_list}
        ns = " [in noscript]" if self.noscript else ""
        if tag == "noscript":
            self.noscript += 1
        if tag == "script":
            self.in_script = True
            self.script_attrs = a
            self.buf = []
            src = a.get("src") or a.get("data-src")
            if src:
                extra = " ".join(f"{k}={v[:40]}" for k, v in a.items() if k not in ("src",))
                self.ext.append(("script", "src" if a.get("src") else "data-src", src, extra[:160] + ns))
        elif tag in ("img", "iframe", "embed", "source", "video", "audio", "object", "input"):
            for attr in ("src", "data-src", "data", "data-lazy-src"):
                if a.get(attr):
                    extra = ""
                    if a.get("width") or a.get("height"):
                        extra += f" w={a.get('width')} h={a.get('height')}"
                    if "display:none" in a.get("style", "").replace(" ", ""):
                        extra += " style=display:none"
                    self.ext.append((tag, attr, a[attr], extra + ns))
        elif tag == "link":
            rel = a.get("rel", "").lower()
            if a.get("href"):
                if any(r in rel for r in ("preconnect", "dns-prefetch", "prefetch", "preload")):
                    self.hints.append((rel, a["href"]))
                elif "stylesheet" in rel:
                    self.ext.append(("link", "stylesheet", a["href"], ns))
        for k, v in a.items():
            if k.startswith("data-") and IDISH.search(v or ""):
                self.ext.append((tag, k, v[:120], "(id in data attribute)"))

    def handle_endtag(self, tag):
        if tag == "noscript" and self.noscript:
            self.noscript -= 1
        if tag == "script" and self.in_script:
            self.in_script = False
            text = "".join(self.buf).strip()
            typ = self.script_attrs.get("type", "")
            if text and not self.script_attrs.get("src"):
                self.inline.append((typ, self.script_attrs, text))

    def handle_data(self, data):
        if self.in_script:
            self.buf.append(data)


def shorten_script(text, limit=900):
    t = re.sub(r"\s+", " ", text)
    if len(t) <= limit:
        return t
    # Keep the start, and windows around every URL or id-looking string.
    spans = [(0, 300)]
    for m in list(URLISH.finditer(t))[:25] + list(IDISH.finditer(t))[:10]:
        spans.append((max(0, m.start() - 120), min(len(t), m.end() + 80)))
    spans.sort()
    merged = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    out = " … ".join(t[s:e] for s, e in merged)
    return out[:2500] + (f" …[{len(t)} chars]" if len(out) > 2500 else f" …[{len(t)} chars total]")


def host(u):
    if "//" not in u[:12]:
        return "(this site)"
    try:
        return urlsplit(u if not u.startswith("//") else "https:" + u).hostname or ""
    except ValueError:
        return ""


def digest(path):
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", "replace")
    d = Digest()
    try:
        d.feed(text)
        d.close()
    except Exception as e:
        print(f"  (parse stopped: {e})")
    site = path.rsplit("/", 1)[-1][: -len(".html")]
    print(f"##### {site}  ({len(raw)} bytes)")
    m = re.search(r'<link[^>]+rel=["\']canonical["\'][^>]*href=["\']([^"\']+)', text, re.I)
    if m:
        print(f"  canonical: {m.group(1)[:120]}")
    print("  -- external resources (tag attr url):")
    seen = set()
    imgs_by_host = {}
    for tag, attr, url, extra in d.ext:
        if tag == "img" and "noscript" not in extra and not re.search(r"w=[0-3]\b|h=[0-3]\b", extra):
            h = host(url)
            imgs_by_host[h] = imgs_by_host.get(h, 0) + 1
            if imgs_by_host[h] > 2:
                continue
        k = (tag, url)
        if k in seen:
            continue
        seen.add(k)
        print(f"   {tag} {attr} {url[:220]} {extra}")
    many = {h: n for h, n in imgs_by_host.items() if n > 2}
    if many:
        print(f"   (more ordinary <img> per host, not listed: {many})")
    if d.hints:
        print("  -- resource hints (not loads): " + ", ".join(f"{r}:{host(u) or u[:60]}" for r, u in d.hints[:15]))
    print(f"  -- inline scripts ({len(d.inline)}):")
    for typ, attrs, body in d.inline:
        if typ and ("json" in typ or "template" in typ or "html" in typ):
            if not (URLISH.search(body) or IDISH.search(body)):
                continue
        a = " ".join(f"{k}={v[:30]}" for k, v in attrs.items())
        print(f"   <script {a}> {shorten_script(body)}")
    print()


def main():
    for p in sys.argv[1:]:
        try:
            digest(p)
        except Exception as e:
            print(f"##### {p} ERROR {e}\n")


if __name__ == "__main__":
    main()
