"""What the decoder needs from a debugger (or a test): the Target protocol and its records.

A front (gdb, lldb) implements Target; the decoder never imports a debugger. The contract:
- read_memory and lookup_symbol are required (Target); decoding needs nothing else.
- evaluate_address is required of a front that runs the `alloc` commands (CommandTarget): the
  commands take expressions in the debugger's language.
- Every other method is optional (OptionalTarget): it may be absent, and when present it NEVER
  raises: it returns None when it does not know, and the decoder then says less (no file:line,
  no frames) rather than fail. A front catches its debugger's errors inside these methods.
- Addresses are unsigned 64-bit integers; the Architecture says how the target stores words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Protocol, Tuple, runtime_checkable


@dataclass(frozen=True)
class Symbolization:
    """The symbol containing an address, as the debugger knows it."""

    name: str
    base: int
    size: Optional[int] = None  # None: the debugger does not know the symbol's size
    object: Optional[str] = None  # the ELF object's path
    section: Optional[str] = None


@dataclass(frozen=True)
class SourceLine:
    function: Optional[str]
    file: Optional[str]
    line: Optional[int]


@dataclass(frozen=True)
class Mapping:
    begin: int
    end: int
    name: Optional[str] = None  # path, "[heap]", "[stack]", or None
    perms: Optional[str] = None
    offset: Optional[int] = None  # the file offset mapped at begin (file-backed mappings), when known


@dataclass(frozen=True)
class Variable:
    name: str
    addr: int
    size: int


@dataclass
class Frame:
    """One activation: it occupies [sp, cfa).

    cfa is the Canonical Frame Address as DWARF call-frame information defines it: the value the
    stack pointer had in the caller just before the call instruction (on x86-64, the address just
    above the pushed return address; equal to the caller's sp once this frame returns). gdb gives
    it as the older frame's sp, lldb as SBFrame.GetCFA(). For the outermost frame a front without
    CFI may estimate it (frame pointer + 16), never below sp. level 0 is the innermost frame."""

    level: int
    pc: int
    sp: int
    cfa: int
    function: Optional[str] = None
    file: Optional[str] = None
    line: Optional[int] = None
    variables: Callable[[], List[Variable]] = field(default=lambda: list[Variable]())


@dataclass
class Thread:
    num: int  # the debugger's thread number
    tid: int  # the kernel's thread id (LWP)
    name: Optional[str] = None
    registers: Callable[[], dict] = field(default=lambda: {})  # name -> value, innermost frame
    frames: Callable[[], List[Frame]] = field(default=lambda: list[Frame]())


@runtime_checkable
class Target(Protocol):
    def read_memory(self, addr: int, size: int) -> bytes:
        """The bytes at [addr, addr + size); raises errors.MemoryUnreadable if any is unreadable."""
        ...

    def lookup_symbol(self, name: str) -> Optional[int]:
        """The address of a global symbol (data or function), or None."""
        ...


@dataclass(frozen=True)
class Architecture:
    """How the target stores words: what the runtime's layout (docs/runtime-layout.md) assumes."""

    name: str = "x86_64"
    pointer_size: int = 8
    little_endian: bool = True
    pc_register: str = "rip"
    sp_register: str = "rsp"
    auxv_entry_size: int = 16  # one (a_type, a_val) pair


X86_64 = Architecture()
_REGISTERS = {"x86_64": ("rip", "rsp"), "i386": ("eip", "esp"), "aarch64": ("pc", "sp"), "arm": ("pc", "sp"),
              "riscv64": ("pc", "sp"), "ppc64le": ("pc", "r1"), "s390x": ("pc", "r15")}


def architecture_of(name: str, pointer_size: int = 8, little_endian: bool = True) -> Architecture:
    """The Architecture a front names (its debugger's spelling: "i386:x86-64", "x86_64",
    "aarch64"...), with the word size and byte order the debugger reports."""
    key = name.replace("i386:x86-64", "x86_64").replace("x86-64", "x86_64").split(":")[-1]
    if key == "x86_64" and pointer_size == 8 and little_endian:
        return X86_64
    pc, sp = _REGISTERS.get(key, ("pc", "sp"))
    return Architecture(key, pointer_size, little_endian, pc, sp, 2 * pointer_size)


class CommandTarget(Target, Protocol):
    """A Target the `alloc` commands can run on (allocs_decoder.commands)."""

    def evaluate_address(self, expr: str) -> int:
        """The address an expression designates in the debugger's language: a pointer's value, an
        integer, or an object's address (an lvalue that is neither). Raises an exception whose
        message is one line (the debugger's own error is fine) when it cannot."""
        ...


class OptionalTarget(Protocol):
    """Methods a Target may also have. None of them raises: None means "not known"."""

    name: str  # "gdb", "lldb": names the debugger in answers ("via")

    def symbolize(self, addr: int) -> Optional[Symbolization]: ...

    def source_line(self, pc: int) -> Optional[SourceLine]:
        """The function and file:line of the instruction at pc (callers pass a return address - 1)."""
        ...

    def enclosing_function(self, pc: int, levels: int) -> Optional[SourceLine]:
        """The function `levels` inlined-function blocks out from the innermost one holding pc
        (its name and file; line None): where an inlined wrapper's call line belongs."""
        ...

    def mappings(self) -> Optional[List[Mapping]]:
        """The process's mappings in address order; in a core, its unnamed segments too."""
        ...

    def threads(self) -> Optional[List[Thread]]: ...

    def is_core(self) -> Optional[bool]:
        """True when the target is a core file (no live process), False when live."""
        ...

    def architecture(self) -> Optional[Architecture]: ...

    def print_object(self, pointer_type: str, addr: int,
                     path: Optional[str]) -> Optional[Tuple[str, Optional[str]]]:
        """The object at addr printed by the debugger through its own type (pointer_type is a C
        pointer spelling, "struct point (*)[3]"), and the part at path ("[2].y") when one is given;
        None when the debugger does not know the type."""
        ...

    def thread_pointers(self) -> Optional[Dict[int, int]]:
        """Each thread's thread pointer (x86-64's fs_base), by thread number: where its static
        thread-local storage lies, a root of the heap graph. None when the debugger cannot tell."""
        ...

    def demangle(self, name: str) -> Optional[str]:
        """A C++ (Itanium ABI) symbol name demangled; None when not known. Must not raise."""
        ...

    def object_bytes(self, path: str) -> Optional[bytes]:
        """The contents of the ELF object the process loaded from path (the target's name for it)
        as the debugger has it: a remote target's downloaded copy, the file a core's module was
        found at. None when the debugger's copy is path on this host (the decoder then reads it
        there, cached across stops) or when it has none."""
        ...


def optional_call(target: object, method: str, *args: object) -> object:
    """Calls target.method(*args) if the target has it; None otherwise or when it fails soft."""
    fn = getattr(target, method, None)
    if fn is None:
        return None
    return fn(*args)
