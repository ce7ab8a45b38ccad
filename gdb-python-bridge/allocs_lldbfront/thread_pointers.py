"""Each thread's thread pointer (x86-64's fs_base) under LLDB, which does not tell it: LLDB 16 has
no fs_base register in a kernel core ("Invalid register name") nor in a live Linux process.

- A core (kernel core or gcore): its NT_PRSTATUS notes (allocs_decoder.core_notes), one a thread,
  matched to LLDB's threads by tid. LLDB 16's SBProcess cannot name its core file
  (SBProcess.GetCoreFile came in LLDB 19, and is used when present): the core is found among the
  files this lldb process has mapped or open (LLDB maps the core it reads), as the one whose
  threads' tids are the process's.
- A live process: `(void *)pthread_self()` evaluated on each thread (glibc's pthread_self is the
  thread control block, which is where fs_base points on x86-64).
Where LLDB has a non-zero fs_base register for every thread (a later LLDB), that is used.
A thread whose pointer cannot be found is left out, with a note."""
from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import lldb  # type: ignore[import-not-found]

from allocs_decoder import core_notes

MASK64 = (1 << 64) - 1


def _tids(process: Any) -> Dict[int, int]:
    """{tid: LLDB's thread index (the decoder's thread number)} of the process's threads."""
    return {int(t.GetThreadID()): int(t.GetIndexID()) for t in process}


def _mapped_or_open_files() -> Iterable[str]:
    """Regular files this lldb process maps or holds open (where LLDB keeps its core file)."""
    seen: Set[str] = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    name = parts[5].rstrip("\n")
                    if not name.endswith(" (deleted)") and name not in seen:
                        seen.add(name)
                        yield name
    except OSError:
        pass
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        fds = []
    for fd in fds:
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor, closed since
        if name.startswith("/") and name not in seen:
            seen.add(name)
            yield name


def core_file(process: Any) -> Optional[str]:
    """The path of the core file the process was loaded from, when it can be found."""
    get = getattr(process, "GetCoreFile", None)
    if get is not None:  # LLDB 19 and later
        try:
            spec = get()
            if spec.IsValid() and spec.fullpath and os.path.isfile(spec.fullpath):
                return str(spec.fullpath)
        except Exception:
            pass
    want = set(_tids(process))
    if not want:
        return None
    for name in _mapped_or_open_files():
        if not core_notes.is_core(name):
            continue
        found, _ = core_notes.thread_pointers(name)
        # a core of another program (or another run) has other tids
        if found and want <= set(found):
            return name
    return None


def from_registers(process: Any) -> Dict[int, int]:
    """{thread number: fs_base} where LLDB has the register (not 16) for every thread; else {}."""
    out: Dict[int, int] = {}
    for t in process:
        reg = t.GetFrameAtIndex(0).FindRegister("fs_base")
        fs = int(reg.GetValueAsUnsigned()) if reg.IsValid() else 0
        if not fs:
            return {}
        out[int(t.GetIndexID())] = fs & MASK64
    return out


def from_core(process: Any) -> Tuple[Dict[int, int], List[str]]:
    """{thread number: fs_base} of a core's threads, from the core file's notes."""
    path = core_file(process)
    if path is None:
        return {}, ["the core file's path is unknown to LLDB: thread-local storage is no root"]
    found, notes = core_notes.thread_pointers(path)
    out: Dict[int, int] = {}
    for tid, num in _tids(process).items():
        if tid in found:
            out[num] = found[tid]
        else:
            notes.append(f"{path}: no thread note for thread {num} (tid {tid})")
    return out, notes


def from_live(process: Any) -> Tuple[Dict[int, int], List[str]]:
    """{thread number: pthread_self()} of a live process's threads, each evaluated in its own
    thread with the others stopped."""
    opts = lldb.SBExpressionOptions()
    opts.SetTimeoutInMicroSeconds(2_000_000)
    opts.SetTryAllThreads(False)
    opts.SetStopOthers(True)
    opts.SetIgnoreBreakpoints(True)
    opts.SetUnwindOnError(True)
    out: Dict[int, int] = {}
    notes: List[str] = []
    for t in process:
        frame = t.GetFrameAtIndex(0)
        v = frame.EvaluateExpression("(void *)pthread_self()", opts) if frame.IsValid() else None
        if v is not None and v.IsValid() and v.GetError().Success() and v.GetValueAsUnsigned():
            out[int(t.GetIndexID())] = int(v.GetValueAsUnsigned()) & MASK64
        else:
            err = v.GetError().GetCString() if v is not None and v.IsValid() else None
            notes.append(f"thread {t.GetIndexID()}: no thread pointer ({(err or 'no frame').strip()})")
    return out, notes


# The last answer, kept for its stop: LLDB's stop id not counting expression stops (running
# pthread_self() makes those), so leaks then retainers at one stop run no expression twice.
_LAST: Dict[str, Any] = {"key": None, "answer": None}


def thread_pointers(process: Any, is_core: bool) -> Tuple[Dict[int, int], List[str]]:
    """Every thread's thread pointer by thread number, and notes about the threads left out."""
    arch = (process.GetTarget().GetTriple() or "").split("-")[0]
    if arch != "x86_64":
        return {}, [f"thread pointers are read on x86-64 only, not {arch or 'this architecture'}"]
    key = (int(process.GetUniqueID()), int(process.GetProcessID()), int(process.GetStopID(False)), is_core)
    if _LAST["key"] == key:
        found, notes = _LAST["answer"]
        return dict(found), list(notes)
    found, notes = from_registers(process), []
    if not found:
        found, notes = from_core(process) if is_core else from_live(process)
    _LAST["key"], _LAST["answer"] = key, (dict(found), list(notes))
    return found, notes
