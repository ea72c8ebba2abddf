"""Faults: SIGTERM and Ctrl-C, a SIGKILLed parallel run, exit statuses, the worker cap,
an unreachable Dask scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import sim.experiment
from sim.cli import main
from sim.experiment import available_cores, executor_for

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
@pytest.mark.parametrize("library", ["pydantic_core", "_multiarray_umath", "pandas"])
def test_ctrl_c_during_start_up_is_one_line(library: str, tmp_path: Path) -> None:
    """Ctrl-C once the simulator's own imports are under way (Python's start-up before
    them is not ours to handle)."""
    proc = subprocess.Popen(cli_command(SMALL, "--out", tmp_path / "o", "--quiet"),
                            cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
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
