"""Values and layouts from run-time types alone (no debugger types): `alloc print` when the
debugger does not know the type, and `alloc type`'s layout. Bounded in depth, elements and
members, so a corrupted type cannot make the output explode."""
from __future__ import annotations

import struct
from typing import Any, Dict, List, Optional

from . import layout as L
from .memory import Reader
from .types import MetaTypes
from .uniqtype import ATE_BOOLEAN, ATE_FLOAT, ATE_SIGNED, ATE_SIGNED_CHAR, ATE_UNSIGNED_CHAR, MAX_DEPTH, UType

MAX_ELEMENTS = 16
MAX_TOTAL_LINES = 400


def _scalar(t: UType, data: bytes, bit_offset: int = 0, bit_size: int = 0) -> str:
    size = len(data)
    if t.kind == L.KIND_POINTER or t.kind == L.KIND_FUNCTION:
        return f"{int.from_bytes(data, 'little'):#x}"
    if t.kind == L.KIND_BASE and t.encoding == ATE_FLOAT and not bit_size:
        if size == 4:
            return repr(struct.unpack("<f", data)[0])
        if size == 8:
            return repr(struct.unpack("<d", data)[0])
        return "0x" + data[::-1].hex()
    v = int.from_bytes(data, "little")
    if bit_size:
        v = (v >> bit_offset) & ((1 << bit_size) - 1)
        width = bit_size
    else:
        width = 8 * size
    signed = t.kind == L.KIND_ENUM or t.encoding in (ATE_SIGNED, ATE_SIGNED_CHAR)
    if signed and width and v >> (width - 1) & 1:
        v -= 1 << width
    if t.kind == L.KIND_BASE and t.encoding == ATE_BOOLEAN:
        return "true" if v else "false"
    if t.kind == L.KIND_BASE and size == 1 and t.encoding in (ATE_SIGNED_CHAR, ATE_UNSIGNED_CHAR):
        ch = v & 0xFF
        shown = chr(ch) if 32 <= ch < 127 else f"\\{ch:03o}"
        return f"{v} '{shown}'"
    return str(v)


class ValueRenderer:
    def __init__(self, types: MetaTypes, reader: Reader) -> None:
        self.types = types
        self.r = reader
        self.lines = 0

    def render(self, t: UType, addr: int, indent: int = 0, depth: int = 0) -> str:
        """A C-like initializer for the object of type t at addr."""
        self.lines += 1
        if depth > MAX_DEPTH or self.lines > MAX_TOTAL_LINES:
            return "..."
        pad = "  " * (indent + 1)
        end = "  " * indent
        if t.kind in (L.KIND_STRUCT, L.KIND_UNION, L.KIND_FRAME):
            ms = self.types.members(t)
            if not ms:
                return "{<no members known>}"
            parts = []
            for m in ms:
                mt = m.type
                label = m.name or "<anonymous>"
                if mt is None:
                    parts.append(f"{pad}{label} = <type unknown>")
                    continue
                if m.bit_size:
                    data = self.r.try_read(addr + m.offset, m.size)
                    val = _scalar(mt, data, m.bit_offset, m.bit_size) if data is not None else "<unreadable>"
                else:
                    val = self.render(mt, addr + m.offset, indent + 1, depth + 1)
                parts.append(f"{pad}{label} = {val}")
            return "{\n" + ",\n".join(parts) + f"\n{end}}}"
        if t.kind == L.KIND_ARRAY:
            el = self.types.related(t)
            if el is None or not el.size:
                return "<elements of unknown size>"
            n = t.count
            chars = (ATE_SIGNED_CHAR, ATE_UNSIGNED_CHAR)
            if el.kind == L.KIND_BASE and el.size == 1 and el.encoding in chars:
                data = self.r.try_read(addr, min(n, 256)) if n else None
                if data is None:
                    return "<unreadable>"
                text = data.split(b"\0", 1)[0].decode("utf-8", "replace")
                return json_string(text) + ("..." if n > 256 and b"\0" not in data else "")
            shown = [self.render(el, addr + i * el.size, indent + 1, depth + 1)
                     for i in range(min(n, MAX_ELEMENTS))]
            more = f", <{n - MAX_ELEMENTS} more>" if n > MAX_ELEMENTS else ""
            if any("\n" in x for x in shown):
                return "{\n" + ",\n".join(pad + x for x in shown) + more + f"\n{end}}}"
            return "{" + ", ".join(shown) + more + "}"
        if t.kind in (L.KIND_BASE, L.KIND_POINTER, L.KIND_ENUM):
            size = t.size or 8
            data = self.r.try_read(addr, size)
            if data is None:
                return "<unreadable>"
            text = _scalar(t, data)
            if t.kind == L.KIND_ENUM:
                v = int(text)
                names = [n for n, val in self.types.enumerators(t) if val == v]
                return names[0] if names else text
            return text
        return f"<{t.kind_name}>"


def json_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def type_layout(types: MetaTypes, t: UType) -> Dict[str, Any]:
    """`alloc type`'s answer: the type's kind, size, members (offsets, sizes, bit-fields),
    enumerators, parameters, element or pointee."""
    rel = types.related(t)
    out: Dict[str, Any] = {
        "name": t.name, "cName": t.c_name, "kind": t.kind_name, "size": t.size,
        "incomplete": bool(t.flags & L.TYPE_F_INCOMPLETE), "related": rel.c_name if rel is not None else None,
        "count": t.count, "members": None, "enumerators": None, "params": None,
    }
    if t.kind in (L.KIND_STRUCT, L.KIND_UNION, L.KIND_FRAME):
        out["members"] = [{"name": m.name, "offset": m.offset, "size": m.size,
                           "type": m.type.c_name if m.type else None,
                           "uniqtype": m.type.name if m.type else None,
                           "bitOffset": m.bit_offset if m.bit_size else None,
                           "bitSize": m.bit_size or None} for m in types.members(t)]
    elif t.kind == L.KIND_ENUM:
        out["enumerators"] = [{"name": n, "value": v} for n, v in types.enumerators(t)]
    elif t.kind == L.KIND_FUNCTION:
        out["params"] = [p.c_name if p else None for p in types.params(t)]
        out["varargs"] = bool(t.flags & L.TYPE_F_VARARGS)
    return out


def layout_lines(j: Dict[str, Any]) -> List[str]:
    head = f"{j['cName']} ({j['name']}): {j['kind']}, {j['size']} byte{'s' if j['size'] != 1 else ''}"
    if j["incomplete"]:
        head += ", incomplete"
    lines = [head]
    if j["members"] is not None:
        lines.append(f"  {'offset':>8} {'size':>6}  member")
        for m in j["members"]:
            where = f"{m['offset']}"
            if m["bitSize"]:
                where += f" bits {m['bitOffset']}..{m['bitOffset'] + m['bitSize'] - 1}"
            lines.append(f"  {where:>8} {m['size']:>6}  {m['type'] or '?'} {m['name'] or '<anonymous>'}"
                         + (f" : {m['bitSize']}" if m["bitSize"] else ""))
    if j["enumerators"] is not None:
        lines.extend(f"  {e['name']} = {e['value']}" for e in j["enumerators"])
    if j["params"] is not None:
        lines.append(f"  returns {j['related'] or 'void'}; parameters: "
                     + (", ".join(p or "?" for p in j["params"]) or "void")
                     + (", ..." if j.get("varargs") else ""))
    elif j["kind"] in ("pointer", "array") and j["related"]:
        what = "points to" if j["kind"] == "pointer" else f"{j['count'] or 'unbounded'} elements of"
        lines.append(f"  {what} {j['related']}")
    return lines


def optional(t: Optional[UType]) -> Optional[str]:
    return t.c_name if t is not None else None
