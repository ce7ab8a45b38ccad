"""The decoder's Target over LLDB's SB API: memory (SBProcess.ReadMemory, the object files'
sections where a core left them out, zeros where the kernel wrote none of an anonymous mapping),
symbols (SBTarget.FindSymbols, ResolveLoadAddress), source lines, mappings (GetMemoryRegions; in
a core, its segments), threads, registers and frames with DWARF's CFA (SBFrame.GetCFA) and their
variables, and expressions (SBFrame)."""
from __future__ import annotations

import os
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import lldb  # type: ignore[import-not-found]

from allocs_decoder import core_notes
from allocs_decoder import Frame, Mapping, MemoryUnreadable, SourceLine, Symbolization, Thread, Variable
from allocs_decoder.cxx import without_return_type
from allocs_decoder.target import Architecture, architecture_of

from .thread_pointers import core_file, thread_pointers as find_thread_pointers

MASK64 = (1 << 64) - 1
REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
             "r14", "r15")
_DATA_SYMBOLS = {lldb.eSymbolTypeData}
_SCALAR_CLASSES = (lldb.eTypeClassPointer, lldb.eTypeClassBuiltin, lldb.eTypeClassEnumeration)


class LldbError(Exception):
    """An expression LLDB could not evaluate (its message is LLDB's first line)."""


_EXPR_LOCATION = re.compile(r"^<user expression \d+>:\d+:\d+: ")


def _first_line(text: Optional[str], default: str) -> str:
    """LLDB's error in one line: the first `error:` line that says what went wrong (the
    expression parser's headline, "expression failed to parse:", says nothing)."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("error: "):
            ln = _EXPR_LOCATION.sub("", ln[len("error: "):])
            if ln:
                return ln
    lines = [ln for ln in lines if not ln.endswith("failed to parse:")] or lines
    return lines[0] if lines else default


class LldbTarget:
    """The decoder's Target (a CommandTarget, with every optional method) over one SBTarget.

    The SB objects are looked up at each call from the debugger (the selected target, process,
    thread and frame), so one LldbTarget serves a whole lldb session. Optional methods never
    raise: LLDB's failures become None."""

    name = "lldb"

    def __init__(self, debugger: Any, exe_ctx: Any = None) -> None:
        self.debugger = debugger
        self.exe_ctx = exe_ctx
        self._zero_key: Optional[int] = None
        self._zero_cache: List[Tuple[int, int]] = []

    # ---- the SB objects of the moment ----
    def target(self) -> Any:
        if self.exe_ctx is not None and self.exe_ctx.GetTarget().IsValid():
            return self.exe_ctx.GetTarget()
        return self.debugger.GetSelectedTarget()

    def process(self) -> Any:
        return self.target().GetProcess()

    def frame(self) -> Any:
        if self.exe_ctx is not None and self.exe_ctx.GetFrame().IsValid():
            return self.exe_ctx.GetFrame()
        return self.process().GetSelectedThread().GetSelectedFrame()

    def has_memory(self) -> bool:
        """Whether there is a process (live or a core) to read: not before `run`, nor after exit."""
        p = self.process()
        gone = (lldb.eStateInvalid, lldb.eStateUnloaded, lldb.eStateExited, lldb.eStateDetached)
        return bool(p.IsValid()) and p.GetState() not in gone

    # ---- Target ----
    def read_memory(self, addr: int, size: int) -> bytes:
        if not self.has_memory():
            raise MemoryUnreadable(addr, size, "no process or core file (run the program or load a core)")
        if size == 0:
            return b""
        data, why = self._read(addr, size)
        if data is not None:
            return data
        if self.is_core():
            data = self._read_zero_filled(addr, size)
            if data is not None:
                return data
        raise MemoryUnreadable(addr, size, why)

    def _read(self, addr: int, size: int) -> Tuple[Optional[bytes], str]:
        """The bytes at [addr, addr + size), or (None, LLDB's reason)."""
        err = lldb.SBError()
        data = self.process().ReadMemory(addr, size, err)
        if err.Success() and data is not None and len(data) == size:
            return bytes(data), ""
        # A core holds only the segments the kernel (or gcore) wrote: read-only parts of the
        # object files are read from the files, as LLDB's own `memory read` does.
        t = self.target()
        ferr = lldb.SBError()
        fdata = t.ReadMemory(lldb.SBAddress(addr, t), size, ferr)
        if ferr.Success() and fdata is not None and len(fdata) == size and self.is_core():
            return bytes(fdata), ""
        return None, _first_line(err.GetCString(), "")

    def _read_zero_filled(self, addr: int, size: int) -> Optional[bytes]:
        """A core's read that meets memory the kernel wrote no bytes for (a mapping the process
        never wrote): zeros there, as gdb reads it, where LLDB says the core "does not contain"
        it; the rest read as usual. None if any part is still unreadable or none is zero-filled."""
        end = addr + size
        pieces: List[bytes] = []
        at = addr
        filled = False
        for b, e in self._zero_ranges():
            if e <= at or b >= end:
                continue
            if b > at:
                head, _ = self._read(at, b - at)
                if head is None:
                    return None
                pieces.append(head)
                at = b
            upto = min(e, end)
            pieces.append(bytes(upto - at))
            at, filled = upto, True
            if at == end:
                break
        if not filled:
            return None
        if at < end:
            tail, _ = self._read(at, end - at)
            if tail is None:
                return None
            pieces.append(tail)
        return b"".join(pieces)

    def _zero_ranges(self) -> List[Tuple[int, int]]:
        """The core's zero-filled ranges (core_notes.zero_filled), read once per process."""
        key = int(self.process().GetUniqueID())
        if self._zero_key != key:
            path = core_file(self.process())
            self._zero_cache = core_notes.zero_filled(path) if path else []
            self._zero_key = key
        return self._zero_cache

    def lookup_symbol(self, name: str) -> Optional[int]:
        t = self.target()
        found = t.FindSymbols(name)
        for i in range(found.GetSize()):
            sym = found.GetContextAtIndex(i).GetSymbol()
            if sym.IsValid():
                a = sym.GetStartAddress().GetLoadAddress(t)
                if a != lldb.LLDB_INVALID_ADDRESS:
                    return int(a)
        return None

    def evaluate_address(self, expr: str) -> int:
        """A pointer's value, an integer, or an object's address. A variable path (`p`, `a[2]`,
        `s.f`, `&x`) is read without compiling; anything else goes through LLDB's expression
        evaluator in the selected frame."""
        try:
            return int(expr, 0) & MASK64
        except ValueError:
            pass
        frame = self.frame()
        v = frame.GetValueForVariablePath(expr) if frame.IsValid() else None
        if v is None or not v.IsValid() or not v.GetError().Success():
            opts = lldb.SBExpressionOptions()
            opts.SetTimeoutInMicroSeconds(5_000_000)
            opts.SetIgnoreBreakpoints(True)
            v = frame.EvaluateExpression(expr, opts) if frame.IsValid() else self.target().EvaluateExpression(
                expr, opts)
        if not v.IsValid() or not v.GetError().Success():
            raise LldbError(_first_line(v.GetError().GetCString() if v.IsValid() else None,
                                        f"cannot evaluate {expr!r}"))
        cls = v.GetType().GetCanonicalType().GetTypeClass()
        if cls in _SCALAR_CLASSES:
            return int(v.GetValueAsUnsigned()) & MASK64
        addr = v.GetLoadAddress()
        if addr != lldb.LLDB_INVALID_ADDRESS:
            return int(addr)
        return int(v.GetValueAsUnsigned()) & MASK64

    # ---- optional: none of these raises ----
    def is_core(self) -> bool:
        try:
            return self.process().GetPluginName() == "elf-core"
        except Exception:
            return False

    def architecture(self) -> Optional[Architecture]:
        """The target triple's architecture, its address size and byte order."""
        try:
            t = self.target()
            triple = t.GetTriple() or ""
            if not triple:
                return None
            size = int(t.GetAddressByteSize()) or 8
            little = t.GetByteOrder() != lldb.eByteOrderBig
        except Exception:
            return None
        return architecture_of(triple.split("-")[0], size, little)

    def object_bytes(self, path: str) -> Optional[bytes]:
        """The file LLDB read for the module the process loaded from path (its platform file),
        when it is another file on this host (a remote platform's module cache, a sysroot's);
        None when it is path itself or there is none."""
        try:
            for m in self.target().module_iter():
                local = m.GetFileSpec().fullpath
                if path in (local, m.GetPlatformFileSpec().fullpath) and local and local != path \
                        and os.path.isfile(local):
                    with open(local, "rb") as f:
                        return f.read()
        except Exception:
            pass
        return None

    def symbolize(self, addr: int) -> Optional[Symbolization]:
        try:
            t = self.target()
            a = t.ResolveLoadAddress(addr)
            sym = a.GetSymbol()
            if not sym.IsValid() or not sym.GetName():
                return None
            base = sym.GetStartAddress().GetLoadAddress(t)
            end = sym.GetEndAddress().GetLoadAddress(t)
            if base == lldb.LLDB_INVALID_ADDRESS:
                return None
            # As gdb's front: a size only for variables (a function's "size" says nothing here).
            size = end - base if sym.GetType() in _DATA_SYMBOLS and end > base else None
            section = a.GetSection().GetName() if a.GetSection().IsValid() else None
            obj = a.GetModule().GetFileSpec().fullpath if a.GetModule().IsValid() else None
            return Symbolization(gnu_spelling(sym.GetName()) or "", int(base), size, obj, section)
        except Exception:
            return None

    def source_line(self, pc: int) -> Optional[SourceLine]:
        try:
            t = self.target()
            a = t.ResolveLoadAddress(pc)
            sc = a.GetSymbolContext(lldb.eSymbolContextFunction | lldb.eSymbolContextBlock
                                    | lldb.eSymbolContextLineEntry | lldb.eSymbolContextSymbol
                                    | lldb.eSymbolContextCompUnit)
            function = None
            inlined = sc.GetBlock().GetContainingInlinedBlock()
            if inlined.IsValid():
                function = gnu_spelling(inlined.GetInlinedName())
            if function is None and sc.GetFunction().IsValid():
                function = _function_name(sc.GetFunction(), sc.GetCompileUnit())
            if function is None and sc.GetSymbol().IsValid():
                function = gnu_spelling(sc.GetSymbol().GetName())
            le = sc.GetLineEntry()
            file = le.GetFileSpec().fullpath if le.IsValid() and le.GetFileSpec().IsValid() else None
            line = le.GetLine() if le.IsValid() and le.GetLine() else None
            if function is None and file is None:
                return None
            return SourceLine(function, file, line if file else None)
        except Exception:
            return None

    def enclosing_function(self, pc: int, levels: int) -> Optional[SourceLine]:
        """The function `levels` function blocks out from the innermost one at pc (inlined
        functions' blocks count, as in gdb's front). Its file is where its code at pc lies: the
        line entry's file for the innermost, else the call-site file of the block it inlined."""
        try:
            sc = self.target().ResolveLoadAddress(pc).GetSymbolContext(
                lldb.eSymbolContextFunction | lldb.eSymbolContextBlock | lldb.eSymbolContextLineEntry
                | lldb.eSymbolContextCompUnit)
            le = sc.GetLineEntry()
            file = le.GetFileSpec().fullpath if le.IsValid() and le.GetFileSpec().IsValid() else None
            block = sc.GetBlock().GetContainingInlinedBlock() if sc.GetBlock().IsValid() else None
            for _ in range(levels):
                if block is None or not block.IsValid():
                    return None  # fewer function blocks than asked for
                call_file = block.GetInlinedCallSiteFile()
                file = call_file.fullpath if call_file.IsValid() else None
                block = block.GetParent().GetContainingInlinedBlock()
            if block is not None and block.IsValid():
                name = gnu_spelling(block.GetInlinedName())
            elif sc.GetFunction().IsValid():
                name = _function_name(sc.GetFunction(), sc.GetCompileUnit())
            else:
                return None
            return SourceLine(name, file, None) if name else None
        except Exception:
            return None

    def demangle(self, name: str) -> Optional[str]:
        """LLDB's demangled name of the target's symbol so named (SBSymbol.GetDisplayName: the
        name demangled in full); None when no module has it."""
        try:
            found = self.target().FindSymbols(name)
            for i in range(found.GetSize()):
                sym = found.GetContextAtIndex(i).GetSymbol()
                if sym.IsValid() and sym.GetMangledName() == name:
                    shown = gnu_spelling(sym.GetDisplayName() or sym.GetName())
                    return shown if shown and shown != name else None
        except Exception:
            pass
        return None

    def mappings(self) -> Optional[List[Mapping]]:
        try:
            regions = self.process().GetMemoryRegions()
            info = lldb.SBMemoryRegionInfo()
            out = []
            for i in range(regions.GetSize()):
                if not regions.GetMemoryRegionAtIndex(i, info) or not info.IsMapped():
                    continue
                perms = ("r" if info.IsReadable() else "-") + ("w" if info.IsWritable() else "-") + \
                    ("x" if info.IsExecutable() else "-") + "p"
                if perms == "---p" and self.is_core():
                    continue
                name = info.GetName() or None
                out.append(Mapping(int(info.GetRegionBase()), int(info.GetRegionEnd()), name, perms))
            return sorted(out, key=lambda m: m.begin)
        except Exception:
            return None

    def threads(self) -> Optional[List[Thread]]:
        try:
            out = []
            for t in self.process():
                out.append(Thread(int(t.GetIndexID()), int(t.GetThreadID()), t.GetName(),
                                  registers=_bind(_registers, t, {}), frames=_bind(_frames, t, [])))
            return sorted(out, key=lambda t: t.num)
        except Exception:
            return None

    def thread_pointers(self) -> Optional[Dict[int, int]]:
        """Each thread's thread pointer (x86-64's fs_base), which LLDB does not tell: from a
        core's thread notes, or pthread_self() in a live thread (allocs_lldbfront.thread_pointers).
        Threads left out are noted on stderr."""
        try:
            out, notes = find_thread_pointers(self.process(), self.is_core())
        except Exception as e:
            out, notes = {}, [f"thread pointers unknown ({e})"]
        for n in notes:
            print(f"allocs: {n}", file=sys.stderr)
        return out

    def print_object(self, pointer_type: str, addr: int,
                     path: Optional[str]) -> Optional[Tuple[str, Optional[str]]]:
        try:
            frame = self.frame()
            obj = f"(*({pointer_type}) {addr:#x})"
            opts = lldb.SBExpressionOptions()
            opts.SetTimeoutInMicroSeconds(5_000_000)
            whole = frame.EvaluateExpression(obj, opts)
            if not whole.IsValid() or not whole.GetError().Success():
                return None
            at = None
            if path:
                part = frame.EvaluateExpression(obj + path, opts)
                at = _value_text(part) if part.IsValid() and part.GetError().Success() else None
            return _value_text(whole), at
        except Exception:
            return None


_CXX = {lldb.eLanguageTypeC_plus_plus, lldb.eLanguageTypeC_plus_plus_03, lldb.eLanguageTypeC_plus_plus_11,
        lldb.eLanguageTypeC_plus_plus_14}


_CLOSE_CLOSE = re.compile(r"(?<!operator)>>")


def gnu_spelling(name: Optional[str]) -> Optional[str]:
    """A demangled C++ name spelled as GNU's demangler (gdb, c++filt) spells it: LLVM's writes
    `A<B<int>>`, GNU's `A<B<int> >` (operator>> stays)."""
    while name and _CLOSE_CLOSE.search(name):
        name = _CLOSE_CLOSE.sub("> >", name)
    return name


def _function_name(fn: Any, cu: Any) -> Optional[str]:
    """A function's name as gdb's front gives it: a C++ function that has no mangled name (main)
    with its parameter types, as gdb names C++ functions (`main(int, char**)`); else LLDB's
    (demangled) name."""
    name = fn.GetName()
    if name and "(" not in name and not fn.GetMangledName() and cu.IsValid() and cu.GetLanguage() in _CXX:
        args = fn.GetType().GetFunctionArgumentTypes()
        spelled = [re.sub(r" (?=[*&])", "", args.GetTypeAtIndex(i).GetName() or "?")
                   for i in range(args.GetSize())]
        return f"{name}({', '.join(spelled)})"
    # a template function's name comes with its return type in LLDB, not in gdb
    spelled_name = gnu_spelling(name)
    return without_return_type(spelled_name) if spelled_name and fn.GetMangledName() else spelled_name


def _value_text(v: Any) -> str:
    """A value as `frame variable` prints it, without the leading `(type) $N = `."""
    stream = lldb.SBStream()
    v.GetDescription(stream)
    text = stream.GetData().strip()
    head = text.find(" = ")
    return text[head + 3:] if text.startswith("(") and head >= 0 else text


def _bind(fn: Callable[[Any], Any], arg: Any, default: Any) -> Callable[[], Any]:
    """fn(arg) on first call, kept; `default` when LLDB fails (a thread it cannot unwind gives
    nothing, not a failed answer)."""
    cache: List[Any] = []

    def call() -> Any:
        if not cache:
            try:
                cache.append(fn(arg))
            except Exception:
                cache.append(default)
        return cache[0]
    return call


def _registers(t: Any) -> Dict[str, int]:
    out: Dict[str, int] = {}
    f = t.GetFrameAtIndex(0)
    if not f.IsValid():
        return out
    for r in REGISTERS:
        v = f.FindRegister(r)
        if v.IsValid():
            out[r] = int(v.GetValueAsUnsigned()) & MASK64
    return out


def _frame_variables(f: Any) -> List[Variable]:
    out: List[Variable] = []
    vs = f.GetVariables(True, True, False, True)  # arguments, locals, no statics, in scope only
    for i in range(vs.GetSize()):
        v = vs.GetValueAtIndex(i)
        a = v.GetLoadAddress()
        if a != lldb.LLDB_INVALID_ADDRESS:
            out.append(Variable(v.GetName(), int(a), int(v.GetByteSize())))
    return out


def _frame_function(f: Any) -> Optional[str]:
    block = f.GetBlock().GetContainingInlinedBlock()
    if block.IsValid() and block.GetInlinedName():
        return gnu_spelling(block.GetInlinedName())
    fn = f.GetFunction()
    if fn.IsValid():
        return _function_name(fn, f.GetCompileUnit())
    sym = f.GetSymbol()
    return gnu_spelling(sym.GetName()) if sym.IsValid() else None


def _frames(t: Any, limit: int = 256) -> List[Frame]:
    out: List[Frame] = []
    for level in range(min(t.GetNumFrames(), limit)):
        f = t.GetFrameAtIndex(level)
        sp, cfa = int(f.GetSP()) & MASK64, int(f.GetCFA()) & MASK64
        le = f.GetLineEntry()
        file = le.GetFileSpec().fullpath if le.IsValid() and le.GetFileSpec().IsValid() else None
        line = le.GetLine() if file and le.GetLine() else None
        out.append(Frame(level, int(f.GetPC()) & MASK64, sp, max(cfa, sp), _frame_function(f), file, line,
                         _bind(_frame_variables, f, [])))
    return out
