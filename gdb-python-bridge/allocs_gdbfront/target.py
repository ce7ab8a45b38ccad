"""The decoder's Target over gdb's Python API: memory, symbols, source lines, mappings, threads,
registers and frames (with their variables, read on demand)."""
from __future__ import annotations

import os
import re
import shlex
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple

import gdb  # type: ignore[import-not-found]

from allocs_decoder import Frame, Mapping, MemoryUnreadable, SourceLine, Symbolization, Thread, Variable
from allocs_decoder.target import Architecture, architecture_of

REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
             "r14", "r15")
_CORE_SEGMENT = re.compile(r"^\s*0x([0-9a-f]+) - 0x([0-9a-f]+) is load\d+[a-z]?$")
# `NAME [+ OFF] in section SEC [of FILE]`; a demangled C++ name has spaces (`f(unsigned long, char)`)
_INFO_SYMBOL = re.compile(r"^(.+?)(?: \+ (\d+))? in section (\S+)(?: of (\S+))?")


def gdb_text(command: str) -> str:
    """A gdb command's output as text. gdb's Python gives it as strict UTF-8 and raises on any other
    byte (a path in a damaged core's file-mapping note, a file named in Latin-1): then the output is
    taken as bytes through gdb's `pipe` and bad bytes are escaped (\\xNN), so one byte cannot stop
    every query."""
    try:
        return str(gdb.execute(command, to_string=True))
    except UnicodeDecodeError:
        pass
    fd, path = tempfile.mkstemp(prefix="allocs-gdb-")
    os.close(fd)
    try:
        gdb.execute(f"pipe {command} | cat > {shlex.quote(path)}", to_string=True)
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "backslashreplace")
    finally:
        os.unlink(path)


class GdbTarget:
    """The decoder's Target (a CommandTarget, with every optional method) over gdb's Python API."""

    name = "gdb"

    def evaluate_address(self, expr: str) -> int:
        """A pointer's value, an integer, or an object's address; gdb.error when gdb cannot."""
        v = gdb.parse_and_eval(expr)
        code = v.type.strip_typedefs().code
        if code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM, gdb.TYPE_CODE_CHAR,
                    gdb.TYPE_CODE_BOOL):
            return int(v) & ((1 << 64) - 1)
        if v.address is not None:
            return int(v.address)
        return int(v) & ((1 << 64) - 1)

    def is_core(self) -> bool:
        return has_core()

    def architecture(self) -> Optional[Architecture]:
        """gdb's name for the inferior's architecture, its pointer size and byte order."""
        try:
            name = gdb.selected_inferior().architecture().name()
            size = int(gdb.lookup_type("void").pointer().sizeof)
            little = "big endian" not in gdb_text("show endian")
        except (gdb.error, RuntimeError, AttributeError, ValueError):
            return None
        return architecture_of(name, size, little)

    def object_bytes(self, path: str) -> Optional[bytes]:
        """The file gdb read for the object the process loaded from path, when it is another
        file on this host (a sysroot's, a solib-search-path's); None when it is path itself or
        is not on this host (`target:` files are read through the remote target by gdb only)."""
        try:
            for o in gdb.objfiles():
                local = o.filename
                if path in (o.filename, o.username) and local and local != path \
                        and not local.startswith("target:") and os.path.isfile(local):
                    with open(local, "rb") as f:
                        return f.read()
        except (gdb.error, RuntimeError, OSError):
            pass
        return None

    def print_object(self, pointer_type: str, addr: int,
                     path: Optional[str]) -> Optional[Tuple[str, Optional[str]]]:
        try:
            obj = f"(*({pointer_type}) {addr:#x})"
            whole = gdb.parse_and_eval(obj)
            text = whole.format_string(pretty_structs=True, max_elements=64, repeat_threshold=0)
            at = None
            if path:
                at = gdb.parse_and_eval(obj + path).format_string(pretty_structs=True, max_elements=64)
            return text, at
        except (gdb.error, RuntimeError):
            return None

    def read_memory(self, addr: int, size: int) -> bytes:
        inferior = gdb.selected_inferior()
        if inferior is None or (inferior.pid == 0 and not has_core()):
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
        except (gdb.error, RuntimeError, TypeError, ValueError):
            pass
        try:
            return int(gdb.parse_and_eval(f"(unsigned long)&'{name}'"))
        except (gdb.error, ValueError):
            return None

    def symbolize(self, addr: int) -> Optional[Symbolization]:
        try:
            text = gdb_text(f"info symbol {addr:#x}").strip()
        except (gdb.error, ValueError):
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
            except (gdb.error, RuntimeError, ValueError):
                pass
        return Symbolization(name, addr - off, size, obj, section)

    def demangle(self, name: str) -> Optional[str]:
        """gdb's own demangler (its `demangle` command); None when it cannot."""
        try:
            text = gdb.execute(f"demangle -l c++ -- {name}", to_string=True).strip()
        except gdb.error:
            return None
        return text if text and not text.startswith("Can't demangle") else None

    def source_line(self, pc: int) -> Optional[SourceLine]:
        function = None
        try:
            block = gdb.block_for_pc(pc)
            while block is not None and block.function is None:
                block = block.superblock
            if block is not None:
                function = block.function.name
        except (RuntimeError, gdb.error, ValueError):
            pass
        file = line = None
        try:
            sal = gdb.find_pc_line(pc)
            if sal.symtab is not None and sal.line:
                file, line = sal.symtab.filename, sal.line
        except (gdb.error, ValueError):
            pass
        if function is None:
            sym = self.symbolize(pc)
            function = sym.name if sym else None
        if function is None and file is None:
            return None
        return SourceLine(function, file, line)

    def enclosing_function(self, pc: int, levels: int) -> Optional[SourceLine]:
        """The function `levels` function blocks out from the innermost one at pc (inlined
        functions' blocks count), with the file its symbol is defined in."""
        try:
            block = gdb.block_for_pc(pc)
            seen = 0
            while block is not None and not block.is_static and not block.is_global:
                if block.function is not None:
                    if seen == levels:
                        sym = block.function
                        return SourceLine(sym.name, sym.symtab.filename if sym.symtab else None, None)
                    seen += 1
                block = block.superblock
        except (RuntimeError, gdb.error):
            pass
        return None

    def mappings(self) -> Optional[List[Mapping]]:
        try:
            text = gdb_text("info proc mappings")
        except (gdb.error, ValueError):
            return None
        out = []
        for raw in text.splitlines():
            tok = raw.split()
            if len(tok) < 4 or not tok[0].startswith("0x"):
                continue
            try:
                begin, end, offset = int(tok[0], 16), int(tok[1], 16), int(tok[3], 16)
            except ValueError:
                continue
            rest = tok[4:]
            perms = None
            if rest and re.fullmatch(r"[r-][w-][x-][ps-]", rest[0]):
                perms = rest.pop(0)
            out.append(Mapping(begin, end, " ".join(rest) or None, perms, offset))
        if has_core():
            out = sorted(out + _core_segments(out), key=lambda m: m.begin)
        return out

    def thread_pointers(self) -> Optional[Dict[int, int]]:
        """$fs_base of every thread (gdb's register list for the decoder has no fs_base): each
        thread is selected in turn, and the selected thread and frame are put back."""
        out: Dict[int, int] = {}
        prev = gdb.selected_thread()
        try:
            prev_frame: Optional[gdb.Frame] = gdb.selected_frame()
        except gdb.error:
            prev_frame = None
        try:
            for t in gdb.selected_inferior().threads():
                if not t.is_valid():
                    continue
                try:
                    t.switch()
                    fs = int(gdb.parse_and_eval("$fs_base")) & ((1 << 64) - 1)
                except (gdb.error, RuntimeError):
                    continue
                if fs:
                    out[t.num] = fs
        finally:
            if prev is not None and prev.is_valid():
                prev.switch()
                # switching threads selects frame 0: the user's `up` stays where it was
                if prev_frame is not None and prev_frame.is_valid():
                    prev_frame.select()
        return out

    def threads(self) -> Optional[List[Thread]]:
        inferior = gdb.selected_inferior()
        out = []
        for t in sorted(inferior.threads(), key=lambda t: t.num):
            out.append(Thread(t.num, t.ptid[1] or t.ptid[0], t.name,
                              registers=_bind(_registers, t), frames=_bind(_frames, t)))
        return out


def _core_segments(listed: List[Mapping]) -> List[Mapping]:
    """A core's segments that `info proc mappings` leaves out: it lists only file-backed mappings
    (the core's NT_FILE note), so the heap, anonymous mmaps and thread stacks are missing. gdb
    names the core's segments loadN in `info files`; those are unnamed, as the core does not say."""
    try:
        text = gdb_text("info files")
    except (gdb.error, ValueError):
        return []
    out = []
    for raw in text.splitlines():
        m = _CORE_SEGMENT.match(raw)
        if m is None:
            continue
        begin, end = int(m.group(1), 16), int(m.group(2), 16)
        if not any(o.begin < end and begin < o.end for o in listed):
            out.append(Mapping(begin, end))
    return out


def has_core() -> bool:
    try:
        return "Local core dump file" in gdb_text("info target")
    except (gdb.error, ValueError):
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
        except (gdb.error, ValueError):
            self.old_frame = None
        self.thread.switch()

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.old_thread is not None and self.old_thread.is_valid():
                self.old_thread.switch()
            if self.old_frame is not None and self.old_frame.is_valid():
                self.old_frame.select()
        except (gdb.error, ValueError):
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
        except (gdb.error, ValueError):
            pass
    return out


def _frame_variables(f: Any) -> List[Variable]:
    out: List[Variable] = []
    try:
        block = f.block()
    except (RuntimeError, gdb.error, ValueError):
        return out
    while block is not None:
        for sym in block:
            if not (sym.is_variable or sym.is_argument):
                continue
            try:
                v = sym.value(f)
                if v.address is not None:
                    out.append(Variable(sym.name, int(v.address), v.type.sizeof))
            except (gdb.error, RuntimeError, TypeError, ValueError):
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
            except (gdb.error, ValueError):
                return []
    return get


class _PastMain:
    """Unwinds past `main` for the moment (`set backtrace past-main on`), restoring the user's
    setting: a frame's bounds are [sp, CFA), and the CFA is its caller's stack pointer, which gdb
    unwinds from the CFI (.eh_frame) at any -O level. gdb shows no caller for main by default, so
    without this main's CFA would be a guess (rbp + 16 holds only with a frame pointer)."""

    def __enter__(self) -> bool:
        try:
            self.old = bool(gdb.parameter("backtrace past-main"))
            if not self.old:
                gdb.execute("set backtrace past-main on", to_string=True)
        except (gdb.error, RuntimeError):
            self.old = True
        return self.old

    def __exit__(self, *exc: Any) -> None:
        if not self.old:
            try:
                gdb.execute("set backtrace past-main off", to_string=True)
            except gdb.error:
                pass


def _frames(t: Any, limit: int = 256) -> List[Frame]:
    out: List[Frame] = []
    if not t.is_valid():
        return out
    with _OnThread(t), _PastMain() as past_main:
        try:
            f = gdb.newest_frame()
        except (gdb.error, ValueError):
            return out
        level = 0
        while f is not None and level < limit:
            try:
                sp = int(f.read_register("rsp")) & ((1 << 64) - 1)
                older = f.older()
                if older is not None:
                    cfa = int(older.read_register("rsp")) & ((1 << 64) - 1)
                else:  # the outermost frame (_start, clone3): nothing to unwind to
                    bp = int(f.read_register("rbp")) & ((1 << 64) - 1)
                    cfa = bp + 16 if bp > sp else sp + 8
                sal = f.find_sal()
                file = sal.symtab.filename if sal.symtab is not None else None
                out.append(Frame(level, int(f.pc()), sp, max(cfa, sp), f.name(), file, sal.line or None,
                                 _variables(t, level)))
                if not past_main and f.name() == "main":
                    break  # the frames the user sees (levels as in `backtrace`) end at main
                f = older
            except (gdb.error, ValueError):
                break
            level += 1
    return out
