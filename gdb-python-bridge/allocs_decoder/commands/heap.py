"""The commands over the whole heap and the run-time types: ls, census, maps, type, who-points-to."""
from __future__ import annotations

from typing import List

from .. import queries, render, values
from ..session import Session
from .model import Args, Command, CommandError, Option, Reply, address_of


class Ls(Command):
    name = "ls"
    help = """List live heap allocations, filtered.

Usage: alloc ls [--json] [--site FN|FILE:LINE] [--min-size N] [--limit N] [--type T] [--since SNAPSHOT]
--type T keeps allocations of run-time type T (C spelling, quoted when it has spaces, or
canonical name), arrays of T included. --since SNAPSHOT keeps those not in the snapshot
(alloc snapshot save)."""
    options = (Option("--site", "FN|FILE:LINE", "allocated at this site"),
               Option("--min-size", "N", "at least N bytes"),
               Option("--limit", "N", "at most N entries (100 in text)"),
               Option("--type", "T", "of run-time type T"),
               Option("--since", "SNAPSHOT", "made after the snapshot (not in it)"))
    expression = False

    def run(self, s: Session, a: Args) -> Reply:
        if a.rest:
            raise CommandError(f"alloc ls: unexpected argument {a.rest!r}")
        limit = a.int_opt("--limit")
        limit = 100 if limit is None and not a.json else limit
        want = a.opts.get("--type")
        if want is not None and s.types is None:
            raise CommandError("alloc ls: --type needs the allocs runtime's type metadata")
        entries, matched = queries.ls(s, site=a.opts.get("--site"), min_size=a.int_opt("--min-size") or 0,
                                      limit=limit, type_name=want, since=a.opts.get("--since"))
        if a.json:
            return Reply({"entries": [e.to_json(s) for e in entries], "matched": matched})
        lines = []
        for e in entries:
            j = e.to_json(s)
            site = render.site_text(j["site"]) or "?"
            lines.append(f"{e.base:#x} {e.size:>10}  {e.allocator:<22} {j['type'] or '?':<24} {site}")
        more = f" (showing {len(entries)}; --limit N for more)" if matched > len(entries) else ""
        lines.append(f"{matched} live allocation{'s' if matched != 1 else ''}{more}")
        return Reply(text="\n".join(lines))


class Census(Command):
    name = "census"
    help = """Count and bytes of live heap allocations per site or per run-time type, largest first.

Usage: alloc census [--json] [--by site|type] [--limit N]
By type, an array site counts under `T[]` whatever each chunk's length. The runtime counts
allocations; frees are those less the live chunks (as alloc_get_stats reports)."""
    options = (Option("--by", "site|type", "group by allocation site or run-time type"),
               Option("--limit", "N", "at most N rows in text (50)"))
    expression = False

    def run(self, s: Session, a: Args) -> Reply:
        by = a.opts.get("--by", "site")
        if by not in ("site", "type"):
            raise CommandError(f"alloc census: --by {by}: expected site or type")
        c = queries.census(s, by)
        if a.json:
            return Reply(c.to_json(s, by))
        return Reply(text=census_text(s, c, by, a.int_opt("--limit") or 50))


def census_text(s: Session, c: queries.Census, by: str, limit: int = 50) -> str:
    """A census as a table, largest first, with the totals and the runtime's own counters."""
    lines = [f"{'count':>10} {'bytes':>14}  {by}"]
    for r in c.rows[:limit]:
        if by == "site":
            key = render.site_text(queries.site_json(s, r.key)) or "(unknown site)"
        else:
            key = r.key or "(type unknown)"
        lines.append(f"{r.count:>10} {r.bytes:>14}  {key}")
    lines.append(f"{c.chunks:>10} {c.chunk_bytes:>14}  total live malloc chunks")
    if c.pool_objects:
        lines.append(f"{c.pool_objects:>10} {c.pool_bytes:>14}  pool objects (inside those chunks)")
    st = c.stats
    lines.append(f"runtime counters: {st.total_allocs} allocations, {st.total_frees} frees in all")
    return "\n".join(lines)


class Maps(Command):
    name = "maps"
    help = """The hierarchy of big allocations as an indented tree: alloc maps [--json]

Mappings, ELF files and their segments, the brk heap, stacks and the auxv area."""
    expression = False

    def run(self, s: Session, a: Args) -> Reply:
        tree = queries.maps(s)
        return Reply({"maps": tree}) if a.json else Reply(text="\n".join(render.maps_lines(tree)))


class Type(Command):
    name = "type"
    help = """The layout of a run-time type: alloc type [--json] NAME|EXPR

NAME is a C spelling (`struct point`, `int[3]`) or a canonical name (`point`, `__ARR3_point`);
an expression gives the type of the allocation it points into. Shows members with offsets,
sizes and bit-fields, enumerators, parameters."""

    def run(self, s: Session, a: Args) -> Reply:
        if not a.rest:
            raise CommandError("alloc type: a type name or an expression is needed")
        types = s.types
        if types is None:
            raise CommandError("alloc type: the allocs runtime is not loaded, so no run-time types are known")
        quoted = len(a.rest) > 1 and a.rest[0] == a.rest[-1] and a.rest[0] in "'\""
        name = a.rest[1:-1] if quoted else a.rest
        t = types.lookup(name)
        if t is None and quoted:  # a quoted name is never an expression ('ab' is a C char constant)
            raise CommandError(f"alloc type: no run-time type named {name!r}")
        if t is None:
            try:
                addr = address_of(s, a.rest)
            except Exception:  # whatever the debugger raised: the name was neither
                raise CommandError(f"alloc type: no run-time type named {a.rest!r}, and not an expression")
            d = s.describe(addr)
            t = d.utype
            if t is None:
                raise CommandError(f"alloc type: the allocation at {d.address:#x} has no known run-time type")
        j = values.type_layout(types, t)
        return Reply(j) if a.json else Reply(text="\n".join(values.layout_lines(j)))


def type_names(s: Session, prefix: str, limit: int = 200) -> List[str]:
    """Run-time type names (C spellings) starting with prefix, for a front's completion."""
    types = s.types
    names = types.names() if types is not None else []
    return [n for n in names if n.startswith(prefix)][:limit]


class WhoPointsTo(Command):
    name = "who-points-to"
    help = """Pointers into the allocation at an address: alloc who-points-to [--json] [--limit N] EXPR

Scans live heap chunks, writable static data, thread stacks and registers, and keeps a word only
where the run-time type of the memory holding it says it is a pointer (typed). Words in memory
whose type is unknown are listed as an untyped fallback, labelled so."""
    options = (Option("--limit", "N", "at most N referrers (20)"),)

    def run(self, s: Session, a: Args) -> Reply:
        d = s.describe(address_of(s, a.rest))
        limit = a.int_opt("--limit") or 20
        report = queries.referrers(s, d, limit=limit)
        rows = report.rows
        if a.json:
            return Reply({"target": d.to_json(), "typed": any(r.typed for r in rows),
                          "omitted": report.omitted, "referrers": [
                {"address": None if r.ref.region == "register" else f"{r.ref.where:#x}",
                 "value": f"{r.ref.value:#x}", "region": r.ref.region, "register": r.ref.register,
                 "thread": r.ref.thread, "typed": r.typed,
                 "description": r.description.to_json() if r.description else None} for r in rows]})
        lines = [render.headline(d)]
        for r in rows:
            ref, w = r.ref, r.description
            if ref.region == "register":
                lines.append(f"  register {ref.register} of thread {ref.thread} = {ref.value:#x} (untyped)")
                continue
            what = render.headline(w) if w else ""
            typ = ""
            if w is not None and w.type:
                typ = f" {w.type}{' ' + w.path if w.path else ''}"
            site = render.site_text(w.site) if w else None
            tail = f"; {site}" if site else ""
            label = "" if r.typed else " (untyped: memory of unknown type)"
            lines.append(f"  {ref.where:#x} ({ref.region}{typ}) = {ref.value:#x}: {what}{tail}{label}")
        if not rows:
            lines.append("  no pointers found")
        omitted = queries.omitted_text(report)
        if omitted:
            lines.append(omitted)
        return Reply(text="\n".join(lines))
