"""`alloc retainers EXPR`: the shortest chains of pointers from a root to an allocation, each step
typed, as DevTools' Retainers panel shows them:

    g_cache .buckets[12] -> struct entry .next -> struct entry

A breadth-first walk from every root over the heap graph gives each chunk its distance and (up
to PARENTS) the pointers that reach it at that distance; the chains are read back from the
target along them, shortest first, at most `limit`.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .address_description import hexaddr
from .heap_graph import REGISTER, STACK, STATIC, TLS, HeapGraph, build, frame_of
from .session import Session

PARENTS = 4  # pointers kept per chunk at its shortest distance
UNREACHED = -1

# A parent: ("root", root edge index) or ("chunk", source chunk, offset in it)
Parent = Tuple[str, int, int]


def shortest_parents(g: HeapGraph) -> Tuple[List[int], Dict[int, List[Parent]]]:
    n = len(g)
    dist = [UNREACHED] * n
    parents: Dict[int, List[Parent]] = {}
    q: deque = deque()
    for k, e in enumerate(g.root_edges):
        if dist[e.dst] == UNREACHED:
            dist[e.dst] = 0
            q.append(e.dst)
        if dist[e.dst] == 0:
            ps = parents.setdefault(e.dst, [])
            if len(ps) < PARENTS:
                ps.append(("root", k, 0))
    start, off, dst = g.edge_start, g.edge_off, g.edge_dst
    while q:
        i = q.popleft()
        d = dist[i] + 1
        for k in range(start[i], start[i + 1]):
            j = dst[k]
            if dist[j] == UNREACHED:
                dist[j] = d
                q.append(j)
            if dist[j] == d:
                ps = parents.setdefault(j, [])
                if len(ps) < PARENTS:
                    ps.append(("chunk", i, off[k]))
    return dist, parents


def chains(g: HeapGraph, target: int, limit: int = 5) -> List[List[Parent]]:
    """Up to `limit` shortest chains to chunk `target`, each from its root to the target's last
    pointer."""
    dist, parents = shortest_parents(g)
    if dist[target] == UNREACHED:
        return []
    out: List[List[Parent]] = []

    def back(i: int, suffix: List[Parent]) -> None:
        for p in parents.get(i, []):
            if len(out) >= limit:
                return
            if p[0] == "root":
                out.append([p] + suffix)
            else:
                back(p[1], [p] + suffix)

    back(target, [])
    return out


@dataclass
class Step:
    kind: str  # a root kind (static, stack, register, tls, mmap) or "heap"
    text: str
    address: Optional[int]  # the pointer's address (None: a register)
    type: Optional[str]  # the holding object's type
    path: str  # the pointer's member path in it
    json_extra: Dict[str, Any]

    def to_json(self) -> Dict[str, Any]:
        return {"kind": self.kind, "address": hexaddr(self.address), "type": self.type, "path": self.path,
                "text": self.text, **self.json_extra}


def _root_step(s: Session, g: HeapGraph, k: int) -> Step:
    e = g.root_edges[k]
    r = g.roots[e.range]
    if r.kind == REGISTER:
        return Step(REGISTER, f"register {r.name} of thread {r.thread}", None, None, "",
                    {"register": r.name, "thread": r.thread})
    if r.kind == STACK:
        f, v = frame_of(r, e.where)
        fn = f.function if f is not None and f.function else "?"
        extra = {"thread": r.thread, "function": fn, "frame": f.level if f is not None else None,
                 "variable": v.name if v is not None else None}
        path = ""
        if v is not None:
            path = v.name + (f"+{e.where - v.addr}" if e.where != v.addr else "")
        text = f"thread {r.thread} {fn}()" + (f" {path}" if path else f" stack {e.where:#x}")
        return Step(STACK, text, e.where, None, path, extra)
    d = s.describe(e.where)
    sym = d.site.get("symbol") if isinstance(d.site, dict) else None
    path = d.path or ""
    name = sym or (r.name or r.kind)
    if r.kind == STATIC:
        text = f"{name} {path}".rstrip()
    elif r.kind == TLS:
        text = f"thread {r.thread} thread-local storage {e.where:#x}"
    else:
        text = f"{r.kind} {name} {e.where:#x}"
    return Step(r.kind, text, e.where, d.type, path, {"symbol": sym, "object": r.name})


def _heap_step(s: Session, g: HeapGraph, i: int, offset: int) -> Step:
    t = g.type_of(s, i)
    path = ""
    if t is not None and s.types is not None:
        path = s.types.answer(t, offset).path
    tname = t.c_name if t is not None else "(type unknown)"
    if not path:
        path = f"+{offset}"
    typed = bool(g.precise[i])
    text = f"{tname} {path}" + ("" if typed else " (untyped)")
    return Step("heap", text, g.bases[i] + offset, t.c_name if t is not None else None, path,
                {"base": hexaddr(g.bases[i]), "typed": typed})


def retainers(s: Session, addr: int, limit: int = 5,
              g: Optional[HeapGraph] = None) -> Tuple[Dict[str, Any], str]:
    """`alloc retainers`: (JSON, text) for the allocation holding addr."""
    g = g if g is not None else build(s)
    i = g.index_of(addr)
    if i is None:
        raise ValueError(f"{addr:#x} is not inside a live heap chunk")
    t = g.type_of(s, i)
    tname = t.c_name if t is not None else "(type unknown)"
    found = chains(g, i, limit)
    out_chains = []
    lines = [f"{g.bases[i]:#x} ({g.sizes[i]} bytes, {tname})"]
    for ch in found:
        steps = [_root_step(s, g, p[1]) if p[0] == "root" else _heap_step(s, g, p[1], p[2]) for p in ch]
        out_chains.append({"length": len(steps), "steps": [st.to_json() for st in steps]})
        lines.append("  " + " -> ".join(st.text for st in steps) + f" -> {tname}")
    if not found:
        lines.append("  no root reaches it: it is leaked (see alloc leaks)")
    js = {"target": {"base": hexaddr(g.bases[i]), "size": g.sizes[i], "type": t.c_name if t else None,
                     "seq": g.seqs[i]},
          "reachable": bool(found), "chains": out_chains}
    return js, "\n".join(lines)


__all__ = ["retainers", "chains", "shortest_parents", "STATIC"]
