#!/usr/bin/env python3
"""Fails when two runtime source files use each other's symbols (a mutual call).

Each runtime/src/*.c is compiled to an object file with the runtime's flags; `nm` gives the
global symbols each defines and those it leaves undefined. File A uses file B when A leaves
undefined a symbol B defines. A pair that uses each other is a cycle between two parts, which
the architecture (issue 12) rules out: one of them should be a leaf the other calls.

ALLOWED lists the pairs still tolerated, each with the reason; the list may only shrink.
Usage: check-mutual-calls.py [--list]   (--list prints every use, for finding the cycles)
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "runtime" / "src"
CFLAGS = ["-std=gnu11", "-O2", "-fPIC", "-fvisibility=hidden", "-ftls-model=initial-exec",
          "-fno-strict-aliasing", "-w"]

# (file, file): reason. Sorted pair of basenames without ".c". Empty since issue 12's last
# pairs (the heap part's) were broken; a new entry needs a reason no refactoring answers.
ALLOWED: dict[tuple[str, str], str] = {}


def symbols(obj: Path) -> tuple[set[str], set[str]]:
    out = subprocess.run(["nm", "-g", str(obj)], check=True, capture_output=True,
                         text=True).stdout
    defined: set[str] = set()
    undefined: set[str] = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3:
            defined.add(parts[2])
    return defined, undefined


def main() -> int:
    list_uses = "--list" in sys.argv[1:]
    cc = os.environ.get("CC", "gcc")
    sources = sorted(SRC.glob("*.c"))
    defs: dict[str, set[str]] = {}
    undefs: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            obj = Path(tmp) / (src.stem + ".o")
            subprocess.run([cc, *CFLAGS, "-c", str(src), "-o", str(obj)], check=True)
            defs[src.stem], undefs[src.stem] = symbols(obj)
    uses: dict[tuple[str, str], set[str]] = {}
    for a in defs:
        for b in defs:
            if a != b:
                common = undefs[a] & defs[b]
                if common:
                    uses[(a, b)] = common
    if list_uses:
        for (a, b), syms in sorted(uses.items()):
            print(f"{a} -> {b}: {' '.join(sorted(syms))}")
    failed = False
    seen_allowed: set[tuple[str, str]] = set()
    for (a, b), syms in sorted(uses.items()):
        if a < b and (b, a) in uses:
            if (a, b) in ALLOWED:
                seen_allowed.add((a, b))
                continue
            failed = True
            print(f"runtime: {a}.c and {b}.c use each other's symbols: "
                  f"{a} -> {' '.join(sorted(syms))}; "
                  f"{b} -> {' '.join(sorted(uses[(b, a)]))}", file=sys.stderr)
    for pair in sorted(set(ALLOWED) - seen_allowed):
        failed = True
        print(f"runtime: {pair[0]}.c <-> {pair[1]}.c no longer use each other: remove the pair "
              f"from ALLOWED in {Path(__file__).name}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
