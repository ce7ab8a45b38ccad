"""The commands about one address: info, whatis, whereis, whyis, print."""
from __future__ import annotations

from typing import Optional, Tuple

from .. import render, values
from ..address_description import AddressDescription
from ..session import Session
from ..target import optional_call
from .model import Args, Command, Option, Reply, describe_expr


class Info(Command):
    name = "info"
    help = """Everything about an address: alloc info [--json] EXPR

The chain of enclosing allocations from the mapping down, the leaf allocator, base, size,
offset, type (once metadata exists), and the allocation site (function, file:line, pc, seq)
or the symbol / frame / variable. Says so for a freed chunk or an unknown address."""

    def run(self, s: Session, a: Args) -> Reply:
        d = describe_expr(s, a.rest)
        return Reply(d.to_json()) if a.json else Reply(text=render.info_text(d))


class _View(Command):
    """One view of the address description: some of its JSON fields, or its text rendering."""

    KEYS: Tuple[str, ...] = ()

    def render(self, d: AddressDescription) -> str:
        raise NotImplementedError

    def run(self, s: Session, a: Args) -> Reply:
        d = describe_expr(s, a.rest)
        if a.json:
            j = d.to_json()
            return Reply({k: j[k] for k in self.KEYS})
        return Reply(text=self.render(d))


class Whatis(_View):
    name = "whatis"
    help = "The run-time type at an address: alloc whatis [--json] EXPR"
    KEYS = ("address", "allocator", "base", "size", "offset", "type", "uniqtype", "path", "pathType", "state")

    def render(self, d: AddressDescription) -> str:
        return render.whatis_text(d)


class Whereis(_View):
    name = "whereis"
    help = ("The chain of allocations containing an address, from the mapping down: "
            "alloc whereis [--json] EXPR")
    KEYS = ("address", "allocator", "base", "size", "offset", "state", "chain", "notes")

    def render(self, d: AddressDescription) -> str:
        return render.whereis_text(d)


class Whyis(_View):
    name = "whyis"
    help = "Where the allocation at an address came from: alloc whyis [--json] EXPR"
    KEYS = ("address", "allocator", "base", "size", "state", "site", "notes")

    def render(self, d: AddressDescription) -> str:
        return render.whyis_text(d)


def pointer_spelling(c_type: str) -> Optional[str]:
    """The C spelling of a pointer to c_type ("struct point[3]" -> "struct point (*)[3]"), or None
    for spellings a debugger cannot take (functions, frames, made-up names)."""
    if "(" in c_type or c_type.startswith("frame "):
        return None
    br = c_type.find("[")
    return f"{c_type[:br].rstrip()} (*){c_type[br:]}" if br >= 0 else f"{c_type} *"


def print_typed(s: Session, d: AddressDescription) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(the whole object, the part at d.path, how): through the debugger's own type when it knows
    the C spelling (Target.print_object), else decoded from the run-time type."""
    spelled = pointer_spelling(d.type) if d.type else None
    if spelled is not None and d.base is not None:
        path = d.path if d.path and d.path[0] in "[." else None
        printed = optional_call(s.target, "print_object", spelled, d.base, path)
        if isinstance(printed, tuple) and printed[0] is not None:
            return printed[0], printed[1], getattr(s.target, "name", "debugger")
    if s.types is None or d.utype is None or d.base is None:
        return None, None, None
    text = values.ValueRenderer(s.types, s.reader).render(d.utype, d.base)
    at = None
    if d.path and d.path_utype is not None and d.path_start is not None:
        at = values.ValueRenderer(s.types, s.reader).render(d.path_utype, d.base + d.path_start)
    return text, at, "uniqtype"


class Print(Command):
    name = "print"
    help = """Print the object an address points into, with its run-time type: \
alloc print [--json] [--bytes N] EXPR

Also for a void * or an interior pointer (C's `set print object on`): the whole allocation is
printed as its dynamic type (through the debugger's own type when it knows it, else decoded from
the run-time type), then the member or element the address falls in. Without a type: raw bytes."""
    options = (Option("--bytes", "N", "raw bytes shown when the type is unknown (64)"),)

    def run(self, s: Session, a: Args) -> Reply:
        d = describe_expr(s, a.rest)
        limit = a.int_opt("--bytes") or 64
        value, at_path, via = (None, None, None)
        if d.utype is not None and d.base is not None:
            value, at_path, via = print_typed(s, d)
        if a.json:
            data = b""
            if value is None and d.base is not None and d.size:
                data = s.target.read_memory(d.base, min(d.size, limit))
            return Reply({"description": d.to_json(), "type": d.type, "value": value, "atPath": at_path,
                          "via": via, "bytes": data.hex() if value is None else None,
                          "truncated": bool(value is None and d.size and d.size > len(data))})
        lines = [render.headline(d), f"type: {render.whatis_text(d, short=True)}"]
        if d.base is None:
            return Reply(text="\n".join(lines))
        if value is not None:
            lines.append(f"({d.type}) {value}")
            if d.path and at_path is not None:
                lines.append(f"at {d.path}: ({d.path_type}) {at_path}")
            return Reply(text="\n".join(lines))
        data = s.target.read_memory(d.base, min(d.size, limit)) if d.size else b""
        more = f" (first {len(data)} shown)" if d.size and d.size > len(data) else ""
        lines.append(f"raw bytes: {render.size_text(d.size)}{more}")
        lines += render.hexdump(d.base, data)
        return Reply(text="\n".join(lines))
