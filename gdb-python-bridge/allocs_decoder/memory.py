"""A Reader: bounded, cached reads over a Target for the duration of one query.

Live processes change between queries, so a Reader lives for one command; within it, repeated
small reads (root, tables, chunk map bytes, pool bitmap words) hit a page cache instead of the
debugger.
"""
from __future__ import annotations

import struct
from typing import Any, Dict, Optional, Tuple

from .errors import MemoryUnreadable
from .layout import RecordType
from .target import Target

_PAGE = 4096
_U64 = struct.Struct("<Q")
MAX_STRING = 4096


class Reader:
    def __init__(self, target: Target, cache_pages: int = 4096) -> None:
        self.target = target
        self._pages: Dict[int, Optional[bytes]] = {}
        self._cache_pages = cache_pages
        self.reads = 0  # reads issued to the target (for tests and benchmarks)

    def read(self, addr: int, size: int) -> bytes:
        """The bytes at [addr, addr + size), or MemoryUnreadable."""
        if size <= 0:
            return b""
        if addr < 0 or addr + size > 1 << 64:
            raise MemoryUnreadable(addr & ((1 << 64) - 1), size, "address out of range")
        if size > 2 * _PAGE:
            return self.read_uncached(addr, size)
        first = addr & ~(_PAGE - 1)
        last = (addr + size - 1) & ~(_PAGE - 1)
        parts = []
        for page in range(first, last + _PAGE, _PAGE):
            data = self._page(page)
            if data is None:
                # The page as a whole is not readable (e.g. the end of a mapping): read exactly.
                return self.read_uncached(addr, size)
            parts.append(data)
        blob = parts[0] if len(parts) == 1 else b"".join(parts)
        return blob[addr - first: addr - first + size]

    def _page(self, page: int) -> Optional[bytes]:
        if page in self._pages:
            return self._pages[page]
        try:
            data: Optional[bytes] = self.read_uncached(page, _PAGE)
        except MemoryUnreadable:
            data = None
        if len(self._pages) >= self._cache_pages:
            self._pages.clear()
        self._pages[page] = data
        return data

    def read_uncached(self, addr: int, size: int) -> bytes:
        self.reads += 1
        data = self.target.read_memory(addr, size)
        if len(data) != size:
            raise MemoryUnreadable(addr, size, f"short read ({len(data)} bytes)")
        return bytes(data)

    def try_read(self, addr: int, size: int) -> Optional[bytes]:
        try:
            return self.read(addr, size)
        except MemoryUnreadable:
            return None

    def u64(self, addr: int) -> int:
        return int(_U64.unpack(self.read(addr, 8))[0])

    def try_u64(self, addr: int) -> Optional[int]:
        data = self.try_read(addr, 8)
        return None if data is None else int(_U64.unpack(data)[0])

    def cstring(self, addr: int, limit: int = MAX_STRING) -> Optional[str]:
        """A NUL-terminated string (at most limit bytes), or None if unreadable or unterminated."""
        if addr == 0:
            return None
        out = b""
        at = addr
        while len(out) < limit:
            step = min(256, _PAGE - (at % _PAGE))
            chunk = self.try_read(at, step)
            if chunk is None:
                return None
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                return out.decode("utf-8", "replace")
            out += chunk
            at += step
        return None

    def search(self, table: int, count: int, rec_type: RecordType, key: str,
               value: int) -> Optional[Tuple[int, Any]]:
        """Binary search of `count` records at `table`, sorted by the field `key`: (index, record)
        of the last one whose key <= value; None when there is none or a read fails. At most 64
        steps, so a corrupted count cannot make it run long."""
        lo, hi = 0, count
        size = rec_type.size
        for _ in range(64):
            if lo >= hi:
                break
            mid = (lo + hi) // 2
            data = self.try_read(table + mid * size, size)
            if data is None:
                return None
            if getattr(rec_type.unpack(data), key) <= value:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return None
        data = self.try_read(table + (lo - 1) * size, size)
        return (lo - 1, rec_type.unpack(data)) if data is not None else None
