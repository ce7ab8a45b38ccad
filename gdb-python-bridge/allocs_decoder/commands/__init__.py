"""The `alloc` commands, defined once for every front (model: the command shape, parsing, the
error mapping; address: info, whatis, whereis, whyis, print; heap: ls, census, maps, type,
who-points-to). A front registers COMMANDS under PREFIX and runs them with `run_command`."""
from __future__ import annotations

from typing import Dict, Tuple

from ..session import Session
from .address import Info, Print, Whatis, Whereis, Whyis, pointer_spelling, print_typed
from .graph import GRAPH_COMMANDS
from .heap import Census, Ls, Maps, Type, WhoPointsTo, census_text, type_names
from .summary import pointer_summary
from .model import (
    CORE_NO_RUNTIME, Args, Command, CommandError, Option, Reply, address_of, describe_expr, error_json,
    error_line, parse_args,
)

PREFIX = "alloc"
PREFIX_HELP = """What is at this address? Commands of the allocs bridge.

Every command takes --json (one JSON object on one line; see docs/address-description.md).
Addresses are expressions: a pointer's value, an integer, or an object (its address)."""

COMMANDS: Tuple[Command, ...] = (
    Info(), Whatis(), Whereis(), Whyis(), Print(), Ls(), Census(), Maps(), Type(), WhoPointsTo(),
    *GRAPH_COMMANDS,
)
BY_NAME: Dict[str, Command] = {c.name: c for c in COMMANDS}


def run_command(name: str, s: Session, arg: str) -> Tuple[Reply, bool]:
    """Parses arg for the command `name` and runs it: (its reply, whether --json was asked)."""
    cmd = BY_NAME[name]
    a = cmd.parse(arg)
    return cmd.run(s, a), a.json


__all__ = [
    "BY_NAME", "COMMANDS", "CORE_NO_RUNTIME", "PREFIX", "PREFIX_HELP", "Args", "Command", "CommandError",
    "Option", "Reply", "address_of", "census_text", "describe_expr", "error_json", "error_line", "parse_args",
    "pointer_spelling", "pointer_summary", "print_typed", "run_command", "type_names",
]
