"""Sensitivity: how the headline comparison moves when each assumption moves over its range.

The scenario's ``sensitivity:`` block names two variants (the comparison is the
first minus the second, paired by replication), the statistics to compare, and
the assumptions: a key by dotted path (or several that move together) with a low
and a high value. For each
assumption and each end, both variants run again with that one key set (over the
variants' own ``set:``), on the same seeds, for a few replications; the runs go
through the same executor as the main runs. :func:`table` gives the paired
difference per flow × kind × statistic at each end, beside the base (the scenario
as given, on the same replications: the main run's); :func:`verdicts` says whether
the sign of each comparison holds over every range (robust) or flips, or loses its
interval, inside one (fragile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import yaml

from sim import metrics
from sim.model import RunRecords
from sim.overrides import dump, variant_scenario, with_set
from sim.scenario import Scenario

ENDS = ("low", "high")
COLUMNS = ["assumption", "note", "end", "value", "flow", "kind", "metric", "difference",
           "half_width", "pairs"]
ROBUST, FRAGILE, UNCLEAR = "robust", "fragile", "no clear difference"


@dataclass
class Plan:
    """The extra runs of a sensitivity analysis and what each variant stands for."""

    scenario: Scenario
    tasks: list[tuple] = field(default_factory=list)
    ends: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    """Variant name → (assumption index, end, position in ``compare``)."""


def plan(scenario: Scenario, names: list[str]) -> Plan | None:
    """The runs to make, or ``None`` without a block or when a compared variant is not run."""
    block = scenario.sensitivity
    if block is None or not set(block.compare) <= set(names):
        return None
    variants, ends = [], {}
    for k, assumption in enumerate(block.assumptions):
        for end in ENDS:
            for position, name in enumerate(block.compare):
                made = with_set(scenario.variant(name),
                                assumption.at(end),
                                name=f"{name}+sensitivity{k}-{end}")
                variants.append(made)
                ends[made.name] = (k, end, position)
    # Already validated with the scenario (every end of every assumption): copy, no re-check.
    expanded = scenario.model_copy(update={"variants": [*scenario.variants, *variants]})
    result = Plan(expanded, ends=ends)
    # The base is the main run on the same replications; run those it lacks.
    result.tasks = [(scenario, name, rep, False, False) for name in block.compare
                    for rep in range(scenario.replications, block.replications)]
    result.tasks += [(expanded, v.name, rep, False, False)
                     for v in variants for rep in range(block.replications)]
    return result


def table(plan: Plan, results: object, runs: list[RunRecords]) -> pd.DataFrame:
    """Paired differences (first minus second) per assumption, end, flow, kind and statistic.

    ``results`` are the main run's; the ``base`` rows pair its replications that the
    ends ran too (completed by ``runs`` where the main run has fewer).
    """
    block = plan.scenario.sensitivity
    assert block is not None
    per = pd.concat([results.per_replication,  # type: ignore[attr-defined]
                     *(run.extra["per_replication"] for run in runs)], ignore_index=True)
    per = per[(per["household_group"] == metrics.ALL)
              & (per["replication"] < block.replications)]
    base = per
    first, second = block.compare
    keys = _flow_kinds(plan.scenario, pd.concat([per, base]))
    reference = dump(variant_scenario(plan.scenario, first))
    rows = []
    for k, assumption in enumerate(block.assumptions):
        for end in ("low", "base", "high"):
            if end == "base":
                part, a, b = base, first, second
                value = " / ".join(_as_run(reference, key) for key in assumption.at("low"))
            else:
                part = per
                a, b = (f"{name}+sensitivity{k}-{end}" for name in block.compare)
                value = getattr(assumption, end)
            for flow, kind in keys:
                for metric in block.metrics:
                    difference, half_width, pairs = paired(part, a, b, flow, kind, metric)
                    rows.append([assumption.label, assumption.note, end, value_text(value), flow,
                                 kind, metric, difference, half_width, pairs])
    return pd.DataFrame(rows, columns=COLUMNS)


def paired(per: pd.DataFrame, first: str, second: str, flow: str, kind: str,
           metric: str) -> tuple[float, float, int]:
    """Mean and 95% half-width of ``metric`` of ``first`` minus ``second``, by replication."""
    part = per[(per["flow"] == flow) & (per["kind"] == kind)]

    def values(name: str) -> pd.Series:
        return part[part["variant"] == name].set_index("replication")[metric].astype(float)

    both = pd.concat([values(first), values(second)], axis=1, join="inner").dropna()
    if both.empty:
        return math.nan, math.nan, 0
    difference, half_width = metrics.mean_ci((both.iloc[:, 0] - both.iloc[:, 1]).to_numpy())
    return difference, half_width, len(both)


@dataclass(frozen=True)
class Reason:
    """An end of an assumption's range where the comparison does not hold as at the base."""

    why: str  # "flips", "includes zero", "no data", or "real" (where the base is unclear)
    assumption: str
    end: str
    value: str
    difference: float
    half_width: float


@dataclass(frozen=True)
class Verdict:
    """Whether one comparison (flow × kind × statistic) holds over every assumption's range."""

    flow: str
    kind: str
    metric: str
    status: str
    difference: float
    half_width: float
    reasons: tuple[Reason, ...] = ()


def verdicts(sensitivity: pd.DataFrame) -> list[Verdict]:
    """Robust, fragile or no clear difference, per flow × kind × statistic.

    Robust: the base difference is real (its interval excludes zero) and stays real
    with the same sign at both ends of every assumption. Fragile: real at the base,
    but at some end it flips sign or its interval includes zero (named in
    ``reasons``). No clear difference: the base interval includes zero (``reasons``
    names the ends where a real difference appears).
    """
    found = []
    groups = sensitivity.groupby(["flow", "kind", "metric"], sort=False)
    for (flow, kind, metric), part in groups:
        base = part[part["end"] == "base"].iloc[0]
        sign = _sign(base["difference"], base["half_width"])
        reasons = []
        for row in part[part["end"] != "base"].itertuples():
            here = _sign(row.difference, row.half_width)
            if sign == 0:
                why = "real" if here != 0 else ""
            elif not math.isfinite(row.difference):
                why = "no data"
            else:
                why = "flips" if here == -sign else "includes zero" if here == 0 else ""
            if why:
                reasons.append(Reason(why, row.assumption, row.end, row.value,
                                      float(row.difference), float(row.half_width)))
        status = UNCLEAR if sign == 0 else FRAGILE if reasons else ROBUST
        found.append(Verdict(str(flow), str(kind), str(metric), status,
                             float(base["difference"]), float(base["half_width"]),
                             tuple(reasons)))
    return found


def _sign(difference: float, half_width: float) -> int:
    """+1 or -1 when the interval excludes zero, else 0 (a single pair gives no interval)."""
    if not (math.isfinite(difference) and math.isfinite(half_width)):
        return 0
    if abs(difference) <= half_width:
        return 0
    return int(np.sign(difference))


def _flow_kinds(scenario: Scenario, per: pd.DataFrame) -> list[tuple[str, str]]:
    found = [key for key in metrics.targets(scenario)
             if ((per["flow"] == key[0]) & (per["kind"] == key[1])).any()]
    extra = set(map(tuple, per[["flow", "kind"]].drop_duplicates().to_numpy())) - set(found)
    return found + sorted(extra)


def _as_run(document: object, path: str) -> str:
    """The value at ``path`` of the resolved document, as text (a fixed time in minutes)."""
    for part in path.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    if isinstance(document, dict) and document.get("dist") == "fixed":
        return f"{document['value']:g}min"  # resolved times are minutes
    return value_text(document)


def value_text(value: object) -> str:
    """A value as the file would write it (mappings in flow style)."""
    if isinstance(value, (dict, list)):  # the file's flow style: {share: 0.4, hours: ...}
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False,
                              width=10**6).strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
