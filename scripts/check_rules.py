#!/usr/bin/env python3
"""Check the rule files in rules/ (the format is defined in rules/README.md).

Usage (from anywhere):
    python3 scripts/check_rules.py [RULES_DIR]

Checks every rules/*.toml file:
  * it parses (tomllib) and has only the known tables and keys;
  * rule ids are unique across all files and kebab-case;
  * entity names are unique within a file (a name may appear in two files: the loader merges
    them, e.g. "Mailchimp" in entities.toml and mail.toml); categories are known;
  * every endpoint / header / cname entity exists in some rules file;
  * endpoint kinds are from the allowed set, target_param only on click-redirect rules,
    a rule has hosts or a path, and a path-shape rule (no hosts) has an anchored path;
  * every regex compiles under Python `re` (an approximation of the Rust `regex` crate) and uses
    no construct the Rust crate lacks (look-around, back-references, atomic groups, possessive
    quantifiers, \\Z);
  * hosts and domains are lower-case hostnames, optionally with a leading "*."; endpoint hosts
    may also be globs with inner wildcards (`u*.ct.sendgrid.net`, `www.google.*`);
  * every cname file exists and holds one lower-case hostname per line;
  * site rules (rules/README.md, "Site rules"): every [[signature]] names a known entity, has an
    allowed kind, `on` in inline|src|both, and a pattern with a named group `account`; every
    [[consent]] has a unique id and name, valid script hosts, compiling `inline` regexes and
    well-formed gate attribute names / class prefixes;
  * endpoint, header, signature and consent ids share one namespace.

Prints one line per problem and exits 1 if there is any; Python 3.11+ standard library only.
"""

import os
import re
import sys
import tomllib

KINDS = {"open-pixel", "click-redirect", "beacon", "ad-conversion", "tracker-script"}
CATEGORIES = {
    # third-party-web
    "ad", "analytics", "social", "marketing", "customer-success", "tag-manager",
    "consent-provider", "cdn", "hosting", "utility", "content", "video", "other",
    # pixscan additions
    "email-marketing", "sales-tracking",
}
SIGNATURE_KINDS = {"tracker-script", "beacon", "ad-conversion"}
SIGNATURE_ON = {"inline", "src", "both", "markup"}
TABLES = {"entity", "endpoint", "header", "cname", "signature", "consent"}
KEYS = {
    "entity": ({"name", "category", "domains"}, {"company", "homepage"}),
    "endpoint": ({"id", "kind"},
                 {"entity", "hosts", "path", "query_has", "host_prefix", "identifiers", "target_param", "note"}),
    "header": ({"id", "entity", "name"}, {"value", "note"}),
    "cname": ({"entity", "file"}, {"note"}),
    "signature": ({"id", "entity", "tag", "kind", "pattern"}, {"on", "note", "requires"}),
    "consent": ({"id", "name"},
                {"entity", "script_hosts", "inline", "gate_attrs", "gate_class_prefixes",
                 "accept_selectors"}),
}
# Tables whose ids share one namespace (SARIF rule ids, policy keys).
ID_TABLES = ("endpoint", "header", "signature", "consent")
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Hostname labels may hold "_" (real CNAME records do); "*." only as a prefix.
HOST_RE = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)+[a-z0-9-]*[a-z0-9]$")
# Endpoint host patterns may also be globs with inner wildcards: `u*.ct.sendgrid.net`,
# `www.google.*` (each "*" stands for part of one label).
GLOB_HOST_RE = re.compile(r"^([a-z0-9_*]([a-z0-9_*-]*[a-z0-9_*])?\.)+[a-z0-9*-]*[a-z0-9*]$")
ATTR_RE = re.compile(r"^[a-z_:][a-z0-9_:.-]*$")  # an HTML attribute name, lower-case
CLASS_PREFIX_RE = re.compile(r"^[A-Za-z_-][A-Za-z0-9_-]*$")
HEADER_NAME_RE = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable, no colon
# Constructs Python accepts but the Rust regex crate rejects.
RUST_UNSUPPORTED = [
    (re.compile(r"\(\?<?[=!]"), "look-around"),
    (re.compile(r"\(\?>"), "atomic group"),
    (re.compile(r"\(\?P="), "named back-reference"),
    (re.compile(r"(?<!\\)\\[1-9]"), "back-reference"),
    (re.compile(r"(?<!\\)\\Z"), "\\Z (Rust has \\z)"),
    (re.compile(r"(?<![\\(])[*+?}][+]"), "possessive quantifier"),
]


class Checker:
    def __init__(self):
        self.errors = []

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def regex(self, where, pattern):
        if not isinstance(pattern, str) or not pattern:
            self.err(where, "regex must be a non-empty string")
            return
        for rx, what in RUST_UNSUPPORTED:
            if rx.search(pattern):
                self.err(where, f"regex uses {what}, which the Rust regex crate does not support: {pattern!r}")
        try:
            re.compile(pattern)
        except re.error as e:
            self.err(where, f"regex does not compile: {e}: {pattern!r}")

    def str_list(self, where, value, item_check=None):
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            self.err(where, "must be a list of strings")
            return []
        if len(set(value)) != len(value):
            self.err(where, "has duplicates")
        if item_check:
            for x in value:
                item_check(x)
        return value

    def host(self, where, h):
        if not HOST_RE.match(h):
            self.err(where, f"not a lower-case hostname (optionally '*.'-prefixed): {h!r}")

    def host_pattern(self, where, h):
        """An endpoint host: a hostname, "*.domain", or a glob with inner wildcards."""
        if HOST_RE.match(h):
            return
        if (GLOB_HOST_RE.match(h) and "**" not in h and not h.startswith("*.")
                and h.replace("*", "").strip(".-")):
            return
        self.err(where, f"not a lower-case host pattern (name, '*.'-prefixed, or glob): {h!r}")


def check(rules_dir):
    c = Checker()
    files = sorted(f for f in os.listdir(rules_dir) if f.endswith(".toml"))
    if not files:
        c.err(rules_dir, "no *.toml files")
    docs = {}
    for f in files:
        path = os.path.join(rules_dir, f)
        try:
            with open(path, "rb") as fh:
                docs[f] = tomllib.load(fh)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            c.err(f, f"does not parse: {e}")

    entity_names = set()
    ids = {}
    consent_names = {}
    counts = {}
    for f, doc in docs.items():
        for table in doc:
            if table == "fallback":
                if not isinstance(doc[table], bool):
                    c.err(f, "'fallback' must be true or false")
                continue
            if table not in TABLES:
                c.err(f, f"unknown top-level key {table!r} (allowed: {sorted(TABLES)})")
            elif not isinstance(doc[table], list):
                c.err(f, f"{table!r} must be an array of tables ([[{table}]])")
        seen_here = {}
        for i, e in enumerate(doc.get("entity", [])):
            name = e.get("name")
            if isinstance(name, str):
                entity_names.add(name)
                if name in seen_here:
                    c.err(f, f"duplicate entity name {name!r} (entities #{seen_here[name]} and #{i})")
                seen_here.setdefault(name, i)

    for f, doc in docs.items():
        n = counts.setdefault(f, {t: 0 for t in TABLES})
        for table in TABLES:
            items = doc.get(table, [])
            if not isinstance(items, list):
                continue
            required, optional = KEYS[table]
            for i, item in enumerate(items):
                n[table] += 1
                if not isinstance(item, dict):
                    c.err(f"{f} [{table}] #{i}", "must be a table")
                    continue
                label = item.get("id") or item.get("name") or item.get("file") or f"#{i}"
                where = f"{f} [{table}] {label}"
                for k in required - item.keys():
                    c.err(where, f"missing required key {k!r}")
                for k in item.keys() - required - optional:
                    c.err(where, f"unknown key {k!r}")
                for k, v in item.items():
                    if k in {"name", "company", "homepage", "category", "id", "entity", "kind",
                             "path", "target_param", "note", "value", "file", "tag", "pattern",
                             "on"} and not isinstance(v, str):
                        c.err(where, f"{k!r} must be a string")
                if table == "entity":
                    check_entity(c, where, item)
                elif table == "endpoint":
                    check_endpoint(c, where, item, entity_names)
                elif table == "header":
                    check_header(c, where, item, entity_names)
                elif table == "cname":
                    check_cname(c, where, item, entity_names, rules_dir)
                elif table == "signature":
                    check_signature(c, where, item, entity_names)
                elif table == "consent":
                    check_consent(c, where, item, entity_names)
                    name = item.get("name")
                    if isinstance(name, str):
                        if name in consent_names:
                            c.err(where, f"duplicate consent platform name {name!r} "
                                         f"(also in {consent_names[name]})")
                        consent_names.setdefault(name, f)
                if table in ID_TABLES and isinstance(item.get("id"), str):
                    rid = item["id"]
                    if not ID_RE.match(rid):
                        c.err(where, f"id {rid!r} is not kebab-case")
                    if rid in ids:
                        c.err(where, f"duplicate id {rid!r} (also in {ids[rid]})")
                    ids.setdefault(rid, f)
    return c, counts


def check_entity(c, where, e):
    if isinstance(e.get("name"), str) and not e["name"].strip():
        c.err(where, "empty name")
    cat = e.get("category")
    if isinstance(cat, str) and cat not in CATEGORIES:
        c.err(where, f"unknown category {cat!r}")
    hp = e.get("homepage")
    if isinstance(hp, str) and not re.match(r"^https?://", hp):
        c.err(where, f"homepage is not an http(s) URL: {hp!r}")
    if "domains" in e:
        c.str_list(f"{where} domains", e["domains"], lambda d: c.host(f"{where} domains", d))


def check_endpoint(c, where, r, entity_names):
    if isinstance(r.get("entity"), str) and r["entity"] not in entity_names:
        c.err(where, f"entity {r['entity']!r} is not defined in any rules file")
    kind = r.get("kind")
    if isinstance(kind, str) and kind not in KINDS:
        c.err(where, f"unknown kind {kind!r} (allowed: {sorted(KINDS)})")
    hosts = []
    if "hosts" in r:
        hosts = c.str_list(f"{where} hosts", r["hosts"],
                           lambda h: c.host_pattern(f"{where} hosts", h))
    path = r.get("path")
    if path is not None:
        c.regex(f"{where} path", path)
    if not hosts and path is None:
        c.err(where, "has neither hosts nor path: it would match every URL")
    if not hosts and isinstance(path, str) and not re.match(r"^(\(\?[a-z]+\))?\^", path):
        c.err(where, f"path-shape rule (no hosts) must anchor its path with ^: {path!r}")
    for k in ("query_has", "identifiers"):
        if k in r:
            c.str_list(f"{where} {k}", r[k])
    if "target_param" in r and kind != "click-redirect":
        c.err(where, "target_param is only meaningful on click-redirect rules")


def check_header(c, where, h, entity_names):
    if isinstance(h.get("entity"), str) and h["entity"] not in entity_names:
        c.err(where, f"entity {h['entity']!r} is not defined in any rules file")
    name = h.get("name")
    if isinstance(name, str) and not HEADER_NAME_RE.match(name):
        c.err(where, f"not a valid header field name: {name!r}")
    if "value" in h:
        c.regex(f"{where} value", h["value"])


def check_signature(c, where, s, entity_names):
    if isinstance(s.get("entity"), str) and s["entity"] not in entity_names:
        c.err(where, f"entity {s['entity']!r} is not defined in any rules file")
    kind = s.get("kind")
    if isinstance(kind, str) and kind not in SIGNATURE_KINDS:
        c.err(where, f"unknown signature kind {kind!r} (allowed: {sorted(SIGNATURE_KINDS)})")
    on = s.get("on", "inline")
    if isinstance(on, str) and on not in SIGNATURE_ON:
        c.err(where, f"'on' must be one of {sorted(SIGNATURE_ON)}, not {on!r}")
    if isinstance(s.get("tag"), str) and not s["tag"].strip():
        c.err(where, "empty tag")
    pattern = s.get("pattern")
    if not isinstance(pattern, str):
        return
    n = len(c.errors)
    c.regex(f"{where} pattern", pattern)
    if len(c.errors) > n:
        return
    if isinstance(s.get("requires"), str):
        c.regex(f"{where} requires", s["requires"])
    rx = re.compile(pattern)
    if "account" not in rx.groupindex:
        c.err(where, f"pattern has no named group (?P<account>...): {pattern!r}")
    elif rx.pattern.count("(?P<account>") != 1:
        c.err(where, "pattern must have exactly one (?P<account>...) group")
    if rx.search(""):
        c.err(where, f"pattern matches the empty string: {pattern!r}")


def check_consent(c, where, cm, entity_names):
    if "entity" in cm and isinstance(cm["entity"], str) and cm["entity"] not in entity_names:
        c.err(where, f"entity {cm['entity']!r} is not defined in any rules file")
    if isinstance(cm.get("name"), str) and not cm["name"].strip():
        c.err(where, "empty name")
    hosts = []
    if "script_hosts" in cm:
        hosts = c.str_list(f"{where} script_hosts", cm["script_hosts"],
                           lambda h: c.host(f"{where} script_hosts", h))
    inline = []
    if "inline" in cm:
        inline = c.str_list(f"{where} inline", cm["inline"])
        for i, p in enumerate(inline):
            n = len(c.errors)
            c.regex(f"{where} inline[{i}]", p)
            if len(c.errors) == n and re.search(p, ""):
                c.err(f"{where} inline[{i}]", f"regex matches the empty string: {p!r}")
    if not hosts and not inline:
        c.err(where, "has neither script_hosts nor inline: it can never be detected")
    if "gate_attrs" in cm:
        for a in c.str_list(f"{where} gate_attrs", cm["gate_attrs"]):
            if not ATTR_RE.match(a):
                c.err(f"{where} gate_attrs", f"not a lower-case HTML attribute name: {a!r}")
    if "gate_class_prefixes" in cm:
        for p in c.str_list(f"{where} gate_class_prefixes", cm["gate_class_prefixes"]):
            if not CLASS_PREFIX_RE.match(p):
                c.err(f"{where} gate_class_prefixes", f"not a class-name prefix: {p!r}")
    if "accept_selectors" in cm:
        for p in c.str_list(f"{where} accept_selectors", cm["accept_selectors"]):
            if not p.strip() or "\n" in p:
                c.err(f"{where} accept_selectors", f"not a CSS selector: {p!r}")


def check_cname(c, where, cn, entity_names, rules_dir):
    if isinstance(cn.get("entity"), str) and cn["entity"] not in entity_names:
        c.err(where, f"entity {cn['entity']!r} is not defined in any rules file")
    rel = cn.get("file")
    if not isinstance(rel, str):
        return
    if os.path.isabs(rel) or ".." in rel.split("/"):
        c.err(where, f"file must be a relative path inside rules/: {rel!r}")
        return
    path = os.path.join(rules_dir, rel)
    if not os.path.isfile(path):
        c.err(where, f"file {rel!r} does not exist")
        return
    hosts = 0
    seen = set()
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            hosts += 1
            if not HOST_RE.match(line) or line.startswith("*."):
                c.err(f"{rel}:{lineno}", f"not a lower-case hostname: {line!r}")
            if line in seen:
                c.err(f"{rel}:{lineno}", f"duplicate host {line!r}")
            seen.add(line)
    if hosts == 0:
        c.err(where, f"file {rel!r} lists no hosts")


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rules_dir = argv[1] if len(argv) > 1 else os.path.join(root, "rules")
    c, counts = check(rules_dir)
    for f in sorted(counts):
        n = counts[f]
        line = (f"{f}: {n['entity']} entities, {n['endpoint']} endpoints, "
                f"{n['header']} headers, {n['cname']} cname tables")
        if n["signature"] or n["consent"]:
            line += f", {n['signature']} signatures, {n['consent']} consent platforms"
        print(line)
    for e in c.errors:
        print(f"ERROR {e}")
    if c.errors:
        print(f"{len(c.errors)} problem(s)")
        return 1
    print("rules OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
