"""The gdb front of the allocs bridge, by job (allocs_gdb.py, the file users `source`, registers it):
target (the decoder's Target over gdb), session_cache (the per-stop Session and gdb's events),
commands (the decoder's `alloc` commands registered with gdb, and the one error guard), mi (the MI
commands), report (`allocs core`'s report)."""
