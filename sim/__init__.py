"""Lockdown logistics simulator: a community's five-level grid of heads under lockdown.

The public face, for notebooks and scripts::

    import sim
    scenario = sim.load("scenarios/drill.yaml")
    results = sim.run(scenario, replications=3)
    results.summary          # pandas DataFrame, minutes
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below, imported on first use by __getattr__
    from sim.api import load, run, scenario_file  # noqa: F401
    from sim.chain import build_chain, chain_for_variant  # noqa: F401
    from sim.experiment import Results, run_experiment  # noqa: F401
    from sim.model import Drill  # noqa: F401
    from sim.output import write_results  # noqa: F401
    from sim.overrides import override, sweep  # noqa: F401
    from sim.scenario import Scenario, ScenarioError, load_scenario  # noqa: F401

try:
    __version__ = version("sim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_HOMES = {
    "Drill": "sim.model",
    "Results": "sim.experiment",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "build_chain": "sim.chain",
    "chain_for_variant": "sim.chain",
    "load": "sim.api",
    "load_scenario": "sim.scenario",
    "override": "sim.overrides",
    "run": "sim.api",
    "scenario_file": "sim.api",
    "sweep": "sim.overrides",
    "run_experiment": "sim.experiment",
    "write_results": "sim.output",
}

__all__ = sorted([*_HOMES, "__version__"])


def __getattr__(name: str) -> object:
    """Import the public names on first use, so ``python -m sim --help`` starts fast."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
