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
    totalExecutionTime, totalOccurrences) are dropped.
"""

import json
import os
import shutil
import sys
import tomllib

SOURCE_NAME = "third-party-web"
SOURCE_VERSION = "0.30.0"  # the version copied into ../shared (see ../shared/README.md)
SOURCE_URL = "https://github.com/patrickhulce/third-party-web"


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


def convert(entities):
    lines = [
        f"# GENERATED FILE - do not edit by hand. Regenerate with scripts/convert_entities.py.",
        f"# Source: {SOURCE_NAME} {SOURCE_VERSION} entities.json ({SOURCE_URL})",
        f"# Licence: MIT, Copyright (c) 2019 Patrick Hulce - see licenses/third-party-web.LICENSE",
        f"# {len(entities)} entities; domains lower-cased and de-duplicated, other fields dropped.",
        "",
    ]
    seen_names = set()
    for e in entities:
        name = e["name"]
        if name in seen_names:
            raise SystemExit(f"duplicate entity name in source: {name!r}")
        seen_names.add(name)
        domains = []
        for d in e.get("domains", []):
            d = d.strip().lower()
            if d and d not in domains:
                domains.append(d)
        lines.append("[[entity]]")
        lines.append(f"name = {toml_str(name)}")
        if e.get("company"):
            lines.append(f"company = {toml_str(e['company'])}")
        lines.append(f"category = {toml_str(e['category'])}")
        if e.get("homepage"):
            lines.append(f"homepage = {toml_str(e['homepage'])}")
        lines.append(f"domains = {toml_str_array(domains)}")
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

    text = convert(entities)

    # Verify before writing: the result must parse and round-trip every entity.
    parsed = tomllib.loads(text)
    got = parsed.get("entity", [])
    if len(got) != len(entities):
        raise SystemExit(f"round-trip failed: {len(got)} entities parsed, {len(entities)} in source")
    for e, g in zip(entities, got):
        for k in ("name", "company", "category", "homepage"):
            if (e.get(k) or None) != g.get(k):
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

    print(f"wrote {out}: {len(entities)} entities")


if __name__ == "__main__":
    main(sys.argv)
