"""What every command shares: argument parsing, addresses of expressions, JSON output, the
one-line error guard, and describing an expression."""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Optional, Tuple

import gdb  # type: ignore[import-not-found]

from allocs_decoder import DecodeError
from allocs_decoder.description import AddressDescription

from .session_cache import session
from .target import _has_core


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


NO_TARGET = "alloc: no process or core file here: run the program, attach, or load a core (core-file CORE)"


def require_target() -> None:
    """A one-line error when there is nothing to read (no live process, no core: e.g. the core
    given was refused), rather than an answer made from the executable alone."""
    inferior = gdb.selected_inferior()
    if inferior is None or (inferior.pid == 0 and not _has_core()):
        raise gdb.GdbError(NO_TARGET)


def describe_expr(expr: str) -> AddressDescription:
    require_target()
    d = session().describe(address_of(expr))
    if not d.runtime and d.notes and _has_core():
        d.notes[0] = CORE_NO_RUNTIME
    return d
