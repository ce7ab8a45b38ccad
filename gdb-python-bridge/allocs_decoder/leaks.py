"""`alloc leaks`: the live chunks no root reaches, grouped by type and site, as memcheck's leak
check divides them: "definitely lost" (no leaked chunk points to it either: the head of what was
lost) and "indirectly lost" (reachable only from leaked chunks). A cycle no root reaches has no
head: its lowest-addressed chunk is counted as definitely lost, the rest as indirectly lost, as
memcheck picks one block of a clique.

Reachability follows the heap graph (heap_graph.py): typed pointers precisely, untyped memory
conservatively. The chunks reached only through untyped memory (no path of typed pointers from a
root) are counted apart: reachable, but a word that merely looks like a pointer may keep them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .address_description import hexaddr
from .heap_graph import HeapGraph, build
from .sites import site_json, site_type_name
from .render import site_text
from .session import Session


def mark(g: HeapGraph) -> Tuple[bytearray, bytearray]:
    """(reached, reached only conservatively) per chunk: first from the roots along typed chunks'
    pointers only, then along every chunk's."""
    n = len(g)
    reached = bytearray(n)
    stack: List[int] = []
    for e in g.root_edges:
        if not reached[e.dst]:
            reached[e.dst] = 1
            stack.append(e.dst)
    # lists index faster than arrays (no int object made per read); most chunks have no pointer
    start, dst, precise = list(g.edge_start), list(g.edge_dst), g.precise
    frontier_untyped: List[int] = []
    pop, push = stack.pop, stack.append
    while stack:
        i = pop()
        if not precise[i]:
            frontier_untyped.append(i)
            continue
        for k in range(start[i], start[i + 1]):
            j = dst[k]
            if not reached[j]:
                reached[j] = 1
                push(j)
    typed_reach = bytes(reached)
    stack = frontier_untyped
    pop, push = stack.pop, stack.append
    while stack:
        i = pop()
        for k in range(start[i], start[i + 1]):
            j = dst[k]
            if not reached[j]:
                reached[j] = 1
                push(j)
    # 1 where reached now but not in the typed pass (reached >= typed_reach, both 0 or 1)
    only_cons = bytearray(x - y for x, y in zip(reached, typed_reach)) if n else bytearray()
    return reached, only_cons


def classify(g: HeapGraph, reached: bytearray) -> bytearray:
    """Per chunk: 0 reached, 1 definitely lost, 2 indirectly lost."""
    n = len(g)
    state = bytearray(n)
    pointed = bytearray(n)  # pointed to by another unreached chunk
    start, dst = g.edge_start, g.edge_dst
    lost = [i for i in range(n) if not reached[i]]
    for i in lost:
        for j in dst[start[i]: start[i + 1]]:
            if not reached[j] and j != i:
                pointed[j] = 1
    heads = [i for i in lost if not pointed[i]]
    # cycles with no head: the lowest-addressed chunk of each is its head (as the runtime's
    # check at exit picks it: runtime/src/leaks.c)
    rest = [i for i in lost if pointed[i]]
    for group in (heads, rest):
        for h in group:
            if state[h]:
                continue
            state[h] = 1
            stack = [h]
            while stack:
                i = stack.pop()
                for j in dst[start[i]: start[i + 1]]:
                    if not reached[j] and not state[j]:
                        state[j] = 2
                        stack.append(j)
    return state


@dataclass
class LeakGroup:
    kind: str  # "definite", "indirect", "conservative" (reached only through untyped memory)
    type: Optional[str]
    site_id: int
    count: int = 0
    bytes: int = 0
    example: int = 0
    example_seq: int = 0
    untyped: int = 0  # how many of these chunks are of unknown type (scanned conservatively)


@dataclass
class LeakReport:
    groups: List[LeakGroup] = field(default_factory=list)
    chunks: int = 0
    bytes: int = 0
    totals: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # kind -> (count, bytes)
    roots: Dict[str, int] = field(default_factory=dict)  # root kind -> how many ranges


KINDS = ("definite", "indirect", "conservative")


def leak_report(s: Session, g: HeapGraph) -> LeakReport:
    reached, only_cons = mark(g)
    state = classify(g, reached)
    r = LeakReport(chunks=len(g), bytes=sum(g.sizes))
    groups: Dict[Tuple[str, int], LeakGroup] = {}
    type_names: Dict[int, Optional[str]] = {}
    for i in range(len(g)):
        if state[i]:
            kind = "definite" if state[i] == 1 else "indirect"
        elif only_cons[i]:
            kind = "conservative"
        else:
            continue
        sid = g.site_ids[i]
        grp = groups.get((kind, sid))
        if grp is None:
            if sid not in type_names:
                type_names[sid] = site_type_name(s, sid, s.site_pc(sid)) if sid else None
            grp = groups[(kind, sid)] = LeakGroup(kind, type_names[sid], sid, example=g.bases[i],
                                                  example_seq=g.seqs[i])
        grp.count += 1
        grp.bytes += g.sizes[i]
        grp.untyped += 0 if g.precise[i] else 1
        if g.seqs[i] < grp.example_seq:
            grp.example, grp.example_seq = g.bases[i], g.seqs[i]
    r.groups = sorted(groups.values(), key=lambda x: (KINDS.index(x.kind), -x.bytes, -x.count, x.example))
    for k in KINDS:
        sel = [x for x in r.groups if x.kind == k]
        r.totals[k] = (sum(x.count for x in sel), sum(x.bytes for x in sel))
    for root in g.roots:
        r.roots[root.kind] = r.roots.get(root.kind, 0) + 1
    return r


def leaks(s: Session, limit: Optional[int] = None,
          g: Optional[HeapGraph] = None) -> Tuple[Dict[str, Any], str]:
    """`alloc leaks`: (JSON, text)."""
    g = g if g is not None else build(s)
    r = leak_report(s, g)
    js = {
        "groups": [{"kind": x.kind, "type": x.type, "site": site_json(s, s.site_pc(x.site_id)),
                    "count": x.count, "bytes": x.bytes, "example": hexaddr(x.example), "untyped": x.untyped}
                   for x in r.groups],
        "definite": {"count": r.totals["definite"][0], "bytes": r.totals["definite"][1]},
        "indirect": {"count": r.totals["indirect"][0], "bytes": r.totals["indirect"][1]},
        "conservative": {"count": r.totals["conservative"][0], "bytes": r.totals["conservative"][1]},
        "live": {"count": r.chunks, "bytes": r.bytes},
        "roots": r.roots,
        "typed": s.types is not None,
    }
    lines: List[str] = []
    titles = {"definite": "definitely lost",
              "indirect": "indirectly lost (reachable only from leaked chunks)",
              "conservative": "reachable only through untyped memory (a word that looks like a pointer)"}
    for k in KINDS:
        sel = [x for x in r.groups if x.kind == k]
        c, b = r.totals[k]
        if not sel:
            continue
        lines.append(f"{titles[k]}: {b} bytes in {c} chunk{'s' if c != 1 else ''}")
        for x in sel[:limit] if limit else sel:
            site = site_text(site_json(s, s.site_pc(x.site_id))) or "(unknown site)"
            note = f", {x.untyped} untyped" if x.untyped and k != "conservative" else ""
            lines.append(f"  {x.count:>8} {x.bytes:>12}  {x.type or '(type unknown)'}  at {site}"
                         f"  e.g. {x.example:#x}{note}")
    d, i = r.totals["definite"], r.totals["indirect"]
    if not d[0] and not i[0]:
        lines.append("no leaks: every live chunk is reachable from a root")
    lines.append(f"{r.chunks} live chunks, {r.bytes} bytes; roots: "
                 + ", ".join(f"{n} {k}" for k, n in sorted(r.roots.items())))
    return js, "\n".join(lines)


__all__ = ["mark", "classify", "leak_report", "leaks", "LeakGroup", "LeakReport", "KINDS"]
