"""Typed errors of the decoder. Every message is one line a person can act on."""


class DecodeError(Exception):
    """Base class: something about the inferior's memory could not be decoded."""


class MemoryUnreadable(DecodeError):
    """A Target could not read [addr, addr + size)."""

    def __init__(self, addr: int, size: int, why: str = "") -> None:
        self.addr = addr
        self.size = size
        detail = f": {why}" if why else ""
        super().__init__(f"cannot read {size} bytes at {addr:#x}{detail}")


class LayoutError(DecodeError):
    """The runtime's root record is not one this decoder understands (bad magic, version...)."""


NO_RUNTIME_NOTE = "the allocs runtime is not loaded in this process: showing only what the debugger knows"


class NoRuntime(DecodeError):
    """The process has no __allocs_root: the runtime was not preloaded."""
