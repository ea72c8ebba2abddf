"""The planner's answer: which design meets which target, the cheapest that meets all, and why not.

Pure functions on the result tables (no drawing, no HTML). A design (variant) meets a
target when the 95% interval of its share within target, across replications, lies at or
above the share the planner requires (``required_share`` beside each target in the
scenario); it does not when the interval lies below; otherwise (or with one replication,
or no case) the runs cannot tell. A failing target is traced to its binding bottleneck:
the stage where answered requests spend most time, and the resource (a level's heads, the
depot, the vans, the dispatch desk, the ambulances) that holds most of that stage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim import metrics
from sim.request_index import RequestIndex
from sim.scenario import LEVELS, Scenario
from sim.scenario_flows import flow_required_shares
from sim.stage_store import StageStore

MET, NOT_MET, UNSURE = "met", "not met", "can't tell"
TABLE_COLUMNS = ["variant", "flow", "kind", "target_min", "required_share", "within_target",
                 "within_target_hw", "verdict", "created", "censored", "few_cases"]
DEFAULT_REQUIRED = 0.9
"""Required share of a target whose flow states none (the scenario's own default)."""
MIN_CASES = 30
"""Fewer requests than this per replication and a share or a percentile rests on few cases."""
_RUN_KEYS = ["variant", "replication", "request_id"]
"""What names one request across runs: joins a hop to its request's flow and kind."""

RESOURCE_KEYS = {
    "ambulances": "emergency.ambulances.count",
    "dispatch": "emergency.dispatch.operators",
    "depot": "supply.depot.teams (or helpers.depot, supply.depot.stock)",
    "vehicles": "supply.vehicles.count",
    "households": "households.groups.*.contact_delay (how households reach a head)",
}
"""The scenario key a planner would change to relieve each resource (heads: heads.LEVEL.staff)."""
HOLDERS = {"travel": "ambulances", "walk": "ambulances", "dispatch": "dispatch",
           "depot": "depot", "bulk": "depot", "vehicle": "vehicles", "batch": "collection rounds",
           "contact": "households"}
"""Who holds a stage when the hop log does not say (stages done beside the chain)."""
WAITS = {"batch": "the collection rounds", "travel": "the ambulance drive"}
"""Stages that are a clock or a drive, whoever holds them: said so in the resource."""
IDLE = 0.5
"""A queue at heads busy less than this share of the horizon waits for off-duty hours."""
STAGE_KEYS = {"batch": "supply.cutoffs (collection rounds)",
              "travel": "emergency.ambulances.to_gate (a nearer station)"}
"""Stages that are a wait for a clock or a drive rather than a queue for people."""


@dataclass(frozen=True)
class Goal:
    """A target as the planner states it: ``required`` share within ``target`` minutes."""

    flow: str
    kind: str
    target: float
    required: float


@dataclass(frozen=True)
class Bottleneck:
    """Where the time of a flow and kind goes in one design."""

    variant: str
    stage: str
    minutes: float
    share_of_time: float
    resource: str
    utilisation: float
    key: str


@dataclass(frozen=True)
class Relief:
    """The design that does most for a target, against the reference, paired by replication."""

    variant: str
    reference_share: float
    share: float
    difference: float
    half_width: float
    meets: bool


@dataclass
class Decision:
    """Everything the decision section states."""

    goals: list[Goal]
    table: pd.DataFrame
    cheapest: str | None
    failing_everywhere: list[Goal]
    met_nowhere: list[Goal]
    reference: str | None
    failing: list[Goal] = field(default_factory=list)
    bottlenecks: dict[tuple[str, str], Bottleneck] = field(default_factory=dict)
    reliefs: dict[tuple[str, str], Relief | None] = field(default_factory=dict)
    censored: dict[str, float] = field(default_factory=dict)


def required_shares(scenario: Scenario) -> dict[tuple[str, str], float]:
    """The share within target the planner requires, per (flow, kind) (as ``metrics.targets``)."""
    found = {("supply", "order"): scenario.supply.required_share,
             ("supply", "package"): scenario.supply.packages.required_share}
    for name, severity in scenario.emergency.severities.items():
        found[("emergency", name)] = severity.required_share
    return found | flow_required_shares(scenario)  # notices, testing (sim/scenario_flows.py)


def goals(scenario: Scenario) -> list[Goal]:
    """Every target of the scenario in its order (supply, packages, severities as listed)."""
    required = required_shares(scenario)
    return [Goal(flow, kind, target, required.get((flow, kind), DEFAULT_REQUIRED))
            for (flow, kind), target in metrics.targets(scenario).items()]


def verdict(share: float, half_width: float, required: float) -> str:
    """Met when the 95% interval lies at or above ``required``, not met when below it."""
    if not math.isfinite(share) or not math.isfinite(half_width):
        return UNSURE
    if share - half_width >= required:
        return MET
    if share + half_width < required:
        return NOT_MET
    return UNSURE


def verdict_table(summary: pd.DataFrame, goal_list: Sequence[Goal],
                  variants: Sequence[str]) -> pd.DataFrame:
    """One row per design × target: share within target, its interval, verdict, cases, censoring.

    ``summary`` is the results' summary (the ``all`` household group is used).
    """
    overall = summary[summary["household_group"] == metrics.ALL] if len(summary) else summary
    rows = []
    for variant in variants:
        for goal in goal_list:
            part = overall[(overall["variant"] == variant) & (overall["flow"] == goal.flow)
                           & (overall["kind"] == goal.kind)] if len(overall) else overall
            row = part.iloc[0] if len(part) else None
            share = float(row["within_target"]) if row is not None else math.nan
            half = float(row["within_target_hw"]) if row is not None else math.nan
            created = float(row["created"]) if row is not None else 0.0
            in_flight = float(row["in_flight"]) if row is not None else 0.0
            rows.append({"variant": variant, "flow": goal.flow, "kind": goal.kind,
                         "target_min": goal.target, "required_share": goal.required,
                         "within_target": share, "within_target_hw": half,
                         "verdict": verdict(share, half, goal.required),
                         "created": created, "censored": in_flight / created if created else
                         math.nan, "few_cases": created < MIN_CASES})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def cheapest(table: pd.DataFrame, people: Mapping[str, int], heads: Mapping[str, int]
             ) -> str | None:
    """The design meeting every target with the fewest people (then heads, then listed first)."""
    if table.empty:
        return None
    meets = table.groupby("variant", sort=False)["verdict"].apply(lambda v: (v == MET).all())
    winners = [v for v, ok in meets.items() if ok]
    if not winners:
        return None
    order = {v: i for i, v in enumerate(meets.index)}
    return min(winners, key=lambda v: (people.get(v, 0), heads.get(v, 0), order[v]))


def _goals_where(table: pd.DataFrame, goal_list: Sequence[Goal],
                 test: Callable[[pd.Series], bool]) -> list[Goal]:
    found = []
    for goal in goal_list:
        part = table[(table["flow"] == goal.flow) & (table["kind"] == goal.kind)]
        if len(part) and test(part["verdict"]):
            found.append(goal)
    return found


def bottleneck(breakdown: pd.DataFrame, stages: pd.DataFrame | StageStore,
               heads: pd.DataFrame, resources: pd.DataFrame, variant: str, flow: str, kind: str, *,
               requests: pd.DataFrame | RequestIndex | None = None) -> Bottleneck | None:
    """The stage where answered requests of (flow, kind) spend most time, and who holds it.

    ``breakdown`` is the stage breakdown (mean minutes per stage); ``stages`` the hop log
    (kept runs, a frame or its store) names the node of each hop, hence the resource;
    ``heads`` and ``resources`` give that resource's mean utilisation. A hop log without
    ``flow`` and ``kind`` columns takes them from ``requests``, for the hops of that stage
    only (a city's log is tens of millions of rows: joining all of it would hold it twice).
    """
    part = breakdown[(breakdown["variant"] == variant) & (breakdown["flow"] == flow)
                     & (breakdown["kind"] == kind)] if len(breakdown) else breakdown
    if part.empty or not part["mean_min"].sum() > 0:
        return None
    top = part.loc[part["mean_min"].idxmax()]
    stage, minutes = str(top["stage"]), float(top["mean_min"])
    resource = _resource(stages, variant, flow, kind, stage, requests)
    busy = _utilisation(heads, resources, variant, resource)
    key = _key(stage, resource)
    if stage == "queue" and resource.endswith(" heads") and busy < IDLE:
        key = (f"heads.{resource[:-6]}.off_duty (the wait is for heads off duty, "
               "not for busy ones)")
    if stage in WAITS:
        resource = f"{WAITS[stage]} ({resource})" if resource != HOLDERS[stage] else WAITS[stage]
    return Bottleneck(variant, stage, minutes, minutes / float(part["mean_min"].sum()),
                      resource, busy, key)


def _resource(stages: pd.DataFrame | StageStore, variant: str, flow: str, kind: str, stage: str,
              requests: pd.DataFrame | RequestIndex | None = None) -> str:
    """The resource holding most of ``stage``: a level's heads, or a station beside the chain."""
    unknown = HOLDERS.get(stage, "unknown (no such hop in the kept stage log)")
    if stages is None or stages.empty:
        return unknown
    if isinstance(stages, StageStore):
        same = stages.select(variant, stage)
    else:
        same = stages[(stages["variant"] == variant) & (stages["stage"] == stage)]
    if "flow" not in same:
        if requests is None or len(requests.requests if isinstance(requests, RequestIndex)
                                   else requests) == 0:
            return unknown
        index = requests if isinstance(requests, RequestIndex) else RequestIndex(requests)
        labelled = index.labels(variant, same)
        if labelled is None:  # a table not laid out run by run: join the hops' requests
            table = index.requests
            wanted = (table["variant"] == variant) & table["request_id"].isin(
                same["request_id"].unique())
            kinds = table.loc[wanted, [*_RUN_KEYS, "flow", "kind"]]
            labelled = same.merge(kinds, on=_RUN_KEYS, how="left")
        same = labelled
    same = same[same["flow"] == flow]
    part = same[same["kind"] == kind]
    if part.empty:  # rare kinds (a critical case or two a run) may miss the kept run:
        part = same  # the flow's other kinds take that stage at the same resources
    if part.empty:
        return unknown
    minutes = part["end_min"] - part["start_min"]
    level = part["level"].to_numpy()
    label = np.where(level > len(LEVELS), "households", part["node"].astype(object).to_numpy())
    heads = (level >= 1) & (level <= len(LEVELS))
    label[heads] = np.array([f"{name} heads" for name in LEVELS], dtype=object)[level[heads] - 1]
    return str(minutes.groupby(label).sum().idxmax())


def _utilisation(heads: pd.DataFrame, resources: pd.DataFrame, variant: str,
                 resource: str) -> float:
    if resource.endswith(" heads") and len(heads):
        rows = heads[(heads["variant"] == variant) & (heads["level"] == resource[:-6])]
    elif len(resources):
        rows = resources[(resources["variant"] == variant) & (resources["node"] == resource)]
    else:
        return math.nan
    return float(rows["utilisation"].mean()) if len(rows) else math.nan


def _key(stage: str, resource: str) -> str:
    if stage in STAGE_KEYS:
        return STAGE_KEYS[stage]
    if resource.endswith(" heads"):
        return f"heads.{resource[:-6]}.staff (or helpers)"
    return RESOURCE_KEYS.get(resource, "")


def paired_gain(per_replication: pd.DataFrame, variant: str, reference: str, flow: str,
                kind: str) -> tuple[float, float, int]:
    """Share within target of ``variant`` minus ``reference``: mean, 95% half-width, pairs."""
    if per_replication.empty:
        return math.nan, math.nan, 0
    part = per_replication[(per_replication["flow"] == flow) & (per_replication["kind"] == kind)
                           & (per_replication["household_group"] == metrics.ALL)]

    def shares(name: str) -> pd.Series:
        return part[part["variant"] == name].set_index("replication")["within_target"]

    both = pd.concat([shares(reference), shares(variant)], axis=1, join="inner").dropna()
    if both.empty:
        return math.nan, math.nan, 0
    mean, half = metrics.mean_ci(both.iloc[:, 1].to_numpy() - both.iloc[:, 0].to_numpy())
    return mean, half, len(both)


def relief(per_replication: pd.DataFrame, table: pd.DataFrame, reference: str,
           goal: Goal) -> Relief | None:
    """The design that does most for ``goal`` against ``reference``, if any does clearly.

    A design that meets the target comes first; otherwise the largest gain in the share
    within target whose paired 95% interval lies above zero. ``None`` when no design helps.
    """
    part = table[(table["flow"] == goal.flow) & (table["kind"] == goal.kind)]
    base = part[part["variant"] == reference]
    base_share = float(base["within_target"].iloc[0]) if len(base) else math.nan
    best: Relief | None = None
    for row in part.itertuples():
        if row.variant == reference:
            continue
        gain, half, _ = paired_gain(per_replication, row.variant, reference, goal.flow,
                                    goal.kind)
        if not (math.isfinite(gain) and math.isfinite(half) and gain - half > 0):
            continue
        found = Relief(row.variant, base_share, float(row.within_target), gain, half,
                       row.verdict == MET)
        if best is None or (found.meets, found.difference) > (best.meets, best.difference):
            best = found
    return best


def censored_share(conservation: pd.DataFrame) -> dict[str, float]:
    """Per design, the share of requests still in flight at the horizon (no answer yet)."""
    if conservation.empty:
        return {}
    totals = conservation.groupby("variant", sort=False)[["in_flight", "created"]].sum()
    return {v: float(r.in_flight / r.created) if r.created else math.nan
            for v, r in totals.iterrows()}


def decide(scenario: Scenario, summary: pd.DataFrame, per_replication: pd.DataFrame,
           breakdown: pd.DataFrame, stages: pd.DataFrame | StageStore, heads: pd.DataFrame,
           resources: pd.DataFrame, conservation: pd.DataFrame, variants: Sequence[str],
           people: Mapping[str, int], head_count: Mapping[str, int], *,
           requests: pd.DataFrame | None = None) -> Decision:
    """The whole decision from the result tables (see the module docstring).

    ``requests`` gives the hops in ``stages`` their flow and kind when it has none.
    """
    flows = set(summary["flow"]) if len(summary) else set()
    goal_list = [g for g in goals(scenario) if g.flow in flows]  # a kind unseen: can't tell
    table = verdict_table(summary, goal_list, variants)
    reference = variants[0] if variants else None
    decision = Decision(
        goals=goal_list, table=table, cheapest=cheapest(table, people, head_count),
        failing_everywhere=_goals_where(table, goal_list, lambda v: (v == NOT_MET).all()),
        met_nowhere=_goals_where(table, goal_list, lambda v: not (v == MET).any()),
        reference=reference, censored=censored_share(conservation))
    if reference is None:
        return decision
    base = table[table["variant"] == reference]
    decision.failing = [g for g in goal_list
                        if (base[(base["flow"] == g.flow) & (base["kind"] == g.kind)]["verdict"]
                            != MET).any()]
    index = RequestIndex(requests) if requests is not None else None  # found once, for all
    for goal in decision.failing:
        key = (goal.flow, goal.kind)
        decision.bottlenecks[key] = bottleneck(breakdown, stages, heads, resources, reference,
                                               *key, requests=index)
        decision.reliefs[key] = relief(per_replication, table, reference, goal)
    return decision


def decide_results(results: object) -> Decision:
    """:func:`decide` on a :class:`sim.experiment.Results`.

    The hop log goes in as its store, without its requests' flow and kind:
    :func:`bottleneck` reads only the hops of the stage it names, and joins their flow
    and kind.
    """
    stages = results.stage_log if len(results.requests) else pd.DataFrame()
    breakdown = results.stage_breakdown if len(results.stage_totals) else pd.DataFrame()
    return decide(results.scenario, results.summary, results.per_replication, breakdown,
                  stages, results.heads, results.resources, results.conservation,
                  results.variants, results.total_people, results.total_heads,
                  requests=results.requests)


__all__ = ["MET", "NOT_MET", "UNSURE", "MIN_CASES", "Goal", "Bottleneck", "Relief", "Decision",
           "required_shares", "goals", "verdict", "verdict_table", "cheapest", "bottleneck",
           "paired_gain", "relief", "censored_share", "decide", "decide_results"]
