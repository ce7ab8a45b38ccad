"""The plug-in point for run-time types (typegen metadata, issue 3).

Until metadata exists the decoder uses NullTypes, so `type`, `uniqtype`, `path` and `pathType`
are null/empty. A provider that reads metadata (from the inferior's loaded `meta` pointers or
from files on disk keyed by build-id) implements TypesProvider and is passed to Describer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Protocol

from .memory import Reader


@dataclass(frozen=True)
class TypeAnswer:
    type: Optional[str]  # C spelling of the whole allocation, e.g. "struct point[3]"
    uniqtype: Optional[str]  # canonical name, e.g. "__ARR3_point"
    path: str  # field/element path to the address, e.g. "[1].y"; "" at the base
    path_type: Optional[str]  # C spelling of the type at the path, e.g. "int"


@dataclass(frozen=True)
class Member:
    name: str
    offset: int
    size: int
    type: str


class TypesProvider(Protocol):
    def describe(self, reader: Reader, *, allocator: Optional[str], base: int, size: int, offset: int,
                 type_addr: int) -> Optional[TypeAnswer]:
        """The type of an allocation (type_addr: the site's or symbol's uniqtype address, or 0)."""
        ...

    def layout(self, name: str) -> Optional[List[Member]]:
        """The members of a named run-time type, for `alloc type`."""
        ...


class NullTypes:
    """No metadata: every answer is unknown."""

    available = False

    def describe(self, reader: Reader, *, allocator: Optional[str], base: int, size: int, offset: int,
                 type_addr: int) -> Optional[TypeAnswer]:
        return None

    def layout(self, name: str) -> Optional[List[Member]]:
        return None
