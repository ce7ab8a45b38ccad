"""`allocs core`'s one-call report (cli_report), written to the file `allocs core` names: its own
channel, apart from gdb's chatter on stdout and stderr."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import gdb  # type: ignore[import-not-found]

from allocs_decoder import commands, queries, render

from .commands import DEBUGGER_ERRORS, describe_expr, require_target
from .session_cache import session


def cli_report(exprs: List[str], as_json: bool, out_path: Optional[str] = None) -> None:
    """`allocs core`'s answers, in one call: for each expression its description (or a one-line
    error), as text blocks or as one JSON array {expression, description | error}. With no
    expression, a summary: the census. Written whole to out_path (UTF-8; the JSON array is the
    file's only content), or to gdb's console when there is none (by hand in a gdb session)."""
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
    if as_json:
        out = json.dumps([{k: v for k, v in r.items() if k != "text"} for r in results]) + "\n"
    else:
        parts: List[str] = []
        for r in results:
            if "expression" in r:
                parts.append(f"== {r['expression']}\n")
            if "error" in r:
                parts.append(f"error: {r['error']}\n")
            elif "text" in r:
                parts.append(r["text"] + "\n")
            elif "census" in r:
                parts.append(census_text + "\n")
        out = "".join(parts)
    if out_path is None:
        gdb.write(out)
        return
    with open(out_path, "w", encoding="utf-8", errors="replace") as f:
        f.write(out)
