#!/usr/bin/python3
"""The bridge's import rules (run by scripts/lint.sh): no module imports another's private name
(`_x`: a name another module needs is part of its interface and says so by its spelling), and
no import cycles between modules, lazy imports inside functions included (a cycle dodged by a
lazy import is still a cycle; imports under `if TYPE_CHECKING:` name types only and do not count).

  check-imports.py [PACKAGE_DIR...]   (default: the bridge's three packages)
"""
import ast
import os
import sys
from typing import Dict, List, Optional, Set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BRIDGE = os.path.join(ROOT, "gdb-python-bridge")
PACKAGES = ["allocs_decoder", "allocs_gdbfront", "allocs_lldbfront"]


def module_name(path: str) -> str:
    rel = os.path.relpath(path, BRIDGE)[: -len(".py")].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def resolve(current: str, is_package: bool, level: int, target: Optional[str]) -> str:
    """The absolute module a `from ... import` names."""
    if level == 0:
        return target or ""
    parts = current.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def main(packages: List[str]) -> int:
    modules: Dict[str, str] = {}
    for pkg in packages:
        for d, _dirs, files in os.walk(os.path.join(BRIDGE, pkg)):
            for f in files:
                if f.endswith(".py"):
                    modules[module_name(os.path.join(d, f))] = os.path.join(d, f)
    edges: Dict[str, Set[str]] = {m: set() for m in modules}
    errors: List[str] = []
    for mod, path in sorted(modules.items()):
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        is_package = path.endswith("__init__.py")
        # Imports under `if TYPE_CHECKING:` only name types for the checker: no run-time edge.
        typing_only = {id(n) for t in ast.walk(tree)
                       if isinstance(t, ast.If) and isinstance(t.test, ast.Name)
                       and t.test.id == "TYPE_CHECKING"
                       for b in t.body for n in ast.walk(b)}
        for node in ast.walk(tree):
            runtime = id(node) not in typing_only
            if isinstance(node, ast.ImportFrom):
                target = resolve(mod, is_package, node.level, node.module)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in modules:  # `from . import layout`: the module itself
                        if runtime:
                            edges[mod].add(sub)
                        continue
                    if target in modules:
                        if runtime:
                            edges[mod].add(target)
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            errors.append(f"{os.path.relpath(path, ROOT)}:{node.lineno}: imports the private "
                                          f"name {alias.name} from {target}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and runtime:
                        edges[mod].add(alias.name)
    # A package's __init__ re-exporting its modules is not a cycle with them: a module importing
    # its own package's names goes through __init__, which then counts as that module's import.
    packages_set = set(packages)
    for mod in modules:
        edges[mod] = {t for t in edges[mod] if not (t in packages_set and mod.startswith(t + "."))}
    # Cycles: Tarjan's strongly connected components.
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    sccs: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges[v]:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    for comp in sccs:
        errors.append("import cycle: " + " <-> ".join(comp))
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or PACKAGES))
