"""Registers the decoder's `alloc` commands (allocs_decoder.commands) with LLDB: a command
container `alloc`, and one `command script add -c` class per command, whose failures are one
error line (allocs_decoder.commands.error_line)."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Type

import lldb  # type: ignore[import-not-found]

from allocs_decoder import commands
from allocs_decoder.commands import Command

from .session_cache import session
from .target import LldbError

DEBUGGER_ERRORS = (LldbError,)
NO_TARGET = "alloc: no process or core file here: run the program, attach, or load a core (lldb -c CORE)"


class LldbAllocCommand:
    """One decoder command as an LLDB script command (LLDB instantiates it with the debugger)."""

    cmd: Command = commands.BY_NAME["info"]

    def __init__(self, debugger: Any, internal_dict: Dict[str, Any]) -> None:
        self.debugger = debugger

    def get_short_help(self) -> str:
        return self.cmd.summary()

    def get_long_help(self) -> str:
        # LLDB wraps lines itself: one line per paragraph.
        return "\n\n".join(" ".join(p.split("\n")) for p in self.cmd.help.split("\n\n"))

    def __call__(self, debugger: Any, command: str, exe_ctx: Any, result: Any) -> None:
        try:
            a = self.cmd.parse(command)
            s = session(debugger, exe_ctx)
            if self.cmd.needs_target and not s.target.has_memory():  # type: ignore[attr-defined]
                raise commands.CommandError(NO_TARGET)
            reply = self.cmd.run(s, a)
            out = json.dumps(reply.json) if a.json else reply.text
            if out:
                result.AppendMessage(out)
            result.SetStatus(lldb.eReturnStatusSuccessFinishResult)
        except Exception as e:  # every failure: one line, and lldb keeps going
            result.SetError(commands.error_line(e, DEBUGGER_ERRORS))
        except KeyboardInterrupt as e:
            result.SetError(commands.error_line(e))


def _class_name(cmd: Command) -> str:
    return "Alloc" + "".join(part.capitalize() for part in cmd.name.split("-"))


# One class per command, named so `command script add -c allocs_lldb.AllocInfo` finds it.
COMMAND_CLASSES: Dict[str, Type[LldbAllocCommand]] = {
    _class_name(c): type(_class_name(c), (LldbAllocCommand,), {"cmd": c, "__doc__": c.help})
    for c in commands.COMMANDS
}


def register_commands(debugger: Any, module: str) -> List[str]:
    """Adds `alloc` and its subcommands to LLDB; `module` is the imported module that holds
    COMMAND_CLASSES (allocs_lldb). Returns LLDB's errors, if any."""
    errors: List[str] = []
    interp = debugger.GetCommandInterpreter()

    def run(line: str) -> None:
        res = lldb.SBCommandReturnObject()
        interp.HandleCommand(line, res)
        if not res.Succeeded():
            errors.append(f"{line}: {res.GetError().strip()}")

    help_text = commands.PREFIX_HELP.split("\n", 1)[0]
    if not interp.CommandExists(commands.PREFIX):
        run(f"command container add -h {json.dumps(help_text)} {commands.PREFIX}")
    for cls_name, cls in COMMAND_CLASSES.items():
        run(f"command script add -o -c {module}.{cls_name} {commands.PREFIX} {cls.cmd.name}")
    return errors
