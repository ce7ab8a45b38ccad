"""`allocs core`'s one-call report (cli_report), after the marker that ends gdb's own chatter."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import gdb  # type: ignore[import-not-found]

from allocs_decoder import commands, queries, render

from .commands import DEBUGGER_ERRORS, describe_expr, require_target
from .session_cache import session


CLI_MARKER = "@allocs-report"


def cli_report(exprs: List[str], as_json: bool) -> None:
    """`allocs core`'s answers, in one call: for each expression its description (or a one-line
    error), as text blocks or as one JSON array {expression, description | error}. With no
    expression, a summary: the census."""
    results: List[Dict[str, Any]] = []
    for expr in exprs:
        try:
            d = describe_expr(expr)
            results.append({"expression": expr, "description": d.to_json(), "text": render.info_text(d)})
        except gdb.GdbError as e:
            results.append({"expression": expr, "error": str(e)})
    census_text = ""
    if not exprs:
        try:
            require_target()
            s = session()
            c = queries.census(s, "site")
            results.append({"census": c.to_json(s, "site")})
            census_text = commands.census_text(s, c, "site")
        except gdb.GdbError as e:
            results.append({"error": str(e)})
        except Exception as e:
            results.append({"error": commands.error_line(e, DEBUGGER_ERRORS)})
    gdb.write(f"{CLI_MARKER}\n")  # everything gdb printed before this is its own chatter
    if as_json:
        gdb.write(json.dumps([{k: v for k, v in r.items() if k != "text"} for r in results]) + "\n")
        return
    for r in results:
        if "expression" in r:
            gdb.write(f"== {r['expression']}\n")
        if "error" in r:
            gdb.write(f"error: {r['error']}\n")
        elif "text" in r:
            gdb.write(r["text"] + "\n")
        elif "census" in r:
            gdb.write(census_text + "\n")
