"""The heap-graph commands: leaks, retainers, snapshot save|ls|rm, diff. All the work is in the
decoder (heap_graph, leaks, retainers, snapshot); this file parses options, adds the roots only gdb
knows (each thread's thread-local storage, from $fs_base) and prints the (json, text) answers."""
from __future__ import annotations

from typing import List, Optional

import gdb  # type: ignore[import-not-found]

from allocs_decoder import heap_graph, leaks, retainers, snapshot
from allocs_decoder.heap_graph import HeapGraph, RootRange
from allocs_decoder.session import Session

from .common import _int_opt, address_of, emit, guarded, parse_args
from .session_cache import session


def tls_roots(s: Session) -> List[RootRange]:
    """Every thread's static TLS area, from its thread pointer ($fs_base: gdb's register list for
    the decoder has no fs_base)."""
    out: List[RootRange] = []
    for t in gdb.selected_inferior().threads():
        if not t.is_valid():
            continue
        try:
            with _Selected(t):
                fs = int(gdb.parse_and_eval("$fs_base")) & ((1 << 64) - 1)
        except (gdb.error, RuntimeError):
            continue
        if fs:
            out.append(heap_graph.tls_range(s, fs, t.num))
    return out


class _Selected:
    def __init__(self, t: gdb.InferiorThread) -> None:
        self.t = t
        self.prev: Optional[gdb.InferiorThread] = None

    def __enter__(self) -> None:
        self.prev = gdb.selected_thread()
        self.t.switch()

    def __exit__(self, *exc: object) -> None:
        if self.prev is not None and self.prev.is_valid():
            self.prev.switch()


def graph(s: Session) -> HeapGraph:
    return heap_graph.build(s, extra_roots=tls_roots(s))


def _out(js: object, text: str, as_json: bool) -> None:
    if as_json:
        emit(js)
    else:
        gdb.write(text + "\n")


class AllocLeaks(gdb.Command):
    """Live heap chunks no root reaches, grouped by type and site: alloc leaks [--json] [--limit N]

Roots: writable static data of every loaded object, every thread's stack, registers and
thread-local storage. Typed pointers are followed precisely, untyped memory conservatively.
"definitely lost": no root and no leaked chunk points to it; "indirectly lost": reachable only
from leaked chunks (as memcheck). Chunks reachable only through untyped memory are listed apart."""

    def __init__(self) -> None:
        super().__init__("alloc leaks", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--limit",))
        if a.rest:
            raise gdb.GdbError(f"alloc leaks: unexpected argument {a.rest!r}")
        s = session()
        _out(*leaks.leaks(s, limit=_int_opt(a, "--limit"), g=graph(s)), a.json)


class AllocRetainers(gdb.Command):
    """The shortest chains of pointers from a root to an allocation: alloc retainers [--json] [--limit N] EXPR

Each step is typed (`g_cache .buckets[12] -> struct entry .next -> struct entry`); a few shortest
chains are shown (5 unless --limit)."""

    def __init__(self) -> None:
        super().__init__("alloc retainers", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--limit",))
        s = session()
        addr = address_of(a.rest)
        try:
            js, text = retainers.retainers(s, addr, limit=_int_opt(a, "--limit") or 5, g=graph(s))
        except ValueError as e:
            raise gdb.GdbError(f"alloc retainers: {e}")
        _out(js, text, a.json)


class AllocSnapshot(gdb.Command):
    """Heap snapshots: alloc snapshot save [--json] [NAME|PATH] | ls [--json] | rm NAME

save records every live chunk (base, size, type, site, sequence number, outgoing pointers) in
${XDG_CACHE_HOME:-~/.cache}/allocs/snapshots/NAME.snap.json.gz (or PATH); compare them with
alloc diff, list newer allocations with alloc ls --since NAME."""

    def __init__(self) -> None:
        super().__init__("alloc snapshot", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        verb, _, tail = arg.strip().partition(" ")
        if verb.startswith("--"):  # alloc snapshot --json save NAME
            flag, _, tail = arg.strip().partition(" ")
            verb, _, tail = tail.strip().partition(" ")
            tail = f"{flag} {tail}"
        a = parse_args(tail)
        rest = a.rest
        if verb == "save":
            s = session()
            _out(*snapshot.save(s, rest or None, g=graph(s)), a.json)
        elif verb == "ls" and not rest:
            _out(*snapshot.ls(), a.json)
        elif verb == "rm" and rest:
            _out(*snapshot.rm(rest), a.json)
        else:
            raise gdb.GdbError("alloc snapshot: expected save [NAME|PATH], ls, or rm NAME")


class AllocDiff(gdb.Command):
    """Compare two heap snapshots: alloc diff [--json] [--limit N] [A [B]]

A and B are snapshot names or paths, or `now` (this stop); A defaults to the newest snapshot,
B to now. By type and by site: count and bytes added, freed and net, largest growth first."""

    def __init__(self) -> None:
        super().__init__("alloc diff", gdb.COMMAND_DATA, gdb.COMPLETE_FILENAME)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--limit",))
        names = a.rest.split()
        if len(names) > 2:
            raise gdb.GdbError("alloc diff: at most two snapshots")
        needs_process = len(names) < 2 or snapshot.NOW in names
        s = session() if needs_process else None
        first = names[0] if names else None
        second = names[1] if len(names) > 1 else None
        sa, na, sb, nb = snapshot.resolve_pair(s, first, second)
        _out(*snapshot.diff(sa, sb, na, nb, limit=_int_opt(a, "--limit")), a.json)


COMMANDS = (AllocLeaks, AllocRetainers, AllocSnapshot, AllocDiff)
