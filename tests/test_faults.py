"""Faults: SIGTERM and Ctrl-C, a SIGKILLed parallel run, exit statuses, the worker cap,
an unreachable Dask scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

import sim.destination
import sim.experiment
import sim.workers
from sim.cli import main
from sim.executors import available_cores, executor_for

from .conftest import ROOT, SMALL, cli_command, cli_env, run_cli

DRILL = ROOT / "scenarios" / "drill.yaml"
PARALLEL = [DRILL, "--replications", "4", "--jobs", "2", "--quiet", "--no-figures",
            "--variant", "five_levels"]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie is dead, only not yet reaped


def _start_parallel(out: Path, log: Path) -> tuple[subprocess.Popen, list[int]]:
    """A parallel run whose stderr goes to ``log`` (pipes would be held by surviving
    workers), once both of its workers are running."""
    with log.open("w") as err:
        proc = subprocess.Popen(cli_command(*PARALLEL, "--out", out), cwd=ROOT, env=cli_env(),
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    return proc, _children(proc.pid)


needs_proc = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")


@needs_proc
@pytest.mark.skipif(available_cores() < 2, reason="needs two cores")
def test_sigkill_of_a_parallel_run_leaves_no_worker(tmp_path: Path) -> None:
    proc, workers = _start_parallel(tmp_path / "out", tmp_path.parent / "kill.log")
    assert all(_alive(w) for w in workers)
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [w for w in workers if _alive(w)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    assert not (tmp_path / "out").exists()


@needs_proc
@pytest.mark.skipif(available_cores() < 2, reason="needs two cores")
def test_sigterm_stops_like_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path.parent / "term.log"
    proc, workers = _start_parallel(tmp_path / "out", log)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    err = log.read_text()
    assert proc.returncode == 143, err
    assert err.splitlines() == ["interrupted: no results written"]
    assert list(tmp_path.iterdir()) == [], "nothing half-written, no lock left"
    time.sleep(0.5)
    assert not any(_alive(w) for w in workers)


def _loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@needs_proc
@pytest.mark.parametrize("library", ["pydantic_core", "_multiarray_umath", "pandas", "matplotlib"])
def test_ctrl_c_during_start_up_is_one_line(library: str, tmp_path: Path) -> None:
    """Ctrl-C once the simulator's own imports are under way (Python's start-up before
    them is not ours to handle).

    The run starts as from a terminal, Ctrl-C not ignored: a test session started as a
    background job of a script ignores it, and the simulator, rightly, keeps ignoring
    a Ctrl-C its parent ignores.
    """
    # A handled signal is back to its default in the child (exec); an ignored one is not.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(cli_command(SMALL, "--out", tmp_path / "o", "--quiet"),
                                cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    deadline = time.monotonic() + 30
    while not _loaded(proc.pid, library) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.splitlines() == ["interrupted: no results written"], err
    assert not (tmp_path / "o").exists()


def test_failed_conservation_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    gather = sim.experiment.gather

    def unbalanced(*args: object, **kwargs: object) -> sim.experiment.Results:
        results = gather(*args, **kwargs)
        results.conservation.loc[0, "balanced"] = False
        return results

    monkeypatch.setattr(sim.experiment, "gather", unbalanced)
    out = tmp_path / "out"
    code = main([str(SMALL), "--out", str(out), "--replications", "1", "--jobs", "1",
                 "--no-figures"])
    captured = capsys.readouterr()
    assert code == 1
    assert "conservation: FAILED" in captured.out
    assert "conservation failed" in captured.err
    assert (out / "conservation.csv").is_file()


def test_jobs_capped_at_the_available_cores() -> None:
    with executor_for(40, None, 100) as pool:
        assert pool is None or pool.slots == available_cores()
        if pool is not None:
            assert pool._max_workers == available_cores()


def test_unreachable_dask_scheduler_is_one_line_before_any_work(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    started = time.monotonic()
    proc = run_cli(SMALL, "--out", tmp_path / "out", "--quiet", "--dask", "tcp://127.0.0.1:9")
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0], proc.stderr
    assert elapsed < 30, elapsed
    assert list(tmp_path.iterdir()) == []


def test_runs_are_submitted_as_workers_free_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most two runs per worker are in flight; the tables match a run in this process."""
    from .conftest import make_scenario, small_dict

    in_flight, most = [0], [0]

    class Counting(ThreadPoolExecutor):
        slots = 1

        def submit(self, *args: object, **kwargs: object) -> Future:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            future = super().submit(*args, **kwargs)
            future.add_done_callback(lambda f: in_flight.__setitem__(0, in_flight[0] - 1))
            return future

    @contextmanager
    def counting(*args: object) -> Iterator[ThreadPoolExecutor]:
        with Counting(max_workers=1) as pool:
            yield pool

    data = small_dict()
    data.update(horizon="6h", replications=4)
    scenario = make_scenario(data)
    alone = sim.experiment.run_experiment(scenario, jobs=1, progress=False)
    monkeypatch.setattr(sim.experiment, "executor_for", counting)
    pooled = sim.experiment.run_experiment(scenario, jobs=2, progress=False)
    assert most[0] == 2  # 8 runs, never more than two per worker submitted
    assert pooled.summary.equals(alone.summary)
    assert pooled.requests.equals(alone.requests)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_out_fails_before_the_run(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        started = time.monotonic()
        proc = run_cli(SMALL, "--out", locked / "out", "--quiet")
        assert time.monotonic() - started < 5
    finally:
        locked.chmod(0o700)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"error: {locked / 'out'}: cannot write in {locked}: "
                                        "permission denied"]


def test_unwritable_out_is_refused_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The same check where the tests run as root (who may write anywhere)."""
    monkeypatch.setattr(sim.destination.os, "access", lambda path, mode: False)
    code = main([str(SMALL), "--out", str(tmp_path / "a" / "out"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {tmp_path / 'a' / 'out'}: cannot write in {tmp_path}: permission denied"]
    assert list(tmp_path.iterdir()) == []


def _zombie() -> subprocess.Popen:
    """A process that has exited and is not yet reaped."""
    proc = subprocess.Popen(["sleep", "0"])
    deadline = time.monotonic() + 10
    while _alive(proc.pid):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc


@needs_proc
def test_a_zombie_is_not_alive() -> None:
    proc = _zombie()
    try:
        assert Path(f"/proc/{proc.pid}").exists()  # it exists, but does not run
        assert not sim.workers.alive(proc.pid)
    finally:
        proc.wait()
    assert sim.workers.alive(os.getpid())


@needs_proc
def test_a_worker_whose_run_died_as_it_started_exits() -> None:
    """A run killed while its worker starts: the worker's parent is then the reaper, which
    lives on, so no death signal comes; the worker must still see its run gone, even
    while the run's process is a zombie not yet reaped."""
    run = subprocess.Popen(["sleep", "60"])
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom sim.workers import workers_die_with_parent\n"
         "workers_die_with_parent(int(sys.argv[1]))\ntime.sleep(60)", str(run.pid)],
        cwd=ROOT, env=cli_env())
    try:
        time.sleep(1.5)  # the worker is watching
        assert worker.poll() is None
        run.kill()  # not reaped: a zombie until the end of the test
        worker.wait(timeout=10 * sim.workers.CHECK_EVERY_S)
    finally:
        worker.kill()
        worker.wait()
        run.wait()
