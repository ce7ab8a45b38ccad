"""The address description: one shape for "what is at this address" (docs/address-description.md)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

STATES = ("live", "freed", "unknown")


def hexaddr(v: Optional[int]) -> Optional[str]:
    return None if v is None else f"{v:#x}"


@dataclass
class Level:
    allocator: str
    base: int
    size: int
    name: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        return {"allocator": self.allocator, "base": hexaddr(self.base), "size": self.size, "name": self.name}


@dataclass
class AddressDescription:
    address: int
    allocator: Optional[str] = None
    base: Optional[int] = None
    size: Optional[int] = None
    type: Optional[str] = None
    uniqtype: Optional[str] = None
    path: str = ""
    path_type: Optional[str] = None
    state: str = "unknown"
    site: Optional[Dict[str, Any]] = None  # already in JSON form (see site helpers below)
    chain: List[Level] = field(default_factory=list)
    runtime: bool = True
    notes: List[str] = field(default_factory=list)
    damage: List[Tuple[int, str]] = field(default_factory=list)  # (address, what failed its check)
    # Not in the JSON: the decoded run-time types behind `type` and `pathType` (types.UType).
    utype: Any = field(default=None, repr=False, compare=False)
    path_utype: Any = field(default=None, repr=False, compare=False)
    path_start: Optional[int] = field(default=None, repr=False, compare=False)  # offset of path_utype
    # Not in the JSON: why `type` is unknown when the object's metadata is loaded (render's text).
    type_why: Optional[str] = field(default=None, repr=False, compare=False)

    @property
    def offset(self) -> Optional[int]:
        return None if self.base is None else self.address - self.base

    def push(self, level: Level) -> None:
        """Appends a level unless it repeats the last one (as the runtime's alloc_describe does)."""
        if self.chain:
            last = self.chain[-1]
            if (last.allocator, last.base, last.size) == (level.allocator, level.base, level.size):
                if level.name and not last.name:
                    last.name = level.name
                return
        self.chain.append(level)

    def to_json(self) -> Dict[str, Any]:
        return {
            "address": hexaddr(self.address),
            "allocator": self.allocator,
            "base": hexaddr(self.base),
            "size": self.size,
            "offset": self.offset,
            "type": self.type,
            "uniqtype": self.uniqtype,
            "path": self.path,
            "pathType": self.path_type,
            "state": self.state,
            "site": self.site,
            "chain": [lv.to_json() for lv in self.chain],
            "runtime": self.runtime,
            "notes": list(self.notes),
            "damage": [{"address": hexaddr(a), "what": what} for a, what in self.damage],
        }


def heap_site(pc: Optional[int], function: Optional[str], file: Optional[str], line: Optional[int],
              seq: Optional[int]) -> Dict[str, Any]:
    return {"pc": hexaddr(pc), "function": function, "file": file, "line": line, "seq": seq}


def stack_site(function: Optional[str], frame: Optional[int], variable: Optional[str],
               thread: Optional[int] = None, file: Optional[str] = None,
               line: Optional[int] = None) -> Dict[str, Any]:
    return {"function": function, "frame": frame, "variable": variable, "thread": thread,
            "file": file, "line": line}


def static_site(symbol: Optional[str], object: Optional[str],
                section: Optional[str] = None) -> Dict[str, Any]:
    return {"symbol": symbol, "object": object, "section": section}
