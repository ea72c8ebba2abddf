"""Random streams and the demand of one replication, drawn before the clock starts.

Every source of randomness has its own named stream, a child of the scenario seed
keyed by (replication, stream): ``numpy.random.SeedSequence(seed, spawn_key=...)``,
the same child ``SeedSequence(seed).spawn()`` would give. Streams do not depend on
the variant, so in one replication every variant sees the same households placing
the same orders and the same incidents at the same times, with the same per-request
service times (common random numbers). No global random state anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.distributions import Fixed
from sim.scenario import LEVELS, Scenario

STREAMS = (
    "supply", "emergency", "supply_times", "emergency_times", "operations", "staffing", "packages",
    "bulk", "background", "hotline", "notice", "losses", "testing", "gates",
)
"""Named streams; appending new names keeps existing streams unchanged."""


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` in ``replication``."""
    key = (replication, STREAMS.index(name))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


class Draws:
    """Values of one distribution drawn from a stream in blocks, handed out one at a time.

    For draws made during the run (vehicle trips, loading), in event order: one numpy
    call per block instead of one per value.
    """

    __slots__ = ("_dist", "_rng", "_block", "_values", "_next")

    def __init__(self, dist: object, rng: np.random.Generator, block: int = 256) -> None:
        self._dist, self._rng, self._block = dist, rng, block
        self._values: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        """The next value, in minutes."""
        if self._next == len(self._values):
            self._values = self._dist.sample(self._rng, self._block).tolist()
            self._next = 0
        self._next += 1
        return self._values[self._next - 1]


@dataclass(frozen=True)
class HouseholdTable:
    """What demand needs to know of the households, indexed by household index."""

    people: np.ndarray
    group: np.ndarray  # index into group_names
    group_names: tuple[str, ...]


@dataclass(frozen=True)
class Arrivals:
    """Requests of one flow: times, households, kinds and per-request service times.

    Plain Python lists and floats, not numpy: the event loop does arithmetic on them,
    and numpy scalars would make every clock value a slower ``np.float64``. The relay
    times stay one array (five floats a request would be five objects and a list, ~200
    bytes): :meth:`relays` turns a request's row into floats when its relay starts.
    """

    time: list[float]
    household: list[int]
    kind: list[int]  # index into the flow's kinds
    relay: np.ndarray  # per request (row): relay time at each level, L1..L5
    times: dict[str, list[float]]  # other per-request draws by name

    @classmethod
    def from_arrays(cls, time: np.ndarray, household: np.ndarray, kind: np.ndarray,
                    relay: np.ndarray, times: dict[str, np.ndarray]) -> Arrivals:
        """Convert numpy draws into the plain lists the model uses."""
        return cls(time.tolist(), household.tolist(), kind.tolist(), relay,
                   {name: values.tolist() for name, values in times.items()})

    def __len__(self) -> int:
        return len(self.time)

    def relays(self, i: int) -> list[float]:
        """Request ``i``'s relay minutes at levels 1-5, as plain floats."""
        return self.relay[i].tolist()


def supply_orders(scenario: Scenario, table: HouseholdTable, replication: int) -> Arrivals:
    """All supply orders over the horizon (Poisson, time-of-day profile)."""
    supply = scenario.supply
    groups = scenario.households.groups
    factor = np.array([g.order_rate_factor for g in groups.values()] + [1.0])[table.group]
    rate = factor * supply.orders_per_household_per_day / 1440.0
    if not supply.enabled:
        rate = rate * 0
    rng = stream(scenario.seed, replication, "supply")
    time, household = _poisson(rng, rate, supply.profile, scenario)
    kind = np.zeros(len(time), dtype=np.int64)
    times_rng = stream(scenario.seed, replication, "supply_times")
    n = len(time)
    times = {
        "contact": _contact(scenario, table, household, times_rng),
        "batch": supply.batch_per_order.sample(times_rng, n),
        "pack": supply.depot.pack_per_order.sample(times_rng, n),
        "handover": supply.carry.handover.sample(times_rng, n),
    }
    relay = _relay(scenario, times_rng, n)
    if supply.carry.drop is not None:  # drawn last: the draws above stay as they were
        times["drop"] = supply.carry.drop.sample(times_rng, n)
    return Arrivals.from_arrays(time, household, kind, relay, times)


def package_times(scenario: Scenario, table: HouseholdTable, replication: int) -> dict:
    """Per-household draws for pushed packages: one row per (push, household).

    ``pack`` is the time to pack the whole package (every bag of it).
    """
    rng = stream(scenario.seed, replication, "packages")
    supply = scenario.supply
    n = len(supply.packages.at) * len(table.people)
    draws = {
        "pack": supply.depot.pack_per_order.sample(rng, n),
        "handover": supply.carry.handover.sample(rng, n).tolist(),
    }
    if supply.packages.bags_per_household > 1:
        draws["pack"] = draws["pack"] * supply.packages.bags_per_household
    draws["pack"] = draws["pack"].tolist()
    if supply.carry.drop is not None:
        draws["drop"] = supply.carry.drop.sample(rng, n).tolist()
    return draws


def bulk_cases(scenario: Scenario, households: int, replication: int) -> list[list[list[float]]]:
    """Per push, per load of the consignment: the handling minutes of each case.

    Households are split over the loads in order (the first load carries the first
    households' goods); each load holds cases in proportion to its households.
    """
    bulk = scenario.supply.packages.bulk
    if bulk is None:
        return []
    rng = stream(scenario.seed, replication, "bulk")
    pushes = []
    for _ in scenario.supply.packages.at:
        loads = []
        for households_in_load in split_evenly(households, bulk.loads):
            cases = max(1, round(bulk.cases_per_household * households_in_load))
            minutes = (bulk.unload_per_case.sample(rng, cases)
                       + bulk.disinfect_per_case.sample(rng, cases)
                       + bulk.unpack_per_case.sample(rng, cases))
            loads.append(minutes.tolist())
        pushes.append(loads)
    return pushes


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` whole numbers as equal as can be, larger first."""
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def incidents(scenario: Scenario, table: HouseholdTable, replication: int) -> Arrivals:
    """All emergencies over the horizon, with severity as ``kind``."""
    emergency = scenario.emergency
    groups = scenario.households.groups
    factor = np.array([g.emergency_rate_factor for g in groups.values()] + [1.0])[table.group]
    rate = table.people * factor * emergency.per_1000_people_per_day / 1000.0 / 1440.0
    if not emergency.enabled:
        rate = rate * 0
    rng = stream(scenario.seed, replication, "emergency")
    time, household = _poisson(rng, rate, emergency.profile, scenario)
    severities = list(emergency.severities.values())
    shares = np.array([s.share for s in severities])
    kind = rng.choice(len(severities), len(time), p=shares / shares.sum())
    times_rng = stream(scenario.seed, replication, "emergency_times")
    n = len(time)
    attend = np.empty(n)
    for k, severity in enumerate(severities):
        attend[kind == k] = severity.attend.sample(times_rng, int(np.sum(kind == k)))
    times = {
        "contact": _contact(scenario, table, household, times_rng),
        "handle": emergency.dispatch.handle.sample(times_rng, n),
        "to_gate": emergency.ambulances.to_gate.sample(times_rng, n),
        "job": emergency.ambulances.job.sample(times_rng, n),
        "attend": attend,
    }
    relay = _relay(scenario, times_rng, n)
    return Arrivals.from_arrays(time, household, kind, relay, times)


def background_calls(scenario: Scenario, replication: int) -> Arrivals:
    """Calls from outside the community on the district pool (none without ``background``).

    Poisson at ``per_day`` (with the emergency hourly profile if ``same_profile``); each
    call has a severity among the ambulance severities (by share) as ``kind``, and its
    handling, travel and job times, all from the ``background`` stream.
    """
    emergency = scenario.emergency
    background = emergency.ambulances.background
    rate = 0.0 if background is None or not emergency.enabled else background.per_day / 1440.0
    rng = stream(scenario.seed, replication, "background")
    profile = emergency.profile if background is not None and background.same_profile else None
    time, household = _poisson(rng, np.array([rate]), profile, scenario)
    n = len(time)
    severities = list(emergency.severities.values())
    ambulance = [k for k, s in enumerate(severities) if s.responder == "ambulance"]
    if n and ambulance:
        shares = np.array([severities[k].share for k in ambulance])
        kind = np.array(ambulance)[rng.choice(len(ambulance), n, p=shares / shares.sum())]
    else:
        kind = np.full(n, len(severities) - 1, dtype=np.int64)
    times = {"handle": emergency.dispatch.handle.sample(rng, n)}
    if background is not None:
        times["travel"] = background.travel.sample(rng, n)
        times["job"] = (background.job or emergency.ambulances.job).sample(rng, n)
    return Arrivals.from_arrays(time, household, kind, np.empty((n, 0)), times)


def _poisson(
    rng: np.random.Generator, rate_per_min: np.ndarray, profile: list[float] | None,
    scenario: Scenario,
) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals of independent Poisson processes, one per household, thinned by the hour.

    The total count in each clock hour is Poisson; each arrival falls uniformly in its
    hour and belongs to a household in proportion to the household's rate.
    """
    total = float(rate_per_min.sum())
    horizon = scenario.horizon
    if total <= 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    start = scenario.start_minutes
    # Slot edges at every clock hour inside the horizon.
    first = 60.0 - (start % 60.0)
    edges = np.concatenate(([0.0], np.arange(first, horizon, 60.0), [horizon]))
    edges = np.unique(edges)
    lengths = np.diff(edges)
    if profile is None:
        multiplier = np.ones(len(lengths))
    else:
        weights = np.asarray(profile, dtype=float)
        hours = (((edges[:-1] + start) // 60) % 24).astype(int)
        multiplier = weights[hours] * 24 / weights.sum()
    counts = rng.poisson(total * multiplier * lengths)
    time = np.repeat(edges[:-1], counts) + rng.random(counts.sum()) * np.repeat(lengths, counts)
    household = rng.choice(len(rate_per_min), counts.sum(), p=rate_per_min / total)
    order = np.lexsort((household, time))
    return time[order], household[order]


def _relay(scenario: Scenario, rng: np.random.Generator, n: int) -> np.ndarray:
    relay = np.empty((n, len(LEVELS)))
    for column, level in enumerate(LEVELS):
        relay[:, column] = scenario.head_level(level).relay.sample(rng, n)
    return relay


def _contact(
    scenario: Scenario, table: HouseholdTable, household: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Time an offline or slow household takes to reach its head (0 for most)."""
    delay = np.zeros(len(household))
    for g, group in enumerate(scenario.households.groups.values()):
        if isinstance(group.contact_delay, Fixed) and group.contact_delay.value == 0:
            continue
        members = table.group[household] == g
        delay[members] = group.contact_delay.sample(rng, int(members.sum()))
    return delay
