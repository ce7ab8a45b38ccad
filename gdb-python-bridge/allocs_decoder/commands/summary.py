"""The one-line allocation summary shown beside a pointer's value by every front's variable view
("→ __default_lib_malloc struct point[3] +12 (.y) @ pts.c:14"): the same parts, in the same
order, as the debug adapter's (extension/src/adapter/describe.ts, `summary`)."""
from __future__ import annotations

import os
from typing import Optional

from ..address_description import AddressDescription


def pointer_summary(d: AddressDescription) -> Optional[str]:
    """allocator, type (else size), +offset, (path), @ site; None when nothing is known."""
    if d.allocator is None:
        return None
    parts = [f"freed {d.allocator}" if d.state == "freed" else d.allocator]
    if d.type is not None:
        parts.append(d.type)
    elif d.size is not None:
        parts.append(f"{d.size} B")
    if d.offset:
        parts.append(f"+{d.offset}")
    if d.path:
        parts.append(f"({d.path})")
    site = _site_text(d)
    if site is not None:
        parts.append(f"@ {site}")
    return " ".join(parts)


def _site_text(d: AddressDescription) -> Optional[str]:
    s = d.site
    if not s:
        return None
    if s.get("variable"):
        return f"{s.get('function') or '??'}:{s['variable']}"
    if s.get("file"):
        line = s.get("line")
        return f"{os.path.basename(s['file'])}:{line if line is not None else '?'}"
    return s.get("function") or s.get("symbol") or None
