"""Lockdown logistics simulator: a community's five-level grid of heads under lockdown.

The public face, for notebooks and scripts::

    import sim
    scenario = sim.load_scenario("scenarios/drill.yaml")
    results = sim.run(scenario, replications=3)
    results.summary          # pandas DataFrame, minutes
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below, imported on first use by __getattr__
    from sim.chain import build_chain, chain_for_variant  # noqa: F401
    from sim.experiment import Results, run_experiment  # noqa: F401
    from sim.model import Drill  # noqa: F401
    from sim.output import write_results  # noqa: F401
    from sim.overrides import override, sweep  # noqa: F401
    from sim.scenario import Scenario, ScenarioError, load_scenario  # noqa: F401

_HOMES = {
    "Drill": "sim.model",
    "Results": "sim.experiment",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "build_chain": "sim.chain",
    "chain_for_variant": "sim.chain",
    "load_scenario": "sim.scenario",
    "override": "sim.overrides",
    "sweep": "sim.overrides",
    "run_experiment": "sim.experiment",
    "write_results": "sim.output",
}

__all__ = sorted([*_HOMES, "run"])


def __getattr__(name: str) -> object:
    """Import the public names on first use, so ``python -m sim --help`` starts fast."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = 1,
    progress: bool = False,
    set: dict[str, object] | None = None,
    **options: object,
) -> Results:
    """Run a scenario (object or file) and return its :class:`Results`.

    ``seed`` and ``replications`` override the scenario's; ``set`` sets keys by dotted
    path (``{"emergency.ambulances.count": 4}``); other options go to
    :func:`run_experiment` (``dask_address``, ``stages``, ``variants``).
    """
    from sim.experiment import run_experiment
    from sim.overrides import override
    from sim.scenario import Scenario, load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if set:
        scenario = override(scenario, set)
    updates = {k: v for k, v in (("seed", seed), ("replications", replications)) if v is not None}
    if updates:
        scenario = Scenario.model_validate({**scenario.model_dump(by_alias=True), **updates})
    return run_experiment(scenario, jobs=jobs, progress=progress, **options)
