"""Lockdown logistics simulator: a community's five-level grid of heads under lockdown.

The public face, for notebooks and scripts::

    import sim
    scenario = sim.load_scenario("scenarios/drill.yaml")
    results = sim.run(scenario, replications=3)
    results.summary          # pandas DataFrame, minutes
"""

from __future__ import annotations

from pathlib import Path

from sim.chain import build_chain, chain_for_variant
from sim.experiment import Results, run_experiment
from sim.model import Drill
from sim.output import write_results
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "Drill",
    "Results",
    "Scenario",
    "ScenarioError",
    "build_chain",
    "chain_for_variant",
    "load_scenario",
    "run",
    "run_experiment",
    "write_results",
]


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = 1,
    progress: bool = False,
    **options: object,
) -> Results:
    """Run a scenario (object or file) and return its :class:`Results`.

    ``seed`` and ``replications`` override the scenario's; other options go to
    :func:`run_experiment` (``dask_address``, ``stages``, ``variants``).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    updates = {k: v for k, v in (("seed", seed), ("replications", replications)) if v is not None}
    if updates:
        scenario = Scenario.model_validate({**scenario.model_dump(by_alias=True), **updates})
    return run_experiment(scenario, jobs=jobs, progress=progress, **options)
