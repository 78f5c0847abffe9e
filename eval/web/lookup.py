#!/usr/bin/env python3
"""Who owns a host, per the third-party-web entity map (MIT) kept in rules/entities.toml.

    lookup.py HOST...     prints: host -> entity | company | category   (or "unknown")
"""
import re
import sys
import tomllib
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules" / "entities.toml"


def load():
    data = tomllib.loads(RULES.read_text())
    exact, wild = {}, {}
    for e in data.get("entity", []):
        for d in e.get("domains", []):
            (wild if d.startswith("*.") else exact)[d.lstrip("*.")] = e
    return exact, wild


def find(host, exact, wild):
    host = host.lower().strip(".")
    if host in exact:
        return exact[host]
    parts = host.split(".")
    for i in range(len(parts)):
        d = ".".join(parts[i:])
        if d in wild:
            return wild[d]
        if i > 0 and d in exact:
            return exact[d]
    return None


if __name__ == "__main__":
    exact, wild = load()
    for h in sys.argv[1:]:
        h = re.sub(r"^(https?:)?//", "", h).split("/")[0]
        e = find(h, exact, wild)
        print(f"{h} -> " + (f"{e['name']} | {e.get('company') or e['name']} | {e.get('category', '')}" if e else "unknown"))
