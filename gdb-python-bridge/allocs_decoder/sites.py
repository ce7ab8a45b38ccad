"""An allocation site as every output shows it: its JSON, its match against a user's filter, and
its type's name in a census row (the census, ls, leaks and snapshots share these)."""
from __future__ import annotations

from typing import Any, Dict, Optional

from . import layout as L
from .address_description import hexaddr
from .errors import DecodeError
from .session import Session
from .uniqtype import array_c_name


def site_json(s: Session, pc: Optional[int], seq: Optional[int] = None) -> Dict[str, Any]:
    line = s.source_line(pc)
    return {"pc": hexaddr(pc), "function": line.function if line else None,
            "file": line.file if line else None, "line": line.line if line else None, "seq": seq}


def site_matches(s: Session, pc: Optional[int], want: str) -> bool:
    """FN, FILE:LINE or FILE (basename or full path) against a site's source line."""
    line = s.source_line(pc)
    if line is None:
        return False
    if ":" in want:
        f, _, n = want.rpartition(":")
        return bool(line.file and line.line is not None and str(line.line) == n and
                    (line.file == f or line.file.endswith("/" + f)))
    if line.function == want:
        return True
    return bool(line.file and (line.file == want or line.file.endswith("/" + want)))


def site_type_name(s: Session, sid: int, pc: Optional[int]) -> Optional[str]:
    """The C spelling of a site's type for the census: an array site (sized by each chunk) as
    `T[]`, so all its chunks count under one row; None when unknown."""
    types = s.types
    if types is None:
        return None
    try:
        t = s.site_uniqtype(sid, pc or 0)  # the census row's own pc, never the recorded one
        if t is None:
            return None
        if t.kind == L.KIND_ARRAY and t.count == 0:
            el = types.related(t)
            return array_c_name(el, 0).replace("[0]", "[]", 1) if el is not None else t.c_name
        return t.c_name
    except DecodeError:
        return None
