"""Supply: household orders up the chain, goods from the depot down to the door.

An order is relayed from the household's nearest head up to the collecting head
(the grid head by default). At each cutoff the collecting head compiles its orders
into a batch; the depot fills the batch from stock (waiting for restocking, or
abandoning what it cannot fill when there is none), a packing team packs it, and
vehicles carry it to the grid gate in loads. From the gate each head carries the
goods to the heads below it, and the nearest head hands them over at the door.
Pushed packages (one per household, of one or more bags) start at the depot; a
consignment handled in bulk (``packages.bulk``) is unloaded, disinfected and
unpacked there, load by load, before its bags are packed.

Who works: one person of a head takes a whole round (a cart run to the heads
below, door drops) and one depot team packs a whole batch, unless the scenario
shares work (``share_work``: the staff split a round or a batch) or gives the
stage to helper pools (:mod:`sim.crews`). With ``depot.pipeline`` bags leave in
vehicle loads as they are packed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, NamedTuple

import simpy

from sim.demand import Arrivals, Draws, bulk_cases, split_evenly
from sim.flows import feed
from sim.heads import Station, serve, serve_shared
from sim.log import OUT_OF_STOCK
from sim.scenario import NoTime

if TYPE_CHECKING:
    from sim.site import Site

class Item(NamedTuple):
    """One order or package on its way.

    Its minutes are drawn with the request, so every variant shares them.
    """

    request_id: int
    household: int
    compile_min: float
    pack_min: float
    door_min: float  # handover or drop at the door
    bags: int


class SupplyFlow:
    """Orders and packages of one replication."""

    def __init__(self, site: Site, orders: Arrivals, package_draws: dict) -> None:
        self.site = site
        self.env = site.env
        self.log = site.log
        self.params = site.scenario.supply
        self.orders = orders
        self.package_draws = package_draws
        self.priority = site.supply_priority
        # Heads an order is relayed through: nearest head up to the collecting head.
        self.up = site.paths_up_to(self.params.collect_level)
        self.pending: dict[Station, list[Item]] = {}
        depot = self.params.depot
        self.stock = None
        if depot.stock is not None:
            self.stock = simpy.Container(self.env, init=depot.stock)
        groups = site.scenario.households.groups.values()
        self.handover_factor = [g.handover_factor for g in groups] + [1.0]
        # Who gets a ring-and-leave drop instead of a face-to-face handover.
        self.drop = [self.params.carry.drop is not None and not g.face_to_face
                     for g in groups] + [self.params.carry.drop is not None]
        self.crews = site.crews
        self.bags = self.params.packages.bags_per_household
        self.bulk = bulk_cases(site.scenario, len(site.households), site.replication)
        rng = site.operations
        vehicles, carry = self.params.vehicles, self.params.carry
        self.trip, self.unload = Draws(vehicles.trip, rng), Draws(vehicles.unload, rng)
        self.multi_drop = vehicles.multi_drop
        self.between = Draws(vehicles.multi_drop.between if vehicles.multi_drop else NoTime, rng)
        self.packing = 0  # batches being packed now
        self.dock: list[tuple[Station, Item]] = []  # packed, waiting for a multi-drop load
        self.dock_bags = 0  # bags on the dock
        self.load_per_trip = Draws(carry.load_per_trip, rng)

    def start(self) -> None:
        """Start the order stream, cutoffs, pushed packages and restocking."""
        env = self.env
        if len(self.orders):
            env.process(feed(env, self.orders.time, self._arrive))
        if self.params.cutoffs and not self.params.collect_only:
            env.process(self._cutoffs())
        for push, at in enumerate(self.params.packages.at):
            if self.params.enabled and at < self.site.scenario.horizon:
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
        household = self.site.households[hh]
        contact = orders.times["contact"][i]
        if contact > 0:
            yield env.timeout(contact)
            log.stage(rid, "contact", household.node, 6, env.now)
        relay = orders.relays(i)
        for station in self.up[hh]:
            granted = yield from serve(env, station, self.priority, False,
                                       ((relay[station.level - 1], None),))
            log.hop(rid, "relay", station.name, station.level, granted, env.now)
        if self.params.collect_only:
            log.complete(rid, env.now)
            return
        times = orders.times
        item = Item(rid, hh, times["batch"][i], times["pack"][i],
                    self._door_minutes(times, i, household.group), 1)
        collector = self.up[hh][-1]
        if self.params.cutoffs:
            self.pending.setdefault(collector, []).append(item)
        else:
            env.process(self._batch(collector, [item]))

    def _door_minutes(self, draws: dict, i: int, group: int) -> float:
        """A drop where the scenario has them and the group takes one, else a handover."""
        if self.drop[group]:
            return draws["drop"][i]
        return draws["handover"][i] * self.handover_factor[group]

    def _cutoffs(self) -> Generator[simpy.Event, object, None]:
        env = self.env
        start = self.site.start_clock
        daily = sorted((c - start) % 1440 for c in self.params.cutoff_minutes)
        day = 0
        while True:
            for offset in daily:
                at = day * 1440 + offset
                if at >= self.site.scenario.horizon:
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
        compile_min = float(sum(item.compile_min for item in items))
        if compile_min > 0:
            yield from serve(env, collector, self.priority, False, ((compile_min, None),))
        log.stage_many(items, "batch", collector.name, collector.level, env.now)
        yield from self._fill(collector, items, stocked)

    def _fill(self, collector: Station, items: list[Item],
              stocked: bool) -> Generator[simpy.Event, object, None]:
        """Take ``items`` out of stock, pack them and send them off in vehicle loads."""
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
            return
        depot = self.site.depot
        crew = self.crews.crew(depot, "pack")
        self.packing += 1
        if not self.params.depot.pipeline and crew == [(depot, 1)]:
            # One team packs the whole batch: one timed step.
            pack = float(sum(item.pack_min for item in items))
            yield from serve(env, depot, self.priority, False, ((pack, None),))
            log.stage_many(items, "depot", "depot", 0, env.now)
            self._ship(collector, items, last=True)
            return
        packed: list[Item] = []
        capacity = self.params.vehicles.capacity_orders
        pipeline = self.params.depot.pipeline
        state = {"left": len(items), "bags": 0}

        def bagged(item: Item) -> Callable[[float], None]:
            def done(now: float) -> None:
                log.stage_many((item,), "depot", "depot", 0, now)
                packed.append(item)
                state["left"] -= 1
                state["bags"] += item.bags
                if (pipeline and state["bags"] >= capacity) or state["left"] == 0:
                    self._ship(collector, list(packed), last=state["left"] == 0)
                    packed.clear()
                    state["bags"] = 0
            return done

        yield from serve_shared(env, crew, self.priority, False,
                                [(item.pack_min, bagged(item)) for item in items])

    def _ship(self, collector: Station, items: list[Item], last: bool) -> None:
        """Packed ``items`` of ``collector``'s batch leave in vehicle loads.

        One grid gate per load, unless vehicles make multi-drop trips: then packed bags
        wait at the dock until a load is full or nothing else is being packed, and a
        load may serve several gates. ``last``: the batch is packed.
        """
        if last:
            self.packing -= 1
        if self.multi_drop is None:
            entries = [(collector, item) for item in items]
            while entries:
                self.env.process(self._drive(self._take_load(entries, 1)))
            return
        self.dock.extend((collector, item) for item in items)
        self.dock_bags += sum(item.bags for item in items)
        capacity = self.params.vehicles.capacity_orders
        while self.dock and (self.packing == 0 or self.dock_bags >= capacity):
            stops = self._take_load(self.dock, self.multi_drop.stops)
            self.dock_bags -= sum(item.bags for _, load in stops for item in load)
            self.env.process(self._drive(stops))

    def _take_load(self, entries: list[tuple[Station, Item]],
                   gates: int) -> list[tuple[Station, list[Item]]]:
        """Take the next load off the front of ``entries``, grouped by gate.

        As many bags as a vehicle holds (one item at least), for at most ``gates`` gates.
        """
        capacity = self.params.vehicles.capacity_orders
        stops: dict[Station, list[Item]] = {}
        bags = taken = 0
        for collector, item in entries:
            if taken and (bags + item.bags > capacity
                          or (collector not in stops and len(stops) == gates)):
                break
            stops.setdefault(collector, []).append(item)
            bags += item.bags
            taken += 1
        del entries[:taken]
        return list(stops.items())

    def _drive(self, stops: list[tuple[Station, list[Item]]]
               ) -> Generator[simpy.Event, object, None]:
        """A vehicle trip: to each gate in turn (unloading there), then back to the depot."""
        steps = []
        for number, (collector, load) in enumerate(stops):
            leg = self.trip() if number == 0 else self.between()
            steps.append((leg + self.unload(), self._arrived(collector, load)))
        steps.append((self.trip(), None))
        yield from serve(self.env, self.site.vehicles, self.priority, False, steps)

    def _arrived(self, collector: Station, load: list[Item]) -> Callable[[float], None]:
        def arrived(now: float) -> None:
            self.log.stage_many(load, "vehicle", "vehicles", 0, now)
            self._carry(collector, load)
        return arrived

    def _restock(self) -> Generator[simpy.Event, object, None]:
        depot = self.params.depot
        while True:
            yield self.env.timeout(depot.restock_every)
            yield self.stock.put(depot.restock_amount)

    # ---- goods down the chain ---------------------------------------------------------------

    def _carry(self, station: Station, items: list[Item]) -> None:
        """``station`` takes ``items`` from its access point to the heads below, or to doors."""
        site = self.site
        carry = self.params.carry
        households = site.households
        below: dict[Station, list[Item]] = {}
        doors: list[Item] = []
        for item in items:
            path = households[item.household].path
            k = path.index(station)
            if k == 0:
                doors.append(item)
            else:
                below.setdefault(path[k - 1], []).append(item)
        walk_min, x_m, floor = site.walk_min, station.x_m, station.floor
        carts = []
        for child, group in below.items():
            trips = math.ceil(sum(item.bags for item in group) / carry.cart_capacity)
            walk = walk_min(x_m, floor, child.x_m, child.floor, child.lift)
            carts.append((trips * (2 * walk + self.load_per_trip()),
                          self._handed_down(station, child, group)))
        share = 2 / carry.bags_per_trip
        drops = []
        for item in doors:
            household = households[item.household]
            lift = household.lift
            if lift is not None and lift[2] > 1 and household.floor != floor:
                # Up by lift with a trolley of bags, then along the landing by hand.
                ground = walk_min(x_m, floor, household.x_m, floor)
                ride = walk_min(x_m, floor, x_m, household.floor, lift)
                minutes = share * item.bags * ground + 2 * item.bags / lift[2] * ride
            else:
                walk = walk_min(x_m, floor, household.x_m, household.floor, lift)
                minutes = share * item.bags * walk
            drops.append((minutes + item.door_min, self._delivered(station, item.request_id)))
        crews = self.crews
        carry_crew, door_crew = crews.crew(station, "carry"), crews.crew(station, "door")
        if carry_crew == door_crew:
            rounds = [(carry_crew, carts + drops, items)]
        else:
            rounds = [(carry_crew, carts, [i for g in below.values() for i in g]),
                      (door_crew, drops, doors)]
        for crew, steps, moved in rounds:
            if steps:
                self.env.process(self._round(station, crew, steps, moved))

    def _round(self, station: Station, crew: list, steps: list,
               items: list[Item]) -> Generator[simpy.Event, object, None]:
        """One round of ``station``'s goods, by one person or shared by a crew."""
        log = self.log

        def granted(now: float) -> None:
            log.stage_many(items, "queue", station.name, station.level, now)

        yield from serve_shared(self.env, crew, self.priority, False, steps, on_grant=granted)

    def _handed_down(self, station: Station, child: Station,
                     group: list[Item]) -> Callable[[float], None]:
        def done(now: float) -> None:
            self.log.stage_many(group, "carry", station.name, station.level, now)
            self._carry(child, group)
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
        households = self.site.households
        draws = self.package_draws
        items = []
        for household in households:
            hh = household.index
            draw = push * len(households) + hh
            rid = log.new("supply", "package", hh, env.now)
            items.append(Item(rid, hh, 0.0, draws["pack"][draw],
                              self._door_minutes(draws, draw, household.group), self.bags))
        if not self.bulk:
            self._send_to_collectors(items)
            return
        first = 0
        every = self.params.packages.bulk.load_every
        for number, cases in enumerate(self.bulk[push]):
            share = split_evenly(len(items), len(self.bulk[push]))[number]
            env.process(self._bulk_load(at + number * every, cases, items[first:first + share]))
            first += share

    def _bulk_load(self, arrives: float, cases: list[float],
                   items: list[Item]) -> Generator[simpy.Event, object, None]:
        """One load of a consignment: handled case by case, then its bags go to be packed."""
        env = self.env
        if arrives > env.now:
            yield env.timeout(arrives - env.now)
        depot = self.site.depot
        yield from serve_shared(env, self.crews.crew(depot, "bulk"), self.priority, False,
                                [(minutes, None) for minutes in cases])
        self.log.stage_many(items, "bulk", "depot", 0, env.now)
        self._send_to_collectors(items)

    def _send_to_collectors(self, items: list[Item]) -> None:
        """Packages go to the depot in one batch per collecting head."""
        batches: dict[Station, list[Item]] = {}
        for item in items:
            batches.setdefault(self.up[item.household][-1], []).append(item)
        for collector, batch in batches.items():
            self.env.process(self._batch(collector, batch, stocked=False))
