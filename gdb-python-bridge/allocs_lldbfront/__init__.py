"""The LLDB front of the allocs bridge, by job (allocs_lldb.py, the file users
`command script import`, registers it): target (the decoder's Target over LLDB's SB API),
session_cache (the per-stop Session), commands (the decoder's `alloc` commands registered with
LLDB), formatters (summaries and synthetic children for pointers)."""
