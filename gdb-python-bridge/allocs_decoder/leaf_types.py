"""The run-time type of a leaf's object: fills a description's type, path and why it is unknown."""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable, Optional

from .address_description import AddressDescription
from .errors import DecodeError
from .types import MetaTypes
from .uniqtype import UType

if TYPE_CHECKING:  # Session.describe() reaches this module: a run-time import would be circular
    from .session import Session


# Why a type is unknown when the object's metadata *is* loaded (no metadata at all keeps
# render.NO_TYPES: typegen has not run), by what was looked up.
UNTYPED_WITH_META = {
    "site": "metadata is loaded, but typegen found no type for this allocation site: build with "
            "`allocs cc` for types from the source, or see `allocs typegen PROG` for why",
    "frame": "metadata is loaded, but it places none of this function's variables in its frame here "
             "(they live in registers, or DWARF locates them in a way typegen does not follow)",
    "static": "metadata is loaded, but it has no type for this symbol (no DWARF for it?)",
}


def why_untyped(types: MetaTypes, meta_at: int, what: str) -> Optional[str]:
    try:
        if types.meta_for(meta_at) is None:
            return types.why_no_meta(meta_at)
    except (DecodeError, ValueError, OverflowError):
        return None
    return f"unknown ({UNTYPED_WITH_META[what]})"


def fill_types(s: Session, d: AddressDescription, find: Callable[[MetaTypes], Optional[UType]],
               base_offset: int = 0, meta_at: Optional[int] = None, what: str = "") -> None:
    """Fills type, uniqtype, path and pathType from the run-time type `find` gives. A corrupted or
    missing record means "type unknown", never a failed description; when the metadata of the
    object holding `meta_at` (a site's pc, a frame's pc, a static's address) is loaded but has no
    type, d.type_why says so."""
    types = s.types
    if types is None or d.base is None or d.size is None:
        return
    try:
        t = find(types)
        if t is None:
            if meta_at and what:
                d.type_why = why_untyped(types, meta_at, what)
            elif what == "site":
                d.type_why = "unknown (no allocation site is recorded for this chunk)"
            return
        ans = types.answer(t, d.address - d.base, base_offset)
    except (DecodeError, ValueError, OverflowError, RecursionError, struct.error) as e:
        d.notes.append(f"type unknown: the run-time type records are unreadable ({e})")
        return
    d.type, d.uniqtype, d.path, d.path_type = ans.type, ans.uniqtype, ans.path, ans.path_type
    d.utype, d.path_utype, d.path_start = ans.utype, ans.path_utype, ans.path_offset
    d.notes.extend(ans.notes)
