"""What a flow may use of the model: the small, named interface between them.

A flow (``sim/flows/``) gets a :class:`Site`, never the whole drill: the clock and
the log, the scenario, the households with their heads, the stations beside the
chain (depot, vehicles, dispatch desk, ambulances), who does divisible work, the
operations random stream, and two questions about the geometry and the chain.
Reading one flow module with this file is enough to know what it touches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from sim.crews import Crews
from sim.heads import Station
from sim.log import EventLog
from sim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Household:
    """What the flows need of one household."""

    index: int
    node: str
    group: int
    x_m: float
    floor: int
    area: str
    grid: str  # the grid head above (or the nearest head above, if grids are dropped)
    path: tuple[Station, ...]  # heads above, nearest first
    lift: tuple[float, float, int] | None = None  # wait, min per floor, bags a ride
    people: float = 1.0  # the area's mean household size


WalkMinutes = Callable[..., float]
"""``walk_min(x_a, floor_a, x_b, floor_b, lift=None)``: minutes on foot between two
access points (ground, then storeys by stairs or by ``lift``)."""


@dataclass(frozen=True)
class Site:
    """One replication's world as the flows see it."""

    env: simpy.Environment
    log: EventLog
    scenario: Scenario
    replication: int
    start_clock: float  # clock minutes at model time 0
    households: list[Household]
    depot: Station
    vehicles: Station
    dispatch: Station
    ambulances: Station
    crews: Crews
    operations: np.random.Generator  # draws made in event order (vehicle trips, loading)
    supply_priority: float  # below every emergency severity
    walk_min: WalkMinutes
    paths_up_to: Callable[[str], list[tuple[Station, ...]]]
    """Per household: its heads from the nearest up to the first at a level or above."""


@dataclass(frozen=True)
class Links:
    """The chain as the households' paths draw it, in household order."""

    parent: dict[Station, Station]
    children: dict[Station, list[Station]]  # child heads
    members: dict[Station, list[int]]  # households whose nearest head it is
    tops: list[Station]


def links(households: list[Household]) -> Links:
    """Parents, child heads, households and top heads of the chain, from the paths."""
    parent: dict[Station, Station] = {}
    children: dict[Station, list[Station]] = {}
    members: dict[Station, list[int]] = {}
    tops: dict[Station, None] = {}
    walked: set[int] = set()  # households under one head share its path object
    for household in households:
        path = household.path
        members.setdefault(path[0], []).append(household.index)
        if id(path) in walked:
            continue
        walked.add(id(path))
        tops[path[-1]] = None
        for child, above in zip(path, path[1:], strict=False):
            if child not in parent:
                parent[child] = above
                children.setdefault(above, []).append(child)
    return Links(parent, children, members, list(tops))
