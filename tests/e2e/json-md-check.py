#!/usr/bin/env python3
# json-md-check.py - checks JSON documents against the schemas in docs/json.md
# (issue 22 item 8: one test validates every JSON document against the docs).
#
#   json-md-check.py docs/json.md DOCUMENT FILE [jsonl]
#
# docs/json.md keeps each object's fields in a table after a line
# `<!-- fields: DOCUMENT PATH -->` (PATH: `.`, `name`, `name[]`, nested with
# dots), or `<!-- fields: DOCUMENT PATH like OTHER-DOC OTHER-PATH without
# F... -->` for an object that repeats another's fields. A table row's first
# cell names fields in backticks, each optionally followed by its twin
# `(+ \`name_b64\`)`; the second cell gives one type per field or one for
# all: int, number, time, string, bool, object, array, with /null.
# Every documented field must be there with its type, and nothing else but
# a documented twin. Prints "ok", or each problem on a line.
import json
import re
import sys

TYPES = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "time": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def parse_schemas(md):
    """{(document, path): {field: (type, nullable, twin or None)}}"""
    schemas, likes = {}, []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"<!-- fields: (\S+) (\S+)(?: like (\S+) (\S+)(?: without (.*?))?)? -->", lines[i])
        i += 1
        if not m:
            continue
        doc, path = m.group(1), m.group(2)
        if m.group(3):
            likes.append((doc, path, m.group(3), m.group(4), (m.group(5) or "").split()))
            continue
        fields = schemas.setdefault((doc, path), {})
        while i < len(lines) and not lines[i].startswith("|"):
            i += 1
        while i < len(lines) and lines[i].startswith("|"):
            cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            i += 1
            if cells[0] in ("field", "---") or set(cells[0]) <= set("-"):
                continue
            names = re.findall(r"`([a-z0-9_]+)`(?: \(\+ `([a-z0-9_]+)`\))?", cells[0])
            types = [t.strip() for t in cells[1].split(",")]
            if len(types) == 1:
                types = types * len(names)
            if len(types) != len(names):
                raise SystemExit("json.md: %s %s: %d fields, %d types in %r" %
                                 (doc, path, len(names), len(types), cells[0]))
            for (name, twin), t in zip(names, types):
                base, _, null = t.partition("/")
                if base not in TYPES or null not in ("", "null"):
                    raise SystemExit("json.md: %s %s: unknown type %r" % (doc, path, t))
                fields[name] = (base, null == "null", twin or None)
    for doc, path, other, other_path, without in likes:
        schemas[(doc, path)] = {k: v for k, v in schemas[(other, other_path)].items()
                                if k not in without}
    return schemas


def check(schemas, doc, path, obj, where, problems):
    fields = schemas.get((doc, path))
    if fields is None:
        problems.append("%s: json.md has no table for %s %s" % (where, doc, path))
        return
    if not isinstance(obj, dict):
        problems.append("%s: not an object" % where)
        return
    twins = {f[2] for f in fields.values() if f[2]}
    for k in obj:
        if k not in fields and k not in twins:
            problems.append("%s.%s: not in json.md" % (where, k))
    for name, (base, nullable, twin) in fields.items():
        if name not in obj:
            problems.append("%s.%s: missing" % (where, name))
            continue
        v = obj[name]
        if v is None:
            if not nullable:
                problems.append("%s.%s: null, json.md says %s" % (where, name, base))
            continue
        if not TYPES[base](v):
            problems.append("%s.%s: %r is not %s" % (where, name, v, base))
            continue
        sub = name if path == "." else path + "." + name
        if base == "object" and (doc, sub) in schemas:
            check(schemas, doc, sub, v, where + "." + name, problems)
        if base == "array" and (doc, sub + "[]") in schemas:
            for n, e in enumerate(v):
                check(schemas, doc, sub + "[]", e, "%s.%s[%d]" % (where, name, n), problems)
    for name, (base, nullable, twin) in fields.items():
        if twin and twin in obj and not isinstance(obj[twin], str):
            problems.append("%s.%s: not a string" % (where, twin))


def main():
    md, doc, path = sys.argv[1], sys.argv[2], sys.argv[3]
    lines = sys.argv[4:] == ["jsonl"]
    schemas = parse_schemas(open(md, encoding="utf-8").read())
    text = open(path, "rb").read().decode("utf-8")
    docs = [json.loads(l) for l in text.splitlines()] if lines else [json.loads(text)]
    if not docs:
        print("no document in %s" % path)
        return
    problems = []
    for n, d in enumerate(docs):
        check(schemas, doc, ".", d, "line %d" % (n + 1) if lines else "$", problems)
        if isinstance(d, dict) and d.get("schema") != doc:
            problems.append("schema is %r" % d.get("schema"))
    print("\n".join(problems[:20]) if problems else "ok")


main()
