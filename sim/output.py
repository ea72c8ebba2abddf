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

import pandas as pd

from sim.destination import claim, replace
from sim.experiment import Results

DECIMALS = 4


def write_results(results: Results, out: str | Path, figures: bool = True,
                  force: bool = False) -> Path:
    """Write tables, resolved scenario, figures and report into ``out`` atomically.

    ``out`` must be new, empty or a results folder, unless ``force``
    (:class:`sim.destination.DestinationError` otherwise).
    """
    with claim(out, force) as held:
        staging = held.staging(results.scenario.name)
        try:
            _write_all(results, staging, figures)
            replace(staging, held)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return Path(out)


def _write_all(results: Results, folder: Path, figures: bool) -> None:
    tables: dict[str, pd.DataFrame] = {
        "requests.csv": results.requests,
        "stages.csv": results.stages,
        "heads.csv": results.heads,
        "resources.csv": results.resources,
        "summary.csv": results.summary,
        "variants.csv": results.costs,
        "conservation.csv": results.conservation,
        "stage_breakdown.csv": results.stage_breakdown,
    }
    if not results.kept_requests:
        del tables["requests.csv"]
    if results.sensitivity is not None:
        tables["sensitivity.csv"] = results.sensitivity
    tables.update({f"{name}.csv": table for name, table in results.flow_tables.items()})
    for name, table in tables.items():
        write_csv(table, folder / name)
    (folder / "summary.json").write_text(summary_json(results), encoding="utf-8")
    (folder / "scenario.resolved.yaml").write_text(results.scenario.to_yaml(), encoding="utf-8")
    if figures:
        from sim import plots, report

        paths = plots.write_figures(results, folder / "figures")
        report.write_report(results, paths, folder / "report.html")


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` with floats rounded to ``DECIMALS`` places (exact, fast and stable)."""
    floats = table.select_dtypes("float").columns
    table.assign(**{c: table[c].round(DECIMALS) for c in floats}).to_csv(path, index=False)


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
