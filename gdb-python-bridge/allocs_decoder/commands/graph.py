"""The heap-graph commands (leaks, retainers, snapshot, diff) over the decoder's heap_graph,
leaks, retainers and snapshot modules. Thread-local storage is a root when the Target tells each
thread's thread pointer (Target.thread_pointers)."""
from __future__ import annotations

from typing import List

from .. import heap_graph, leaks, retainers, snapshot
from ..heap_graph import HeapGraph, RootRange
from ..session import Session
from ..target import optional_call
from .model import Args, Command, CommandError, Option, Reply, address_of, parse_args


def graph(s: Session) -> HeapGraph:
    """The heap graph, with every thread's static TLS area as a root where the Target knows it."""
    pointers = optional_call(s.target, "thread_pointers")
    roots: List[RootRange] = []
    if isinstance(pointers, dict):
        roots = [heap_graph.tls_range(s, fs, num) for num, fs in sorted(pointers.items())]
    return heap_graph.build(s, extra_roots=roots)


class Leaks(Command):
    name = "leaks"
    help = """Live heap chunks no root reaches, grouped by type and site: alloc leaks [--json] [--limit N]

Roots: writable static data of every loaded object, every thread's stack, registers and
thread-local storage. Typed pointers are followed precisely, untyped memory conservatively.
"definitely lost": no root and no leaked chunk points to it; "indirectly lost": reachable only
from leaked chunks (as memcheck). Chunks reachable only through untyped memory are listed apart."""
    options = (Option("--limit", "N", "at most N groups per kind in text"),)
    expression = False

    def run(self, s: Session, a: Args) -> Reply:
        if a.rest:
            raise CommandError(f"alloc leaks: unexpected argument {a.rest!r}")
        js, text = leaks.leaks(s, limit=a.int_opt("--limit"), g=graph(s))
        return Reply(js, text)


class Retainers(Command):
    name = "retainers"
    help = """The shortest chains of pointers from a root to an allocation.

Usage: alloc retainers [--json] [--limit N] EXPR

Each step is typed (`g_cache .buckets[12] -> struct entry .next -> struct entry`); a few shortest
chains are shown (5 unless --limit)."""
    options = (Option("--limit", "N", "at most N chains (5)"),)

    def run(self, s: Session, a: Args) -> Reply:
        addr = address_of(s, a.rest)
        try:
            js, text = retainers.retainers(s, addr, limit=a.int_opt("--limit") or 5, g=graph(s))
        except ValueError as e:
            raise CommandError(f"alloc retainers: {e}")
        return Reply(js, text)


class Snapshot(Command):
    name = "snapshot"
    help = """Heap snapshots: alloc snapshot save [--json] [NAME|PATH] | ls [--json] | rm NAME

save records every live chunk (base, size, type, site, sequence number, outgoing pointers) in
${XDG_CACHE_HOME:-~/.cache}/allocs/snapshots/NAME.snap.json.gz (or PATH); compare them with
alloc diff, list newer allocations with alloc ls --since NAME."""
    expression = False
    needs_target = False  # ls, rm and the diff of two files read no process

    def parse(self, arg: str) -> Args:
        """The verb first, its options after it (`save --json NAME`) or before it."""
        words = arg.split()
        verb = next((w for w in words if not w.startswith("--")), "")
        if verb:
            words.remove(verb)
        a = parse_args(" ".join(words), self.options)
        a.rest = f"{verb} {a.rest}".strip()
        return a

    def run(self, s: Session, a: Args) -> Reply:
        verb, _, rest = a.rest.partition(" ")
        rest = rest.strip()
        if verb == "save":
            return Reply(*snapshot.save(s, rest or None, g=graph(s)))
        if verb == "ls" and not rest:
            return Reply(*snapshot.ls())
        if verb == "rm" and rest:
            return Reply(*snapshot.rm(rest))
        raise CommandError("alloc snapshot: expected save [NAME|PATH], ls, or rm NAME")


class Diff(Command):
    name = "diff"
    help = """Compare two heap snapshots: alloc diff [--json] [--limit N] [A [B]]

A and B are snapshot names or paths, or `now` (this stop); A defaults to the newest snapshot,
B to now. By type and by site: count and bytes added, freed and net, largest growth first."""
    options = (Option("--limit", "N", "at most N rows per table in text"),)
    expression = False
    needs_target = False  # ls, rm and the diff of two files read no process

    def run(self, s: Session, a: Args) -> Reply:
        names = a.rest.split()
        if len(names) > 2:
            raise CommandError("alloc diff: at most two snapshots")
        sa, na, sb, nb = snapshot.resolve_pair(s, names[0] if names else None,
                                               names[1] if len(names) > 1 else None)
        return Reply(*snapshot.diff(sa, sb, na, nb, limit=a.int_opt("--limit")))


GRAPH_COMMANDS = (Leaks(), Retainers(), Snapshot(), Diff())
