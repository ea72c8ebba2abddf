"""Shared fixtures: the small scenario as a dict, a builder for modified scenarios, CLI runner."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
