#!/usr/bin/env python3
"""Score pixscan and a filter-list peer on hand-labelled real web pages.

    score.py [--pages DIR] [--pixscan BIN] [--lists DIR] [--show-errors [pixscan|peer]] [--json OUT]

Labels: eval/web/labels/*.jsonl, one line per saved page: the tracker companies it loads
(third-party-web names where known), the account ids it uses with them, how it loads them,
and video/social embeds apart (see WEB_LABELLING.md beside the corpus). The pages are other
people's content and are not in the project: point --pages (or $PIXSCAN_WEB_CORPUS) at the
folder that ../shared/data/web-dev/get.sh wrote. Without it the script says so and exits 0.

pixscan is run once in folder mode (`pixscan site DIR --format json`) on a temporary copy of
the labelled pages. Scored per page, summed over pages, companies compared by name:
  companies named   labelled tracker companies that the tool names on a tracking finding of
                    that page; also without labels whose only way in is the site's own loader
                    config (how == "site-loader-config": JSON handed to a site script, which
                    no static reader is expected to follow)
  names right       of the companies the tool names on tracking findings, the share the page's
                    labels list (trackers or embeds)
  account ids found labelled account ids that the tool reports as a finding's `account`, or
                    that stand in a finding's URL or evidence (ids shorter than 4 characters:
                    `account` only)
  site images flagged  tracking findings on <img> whose host belongs to no labelled company
                    (the site's own photos and icons judged to be beacons), "N on M pages"
  page errors       pages the tool could not scan
Tracking findings: tracking == true or kind tracker-script/beacon/ad-conversion, less
dns-prefetch hints and tracked links (not loads, per the labelling guide; counted apart).

Peer, "a plain filter-list scan that also reads URLs handed to loaders in inline scripts":
every src/href of script, img, iframe and stylesheet link (also inside <noscript>), plus
absolute or protocol-relative URLs that inline scripts assign to .src, write as src=…, pass
after 'script' in the usual loader snippets, or hold as '…/x.js' string literals; resolved
against the page's canonical URL; kept when EasyList + EasyPrivacy block them (adblock-rust
through the braveblock package, or a small built-in ||domain^ matcher without it); named by
the third-party-web entity map (lookup.py); account ids by regex in the blocked URLs (UA-,
G-, GTM-, AW-, DC-, ca-pub-, pub-). The lists are not in the project (GPL / CC BY-SA):
--lists (default ../corpus/lists) must hold easylist.txt and easyprivacy.txt, else the
peer is skipped.
"""
import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
import lookup  # noqa: E402

sys.path.insert(0, str(HERE.parent))
import jsonl  # noqa: E402

TRACK_KINDS = {"tracker-script", "beacon", "ad-conversion"}
NOT_LOADS = {"dns-prefetch", "tracked-link"}

# Names that mean the same company in the labels, pixscan's entity map and the peer's
# (keys and values are normalised: see norm()).
ALIASES = {
    "meta": "facebook", "metaplatforms": "facebook", "metapixel": "facebook",
    "scorecardresearch": "comscore",
    "infonline": "infoline", "ivw": "infoline",
    "amazonads": "amazon", "amazonadvertising": "amazon",
    "linkedinads": "linkedin",
    "x": "twitter", "xcorp": "twitter",
    "innocraft": "matomo", "matomoanalytics": "matomo",
    "adobesystems": "adobe",
    "stroerdigitalmedia": "stroer", "straerdigitalmedia": "stroer",  # upstream mojibake "StrÃ¶er"
    "gravatar": "automattic",
    "longtailadsolutions": "jwplayer",
    "wemf": "netmetrix",
}

# Hosts that third-party-web does not know, owned by companies that occur in the labels: only
# used to tell a labelled company's unnamed request from a site's own image.
HOST_COMPANIES = {
    "vgwort.de": "VG Wort", "wemfbox.ch": "NET-Metrix", "ivwbox.de": "Infoline",
    "iocnt.net": "Infoline", "cleverpush.com": "CleverPush", "adnz.co": "Audienzz",
    "d5nxst8fruw4z.cloudfront.net": "Alexa", "stroeerdigitalgroup.de": "Ströer",
    "glam.com": "Glam Media", "flippback.com": "Flipp", "htlbid.com": "Hashtag Labs",
    "adup-tech.com": "AdUp Technology", "gospringboard.io": "Jackson River", "bf-ad.net": "BurdaForward",
}
# Words in a URL that tell whose request it is (self-hosted analytics under an old name).
URL_HINTS = {"piwik": "matomo"}
# Shared infrastructure: owning the host says nothing about who tracks through it.
INFRA_CATEGORIES = {"cdn", "hosting"}
INFRA_ENTITIES = {"Amazon CloudFront", "Amazon Web Services", "Akamai"}
WAYBACK = re.compile(r"^https?://web\.archive\.org/web/\d+[a-z_]*/(.+)$", re.I)

ID_RX = re.compile(r"(?<![A-Za-z0-9-])(UA-\d{4,}-\d+|G-[A-Z0-9]{6,}|GTM-[A-Z0-9]{4,}|AW-\d{6,}|"
                   r"DC-\d{6,}|ca-pub-\d{10,}|pub-\d{10,})(?![A-Za-z0-9])")


def norm(name):
    if not name:
        return None
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    k = re.sub(r"[^a-z0-9]", "", s)
    return ALIASES.get(k, k) or None


class LabelCo:
    """One labelled company (tracker or embed) and how to recognise it."""

    def __init__(self, name, entry=None):
        self.name = name
        self.entry = entry or {}
        paren = " ".join(re.findall(r"\(([^)]*)\)", name))
        self.key = norm(re.sub(r"\s*\([^)]*\)", "", name))
        self.self_hosted = "self-hosted" in paren.lower()
        self.domains = [d.lower() for d in re.findall(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", paren)]
        self.how = self.entry.get("how", "")
        self.accounts = [str(a) for a in self.entry.get("accounts") or []]

    def matches(self, keys, host=""):
        if self.key and self.key in keys:
            return True
        if self.self_hosted and self.key and any(self.key in k for k in keys if k):
            return True
        host = (host or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def owns(self, f):
        """Whether request f is this company's, named or not (host maps, Wayback-wrapped
        URLs, the company's name in the URL): to tell a missed name from a site image."""
        hosts = [f.get("host") or "", host_of(inner_url(f.get("url") or ""))]
        keys = finding_keys(f) | {k for h in hosts for k in host_keys(h)}
        url = (f.get("url") or "").lower()
        keys |= {v for k, v in URL_HINTS.items() if k in url}
        if any(self.matches(keys, h) for h in hosts):
            return "host"
        if self.key and len(self.key) >= 6 and self.key in re.sub(r"[^a-z0-9]", "", url):
            return "name in URL"
        return ""


# ---- company names of a finding or host -------------------------------------------------

ENTITIES = None


def host_keys(host):
    """Names of whoever owns `host`: third-party-web map, then HOST_COMPANIES."""
    global ENTITIES
    if ENTITIES is None:
        ENTITIES = lookup.load()
    keys = set()
    e = lookup.find(host or "", *ENTITIES) if host else None
    if e and e.get("category") not in INFRA_CATEGORIES and e["name"] not in INFRA_ENTITIES:
        keys |= {norm(e["name"]), norm(e.get("company"))}
    h = (host or "").lower()
    for d, c in HOST_COMPANIES.items():
        if h == d or h.endswith("." + d):
            keys.add(norm(c))
    keys.discard(None)
    return keys


def finding_keys(f):
    return {k for k in (norm(f.get("company")), norm(f.get("entity"))) if k}


def inner_url(url):
    """The original URL inside a Wayback Machine copy's rewritten one, else ''."""
    m = WAYBACK.match(url or "")
    return m.group(1) if m else ""


def display_name(f):
    return f.get("company") or f.get("entity")


def is_tracking_load(f):
    return (bool(f.get("tracking")) or f.get("kind") in TRACK_KINDS) and f.get("kind") not in NOT_LOADS


def load_labels():
    return jsonl.load_labels(HERE / "labels", "site")


# ---- pixscan ----------------------------------------------------------------------------

def run_pixscan(binary, pages, sites, extra=()):
    """pixscan's findings by site, and page errors, from one folder-mode run."""
    with tempfile.TemporaryDirectory(prefix="pixscan-web-") as tmp:
        tmp = Path(tmp)
        scan = tmp / "pages"
        scan.mkdir()
        for s in sites:  # a copy: folder mode does not follow symlinks
            shutil.copyfile(pages / f"{s}.html", scan / f"{s}.html")
        # cwd = the temp dir, so that no pixscan.toml of the caller's is picked up.
        p = subprocess.run([binary, "site", str(scan), "--format", "json", "--no-progress", *extra],
                           capture_output=True, text=True, cwd=tmp)
        if p.returncode not in (0, 1, 2) or not p.stdout.strip():
            sys.exit(f"pixscan failed (exit {p.returncode}): {p.stderr.strip()[:2000]}")
        try:
            doc = json.loads(p.stdout)
        except json.JSONDecodeError as e:
            sys.exit(f"pixscan's JSON did not parse ({e}); stderr: {p.stderr.strip()[:1000]}")
    found, errors = {}, {}
    for d in doc.get("documents", []):
        name = Path(d["source"]).name
        site = name[:-5] if name.endswith(".html") else name
        if d.get("error"):
            errors[site] = d["error"]
        found.setdefault(site, []).extend(d.get("findings") or [])
    for s in sites:
        if s not in found and s not in errors:
            errors[s] = "no document in pixscan's report"
    return found, errors


# ---- peer: filter lists over the page's elements and inline loaders ----------------------

class SimpleMatcher:
    """Fallback when adblock-rust is not installed: ||domain^ rules, plain substrings and
    $third-party / resource-type options; exceptions (@@) of the same shapes."""

    TYPES = {"script": "script", "image": "image", "sub_frame": "subdocument",
             "stylesheet": "stylesheet"}

    def __init__(self, lines):
        self.block, self.allow = defaultdict(list), defaultdict(list)  # token -> [(rx, opts)]
        for ln in lines:
            ln = ln.strip()
            if not ln or ln.startswith(("!", "[")) or "##" in ln or "#@#" in ln or "#?#" in ln:
                continue
            allow = ln.startswith("@@")
            if allow:
                ln = ln[2:]
            pat, _, opts = ln.partition("$")
            o = {x.strip() for x in opts.split(",") if x.strip()}
            if any(x.startswith(("redirect", "csp", "removeparam", "rewrite")) for x in o):
                continue
            if pat.startswith("/") and pat.endswith("/") and len(pat) > 2:
                continue  # regex rules: skipped
            if not pat or pat in ("*", "|", "||"):
                continue
            (self.allow if allow else self.block)[self.token(pat)].append((pat, frozenset(o)))

    @staticmethod
    def token(pat):
        """The longest word of the rule that must stand whole in a matching URL (bounded by
        separators or anchors, not by a wildcard), to look rules up by; "" for none."""
        best = ""
        for m in re.finditer(r"[a-z0-9%]{2,}", pat.lower()):
            a, b = m.start(), m.end()
            left = pat[a - 1] if a else ""   # "" (unanchored start) or "*": a word may go on
            right = pat[b] if b < len(pat) else ""
            if left not in ("", "*") and right not in ("", "*") and len(m.group()) > len(best):
                best = m.group()
        return best

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def compile(pat):
        anchor_dom = pat.startswith("||")
        p = pat[2:] if anchor_dom else pat.lstrip("|")
        start = pat.startswith("|") and not anchor_dom
        end = p.endswith("|")
        p = p.rstrip("|")
        rx = ""
        for ch in p:
            rx += {"*": ".*", "^": r"(?:[^A-Za-z0-9_.%-]|$)"}.get(ch, re.escape(ch))
        if anchor_dom:
            rx = r"^[a-z]+://(?:[^/?#]*\.)?" + rx
        elif start:
            rx = "^" + rx
        if end:
            rx += "$"
        try:
            return re.compile(rx, re.I)
        except re.error:
            return None

    def ok(self, o, typ, third, source_host):
        for x in o:
            if x.startswith("domain="):
                doms = x[7:].split("|")
                pos = [d for d in doms if not d.startswith("~")]
                neg = [d[1:] for d in doms if d.startswith("~")]

                def on(d):
                    return source_host == d or source_host.endswith("." + d)
                if (pos and not any(on(d) for d in pos)) or any(on(d) for d in neg):
                    return False
        if "third-party" in o or "3p" in o:
            if not third:
                return False
        if "~third-party" in o or "1p" in o or "first-party" in o:
            if third:
                return False
        t = self.TYPES.get(typ, typ)
        pos = {x for x in o if x in ("script", "image", "subdocument", "stylesheet", "xmlhttprequest",
                                      "object", "ping", "media", "font", "other", "websocket")}
        neg = {x[1:] for x in o if x.startswith("~") and "=" not in x}
        if pos and t not in pos:
            return False
        return t not in neg

    def check_network_urls(self, url, source_url, request_type):
        src = host_of(source_url)
        third = reg_domain(host_of(url)) != reg_domain(src)
        toks = set(re.findall(r"[a-z0-9%]{2,}", url.lower())) | {""}

        def hit(index):
            for t in toks:
                for pat, o in index.get(t, ()):
                    rx = self.compile(pat)
                    if rx is not None and rx.search(url) and self.ok(o, request_type, third, src):
                        return True
            return False
        return hit(self.block) and not hit(self.allow)


def host_of(url):
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def reg_domain(host):
    parts = host.split(".")
    n = 3 if len(parts) > 2 and len(parts[-2]) <= 3 and len(parts[-1]) == 2 else 2
    return ".".join(parts[-n:])


def load_filter_engine(lists_dir):
    files = [lists_dir / "easylist.txt", lists_dir / "easyprivacy.txt"]
    if not all(f.is_file() for f in files):
        return None, None
    lines = []
    for f in files:
        lines += f.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        import braveblock
        return braveblock.Adblocker(rules=lines, include_easylist=False, include_easyprivacy=False), \
            "adblock-rust (braveblock)"
    except ImportError:
        return SimpleMatcher(lines), "built-in ||domain^ matcher (pip install braveblock for adblock-rust)"


class PageRefs(HTMLParser):
    """src/href of script, img, iframe and stylesheet links; inline script text; canonical."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs = []  # (element, url)
        self.inline = []
        self.canonical = None
        self.og_url = None
        self._script = None

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "script":
            if a.get("src"):
                self.refs.append(("script", a["src"]))
                self._script = None
            else:
                typ = a.get("type", "").lower()
                self._script = None if ("json" in typ or "template" in typ or "html" in typ) else []
        elif tag in ("img", "iframe") and a.get("src"):
            self.refs.append((tag, a["src"]))
        elif tag == "link":
            rel = a.get("rel", "").lower().split()
            if "stylesheet" in rel and a.get("href"):
                self.refs.append(("link", a["href"]))
            if "canonical" in rel and a.get("href") and not self.canonical:
                self.canonical = a["href"]
        elif tag == "meta" and a.get("property", "").lower() == "og:url" and a.get("content"):
            self.og_url = self.og_url or a["content"]

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.inline.append("".join(self._script))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)


ABS = r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?(?:/[^'\"\s\\<>]*)?"
INLINE_RX = [
    re.compile(r"\.src\s*=\s*(['\"])(" + ABS + r")\1"),                       # x.src = '//…'
    re.compile(r"\bsrc\s*=\s*\\?(['\"]?)(" + ABS + r")"),                     # '<script src="…'
    re.compile(r"['\"]script['\"]\s*,\s*(['\"])(" + ABS + r")\1"),           # (w,d,'script','//…')
    re.compile(r"(['\"])((?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}/[^'\"\s]*?\.js(?:\?[^'\"\s]*)?)\1"),
]
IMG_EXT = re.compile(r"\.(?:gif|png|jpe?g|webp|svg)(?:[?#]|$)", re.I)


def inline_refs(text):
    text = text.replace("\\/", "/")
    out = []
    for rx in INLINE_RX:
        for m in rx.finditer(text):
            url = m.group(2)
            before = text[max(0, m.start() - 160):m.start()].lower()
            if "<img" in before[-80:] or "image(" in before or IMG_EXT.search(url):
                el = "img"
            elif "<iframe" in before[-80:] or "'iframe'" in before or '"iframe"' in before:
                el = "iframe"
            else:
                el = "script"
            out.append((el, url))
    return out


REQ_TYPE = {"script": "script", "img": "image", "iframe": "sub_frame", "link": "stylesheet"}


def page_base(refs, site):
    for u in (refs.canonical, refs.og_url):
        if u and u.startswith(("http://", "https://")):
            return u
    if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", site):
        return f"https://{site}/"
    return "https://localhost/"


def peer_scan(path, site, engine):
    """Pseudo-findings, shaped like pixscan's, for the URLs the lists block."""
    refs = PageRefs()
    refs.feed(path.read_bytes().decode("utf-8", "replace"))
    refs.close()
    base = page_base(refs, site)
    cands = list(refs.refs)
    for t in refs.inline:
        cands += inline_refs(t)
    out, seen = [], set()
    for el, raw in cands:
        raw = raw.strip()
        if not raw or raw.startswith(("data:", "javascript:", "about:", "blob:", "#")):
            continue
        try:
            url = urljoin(base, raw)
        except ValueError:
            continue
        if not url.startswith(("http://", "https://")) or (el, url) in seen:
            continue
        seen.add((el, url))
        if not engine.check_network_urls(url, base, REQ_TYPE[el]):
            continue
        h = host_of(url)
        e = lookup.find(h, *ENTITIES) if h else None
        ids = ID_RX.findall(url)
        out.append({"url": url, "host": h, "element": el, "kind": "blocked", "tracking": True,
                    "entity": e["name"] if e else None, "company": e.get("company") if e else None,
                    "account": ",".join(dict.fromkeys(ids)) or None, "evidence": []})
    return out


# ---- scoring ------------------------------------------------------------------------------

def id_in_finding(acc, f):
    a = acc.lower()
    for part in re.split(r"[\s,;|]+", str(f.get("account") or "").lower()):
        if part and (part == a or (len(a) >= 4 and a in part)):
            return True
    if len(a) < 4:
        return False
    rx = re.compile(r"(?<![a-z0-9])" + re.escape(a) + r"(?![a-z0-9])")
    hay = " ".join([f.get("url") or "", f.get("raw_url") or ""] + [str(x) for x in f.get("evidence") or []])
    return bool(rx.search(hay.lower()))


def id_shape(acc):
    for rx, name in ((r"UA-", "UA-"), (r"G-", "G-"), (r"GTM-", "GTM-"), (r"AW-", "AW-"),
                     (r"ca-pub-|pub-", "pub-"), (r"\d+$", "digits"), (r"[0-9a-f]{16,}$", "hex")):
        if re.match(rx, acc, re.I):
            return name
    return "other"


class Tally:
    def __init__(self):
        self.labelled = self.named = 0
        self.labelled_static = self.named_static = 0
        self.names = self.names_right = 0
        self.ids = self.ids_found = 0
        self.img_flags = 0
        self.img_pages = set()
        self.page_errors = 0
        self.hint_names = 0
        self.errors = []  # (class, site, text)

    def row(self, name):
        def frac(a, b):
            return f"{a / b:.2f} ({a} of {b})" if b else "—"
        return [name, frac(self.named, self.labelled), frac(self.named_static, self.labelled_static),
                frac(self.names_right, self.names), frac(self.ids_found, self.ids),
                f"{self.img_flags} on {len(self.img_pages)} pages", str(self.page_errors)]

    def as_dict(self):
        d = {k: v for k, v in self.__dict__.items() if k not in ("errors", "img_pages")}
        d["img_pages"] = len(self.img_pages)
        return d


def score_page(t, site, lab, findings, other=None, other_name=""):
    """Add one page to tally t. `other`: the other tool's findings, for hints in errors."""
    trackers = [LabelCo(x["company"], x) for x in lab.get("trackers", [])]
    known = trackers + [LabelCo(e) for e in lab.get("embeds", [])]
    loads = [f for f in findings if is_tracking_load(f)]
    t.hint_names += len({display_name(f) for f in findings
                         if f.get("kind") in NOT_LOADS and f.get("tracking") and display_name(f)})

    # companies named
    for lc in trackers:
        hit = any(lc.matches(finding_keys(f), f.get("host")) for f in loads)
        static = lc.how != "site-loader-config"
        t.labelled += 1
        t.named += hit
        t.labelled_static += static
        t.named_static += hit and static
        if hit:
            continue
        unnamed = [f for f in loads if lc.owns(f)]
        seen = [f for f in findings if not is_tracking_load(f) and f.get("kind") not in NOT_LOADS
                and f.get("category") not in INFRA_CATEGORIES and lc.owns(f)]
        def how_seen(f):
            tags = [f"{f.get('kind')} <{f.get('element')}>"]
            if inner_url(f.get("url")):
                tags.append("inside a Wayback URL")
            if lc.owns(f) == "name in URL":
                tags.append("name in URL")
            return "; ".join(tags)
        if unnamed:
            f = unnamed[0]
            named_as = f"named {display_name(f)}" if finding_keys(f) else "unnamed"
            why, host = f"flagged, {named_as} ({how_seen(f)})", f.get("host")
        elif seen:
            f = seen[0]
            why, host = f"seen, not tracking ({how_seen(f)})", f.get("host")
        else:
            why, host = "not seen", "-"
        if other is not None:
            ph = [f.get("host") for f in other
                  if is_tracking_load(f) and lc.matches(finding_keys(f), f.get("host"))]
            if ph:
                why += f"; {other_name} names it"
                host = host if host != "-" else ph[0]
        t.errors.append(("company missed", site, f"{lc.name} [how: {lc.how}] {why} · host {host}"))

    # names right
    by_name = defaultdict(list)
    for f in loads:
        if finding_keys(f):
            by_name[norm(display_name(f))].append(f)
    for key, fs in by_name.items():
        t.names += 1
        keys = set().union(*(finding_keys(f) for f in fs))
        if any(lc.matches(keys, f.get("host")) for lc in known for f in fs):
            t.names_right += 1
        else:
            hosts = sorted({f.get("host") or "" for f in fs})
            kinds = sorted({f"{f.get('kind')} <{f.get('element')}>" for f in fs})
            t.errors.append(("wrong name", site, f"{display_name(fs[0])} ({', '.join(kinds)}) · host "
                             + ", ".join(hosts[:4]) + (" …" if len(hosts) > 4 else "")))

    # account ids
    for lc in trackers:
        for acc in dict.fromkeys(lc.accounts):
            t.ids += 1
            if any(id_in_finding(acc, f) for f in findings):
                t.ids_found += 1
            else:
                hosts = sorted({f.get("host") or "" for f in loads
                                if lc.matches(finding_keys(f), f.get("host"))})
                where = f"company named, host {', '.join(hosts[:3])}" if hosts else "company not named"
                t.errors.append(("account missed", site, f"{lc.name} {acc} ({id_shape(acc)}) · {where}"))
    labelled_ids = {a.lower() for lc in trackers for a in lc.accounts}
    for f in loads:
        for part in re.split(r"[\s,;|]+", str(f.get("account") or "")):
            p = part.lower()
            if p and p not in labelled_ids and not any(a in p for a in labelled_ids if len(a) >= 4):
                t.errors.append(("account not in labels", site,
                                 f"{display_name(f)} {part} · host {f.get('host')}"))

    # site images flagged
    imgs = defaultdict(list)
    for f in loads:
        if f.get("element") != "img":
            continue
        if not any(lc.owns(f) for lc in known):
            imgs[f.get("host")].append(f)
    for host, fs in imgs.items():
        t.img_flags += len(fs)
        t.img_pages.add(site)
        f = fs[0]
        t.errors.append(("flagged image", site, f"{host} ×{len(fs)} ({f.get('kind')}, "
                         f"{display_name(f) or 'unnamed'}) e.g. {(f.get('url') or '')[:110]}"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", default=os.environ.get("PIXSCAN_WEB_CORPUS", str(ROOT.parent / "corpus/web")))
    ap.add_argument("--pixscan", default=str(ROOT / "target/release/pixscan"))
    ap.add_argument("--lists", default=str(ROOT.parent / "corpus/lists"),
                    help="folder with easylist.txt and easyprivacy.txt, for the peer")
    ap.add_argument("--show-errors", nargs="?", const="pixscan", choices=["pixscan", "peer"],
                    help="list every miss by class (pixscan's by default, or the peer's)")
    ap.add_argument("--json", help="write the tallies as JSON here")
    ap.add_argument("--rules", action="append", default=[],
                    help="an extra rule file for pixscan (--rules), to try rules before they are built in")
    a = ap.parse_args()

    labels = load_labels()
    pages = Path(a.pages)
    present = [s for s in labels if (pages / f"{s}.html").is_file()]
    if not present:
        print(f"skipped: no labelled page found under {pages} (see eval/README.md)")
        return 0
    if not Path(a.pixscan).is_file():
        print(f"skipped: {a.pixscan} not built (cargo build --release)")
        return 0

    global ENTITIES
    ENTITIES = lookup.load()
    extra = [x for r in a.rules for x in ("--rules", str(Path(r).resolve()))]
    found, errors = run_pixscan(a.pixscan, pages, present, extra)
    engine, engine_name = load_filter_engine(Path(a.lists))

    tools = {"pixscan": Tally()}
    peer_found = {}
    if engine:
        tools["peer"] = Tally()
        for s in present:
            try:
                peer_found[s] = peer_scan(pages / f"{s}.html", s, engine)
            except Exception as e:  # noqa: BLE001 - a page the peer can't read is its error
                peer_found[s] = []
                tools["peer"].page_errors += 1
                tools["peer"].errors.append(("page error", s, str(e)[:200]))

    for s in present:
        lab = labels[s]
        if s in errors:
            tools["pixscan"].page_errors += 1
            tools["pixscan"].errors.append(("page error", s, errors[s]))
        score_page(tools["pixscan"], s, lab, found.get(s, []), peer_found.get(s) if engine else None,
                   "the peer")
        if engine:
            score_page(tools["peer"], s, lab, peer_found[s], found.get(s, []), "pixscan")

    n_co = tools["pixscan"].labelled
    n_static = tools["pixscan"].labelled_static
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(Path(a.pixscan).stat().st_mtime))
    print(f"{len(present)} labelled pages of {len(labels)} found under {pages}; {n_co} labelled tracker "
          f"companies ({n_co - n_static} only via site-loader-config), {tools['pixscan'].ids} account ids; "
          f"pixscan binary built {built}\n")
    print("| | companies named | … not counting site-loader-config | names right | account ids found "
          "| site images flagged | page errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("| " + " | ".join(tools["pixscan"].row("pixscan")) + " |")
    if engine:
        print("| " + " | ".join(tools["peer"].row("EasyList+EasyPrivacy, elements + inline loaders")) + " |")
        print(f"\npeer matcher: {engine_name}; lists from {a.lists}")
    else:
        print(f"\n(peer skipped: easylist.txt and easyprivacy.txt not found in {a.lists})")
    if tools["pixscan"].hint_names:
        print(f"pixscan also names {tools['pixscan'].hint_names} page×company pair(s) on dns-prefetch hints "
              "or links marked tracking: not loads, left out above")

    if a.show_errors:
        t = tools.get(a.show_errors)
        if t is None:
            print("\n(no peer errors: the peer was skipped)")
        else:
            groups = defaultdict(list)
            for cls, site, text in t.errors:
                groups[cls].append((site, text))
            order = ["company missed", "wrong name", "account missed", "flagged image",
                     "account not in labels", "page error"]
            for cls in sorted(groups, key=lambda c: order.index(c) if c in order else 99):
                items = groups[cls]
                print(f"\n## {a.show_errors}: {cls} ({len(items)})")
                if cls == "company missed":
                    why = Counter(re.sub(r", named [^;]*", ", named otherwise",
                                         re.sub(r" \(.*?\)", "", x.split("] ", 1)[1].split(" · ")[0]))
                                  for _, x in items)
                    print("  by reason: " + ", ".join(f"{k} {v}" for k, v in why.most_common()))
                    hows = Counter(re.search(r"\[how: ([^\]]*)\]", x).group(1) for _, x in items)
                    print("  by how: " + ", ".join(f"{k} {v}" for k, v in hows.most_common(12)))
                if cls == "account missed":
                    print("  by id shape: " + ", ".join(f"{k} {v}" for k, v in Counter(
                        re.search(r"\((\S+)\) ·", x).group(1) for _, x in items).most_common()))
                    print("  " + ", ".join(f"{k} {v}" for k, v in Counter(
                        x.split(" · ")[1].split(",")[0] for _, x in items).most_common()))
                if cls in ("wrong name", "company missed", "account not in labels", "account missed"):
                    who = Counter(x.split(" [")[0].split(" (")[0] if cls in ("wrong name", "company missed")
                                  else x.split(" · ")[0].rsplit(" ", 2)[0] if cls == "account missed"
                                  else x.split(" ")[0] for _, x in items)
                    print("  by company: " + ", ".join(f"{k} {v}" for k, v in who.most_common(15)))
                for site, text in items:
                    print(f"  {site}  {text}")
    if a.json:
        Path(a.json).write_text(json.dumps({k: t.as_dict() for k, t in tools.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
