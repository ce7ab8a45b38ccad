"""The commands over the whole heap and the run-time types: ls, census, maps, type, who-points-to."""
from __future__ import annotations

from typing import Any

import gdb  # type: ignore[import-not-found]

from allocs_decoder import queries, render, values

from .commands_address import _ExprCommand
from .common import _int_opt, address_of, emit, guarded, parse_args
from .session_cache import session


class AllocLs(gdb.Command):
    """List live heap allocations, filtered.

Usage: alloc ls [--json] [--site FN|FILE:LINE] [--min-size N] [--limit N] [--type T] [--since SNAPSHOT]
--type T keeps allocations of run-time type T (C spelling, quoted when it has spaces, or
canonical name), arrays of T included."""

    def __init__(self) -> None:
        super().__init__("alloc ls", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--site", "--min-size", "--limit", "--type", "--since"))
        if a.rest:
            raise gdb.GdbError(f"alloc ls: unexpected argument {a.rest!r}")
        limit = _int_opt(a, "--limit")
        limit = 100 if limit is None and not a.json else limit
        s = session()
        want = a.opts.get("--type")
        if want is not None and s.types is None:
            raise gdb.GdbError("alloc ls: --type needs the allocs runtime's type metadata")
        entries, matched = queries.ls(s, site=a.opts.get("--site"), min_size=_int_opt(a, "--min-size") or 0,
                                      limit=limit, type_name=want, since=a.opts.get("--since"))
        if a.json:
            emit({"entries": [e.to_json(s) for e in entries], "matched": matched})
            return
        for e in entries:
            j = e.to_json(s)
            site = render.site_text(j["site"]) or "?"
            gdb.write(f"{e.base:#x} {e.size:>10}  {e.allocator:<22} {j['type'] or '?':<24} {site}\n")
        more = f" (showing {len(entries)}; --limit N for more)" if matched > len(entries) else ""
        gdb.write(f"{matched} live allocation{'s' if matched != 1 else ''}{more}\n")


class AllocCensus(gdb.Command):
    """Count and bytes of live heap allocations per site or per run-time type, largest first.

Usage: alloc census [--json] [--by site|type] [--limit N]
By type, an array site counts under `T[]` whatever each chunk's length. The totals are checked
against the runtime's own counters (alloc_get_stats)."""

    def __init__(self) -> None:
        super().__init__("alloc census", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--by", "--limit"))
        by = a.opts.get("--by", "site")
        if by not in ("site", "type"):
            raise gdb.GdbError(f"alloc census: --by {by}: expected site or type")
        s = session()
        c = queries.census(s, by)
        if a.json:
            emit(c.to_json(s, by))
            return
        limit = _int_opt(a, "--limit") or 50
        gdb.write(f"{'count':>10} {'bytes':>14}  {by}\n")
        for r in c.rows[:limit]:
            if by == "site":
                key = render.site_text(queries.site_json(s, r.key)) or "(unknown site)"
            else:
                key = r.key or "(type unknown)"
            gdb.write(f"{r.count:>10} {r.bytes:>14}  {key}\n")
        gdb.write(f"{c.chunks:>10} {c.chunk_bytes:>14}  total live malloc chunks\n")
        if c.pool_objects:
            gdb.write(f"{c.pool_objects:>10} {c.pool_bytes:>14}  pool objects (inside those chunks)\n")
        st = c.stats
        same = "agree" if (st.live_chunks, st.live_bytes) == (c.chunks, c.chunk_bytes) else "DISAGREE"
        gdb.write(f"runtime counters: {st.live_chunks} live chunks, {st.live_bytes} bytes ({same}); "
                  f"{st.total_allocs} allocations, {st.total_frees} frees in all\n")


class AllocMaps(gdb.Command):
    """The hierarchy of big allocations as an indented tree: alloc maps [--json]

Mappings, ELF files and their segments, the brk heap, stacks and the auxv area."""

    def __init__(self) -> None:
        super().__init__("alloc maps", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        s = session()
        tree = queries.maps(s)
        if a.json:
            emit({"maps": tree})
        else:
            gdb.write("\n".join(render.maps_lines(tree)) + "\n")


class AllocType(gdb.Command):
    """The layout of a run-time type: alloc type [--json] NAME|EXPR

NAME is a C spelling (`struct point`, `int[3]`) or a canonical name (`point`, `__ARR3_point`);
an expression gives the type of the allocation it points into. Shows members with offsets,
sizes and bit-fields, enumerators, parameters."""

    def __init__(self) -> None:
        super().__init__("alloc type", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        if not a.rest:
            raise gdb.GdbError("alloc type: a type name or an expression is needed")
        s = session()
        types = s.types
        if types is None:
            raise gdb.GdbError("alloc type: the allocs runtime is not loaded, so no run-time types are known")
        name = a.rest[1:-1] if len(a.rest) > 1 and a.rest[0] == a.rest[-1] and a.rest[0] in "'\"" else a.rest
        t = types.lookup(name)
        if t is None:
            try:
                d = s.describe(address_of(a.rest))
            except gdb.GdbError:
                raise gdb.GdbError(f"alloc type: no run-time type named {a.rest!r}, and not an expression")
            t = d.utype
            if t is None:
                raise gdb.GdbError(f"alloc type: the allocation at {d.address:#x} has no known run-time type")
        j = values.type_layout(types, t)
        if a.json:
            emit(j)
        else:
            gdb.write("\n".join(values.layout_lines(j)) + "\n")

    def complete(self, text: str, word: str) -> Any:
        """Run-time type names (C spellings) when the process has them, else gdb's expressions."""
        try:
            types = session().types
            names = types.names() if types is not None else []
        except Exception:  # completion must never fail loudly
            names = []
        if not names:
            return gdb.COMPLETE_EXPRESSION
        start = len(text) - len(word)  # gdb replaces only the last word
        return [n[start:] for n in names if n.startswith(text)][:200]


class AllocWhoPointsTo(_ExprCommand):
    """Pointers into the allocation at an address: alloc who-points-to [--json] [--limit N] EXPR

Scans live heap chunks, writable static data, thread stacks and registers, and keeps a word only
where the run-time type of the memory holding it says it is a pointer (typed). Words in memory
whose type is unknown are listed as an untyped fallback, labelled so."""

    def __init__(self) -> None:
        super().__init__("alloc who-points-to")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--limit",))
        s = session()
        d = s.describe(address_of(a.rest))
        limit = _int_opt(a, "--limit") or 20
        rows = queries.typed_referrers(s, d, limit=limit)
        if a.json:
            emit({"target": d.to_json(), "typed": any(r.typed for r in rows), "referrers": [
                {"address": None if r.ref.region == "register" else f"{r.ref.where:#x}",
                 "value": f"{r.ref.value:#x}", "region": r.ref.region, "register": r.ref.register,
                 "thread": r.ref.thread, "typed": r.typed,
                 "description": r.description.to_json() if r.description else None} for r in rows]})
            return
        gdb.write(render.headline(d) + "\n")
        for r in rows:
            ref, w = r.ref, r.description
            if ref.region == "register":
                gdb.write(f"  register {ref.register} of thread {ref.thread} = {ref.value:#x} (untyped)\n")
                continue
            what = render.headline(w) if w else ""
            typ = ""
            if w is not None and w.type:
                typ = f" {w.type}{' ' + w.path if w.path else ''}"
            site = render.site_text(w.site) if w else None
            tail = f"; {site}" if site else ""
            label = "" if r.typed else " (untyped: memory of unknown type)"
            gdb.write(f"  {ref.where:#x} ({ref.region}{typ}) = {ref.value:#x}: {what}{tail}{label}\n")
        if not rows:
            gdb.write("  no pointers found\n")
