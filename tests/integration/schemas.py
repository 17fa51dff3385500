"""The payload schemas of docs/schemas/ (JSON Schema 2020-12), checked with
Debian's python3-jsonschema (deploy/install-deps.sh test).

check("case", obj) raises AssertionError naming the schema and every
violation. References between the files ("$ref": "NAME.schema.json") are
inlined here, so any jsonschema version with Draft 2020-12 works the same.
"""
import json
import os

import jsonschema

DIR = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "schemas")
_cache = {}


def _load(name):
    with open(os.path.join(DIR, name)) as f:
        return json.load(f)


def _inline(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.endswith(".schema.json"):
            target = _inline(_load(ref))
            target.pop("$schema", None)
            target.pop("$id", None)
            rest = {k: _inline(v) for k, v in node.items() if k != "$ref"}
            return dict(target, **rest) if rest else target
        return {k: _inline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v) for v in node]
    return node


def validator(name):
    if name not in _cache:
        schema = _inline(_load(name + ".schema.json"))
        jsonschema.Draft202012Validator.check_schema(schema)
        _cache[name] = jsonschema.Draft202012Validator(schema)
    return _cache[name]


def check(name, obj):
    """Asserts that obj (parsed JSON, or text) is valid against NAME."""
    if isinstance(obj, (str, bytes)):
        obj = json.loads(obj)
    errors = sorted(validator(name).iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        raise AssertionError("not a valid %s (docs/schemas/%s.schema.json):\n%s\n%s"
                             % (name, name, "\n".join(
                                 "  %s: %s" % ("/".join(map(str, e.path)) or ".",
                                               e.message) for e in errors),
                                json.dumps(obj)[:2000]))
    return obj
