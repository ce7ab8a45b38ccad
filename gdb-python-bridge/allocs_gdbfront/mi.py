"""The MI commands -alloc-describe, -alloc-describe-batch and -alloc-json (defined when gdb has
gdb.MICommand): answers as MI results, never as console text to pick JSON out of."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import gdb  # type: ignore[import-not-found]

from allocs_decoder import commands

from .commands import describe_expr, guarded, require_target
from .session_cache import session


def _mi_value(v: Any) -> Any:
    """MI results: strings, lists and dicts; null becomes an empty string."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return {k: _mi_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_mi_value(x) for x in v]
    return str(v)


def alloc_json(line: str) -> str:
    """`alloc COMMAND ARGS` (the word `alloc` optional) run through the command model, its JSON
    reply serialized: what `alloc COMMAND ARGS --json` prints, without gdb's console around it.
    Every failure: one gdb.GdbError line (the command's own, as on the console)."""
    words = line.strip().split(None, 1)
    if words and words[0] == commands.PREFIX:
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words or words[0] not in commands.BY_NAME:
        raise gdb.GdbError(f"-alloc-json: not an alloc command: {line.strip()!r}")
    cmd = commands.BY_NAME[words[0]]

    def run() -> str:
        if cmd.needs_target:
            require_target()
        a = cmd.parse(words[1] if len(words) > 1 else "")
        a.json = True  # a command builds its JSON reply only when asked for it
        return json.dumps(cmd.run(session(), a).json)
    result: str = guarded(run)
    return result


def _describe_json(expr: str) -> Dict[str, Any]:
    return describe_expr(expr).to_json()  # every failure: one gdb.GdbError line


if hasattr(gdb, "MICommand"):
    class MiAllocDescribe(gdb.MICommand):
        """-alloc-describe [--json] ADDR: the address description as MI results (or one JSON string)."""

        def __init__(self) -> None:
            super().__init__("-alloc-describe")

        def invoke(self, argv: List[str]) -> Dict[str, Any]:
            as_json = "--json" in argv
            rest = [x for x in argv if x != "--json"]
            if len(rest) != 1:
                raise gdb.GdbError("usage: -alloc-describe [--json] ADDR (several: -alloc-describe-batch)")
            d = _describe_json(rest[0])
            if as_json:
                return {"json": json.dumps(d)}
            return {"description": _mi_value(d)}

    class MiAllocDescribeBatch(gdb.MICommand):
        """-alloc-describe-batch [--json] ADDR...: one description per address, in order; an address
        that cannot be answered gives {address, error} in its place (the others still answer)."""

        def __init__(self) -> None:
            super().__init__("-alloc-describe-batch")

        def invoke(self, argv: List[str]) -> Dict[str, Any]:
            as_json = "--json" in argv
            rest = [x for x in argv if x != "--json"]
            out: List[Dict[str, Any]] = []
            for expr in rest:
                try:
                    out.append(_describe_json(expr))
                except gdb.GdbError as e:  # this address only
                    out.append({"address": expr, "error": str(e)})
            if as_json:
                return {"json": json.dumps(out)}
            return {"descriptions": _mi_value(out)}

    class MiAllocJson(gdb.MICommand):
        """-alloc-json "COMMAND ARGS": an `alloc` command's JSON reply as the MI result json="..."
        (the command line as one MI argument; several arguments are joined by blanks)."""

        def __init__(self) -> None:
            super().__init__("-alloc-json")

        def invoke(self, argv: List[str]) -> Dict[str, Any]:
            return {"json": alloc_json(" ".join(argv))}
