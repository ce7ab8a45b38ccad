"""The command model every front shares: a command's name, options, help and
`run(session, args) -> Reply`; argument parsing; describing an expression; and the one error
mapping (every failure becomes one line starting with `alloc`).

A front (gdb, lldb) registers each command of COMMANDS with its debugger under `alloc NAME`,
parses nothing itself, and prints the Reply: its JSON on one line with --json, else its text.
The front's Target turns expressions into addresses (Target.evaluate_address).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple, Type

from ..address_description import AddressDescription
from ..errors import DecodeError
from ..session import Session
from ..target import X86_64, optional_call

MASK64 = (1 << 64) - 1

# When a core holds no __allocs_root, the usual "not loaded" note says too little: the reasons
# differ from a live process's.
CORE_NO_RUNTIME = ("no __allocs_root in this core: either the program ran without the allocs runtime, "
                   "or the debugger could not load its shared libraries (a truncated core, or a core of "
                   "another program?)")


class CommandError(Exception):
    """A user's mistake or a question with no answer: its message is the whole one-line error."""


@dataclass(frozen=True)
class Option:
    name: str  # "--limit"
    value: Optional[str] = None  # the value's placeholder ("N"); None for a flag
    help: str = ""


@dataclass
class Args:
    """A command line parsed against a command's options: --json, the options given, the rest."""

    json: bool = False
    opts: Dict[str, str] = field(default_factory=dict)
    rest: str = ""

    def int_opt(self, name: str) -> Optional[int]:
        if name not in self.opts:
            return None
        try:
            return int(self.opts[name], 0)
        except ValueError:
            raise CommandError(f"alloc: {name} needs a number, not {self.opts[name]!r}")


@dataclass
class Reply:
    """What a command answers: `json` with --json (printed as one line), else `text` (lines)."""

    json: Any = None
    text: str = ""

    def output(self, as_json: bool) -> str:
        return json.dumps(self.json) if as_json else self.text


class Command:
    """One `alloc` subcommand. Subclasses set the class attributes and implement run()."""

    name = ""  # "info", "who-points-to": the front registers `alloc NAME`
    help = ""  # the help text; its first line is what `help alloc` lists
    options: Tuple[Option, ...] = ()
    expression = True  # the argument is a debugger expression (fronts complete expressions)
    # Whether the command reads a process or core: a front refuses it with one line when there is
    # neither (rather than answering from the executable's file alone). Snapshot files need none.
    needs_target = True

    @classmethod
    def summary(cls) -> str:
        return cls.help.split("\n", 1)[0]

    def parse(self, arg: str) -> Args:
        return parse_args(arg, self.options)

    def run(self, s: Session, a: Args) -> Reply:
        raise NotImplementedError


def parse_args(arg: str, options: Tuple[Option, ...] = ()) -> Args:
    """Leading (or trailing) --options, then the rest verbatim (an expression may hold spaces)."""
    valued = {o.name for o in options if o.value is not None}
    flags = {o.name for o in options if o.value is None}
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
                    raise CommandError(f"alloc: {name} needs a value")
                a.opts[name] = next(g for g in v.groups() if g is not None)
                s = s[v.end():]
        else:
            raise CommandError(f"alloc: unknown option {name}")
    if re.search(r"\s--json$", s) or s == "--json":
        a.json = True
        s = s[: -len("--json")].rstrip()
    a.rest = s.strip()
    return a


def address_of(s: Session, expr: str) -> int:
    """The address an expression designates (a pointer's value, an integer, or an object's
    address), as the front's debugger evaluates it."""
    if not expr:
        raise CommandError("alloc: an address or expression is needed")
    evaluate = getattr(s.target, "evaluate_address", None)
    if evaluate is None:
        try:
            return int(expr, 0) & MASK64
        except ValueError:
            raise CommandError(f"alloc: this debugger cannot evaluate {expr!r}; give a number")
    return int(evaluate(expr)) & MASK64


def describe_expr(s: Session, expr: str) -> AddressDescription:
    """The description of the address an expression designates."""
    d = s.describe(address_of(s, expr))
    if not d.runtime and d.notes and optional_call(s.target, "is_core") is True:
        d.notes[0] = CORE_NO_RUNTIME
    if s.arch != X86_64:
        d.notes.append(f"the target is {s.arch.name}: the runtime's records were read as x86-64's")
    return d


def error_line(e: BaseException, debugger_errors: Tuple[Type[BaseException], ...] = ()) -> str:
    """The one error mapping: any failure as the one line a user sees. debugger_errors are the
    front's own error types (gdb.error, ...): their first line is kept."""
    if isinstance(e, CommandError):
        return str(e)
    if isinstance(e, DecodeError):
        return f"alloc: {e}"
    if debugger_errors and isinstance(e, debugger_errors):
        first = str(e).splitlines()[0] if str(e) else "debugger error"
        return first if first.startswith("alloc") else f"alloc: {first}"
    if isinstance(e, KeyboardInterrupt):
        return "alloc: interrupted"
    # a bug in the bridge: still one line, and the debugger keeps going
    return f"alloc: internal error: {type(e).__name__}: {e}"


def error_json(e: BaseException, debugger_errors: Tuple[Type[BaseException], ...] = ()) -> Dict[str, str]:
    """An error as machine-readable output (docs/schema/error.schema.json)."""
    return {"error": error_line(e, debugger_errors)}
