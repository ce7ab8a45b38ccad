"""Registers the decoder's `alloc` commands (allocs_decoder.commands) with gdb: the prefix, one
gdb.Command per command, and the one error guard (every failure is one gdb.GdbError line)."""
from __future__ import annotations

import json
from typing import Any, Callable, List

import gdb  # type: ignore[import-not-found]

from allocs_decoder import commands
from allocs_decoder.commands import Command, CommandError
from allocs_decoder.address_description import AddressDescription

from .session_cache import session
from .target import has_core

DEBUGGER_ERRORS = (gdb.error,)


def fail(e: BaseException) -> gdb.GdbError:
    """Any failure as the one-line gdb error (allocs_decoder.commands.error_line)."""
    return e if isinstance(e, gdb.GdbError) else gdb.GdbError(commands.error_line(e, DEBUGGER_ERRORS))


def guarded(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as e:  # every failure: one line, and gdb keeps going
        raise fail(e)
    except KeyboardInterrupt as e:
        raise fail(e)


NO_TARGET = "alloc: no process or core file here: run the program, attach, or load a core (core-file CORE)"


def require_target() -> None:
    """A one-line error when there is nothing to read (no live process, no core: e.g. the core
    given was refused), rather than an answer made from the executable alone."""
    inferior = gdb.selected_inferior()
    if inferior is None or (inferior.pid == 0 and not has_core()):
        raise gdb.GdbError(NO_TARGET)


def describe_expr(expr: str) -> AddressDescription:
    """The description of the address an expression designates (raises a one-line gdb.GdbError)."""
    require_target()
    return guarded(lambda: commands.describe_expr(session(), expr))


class AllocPrefix(gdb.Command):
    __doc__ = commands.PREFIX_HELP

    def __init__(self) -> None:
        super().__init__(commands.PREFIX, gdb.COMMAND_DATA, gdb.COMPLETE_COMMAND, prefix=True)


class GdbAllocCommand(gdb.Command):
    """One decoder command as a gdb command (its __doc__, gdb's help, is set per command)."""

    def __init__(self, cmd: Command) -> None:
        self.cmd = cmd
        complete = gdb.COMPLETE_EXPRESSION if cmd.expression else gdb.COMPLETE_NONE
        super().__init__(f"{commands.PREFIX} {cmd.name}", gdb.COMMAND_DATA, complete)

    def invoke(self, arg: str, from_tty: bool) -> None:
        def run() -> None:
            if self.cmd.needs_target:
                require_target()
            a = self.cmd.parse(arg)
            reply = self.cmd.run(session(), a)
            if a.json:
                gdb.write(json.dumps(reply.json) + "\n")
            elif reply.text:
                gdb.write(reply.text + "\n")
        guarded(run)


class GdbTypeCommand(GdbAllocCommand):
    def complete(self, text: str, word: str) -> Any:
        """Run-time type names (C spellings) when the process has them, else gdb's expressions."""
        try:
            names: List[str] = commands.type_names(session(), text)
        except Exception:  # completion must never fail loudly
            names = []
        if not names:
            return gdb.COMPLETE_EXPRESSION
        start = len(text) - len(word)  # gdb replaces only the last word
        return [n[start:] for n in names]


def register_commands() -> None:
    AllocPrefix()
    for cmd in commands.COMMANDS:
        cls = GdbTypeCommand if cmd.name == "type" else GdbAllocCommand
        # gdb reads a command's help from its class's __doc__: one class per command.
        named = type(f"Alloc_{cmd.name.replace('-', '_')}", (cls,), {"__doc__": cmd.help})
        named(cmd)


__all__ = ["CommandError", "describe_expr", "fail", "guarded", "register_commands", "require_target"]
