"""allocs_decoder: what is at this address? Decodes the allocs runtime's in-memory index through
a small Target interface (read memory, look up a symbol, optionally symbolize, list mappings and
threads). Pure Python standard library; no debugger imports (fronts live next to this package)."""
from .address_description import AddressDescription, Level
from .errors import DecodeError, LayoutError, MemoryUnreadable, NoRuntime
from .session import Session
from .target import Frame, Mapping, SourceLine, Symbolization, Target, Thread, Variable
from .types import MetaTypes, NullTypes, TypesProvider
from .uniqtype import TypeAnswer, UType

__all__ = [
    "AddressDescription", "DecodeError", "Frame", "LayoutError", "Level", "Mapping", "MemoryUnreadable",
    "NoRuntime", "NullTypes", "Session", "SourceLine", "Symbolization", "Target", "Thread", "TypeAnswer",
    "TypesProvider", "UType", "MetaTypes", "Variable",
]
