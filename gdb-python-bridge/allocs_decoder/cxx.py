"""C++ in the decoder: a polymorphic object's dynamic type from its vtable pointer, and names
spelled as C++ people read them.

Itanium C++ ABI (2.5): an object of a polymorphic class starts with a pointer into its class's
vtable, 16 bytes past the vtable symbol `_ZTV<class>` (past the offset-to-top and the
typeinfo pointer). The heap chunk's first word is read; when it points 16 bytes into a
`_ZTV...` symbol, the class is looked up by name in the loaded metadata, and the chunk is
described as that class (`alloc print` of a `Shape *` shows the Circle's members).

Names: the Target may demangle (`demangle(name)`, optional, must not raise: gdb's own
demangler in the gdb front); without it, a small demangler here reads the names statics and
vtables have (`_ZL8registry`, `_ZN3geo5countE`, `_ZTVN3geo6CircleE`) and leaves others as they
are. Standard library only: no c++filt.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from . import layout as L
from .target import SourceLine, optional_call
from .uniqtype import ATE_SIGNED, ATE_SIGNED_CHAR, UType, make_array, make_base, same_type

_SOURCE_NAME = re.compile(r"(\d+)")
_STD_ABBREV = {"St": "std", "Sa": "std::allocator", "Ss": "std::string"}


def nested_name(mangled: str) -> Optional[List[str]]:
    """The components of a mangled data or vtable name without templates or parameters:
    `<len><id>` or `N [St] (<len><id>)+ E`; None for anything else."""
    s = mangled
    nested = s.startswith("N")
    if nested:
        s = s[1:]
    parts: List[str] = []
    if s.startswith("St"):
        parts.append("std")
        s = s[2:]
    while True:
        m = _SOURCE_NAME.match(s)
        if m is None:
            break
        n = int(m.group(1))
        ident = s[len(m.group(1)):len(m.group(1)) + n]
        if n == 0 or len(ident) != n:
            return None
        parts.append(ident)
        s = s[len(m.group(1)) + n:]
        if not nested:
            break
    if s != ("E" if nested else "") or not parts:
        return None
    return parts


def simple_demangle(name: str) -> Optional[str]:
    """`_ZL8registry` -> `registry`, `_ZN3geo5countE` -> `geo::count`, `_ZTVN3geo6CircleE` ->
    `vtable for geo::Circle`; None when the name is not one of these shapes."""
    if not name.startswith("_Z"):
        return None
    rest = name[2:]
    prefix = ""
    if rest.startswith("TV"):
        prefix, rest = "vtable for ", rest[2:]
    elif rest.startswith("TI"):
        prefix, rest = "typeinfo for ", rest[2:]
    elif rest.startswith("L"):
        rest = rest[1:]
    parts = nested_name(rest)
    return prefix + "::".join(parts) if parts else None


def readable_name(target: object, name: Optional[str]) -> Optional[str]:
    """A symbol name as a person reads it: demangled by the debugger when it can, else by
    simple_demangle, else unchanged."""
    if not name or not name.startswith("_Z"):
        return name
    try:
        d = optional_call(target, "demangle", name)
    except Exception:  # noqa: BLE001 - an optional Target method must not break a description
        d = None
    if isinstance(d, str) and d and d != name:
        return d
    return simple_demangle(name) or name


_cxa: List[Any] = []  # [the C++ runtime's __cxa_demangle, or None when there is none]


def cxa_demangle(name: str) -> Optional[str]:
    """The C++ runtime's own demangling (libstdc++'s __cxa_demangle, through ctypes), for names a
    debugger's demangler gives up on (LLDB 16 on `std::make_shared<...>`), spelled as gdb names a
    function: without a template function's leading return type. None when it fails."""
    if not _cxa:
        try:
            import ctypes
            f = ctypes.CDLL("libstdc++.so.6").__cxa_demangle
            f.restype = ctypes.c_void_p
            f.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
            _cxa.append((f, ctypes))
        except (OSError, AttributeError):
            _cxa.append(None)
    if _cxa[0] is None or not name.startswith("_Z"):
        return None
    f, ctypes = _cxa[0]
    status = ctypes.c_int(-1)
    out = f(name.encode(), None, None, ctypes.byref(status))
    if not out:
        return None
    try:
        text = ctypes.string_at(out).decode("utf-8", "replace") if status.value == 0 else None
    finally:
        ctypes.CDLL(None).free(ctypes.c_void_p(out))
    return without_return_type(text) if text else None


def without_return_type(text: str) -> str:
    """`R ns::f<A>(P)` -> `ns::f<A>(P)`: the part after the last space outside brackets before
    the parameter list (a template function's mangled name encodes its return type), as gdb
    names functions; an operator's name is left as it is (`operator new`, `operator<< <char>`)."""
    if "operator" in text:
        return text
    depth, cut = 0, -1
    for i, ch in enumerate(text):
        if ch in "<(":
            if ch == "(" and depth == 0:
                break
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == " " and depth == 0:
            cut = i
    return text[cut + 1:]


def _symbol_at(s: object, addr: int) -> Optional[Tuple[str, int]]:
    """The (mangled) symbol containing addr and its start: the runtime's table, else the ELF
    object (the Target's copy, else the file on this host)."""
    levels = s.levels  # type: ignore[attr-defined]
    obj = levels.object_for(addr)
    if obj is None:
        return None
    rs = levels.runtime_symbol(obj, addr)
    if rs is not None:
        return rs.name, rs.addr
    elf = s.elf(obj.path)  # type: ignore[attr-defined]
    if elf is None:
        return None
    es = elf.symbol_at(addr - obj.load_bias)
    return (es.name, es.addr + obj.load_bias) if es is not None else None


def dynamic_type(s: object, types: object, base: int, static: Optional[UType],
                 size: int) -> Optional[Tuple[UType, str]]:
    """The class a heap object's vtable pointer names, with the vtable symbol, when it is a
    class of the loaded metadata that fits in the chunk and the static type is a struct or
    unknown, or an array of another class that the dynamic class fills exactly (a `Shape *`
    receiving a `new Circle` twice Shape's size reads as Shape[2]); an array of the class
    itself stays an array (its first element's class is not the chunk's)."""
    if static is not None and static.kind not in (L.KIND_STRUCT, L.KIND_ARRAY):
        return None
    word = s.reader.try_u64(base)  # type: ignore[attr-defined]
    if not word:
        return None
    hit = _symbol_at(s, word)
    if hit is None or word - hit[1] != 16 or not hit[0].startswith("_ZTV"):
        return None
    parts = nested_name(hit[0][4:])
    if not parts:
        return None
    for name in ("::".join(parts), parts[-1]):
        t = types.lookup(name)  # type: ignore[attr-defined]
        if t is not None and t.kind == L.KIND_STRUCT and 0 < t.size <= size:
            if static is not None and same_type(static, t):
                return None  # the static type is already the dynamic one
            if static is not None and static.kind == L.KIND_ARRAY:
                el = types.related(static)  # type: ignore[attr-defined]
                if t.size != size or (el is not None and same_type(el, t)):
                    return None
            return t, hit[0]
    return None


# std::basic_string<C>'s members: whatever they allocate is the string's buffer. Most are
# explicitly instantiated inside libstdc++.so (no debug information, so no metadata), for char
# and wchar_t; the user's code calls them, but the site the runtime records is inside them.
_STRING_MEMBERS = {
    "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE": ("signed_char$8", "char", ATE_SIGNED_CHAR, 8),
    "_ZNSt7__cxx1112basic_stringIwSt11char_traitsIwESaIwEE": ("int$32", "wchar_t", ATE_SIGNED, 32),
}


def library_site(s: object, pc: Optional[int]) -> Optional[Tuple[str, Optional[str]]]:
    """The (mangled) function of the standard library holding a site pc, and its readable name,
    for sites in code without debug information (libstdc++.so)."""
    if not pc:
        return None
    hit = _symbol_at(s, pc)
    if hit is None:
        return None
    return hit[0], readable_name(s.target, hit[0])  # type: ignore[attr-defined]


def string_buffer_type(s: object, pc: Optional[int], size: int) -> Optional[UType]:
    """A std::string's (std::wstring's) heap buffer: `char[size]` (capacity + 1 characters)
    when the site is in one of basic_string's members."""
    site = library_site(s, pc)
    el = next((v for k, v in _STRING_MEMBERS.items() if site[0].startswith(k)), None) if site else None
    if el is None:
        return None
    base = make_base(el[0], el[1], el[2], el[3])
    return make_array(base, size // (el[3] // 8))


def library_via(s: object, pc: Optional[int]) -> Optional[Dict[str, Any]]:
    """For a site flagged SITE_LIBRARY (the user's call into C++ standard-library code that made
    the allocation: push_back, operator[], make_shared): the library frame, `{function, file,
    line}`. With SITE_INLINED the library code is inlined at the call: the line table's own
    answer at the call (the innermost library function and its header line); else the function
    the call instruction (`call rel32`) enters, and its first line. None for other sites."""
    types = getattr(s, "types", None)
    flags = types.site_flags(pc) if pc and types is not None else 0
    if not pc or not flags & L.SITE_LIBRARY:
        return None
    target = s.target  # type: ignore[attr-defined]
    if flags & L.SITE_INLINED:
        line = optional_call(target, "source_line", pc - 1)
    else:
        code = s.reader.try_read(pc - 5, 5)  # type: ignore[attr-defined]
        if code is None or code[0] != 0xE8:
            return None
        callee = (pc + int.from_bytes(code[1:], "little", signed=True)) & ((1 << 64) - 1)
        line = optional_call(target, "source_line", callee)
        if not isinstance(line, SourceLine) or not line.function:
            hit = _symbol_at(s, callee)
            line = SourceLine(readable_name(target, hit[0]), None, None) if hit else None
    if not isinstance(line, SourceLine):
        return None
    # LLDB names a function by its mangled name where gdb demangles it, and its demangler gives
    # up on some (std::make_shared<...>): the C++ runtime's then, so both fronts agree
    function = readable_name(target, line.function)
    if function and function.startswith("_Z"):
        function = cxa_demangle(function) or function
    return {"function": function, "file": line.file, "line": line.line}
