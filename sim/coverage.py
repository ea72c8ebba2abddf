"""Tables of the flows that reach every household: notices and testing rounds.

Notices. Per run (in the worker, like the other per-replication statistics): for each notice
issue and household group (and ``all``), the minutes from issue until 50, 90 and
100% of the households knew (NaN when that share was never reached by the horizon)
and the share that knew by the horizon; and the coverage curve, the share of
households knowing at each minute after issue (every issue pooled). Across
replications: means with Student-t 95% half-widths (:func:`sim.metrics.mean_ci`).

Testing rounds. Per run and round: the round's duration (start to the last household
tested in it), the share tested within the round, the wait for a table (mean, p95,
and the mean at the worst point), when the last make-up test was done, and the
households never tested (neither in the round nor by a make-up) by the horizon;
and the longest queue at each point per ``QUEUE_BIN`` minutes (first replication).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import metrics
from sim.log import COMPLETED
from sim.model import RunRecords
from sim.scenario import Scenario

SHARES = {"t50": 0.5, "t90": 0.9, "t100": 1.0}
QUEUE_BIN = 10.0
TESTING_METRICS = ("round_duration_min", "tested_in_round_share", "wait_mean_min",
                   "wait_p95_min", "worst_point_wait_min", "makeup_done_min", "never_tested")
FLOW_TABLES = ("coverage", "coverage_curve", "testing", "testing_queue")
"""The tables these flows add to a results folder (each only when its flow ran)."""
CURVE_POINTS = 241
CURVE_SPAN = 3.0  # the curve runs to this many notice targets after issue


def per_run(records: RunRecords, requests: pd.DataFrame,
            scenario: Scenario) -> dict[str, pd.DataFrame]:
    """The notice and testing tables of one run (none for flows that are off).

    Takes the testing flow's own records out of ``records.extra`` (they are reduced here).
    """
    tables = _notices(requests, scenario)
    trace = records.extra.pop("testing", None)
    if trace is not None:
        tables.update(_testing(requests, trace, records, scenario))
    return tables


def _notices(requests: pd.DataFrame, scenario: Scenario) -> dict[str, pd.DataFrame]:
    notices = requests[requests["flow"] == "notice"]
    if notices.empty or scenario.notice is None:
        return {}
    rows = []
    both = pd.concat([notices, notices.assign(household_group=metrics.ALL)], ignore_index=True)
    issues = {at: k + 1 for k, at in enumerate(sorted(notices["created_min"].unique()))}
    for (variant, replication, created, group), part in both.groupby(
            ["variant", "replication", "created_min", "household_group"], sort=True):
        times = np.sort(np.nan_to_num(part["response_min"].to_numpy(), nan=np.inf))
        row = {"variant": variant, "replication": replication, "issue": issues[created],
               "issued_min": created, "household_group": group, "households": len(times)}
        for name, share in SHARES.items():
            value = times[max(int(np.ceil(share * len(times))) - 1, 0)]
            row[f"{name}_min"] = value if np.isfinite(value) else np.nan
        row["known_share"] = float(np.isfinite(times).mean())
        rows.append(row)
    grid = np.linspace(0.0, CURVE_SPAN * scenario.notice.target, CURVE_POINTS)
    curves = []
    for (variant, replication), part in notices.groupby(["variant", "replication"], sort=True):
        times = np.sort(np.nan_to_num(part["response_min"].to_numpy(), nan=np.inf))
        share = np.searchsorted(times, grid, side="right") / len(times)
        curves.append(pd.DataFrame({"variant": variant, "replication": replication,
                                    "minutes_after_issue": grid, "known_share": share}))
    return {"coverage": pd.DataFrame(rows), "coverage_curve": pd.concat(curves)}


def _testing(requests: pd.DataFrame, trace: dict, records: RunRecords,
             scenario: Scenario) -> dict[str, pd.DataFrame]:
    testing = requests[requests["flow"] == "testing"]
    rounds = testing[testing["kind"] == "round"]
    makeups = testing[testing["kind"] == "makeup"]
    waits = trace["waits"]  # round, point, wait_min
    rows = []
    for k, (start, part) in enumerate(rounds.groupby("created_min", sort=True)):
        done = part[part["status"] == COMPLETED]
        mine = waits[waits["round"] == k]
        households = set(part["household"])
        later = makeups[(makeups["created_min"] >= start)
                        & makeups["household"].isin(households)]
        if k + 1 < len(scenario.testing.at):
            later = later[later["created_min"] < scenario.testing.at[k + 1]]
        made = later[later["status"] == COMPLETED]
        finished = (later["status"] == COMPLETED).all() and len(later)
        row = {"variant": records.variant, "replication": records.replication, "round": k + 1,
               "started_min": start, "households": len(part),
               "round_duration_min": (done["completed_min"].max() - start) if len(done)
               else np.nan,
               "tested_in_round_share": len(done) / len(part),
               "wait_mean_min": mine["wait_min"].mean() if len(mine) else np.nan,
               "wait_p95_min": float(np.percentile(mine["wait_min"], 95)) if len(mine)
               else np.nan,
               "worst_point_wait_min": mine.groupby("point")["wait_min"].mean().max()
               if len(mine) else np.nan,
               "makeup_done_min": (made["completed_min"].max() - start) if finished
               else np.nan,
               "never_tested": len(part) - len(done) - len(made)}
        rows.append(row)
    tables = {"testing": pd.DataFrame(rows)}
    if records.replication == 0 and len(trace["queue"]):
        queue = trace["queue"].copy()  # point, time_min, queue
        queue["time_min"] = (queue["time_min"] // QUEUE_BIN) * QUEUE_BIN
        queue = queue.groupby(["point", "time_min"], sort=True)["queue"].max().reset_index()
        queue.insert(0, "variant", records.variant)
        tables["testing_queue"] = queue
    return tables


def gather(runs: Sequence[dict[str, pd.DataFrame]],
           variant_order: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Across replications: the notice and testing tables, means and half-widths."""
    found: dict[str, pd.DataFrame] = {}
    rank = {name: k for k, name in enumerate(variant_order)}
    testing = [run["testing"] for run in runs if "testing" in run]
    if testing:
        per_rep = pd.concat(testing, ignore_index=True)
        rows = []
        for (variant, k), part in per_rep.groupby(["variant", "round"], sort=False):
            row = {"variant": variant, "round": k, "started_min": part["started_min"].iloc[0],
                   "households": int(part["households"].iloc[0]), "replications": len(part)}
            for name in TESTING_METRICS:
                row[name], row[f"{name}_hw"] = metrics.mean_ci(part[name].to_numpy(dtype=float))
            rows.append(row)
        table = pd.DataFrame(rows)
        found["testing"] = table.assign(_rank=table["variant"].map(rank)).sort_values(
            ["_rank", "round"], kind="stable").drop(columns="_rank").reset_index(drop=True)
        queues = [run["testing_queue"] for run in runs if "testing_queue" in run]
        if queues:
            found["testing_queue"] = pd.concat(queues, ignore_index=True)
    tables = [run for run in runs if "coverage" in run]
    if not tables:
        return found
    rank = {name: k for k, name in enumerate(variant_order)}
    per_rep = pd.concat([t["coverage"] for t in tables], ignore_index=True)
    rows = []
    for (variant, issue, group), part in per_rep.groupby(
            ["variant", "issue", "household_group"], sort=False):
        row = {"variant": variant, "issue": issue, "issued_min": part["issued_min"].iloc[0],
               "household_group": group, "households": int(part["households"].iloc[0]),
               "replications": len(part)}
        for name in [*(f"{s}_min" for s in SHARES), "known_share"]:
            row[name], row[f"{name}_hw"] = metrics.mean_ci(part[name].to_numpy(dtype=float))
        row["replications_all_knew"] = int(part["t100_min"].notna().sum())
        rows.append(row)
    coverage = pd.DataFrame(rows)
    coverage = coverage.assign(_rank=coverage["variant"].map(rank),
                               _all=coverage["household_group"] != metrics.ALL)
    coverage = coverage.sort_values(["_rank", "issue", "_all", "household_group"], kind="stable")
    coverage = coverage.drop(columns=["_rank", "_all"]).reset_index(drop=True)
    curves = pd.concat([t["coverage_curve"] for t in tables], ignore_index=True)
    curve = (curves.groupby(["variant", "minutes_after_issue"], sort=False)["known_share"]
             .mean().reset_index())
    curve = curve.assign(_rank=curve["variant"].map(rank)).sort_values(
        ["_rank", "minutes_after_issue"], kind="stable").drop(columns="_rank")
    return {**found, "coverage": coverage, "coverage_curve": curve.reset_index(drop=True)}
