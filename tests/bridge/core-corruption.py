# Sourced by core-corruption.test.ts in gdb, after the bridge, with the program loaded and
# CORRUPT_CORE naming a private copy of a core file of it (edited in place and restored).
#
# Loads the undamaged core, answers `alloc info --json` for every address of CORRUPT_ADDRS
# (name=0xADDR,...), then makes CORRUPT_COUNT mutants from CORRUPT_SEED (each reproducible from
# its own seed): flipped bytes in the notes and the load segments, hostile values (huge lengths
# and counts, pointers to unmapped memory, cycles) in the runtime's root record, the tables it
# points to, the chunk maps, chunk headers and trailers, loaded metadata and type records. Each
# mutant is loaded with `core-file` into this one gdb, every address is asked about again, and
# one line `@@mutant {json}` says what happened; the test judges them (a changed answer needs a
# damage note, no internal error, no query slower than CORRUPT_QUERY_SECONDS).
from __future__ import annotations

import json
import os
import random
import struct
import time
from typing import Any, Dict, List, Optional, Tuple

import gdb  # type: ignore[import-not-found]

from allocs_decoder import layout as L
from allocs_gdbfront.session_cache import invalidate, session

PT_LOAD, PT_NOTE = 1, 4
NT_FILE = 0x46494C45
DAMAGE = "damaged"
# What a user checks in an answer (names and seq are reported as read: see docs/core-corruption.md).
COMPARED = ("allocator", "base", "size", "offset", "type", "uniqtype", "path", "pathType", "state")


class Segment:
    def __init__(self, kind: int, offset: int, vaddr: int, filesz: int) -> None:
        self.kind, self.offset, self.vaddr, self.filesz = kind, offset, vaddr, filesz


def segments(path: str) -> List[Segment]:
    with open(path, "rb") as f:
        ehdr = f.read(64)
        phoff, = struct.unpack_from("<Q", ehdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        fields = struct.unpack_from("<IIQQQQ", table, i * phentsize)
        p_type, p_offset, p_vaddr, p_filesz = fields[0], fields[2], fields[3], fields[5]
        if p_type in (PT_LOAD, PT_NOTE) and p_filesz:
            out.append(Segment(p_type, p_offset, p_vaddr, p_filesz))
    return out


def file_offset(segs: List[Segment], vaddr: int, size: int) -> Optional[int]:
    for s in segs:
        if s.kind == PT_LOAD and s.vaddr <= vaddr and vaddr + size <= s.vaddr + s.filesz:
            return s.offset + vaddr - s.vaddr
    return None


def nt_file_strings(path: str, segs: List[Segment]) -> Optional[Tuple[int, int]]:
    """(file offset, length) of the path strings of the NT_FILE note."""
    with open(path, "rb") as f:
        for s in segs:
            if s.kind != PT_NOTE:
                continue
            f.seek(s.offset)
            data = f.read(s.filesz)
            at = 0
            while at + 12 <= len(data):
                namesz, descsz, ntype = struct.unpack_from("<III", data, at)
                desc = at + 12 + (namesz + 3) // 4 * 4
                if ntype == NT_FILE and descsz >= 16:
                    count, = struct.unpack_from("<Q", data, desc)
                    first = desc + 16 + 24 * count
                    if first < desc + descsz:
                        return s.offset + first, desc + descsz - first
                at = desc + (descsz + 3) // 4 * 4
    return None


def ask(addr: int) -> Dict[str, Any]:
    """`alloc info --json ADDR` as a user runs it: the answer, or the one-line error, and its time."""
    t0 = time.monotonic()
    try:
        text = gdb.execute(f"alloc info --json {addr:#x}", to_string=True)
        line = next((x for x in text.splitlines() if x.startswith("{")), "")
        out: Dict[str, Any] = {"answer": json.loads(line)} if line else {"error": "no JSON: " + text[:200]}
    except gdb.error as e:
        out = {"error": str(e)}
    out["seconds"] = round(time.monotonic() - t0, 3)
    return out


class Targets:
    """Where the runtime's tables are in this core: (label, vaddr, record type or None, size)."""

    def __init__(self, addrs: List[int]) -> None:
        self.places: List[Tuple[str, int, Any, int]] = []
        s = session()
        root = s.require_root()
        rec = root.rec
        self.add("root", root.addr, L.RootRec, 1)
        tables = [("bigs", rec.bigs, L.BigRec, rec.nbigs),
                  ("objects", rec.objects, L.ObjectRec, rec.nobjects),
                  ("threads", rec.threads, L.ThreadRec, rec.nthreads),
                  ("sites", rec.sites, L.SiteRec, rec.nsites),
                  ("large_chunks", rec.large_chunks, L.LargeChunkRec, rec.nlarge_chunks),
                  ("allocators", rec.allocators, L.AllocatorRec, rec.nallocators)]
        for label, addr, rt, n in tables:
            self.add(label, addr, rt, min(n, 4096))
        pools = [o.base for o in s.pools.walk()]
        for base in pools:
            hit = self.suballoc_slot(s, base)
            if hit:
                self.add("suballoc", hit, L.SuballocRec, 1)
        for o in s.levels.objects():
            if o.meta:
                self.add("loaded_meta", o.meta, L.LoadedMetaRec, 1)
        for a in addrs:
            region = a >> L.CHUNK_REGION_SHIFT
            if rec.chunk_l1 and region < L.CHUNK_L1_ENTRIES:
                self.add("chunk_l1", rec.chunk_l1 + 8 * region, None, 8)
            c = s.heap.find_chunk(a)
            if c is not None:
                m = s.heap.region_map(region)
                self.add("chunk_map", m + ((c.base & L.CHUNK_REGION_MASK) >> L.GRANULE_SHIFT), None, 1)
                self.add("chunk_header", c.base - 8, None, 8)
                self.add("chunk_trailer", c.base + c.usable - 8, None, 8)
            d = s.describe(a)
            for t in (d.utype, d.path_utype):
                if t is not None and t.addr:
                    self.add("uniqtype", t.addr, L.UniqtypeRec, 1)
                    if t.items:
                        self.add("uniqtype_items", t.items, None, 8 * min(t.count, 64) or 8)
        self.chunk_l1 = rec.chunk_l1

    def suballoc_slot(self, s: Any, base: int) -> int:
        cap = int(s.root().rec.suballocs_capacity)
        table = s.root().rec.suballocs
        for i in range(cap):
            data = s.reader.try_read(table + i * L.SuballocRec.size, 8)
            if data and struct.unpack("<Q", data)[0] == base:
                return int(table + i * L.SuballocRec.size)
        return 0

    def add(self, label: str, addr: int, rec_type: Any, count: int) -> None:
        if addr:
            self.places.append((label, addr, rec_type, count))


def hostile(rng: random.Random, old: int, width: int, self_addr: int, targets: Targets) -> int:
    mask = (1 << (8 * width)) - 1
    other = rng.choice(targets.places)[1]
    choices = [0, 1, mask, mask >> 1, rng.getrandbits(8 * width), 0x10, 0xDEAD0000, 0x7FF0DEAD0000,
               self_addr, other, old + rng.choice([1, 8, 16, 4096, -8, -4096]),
               old ^ (1 << rng.randrange(8 * width)),
               old * 4096, 0x7FFFFFFF]
    return rng.choice(choices) & mask


def mutate(rng: random.Random, segs: List[Segment], targets: Targets, note_paths: Optional[Tuple[int, int]],
           size: int) -> Tuple[str, List[Tuple[int, bytes]]]:
    """What to write where: (what, [(file offset, new bytes)])."""
    kind = rng.choices(["note", "note_path", "load", "root", "table", "heap", "type"],
                       [10, 5, 15, 15, 35, 10, 10])[0]
    if kind == "note" or (kind == "note_path" and note_paths is None):
        notes = [s for s in segs if s.kind == PT_NOTE]
        s = rng.choice(notes)
        edits = [(s.offset + rng.randrange(s.filesz), bytes([rng.randrange(256)]))
                 for _ in range(rng.randint(1, 4))]
        return "note bytes", edits
    if kind == "note_path":
        assert note_paths is not None
        at = note_paths[0] + rng.randrange(note_paths[1])
        return "a byte of a path in NT_FILE", [(at, bytes([rng.choice([0xCA, 0xFF, 0x80, 0xC3])]))]
    if kind == "load":
        loads = [s for s in segs if s.kind == PT_LOAD]
        edits = []
        for _ in range(rng.randint(1, 8)):
            s = rng.choice(loads)
            edits.append((s.offset + rng.randrange(s.filesz), bytes([rng.randrange(256)])))
        return "load segment bytes", edits
    wanted = {"root": ("root",), "heap": ("chunk_map", "chunk_header", "chunk_trailer", "chunk_l1"),
              "type": ("uniqtype", "uniqtype_items", "loaded_meta")}.get(kind)
    places = [p for p in targets.places if wanted is None or p[0] in wanted] or targets.places
    label, addr, rec_type, count = rng.choice(places)
    if rec_type is None:
        at = addr + rng.randrange(count)
        off = file_offset(segs, at, 1)
        byte = rng.choice([0, 0xFF, rng.randrange(256)])
        return f"{label} byte at {at:#x} -> {byte:#x}", ([(off, bytes([byte]))] if off is not None else [])
    index = rng.randrange(max(count, 1))
    name, field_off, code = rng.choice(rec_type.table)
    width = struct.calcsize("<" + code)
    at = addr + index * rec_type.size + field_off
    off = file_offset(segs, at, width)
    if off is None:
        return f"{label}[{index}].{name} (not in the core)", []
    if code.endswith("s"):
        return f"{label}[{index}].{name} byte", [(off + rng.randrange(width), bytes([rng.randrange(256)]))]
    with open(os.environ["CORRUPT_CORE"], "rb") as f:
        f.seek(off)
        old = int.from_bytes(f.read(width), "little")
    new = hostile(rng, old, width, addr + index * rec_type.size, targets)
    return f"{label}[{index}].{name} {old:#x} -> {new:#x}", [(off, new.to_bytes(width, "little"))]


def load(core: str) -> Optional[str]:
    """Loads a core; the error gdb gives when it refuses it."""
    invalidate()
    try:
        gdb.execute(f"core-file {core}", to_string=False)
        return None
    except gdb.error as e:
        return str(e).splitlines()[0] if str(e) else "gdb error"
    finally:
        invalidate()


def compared(answer: Dict[str, Any]) -> Dict[str, Any]:
    out = {k: answer.get(k) for k in COMPARED}
    site = answer.get("site") or {}
    out["site"] = {k: site.get(k) for k in ("function", "file", "line", "symbol", "variable")}
    out["chain"] = [(lv["allocator"], lv["base"], lv["size"]) for lv in answer.get("chain", [])]
    return out


def judge(base: Dict[str, Any], got: Dict[str, Any]) -> str:
    if "error" in got:
        return "internal" if "internal error" in got["error"] else "error"
    if "error" in base:
        return "changed"
    a = got["answer"]
    noted = any(DAMAGE in n for n in a.get("notes", []))
    if compared(a) == compared(base["answer"]):
        return "noted" if noted else "same"
    return "noted" if noted else "silent"


def main() -> None:
    core = os.environ["CORRUPT_CORE"]
    seed = int(os.environ.get("CORRUPT_SEED", "1"))
    count = int(os.environ.get("CORRUPT_COUNT", "100"))
    addrs = [(kv.split("=")[0], int(kv.split("=")[1], 0)) for kv in os.environ["CORRUPT_ADDRS"].split(",")]
    # Every mutant is the same path edited in place: gdb must parse each afresh, not reuse the BFD
    # it opened for the last one (gdb shares a BFD whose name, size and mtime in seconds match, so
    # a mutant written within the same second was read through the previous one's parsed notes;
    # one run in four stopped with "unexpected size of section .reg-xstate", plausibly this).
    gdb.execute("maint set bfd-sharing off", to_string=True)
    refused = load(core)
    assert refused is None, refused
    baseline = {name: ask(a) for name, a in addrs}
    print("@@baseline " + json.dumps(baseline), flush=True)
    targets = Targets([a for _, a in addrs])
    segs = segments(core)
    note_paths = nt_file_strings(core, segs)
    size = os.path.getsize(core)
    for i in range(count):
        rng = random.Random(seed * 100003 + i)
        what, edits = mutate(rng, segs, targets, note_paths, size)
        print(f"@@start {i} {what}", flush=True)
        saved = []
        with open(core, "r+b") as f:
            for off, data in edits:
                f.seek(off)
                saved.append((off, f.read(len(data))))
                f.seek(off)
                f.write(data)
        try:
            t0 = time.monotonic()
            refusal = load(core)
            results: Dict[str, Any] = {}
            if refusal is None:
                for name, a in addrs:
                    got = ask(a)
                    got["verdict"] = judge(baseline[name], got)
                    results[name] = got
            print("@@mutant " + json.dumps({"index": i, "seed": seed, "what": what, "refused": refusal,
                                            "results": results, "seconds": round(time.monotonic() - t0, 3)}),
                  flush=True)
        finally:
            with open(core, "r+b") as f:
                for off, data in reversed(saved):
                    f.seek(off)
                    f.write(data)
    print("@@done", flush=True)


main()
