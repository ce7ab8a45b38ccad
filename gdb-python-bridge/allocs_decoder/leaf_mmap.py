"""The mmap leaf: a mapping no finer allocator answers for."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import layout as L
from .address_description import AddressDescription, Level, heap_site
from .levels import Big

if TYPE_CHECKING:  # Session.describe() reaches this module: a run-time import would be circular
    from .session import Session


def describe_mmap(s: Session, d: AddressDescription, big: Big) -> None:
    d.allocator, d.base, d.size, d.state = L.MMAP, big.begin, big.size, "live"
    if big.flags & L.BIG_F_USER_MMAP and big.site:
        line = s.source_line(big.site)
        d.site = heap_site(big.site, line.function if line else None, line.file if line else None,
                           line.line if line else None, None)
    d.push(Level(L.MMAP, big.begin, big.size, big.name))
