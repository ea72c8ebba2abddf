"""Tables of the flows that reach every household: how fast a notice spreads.

Per run (in the worker, like the other per-replication statistics): for each notice
issue and household group (and ``all``), the minutes from issue until 50, 90 and
100% of the households knew (NaN when that share was never reached by the horizon)
and the share that knew by the horizon; and the coverage curve, the share of
households knowing at each minute after issue (every issue pooled). Across
replications: means with Student-t 95% half-widths (:func:`sim.metrics.mean_ci`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import metrics
from sim.scenario import Scenario

SHARES = {"t50": 0.5, "t90": 0.9, "t100": 1.0}
CURVE_POINTS = 241
CURVE_SPAN = 3.0  # the curve runs to this many notice targets after issue


def per_run(requests: pd.DataFrame, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """Coverage rows and the coverage curve of one run (empty tables when no notice)."""
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


def gather(runs: Sequence[dict[str, pd.DataFrame]],
           variant_order: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Across replications: ``coverage`` (means and half-widths) and ``coverage_curve``."""
    tables = [run for run in runs if run]
    if not tables:
        return {}
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
    return {"coverage": coverage, "coverage_curve": curve.reset_index(drop=True)}
