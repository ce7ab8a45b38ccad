"""The `alloc` prefix and the commands about one address: info, whatis, whereis, whyis, print."""
from __future__ import annotations

from typing import Optional, Tuple

import gdb  # type: ignore[import-not-found]

from allocs_decoder import render, values
from allocs_decoder.description import AddressDescription

from .common import _int_opt, describe_expr, emit, guarded, parse_args
from .session_cache import TARGET, session


def _pointer_spelling(c_type: str) -> Optional[str]:
    """The C spelling of a pointer to c_type ("struct point[3]" -> "struct point (*)[3]"), or None
    for spellings gdb cannot take (functions, frames, made-up names)."""
    if "(" in c_type or c_type.startswith("frame "):
        return None
    br = c_type.find("[")
    return f"{c_type[:br].rstrip()} (*){c_type[br:]}" if br >= 0 else f"{c_type} *"


def print_typed(d: AddressDescription) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(the whole object, the part at d.path, how): through gdb's own type when gdb knows the C
    spelling, else decoded from the run-time type."""
    spelled = _pointer_spelling(d.type) if d.type else None
    if spelled is not None and d.base is not None:
        try:
            obj = f"(*({spelled}) {d.base:#x})"
            whole = gdb.parse_and_eval(obj)
            text = whole.format_string(pretty_structs=True, max_elements=64, repeat_threshold=0)
            at = None
            if d.path and d.path[0] in "[.":
                at = gdb.parse_and_eval(obj + d.path).format_string(pretty_structs=True, max_elements=64)
            return text, at, "gdb"
        except (gdb.error, RuntimeError):
            pass
    s = session()
    if s.types is None or d.utype is None or d.base is None:
        return None, None, None
    r = values.ValueRenderer(s.types, s.reader)
    text = r.render(d.utype, d.base)
    at = None
    if d.path and d.path_utype is not None and d.path_start is not None:
        at = values.ValueRenderer(s.types, s.reader).render(d.path_utype, d.base + d.path_start)
    return text, at, "uniqtype"


class AllocPrefix(gdb.Command):
    """What is at this address? Commands of the allocs bridge.

Every command takes --json (one JSON object on one line; see docs/address-description.md).
Addresses are expressions: a pointer's value, an integer, or an object (its address)."""

    def __init__(self) -> None:
        super().__init__("alloc", gdb.COMMAND_DATA, gdb.COMPLETE_COMMAND, prefix=True)


class _ExprCommand(gdb.Command):
    def __init__(self, name: str) -> None:
        super().__init__(name, gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)


class AllocInfo(_ExprCommand):
    """Everything about an address: alloc info [--json] EXPR

The chain of enclosing allocations from the mapping down, the leaf allocator, base, size,
offset, type (once metadata exists), and the allocation site (function, file:line, pc, seq)
or the symbol / frame / variable. Says so for a freed chunk or an unknown address."""

    def __init__(self) -> None:
        super().__init__("alloc info")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        d = describe_expr(a.rest)
        emit(d.to_json()) if a.json else gdb.write(render.info_text(d) + "\n")


class _ViewCommand(_ExprCommand):
    """One view of the address description: some of its JSON fields, or its text rendering."""

    NAME = ""
    KEYS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__(self.NAME)

    def render(self, d: AddressDescription) -> str:
        raise NotImplementedError

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        d = describe_expr(a.rest)
        if a.json:
            j = d.to_json()
            emit({k: j[k] for k in self.KEYS})
        else:
            gdb.write(self.render(d) + "\n")


class AllocWhatis(_ViewCommand):
    """The run-time type at an address: alloc whatis [--json] EXPR"""

    NAME = "alloc whatis"
    KEYS = ("address", "allocator", "base", "size", "offset", "type", "uniqtype", "path", "pathType", "state")

    def render(self, d: AddressDescription) -> str:
        return render.whatis_text(d)


class AllocWhereis(_ViewCommand):
    """The chain of allocations containing an address, from the mapping down: alloc whereis [--json] EXPR"""

    NAME = "alloc whereis"
    KEYS = ("address", "allocator", "base", "size", "offset", "state", "chain", "notes")

    def render(self, d: AddressDescription) -> str:
        return render.whereis_text(d)


class AllocWhyis(_ViewCommand):
    """Where the allocation at an address came from: alloc whyis [--json] EXPR"""

    NAME = "alloc whyis"
    KEYS = ("address", "allocator", "base", "size", "state", "site", "notes")

    def render(self, d: AddressDescription) -> str:
        return render.whyis_text(d)


class AllocPrint(_ExprCommand):
    """Print the object an address points into, with its run-time type: alloc print [--json] [--bytes N] EXPR

Also for a void * or an interior pointer (C's `set print object on`): the whole allocation is
printed as its dynamic type (through gdb's own type when gdb knows it, else decoded from the
run-time type), then the member or element the address falls in. Without a type: raw bytes."""

    def __init__(self) -> None:
        super().__init__("alloc print")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--bytes",))
        d = describe_expr(a.rest)
        limit = _int_opt(a, "--bytes") or 64
        value, at_path, via = (None, None, None)
        if d.utype is not None and d.base is not None:
            value, at_path, via = print_typed(d)
        if a.json:
            data = b""
            if value is None and d.base is not None and d.size:
                data = TARGET.read_memory(d.base, min(d.size, limit))
            emit({"description": d.to_json(), "type": d.type, "value": value, "atPath": at_path, "via": via,
                  "bytes": data.hex() if value is None else None,
                  "truncated": bool(value is None and d.size and d.size > len(data))})
            return
        gdb.write(render.headline(d) + "\n")
        gdb.write(f"type: {render.whatis_text(d, short=True)}\n")
        if d.base is None:
            return
        if value is not None:
            gdb.write(f"({d.type}) {value}\n")
            if d.path and at_path is not None:
                gdb.write(f"at {d.path}: ({d.path_type}) {at_path}\n")
            return
        data = TARGET.read_memory(d.base, min(d.size, limit)) if d.size else b""
        more = f" (first {len(data)} shown)" if d.size and d.size > len(data) else ""
        gdb.write(f"raw bytes: {render._size(d.size)}{more}\n")
        gdb.write("\n".join(render.hexdump(d.base, data)) + ("\n" if data else ""))
