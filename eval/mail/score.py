#!/usr/bin/env python3
"""Score pixscan and its peers on hand-labelled real mail.

    score.py [--corpus DIR] [--pixscan BIN] [--shared DIR] [--show-errors] [--json OUT]

Labels: eval/mail/labels/*.jsonl, one line per message, each request keyed by
candidates.key(url) (a hash; no URL or mail text is kept in the project). The messages are
not in the project (CC BY-NC): point --corpus (or $PIXSCAN_MAIL_CORPUS) at the folder that
../shared/data/mail-dev/get.sh wrote. Without it the script says so and exits 0.

Scored: requests that load when a message is displayed (pixels, tracked images, CSS
trackers); tracked links are scored apart by pixscan's own tests. Metrics per tool:
  recall        labelled tracking requests the tool flags
  precision     flagged labelled requests that are tracking
  vendor right  labelled tracking requests with a known vendor that the tool flags and names right
  wrong names   flagged requests whose named vendor differs from the label (label null included)
  recipient ids labelled per-recipient requests the tool says carry the recipient's identity,
                and false claims on requests labelled campaign-wide
Peers, applied the way those tools do: MailTrackerBlocker (its regexes over the whole <img>
tag), Trocker (its open-tracker list, plus width/height <= 3 and hidden style on the img).
"""
import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import candidates  # noqa: E402

sys.path.insert(0, str(HERE.parent))
import jsonl  # noqa: E402

DISPLAY_KINDS = {"open-pixel", "tracked-image", "remote-image", "remote-resource", "beacon",
                 "ad-conversion", "css-tracker"}

# Vendor names that mean the same company in the labels, pixscan's rules and the peers' lists.
ALIASES = {
    "mandrill": "mailchimp", "mailchimpmandrill": "mailchimp", "intuitmailchimp": "mailchimp",
    "exacttarget": "salesforcemarketingcloud", "salesforcecom": "salesforce",
    "twittershorturl": "twitter", "bitly": "bitly",
    "sfmc": "salesforcemarketingcloud", "pardot": "salesforcepardot",
    "salesforcepardot": "salesforcepardot", "amazonses": "amazonses", "aws": "amazonses",
    "amazon": "amazonses", "sendinblue": "brevo", "twiliosendgrid": "sendgrid",
    "convertkit": "kit", "oracleeloqua": "eloqua", "oracle": "oracleresponsys",
    "responsys": "oracleresponsys", "adobe": "marketo", "adobemarketo": "marketo",
    "campaignmonitorcreatesend": "campaignmonitor", "createsend": "campaignmonitor",
    "hubspotsales": "hubspot", "sparkpostmessagebird": "sparkpost", "messagebird": "sparkpost",
    "ibmwatson": "acoustic", "silverpop": "acoustic", "sendpulse": "sendpulse",
    "zoho": "zohocampaigns", "zohocampaigns": "zohocampaigns", "egoi": "egoi",
    "rdstation": "rdstation", "locaweb": "locaweb",
    # One company, several product names.
    "adobeexperiencecloud": "adobe", "adobejourneyoptimizer": "adobe", "adobecampaign": "adobe",
    "adobeanalytics": "adobe", "alibabaclouddirectmail": "alibaba", "tunehasoffers": "tune",
}


def norm_vendor(v):
    if not v:
        return None
    k = re.sub(r"[^a-z0-9]", "", v.lower())
    return ALIASES.get(k, k)


def load_labels():
    return jsonl.load_labels(HERE / "labels", "file")


# ---- peers ----------------------------------------------------------------------------

def load_mtb(shared):
    text = (shared / "email-trackers/mailtrackerblocker/getTrackerDict.m.txt").read_text()
    text = re.sub(r"//[^\n]*", "", text)
    rules = []
    for m in re.finditer(r'@"((?:[^"\\]|\\.)*)"\s*:\s*@\[(.*?)\]', text, re.S):
        name = m.group(1)
        for r in re.findall(r'@"((?:[^"\\]|\\.)*)"', m.group(2)):
            pat = r.replace("\\\\", "\\")
            try:
                rules.append((name, re.compile(pat, re.I)))
            except re.error:
                pass
    return rules


def load_trocker(shared):
    text = (shared / "email-trackers/trocker/lists.js").read_text()
    start = text.index("openTrackers = [")
    end = text.index("];", start)
    block = text[start:end]
    out = []
    for m in re.finditer(r"name:\s*'([^']*)'.*?domains:\s*\[(.*?)\]", block, re.S):
        for d in re.findall(r"'([^']+)'", m.group(2)):
            out.append((m.group(1), d.lower()))
    return out


def px(v):
    if v is None:
        return None
    m = re.match(r"\s*(\d+)", str(v))
    return int(m.group(1)) if m else None


def style_px(style, prop):
    m = re.search(rf"(?:^|;|\s){prop}\s*:\s*(\d+)\s*(?:px)?\s*(?:;|$)", style or "", re.I)
    return int(m.group(1)) if m else None


def peer_mtb(req, rules):
    if req["tag"] != "img":
        return False, None
    for name, rx in rules:
        if rx.search(req["tag_text"]):
            return True, name
    return False, None


def peer_trocker(req, lst):
    if req["tag"] != "img":
        return False, None
    low = req["url"].lower()
    for name, d in lst:
        if d in low:
            return True, None  # Trocker shows a short code, not a vendor name
    w = px(req["width"]) if req["width"] is not None else style_px(req["style"], "width")
    h = px(req["height"]) if req["height"] is not None else style_px(req["style"], "height")
    if (w is not None and w <= 3) or (h is not None and h <= 3):
        return True, None
    if re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", req["style"] or "", re.I):
        return True, None
    return False, None


# ---- pixscan --------------------------------------------------------------------------

def run_pixscan(binary, paths, extra=()):
    """pixscan's findings by file name: {file: [finding...]}, and per-file errors."""
    out, errors = {}, {}
    for i in range(0, len(paths), 200):
        chunk = paths[i:i + 200]
        p = subprocess.run([binary, "eml", "--format", "json", "--no-config", *extra, *map(str, chunk)],
                           capture_output=True, text=True)
        doc = json.loads(p.stdout)
        for d in doc["documents"]:
            name = Path(d["source"]).name
            if d.get("error"):
                errors[name] = d["error"]
            out.setdefault(name, []).extend(d.get("findings", []))
    return out, errors


def index_findings(findings):
    by_key = {}
    for f in findings:
        if f.get("kind") not in DISPLAY_KINDS:
            continue
        for u in (f.get("raw_url"), f.get("url")):
            if u:
                by_key.setdefault(candidates.key(u), f)
                # Spaces written raw in the document come out percent-encoded in `url`.
                by_key.setdefault(candidates.key(unquote(u)), f)
    return by_key


def pixscan_verdict(f):
    if f is None:
        return False, None, None
    ids = (f.get("leaks") or {}).get("identifiers") or []
    recip = any(str(i.get("kind", "")).startswith("recipient") for i in ids)
    return bool(f.get("tracking")), f.get("entity"), recip


# ---- scoring --------------------------------------------------------------------------

class Tally:
    def __init__(self):
        self.tp = self.fp = self.fn = self.tn = 0
        self.vendor_known = self.vendor_right = self.wrong_names = 0
        self.recip_true = self.recip_found = self.recip_false_claims = 0
        self.errors = []

    def add(self, label, flagged, vendor, recip, where):
        t = bool(label["tracking"])
        if t and flagged:
            self.tp += 1
        elif t:
            self.fn += 1
            self.errors.append(("miss", where))
        elif flagged:
            self.fp += 1
            self.errors.append(("false-alarm", where))
        else:
            self.tn += 1
        lv = norm_vendor(label.get("vendor")) if t else None
        if t and lv:
            self.vendor_known += 1
            if flagged and norm_vendor(vendor) == lv:
                self.vendor_right += 1
            elif flagged and not vendor:
                self.errors.append((f"vendor-unnamed (label {label.get('vendor')!r})", where))
        if flagged and vendor and norm_vendor(vendor) != lv:
            self.wrong_names += 1
            self.errors.append((f"wrong-name {vendor!r} (label {label.get('vendor')!r})", where))
        if recip is not None and t:
            if label.get("per_recipient") is True:
                self.recip_true += 1
                if recip:
                    self.recip_found += 1
                else:
                    self.errors.append(("recipient-id-missed", where))
            elif label.get("per_recipient") is False and recip:
                self.recip_false_claims += 1
                self.errors.append(("false-recipient-claim", where))
        elif recip and not t:
            self.recip_false_claims += 1
            self.errors.append(("false-recipient-claim", where))

    def row(self, name, with_names=True, with_ids=True):
        rec = self.tp / max(1, self.tp + self.fn)
        prec = self.tp / max(1, self.tp + self.fp)
        cells = [name, f"{rec:.2f}", f"{prec:.2f}"]
        cells.append(f"{self.vendor_right / max(1, self.vendor_known):.2f}" if with_names else "—")
        cells.append(str(self.wrong_names) if with_names else "—")
        cells.append(f"{self.recip_found} of {self.recip_true} ({self.recip_false_claims} false)"
                     if with_ids else "—")
        return cells

    def as_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "errors"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("PIXSCAN_MAIL_CORPUS", str(ROOT.parent / "corpus/mail")))
    ap.add_argument("--pixscan", default=str(ROOT / "target/release/pixscan"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared/data"))
    ap.add_argument("--show-errors", action="store_true", help="list every pixscan error by class")
    ap.add_argument("--json", help="write the tallies as JSON here")
    ap.add_argument("--rules", action="append", default=[],
                    help="an extra rule file for pixscan (--rules), to try rules before they are built in")
    a = ap.parse_args()

    labels = load_labels()
    corpus = Path(a.corpus)
    present = [f for f in labels if (corpus / f).is_file()]
    if not present:
        print(f"skipped: no labelled message found under {corpus} (see eval/README.md)")
        return 0
    if not Path(a.pixscan).is_file():
        print(f"skipped: {a.pixscan} not built (cargo build --release)")
        return 0
    shared = Path(a.shared)
    have_peers = (shared / "email-trackers").is_dir()
    mtb = load_mtb(shared) if have_peers else []
    trocker = load_trocker(shared) if have_peers else []

    extra = [x for r in a.rules for x in ("--rules", str(Path(r).resolve()))]
    found, errors = run_pixscan(a.pixscan, [corpus / f for f in present], extra)
    tools = {"pixscan": Tally(), "MailTrackerBlocker": Tally(), "Trocker": Tally()}
    unmatched = []
    n_req = n_track = 0
    for f in present:
        lab = labels[f]
        cand = {r["key"]: r for r in candidates.scan(str(corpus / f))["requests"]}
        by_key = index_findings(found.get(f, []))
        for lr in lab["requests"]:
            c = cand.get(lr["key"])
            if c is None:
                continue  # the extractor changed since labelling; rescore after relabelling
            n_req += 1
            n_track += bool(lr["tracking"])
            where = f"{f} [{lr['key']}] {c['url'][:140]}"
            fnd = by_key.get(lr["key"]) or by_key.get(lr.get("inner_key") or c.get("inner_key") or "")
            flagged, vendor, recip = pixscan_verdict(fnd)
            tools["pixscan"].add(lr, flagged, vendor, recip if fnd else False, where)
            if have_peers:
                fl, v = peer_mtb(c, mtb)
                tools["MailTrackerBlocker"].add(lr, fl, v, None, where)
                fl, v = peer_trocker(c, trocker)
                tools["Trocker"].add(lr, fl, v, None, where)
        labelled = {lr["key"] for lr in lab["requests"]} | {lr.get("inner_key") for lr in lab["requests"]}
        for k, fnd in index_findings(found.get(f, [])).items():
            if fnd.get("tracking") and k not in labelled and candidates.key(fnd["url"]) == k:
                unmatched.append(f"{f} {fnd['kind']} {fnd['url'][:120]}")

    print(f"{len(present)} labelled messages, {n_req} display requests, {n_track} tracking; "
          f"{len(errors)} file error(s) from pixscan\n")
    print("| | recall | precision | vendor named right | wrong vendor names | per-recipient ids |")
    print("|---|---:|---:|---:|---:|---:|")
    print("| " + " | ".join(tools["pixscan"].row("pixscan")) + " |")
    if have_peers:
        print("| " + " | ".join(tools["MailTrackerBlocker"].row("MailTrackerBlocker's list", True, False)) + " |")
        print("| " + " | ".join(tools["Trocker"].row("Trocker", False, False)) + " |")
    else:
        print("(peers skipped: ../shared/data/email-trackers not found)")
    if unmatched:
        print(f"\n{len(unmatched)} pixscan tracking finding(s) on requests the labeller's extractor did not list")
    if a.show_errors:
        from collections import defaultdict
        groups = defaultdict(list)
        for cls, where in tools["pixscan"].errors:
            groups[cls.split(" ")[0]].append((cls, where))
        for cls, items in sorted(groups.items()):
            print(f"\n## {cls} ({len(items)})")
            for c, w in items:
                print(f"  {c if c != cls else ''} {w}")
        for u in unmatched:
            print(f"  unlabelled: {u}")
        for k, v in errors.items():
            print(f"  file error: {k}: {v}")
    if a.json:
        Path(a.json).write_text(json.dumps({k: t.as_dict() for k, t in tools.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
