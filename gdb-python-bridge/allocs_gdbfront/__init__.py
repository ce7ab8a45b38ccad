"""The gdb front of the allocs bridge, by job (allocs_gdb.py, the file users `source`, registers it):
target (the decoder's Target over gdb), session_cache (the per-stop Session and gdb's events),
common (argument parsing, errors, output), commands_address and commands_heap (the `alloc`
commands), mi (the MI commands), report (`allocs core`'s report)."""
