"""Worker processes that never outlive the run that started them.

A worker leaves Ctrl-C to its parent (which stops the pool) and exits as soon as the
parent is gone, even when the parent was killed with SIGKILL and could clean up
nothing: on Linux the kernel sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``); everywhere,
a daemon thread checks once a second that its parent is still the one it started with and
that the run's process is still alive. The second check covers a run killed while the
worker was starting: the worker then starts with the reaper as its parent, and no death
signal will ever come.
A large run hands its freed model back to the system before its reduction
(:func:`give_back_freed_memory`).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
CHECK_EVERY_S = 1.0
_HAS_PROC = Path("/proc/self/stat").exists()


def workers_die_with_parent(parent: int) -> None:
    """Pool initializer: ignore Ctrl-C, die with the parent process ``parent``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    started_with = os.getppid()  # the pool's parent (a fork server's pid where one is used)
    _death_signal()
    if os.getppid() != started_with or not alive(parent):
        os._exit(1)  # the parent died before the death signal was set
    threading.Thread(target=_watch, args=(started_with, parent), daemon=True,
                     name="die-with-parent").start()


def give_back_freed_memory() -> None:
    """Collect cycles, then hand the heap's free pages back to the system (glibc only).

    A run frees its model (hundreds of MiB for a city district) before its reduction,
    but the C allocator keeps freed small blocks in its heap, counted in the resident
    set: the reduction's arrays then come on top of them. Elsewhere a no-op.
    """
    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc (musl has no malloc_trim): the pages stay until reused


def _death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the watching thread still does the job, a second later


def _watch(started_with: int, parent: int) -> None:
    while os.getppid() == started_with and alive(parent):
        time.sleep(CHECK_EVERY_S)
    os._exit(1)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs; another user's counts, a zombie does not.

    A zombie is a process that has exited but is not yet reaped by its parent.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not _HAS_PROC  # gone since, or no /proc: existing is all we can tell
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
