"""LLDB summaries and synthetic children for pointers (`type summary add -F`, `type synthetic
add -l`, in the `allocs` category): a pointer shows its allocation beside its value; a pointer
into a heap chunk expands to the chunk's real length (elements from the pointer to the chunk's
end); a `void *` expands as its allocation's run-time type. Everything else keeps LLDB's own
display. Formatters never raise: on any failure they show what LLDB would."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

import lldb  # type: ignore[import-not-found]

from allocs_decoder import AddressDescription
from allocs_decoder.commands import pointer_summary

from .session_cache import session

CATEGORY = "allocs"
POINTER_REGEX = r"^.+\*$"  # every data pointer type's name ("struct point *", "void *", "char **")
MAX_CHILDREN = 100_000
_CHARS = {lldb.eBasicTypeChar, lldb.eBasicTypeSignedChar, lldb.eBasicTypeUnsignedChar}
_HEAP_LIKE_STATES = ("live",)


def _describe(valobj: Any) -> Optional[AddressDescription]:
    addr = valobj.GetValueAsUnsigned(0)
    if not addr:
        return None
    try:
        return session(valobj.GetTarget().GetDebugger()).describe(addr)
    except Exception:  # no runtime, a corrupted root...: LLDB's own display
        return None


def _is_char(t: Any) -> bool:
    return t.GetCanonicalType().GetBasicType() in _CHARS


def pointer_summary_lldb(valobj: Any, internal_dict: Dict[str, Any], options: Any = None) -> Optional[str]:
    """`type summary add -F`: `→ ALLOCATION` (after the C string, for a char pointer)."""
    try:
        d = _describe(valobj)
        text = pointer_summary(d) if d is not None else None
        string = None
        if _is_char(valobj.GetType().GetPointeeType()) and valobj.GetValueAsUnsigned(0):
            err = lldb.SBError()
            s = valobj.GetProcess().ReadCStringFromMemory(valobj.GetValueAsUnsigned(0), 256, err)
            if err.Success() and s is not None:
                string = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if text is None:
            return string
        return f"{string} → {text}" if string else f"→ {text}"
    except Exception:
        return None


def lldb_type(target: Any, c_type: str) -> Optional[Any]:
    """LLDB's type for a C spelling the decoder gives ("struct point[3]", "int[3][4]", "long")."""
    m = re.fullmatch(r"(.*?)\s*((?:\[\d+\])*)", c_type.strip())
    if m is None:
        return None
    name, dims = m.group(1), [int(n) for n in re.findall(r"\[(\d+)\]", m.group(2))]
    t = target.FindFirstType(name)
    if not t.IsValid():
        bare = re.sub(r"^(struct|union|enum)\s+", "", name)
        t = target.FindFirstType(bare)
    if not t.IsValid():
        return None
    for n in reversed(dims):
        t = t.GetArrayType(n)
    return t if t.IsValid() else None


class PointerChildren:
    """`type synthetic add -l`: a pointer's children.

    - into a live heap chunk (or pool object) holding more than one element from the pointer on:
      `[0]` .. `[n-1]`, n = (chunk end - pointer) / sizeof(*pointer);
    - a `void *` whose allocation has a run-time type: that object's children (at its base);
    - otherwise what LLDB shows for a pointer: the pointee's children, or `*name`."""

    def __init__(self, valobj: Any, internal_dict: Dict[str, Any]) -> None:
        self.valobj = valobj
        self.elements = 0
        self.element_type: Any = None
        self.base = 0
        self.whole: Any = None  # the dynamic object of a void *
        self.deref: Any = None

    def update(self) -> bool:
        self.elements, self.whole, self.deref = 0, None, None
        try:
            self._update()
        except Exception:
            self.elements, self.whole = 0, None
        if self.elements == 0 and self.whole is None:
            self.deref = self.valobj.Dereference()
        return False  # recompute at each stop

    def _update(self) -> None:
        v = self.valobj
        ptr = v.GetValueAsUnsigned(0)
        pointee = v.GetType().GetPointeeType()
        if not ptr or _is_char(pointee):
            return
        d = _describe(v)
        if d is None or d.state not in _HEAP_LIKE_STATES or d.base is None or not d.size:
            return
        heap = d.chain and d.chain[-1].allocator == d.allocator and d.allocator not in (
            "static", "stackframe", "auxv", "mmap", "brk")
        size = pointee.GetByteSize()
        if pointee.GetCanonicalType().GetBasicType() == lldb.eBasicTypeVoid:
            t = lldb_type(v.GetTarget(), d.type) if d.type else None
            if t is not None and t.GetByteSize() <= d.size:
                self.whole = v.CreateValueFromAddress(f"({d.type})", d.base, t)
            return
        if heap and size and (ptr - d.base) % size == 0:
            n = (d.base + d.size - ptr) // size
            if n > 1:
                self.elements, self.element_type, self.base = min(n, MAX_CHILDREN), pointee, ptr

    def num_children(self, max_count: int = MAX_CHILDREN) -> int:
        if self.elements:
            return min(self.elements, max_count)
        target = self.whole if self.whole is not None else self.deref
        if target is None or not target.IsValid():
            return 0
        n = target.GetNumChildren()
        return n if n else 1

    def _one(self) -> Any:
        return self.whole if self.whole is not None else self.deref

    def get_child_index(self, name: str) -> int:
        m = re.fullmatch(r"\[(\d+)\]", name)
        if self.elements and m:
            return int(m.group(1))
        one = self._one()
        if one is None:
            return -1
        idx = one.GetIndexOfChildWithName(name)
        return idx if idx < one.GetNumChildren() else -1

    def get_child_at_index(self, index: int) -> Any:
        if self.elements:
            if not 0 <= index < self.elements:
                return None
            size = self.element_type.GetByteSize()
            addr = self.base + index * size
            return self.valobj.CreateValueFromAddress(f"[{index}]", addr, self.element_type)
        one = self._one()
        if one is None or not one.IsValid():
            return None
        if one.GetNumChildren() == 0:
            return one if index == 0 else None
        return one.GetChildAtIndex(index)

    def has_children(self) -> bool:
        return True


def register_formatters(debugger: Any, module: str) -> List[str]:
    """Adds the summaries and synthetic children in the `allocs` category and enables it.
    `module` is the imported module that holds the functions (allocs_lldb)."""
    errors: List[str] = []
    interp = debugger.GetCommandInterpreter()
    for line in (
        f"type summary add -w {CATEGORY} --skip-references -F {module}.pointer_summary_lldb "
        f"-x '{POINTER_REGEX}'",
        f"type synthetic add -w {CATEGORY} --skip-references -l {module}.PointerChildren "
        f"-x '{POINTER_REGEX}'",
        f"type category enable {CATEGORY}",
    ):
        res = lldb.SBCommandReturnObject()
        interp.HandleCommand(line, res)
        if not res.Succeeded():
            errors.append(f"{line}: {res.GetError().strip()}")
    return errors
