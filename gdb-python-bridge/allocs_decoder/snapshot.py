"""Heap snapshots (docs/snapshot-format.md): the live heap of one stop written compactly (per
chunk: base, size, sequence number, site, and its outgoing pointers), listed, removed, and
compared: `alloc diff A B` by type and by site, count and bytes added, freed and net, largest
growth first. A snapshot is taken from a live process or a core ("a core is a snapshot too": the
CLI's `allocs diff` saves one from each core with gdb in batch mode and compares the files).

Chunks are matched between snapshots by (base, sequence number): the same address reused by a
later allocation is a free and an add. Sites are keyed by their source position (function,
file:line), so two runs of one program compare even when their load addresses differ.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import json
import os
import re
import time
from array import array
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

from .errors import DecodeError
from .heap_graph import HeapGraph, build
from .heap_scan import read_chunks
from .sites import site_json, site_type_name
from .render import site_text
from .session import Session

FORMAT = "allocs-snapshot"
VERSION = 1
SUFFIX = ".snap.json.gz"
NOW = "now"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class SnapshotError(DecodeError):
    """A snapshot that cannot be found, read or written (the front prefixes `alloc: `)."""


def snapshot_dir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(cache, "allocs", "snapshots")


def resolve(name_or_path: str) -> str:
    """A NAME (in the snapshot directory) or a PATH (anything with a slash or the suffix)."""
    if "/" in name_or_path or name_or_path.endswith(SUFFIX) or name_or_path.endswith(".json"):
        return os.path.abspath(os.path.expanduser(name_or_path))
    if not _NAME.match(name_or_path):
        raise SnapshotError(f"{name_or_path!r} is not a snapshot name (letters, digits, . _ -)")
    return os.path.join(snapshot_dir(), name_or_path + SUFFIX)


def _next_name() -> str:
    taken = set(os.listdir(snapshot_dir())) if os.path.isdir(snapshot_dir()) else set()
    n = 1
    while f"s{n}{SUFFIX}" in taken:
        n += 1
    return f"s{n}"


# ---- taking one ----
def take(s: Session, g: Optional[HeapGraph] = None, edges: bool = True) -> Dict[str, Any]:
    """The snapshot of the stopped process, as the dictionary written to the file. edges False
    (what a diff against now needs): the chunks alone, without the pointer scan."""
    if g is None and not edges:
        c = read_chunks(s)
        c.spans = []
        site_ids, cols = c.site_ids, {"base": array("Q", c.bases), "size": c.sizes, "seq": c.seqs}
        edge_cols: Dict[str, Any] = {"start": array("Q"), "offset": array("I"), "dst": array("I")}
        precise = bytearray()
    else:
        g = g if g is not None else build(s)
        site_ids, cols = g.site_ids, {"base": array("Q", g.bases), "size": g.sizes, "seq": g.seqs}
        edge_cols = {"start": g.edge_start, "offset": g.edge_off, "dst": g.edge_dst}
        precise = g.precise
    site_index: Dict[int, int] = {}
    sites: List[Dict[str, Any]] = []
    for sid in sorted(set(site_ids)):
        pc = s.site_pc(sid) if sid else None
        j = site_json(s, pc)
        j.pop("seq", None)
        j["type"] = site_type_name(s, sid, pc) if sid else None
        site_index[sid] = len(sites)
        sites.append(j)
    root = s.require_root()
    return {
        "format": FORMAT, "version": VERSION, "created": round(time.time(), 3),
        "runtime": f"{root.addr:#x}", "sites": sites,
        "chunks": {**cols, "site": array("I", [site_index[x] for x in site_ids]), "precise": precise},
        "edges": edge_cols,
    }


def save(s: Session, name: Optional[str] = None, g: Optional[HeapGraph] = None) -> Tuple[Dict[str, Any], str]:
    path = resolve(name) if name else resolve(_next_name())
    snap = take(s, g)
    write(snap, path)
    n = len(snap["chunks"]["base"])
    total = sum(snap["chunks"]["size"])
    js = {"path": path, "name": _display(path), "chunks": n, "bytes": total,
          "edges": len(snap["edges"]["dst"])}
    return js, f"snapshot {_display(path)}: {n} chunks, {total} bytes, {js['edges']} pointers -> {path}"


# Columns are written as base64 of their little-endian bytes (docs/snapshot-format.md): a million
# chunks dump and load in C loops, not as ten million JSON numbers.
_WIDTH = {8: "u64", 4: "u32", 1: "u8"}
_CODE = {"u64": "Q", "u32": "I", "u8": "B"}


def _encode(col: Any) -> Dict[str, str]:
    arr = col if isinstance(col, array) else array("B", col) if isinstance(col, (bytes, bytearray)) \
        else array("Q", col)
    if arr.itemsize == 8 and arr.typecode != "Q":
        arr = array("Q", arr)
    return {"type": _WIDTH[arr.itemsize], "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def _decode(col: Any) -> "array[int]":
    if isinstance(col, list):  # a hand-written or older file: plain numbers
        return array("Q", col)
    if not isinstance(col, dict) or col.get("type") not in _CODE:
        raise ValueError("a column is neither numbers nor an encoded array")
    arr = array(_CODE[col["type"]])
    arr.frombytes(base64.b64decode(col.get("data", ""), validate=True))
    return arr


def write(snap: Dict[str, Any], path: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    out = {**snap, "chunks": {k: _encode(v) for k, v in snap["chunks"].items()},
           "edges": {k: _encode(v) for k, v in snap["edges"].items()}}
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as f:
            json.dump(out, f, separators=(",", ":"))
        os.replace(tmp, path)  # a reader never sees half a snapshot
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise SnapshotError(f"cannot write {path}: {e.strerror or e}")


def load(name_or_path: str) -> Dict[str, Any]:
    path = resolve(name_or_path)
    if not os.path.exists(path):
        raise SnapshotError(f"no snapshot {name_or_path!r} ({path})")
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
            snap = json.load(f)
        if not isinstance(snap, dict) or snap.get("format") != FORMAT:
            raise SnapshotError(f"{path} is not an allocs snapshot")
        if snap.get("version") != VERSION:
            raise SnapshotError(f"{path} has version {snap.get('version')}, expected {VERSION}")
        c = {k: _decode(v) for k, v in dict(snap.get("chunks") or {}).items()}
        snap["chunks"] = c
        snap["edges"] = {k: _decode(v) for k, v in dict(snap.get("edges") or {}).items()}
    except (OSError, ValueError, EOFError, TypeError, binascii.Error) as e:
        raise SnapshotError(f"{path} is not a readable snapshot: {e}")
    cols = ("base", "size", "seq", "site")
    if not all(k in c for k in cols) or len({len(c[k]) for k in cols}) != 1:
        raise SnapshotError(f"{path} is damaged (its chunk columns disagree)")
    if not isinstance(snap.get("sites"), list) or (len(c["site"]) and max(c["site"]) >= len(snap["sites"])):
        raise SnapshotError(f"{path} is damaged (a chunk names no site)")
    return snap


def _display(path: str) -> str:
    if os.path.dirname(path) == snapshot_dir() and path.endswith(SUFFIX):
        return os.path.basename(path)[: -len(SUFFIX)]
    return path


def ls() -> Tuple[Dict[str, Any], str]:
    d = snapshot_dir()
    rows: List[Dict[str, Any]] = []
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not f.endswith(SUFFIX):
            continue
        p = os.path.join(d, f)
        st = os.stat(p)
        rows.append({"name": f[: -len(SUFFIX)], "path": p, "fileBytes": st.st_size,
                     "mtime": round(st.st_mtime, 3)})
    lines = [f"{r['name']:<24} {r['fileBytes']:>10} bytes  "
             f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(r['mtime']))}" for r in rows]
    lines.append(f"{len(rows)} snapshot{'s' if len(rows) != 1 else ''} in {d}")
    return {"directory": d, "snapshots": rows}, "\n".join(lines)


def rm(name: str) -> Tuple[Dict[str, Any], str]:
    path = resolve(name)
    if not os.path.exists(path):
        raise SnapshotError(f"no snapshot {name!r} ({path})")
    os.unlink(path)
    return {"removed": path}, f"removed {path}"


def latest() -> Optional[str]:
    d = snapshot_dir()
    files = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(SUFFIX)] if os.path.isdir(d) else []
    return max(files, key=os.path.getmtime) if files else None


# ---- comparing two ----
@dataclass
class DiffRow:
    key: Any
    added: int = 0
    added_bytes: int = 0
    freed: int = 0
    freed_bytes: int = 0

    @property
    def net(self) -> int:
        return self.added - self.freed

    @property
    def net_bytes(self) -> int:
        return self.added_bytes - self.freed_bytes

    def to_json(self, by: str) -> Dict[str, Any]:
        return {by: self.key, "added": self.added, "addedBytes": self.added_bytes, "freed": self.freed,
                "freedBytes": self.freed_bytes, "net": self.net, "netBytes": self.net_bytes}


def site_key(site: Dict[str, Any]) -> str:
    """A site as text independent of load addresses: `fn at file:line`, else its pc."""
    if site.get("file") and site.get("line") is not None:
        return f"{site.get('function') or '?'} at {site['file']}:{site['line']}"
    if site.get("function"):
        return str(site["function"])
    return site.get("pc") or "(unknown site)"


def _keys(snap: Dict[str, Any]) -> List[int]:
    c = snap["chunks"]
    return [(q << 47) | b for b, q in zip(c["base"], c["seq"])]


def diff(a: Dict[str, Any], b: Dict[str, Any], a_name: str = "A", b_name: str = "B",
         limit: Optional[int] = None) -> Tuple[Dict[str, Any], str]:
    """What changed from snapshot a to snapshot b, by type and by site."""
    ka, kb = _keys(a), _keys(b)
    by: Dict[str, Dict[Any, DiffRow]] = {"type": {}, "site": {}}
    total = DiffRow("total")

    def count(snap: Dict[str, Any], keys: List[int], other: List[int], added: bool) -> None:
        others = set(other)
        sizes, site_of = snap["chunks"]["size"], snap["chunks"]["site"]
        per_site: Dict[int, List[int]] = {}
        for i in [i for i, k in enumerate(keys) if k not in others]:
            row = per_site.setdefault(site_of[i], [0, 0])
            row[0] += 1
            row[1] += sizes[i]
        for si, (n, nbytes) in per_site.items():
            site = snap["sites"][si]
            for kind, key in (("type", site.get("type") or "(type unknown)"), ("site", site_key(site))):
                _bump(by[kind].setdefault(key, DiffRow(key)), n, nbytes, added)
            _bump(total, n, nbytes, added)

    count(b, kb, ka, True)
    count(a, ka, kb, False)
    js: Dict[str, Any] = {"from": a_name, "to": b_name,
                          "total": {k: v for k, v in total.to_json("key").items() if k != "key"}}
    lines = [f"from {a_name} ({len(ka)} chunks) to {b_name} ({len(kb)} chunks): "
             f"+{total.added} chunks {total.added_bytes} bytes, "
             f"-{total.freed} chunks {total.freed_bytes} bytes, "
             f"net {total.net:+d} chunks {total.net_bytes:+d} bytes"]
    for kind in ("type", "site"):
        rows = sorted(by[kind].values(), key=lambda r: (-r.net_bytes, -r.added_bytes, str(r.key)))
        js["by" + kind.capitalize()] = [r.to_json(kind) for r in rows]
        lines.append(f"by {kind}:")
        lines.append(f"  {'net bytes':>12} {'net':>8} {'+count':>8} {'+bytes':>12} {'-count':>8} "
                     f"{'-bytes':>12}  {kind}")
        for r in rows[:limit] if limit else rows:
            lines.append(f"  {r.net_bytes:>+12d} {r.net:>+8d} {r.added:>8} {r.added_bytes:>12} {r.freed:>8} "
                         f"{r.freed_bytes:>12}  {r.key}")
    return js, "\n".join(lines)


def _bump(row: DiffRow, n: int, nbytes: int, added: bool) -> None:
    if added:
        row.added += n
        row.added_bytes += nbytes
    else:
        row.freed += n
        row.freed_bytes += nbytes


Side = Tuple[Dict[str, Any], str, Dict[str, Any], str]


def resolve_pair(s: Optional[Session], a: Optional[str], b: Optional[str]) -> Side:
    """The two sides of `alloc diff [A] [B]`: A defaults to the newest saved snapshot, B to now."""
    if a is None:
        a = latest()
        if a is None:
            raise SnapshotError("no snapshot saved yet (alloc snapshot save NAME)")
    b = b or NOW

    def side(x: str) -> Dict[str, Any]:
        if x == NOW:
            if s is None:
                raise SnapshotError("\"now\" needs a process or a core")
            return take(s, edges=False)
        return load(x)

    def label(x: str) -> str:
        return NOW if x == NOW else _display(resolve(x))

    return side(a), label(a), side(b), label(b)


def chunk_key(base: int, seq: int) -> int:
    """One int per chunk identity (user addresses are below 2^47, sequence numbers 30 bits)."""
    return (seq << 47) | base


def since_keys(name_or_path: str) -> Set[int]:
    """`alloc ls --since A`: the chunks of snapshot A; a live chunk not among them was allocated
    after A. (Sequence numbers order allocations within a thread only: each thread draws blocks of
    them, so "newer than A" is "not in A", matched by base and sequence number.)"""
    return set(_keys(load(name_or_path)))


__all__ = ["save", "load", "ls", "rm", "diff", "take", "resolve_pair", "since_keys", "site_text"]
