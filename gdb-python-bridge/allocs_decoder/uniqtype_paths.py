"""Paths inside a run-time type: which member or element holds byte N of a type, spelled as
a path ("[1].y"), with the innermost type there. Bounded in depth (a corrupted record may make a
cycle); unions, bit-fields, padding and past-the-end are said in notes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

from . import layout as L
from .uniqtype import COMPOSITE, MAX_DEPTH, TypeAnswer, UType

if TYPE_CHECKING:  # records call these functions: a run-time import would be circular
    from .uniqtype_records import TypeRecords


def answer(records: TypeRecords, t: UType, offset: int, base_offset: int = 0) -> TypeAnswer:
    """type/uniqtype/path/pathType for `offset` bytes into an allocation of type t.
    base_offset: where the type starts relative to the allocation (frames: cfa - size - sp)."""
    notes: List[str] = []
    rel = offset - base_offset
    if offset == 0 and base_offset == 0:
        # At the base the path is "" and pathType the whole type (the contract), but the
        # innermost type is still found: who-points-to asks whether a pointer lies here.
        _path, inner, left = path_to(records, t, 0, [])
        return TypeAnswer(t.c_name, t.name, "", t.c_name, (), t, inner, -left)
    if rel < 0 or (t.size and rel >= t.size and t.kind != L.KIND_ARRAY and not open_ended(records, t)):
        records.members(t)  # checks the record (a damaged size shows in its members)
        notes.append(f"offset {offset} is outside the type {t.c_name} ({t.size} bytes)")
        return TypeAnswer(t.c_name, t.name, "", None, tuple(notes), t)
    path, inner, left = path_to(records, t, rel, notes)
    inner_c = inner.c_name if inner is not None else None
    return TypeAnswer(t.c_name, t.name, path, inner_c, tuple(notes), t,
                      inner, offset - left)


def is_unbounded_array(t: Optional[UType]) -> bool:
    return t is not None and t.kind == L.KIND_ARRAY and t.count == 0


def open_ended(records: TypeRecords, t: UType) -> bool:
    """A struct ending in a flexible array member (`T tail[]`, or a C++ array cookie's
    elements): the allocation may extend past its size."""
    if t.kind != L.KIND_STRUCT:
        return False
    ms = records.members(t)
    return bool(ms) and is_unbounded_array(ms[-1].type)


def path_to(records: TypeRecords, t: UType, off: int, notes: List[str]) -> Tuple[str, Optional[UType], int]:
    """The path to byte `off` of t, the innermost type there and the offset left inside it."""
    parts: List[str] = []
    cur: Optional[UType] = t
    for depth in range(MAX_DEPTH):
        if cur is None:
            return "".join(parts), None, off
        if off == 0 and depth > 0 and cur.kind not in COMPOSITE and cur.kind != L.KIND_ARRAY:
            break
        if cur.kind == L.KIND_ARRAY:
            el = records.related(cur)
            if el is None or not el.size:
                break
            i = off // el.size
            if cur.count and i >= cur.count:
                notes.append(f"past the end of {cur.c_name}")
                break
            parts.append(f"[{i}]")
            cur, off = el, off % el.size
            continue
        if cur.kind in COMPOSITE:
            ms = records.members(cur)
            hit = None
            covering = []
            for k, m in enumerate(ms):
                lo = m.offset + (m.bit_offset // 8 if m.bit_size else 0)
                hi = m.offset + m.size if m.bit_size else m.offset + max(m.size, 1)
                if k == len(ms) - 1 and is_unbounded_array(m.type):
                    hi = 1 << 62  # a flexible array member runs to the end of the allocation
                if lo <= off < hi:
                    covering.append(m)
            if covering:
                # A C++ empty base (no members, 1 byte) shares its offset with the member after
                # it (the empty base optimisation): the path goes into that member instead.
                hit = next((m for m in covering if not _empty_class(records, m.type)), covering[0])
            if hit is None:
                if ms:
                    notes.append(f"in padding of {cur.c_name} at byte {off}")
                break
            if cur.kind == L.KIND_UNION and len(covering) > 1:
                notes.append(f"a union: showing its first member covering this byte ({hit.name or '?'}); "
                             f"also {', '.join(m.name or '?' for m in covering[1:])}")
            if hit.name:
                parts.append(hit.name if cur.kind == L.KIND_FRAME and not parts else "." + hit.name)
            if hit.bit_size:
                notes.append(f"a bit-field: {hit.bit_size} bits at bit {hit.bit_offset} "
                             f"of byte {hit.offset}")
                return "".join(parts), hit.type, off - hit.offset
            cur, off = hit.type, off - hit.offset
            continue
        break
    else:
        notes.append("type nesting too deep: path cut short")
    return "".join(parts), cur, off


def _empty_class(records: TypeRecords, t: Optional[UType], depth: int = 0) -> bool:
    """A C++ class of 1 byte whose members are only empty bases (std::allocator<char>)."""
    if t is None or t.kind != L.KIND_STRUCT or t.size > 1 or depth > 8:
        return False
    return all(_empty_class(records, m.type, depth + 1) for m in records.members(t))
