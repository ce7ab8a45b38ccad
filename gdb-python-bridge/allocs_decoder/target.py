"""What the decoder needs from a debugger (or a test): the Target protocol and its records.

A front (gdb, later lldb) implements Target; the decoder never imports a debugger. Only
read_memory and lookup_symbol are required; the optional methods may be absent or return None,
and the decoder then says less (no file:line, no frames) rather than fail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Protocol, runtime_checkable


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
    """One activation: it occupies [sp, cfa) (the caller's stack pointer is the CFA)."""

    level: int
    pc: int
    sp: int
    cfa: int
    function: Optional[str] = None
    file: Optional[str] = None
    line: Optional[int] = None
    variables: Callable[[], List[Variable]] = field(default=lambda: [])


@dataclass
class Thread:
    num: int  # the debugger's thread number
    tid: int  # the kernel's thread id (LWP)
    name: Optional[str] = None
    registers: Callable[[], dict] = field(default=lambda: {})  # name -> value, innermost frame
    frames: Callable[[], List[Frame]] = field(default=lambda: [])


@runtime_checkable
class Target(Protocol):
    def read_memory(self, addr: int, size: int) -> bytes:
        """The bytes at [addr, addr + size); raises errors.MemoryUnreadable if any is unreadable."""
        ...

    def lookup_symbol(self, name: str) -> Optional[int]:
        """The address of a global symbol (data or function), or None."""
        ...


class OptionalTarget(Protocol):
    """Methods a Target may also have (each may return None when it does not know)."""

    def symbolize(self, addr: int) -> Optional[Symbolization]: ...

    def source_line(self, pc: int) -> Optional[SourceLine]: ...

    def mappings(self) -> Optional[List[Mapping]]: ...

    def threads(self) -> Optional[List[Thread]]: ...


def optional_call(target: object, method: str, *args: object) -> object:
    """Calls target.method(*args) if the target has it; None otherwise or when it fails soft."""
    fn = getattr(target, method, None)
    if fn is None:
        return None
    return fn(*args)
