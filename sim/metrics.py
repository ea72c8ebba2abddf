"""Event log → pandas tables, and summaries with confidence intervals.

A drill is a terminating simulation: every metric is computed per replication
(over requests created after the warm-up), then reported as the mean across
replications with a Student-t 95% half-width. Response statistics cover completed
requests; the share within target counts every request created at least one
target before the horizon (so late requests still in flight do not count against
it), abandoned and in-flight ones as misses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.log import ABANDON_REASONS, COMPLETED, IN_FLIGHT
from sim.model import HEAD_COLUMNS, REQUEST_COLUMNS, RunRecords
from sim.scenario import Scenario
from sim.scenario_flows import flow_targets
from sim.stage_store import Part
from sim.stage_store import join as join_stages

KEYS = ["variant", "replication"]
GROUP_KEYS = ["variant", "flow", "kind", "household_group"]
QUANTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}
STATISTICS = ["mean", *QUANTILES, "max", "within_target"]
ALL = "all"


def requests_frame(runs: Iterable[RunRecords], strings: bool = True,
                   consume: bool = False) -> pd.DataFrame:
    """One row per request, with its response time (completed requests only).

    Labels come back as plain strings (object columns), as the analysts' tables had them,
    or with ``strings=False`` categorical as the runs keep them (a worker's reduction).
    The table is joined column by column; ``consume`` takes each column out of the runs
    once joined (each run keeps an empty table): a city's millions of rows are then
    held about once, not twice.
    """
    runs = [run for run in runs if len(run.requests)]
    if runs:
        columns: dict[str, pd.Series] = {}
        keys = [_keyed(run, run.requests.iloc[:, :0]) for run in runs]
        for name in KEYS:
            columns[name] = pd.concat([key[name] for key in keys], ignore_index=True)
        del keys
        for name in list(runs[0].requests.columns):
            column = pd.concat([run.requests[name] for run in runs], ignore_index=True)
            if strings and isinstance(column.dtype, pd.CategoricalDtype):
                column = column.astype(object)
            columns[name] = column
            if consume:
                for run in runs:
                    run.requests = run.requests.drop(columns=name)
        table = pd.DataFrame(columns, copy=False)
        if consume:
            for run in runs:
                run.requests = run.requests.iloc[:0]
    else:
        table = _empty(REQUEST_COLUMNS)
    table["response_min"] = np.where(table["status"] == COMPLETED,
                                     table["completed_min"] - table["created_min"], np.nan)
    order = [*KEYS, "request_id", "flow", "kind", "household", "household_group", "area", "grid",
             "created_min", "completed_min", "response_min", "status"]
    return table[order]


def stages_frame(runs: Iterable[RunRecords], consume: bool = False) -> pd.DataFrame:
    """One row per stage of a request (hop by hop), ``variant`` and ``replication`` in front.

    ``variant``, ``stage`` and ``node`` are categorical, so millions of rows stay compact.
    ``consume`` takes the rows out of the runs column by column (each run keeps an empty
    table): a city's log is then held about once while it is joined, not twice.
    """
    runs = list(runs)
    empties = [run.stages.iloc[:0] for run in runs]
    joined = join_stages([(run.variant, run.replication, run.stages) for run in runs],
                         consume=consume)
    if consume:
        for run, empty in zip(runs, empties, strict=True):
            run.stages = empty
    return joined


def heads_frame(runs: Iterable[RunRecords], beside: bool = False) -> pd.DataFrame:
    """The books of every head per run (or of the depot, vehicles, dispatch, ambulances)."""
    frames = [_frame(run, run.resources if beside else run.heads, HEAD_COLUMNS) for run in runs]
    return pd.concat(frames, ignore_index=True) if frames else _empty((*KEYS, *HEAD_COLUMNS))


def stage_totals(run: RunRecords, scenario: Scenario,
                 requests: pd.DataFrame | None = None) -> pd.DataFrame:
    """Minutes per stage summed over the run's completed, post-warm-up requests.

    Compact enough to keep for every run when the full stage log is not kept.
    ``requests`` is the run's :func:`requests_frame`, if already built. The stage rows
    are read a chunk at a time, from the run's stage file when it wrote one, and
    summed in row order (``np.add.at``): the same sums however the rows are chunked,
    so a run gives the same totals whether its rows come back in memory or in a file.
    """
    if requests is None:
        requests = requests_frame([run])
    counted = requests[(requests["status"] == COMPLETED)
                       & (requests["created_min"] >= scenario.warmup)]
    # Request ids are positions in the run's request table: look the stages' requests up.
    ids = requests["request_id"].to_numpy(dtype=np.int64)
    position = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int32)
    position[counted["request_id"].to_numpy(dtype=np.int64)] = np.arange(len(counted))
    labels = pd.MultiIndex.from_arrays([counted["flow"].astype(object),
                                        counted["kind"].astype(object)])
    pair, pairs = pd.factorize(labels)
    pair = pair.astype(np.int64)
    path, rows = run.extra.get("stage_file", (None, 0))
    part = Part(run.variant, run.replication, rows, path) if path else \
        Part(run.variant, run.replication, len(run.stages), run.stages)
    chunks, names = part.codes()
    # Sum by small integer keys (flow and kind of the request, stage), then name them.
    stage_slot: dict[int, int] = {}  # a stage name's code -> its column in the sums
    sums = np.zeros((len(pairs), 16))
    rows_in = np.zeros((len(pairs), 16), dtype=np.int64)
    for rid, stage, start, end in chunks:
        at = position[rid] if len(rid) else np.zeros(0, np.int32)
        kept = at >= 0
        codes, local = np.unique(stage[kept], return_inverse=True)
        for code in codes.tolist():
            stage_slot.setdefault(code, len(stage_slot))
        if len(stage_slot) > sums.shape[1]:  # more stage names than columns: widen
            wider = ((0, 0), (0, len(stage_slot)))
            sums, rows_in = np.pad(sums, wider), np.pad(rows_in, wider)
        width = sums.shape[1]
        slot = np.array([stage_slot[c] for c in codes.tolist()], dtype=np.int64)
        key = pair[at[kept]] * width + slot[local.reshape(-1)]
        np.add.at(sums.reshape(-1), key, end[kept] - start[kept])
        rows_in += np.bincount(key, minlength=rows_in.size).reshape(rows_in.shape)
    width = sums.shape[1]
    sums, rows_in = sums.reshape(-1), rows_in.reshape(-1)
    slots = sorted(stage_slot, key=stage_slot.get)
    used = np.flatnonzero(rows_in)
    totals = pd.DataFrame({
        "flow": np.array([pairs[k][0] for k in used // width], dtype=object),
        "kind": np.array([pairs[k][1] for k in used // width], dtype=object),
        "stage": np.array([names[slots[k]] for k in used % width], dtype=object),
        "minutes": sums[used]})
    totals = totals.sort_values(["flow", "kind", "stage"]).reset_index(drop=True)
    counts = labels.to_frame(index=False, name=["flow", "kind"]).groupby(
        ["flow", "kind"]).size().rename("requests").reset_index()
    totals = totals.merge(counts, on=["flow", "kind"])
    totals.insert(0, "replication", run.replication)
    totals.insert(0, "variant", run.variant)
    return totals


def stage_breakdown(totals: pd.DataFrame) -> pd.DataFrame:
    """Mean minutes per request spent in each stage, per variant, flow and kind."""
    totals = totals.assign(per_request=totals["minutes"] / totals["requests"])
    grouped = totals.groupby(["variant", "flow", "kind", "stage"], sort=False)
    return grouped["per_request"].mean().rename("mean_min").reset_index()


def targets(scenario: Scenario) -> dict[tuple[str, str], float]:
    """Target response time in minutes per (flow, kind)."""
    found = {("supply", "order"): scenario.supply.target,
             ("supply", "package"): scenario.supply.packages.target}
    for name, severity in scenario.emergency.severities.items():
        found[("emergency", name)] = severity.target
    found.update(flow_targets(scenario))  # notices, feedback, testing (sim/scenario_flows.py)
    return found


def replication_metrics(requests: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Per replication, flow, kind and household group (plus ``all``): counts and statistics."""
    # Only the columns the statistics read: the groups' copies of a city's two million
    # rows then stay small.
    needed = [*GROUP_KEYS, "replication", "status", "created_min", "response_min"]
    counted = requests.loc[requests["created_min"] >= scenario.warmup, needed]
    goal = targets(scenario)
    rows = []
    # Each household group, then every group together (``all``): the order of first
    # appearance within each, as one grouping over both would give.
    for keys, group in (([*GROUP_KEYS, "replication"], None),
                        (["variant", "flow", "kind", "replication"], ALL)):
        for values, part in counted.groupby(keys, sort=False, observed=True):
            found = dict(zip(keys, values, strict=True))
            flow, kind = found["flow"], found["kind"]
            target = goal.get((flow, kind), np.nan)
            rows.append({"variant": found["variant"], "flow": flow, "kind": kind,
                         "household_group": group or found["household_group"],
                         "replication": found["replication"], "target_min": target,
                         **_counts(part), **_statistics(part, target, scenario.horizon)})
    return pd.DataFrame(rows)


def summarise(per_replication: pd.DataFrame, variant_order: Sequence[str],
              replications: int) -> pd.DataFrame:
    """Mean and 95% half-width across replications, one row per variant × flow × kind × group.

    Counts are averaged over all ``replications`` (a replication without such a request
    counts zero); statistics over the replications that completed at least one
    (``replications_with_data``).
    """
    rows = []
    for keys, part in per_replication.groupby(GROUP_KEYS, sort=False):
        row = dict(zip(GROUP_KEYS, keys, strict=True))
        row["replications_with_data"] = int((part["n"] > 0).sum())
        row["target_min"] = part["target_min"].iloc[0]
        for column in ("created", "completed", "in_flight", "abandoned", "n"):
            row[column] = part[column].sum() / replications
        row["conserved"] = bool(part["conserved"].all())
        for name in STATISTICS:
            row[name], row[f"{name}_hw"] = mean_ci(part[name].to_numpy())
        rows.append(row)
    summary = pd.DataFrame(rows)
    if summary.empty:
        return summary
    rank = {name: k for k, name in enumerate(variant_order)}
    summary["_rank"] = summary["variant"].map(rank)
    summary["_all"] = summary["household_group"] != ALL
    summary = summary.sort_values(["_rank", "flow", "kind", "_all", "household_group"],
                                  kind="stable")
    return summary.drop(columns=["_rank", "_all"]).reset_index(drop=True)


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean of the finite values and the Student-t half-width (NaN with fewer than two)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan")
    sem = float(values.std(ddof=1)) / np.sqrt(len(values))
    return mean, float(stats.t.ppf((1 + confidence) / 2, len(values) - 1) * sem)


def _counts(part: pd.DataFrame) -> dict:
    """Created = completed + in flight + abandoned (for a known reason)."""
    status = part["status"]
    created = len(part)
    completed = int((status == COMPLETED).sum())
    in_flight = int((status == IN_FLIGHT).sum())
    abandoned = int(status.isin(ABANDON_REASONS).sum())
    return {"created": created, "completed": completed, "in_flight": in_flight,
            "abandoned": abandoned, "conserved": created == completed + in_flight + abandoned}


def conservation(runs: Iterable[RunRecords],
                 requests: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per run, flow and kind: arrivals drawn by the demand against requests in the log.

    ``balanced`` holds when every arrival became a request and every request is
    completed, in flight, or abandoned for a known reason. ``requests`` is the
    runs' :func:`requests_frame`, if already built.
    """
    runs = list(runs)
    if requests is None:
        requests = requests_frame(runs)
    # Rows come run after run (requests_frame's order): number them by run.
    run_of = np.repeat(np.arange(len(runs)), [len(run.requests) for run in runs])
    status = requests["status"]
    flags = pd.DataFrame({"_run": run_of, "flow": requests["flow"], "kind": requests["kind"],
                          "created": 1, "completed": status.eq(COMPLETED).to_numpy(),
                          "in_flight": status.eq(IN_FLIGHT).to_numpy(),
                          "abandoned": status.isin(ABANDON_REASONS).to_numpy()})
    counts = flags.groupby(["_run", "flow", "kind"]).sum()
    expected = pd.DataFrame(
        [(k, flow, kind, count)
         for k, run in enumerate(runs)
         for (flow, kind), count in run.extra.get("arrivals", {}).items()],
        columns=["_run", "flow", "kind", "arrivals"]).set_index(["_run", "flow", "kind"])
    table = expected.join(counts, how="outer").fillna(0).astype(int).reset_index()
    table = table.sort_values(["_run", "flow", "kind"], kind="stable")
    table.insert(0, "replication", [runs[k].replication for k in table["_run"]])
    table.insert(0, "variant", [runs[k].variant for k in table["_run"]])
    table["balanced"] = (
        (table["created"] == table["completed"] + table["in_flight"] + table["abandoned"])
        & (table["created"] == table["arrivals"]))
    columns = [*KEYS, "flow", "kind", "arrivals", "created", "completed", "in_flight",
               "abandoned", "balanced"]
    return table[columns].reset_index(drop=True)


def _statistics(part: pd.DataFrame, target: float, horizon: float) -> dict:
    response = part["response_min"].to_numpy()
    done = response[np.isfinite(response)]
    result = {"n": len(done)}
    if len(done):
        result["mean"] = float(done.mean())
        percentiles = np.percentile(done, list(QUANTILES.values()))
        result.update(zip(QUANTILES, map(float, percentiles), strict=True))
        result["max"] = float(done.max())
    else:
        result.update({name: np.nan for name in ["mean", *QUANTILES, "max"]})
    judged = part[part["created_min"] <= horizon - target]
    if len(judged) and np.isfinite(target):
        hit = judged["response_min"].to_numpy() <= target
        result["within_target"] = float(hit.mean())
    else:
        result["within_target"] = np.nan
    return result


def _keyed(run: RunRecords, table: pd.DataFrame) -> pd.DataFrame:
    """A run's table with its variant and replication in front."""
    table = table.copy(deep=False)
    table.insert(0, "replication", run.replication)
    table.insert(0, "variant", run.variant)
    return table


def _frame(run: RunRecords, rows: list[tuple], columns: Sequence[str]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(columns))
    table.insert(0, "replication", run.replication)
    table.insert(0, "variant", run.variant)
    return table


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in [*KEYS, *columns]})
