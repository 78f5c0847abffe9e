#!/usr/bin/env python3
"""Convert third-party-web's entities.json into rules/entities.toml.

Usage (from the repository root):
    python3 scripts/convert_entities.py [path/to/entities.json]

Default input: ../shared/data/third-party-web/entities.json (relative to the repo root).
Output: rules/entities.toml, plus the dataset's licence copied to
rules/licenses/third-party-web.LICENSE (taken from the LICENSE file beside entities.json).

Python 3 standard library only. The output is deterministic: entities keep the order of the
source file (third-party-web sorts them by prevalence), fields are always written in the same
order, and nothing time-dependent is written.

Normalisation applied (and nothing else):
  * domains are lower-cased (hostnames are case-insensitive; the source has a few such as
    "*.Quinstreet.com") and de-duplicated within an entity, keeping first-seen order;
  * fields other than name/company/category/homepage/domains (examples, products,
    totalExecutionTime, totalOccurrences) are dropped;
  * names and companies that are UTF-8 read as Latin-1 ("StrÃ¶er") are decoded back;
  * the corrections in OVERRIDES below (hand-written from public facts about who owns which
    domain) are applied by entity name, and the entities in ADDED (mostly the parts split off
    an entity whose domains were too broad or not its own) are appended after the source's.
    Every override must still match the source (a renamed entity or a domain no longer
    listed stops the script), so an upgrade of third-party-web cannot silently skip one.
"""

import json
import os
import shutil
import sys
import tomllib

SOURCE_NAME = "third-party-web"
SOURCE_VERSION = "0.30.0"  # the version copied into ../shared (see ../shared/README.md)
SOURCE_URL = "https://github.com/patrickhulce/third-party-web"


# Corrections, keyed by entity name (after the mojibake fix). Keys: "drop" (domains to remove;
# each must be listed), "add" (domains to append), "name", "company", "category", "homepage"
# (replace the field). Each entry says why.
OVERRIDES = {
    # Microsoft's own sites, MSN, Bing search and Azure's CDN are not Bing Ads: keep only the
    # UET tag, cookie-sync and ad-request hosts and Microsoft Advertising's ad servers (the
    # rest: ADDED).
    "Bing Ads": {
        "company": "Microsoft",
        "drop": ["*.bing.com", "*.microsoft.com", "*.msn.com", "*.s-msft.com", "*.s-msn.com",
                 "*.msecnd.net"],
        "add": ["bat.bing.com", "c.bing.com", "g.bing.com", "c.msn.com", "rad.msn.com"],
    },
    "Azure Web Services": {"add": ["*.msecnd.net"]},  # Azure CDN endpoints (*.vo.msecnd.net)
    # ntv.io is Nativo's ad-serving domain, not Quantcast's.
    "Quantcast": {"drop": ["*.ntv.io"]},
    "Nativo": {"add": ["*.ntv.io"], "homepage": "https://www.nativo.com"},
    # AniView (video ads) and Limelight Networks (CDN) are not Tealium (split off: ADDED).
    "Tealium": {"drop": ["*.aniview.com", "*.delvenetworks.com", "*.limelight.com", "*.llnwd.net"]},
    # browsiprod.com is Browsi's (ad layout / viewability), not Yahoo's (split off: ADDED).
    "Yahoo! Ad Exchange": {"drop": ["*.browsiprod.com"]},
    # 01net.com is a French tech news site, not Smart AdServer's.
    "Smart AdServer": {"drop": ["*.01net.com"]},
    # Public suffixes / shared registrations: a whole country or registry zone, not a company.
    "Conversion Labs": {"drop": ["*.net.pl"]},
    "Meetrics": {"drop": ["*.de.com"]},
    # Apple's and HP's whole sites are not ad / marketing hosts.
    "Auto Link Maker": {"drop": ["*.apple.com"], "add": ["autolinkmaker.itunes.apple.com"]},
    "HP Optimost": {"drop": ["*.hp.com"]},
    # The Guardian's newspaper site is content; its Ophan analytics is "The Guardian".
    "Guardian Media": {"category": "content"},
    "The Guardian": {"add": ["ophan.theguardian.com"]},
    # quora.com is a Q&A site; the ad pixel is a.quora.com (script) and q.quora.com (beacon).
    "Quora Ads": {"drop": ["*.quora.com"], "add": ["a.quora.com", "q.quora.com"]},
    # eBay's marketplace and image hosts are content; rover.ebay.com is its partner-network
    # click tracker (the marketplace: ADDED "eBay Sites").
    "eBay": {"drop": ["*.ebay.com", "*.ebayimg.com"], "add": ["rover.ebay.com"]},
    # JW Player's player and video CDN are video hosting; jwpltx.com is its analytics ping
    # (the player: ADDED "JW Player").
    "LongTail Ad Solutions": {
        "company": "JW Player",
        "drop": ["*.jwpcdn.com", "*.jwplatform.com", "*.jwplayer.com", "*.longtailvideo.com"],
    },
    # Categories: the vendor's tags exist to measure or market to visitors.
    "OneSignal": {"category": "marketing"},      # web push subscriptions
    "New Relic": {"category": "analytics"},      # browser agent: real-user-monitoring beacons
    "Clarity": {"category": "analytics"},        # session recording and heatmaps
    "Forensiq": {"category": "ad"},              # ad-fraud verification tags
    "Revcontent": {"category": "ad"},            # native ad network
    "Arbor": {"category": "ad"},                 # LiveRamp's cookie-sync / data onboarding
    "freewheel.tv": {"company": "FreeWheel", "category": "ad", "homepage": "https://www.freewheel.com"},
    "Okta": {"category": "utility"},             # sign-in, not analytics
    "LoginRadius": {"category": "utility"},      # sign-in, not ads
    # Owners and missing vendor domains.
    "Infoline": {"company": "INFOnline", "homepage": "https://www.infonline.de",
                 "add": ["*.ivwbox.de", "*.iocnt.net"]},   # IVW / agof counting pixels
    "Ströer Digital Media": {"company": "Ströer", "homepage": "https://www.stroeer.de",
                             "add": ["*.stroeerdigitalgroup.de"]},
    "piano": {"company": "Piano", "homepage": "https://piano.io", "add": ["*.piano.io"]},
    "Cxense": {"company": "Piano"},              # acquired by Piano (2019)
    "AT Internet": {"add": ["*.pa-cd.com"]},     # Piano Analytics collection domain
    "Permutive": {"add": ["*.permutive.app"]},
    "Yandex Metrica": {"add": ["mc.yandex.by", "mc.yandex.kz", "mc.yandex.ua", "mc.yandex.com.tr",
                               "mc.webvisor.org"]},
    "Flipp": {"category": "ad", "add": ["*.flippback.com"]},   # digital circulars
    "Amazon Associates": {"add": ["*.assoc-amazon.com", "*.assoc-amazon.de", "*.assoc-amazon.co.uk",
                                  "rcm.amazon.com", "rcm-de.amazon.de", "rcm-uk.amazon.co.uk",
                                  "rcm-fr.amazon.fr"]},
    "Digital Window": {"company": "Awin", "add": ["*.dwin2.com"]},
    "affilinet": {"company": "Awin", "add": ["*.webmasterplan.com"]},
    "Rubicon Project": {"company": "Magnite"},
    "SpotXchange": {"company": "Magnite"},
}

# Entities appended after the source's, in this order (split off above, or an owner for
# domains dropped above). Names must not clash with a source entity or another rules file.
ADDED = [
    {"name": "Microsoft Sites", "company": "Microsoft", "category": "other",
     "homepage": "https://www.microsoft.com",
     "domains": ["*.microsoft.com", "*.s-microsoft.com", "*.s-msft.com"]},
    {"name": "MSN", "company": "Microsoft", "category": "content", "homepage": "https://www.msn.com",
     "domains": ["*.msn.com", "*.s-msn.com"]},
    {"name": "Bing", "company": "Microsoft", "category": "other", "homepage": "https://www.bing.com",
     "domains": ["*.bing.com"]},
    {"name": "AniView", "company": "AniView", "category": "ad", "homepage": "https://aniview.com",
     "domains": ["*.aniview.com"]},
    {"name": "Limelight Networks", "company": "Edgio", "category": "cdn",
     "homepage": "https://edg.io", "domains": ["*.limelight.com", "*.llnwd.net", "*.delvenetworks.com"]},
    {"name": "Browsi", "company": "Browsi", "category": "ad", "domains": ["*.browsiprod.com"]},
    {"name": "Quora", "company": "Quora", "category": "social", "homepage": "https://www.quora.com",
     "domains": ["*.quora.com"]},
    {"name": "eBay Sites", "company": "eBay", "category": "content", "homepage": "https://www.ebay.com",
     "domains": ["*.ebay.com", "*.ebayimg.com", "*.ebaystatic.com"]},
    {"name": "JW Player", "company": "JW Player", "category": "video",
     "homepage": "https://www.jwplayer.com",
     "domains": ["*.jwpcdn.com", "*.jwplatform.com", "*.jwplayer.com", "*.longtailvideo.com"]},
]

FIELDS = ("name", "company", "category", "homepage")


def fix_mojibake(s):
    """UTF-8 text that was read as Latin-1 ("StrÃ¶er" -> "Ströer"); anything else unchanged."""
    if not s or s.isascii():
        return s
    try:
        fixed = s.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return s
    return fixed


def norm_domains(domains):
    out = []
    for d in domains:
        d = d.strip().lower()
        if d and d not in out:
            out.append(d)
    return out


def corrected(entities):
    """The source entities as plain dicts (FIELDS + domains), with the mojibake fix,
    OVERRIDES and ADDED applied. Stops on an override that no longer matches the source."""
    out, by_name = [], {}
    for e in entities:
        r = {k: (fix_mojibake(e[k]) if k in ("name", "company") else e[k])
             for k in FIELDS if e.get(k)}
        r["domains"] = norm_domains(e.get("domains", []))
        if r["name"] in by_name:
            raise SystemExit(f"duplicate entity name in source: {r['name']!r}")
        by_name[r["name"]] = r
        out.append(r)
    for name, o in OVERRIDES.items():
        r = by_name.get(name)
        if r is None:
            raise SystemExit(f"override for {name!r}: no such entity in the source")
        for d in o.get("drop", []):
            if d not in r["domains"]:
                raise SystemExit(f"override for {name!r}: {d!r} is not among its domains")
            r["domains"].remove(d)
        for d in o.get("add", []):
            if d in r["domains"]:
                raise SystemExit(f"override for {name!r}: {d!r} is already among its domains")
            r["domains"].append(d)
        for k in FIELDS:
            if k in o:
                r[k] = o[k]
    for a in ADDED:
        if a["name"] in by_name:
            raise SystemExit(f"added entity {a['name']!r} clashes with a source entity")
        r = {k: a[k] for k in FIELDS if a.get(k)}
        r["domains"] = norm_domains(a["domains"])
        by_name[r["name"]] = r
        out.append(r)
    # A domain an override or addition touches may have one owner only: two would make the
    # answer depend on load order. (The source's own overlaps are left as they are.)
    touched = set(OVERRIDES) | {a["name"] for a in ADDED}
    owner = {}
    for r in out:
        for d in r["domains"]:
            o = owner.setdefault(d, r["name"])
            if o != r["name"] and (o in touched or r["name"] in touched):
                raise SystemExit(f"{d!r} is claimed by both {o!r} and {r['name']!r}")
    return out


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def toml_str(s):
    """A TOML basic string. json.dumps output is a valid TOML basic string as long as it
    has no escapes TOML lacks; JSON's escapes (\\" \\\\ \\b \\f \\n \\r \\t \\uXXXX) are all
    valid in TOML. ensure_ascii=False keeps non-ASCII text readable (TOML is UTF-8)."""
    if not isinstance(s, str):
        raise TypeError(f"expected a string, got {s!r}")
    return json.dumps(s, ensure_ascii=False)


def toml_str_array(items):
    return "[" + ", ".join(toml_str(x) for x in items) + "]"


def convert(rows):
    n_over = len(OVERRIDES)
    lines = [
        f"# GENERATED FILE - do not edit by hand. Regenerate with scripts/convert_entities.py.",
        f"# Source: {SOURCE_NAME} {SOURCE_VERSION} entities.json ({SOURCE_URL})",
        f"# Licence: MIT, Copyright (c) 2019 Patrick Hulce - see licenses/third-party-web.LICENSE",
        f"# {len(rows)} entities; domains lower-cased and de-duplicated, other fields dropped.",
        f"# Corrections (scripts/convert_entities.py): {n_over} entities overridden (misattributed or",
        f"# overly broad domains, categories, owners), {len(ADDED)} added at the end, mojibake names fixed.",
        "",
    ]
    for r in rows:
        lines.append("[[entity]]")
        lines.append(f"name = {toml_str(r['name'])}")
        if r.get("company"):
            lines.append(f"company = {toml_str(r['company'])}")
        lines.append(f"category = {toml_str(r['category'])}")
        if r.get("homepage"):
            lines.append(f"homepage = {toml_str(r['homepage'])}")
        lines.append(f"domains = {toml_str_array(r['domains'])}")
        lines.append("")
    return "\n".join(lines)


def main(argv):
    root = repo_root()
    src = argv[1] if len(argv) > 1 else os.path.join(
        root, "..", "shared", "data", "third-party-web", "entities.json")
    with open(src, encoding="utf-8") as f:
        entities = json.load(f)
    if not isinstance(entities, list):
        raise SystemExit(f"{src}: expected a JSON array of entities")

    rows = corrected(entities)
    # An added entity must not share a name with one in a hand-written rules file: the loader
    # would merge the two (e.g. mtb.toml's "Microsoft" is an email-marketing entity).
    rules_dir = os.path.join(root, "rules")
    for f in sorted(os.listdir(rules_dir)):
        if f.endswith(".toml") and f != "entities.toml":
            with open(os.path.join(rules_dir, f), "rb") as fh:
                names = {e.get("name") for e in tomllib.load(fh).get("entity", [])}
            for a in ADDED:
                if a["name"] in names:
                    raise SystemExit(f"added entity {a['name']!r} is also defined in rules/{f}")
    text = convert(rows)

    # Verify before writing: the result must parse and round-trip every entity.
    parsed = tomllib.loads(text)
    got = parsed.get("entity", [])
    if len(got) != len(rows):
        raise SystemExit(f"round-trip failed: {len(got)} entities parsed, {len(rows)} written")
    for e, g in zip(rows, got):
        for k in FIELDS + ("domains",):
            if (e.get(k) or None) != (g.get(k) or None):
                raise SystemExit(f"round-trip mismatch for {e['name']!r} field {k}")

    out = os.path.join(root, "rules", "entities.toml")
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

    lic_src = os.path.join(os.path.dirname(os.path.abspath(src)), "LICENSE")
    lic_dst = os.path.join(root, "rules", "licenses", "third-party-web.LICENSE")
    os.makedirs(os.path.dirname(lic_dst), exist_ok=True)
    if os.path.exists(lic_src):
        shutil.copyfile(lic_src, lic_dst)
    else:
        print(f"warning: no LICENSE beside {src}; {lic_dst} not updated", file=sys.stderr)

    print(f"wrote {out}: {len(rows)} entities ({len(entities)} from the source, {len(ADDED)} added, "
          f"{len(OVERRIDES)} overridden)")


if __name__ == "__main__":
    main(sys.argv)
