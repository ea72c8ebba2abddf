"""One replication of the drill: the SimPy model built from a chain graph.

:class:`Drill` turns each head of the graph into a :class:`~sim.heads.Station`,
adds the depot, vehicles, dispatch desk and ambulances beside the tree, draws the
replication's demand (common random numbers across variants), starts every flow
and runs to the horizon. :meth:`Drill.records` hands back plain rows: the event
log, and the books of every head and resource.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import simpy

from sim import chain as chains
from sim.crews import Crews
from sim.demand import HouseholdTable, incidents, package_times, stream, supply_orders
from sim.flows.emergency import EmergencyFlow
from sim.flows.notice import NoticeFlow
from sim.flows.supply import SupplyFlow
from sim.flows.testing import TestingFlow
from sim.heads import Moments, Station, daily_windows, off_duty
from sim.log import BooksRow, EventLog, RequestRow, StageRow, labels_categorical
from sim.losses import Losses
from sim.scenario import LEVELS, Scenario, Variant
from sim.site import Household, Site, links
from sim.stage_store import StageFile


@dataclass
class RunRecords:
    """Everything one replication produces, as plain rows (cheap to pickle)."""

    replication: int
    variant: str
    requests: pd.DataFrame  # REQUEST_COLUMNS; labels categorical, times float64
    stages: pd.DataFrame  # STAGE_COLUMNS; stage and node categorical
    heads: list[BooksRow]
    resources: list[BooksRow]
    extra: dict = field(default_factory=dict)


REQUEST_COLUMNS = RequestRow._fields
STAGE_COLUMNS = StageRow._fields
HEAD_COLUMNS = BooksRow._fields


@contextmanager
def fewer_collections(young: int = 100_000) -> Iterator[None]:
    """Let Python's cyclic garbage collector run less often while the drill runs.

    A run appends hundreds of thousands of long-lived records (the log) and allocates
    events by the million; with the default threshold the collector rescans the growing
    log again and again, which took about half the run's time. SimPy frees events by
    reference counting, so little cyclic garbage waits for the collector meanwhile.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(young, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


class Drill:
    """The SimPy model of one replication of one variant."""

    def __init__(self, scenario: Scenario, graph: nx.DiGraph, replication: int = 0,
                 stage_file: str | None = None) -> None:
        """The model of ``scenario``'s run ``replication`` on chain ``graph``.

        With ``stage_file``, the log writes its stage rows to that file as it goes
        (:class:`sim.stage_store.StageFile`) and keeps none of them.
        """
        self.scenario = scenario
        self.graph = graph
        self.replication = replication
        self.variant = graph.graph.get("variant", scenario.variants[0].name)
        self.env = simpy.Environment()
        self.log = EventLog(StageFile(stage_file) if stage_file else None)
        self.start_clock = scenario.start_minutes
        self.group_names = (*scenario.households.groups, "general")
        carry = scenario.supply.carry
        self.walk_m_per_min = carry.walk_m_per_min
        self.stairs_min_per_floor = carry.stairs_min_per_floor
        self.operations = stream(scenario.seed, replication, "operations")

        self.stations: dict[str, Station] = {}
        self._labels: dict[str, tuple] = {}  # per head: what its books say of it
        for node in chains.heads(graph):
            data = graph.nodes[node]
            self._labels[node] = (data["level_name"], data["role"], data["area"],
                                  data["households"])
            station = Station(self.env, node, data["staff"], data["level"], data["x_m"],
                              data["floor"])
            station.lift = data.get("lift")
            self.stations[node] = station
        self.households = self._households()
        self.depot = Station(self.env, "depot", scenario.supply.depot.teams)
        self.vehicles = Station(self.env, "vehicles", scenario.supply.vehicles.count)
        self.dispatch = Station(self.env, "dispatch", scenario.emergency.dispatch.operators)
        self.ambulances = Station(self.env, "ambulances", scenario.emergency.ambulances.count)
        self.crews = Crews(self.env, scenario, graph, self.depot)

        severities = list(scenario.emergency.severities.values())
        waking = [k for k, s in enumerate(severities) if s.preempt]
        self.off_duty_priority = (max(waking) + 0.5) if waking else -0.5
        self.supply_priority = len(severities) + 1

        table = HouseholdTable(
            people=np.array([graph.nodes[h.node]["people"] for h in self.households]),
            group=np.array([h.group for h in self.households]),
            group_names=self.group_names,
        )
        site = Site(self.env, self.log, scenario, replication, self.start_clock,
                    self.households, self.depot, self.vehicles, self.dispatch, self.ambulances,
                    self.crews, self.operations, self.supply_priority, self.walk_min,
                    self.paths_up_to)
        self.supply = SupplyFlow(site, supply_orders(scenario, table, replication),
                                 package_times(scenario, table, replication))
        self.emergency = EmergencyFlow(site, incidents(scenario, table, replication))
        self.extra_flows: list[NoticeFlow | TestingFlow] = []
        if scenario.notice is not None:
            self.extra_flows.append(NoticeFlow(site))
        if scenario.testing is not None:
            self.extra_flows.append(TestingFlow(site))
        lost = self._variant_spec().lose_heads if self._variant_spec() else []
        self.off_windows: dict[Station, list[tuple[float, float]]] = {}
        self.losses = (Losses(self.env, scenario, lost, list(self.stations.values()),
                              links(self.households), self.crews, replication,
                              self.off_windows, self.off_duty_priority)
                       if lost else None)
        self._schedule_off_duty()

    # ---- geometry -------------------------------------------------------------------------

    def walk_min(self, x_a: float, floor_a: int, x_b: float, floor_b: int,
                 lift: tuple[float, float, int] | None = None) -> float:
        """Minutes on foot between two access points: ground distance, then storeys.

        Storeys are climbed by the stairs, or by ``lift`` (a wait and a ride per
        floor): the lifts of the building where the upper access point is.
        """
        floors = abs(floor_a - floor_b)
        if lift is not None and floors:
            return abs(x_a - x_b) / self.walk_m_per_min + lift[0] + floors * lift[1]
        return abs(x_a - x_b) / self.walk_m_per_min + floors * self.stairs_min_per_floor

    def paths_up_to(self, level_name: str) -> list[tuple[Station, ...]]:
        """Per household: its heads from the nearest up to the first at ``level_name`` or above.

        Where the variant has no head that high, the path goes to the top head.
        """
        level = chains.level_number(level_name)
        paths = []
        shared: dict[tuple[Station, ...], tuple[Station, ...]] = {}  # one tuple per path
        for household in self.households:
            path = household.path
            found = shared.get(path)
            if found is None:
                top = next((k for k, s in enumerate(path) if s.level <= level), len(path) - 1)
                found = shared[path] = path[:top + 1]
            paths.append(found)
        return paths

    def drop_chain(self) -> None:
        """Let go of the chain graph: the built model no longer needs it.

        A city district's chain takes hundreds of MiB; a run that does not keep it for
        the next one frees it before the event loop starts.
        """
        self.graph = None

    # ---- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start every flow's processes (call once, before stepping the environment)."""
        if self.losses is not None:
            self.losses.start()
        self.supply.start()
        self.emergency.start()
        for flow in self.extra_flows:
            flow.start()

    def run(self) -> RunRecords:
        """Run to the horizon and return the records."""
        self.start()
        with fewer_collections():
            self.env.run(until=self.scenario.horizon)
        return self.records()

    def records(self) -> RunRecords:
        """The log and the books as plain rows; the log's stage rows move into them (once)."""
        requests = self.request_table()
        horizon = self.scenario.horizon
        heads = []
        for node, station in self.stations.items():
            level_name, role, area, served = self._labels[node]
            busy = station.busy_at(horizon)
            heads.append(BooksRow(node, level_name, role, area, served, station.capacity,
                                  station.tasks, busy, busy / (station.capacity * horizon),
                                  station.max_queue))
        resources = []
        beside = [(self.depot, "depot"), (self.vehicles, "vehicle"),
                  (self.dispatch, "dispatch"), (self.ambulances, "ambulance")]
        beside += [(pool, "helpers") for pool, _ in self.crews.pools]
        for station, role in beside:
            busy = station.busy_at(horizon)
            resources.append(BooksRow(station.name, "beside", role, "all", 0, station.capacity,
                                      station.tasks, busy, busy / (station.capacity * horizon),
                                      station.max_queue))
        resources.extend(self.emergency.resource_rows(horizon))
        if self.losses is not None:
            resources.extend(self.losses.resource_rows(horizon))
        extra: dict = {"arrivals": self.arrivals()}
        for flow in self.extra_flows:
            resources.extend(flow.resource_rows(horizon))
            if isinstance(flow, TestingFlow):
                extra["testing"] = flow.trace()
        if self.log.sink is not None:  # the rows are in the file: its path and row count
            self.log.flush()
            extra["stage_file"] = self.log.sink.close(self.log.places)
        return RunRecords(self.replication, self.variant, requests,
                          self.log.stage_table(consume=True), heads,
                          resources, extra=extra)

    def request_table(self) -> pd.DataFrame:
        """The log's requests with their households' labels, as columns."""
        log, households = self.log, self.households
        columns = log.request_columns()
        names = pd.Index(log.names, dtype=object)
        hh = columns["household"]
        node_of = pd.Index([h.node for h in households], dtype=object)
        group_of = np.array([h.group for h in households], dtype=np.int32)
        areas, area_of = _codes([h.area for h in households])
        grids, grid_of = _codes([h.grid for h in households])
        return pd.DataFrame({
            "request_id": np.arange(len(hh), dtype=np.int64),
            "flow": labels_categorical(columns["flow"], names),
            "kind": labels_categorical(columns["kind"], names),
            "household": pd.Categorical.from_codes(hh, categories=node_of),
            "household_group": pd.Categorical.from_codes(
                group_of[hh], categories=pd.Index(self.group_names, dtype=object)),
            "area": pd.Categorical.from_codes(area_of[hh], categories=areas),
            "grid": pd.Categorical.from_codes(grid_of[hh], categories=grids),
            "created_min": columns["created_min"],
            "completed_min": columns["completed_min"],
            "status": labels_categorical(columns["status"], names),
        }, columns=list(REQUEST_COLUMNS), copy=False)

    def arrivals(self) -> dict[tuple[str, str], int]:
        """How many requests the demand holds per (flow, kind): the log must account for all."""
        counts: dict[tuple[str, str], int] = {}
        orders = len(self.supply.orders)
        if orders:
            counts[("supply", "order")] = orders
        supply = self.scenario.supply
        pushes = sum(1 for at in supply.packages.at
                     if supply.enabled and at < self.scenario.horizon)
        if pushes:
            counts[("supply", "package")] = pushes * len(self.households)
        kinds = np.bincount(np.asarray(self.emergency.arrivals.kind, dtype=int),
                            minlength=len(self.emergency.severities))
        for (name, _), count in zip(self.emergency.severities, kinds, strict=True):
            if count:
                counts[("emergency", name)] = int(count)
        for flow in self.extra_flows:
            counts.update(flow.arrivals())
        return counts

    # ---- building ---------------------------------------------------------------------------

    def _variant_spec(self) -> Variant | None:
        """The variant this drill runs, if the scenario lists it."""
        try:
            return self.scenario.variant(self.variant)
        except KeyError:
            return None

    def _households(self) -> list[Household]:
        groups = {name: g for g, name in enumerate(self.group_names)}
        stations = self.stations
        shared: dict[tuple[str, ...], tuple[Station, ...]] = {}  # households of a head share it
        households = []
        for node, data, path, grid in chains.household_table(self.graph):
            names = tuple(path)
            heads = shared.get(names)
            if heads is None:
                heads = shared[names] = tuple(stations[h] for h in path)
            households.append(Household(data["index"], node, groups[data["group"]], data["x_m"],
                                        data["floor"], data["area"], grid, heads,
                                        data.get("lift"), data["people"]))
        return households

    def _schedule_off_duty(self) -> None:
        """Off-duty windows per head: the level's, plus day-job hours for a share of heads."""
        rng = stream(self.scenario.seed, self.replication, "staffing")
        horizon = self.scenario.horizon
        moments = Moments(self.env)  # every head's staff share a window's timeouts
        intervals: dict[tuple, list[tuple[float, float]]] = {}
        for level in LEVELS:
            params = self.scenario.head_level(level)
            windows = list(params.off_duty_windows)
            stations = [s for s in self.stations.values()
                        if s.level == chains.level_number(level)]
            job = params.day_job
            has_job = (rng.random(len(stations)) < job.share) if job else [False] * len(stations)
            for station, with_job in zip(stations, has_job, strict=True):
                mine = tuple(windows + ([job.window] if with_job else []))
                if mine:
                    if mine not in intervals:
                        intervals[mine] = daily_windows(mine, self.start_clock, horizon)
                    off_duty(self.env, station, intervals[mine], self.off_duty_priority,
                             moments)
                    self.off_windows[station] = intervals[mine]
        for pool, params in self.crews.pools:
            if params.off_duty:
                mine = params.off_duty_windows
                if mine not in intervals:
                    intervals[mine] = daily_windows(mine, self.start_clock, horizon)
                off_duty(self.env, pool, intervals[mine], self.off_duty_priority, moments)


def _codes(labels: list[str]) -> tuple[pd.Index, np.ndarray]:
    """Distinct labels in order of first appearance, and each label's code."""
    codes, uniques = pd.factorize(pd.Index(labels, dtype=object))
    return pd.Index(uniques, dtype=object), codes.astype(np.int32)

