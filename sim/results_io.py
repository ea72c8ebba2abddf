"""Results for analysts: tidy tables, a results folder read back, readable reprs.

``tidy`` makes the variant column an ordered categorical in the scenario's order (sorts
and plots keep the designs in the order the planner wrote them) and adds clock-time
and day columns beside model minutes. ``save`` writes a results folder (CSV or
Parquet) and ``load`` reads one back into the same :class:`sim.Results`.
"""

from __future__ import annotations

import dataclasses
import functools
import html
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.stage_store import StageStore

if TYPE_CHECKING:
    from sim.experiment import Results

FORMATS = ("csv", "parquet")
"""Table formats of a results folder: CSV (the default) or Parquet (needs pyarrow)."""
TABLES = {
    "requests": "requests", "stages": "stages", "heads": "heads", "resources": "resources",
    "summary": "summary", "costs": "variants", "conservation": "conservation",
    "per_replication": "per_replication", "stage_totals": "stage_totals",
}
"""Results attribute → table file name (without suffix) in a results folder."""
CLOCKS = [f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)]
LABELS = {"stages": ("stage", "node")}
"""Label columns a run keeps categorical (a city's stage table has millions of rows)."""
LOG_TABLES = ("requests", "stages")
"""The per-request and per-hop logs: millions of rows, written by Arrow (identifiers only)."""
_LOG_TIMES = ("created_min", "completed_min", "response_min", "start_min", "end_min")
"""The logs' times: read back as floats, however a whole minute was written."""
_TIMES = {"requests": "created", "stages": "start"}
"""Tables that get clock and day columns, from their ``<prefix>_min`` column."""


# ---- tidy tables -------------------------------------------------------------------------------


def tidy(results: Results) -> Results:
    """``results`` with ordered variant categoricals and clock / day columns (a copy)."""
    order = pd.CategoricalDtype(results.variants, ordered=True)
    start = results.scenario.start_minutes
    changes = {}
    for name in [*TABLES, "sensitivity"]:
        if name == "stage_totals":  # stage_breakdown groups this one
            continue
        if name == "stages":  # tidied slice by slice, as it is read
            changes["stage_log"] = results.stage_log.map(
                functools.partial(_tidy_table, order=order, start=start, prefix=_TIMES[name]))
            continue
        table = getattr(results, name)
        if table is not None:
            changes[name] = _tidy_table(table, order, start, _TIMES.get(name))
    return dataclasses.replace(results, **changes)


def _tidy_table(table: pd.DataFrame, order: pd.CategoricalDtype, start: float,
                prefix: str | None) -> pd.DataFrame:
    """One table tidied: variant as ``order``, clock and day columns from ``<prefix>_min``."""
    table = table.copy()
    if "variant" in table and table["variant"].dtype != order:
        table["variant"] = table["variant"].astype(str).astype(order)
    if prefix and f"{prefix}_min" in table and f"{prefix}_day" not in table:
        day, clock = clock_columns(table[f"{prefix}_min"], start)
        at = table.columns.get_loc(f"{prefix}_min") + 1
        table.insert(at, f"{prefix}_clock", clock)
        table.insert(at, f"{prefix}_day", day)
    return table


def clock_columns(minutes: pd.Series, start: float) -> tuple[pd.Series, pd.Categorical]:
    """Day of the drill (1 = the day lockdown starts, by the clock) and ``HH:MM`` clock time."""
    since_midnight = start + minutes.to_numpy(dtype=float)
    whole = np.floor(np.nan_to_num(since_midnight, nan=0.0)).astype(np.int64)
    day = pd.Series(whole // 1440 + 1, index=minutes.index, dtype="int64")
    codes = np.where(np.isfinite(since_midnight), whole % 1440, -1)
    return day, pd.Categorical.from_codes(codes, categories=CLOCKS, ordered=True)


def plain(results: Results) -> Results:
    """``results`` as the command line makes them: no categoricals, no clock columns."""
    changes = {}
    for name in [*TABLES, "sensitivity"]:
        if name == "stages":  # made plain slice by slice, as it is written
            changes["stage_log"] = results.stage_log.map(_plain_table)
            continue
        table = getattr(results, name)
        if table is not None:
            changes[name] = _plain_table(table)
    return dataclasses.replace(results, **changes)


def _plain_table(table: pd.DataFrame) -> pd.DataFrame:
    """One table without clock columns, its variant column plain strings."""
    table = table.drop(columns=[f"{p}_{c}" for p in _TIMES.values() for c in ("day", "clock")],
                       errors="ignore")
    if "variant" in table and isinstance(table["variant"].dtype, pd.CategoricalDtype):
        table = table.assign(variant=table["variant"].astype(str))
    return table


# ---- a results folder --------------------------------------------------------------------------


def save(results: Results, out: str | Path, *, format: str = "csv",  # noqa: A002
         figures: bool = True, force: bool = False) -> Path:
    """Write the results folder (tables, summary, resolved scenario, figures, report)."""
    from sim.output import write_results

    return write_results(plain(results), out, figures=figures, force=force, format=format)


def load(folder: str | Path) -> Results:
    """Read a results folder written by ``save`` or the command line back into Results.

    The chains are rebuilt from the resolved scenario (the layout is a function of the
    seed). ``ScenarioError`` (one line) if the folder is not a complete results folder.
    """
    from sim.chain import build_chain, chain_for_variant
    from sim.experiment import Results
    from sim.overrides import variant_scenario
    from sim.scenario import load_scenario

    folder = Path(folder)
    scenario = load_scenario(folder / "scenario.resolved.yaml")
    tables = {name: read_table(folder, stem) for name, stem in TABLES.items()}
    missing = [TABLES[name] for name, table in tables.items()
               if table is None and name != "requests"]
    if missing:
        raise ScenarioError(f"{folder}: not a complete results folder (no {missing[0]} table; "
                            "write it again with this version)")
    names = list(dict.fromkeys(tables["costs"]["variant"].astype(str)))
    base = build_chain(scenario)
    chains = {}
    for name in names:
        own = variant_scenario(scenario, name)
        chains[name] = chain_for_variant(base, own, own.variants[0])
    for name, columns in LABELS.items():
        tables[name] = tables[name].astype({c: "category" for c in columns})
    tables["stage_log"] = StageStore.from_frame(tables.pop("stages"))
    kept = tables["requests"] is not None
    if not kept:
        tables["requests"] = pd.DataFrame(columns=["variant", "replication", "created_min"])
    from sim.coverage import FLOW_TABLES

    flow_tables = {stem: table for stem in FLOW_TABLES
                   if (table := read_table(folder, stem)) is not None}
    results = Results(scenario=scenario, chains=chains, kept_requests=kept,
                      sensitivity=read_table(folder, "sensitivity"), flow_tables=flow_tables,
                      **tables)
    return tidy(results)


SLICE_ROWS = 1_000_000
"""Rows rounded and converted at a time when a log is written: a city district's stage
log (tens of millions of rows) is then never copied whole."""


def write_table(table: pd.DataFrame | StageStore, folder: Path, stem: str,
                format: str) -> Path:  # noqa: A002
    """Write one table as ``stem.csv`` or ``stem.parquet``, floats rounded alike.

    The request and stage logs are rounded and converted :data:`SLICE_ROWS` rows at a
    time, so writing them holds only a slice twice; a :class:`StageStore`'s rows are
    read a slice at a time from the runs' files.
    """
    if format == "parquet":
        path = folder / f"{stem}.parquet"
        if stem in LOG_TABLES:
            _write_parquet_slices(table, path)
        else:
            _rounded(table).to_parquet(path, index=False, engine="pyarrow")
    elif format == "csv":
        path = folder / f"{stem}.csv"
        if stem not in LOG_TABLES or not _write_csv_arrow(table, path):
            whole = table.frame() if isinstance(table, StageStore) else table
            _rounded(whole).to_csv(path, index=False)
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    return path


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its floats rounded to the results' decimals (a copy of those columns)."""
    from sim.output import DECIMALS

    floats = table.select_dtypes("float").columns
    return table.assign(**{c: table[c].round(DECIMALS) for c in floats})


def _frame_slices(table: pd.DataFrame | StageStore) -> Iterator[pd.DataFrame]:
    """``table`` as frames of at most :data:`SLICE_ROWS` rows (one, empty, if it has none)."""
    if isinstance(table, StageStore):
        yield from table.slices(SLICE_ROWS)
        return
    for first in range(0, max(len(table), 1), SLICE_ROWS):
        yield table.iloc[first:first + SLICE_ROWS]


def _write_slices(table: pd.DataFrame | StageStore, open_writer) -> None:
    """Write ``table`` slice by slice, rounded, to the Arrow writer ``open_writer(schema)`` opens.

    Label columns are written as dictionaries with 32-bit indices: slices read from
    different runs' files have different categories, and the writer needs one schema.
    """
    import pyarrow as pa

    writer = schema = None
    try:
        for frame in _frame_slices(table):
            part = pa.Table.from_pandas(_rounded(frame), preserve_index=False)
            if writer is None:
                schema = pa.schema(
                    [pa.field(f.name, pa.dictionary(pa.int32(), f.type.value_type))
                     if pa.types.is_dictionary(f.type) else f for f in part.schema],
                    metadata=part.schema.metadata)
                writer = open_writer(schema)
            writer.write_table(part.cast(schema))
    finally:
        if writer is not None:
            writer.close()


def _write_parquet_slices(table: pd.DataFrame | StageStore, path: Path) -> None:
    """Write ``table`` as Parquet, a row group per slice."""
    from pyarrow import parquet

    _write_slices(table, lambda schema: parquet.ParquetWriter(path, schema))


def _write_csv_arrow(table: pd.DataFrame | StageStore, path: Path) -> bool:
    """Write ``table`` with Arrow's CSV writer (multi-threaded, ~7x pandas'); False if it can't.

    Values are not quoted: a label that would need quotes (a comma, a quote, a line
    break) makes Arrow refuse, and the caller writes the table with pandas instead.
    Whole floats come out as ``420``, not ``420.0``; :func:`read_table` reads the
    log's time columns as floats either way.
    """
    import pyarrow as pa
    from pyarrow import csv

    options = csv.WriteOptions(quoting_style="none", quoting_header="none")
    try:
        _write_slices(table, lambda schema: csv.CSVWriter(path, schema, write_options=options))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        path.unlink(missing_ok=True)
        return False
    return True


def read_table(folder: Path, stem: str) -> pd.DataFrame | None:
    """The table ``stem`` of a results folder in whichever format it was written, or None."""
    if (folder / f"{stem}.parquet").exists():
        return pd.read_parquet(folder / f"{stem}.parquet", engine="pyarrow")
    if (folder / f"{stem}.csv").exists():
        return pd.read_csv(folder / f"{stem}.csv", keep_default_na=True,
                           dtype={"household": str, "grid": str, "node": str, "area": str,
                                  **dict.fromkeys(_LOG_TIMES, float)})
    return None


# ---- reprs -------------------------------------------------------------------------------------


def text_repr(results: Results) -> str:
    """One glance: scenario, variants, replications, requests, conservation, tables."""
    scenario = results.scenario
    requests = (f"{len(results.requests):,} requests" if results.kept_requests
                else "request rows not kept")
    balanced = (bool(results.conservation["balanced"].all())
                if len(results.conservation) else True)
    tables = [n for n in ("summary", "requests", "stages", "stage_breakdown", "heads",
                          "resources", "costs", "conservation", "per_replication")]
    if results.sensitivity is not None:
        tables.append("sensitivity")
    return (f"<sim.Results {scenario.name!r}: {len(results.variants)} variant(s) "
            f"({', '.join(results.variants)}) × {scenario.replications} replication(s), "
            f"seed {scenario.seed}; {requests}, "
            f"{'every request accounted for' if balanced else 'CONSERVATION FAILED'}; "
            f"tables: {', '.join(tables)}; figures: .plot>")


def html_repr(results: Results) -> str:
    """The text repr and the summary of all households, as an HTML table for notebooks."""
    summary = results.summary
    if len(summary):
        summary = summary[summary["household_group"] == "all"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            row.variant, row.flow, row.kind, f"{row.n:,.0f}", _pm(row.mean, row.mean_hw),
            _pm(row.p95, row.p95_hw),
            "-" if row.within_target != row.within_target else f"{row.within_target:.0%}"))
        + "</tr>" for row in summary.itertuples())
    head = "".join(f"<th>{h}</th>" for h in ("variant", "flow", "kind", "n", "mean (min)",
                                              "p95 (min)", "within target"))
    return (f"<p>{html.escape(text_repr(results))}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            "<p>mean over replications ± 95% CI half-width; completed requests</p>")


def _pm(value: float, half_width: float) -> str:
    if value != value:
        return "-"
    return f"{value:.1f}" if half_width != half_width else f"{value:.1f} ± {half_width:.1f}"
