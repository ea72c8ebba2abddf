"""The results folder, written whole or not at all.

Everything goes into a temporary folder beside the destination, which replaces the
destination only once complete: an interrupted run leaves no half-written results,
and an existing folder is replaced only by a complete one. Only results folders are
ever replaced (see :mod:`sim.destination`).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sim.destination import claim, replace
from sim.experiment import Results

if TYPE_CHECKING:
    from sim.decision import Decision
    from sim.stage_store import StageStore

DECIMALS = 4


def write_results(results: Results, out: str | Path, figures: bool = True,
                  force: bool = False, format: str = "csv",  # noqa: A002
                  scenario_file: str | Path | None = None,
                  decision: Decision | None = None) -> Path:
    """Write tables, resolved scenario, figures and report into ``out`` atomically.

    ``out`` must be new, empty or a results folder, unless ``force``
    (:class:`sim.destination.DestinationError` otherwise). Tables are ``format``
    ``csv`` (default) or ``parquet``. ``scenario_file``, the YAML the scenario was read
    from, gives the report's inputs their source tags. ``decision``, if already made
    from these results (:func:`sim.decision.decide_results`), is not made again.
    """
    from sim.results_io import FORMATS

    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    with claim(out, force) as held:
        staging = held.staging(results.scenario.name)
        try:
            _write_all(results, staging, figures, format, scenario_file, decision)
            replace(staging, held)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return Path(out)


def _write_all(results: Results, folder: Path, figures: bool, format: str,  # noqa: A002
               scenario_file: str | Path | None = None,
               decision: Decision | None = None) -> None:
    from sim.results_io import TABLES, write_table

    # The stage log is written from its store, a slice at a time (see sim/stage_store.py).
    tables: dict[str, pd.DataFrame | StageStore] = {
        stem: results.stage_log if name == "stages" else getattr(results, name)
        for name, stem in TABLES.items()}
    tables["stage_breakdown"] = results.stage_breakdown
    if not results.kept_requests:
        del tables["requests"]
    if results.sensitivity is not None:
        tables["sensitivity"] = results.sensitivity
    tables.update(results.flow_tables)
    for stem, table in tables.items():
        write_table(table, folder, stem, format)
    (folder / "summary.json").write_text(summary_json(results), encoding="utf-8")
    (folder / "scenario.resolved.yaml").write_text(results.scenario.to_yaml(), encoding="utf-8")
    if figures:
        from sim import plots, report

        paths = plots.write_figures(results, folder / "figures")
        report.write_report(results, paths, folder / "report.html", scenario_file, decision)


def summary_json(results: Results) -> str:
    """The summary as JSON: scenario, costs, conservation and statistics per group."""
    document = {
        "scenario": results.scenario.name,
        "seed": results.scenario.seed,
        "replications": results.scenario.replications,
        "variants": results.variants,
        "conserved": bool(results.conservation["balanced"].all())
        if not results.conservation.empty else True,
        "costs": _records(results.costs),
        "summary": _records(results.summary),
    }
    return json.dumps(document, indent=1, sort_keys=False) + "\n"


def _records(table: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in table.to_dict("records")]


def _clean(value: object) -> object:
    """A JSON-ready value: plain Python, floats rounded, NaN and infinities as null."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float):
        return round(value, DECIMALS) if math.isfinite(value) else None
    return value
