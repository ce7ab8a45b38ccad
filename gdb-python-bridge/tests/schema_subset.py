"""A JSON Schema validator for the subset docs/schema/*.json use (standard library only): type
(one or several), properties, required, additionalProperties (a boolean), items, enum, pattern,
minimum, anyOf, and $ref to a JSON pointer in the same document or another file of the folder."""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, List, Tuple

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "schema")
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value: Any, t: str) -> bool:
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[t])


class Schemas:
    """The schema files of a folder, by name; validate(name, value) lists what is wrong."""

    def __init__(self, folder: str = SCHEMA_DIR) -> None:
        self.folder = folder
        self.docs: Dict[str, Any] = {}

    def doc(self, name: str) -> Any:
        if name not in self.docs:
            with open(os.path.join(self.folder, name)) as f:
                self.docs[name] = json.load(f)
        return self.docs[name]

    def _resolve(self, ref: str, doc: str) -> Tuple[Any, str]:
        file, _, pointer = ref.partition("#")
        doc = file or doc
        node = self.doc(doc)
        for part in [p for p in pointer.split("/") if p]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, doc

    def validate(self, name: str, value: Any) -> List[str]:
        errors: List[str] = []
        self._check(self.doc(name), value, name, "$", errors)
        return errors

    def _check(self, s: Any, v: Any, doc: str, at: str, errors: List[str]) -> None:
        if "$ref" in s:
            target, tdoc = self._resolve(s["$ref"], doc)
            self._check(target, v, tdoc, at, errors)
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(_is(v, t) for t in types):
                errors.append(f"{at}: {json.dumps(v)[:80]} is not {'/'.join(types)}")
                return
        if "enum" in s and v not in s["enum"]:
            errors.append(f"{at}: {v!r} is not one of {s['enum']}")
        if "pattern" in s and isinstance(v, str) and not re.search(s["pattern"], v):
            errors.append(f"{at}: {v!r} does not match {s['pattern']}")
        if "minimum" in s and _is(v, "number") and v < s["minimum"]:
            errors.append(f"{at}: {v} < {s['minimum']}")
        if "anyOf" in s:
            tries = []
            for alt in s["anyOf"]:
                e: List[str] = []
                self._check(alt, v, doc, at, e)
                if not e:
                    break
                tries.append(e)
            else:
                errors.append(f"{at}: matches none of anyOf: " + " | ".join(e[0] for e in tries))
        if isinstance(v, dict):
            props = s.get("properties", {})
            for k in s.get("required", []):
                if k not in v:
                    errors.append(f"{at}: lacks {k}")
            for k, x in v.items():
                if k in props:
                    self._check(props[k], x, doc, f"{at}.{k}", errors)
                elif s.get("additionalProperties") is False:
                    errors.append(f"{at}: unexpected field {k}")
        if isinstance(v, list) and "items" in s:
            for i, x in enumerate(v):
                self._check(s["items"], x, doc, f"{at}[{i}]", errors)
