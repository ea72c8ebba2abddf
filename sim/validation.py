"""Validation: the model against queueing theory and against its own event log.

Closed forms (Erlang C, M/M/c, a tandem Jackson line, M/G/1 priority queues with
non-pre-emptive and pre-emptive-resume priority) sit beside a runner that checks
the simulator against them. A validation scenario is an ordinary scenario file
with the textbook's assumptions (exponential times, homogeneous Poisson demand,
one head per level, no off-duty hours): :func:`textbook` reads such a scenario,
refuses one that breaks an assumption, and returns the queueing model it is with
its theoretical means. :func:`run_cases` runs the replications, reduces each run
to per-replication means over a counting window, and returns one :class:`Check`
per quantity: theory, simulated mean, Student-t 95% half-width across
replications, and a verdict.

Steady-state statistics count requests created in the window
``[warmup, horizon - margin)``. The warm-up (the scenario's own ``warmup`` key)
drops the empty-start transient; the margin (``MARGIN_FACTOR`` theoretical mean
times in system) lets every counted request finish before the horizon, so no
response is censored and the mean is not biased low by the long responses still
in flight at the horizon. The number of counted requests not completed is
reported and must be zero.

:func:`littles_law` checks the event log itself: the time-average number in
system over ``[warmup, horizon]`` against arrival rate × mean time in system.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.distributions import (
    Distribution,
    Exponential,
    Fixed,
    Uniform,
)
from sim.executors import executor_for
from sim.experiment import run_one
from sim.log import COMPLETED
from sim.metrics import mean_ci
from sim.model import REQUEST_COLUMNS, STAGE_COLUMNS
from sim.queueing import (
    priority_nonpreemptive_waits,
    priority_preemptive_times,
    relaxation_time,
    second_moment,
    tandem_time,
    tandem_wait,
)
from sim.scenario import LEVELS, Scenario

BIAS_ALLOWANCE = 0.01
"""Stated bias allowance, as a share of the theoretical value, added to the half-width.

It covers the O(relaxation time / horizon) bias of a per-replication mean (a ratio
of two random sums) and what is left of the empty-start transient after the
warm-up; both are well under 1% for the run lengths of scenarios/validation."""

MARGIN_FACTOR = 40.0
"""Requests created in the last ``MARGIN_FACTOR`` × (theoretical mean time in system)
minutes are not counted: for an exponential-like sojourn time the chance that a
counted request is still in flight at the horizon is about e^-40."""

WARMUP_RELAXATIONS = 5.0
"""A validation scenario's warm-up must cover this many relaxation times."""


# ---- what a validation scenario is --------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """One theoretical mean to check: ``wait`` (in queue) or ``time`` (in system) of a kind."""

    flow: str
    kind: str
    measure: str  # "wait" or "time"
    theory: float

    @property
    def label(self) -> str:
        """Return a short name such as ``Wq supply/order``."""
        symbol = {"wait": "Wq", "time": "W"}[self.measure]
        return f"{symbol} {self.flow}/{self.kind}"


@dataclass(frozen=True)
class Textbook:
    """The queueing model a validation scenario is, and its theoretical means."""

    name: str
    model: str
    parameters: dict[str, str]
    quantities: tuple[Quantity, ...]
    arrival_rate: float  # all classes, per minute
    utilisation: float
    relaxation_min: float
    warmup_min: float
    horizon_min: float
    margin_min: float
    replications: int

    @property
    def window(self) -> tuple[float, float]:
        """Return the counting window [warm-up, horizon − margin) in minutes."""
        return self.warmup_min, self.horizon_min - self.margin_min


def textbook(scenario: Scenario) -> Textbook:
    """Return the queueing model ``scenario`` is; ``ValueError`` naming each broken assumption.

    Supply orders with ``collect_only`` relayed from the floor head up to
    ``collect_level`` form one M/M/c queue (``floor``) or a tandem Jackson line.
    With emergencies attended by the floor head (one severity, ``report: direct``,
    ``responder: head``, door walk zero) the single floor head is an M/G/1 priority
    queue: emergencies first, supply orders second, pre-emptive if the severity has
    ``preempt: true``. Relay and attend times must be exponential, except in the
    priority cases, whose formulas (Cobham's, and pre-emptive resume) take any
    service time distribution through its second moment.
    """
    broken = _broken_assumptions(scenario)
    if broken:
        raise ValueError(f"{scenario.name} is not a textbook queue: " + "; ".join(broken))
    area = scenario.layout.areas[0]
    households = area.households_per_sub_unit.min
    supply = scenario.supply
    order_rate = households * supply.orders_per_household_per_day / 1440.0
    top = LEVELS.index(supply.collect_level)
    levels = list(reversed(LEVELS[top:]))  # floor first
    stations = [(1 / scenario.head_level(lv).relay.mean, scenario.head_level(lv).staff)
                for lv in levels]
    emergency = scenario.emergency
    incident_rate = 0.0
    if emergency.enabled:
        incident_rate = (households * area.people_per_household
                         * emergency.per_1000_people_per_day / 1000.0 / 1440.0)
    params: dict[str, str] = {}
    quantities: list[Quantity] = []
    if incident_rate <= 0:
        wait = tandem_wait(order_rate, stations)
        time = tandem_time(order_rate, stations)
        loads = [order_rate / (mu * c) for mu, c in stations]
        params["λ orders"] = f"{order_rate:g}/min"
        for level, (mu, c), rho in zip(levels, stations, loads, strict=True):
            params[f"{level} head"] = f"c={c}, 1/μ={1 / mu:g} min, ρ={rho:.3g}"
        names = [f"M/M/{c}" for _, c in stations]
        model = names[0] if len(names) == 1 else "tandem (Jackson) " + " → ".join(names)
        quantities = [Quantity("supply", "order", "wait", wait),
                      Quantity("supply", "order", "time", time)]
        utilisation = max(loads)
        relaxation = max(relaxation_time(order_rate, mu, c) for mu, c in stations)
    else:
        severity_name, severity = next(iter(emergency.severities.items()))
        rates = [incident_rate, order_rate]
        means = [severity.attend.mean, 1 / stations[0][0]]
        second = [second_moment(severity.attend), second_moment(scenario.heads.floor.relay)]
        markovian = all(isinstance(d, Exponential)
                        for d in (severity.attend, scenario.heads.floor.relay))
        queue = "M/M/1" if markovian else "M/G/1"
        params["λ₁ emergencies"] = (f"{incident_rate:g}/min, attend "
                                     f"{_describe(severity.attend)}")
        params["λ₂ orders"] = f"{order_rate:g}/min, relay {_describe(scenario.heads.floor.relay)}"
        params["ρ₁, ρ₂"] = f"{rates[0] * means[0]:.3g}, {rates[1] * means[1]:.3g}"
        if severity.preempt:
            model = f"{queue} pre-emptive-resume priority (2 classes)"
            times = priority_preemptive_times(rates, means, second)
            quantities = [Quantity("emergency", severity_name, "wait", times[0] - means[0]),
                          Quantity("emergency", severity_name, "time", times[0]),
                          Quantity("supply", "order", "time", times[1])]
        else:
            model = f"{queue} non-pre-emptive priority (2 classes)"
            waits = priority_nonpreemptive_waits(rates, means, second)
            quantities = [Quantity("emergency", severity_name, "wait", waits[0]),
                          Quantity("emergency", severity_name, "time", waits[0] + means[0]),
                          Quantity("supply", "order", "wait", waits[1]),
                          Quantity("supply", "order", "time", waits[1] + means[1])]
        utilisation = rates[0] * means[0] + rates[1] * means[1]
        mean_service = (rates[0] * means[0] + rates[1] * means[1]) / sum(rates)
        relaxation = relaxation_time(sum(rates), 1 / mean_service, 1)
    margin = MARGIN_FACTOR * max(q.theory for q in quantities if q.measure == "time")
    found = Textbook(
        name=scenario.name, model=model, parameters=params, quantities=tuple(quantities),
        arrival_rate=order_rate + incident_rate, utilisation=utilisation,
        relaxation_min=relaxation, warmup_min=scenario.warmup,
        horizon_min=scenario.horizon, margin_min=margin, replications=scenario.replications,
    )
    start, end = found.window
    if end <= start:
        raise ValueError(f"{scenario.name}: horizon too short for warm-up plus a "
                         f"{margin:g} min margin")
    return found


def _describe(dist: Distribution) -> str:
    if isinstance(dist, Exponential):
        return f"exponential, mean {dist.mean:g} min"
    if isinstance(dist, Fixed):
        return f"fixed {dist.value:g} min"
    if isinstance(dist, Uniform):
        return f"uniform {dist.low:g}-{dist.high:g} min"
    return f"{type(dist).__name__.lower()}, mean {dist.mean:g} min, E[S²] {second_moment(dist):g}"


def _broken_assumptions(scenario: Scenario) -> list[str]:
    broken = []
    emergency = scenario.emergency
    severity = next(iter(emergency.severities.values()))
    priority = emergency.enabled and emergency.per_1000_people_per_day > 0
    general = priority  # the priority formulas take any service distribution
    areas = scenario.layout.areas
    if len(areas) != 1:
        broken.append("needs exactly one area")
    else:
        area = areas[0]
        subs = area.sub_units_per_unit or area.sub_units_total
        if area.units != 1 or subs != 1:
            broken.append("needs units: 1 and one sub-unit (one head per level)")
        if area.households_per_sub_unit.min != area.households_per_sub_unit.max:
            broken.append("needs a fixed households_per_sub_unit")
    if scenario.households.groups:
        broken.append("needs households.groups: {}")
    for level in LEVELS:
        head = scenario.head_level(level)
        if head.off_duty or head.day_job:
            broken.append(f"heads.{level} must have no off_duty or day_job")
    supply = scenario.supply
    if not (supply.enabled and supply.collect_only and supply.orders_per_household_per_day > 0):
        broken.append("needs supply orders with collect_only: true")
    if supply.profile is not None:
        broken.append("needs no supply.profile (homogeneous Poisson)")
    if supply.packages.at:
        broken.append("needs no pushed packages")
    for level in LEVELS[LEVELS.index(supply.collect_level):]:
        if not (general or isinstance(scenario.head_level(level).relay, Exponential)):
            broken.append(f"heads.{level}.relay must be exponential")
    if len(scenario.variants) != 1 or scenario.variants[0].drop_levels or \
            scenario.variants[0].households_per_head:
        broken.append("needs one variant with no transforms")
    if priority:
        if emergency.profile is not None:
            broken.append("needs no emergency.profile")
        if len(emergency.severities) != 1:
            broken.append("needs a single severity")
        if severity.report != "direct" or severity.responder != "head":
            broken.append("needs report: direct and responder: head")
        if not (general or isinstance(severity.attend, Exponential)):
            broken.append("needs an exponential attend time")
        if severity.patience is not None:
            broken.append("needs no patience")
        if supply.collect_level != "floor" or scenario.heads.floor.staff != 1:
            broken.append("priority case needs collect_level: floor and one floor head person")
        if areas and areas[0].door_walk_m != 0:
            broken.append("priority case needs door_walk_m: 0")
    return broken


# ---- running the checks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One quantity checked: theory against the mean across replications."""

    case: str
    quantity: Quantity
    mean: float
    half_width: float
    allowance: float
    replications: int
    counted: float  # requests of this kind counted per replication (mean)
    censored: int  # counted requests still in flight at the horizon (all replications)

    @property
    def theory(self) -> float:
        """Return the theoretical value."""
        return self.quantity.theory

    @property
    def error(self) -> float:
        """Return simulated minus theoretical."""
        return self.mean - self.theory

    @property
    def passed(self) -> bool:
        """Return True when theory lies within the CI widened by the bias allowance."""
        return (self.censored == 0 and math.isfinite(self.half_width)
                and abs(self.error) <= self.half_width + self.allowance)

    @property
    def verdict(self) -> str:
        """Return ``pass`` or ``FAIL`` (``FAIL (censored)`` if a counted request never finished)."""
        if self.censored:
            return "FAIL (censored)"
        return "pass" if self.passed else "FAIL"

    def as_tuple(self) -> tuple[float, float, float, str]:
        """Return (theory, simulated mean, half-width, verdict)."""
        return self.theory, self.mean, self.half_width, self.verdict


@dataclass(frozen=True)
class CaseResult:
    """One validation scenario run: its textbook model, checks and Little's law rows."""

    textbook: Textbook
    checks: tuple[Check, ...]
    little: pd.DataFrame = field(repr=False)

    @property
    def passed(self) -> bool:
        """Return True when every check passed."""
        return all(check.passed for check in self.checks)


def replicate(scenario: Scenario, replication: int, window: tuple[float, float]) -> dict:
    """Run one replication and reduce it to per-kind means over the counting window.

    Returns ``{"means": {(flow, kind, measure): value}, "counted": {(flow, kind): n},
    "censored": {(flow, kind): n}, "little": [rows]}``. The wait of a request is the
    sum of its ``queue`` stages (time before each head first took it up); its time in
    system is completed − created.
    """
    records = run_one(scenario, scenario.variants[0].name, replication, keep_stages=True)
    requests = pd.DataFrame(records.requests, columns=list(REQUEST_COLUMNS))
    stages = pd.DataFrame(records.stages, columns=list(STAGE_COLUMNS))
    queued = stages[stages["stage"] == "queue"]
    waits = (queued["end_min"] - queued["start_min"]).groupby(queued["request_id"]).sum()
    requests["wait"] = requests["request_id"].map(waits).fillna(0.0)
    requests["time"] = requests["completed_min"] - requests["created_min"]
    start, end = window
    counted = requests[(requests["created_min"] >= start) & (requests["created_min"] < end)]
    out: dict = {"means": {}, "counted": {}, "censored": {}, "little": []}
    for (flow, kind), part in counted.groupby(["flow", "kind"], sort=True):
        done = part[part["status"] == COMPLETED]
        out["counted"][(flow, kind)] = len(part)
        out["censored"][(flow, kind)] = len(part) - len(done)
        out["means"][(flow, kind, "wait")] = float(done["wait"].mean())
        out["means"][(flow, kind, "time")] = float(done["time"].mean())
    for flow in sorted(requests["flow"].unique()):
        row = littles_law(requests, flow, scenario.warmup, scenario.horizon)
        out["little"].append(row.assign(replication=replication).iloc[0].to_dict())
    return out


def run_cases(scenarios: Sequence[Scenario], jobs: int = 2) -> list[CaseResult]:
    """Run every replication of every scenario (``jobs`` processes) and check each quantity."""
    books = [textbook(s) for s in scenarios]
    tasks = [(i, rep) for i, s in enumerate(scenarios) for rep in range(s.replications)]
    # Longest runs first, so the pool finishes together.
    tasks.sort(key=lambda t: -scenarios[t[0]].horizon * books[t[0]].arrival_rate)
    outputs: dict[tuple[int, int], dict] = {}
    with executor_for(jobs, None, len(tasks)) as pool:
        if pool is None:
            for i, rep in tasks:
                outputs[(i, rep)] = replicate(scenarios[i], rep, books[i].window)
        else:
            futures = {(i, rep): pool.submit(replicate, scenarios[i], rep, books[i].window)
                       for i, rep in tasks}
            outputs = {key: future.result() for key, future in futures.items()}
    return [_case_result(book, [outputs[(i, rep)] for rep in range(s.replications)])
            for i, (s, book) in enumerate(zip(scenarios, books, strict=True))]


def run_case(scenario: Scenario, jobs: int = 2) -> CaseResult:
    """Run one validation scenario and check each of its quantities."""
    return run_cases([scenario], jobs)[0]


def _case_result(book: Textbook, reps: list[dict]) -> CaseResult:
    checks = []
    for quantity in book.quantities:
        key = (quantity.flow, quantity.kind)
        values = np.array([rep["means"].get((*key, quantity.measure), np.nan) for rep in reps])
        mean, half_width = mean_ci(values)
        checks.append(Check(
            case=book.name, quantity=quantity, mean=mean, half_width=half_width,
            allowance=BIAS_ALLOWANCE * quantity.theory, replications=len(reps),
            counted=float(np.mean([rep["counted"].get(key, 0) for rep in reps])),
            censored=int(sum(rep["censored"].get(key, 0) for rep in reps)),
        ))
    little = pd.DataFrame([row for rep in reps for row in rep["little"]])
    return CaseResult(book, tuple(checks), little)


# ---- Little's law on the event log -----------------------------------------------------------


LITTLE_COLUMNS = ["flow", "requests", "L", "arrival_rate", "W", "lambda_W", "carry_in",
                  "gap", "relative_gap"]


def littles_law(requests: pd.DataFrame, flow: str, warmup: float,
                horizon: float) -> pd.DataFrame:
    """Check Little's law L = λW for ``flow`` on a requests table, per (variant, replication).

    Over the window ``[warmup, horizon]`` of length T:

    * ``L``: the time-average number of ``flow`` requests in system, integrated from
      the step function N(t) (+1 at each creation, −1 at each completion or
      abandonment), with in-flight requests counted up to the horizon;
    * ``arrival_rate`` λ: requests created in the window / T;
    * ``W``: their mean time in system, in-flight ones counted up to the horizon;
    * ``carry_in``: (time spent in the window by requests created before it) / T.

    On every sample path ``L = λW + carry_in`` exactly; ``gap = L − λW`` is therefore
    the edge effect of the warm-up, small when the window is long against W.
    ``requests`` needs ``flow``, ``created_min`` and ``completed_min`` (NaN while in
    flight); ``variant`` and ``replication`` columns, if present, group the rows.
    """
    if horizon <= warmup:
        raise ValueError("littles_law needs warmup < horizon")
    keys = [k for k in ("variant", "replication") if k in requests.columns]
    part = requests[requests["flow"] == flow]
    groups = part.groupby(keys, sort=True) if keys else [((), part)]
    rows = []
    for key, group in groups:
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        rows.append({**row, **_little_one(group, flow, warmup, horizon)})
    return pd.DataFrame(rows, columns=[*keys, *LITTLE_COLUMNS])


def _little_one(group: pd.DataFrame, flow: str, warmup: float, horizon: float) -> dict:
    span = horizon - warmup
    created = group["created_min"].to_numpy(dtype=float)
    left = group["completed_min"].to_numpy(dtype=float)
    left = np.where(np.isnan(left), np.inf, left)
    if np.any(left < created):
        raise ValueError(f"{flow}: a request completes before it is created")
    # L: integrate the counting process N(t) over the window by sweeping its jumps.
    present = (created < horizon) & (left > warmup)
    enter = np.clip(created[present], warmup, horizon)
    leave = np.clip(left[present], warmup, horizon)
    times = np.concatenate([enter, leave])
    steps = np.concatenate([np.ones(len(enter)), -np.ones(len(leave))])
    order = np.lexsort((steps, times))  # at equal times, leave (-1) before enter (+1)
    times, steps = times[order], steps[order]
    in_system = np.cumsum(steps)
    area = float(np.sum(in_system[:-1] * np.diff(times))) if len(times) else 0.0
    level = area / span
    # λ and W of the requests created in the window (in flight: counted to the horizon).
    arriving = (created >= warmup) & (created < horizon)
    stay = np.minimum(left[arriving], horizon) - created[arriving]
    rate = arriving.sum() / span
    mean_time = float(stay.mean()) if len(stay) else 0.0
    before = (created < warmup) & (left > warmup)
    carry_in = float(np.sum(np.minimum(left[before], horizon) - warmup)) / span
    gap = level - rate * mean_time
    return {"flow": flow, "requests": int(arriving.sum()), "L": level,
            "arrival_rate": float(rate), "W": mean_time, "lambda_W": float(rate * mean_time),
            "carry_in": carry_in, "gap": gap,
            "relative_gap": gap / level if level > 0 else 0.0}
