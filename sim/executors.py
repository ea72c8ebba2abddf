"""Where runs go: a local process pool, a Dask cluster, or this process.

Local workers are capped at the cores this process may use and die with it
(:mod:`sim.workers`); a Dask scheduler is reached through ``Client.get_executor()``, the
same ``concurrent.futures`` interface. The executor's ``slots`` say how many runs it
works on at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from sim.workers import workers_die_with_parent


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@contextmanager
def executor_for(jobs: int | None, dask_address: str | None,
                 tasks: int) -> Iterator[Executor | None]:
    """A process pool, a Dask executor, or ``None`` to run ``tasks`` in this process.

    Local workers are capped at the available cores and die with this process. The
    executor's ``slots`` attribute says how many runs it works on at once.
    """
    if dask_address:
        with dask_client(dask_address) as client:
            executor = client.get_executor()
            executor.slots = max(1, sum(client.nthreads().values()))
            try:
                yield executor
            finally:
                executor.shutdown(wait=False)
        return
    workers = min(jobs or available_cores(), available_cores(), tasks)
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=workers, initializer=workers_die_with_parent,
                               initargs=(os.getpid(),))
    pool.slots = workers
    try:
        yield pool
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()  # an interrupted run does not wait for the runs in hand
        raise
    pool.shutdown(wait=True)


@contextmanager
def dask_client(address: str, timeout_s: float = 5) -> Iterator[object]:
    """A Dask client, or ``RuntimeError`` in one line if the scheduler cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("--dask needs the Dask extra: pip install -e '.[dask]'") from None
    try:
        client = Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise RuntimeError(f"--dask {address}: cannot reach the Dask scheduler within "
                           f"{timeout_s:g} s ({reason})") from None
    with client:
        yield client
