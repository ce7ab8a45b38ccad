"""The gdb front of the allocs bridge: `source` this file in gdb (allocs gdb does it for you).

It adapts gdb to the decoder's Target protocol (memory, symbols, source lines, mappings,
threads and frames) and defines the `alloc` commands and the `-alloc-describe` MI command. All
decoding lives in allocs_decoder (no gdb import there); this file only talks to gdb and prints.
Errors are one line (gdb.GdbError); gdb keeps working.
"""
from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import gdb  # type: ignore[import-not-found]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from allocs_decoder import (  # noqa: E402
    DecodeError, Frame, Mapping, MemoryUnreadable, Session, SourceLine, Symbolization, Thread, Variable,
)
from allocs_decoder import queries, render, values  # noqa: E402
from allocs_decoder.description import AddressDescription  # noqa: E402

REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
             "r14", "r15")
_INFO_SYMBOL = re.compile(r"^(\S+)(?: \+ (\d+))? in section (\S+)(?: of (\S+))?")


class GdbTarget:
    """The decoder's Target over gdb's Python API."""

    def read_memory(self, addr: int, size: int) -> bytes:
        inferior = gdb.selected_inferior()
        if inferior is None or (inferior.pid == 0 and not _has_core()):
            raise MemoryUnreadable(addr, size, "no process or core file (run the program or load a core)")
        try:
            return bytes(inferior.read_memory(addr, size))
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError) as e:
            raise MemoryUnreadable(addr, size, str(e).splitlines()[0] if str(e) else "")

    def lookup_symbol(self, name: str) -> Optional[int]:
        try:
            sym = gdb.lookup_global_symbol(name)
            if sym is not None and sym.addr_class != gdb.SYMBOL_LOC_UNRESOLVED:
                return int(sym.value().address)
        except (gdb.error, RuntimeError, TypeError):
            pass
        try:
            return int(gdb.parse_and_eval(f"(unsigned long)&'{name}'"))
        except gdb.error:
            return None

    def symbolize(self, addr: int) -> Optional[Symbolization]:
        try:
            text = gdb.execute(f"info symbol {addr:#x}", to_string=True).strip()
        except gdb.error:
            return None
        m = _INFO_SYMBOL.match(text)
        if not m:
            return None
        name, off, section, obj = m.group(1), int(m.group(2) or 0), m.group(3), m.group(4)
        if obj is None:
            obj = gdb.current_progspace().filename
        size = None
        for lookup in (gdb.lookup_static_symbol, gdb.lookup_global_symbol):
            try:
                sym = lookup(name)
                if sym is not None and sym.is_variable:
                    size = sym.type.sizeof
                    break
            except (gdb.error, RuntimeError):
                pass
        return Symbolization(name, addr - off, size, obj, section)

    def source_line(self, pc: int) -> Optional[SourceLine]:
        function = None
        try:
            block = gdb.block_for_pc(pc)
            while block is not None and block.function is None:
                block = block.superblock
            if block is not None:
                function = block.function.name
        except (RuntimeError, gdb.error):
            pass
        file = line = None
        try:
            sal = gdb.find_pc_line(pc)
            if sal.symtab is not None and sal.line:
                file, line = sal.symtab.filename, sal.line
        except gdb.error:
            pass
        if function is None:
            sym = self.symbolize(pc)
            function = sym.name if sym else None
        if function is None and file is None:
            return None
        return SourceLine(function, file, line)

    def mappings(self) -> Optional[List[Mapping]]:
        try:
            text = gdb.execute("info proc mappings", to_string=True)
        except gdb.error:
            return None
        out = []
        for raw in text.splitlines():
            tok = raw.split()
            if len(tok) < 4 or not tok[0].startswith("0x"):
                continue
            try:
                begin, end = int(tok[0], 16), int(tok[1], 16)
            except ValueError:
                continue
            rest = tok[4:]
            perms = None
            if rest and re.fullmatch(r"[r-][w-][x-][ps-]", rest[0]):
                perms = rest.pop(0)
            out.append(Mapping(begin, end, " ".join(rest) or None, perms))
        return out

    def threads(self) -> Optional[List[Thread]]:
        inferior = gdb.selected_inferior()
        out = []
        for t in sorted(inferior.threads(), key=lambda t: t.num):
            out.append(Thread(t.num, t.ptid[1] or t.ptid[0], t.name,
                              registers=_bind(_registers, t), frames=_bind(_frames, t)))
        return out


def _has_core() -> bool:
    try:
        return "Local core dump file" in gdb.execute("info target", to_string=True)
    except gdb.error:
        return False


def _bind(fn: Callable[[Any], Any], t: Any) -> Callable[[], Any]:
    cache: List[Any] = []

    def call() -> Any:
        if not cache:
            cache.append(fn(t))
        return cache[0]
    return call


class _OnThread:
    """Runs a block with another thread selected, restoring the user's thread and frame."""

    def __init__(self, thread: Any) -> None:
        self.thread = thread

    def __enter__(self) -> None:
        self.old_thread = gdb.selected_thread()
        try:
            self.old_frame = gdb.selected_frame()
        except gdb.error:
            self.old_frame = None
        self.thread.switch()

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.old_thread is not None and self.old_thread.is_valid():
                self.old_thread.switch()
            if self.old_frame is not None and self.old_frame.is_valid():
                self.old_frame.select()
        except gdb.error:
            pass


def _registers(t: Any) -> Dict[str, int]:
    out: Dict[str, int] = {}
    if not t.is_valid():
        return out
    with _OnThread(t):
        try:
            f = gdb.newest_frame()
            for r in REGISTERS:
                out[r] = int(f.read_register(r)) & ((1 << 64) - 1)
        except gdb.error:
            pass
    return out


def _frame_variables(f: Any) -> List[Variable]:
    out: List[Variable] = []
    try:
        block = f.block()
    except (RuntimeError, gdb.error):
        return out
    while block is not None:
        for sym in block:
            if not (sym.is_variable or sym.is_argument):
                continue
            try:
                v = sym.value(f)
                if v.address is not None:
                    out.append(Variable(sym.name, int(v.address), v.type.sizeof))
            except (gdb.error, RuntimeError, TypeError):
                continue
        if block.function is not None:
            break
        block = block.superblock
    return out


def _variables(t: Any, level: int) -> Callable[[], List[Variable]]:
    """The locals and arguments of frame `level` of thread t, read on demand with t selected
    (gdb's frame objects belong to the selected thread)."""
    def get() -> List[Variable]:
        if not t.is_valid():
            return []
        with _OnThread(t):
            try:
                f = gdb.newest_frame()
                for _ in range(level):
                    f = f.older() if f is not None else None
                return _frame_variables(f) if f is not None else []
            except gdb.error:
                return []
    return get


def _frames(t: Any, limit: int = 256) -> List[Frame]:
    out: List[Frame] = []
    if not t.is_valid():
        return out
    with _OnThread(t):
        try:
            f = gdb.newest_frame()
        except gdb.error:
            return out
        level = 0
        while f is not None and level < limit:
            try:
                sp = int(f.read_register("rsp")) & ((1 << 64) - 1)
                older = f.older()
                if older is not None:
                    cfa = int(older.read_register("rsp")) & ((1 << 64) - 1)
                else:
                    bp = int(f.read_register("rbp")) & ((1 << 64) - 1)
                    cfa = bp + 16 if bp > sp else sp + 8
                sal = f.find_sal()
                file = sal.symtab.filename if sal.symtab is not None else None
                out.append(Frame(level, int(f.pc()), sp, max(cfa, sp), f.name(), file, sal.line or None,
                                 _variables(t, level)))
                f = older
            except gdb.error:
                break
            level += 1
    return out


# ---- argument parsing ----
class Args:
    def __init__(self) -> None:
        self.json = False
        self.opts: Dict[str, str] = {}
        self.rest = ""


def parse_args(arg: str, valued: Tuple[str, ...] = (), flags: Tuple[str, ...] = ()) -> Args:
    """Leading (or trailing) --options, then the rest verbatim (an expression may hold spaces)."""
    a = Args()
    s = arg.strip()
    while True:
        m = re.match(r"(--[\w-]+)(?:=(\S+))?\s*", s)
        if not m:
            break
        name = m.group(1)
        s = s[m.end():]
        if name == "--json":
            a.json = True
        elif name in flags:
            a.opts[name] = "1"
        elif name in valued:
            if m.group(2) is not None:
                a.opts[name] = m.group(2)
            else:
                v = re.match(r"(?:\"([^\"]*)\"|'([^']*)'|(\S+))\s*", s)
                if not v:
                    raise gdb.GdbError(f"alloc: {name} needs a value")
                a.opts[name] = next(g for g in v.groups() if g is not None)
                s = s[v.end():]
        else:
            raise gdb.GdbError(f"alloc: unknown option {name}")
    if re.search(r"\s--json$", s) or s == "--json":
        a.json = True
        s = s[: -len("--json")].rstrip()
    a.rest = s.strip()
    return a


def address_of(expr: str) -> int:
    """The address an expression designates: a pointer's value, an integer, or an object's address."""
    if not expr:
        raise gdb.GdbError("alloc: an address or expression is needed")
    try:
        v = gdb.parse_and_eval(expr)
        code = v.type.strip_typedefs().code
        if code == gdb.TYPE_CODE_PTR:
            return int(v) & ((1 << 64) - 1)
        if code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL):
            return int(v) & ((1 << 64) - 1)
        if v.address is not None:
            return int(v.address)
        return int(v) & ((1 << 64) - 1)
    except gdb.error as e:
        raise gdb.GdbError(f"alloc: {e}")


def _int_opt(a: Args, name: str) -> Optional[int]:
    if name not in a.opts:
        return None
    try:
        return int(a.opts[name], 0)
    except ValueError:
        raise gdb.GdbError(f"alloc: {name} needs a number, not {a.opts[name]!r}")


TARGET = GdbTarget()

# One Session per stop: everything it read (root, levels, objects, metadata, types, mappings,
# frames) stays valid while the inferior stays stopped and unwritten. gdb's events drop it. The
# holder lives on the gdb module so a second `source` of this file shares the one registration.
_CACHE: Dict[str, Any] = getattr(gdb, "_allocs_session_cache", None) or {"session": None, "events": False}
gdb._allocs_session_cache = _CACHE
INVALIDATING_EVENTS = ("cont", "stop", "new_objfile", "clear_objfiles", "exited", "memory_changed",
                       "register_changed", "inferior_call", "new_inferior", "inferior_deleted", "new_thread")


def invalidate(*_args: Any) -> None:
    _CACHE["session"] = None


def _register_events() -> None:
    if _CACHE["events"]:
        return
    for name in INVALIDATING_EVENTS:
        registry = getattr(gdb.events, name, None)
        if registry is not None:
            registry.connect(invalidate)
    _CACHE["events"] = True


def session() -> Session:
    """The current stop's Session (made on first use after the inferior last changed)."""
    s = _CACHE["session"]
    if s is None or not _same_inferior(s):
        s = Session(TARGET)
        s.inferior_key = _inferior_key()  # type: ignore[attr-defined]
        _CACHE["session"] = s
    return s


def _inferior_key() -> Tuple[int, int]:
    inf = gdb.selected_inferior()
    return (inf.num, inf.pid) if inf is not None else (0, 0)


def _same_inferior(s: Session) -> bool:
    return getattr(s, "inferior_key", None) == _inferior_key()


def emit(obj: Any) -> None:
    gdb.write(json.dumps(obj) + "\n")


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Turns every failure into a one-line gdb error: never a Python traceback."""
    def wrapper(self: Any, arg: str, from_tty: bool) -> None:
        try:
            fn(self, arg, from_tty)
        except gdb.GdbError:
            raise
        except DecodeError as e:
            raise gdb.GdbError(f"alloc: {e}")
        except gdb.error as e:
            raise gdb.GdbError(f"alloc: {str(e).splitlines()[0] if str(e) else 'gdb error'}")
        except KeyboardInterrupt:
            raise gdb.GdbError("alloc: interrupted")
        except Exception as e:  # a bug in the bridge: still one line, and gdb keeps going
            raise gdb.GdbError(f"alloc: internal error: {type(e).__name__}: {e}")
    wrapper.__doc__ = fn.__doc__
    return wrapper


CORE_NO_RUNTIME = ("no __allocs_root in this core: either the program ran without the allocs runtime, or gdb "
                   "could not load its shared libraries (a truncated core, or a core of another program?)")


def describe_expr(expr: str) -> AddressDescription:
    d = session().describe(address_of(expr))
    if not d.runtime and d.notes and _has_core():
        d.notes[0] = CORE_NO_RUNTIME
    return d


# ---- commands ----
def _pointer_spelling(c_type: str) -> Optional[str]:
    """The C spelling of a pointer to c_type ("struct point[3]" -> "struct point (*)[3]"), or None
    for spellings gdb cannot take (functions, frames, made-up names)."""
    if "(" in c_type or c_type.startswith("frame "):
        return None
    br = c_type.find("[")
    return f"{c_type[:br].rstrip()} (*){c_type[br:]}" if br >= 0 else f"{c_type} *"


def print_typed(d: AddressDescription) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(the whole object, the part at d.path, how): through gdb's own type when gdb knows the C
    spelling, else decoded from the run-time type."""
    spelled = _pointer_spelling(d.type) if d.type else None
    if spelled is not None and d.base is not None:
        try:
            obj = f"(*({spelled}) {d.base:#x})"
            whole = gdb.parse_and_eval(obj)
            text = whole.format_string(pretty_structs=True, max_elements=64, repeat_threshold=0)
            at = None
            if d.path and d.path[0] in "[.":
                at = gdb.parse_and_eval(obj + d.path).format_string(pretty_structs=True, max_elements=64)
            return text, at, "gdb"
        except (gdb.error, RuntimeError):
            pass
    s = session()
    if s.types is None or d.utype is None or d.base is None:
        return None, None, None
    r = values.ValueRenderer(s.types, s.reader)
    text = r.render(d.utype, d.base)
    at = None
    if d.path and d.path_utype is not None and d.path_start is not None:
        at = values.ValueRenderer(s.types, s.reader).render(d.path_utype, d.base + d.path_start)
    return text, at, "uniqtype"


class AllocPrefix(gdb.Command):
    """What is at this address? Commands of the allocs bridge.

Every command takes --json (one JSON object on one line; see docs/address-description.md).
Addresses are expressions: a pointer's value, an integer, or an object (its address)."""

    def __init__(self) -> None:
        super().__init__("alloc", gdb.COMMAND_DATA, gdb.COMPLETE_COMMAND, prefix=True)


class _ExprCommand(gdb.Command):
    def __init__(self, name: str) -> None:
        super().__init__(name, gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)


class AllocInfo(_ExprCommand):
    """Everything about an address: alloc info [--json] EXPR

The chain of enclosing allocations from the mapping down, the leaf allocator, base, size,
offset, type (once metadata exists), and the allocation site (function, file:line, pc, seq)
or the symbol / frame / variable. Says so for a freed chunk or an unknown address."""

    def __init__(self) -> None:
        super().__init__("alloc info")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        d = describe_expr(a.rest)
        emit(d.to_json()) if a.json else gdb.write(render.info_text(d) + "\n")


class AllocWhatis(_ExprCommand):
    """The run-time type at an address: alloc whatis [--json] EXPR"""

    def __init__(self) -> None:
        super().__init__("alloc whatis")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        d = describe_expr(a.rest)
        if a.json:
            j = d.to_json()
            emit({k: j[k] for k in ("address", "allocator", "base", "size", "offset", "type", "uniqtype",
                                    "path", "pathType", "state")})
        else:
            gdb.write(render.whatis_text(d) + "\n")


class AllocWhereis(_ExprCommand):
    """The chain of allocations containing an address, from the mapping down: alloc whereis [--json] EXPR"""

    def __init__(self) -> None:
        super().__init__("alloc whereis")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        d = describe_expr(a.rest)
        if a.json:
            j = d.to_json()
            keys = ("address", "allocator", "base", "size", "offset", "state", "chain", "notes")
            emit({k: j[k] for k in keys})
        else:
            gdb.write(render.whereis_text(d) + "\n")


class AllocWhyis(_ExprCommand):
    """Where the allocation at an address came from: alloc whyis [--json] EXPR"""

    def __init__(self) -> None:
        super().__init__("alloc whyis")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        d = describe_expr(a.rest)
        if a.json:
            j = d.to_json()
            emit({k: j[k] for k in ("address", "allocator", "base", "size", "state", "site", "notes")})
        else:
            gdb.write(render.whyis_text(d) + "\n")


class AllocPrint(_ExprCommand):
    """Print the object an address points into, with its run-time type: alloc print [--json] [--bytes N] EXPR

Also for a void * or an interior pointer (C's `set print object on`): the whole allocation is
printed as its dynamic type (through gdb's own type when gdb knows it, else decoded from the
run-time type), then the member or element the address falls in. Without a type: raw bytes."""

    def __init__(self) -> None:
        super().__init__("alloc print")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--bytes",))
        d = describe_expr(a.rest)
        limit = _int_opt(a, "--bytes") or 64
        value, at_path, via = (None, None, None)
        if d.utype is not None and d.base is not None:
            value, at_path, via = print_typed(d)
        if a.json:
            data = b""
            if value is None and d.base is not None and d.size:
                data = TARGET.read_memory(d.base, min(d.size, limit))
            emit({"description": d.to_json(), "type": d.type, "value": value, "atPath": at_path, "via": via,
                  "bytes": data.hex() if value is None else None,
                  "truncated": bool(value is None and d.size and d.size > len(data))})
            return
        gdb.write(render.headline(d) + "\n")
        gdb.write(f"type: {render.whatis_text(d, short=True)}\n")
        if d.base is None:
            return
        if value is not None:
            gdb.write(f"({d.type}) {value}\n")
            if d.path and at_path is not None:
                gdb.write(f"at {d.path}: ({d.path_type}) {at_path}\n")
            return
        data = TARGET.read_memory(d.base, min(d.size, limit)) if d.size else b""
        more = f" (first {len(data)} shown)" if d.size and d.size > len(data) else ""
        gdb.write(f"raw bytes: {render._size(d.size)}{more}\n")
        gdb.write("\n".join(render.hexdump(d.base, data)) + ("\n" if data else ""))


class AllocLs(gdb.Command):
    """List live heap allocations, filtered.

Usage: alloc ls [--json] [--site FN|FILE:LINE] [--min-size N] [--limit N] [--type T]
--type T keeps allocations of run-time type T (C spelling, quoted when it has spaces, or
canonical name), arrays of T included."""

    def __init__(self) -> None:
        super().__init__("alloc ls", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--site", "--min-size", "--limit", "--type"))
        if a.rest:
            raise gdb.GdbError(f"alloc ls: unexpected argument {a.rest!r}")
        limit = _int_opt(a, "--limit")
        limit = 100 if limit is None and not a.json else limit
        s = session()
        want = a.opts.get("--type")
        if want is not None and s.types is None:
            raise gdb.GdbError("alloc ls: --type needs the allocs runtime's type metadata")
        entries, matched = queries.ls(s, site=a.opts.get("--site"), min_size=_int_opt(a, "--min-size") or 0,
                                      limit=limit, type_name=want)
        if a.json:
            emit({"entries": [e.to_json(s) for e in entries], "matched": matched})
            return
        for e in entries:
            j = e.to_json(s)
            site = render.site_text(j["site"]) or "?"
            gdb.write(f"{e.base:#x} {e.size:>10}  {e.allocator:<22} {j['type'] or '?':<24} {site}\n")
        more = f" (showing {len(entries)}; --limit N for more)" if matched > len(entries) else ""
        gdb.write(f"{matched} live allocation{'s' if matched != 1 else ''}{more}\n")


class AllocCensus(gdb.Command):
    """Count and bytes of live heap allocations per site or per run-time type, largest first.

Usage: alloc census [--json] [--by site|type] [--limit N]
By type, an array site counts under `T[]` whatever each chunk's length. The totals are checked
against the runtime's own counters (alloc_get_stats)."""

    def __init__(self) -> None:
        super().__init__("alloc census", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--by", "--limit"))
        by = a.opts.get("--by", "site")
        if by not in ("site", "type"):
            raise gdb.GdbError(f"alloc census: --by {by}: expected site or type")
        s = session()
        c = queries.census(s, by)
        if a.json:
            emit(c.to_json(s, by))
            return
        limit = _int_opt(a, "--limit") or 50
        gdb.write(f"{'count':>10} {'bytes':>14}  {by}\n")
        for r in c.rows[:limit]:
            if by == "site":
                key = render.site_text(queries.site_json(s, r.key)) or "(unknown site)"
            else:
                key = r.key or "(type unknown)"
            gdb.write(f"{r.count:>10} {r.bytes:>14}  {key}\n")
        gdb.write(f"{c.chunks:>10} {c.chunk_bytes:>14}  total live malloc chunks\n")
        if c.pool_objects:
            gdb.write(f"{c.pool_objects:>10} {c.pool_bytes:>14}  pool objects (inside those chunks)\n")
        st = c.stats
        same = "agree" if (st.live_chunks, st.live_bytes) == (c.chunks, c.chunk_bytes) else "DISAGREE"
        gdb.write(f"runtime counters: {st.live_chunks} live chunks, {st.live_bytes} bytes ({same}); "
                  f"{st.total_allocs} allocations, {st.total_frees} frees in all\n")


class AllocMaps(gdb.Command):
    """The hierarchy of big allocations as an indented tree: alloc maps [--json]

Mappings, ELF files and their segments, the brk heap, stacks and the auxv area."""

    def __init__(self) -> None:
        super().__init__("alloc maps", gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        s = session()
        tree = queries.maps(s)
        if a.json:
            emit({"maps": tree})
        else:
            gdb.write("\n".join(render.maps_lines(tree)) + "\n")


class AllocType(gdb.Command):
    """The layout of a run-time type: alloc type [--json] NAME|EXPR

NAME is a C spelling (`struct point`, `int[3]`) or a canonical name (`point`, `__ARR3_point`);
an expression gives the type of the allocation it points into. Shows members with offsets,
sizes and bit-fields, enumerators, parameters."""

    def __init__(self) -> None:
        super().__init__("alloc type", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg)
        if not a.rest:
            raise gdb.GdbError("alloc type: a type name or an expression is needed")
        s = session()
        types = s.types
        if types is None:
            raise gdb.GdbError("alloc type: the allocs runtime is not loaded, so no run-time types are known")
        name = a.rest[1:-1] if len(a.rest) > 1 and a.rest[0] == a.rest[-1] and a.rest[0] in "'\"" else a.rest
        t = types.lookup(name)
        if t is None:
            try:
                d = s.describe(address_of(a.rest))
            except gdb.GdbError:
                raise gdb.GdbError(f"alloc type: no run-time type named {a.rest!r}, and not an expression")
            t = d.utype
            if t is None:
                raise gdb.GdbError(f"alloc type: the allocation at {d.address:#x} has no known run-time type")
        j = values.type_layout(types, t)
        if a.json:
            emit(j)
        else:
            gdb.write("\n".join(values.layout_lines(j)) + "\n")

    def complete(self, text: str, word: str) -> Any:
        """Run-time type names (C spellings) when the process has them, else gdb's expressions."""
        try:
            types = session().types
            names = types.names() if types is not None else []
        except Exception:  # completion must never fail loudly
            names = []
        if not names:
            return gdb.COMPLETE_EXPRESSION
        start = len(text) - len(word)  # gdb replaces only the last word
        return [n[start:] for n in names if n.startswith(text)][:200]


class AllocWhoPointsTo(_ExprCommand):
    """Pointers into the allocation at an address: alloc who-points-to [--json] [--limit N] EXPR

Scans live heap chunks, writable static data, thread stacks and registers, and keeps a word only
where the run-time type of the memory holding it says it is a pointer (typed). Words in memory
whose type is unknown are listed as an untyped fallback, labelled so."""

    def __init__(self) -> None:
        super().__init__("alloc who-points-to")

    @guarded
    def invoke(self, arg: str, from_tty: bool) -> None:
        a = parse_args(arg, valued=("--limit",))
        s = session()
        d = s.describe(address_of(a.rest))
        limit = _int_opt(a, "--limit") or 20
        rows = queries.typed_referrers(s, d, limit=limit)
        if a.json:
            emit({"target": d.to_json(), "typed": any(r.typed for r in rows), "referrers": [
                {"address": None if r.ref.region == "register" else f"{r.ref.where:#x}",
                 "value": f"{r.ref.value:#x}", "region": r.ref.region, "register": r.ref.register,
                 "thread": r.ref.thread, "typed": r.typed,
                 "description": r.description.to_json() if r.description else None} for r in rows]})
            return
        gdb.write(render.headline(d) + "\n")
        for r in rows:
            ref, w = r.ref, r.description
            if ref.region == "register":
                gdb.write(f"  register {ref.register} of thread {ref.thread} = {ref.value:#x} (untyped)\n")
                continue
            what = render.headline(w) if w else ""
            typ = ""
            if w is not None and w.type:
                typ = f" {w.type}{' ' + w.path if w.path else ''}"
            site = render.site_text(w.site) if w else None
            tail = f"; {site}" if site else ""
            label = "" if r.typed else " (untyped: memory of unknown type)"
            gdb.write(f"  {ref.where:#x} ({ref.region}{typ}) = {ref.value:#x}: {what}{tail}{label}\n")
        if not rows:
            gdb.write("  no pointers found\n")


def _mi_value(v: Any) -> Any:
    """MI results: strings, lists and dicts; null becomes an empty string."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return {k: _mi_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_mi_value(x) for x in v]
    return str(v)


def _describe_json(expr: str) -> Dict[str, Any]:
    try:
        return describe_expr(expr).to_json()
    except DecodeError as e:
        raise gdb.GdbError(f"alloc: {e}")
    except gdb.error as e:
        raise gdb.GdbError(f"alloc: {str(e).splitlines()[0] if str(e) else 'gdb error'}")


if hasattr(gdb, "MICommand"):
    class MiAllocDescribe(gdb.MICommand):
        """-alloc-describe [--json] ADDR: the address description as MI results (or one JSON string)."""

        def __init__(self) -> None:
            super().__init__("-alloc-describe")

        def invoke(self, argv: List[str]) -> Dict[str, Any]:
            as_json = "--json" in argv
            rest = [x for x in argv if x != "--json"]
            if len(rest) != 1:
                raise gdb.GdbError("usage: -alloc-describe [--json] ADDR (several: -alloc-describe-batch)")
            d = _describe_json(rest[0])
            if as_json:
                return {"json": json.dumps(d)}
            return {"description": _mi_value(d)}

    class MiAllocDescribeBatch(gdb.MICommand):
        """-alloc-describe-batch [--json] ADDR...: one description per address, in order; an address
        that cannot be answered gives {address, error} in its place (the others still answer)."""

        def __init__(self) -> None:
            super().__init__("-alloc-describe-batch")

        def invoke(self, argv: List[str]) -> Dict[str, Any]:
            as_json = "--json" in argv
            rest = [x for x in argv if x != "--json"]
            out: List[Dict[str, Any]] = []
            for expr in rest:
                try:
                    out.append(_describe_json(expr))
                except gdb.GdbError as e:
                    out.append({"address": expr, "error": str(e)})
                except Exception as e:  # a bug in the bridge: this address only
                    out.append({"address": expr, "error": f"alloc: internal error: {type(e).__name__}: {e}"})
            if as_json:
                return {"json": json.dumps(out)}
            return {"descriptions": _mi_value(out)}


CLI_MARKER = "@allocs-report"


def cli_report(exprs: List[str], as_json: bool) -> None:
    """`allocs core`'s answers, in one call: for each expression its description (or a one-line
    error), as text blocks or as one JSON array {expression, description | error}. With no
    expression, a summary: the census."""
    results: List[Dict[str, Any]] = []
    for expr in exprs:
        try:
            d = describe_expr(expr)
            results.append({"expression": expr, "description": d.to_json(), "text": render.info_text(d)})
        except gdb.GdbError as e:
            results.append({"expression": expr, "error": str(e)})
        except (DecodeError, gdb.error) as e:
            results.append({"expression": expr, "error": f"alloc: {e}"})
        except Exception as e:
            results.append({"expression": expr, "error": f"alloc: internal error: {type(e).__name__}: {e}"})
    if not exprs:
        try:
            s = session()
            c = queries.census(s, "site")
            results.append({"census": c.to_json(s, "site")})
        except (DecodeError, gdb.error, ValueError) as e:
            results.append({"error": f"alloc: {e}"})
    gdb.write(f"{CLI_MARKER}\n")  # everything gdb printed before this is its own chatter
    if as_json:
        gdb.write(json.dumps([{k: v for k, v in r.items() if k != "text"} for r in results]) + "\n")
        return
    for r in results:
        if "expression" in r:
            gdb.write(f"== {r['expression']}\n")
        if "error" in r:
            gdb.write(f"error: {r['error']}\n")
        elif "text" in r:
            gdb.write(r["text"] + "\n")
        elif "census" in r:
            gdb.execute("alloc census")


def register() -> None:
    AllocPrefix()
    for cls in (AllocInfo, AllocWhatis, AllocWhereis, AllocWhyis, AllocPrint, AllocLs, AllocCensus, AllocMaps,
                AllocType, AllocWhoPointsTo):
        cls()
    if hasattr(gdb, "MICommand"):
        MiAllocDescribe()
        MiAllocDescribeBatch()
    _register_events()


register()
