"""The size of a run before it starts: households, requests, events, memory.

Rough on purpose (mean households per sub-unit; per request 9 events and 512 bytes,
per household 8 KiB, at 80,000 events/s: measured with ``benchmarks/bench_scale.py``
and ``benchmarks/bench_drill.py`` on the 2-core machine kind, see docs/performance.md);
enough to refuse, in one line naming the key, a scenario that would take days or
exhaust memory, before any work is done. ``--no-size-limit`` lifts the bounds, except
the ones the model cannot represent at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import ScenarioError
from sim.scenario import LEVELS, Scenario
from sim.scenario_flows import flow_requests

EVENTS_PER_REQUEST = 9
"""Measured 8.0-8.7 on the scale ladder's community and subdistrict (every flow on)."""
BYTES_PER_REQUEST = 512
"""A request's columns, its stage rows and its demand draws."""
BYTES_PER_HOUSEHOLD = 8192
"""A household's chain node, model objects and draws: the bulk of a large run's memory."""
EVENTS_PER_SECOND = 80_000
"""The drill's measured rate on one core of the 2-core machine kind (72,000-91,000)."""
EVENTS_PER_RUN = 30_000
"""Building a run's chain and model costs about as much as this many events."""

MAX_NODES = 2_000_000
"""Households, sub-units and units in the chain."""
MAX_SERVERS = 1_000_000
"""Staff members, depot teams, vehicles, operators and ambulances together."""
MAX_RUN_BYTES = 4 * 2**30
"""Memory of one run (its chain, model and records)."""
MAX_EVENTS = 5e9
"""Events over all runs: about four and a half hours on one core."""
HARD_COUNT = 1e12
"""Households, requests or staff beyond this overflow whatever the limits say."""


@dataclass(frozen=True)
class Estimate:
    """Expected size of one experiment (floats: these are estimates)."""

    households: float
    nodes: float
    servers: float
    requests_per_run: float
    runs: int
    days: float

    @property
    def events(self) -> float:
        """Events over all runs."""
        per_run = (EVENTS_PER_RUN + self.requests_per_run * EVENTS_PER_REQUEST
                   + self.servers * self.days * 4)
        return per_run * self.runs

    @property
    def run_bytes(self) -> float:
        """Memory of one run."""
        return self.requests_per_run * BYTES_PER_REQUEST + self.households * BYTES_PER_HOUSEHOLD

    @property
    def hours(self) -> float:
        """Wall time on one core."""
        return self.events / EVENTS_PER_SECOND / 3600


def estimate(scenario: Scenario, variants: int | None = None) -> Estimate:
    """Estimate the work of running ``variants`` (default: all) × the scenario's replications."""
    households = sub_units = units = people = 0.0
    for area in scenario.layout.areas:
        subs = float(area.sub_units_total or area.units * (area.sub_units_per_unit or 1))
        per = (area.households_per_sub_unit.min + area.households_per_sub_unit.max) / 2
        units += area.units
        sub_units += subs
        households += subs * per
        people += subs * per * area.people_per_household
    days = scenario.horizon / 1440
    supply, emergency = scenario.supply, scenario.emergency
    requests = 0.0
    if supply.enabled:
        groups = [g.order_rate_factor for g in scenario.households.groups.values()]
        factor = max([1.0, *groups])
        packages = sum(1 for at in supply.packages.at if at < scenario.horizon)
        requests += households * (supply.orders_per_household_per_day * factor * days
                                  + packages)
    if emergency.enabled:
        groups = [g.emergency_rate_factor for g in scenario.households.groups.values()]
        factor = max([1.0, *groups])
        requests += people / 1000 * emergency.per_1000_people_per_day * factor * days
    requests += flow_requests(scenario, households)  # notices, testing (sim/scenario_flows.py)
    grids = households / scenario.layout.households_per_grid
    heads = {"zone": grids, "community": grids, "grid": grids, "building": units,
             "floor": sub_units}
    servers = sum(scenario.head_level(level).staff * heads[level] for level in LEVELS)
    servers += (supply.depot.teams + supply.vehicles.count + emergency.dispatch.operators
                + emergency.ambulances.count)
    runs = (variants or len(scenario.variants)) * scenario.replications
    block = scenario.sensitivity
    if block is not None and variants is None:  # all designs run, so the block runs too:
        runs += len(block.compare) * (len(block.assumptions) * 2 * block.replications
                                      + max(0, block.replications - scenario.replications))
    return Estimate(households, households + sub_units + units, servers, requests, runs, days)


def check_size(scenario: Scenario, source: str, variants: int | None = None,
               limit: bool = True) -> Estimate:
    """The estimate, or ``ScenarioError`` naming the key that makes the run too large."""
    size = estimate(scenario, variants)
    lift = "; lower it, or add --no-size-limit"
    if not size.nodes <= HARD_COUNT:
        raise ScenarioError(f"{source}: key 'layout.areas': about {size.households:.3g} "
                            "households, more than the model can count; lower it")
    if not size.requests_per_run <= HARD_COUNT:
        raise ScenarioError(f"{source}: key '{_busiest(scenario, size)}': about "
                            f"{size.requests_per_run:.3g} requests per run, more than the "
                            "model can count; lower it")
    if not size.servers <= HARD_COUNT:
        raise ScenarioError(f"{source}: key 'heads': about {size.servers:.3g} staff members, "
                            "more than the model can count; lower it")
    if size.requests_per_run == 0:
        raise ScenarioError(f"{source}: key 'supply': the scenario creates no requests (no "
                            "orders, no packages within the horizon, no emergencies); "
                            "nothing to simulate")
    if not limit:
        return size
    if size.nodes > MAX_NODES:
        raise ScenarioError(f"{source}: key 'layout.areas': about {size.households:.3g} "
                            f"households (at most {MAX_NODES:.0e} households and units){lift}")
    if size.servers > MAX_SERVERS:
        level = max(LEVELS, key=lambda lv: scenario.head_level(lv).staff)
        raise ScenarioError(f"{source}: key 'heads.{level}.staff': about {size.servers:.3g} "
                            f"staff members and fleet in all (at most {MAX_SERVERS:.0e}){lift}")
    if size.run_bytes > MAX_RUN_BYTES:
        raise ScenarioError(
            f"{source}: key '{_busiest(scenario, size)}': about {size.requests_per_run:.3g} "
            f"requests per run, about {_bytes(size.run_bytes)} of memory per run "
            f"(at most {_bytes(MAX_RUN_BYTES)}){lift}")
    if size.events > MAX_EVENTS:
        key = "replications" if size.runs > 1000 else "horizon"
        raise ScenarioError(
            f"{source}: key '{key}': {size.runs} run(s), about {size.events:.3g} events, "
            f"about {size.hours:,.0f} hours on one core (at most {MAX_EVENTS:.0e} events){lift}")
    return size


def _busiest(scenario: Scenario, size: Estimate) -> str:
    """The key most out of scale among demand rate, horizon and households."""
    supply = scenario.supply.orders_per_household_per_day if scenario.supply.enabled else 0
    emergency = (scenario.emergency.per_1000_people_per_day / 1000
                 if scenario.emergency.enabled else 0)
    rate_key = ("supply.orders_per_household_per_day" if supply >= emergency
                else "emergency.per_1000_people_per_day")
    typical = {rate_key: max(supply, emergency) / 1, "horizon": size.days / 30,
               "layout.areas": size.households / 10_000}
    return max(typical, key=lambda key: typical[key])


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"
