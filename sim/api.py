"""The Python entry points for notebooks and scripts: ``sim.load`` and ``sim.run``.

Same defaults as the command line (every core, a progress bar, the first replication's
stage log, request rows kept); the progress bar is ``tqdm.auto``, a widget in Jupyter.
The tables come back analyst-ready (:func:`sim.results_io.tidy`): the variant column an
ordered categorical in the scenario's order, and clock time and day columns beside the
model minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import ScenarioError

if TYPE_CHECKING:
    from sim.experiment import Results
    from sim.scenario import Scenario


REPOSITORY = Path(__file__).resolve().parents[1]
"""The checkout this package was imported from (scenarios/, results/baselines/)."""


def scenario_file(name: str) -> Path:
    """The path of a scenario shipped in the repository: ``scenario_file("drill")``.

    Resolves from the package, not the working directory, so a notebook finds the
    scenarios wherever it runs. ``name`` may include a sub-folder (``"validation/tandem"``).
    """
    path = REPOSITORY / "scenarios" / f"{name.removesuffix('.yaml')}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in (REPOSITORY / "scenarios").glob("*.yaml"))
        raise ScenarioError(f"{path}: no such scenario (shipped: {', '.join(shipped) or 'none'}"
                            "; scenario files ship with the repository, not a wheel)")
    return path


def load(path: str | Path, *, set: Mapping[str, object] | None = None,  # noqa: A002
         seed: int | None = None, replications: int | None = None) -> Scenario:
    """Read and validate a scenario file, keys set by dotted path (``set={"a.b": 4}``).

    Errors are :class:`sim.ScenarioError` with one line naming the file and the key.
    """
    from sim.overrides import override
    from sim.scenario import load_scenario

    scenario = load_scenario(path, seed=seed, replications=replications)
    return override(scenario, set, source=str(path)) if set else scenario


def run(
    scenario: Scenario | str | Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    variants: str | Sequence[str] | None = None,
    set: Mapping[str, object] | None = None,  # noqa: A002
    jobs: int | None = None,
    progress: bool = True,
    stages: str = "first",
    keep_requests: bool = True,
    sensitivity: bool = True,
    dask_address: str | None = None,
) -> Results:
    """Run a scenario (object or file) and return its :class:`sim.Results`.

    ``replications`` and ``seed`` replace the scenario's; ``variants`` runs only these
    (default all, in the scenario's order); ``set`` sets keys by dotted path for this
    run; ``jobs`` local processes (default: every available core; 1 runs here);
    ``progress`` shows a bar (a widget in notebooks); ``stages`` keeps the hop-by-hop log
    of the ``first`` replication of each variant, ``all`` or ``none``;
    ``keep_requests=False`` drops the request rows (summaries unchanged);
    ``sensitivity=False`` skips the scenario's sensitivity block; ``dask_address`` runs
    on a Dask scheduler. A variant that is not in the scenario is a
    :class:`sim.ScenarioError` listing the variants.
    """
    from sim.experiment import run_experiment
    from sim.overrides import override
    from sim.results_io import tidy
    from sim.scenario import Scenario

    if not isinstance(scenario, Scenario):
        scenario = load(scenario, seed=seed, replications=replications)
    elif seed is not None or replications is not None:
        scenario = override(scenario, {k: v for k, v in (("seed", seed),
                                                         ("replications", replications))
                                       if v is not None}, label="run")
    assignments = dict(set or {})
    if not sensitivity:
        assignments["sensitivity"] = None
    if assignments:
        scenario = override(scenario, assignments, source=scenario.name)
    names = [variants] if isinstance(variants, str) else list(variants or [])
    known = [v.name for v in scenario.variants]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ScenarioError(f"{scenario.name}: no variant {unknown[0]!r} "
                            f"(variants: {', '.join(known)})")
    results = run_experiment(scenario, jobs=jobs, dask_address=dask_address, progress=progress,
                             stages=stages, variants=names or None,
                             keep_requests=keep_requests)
    return tidy(results)
