"""Supply: household orders up the chain, goods from the depot down to the door.

An order is relayed from the household's nearest head up to the collecting head
(the grid head by default). At each cutoff the collecting head compiles its orders
into a batch; the depot fills the batch from stock (waiting for restocking, or
abandoning what it cannot fill when there is none), a packing team packs it, and
vehicles carry it to the grid gate in loads. From the gate each head carries the
goods to the heads below it, and the nearest head hands them over at the door.
Pushed packages (one per household) start at the depot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import simpy

from sim.demand import Arrivals, Draws
from sim.flows import feed
from sim.heads import Station, serve
from sim.log import OUT_OF_STOCK
from sim.units import parse_clock

if TYPE_CHECKING:
    from sim.model import Drill

Item = tuple[int, int, float, float, float]
"""One order on its way: (request id, household index, and its compile, packing and
handover minutes, drawn with the order so that variants share them)."""


class SupplyFlow:
    """Orders and packages of one replication."""

    def __init__(self, drill: Drill, orders: Arrivals, package_draws: dict) -> None:
        self.drill = drill
        self.env = drill.env
        self.log = drill.log
        self.params = drill.scenario.supply
        self.orders = orders
        self.package_draws = package_draws
        self.priority = drill.supply_priority
        # Heads an order is relayed through: nearest head up to the collecting head.
        self.up = drill.paths_up_to(self.params.collect_level)
        self.pending: dict[Station, list[Item]] = {}
        depot = self.params.depot
        self.stock = None
        if depot.stock is not None:
            self.stock = simpy.Container(self.env, init=depot.stock)
        self.handover_factor = [
            g.handover_factor for g in drill.scenario.households.groups.values()
        ] + [1.0]
        rng = drill.operations
        vehicles, carry = self.params.vehicles, self.params.carry
        self.trip, self.unload = Draws(vehicles.trip, rng), Draws(vehicles.unload, rng)
        self.load_per_trip = Draws(carry.load_per_trip, rng)

    def start(self) -> None:
        """Start the order stream, cutoffs, pushed packages and restocking."""
        env = self.env
        if len(self.orders):
            env.process(feed(env, self.orders.time, self._arrive))
        if self.params.cutoffs and not self.params.collect_only:
            env.process(self._cutoffs())
        for push, at in enumerate(self.params.packages.at):
            if at < self.drill.scenario.horizon:
                env.process(self._push(push, at))
        depot = self.params.depot
        if self.stock is not None and depot.restock_every and depot.restock_amount:
            env.process(self._restock())

    # ---- orders up the chain -----------------------------------------------------------------

    def _arrive(self, i: int) -> None:
        hh = self.orders.household[i]
        rid = self.log.new("supply", "order", hh, self.env.now)
        self.env.process(self._order(i, rid, hh))

    def _order(self, i: int, rid: int, hh: int) -> Generator[simpy.Event, object, None]:
        env, log, orders = self.env, self.log, self.orders
        household = self.drill.households[hh]
        contact = orders.times["contact"][i]
        if contact > 0:
            yield env.timeout(contact)
            log.stage(rid, "contact", household.node, 6, env.now)
        relay = orders.relay[i]
        for station in self.up[hh]:
            granted = yield from serve(env, station, self.priority, False,
                                       ((relay[station.level - 1], None),))
            log.hop(rid, "relay", station.name, station.level, granted, env.now)
        if self.params.collect_only:
            log.complete(rid, env.now)
            return
        times = orders.times
        item = (rid, hh, times["batch"][i], times["pack"][i], times["handover"][i])
        collector = self.up[hh][-1]
        if self.params.cutoffs:
            self.pending.setdefault(collector, []).append(item)
        else:
            env.process(self._batch(collector, [item]))

    def _cutoffs(self) -> Generator[simpy.Event, object, None]:
        env = self.env
        start = self.drill.start_clock
        daily = sorted((parse_clock(c) - start) % 1440 for c in self.params.cutoffs)
        day = 0
        while True:
            for offset in daily:
                at = day * 1440 + offset
                if at >= self.drill.scenario.horizon:
                    return
                if at > env.now:
                    yield env.timeout(at - env.now)
                batches, self.pending = self.pending, {}
                for collector, items in batches.items():
                    env.process(self._batch(collector, items))
            day += 1

    # ---- depot and vehicles ------------------------------------------------------------------

    def _batch(self, collector: Station, items: list[Item],
               stocked: bool = True) -> Generator[simpy.Event, object, None]:
        """The collecting head compiles ``items`` and sends them to the depot, then the gate.

        Orders come out of the depot's stock; pushed packages (``stocked=False``) arrive
        as their own consignment.
        """
        env, log = self.env, self.log
        compile_min = float(sum(item[2] for item in items))
        if compile_min > 0:
            yield from serve(env, collector, self.priority, False, ((compile_min, None),))
        log.stage_many(items, "batch", collector.name, collector.level, env.now)
        items = yield from self._fill(items, stocked)
        if not items:
            return
        capacity = self.params.vehicles.capacity_orders
        for first in range(0, len(items), capacity):
            env.process(self._drive(collector, items[first:first + capacity]))

    def _fill(self, items: list[Item],
              stocked: bool) -> Generator[simpy.Event, object, list[Item]]:
        env, log = self.env, self.log
        if stocked and self.stock is not None:
            depot = self.params.depot
            if not (depot.restock_every and depot.restock_amount):
                available = int(self.stock.level)
                for rid, *_ in items[available:]:
                    log.abandon(rid, env.now, OUT_OF_STOCK)
                items = items[:available]
            if items:
                yield self.stock.get(len(items))
        if not items:
            return items
        pack = float(sum(item[3] for item in items))
        yield from serve(env, self.drill.depot, self.priority, False, ((pack, None),))
        log.stage_many(items, "depot", "depot", 0, env.now)
        return items

    def _drive(self, collector: Station, load: list[Item]) -> Generator[simpy.Event, object, None]:
        out = self.trip() + self.unload()
        back = self.trip()

        def arrived(now: float) -> None:
            self.log.stage_many(load, "vehicle", "vehicles", 0, now)
            self.env.process(self._carry(collector, load))

        yield from serve(self.env, self.drill.vehicles, self.priority, False,
                         ((out, arrived), (back, None)))

    def _restock(self) -> Generator[simpy.Event, object, None]:
        depot = self.params.depot
        while True:
            yield self.env.timeout(depot.restock_every)
            yield self.stock.put(depot.restock_amount)

    # ---- goods down the chain ---------------------------------------------------------------

    def _carry(self, station: Station, items: list[Item]) -> Generator[simpy.Event, object, None]:
        """``station`` takes ``items`` from its access point to the heads below, or to doors."""
        drill, log = self.drill, self.log
        carry = self.params.carry
        households = drill.households
        below: dict[Station, list[Item]] = {}
        doors: list[Item] = []
        for item in items:
            path = households[item[1]].path
            k = path.index(station)
            if k == 0:
                doors.append(item)
            else:
                below.setdefault(path[k - 1], []).append(item)
        steps = []
        walk_min, x_m, floor = drill.walk_min, station.x_m, station.floor
        for child, group in below.items():
            trips = math.ceil(len(group) / carry.cart_capacity)
            walk = walk_min(x_m, floor, child.x_m, child.floor)
            steps.append((trips * (2 * walk + self.load_per_trip()),
                          self._handed_down(station, child, group)))
        share = 2 / carry.bags_per_trip
        factor = self.handover_factor
        for item in doors:
            household = households[item[1]]
            walk = walk_min(x_m, floor, household.x_m, household.floor)
            minutes = share * walk + item[4] * factor[household.group]
            steps.append((minutes, self._delivered(station, item[0])))

        def granted(now: float) -> None:
            log.stage_many(items, "queue", station.name, station.level, now)

        yield from serve(self.env, station, self.priority, False, steps, on_grant=granted)

    def _handed_down(self, station: Station, child: Station,
                     group: list[Item]) -> Callable[[float], None]:
        def done(now: float) -> None:
            self.log.stage_many(group, "carry", station.name, station.level, now)
            self.env.process(self._carry(child, group))
        return done

    def _delivered(self, station: Station, rid: int) -> Callable[[float], None]:
        def done(now: float) -> None:
            self.log.stage(rid, "handover", station.name, station.level, now)
            self.log.complete(rid, now)
        return done

    # ---- pushed packages ----------------------------------------------------------------------

    def _push(self, push: int, at: float) -> Generator[simpy.Event, object, None]:
        """Push number ``push``: a package for every household at time ``at``."""
        env, log = self.env, self.log
        yield env.timeout(at)
        n_households = len(self.drill.households)
        batches: dict[Station, list[Item]] = {}
        for household in self.drill.households:
            hh = household.index
            draw = push * n_households + hh
            rid = log.new("supply", "package", hh, env.now)
            item = (rid, hh, 0.0, self.package_draws["pack"][draw],
                    self.package_draws["handover"][draw])
            batches.setdefault(self.up[hh][-1], []).append(item)
        for collector, items in batches.items():
            env.process(self._batch(collector, items, stocked=False))
