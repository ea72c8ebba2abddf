"""Shared fixtures: the small scenario as a dict, a builder for modified scenarios, CLI runner."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from sim.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small.yaml"
_SMALL_DICT = yaml.safe_load(SMALL.read_text(encoding="utf-8"))


def small_dict() -> dict:
    """A fresh, deep copy of scenarios/small.yaml as a plain dict (safe to modify)."""
    return copy.deepcopy(_SMALL_DICT)


def make_scenario(data: dict, **overrides: object) -> Scenario:
    """Validate a (modified) scenario dict into a Scenario."""
    return scenario_from_dict(data, source="<test>", **overrides)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail what runs longer than ``seconds`` (a hang): SIGALRM, on the main thread."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli_command(*args: object) -> list[str]:
    """The argv of ``python -m sim ARGS`` with this interpreter."""
    return [sys.executable, "-m", "sim", *map(str, args)]


def cli_env() -> dict[str, str]:
    """Environment for CLI subprocesses: this checkout importable, no Dask from outside."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("SIM_DASK_ADDRESS", None)
    return env


def run_cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m sim ARGS`` from the repository root and capture its output."""
    return subprocess.run(cli_command(*args), cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def run_cli_many(commands: Sequence[Sequence[object]], timeout: float = 120,
                 parallel: int | None = None) -> list[subprocess.CompletedProcess]:
    """Run several independent CLI invocations, ``parallel`` at a time (default: cores)."""
    limit = max(1, parallel or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=limit) as pool:
        return list(pool.map(lambda args: run_cli(*args, timeout=timeout), commands))


# ---- CLI runs in the background ------------------------------------------------------------
#
# A test module may define ``cli_jobs(base: Path) -> dict[str, list]``: CLI invocations it
# needs (name → arguments; ``base`` is a fresh folder for that module). Once collection
# is done they start for every selected module, a few at a time on threads, so the
# subprocesses run while in-process tests run; ``background_cli(request, name)`` waits for
# one and returns its CompletedProcess.


class _Background:
    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
        self.futures: dict[tuple[str, str], Future] = {}
        self.base = Path(tempfile.mkdtemp(prefix="sim-cli-tests-"))

    def start(self, module: ModuleType) -> None:
        plan = getattr(module, "cli_jobs", None)
        if plan is None:
            return
        folder = self.base / module.__name__.rpartition(".")[2]
        folder.mkdir()
        for name, args in plan(folder).items():
            self.futures[(module.__name__, name)] = self.pool.submit(run_cli, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.base, ignore_errors=True)


_BACKGROUND: _Background | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _BACKGROUND
    if session.config.option.collectonly:
        return
    modules = {id(item.module): item.module for item in session.items
               if getattr(item, "module", None) is not None}
    if not any(hasattr(m, "cli_jobs") for m in modules.values()):
        return
    _BACKGROUND = _Background()
    for module in sorted(modules.values(), key=lambda m: m.__name__):
        _BACKGROUND.start(module)


def pytest_sessionfinish(session: pytest.Session) -> None:
    global _BACKGROUND
    if _BACKGROUND is not None:
        _BACKGROUND.close()
        _BACKGROUND = None


def background_cli(request: pytest.FixtureRequest,
                   name: str) -> tuple[subprocess.CompletedProcess, Path]:
    """The finished CLI run ``name`` of the requesting module's ``cli_jobs``, and the
    module's ``base`` folder that the job's paths were made under."""
    assert _BACKGROUND is not None, "cli_jobs are started after collection"
    module = request.module.__name__
    proc = _BACKGROUND.futures[(module, name)].result()
    return proc, _BACKGROUND.base / module.rpartition(".")[2]


@pytest.fixture
def small() -> dict:
    """scenarios/small.yaml as a dict, ready to modify."""
    return small_dict()


@pytest.fixture
def build() -> Callable[..., Scenario]:
    """``build(data, **overrides)`` validates a modified scenario dict."""
    return make_scenario


@pytest.fixture
def small_scenario() -> Scenario:
    """scenarios/small.yaml, validated."""
    return make_scenario(small_dict())


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """A results path that does not exist yet, inside a fresh temporary folder."""
    return tmp_path / "results" / "run"
