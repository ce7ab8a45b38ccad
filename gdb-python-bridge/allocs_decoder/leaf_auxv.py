"""The auxv leaf: argc, argv, envp, auxv and their strings."""
from __future__ import annotations

from typing import TYPE_CHECKING, List

from . import layout as L
from .address_description import AddressDescription, Level, static_site
from .leaf_types import fill_types

if TYPE_CHECKING:  # Session.describe() reaches this module: a run-time import would be circular
    from .session import Session


MAX_STRINGS = 65536


def describe_auxv(s: Session, d: AddressDescription, addr: int) -> None:
    rec = s.require_root().rec
    r = s.reader
    word, aux = s.arch.pointer_size, s.arch.auxv_entry_size  # 8 and 16 on x86-64
    items: List[tuple] = []
    if rec.argv:
        items.append(("argc", rec.argv - word, word))
        argc = min(rec.argc, MAX_STRINGS)
        items.append(("argv", rec.argv, word * (argc + 1)))
        strings = [(f"argv[{i}]", s.try_word(rec.argv + word * i)) for i in range(argc)]
        envc = 0
        if rec.envp:
            while envc < MAX_STRINGS and s.try_word(rec.envp + word * envc):
                envc += 1
            items.append(("envp", rec.envp, word * (envc + 1)))
            strings += [(f"envp[{i}]", s.try_word(rec.envp + word * i)) for i in range(envc)]
        if rec.auxv:
            n = 0
            while n < 512 and s.try_word(rec.auxv + aux * n):
                n += 1
            items.append(("auxv", rec.auxv, aux * (n + 1)))
        for name, p in strings:
            if p and p <= addr < p + 4096:
                text = r.cstring(p)
                if text is not None:
                    items.append((name, p, len(text.encode()) + 1))
    for name, base, size in items:
        if base <= addr < base + size:
            d.allocator, d.base, d.size, d.state = L.AUXV, base, size, "live"
            d.push(Level(L.AUXV, base, size, name))
            d.site = static_site(name, None, None)
            fill_types(s, d, lambda types: types.of_auxv(base, size))
            return
    if rec.auxv_lo <= addr < rec.auxv_hi:
        base, size = rec.auxv_lo, rec.auxv_hi - rec.auxv_lo
        d.allocator, d.base, d.size, d.state = L.AUXV, base, size, "live"
        d.push(Level(L.AUXV, base, size, None))
        d.site = static_site(None, None, None)
