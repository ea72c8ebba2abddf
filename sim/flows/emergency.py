"""Emergencies: incidents by severity, reported, dispatched, and met at the door.

An incident is reported to the household's nearest head and relayed up the chain
to the report level (``report: chain``), called straight into the hotline
(``hotline``; offline households cannot, and go through the chain), or handled by
the nearest head alone (``direct``). A ``head`` responder is the nearest head, who
walks to the door and attends. An ``ambulance`` responder is assigned by the
dispatch desk from a limited fleet (a case whose patience runs out first is
abandoned); while it drives to the grid gate the nearest head walks there to open
the way, and the crew walks from the gate to the door. Response = incident to help
at the door. Severities listed first have priority at every head; those with
``preempt`` interrupt lower-priority work and reach off-duty heads.

Escalation: ``report: skip_level`` calls the hotline straight away while the heads
are told in parallel, up the chain to the report level (their time is spent, off the
case's path). Sealed gates (``gate``): the ``opener`` head walks to the gate and
unlocks it only once told of the case (through the chain, in parallel, at once for
``direct``; for a ``hotline`` case with no head told, only when the crew at the gate
reaches the head), and the ambulance waits for it there.

Calls take a hotline seat (callers may hang up and redial) and, with
``ambulances.background``, share the fleet with calls from the rest of the district
(:mod:`sim.flows.fleet`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import simpy

from sim.demand import Arrivals, background_calls, stream
from sim.flows import feed
from sim.flows.fleet import Hotline, OutsideCalls
from sim.heads import Station, serve
from sim.log import NO_AMBULANCE, NO_ANSWER, BooksRow

if TYPE_CHECKING:
    from sim.site import Household, Site

GATE_X_M, GATE_FLOOR = 0.0, 1
AT_GATE = "at_gate"  # the opener learns of a hotline case when the crew at the gate calls


class EmergencyFlow:
    """Incidents of one replication."""

    def __init__(self, site: Site, arrivals: Arrivals) -> None:
        self.site = site
        self.env = site.env
        self.log = site.log
        self.params = site.scenario.emergency
        self.arrivals = arrivals
        self.severities = list(self.params.severities.items())
        self.offline = [g.offline for g in site.scenario.households.groups.values()] + [False]
        self.up = site.paths_up_to(self.params.report_level)
        scenario, replication = site.scenario, site.replication
        self.hotline = Hotline(self.env, site.dispatch, self.params.dispatch.redial,
                               scenario, replication)
        self.background = OutsideCalls(self.env, site.ambulances, self.hotline,
                                       background_calls(scenario, replication),
                                       [s.patience for _, s in self.severities])
        self.gate = gate = self.params.gate
        if gate is not None:
            self.openers = [path[-1] for path in site.paths_up_to(gate.opener)]
            rng = stream(scenario.seed, replication, "gates")
            self.unlock = gate.unlock.sample(rng, len(arrivals))
            self.reach = gate.reach_head.sample(rng, len(arrivals))

    def start(self) -> None:
        """Start the incident stream (and the district's outside calls)."""
        if len(self.arrivals):
            self.env.process(feed(self.env, self.arrivals.time, self._arrive))
        self.background.start()

    def resource_rows(self, horizon: float) -> list[BooksRow]:
        """Rows for the resources table: outside calls and redials, when modelled."""
        rows = []
        fleet, desk = self.site.ambulances, self.site.dispatch
        if self.params.ambulances.background is not None:
            books = self.background.books(horizon)
            busy = books["busy_min"]
            rows.append(BooksRow("background_calls", "beside", "background", "outside", 0,
                                 fleet.capacity, books["calls"], busy,
                                 busy / (fleet.capacity * horizon), 0))
        if self.params.dispatch.redial is not None:
            rows.append(BooksRow("redials", "beside", "dispatch", "all", 0, desk.capacity,
                                 self.hotline.redials, 0.0, 0.0, 0))
        return rows

    def _arrive(self, i: int) -> None:
        hh = self.arrivals.household[i]
        kind = self.arrivals.kind[i]
        rid = self.log.new("emergency", self.severities[kind][0], hh, self.env.now)
        self.env.process(self._incident(i, rid, hh, kind))

    def _incident(self, i: int, rid: int, hh: int,
                  kind: int) -> Generator[simpy.Event, object, None]:
        env, log, site = self.env, self.log, self.site
        severity = self.severities[kind][1]
        times = self.arrivals.times
        household = site.households[hh]
        nearest = household.path[0]
        contact = times["contact"][i]
        if contact > 0:
            yield env.timeout(contact)
            log.stage(rid, "contact", household.node, 6, env.now)
        offline = self.offline[household.group]
        by_chain = severity.report == "chain" or (
            severity.report in ("hotline", "skip_level") and offline)
        told: simpy.Event | str | None = None  # when the gate's opener knows; None: by dispatch
        if severity.report == "skip_level" and not offline:
            told = env.event()
            env.process(self._tell_heads(i, hh, kind, severity.preempt, told))
        elif severity.report == "hotline" and not offline:
            told = AT_GATE
        if by_chain:
            relay = self.arrivals.relays(i)
            for station in self.up[hh]:
                granted = yield from serve(env, station, kind, severity.preempt,
                                           ((relay[station.level - 1], None),))
                log.hop(rid, "relay", station.name, station.level, granted, env.now)
        if severity.responder == "head":
            walk = site.walk_min(nearest.x_m, nearest.floor, household.x_m, household.floor,
                                  household.lift)
            granted = yield from serve(env, nearest, kind, severity.preempt,
                                       ((walk + times["attend"][i], None),))
            log.hop(rid, "attend", nearest.name, nearest.level, granted, env.now)
            log.complete(rid, env.now)
            return
        yield from self._ambulance(i, rid, kind, household, nearest, told)

    def _tell_heads(self, i: int, hh: int, kind: int, preempt: bool,
                    told: simpy.Event) -> Generator[simpy.Event, object, None]:
        """Skip-level: the heads are told up the chain while the hotline handles the case."""
        relay = self.arrivals.relays(i)
        opener = self.openers[hh] if self.gate is not None else None
        for station in self.up[hh]:
            yield from serve(self.env, station, kind, preempt, ((relay[station.level - 1], None),))
            if station is opener:
                told.succeed()
        if not told.triggered:
            told.succeed()

    def _ambulance(self, i: int, rid: int, kind: int, household: Household, nearest: Station,
                   told: simpy.Event | str | None = None) -> Generator[simpy.Event, object, None]:
        env, log, site = self.env, self.log, self.site
        severity = self.severities[kind][1]
        times = self.arrivals.times
        dispatch = site.dispatch
        granted = yield from self.hotline.call(kind, times["handle"][i])
        if granted < 0:
            log.stage(rid, "queue", dispatch.name, 0, env.now)
            log.abandon(rid, env.now, NO_ANSWER)
            return
        log.hop(rid, "dispatch", dispatch.name, 0, granted, env.now)

        fleet = site.ambulances
        fleet.tasks += 1
        request = fleet.request(kind, False)
        if severity.patience is not None:
            created = log.requests[rid][3]
            left = created + severity.patience - env.now
            outcome = yield request | env.timeout(max(left, 0.0))
            if request not in outcome:
                fleet.cancel(request)
                log.abandon(rid, env.now, NO_AMBULANCE)
                return
        else:
            yield request
        log.stage(rid, "queue", fleet.name, 0, env.now)
        assigned = request.working = env.now  # busy from assignment until free again

        opener = nearest if self.gate is None else self.openers[household.index]
        walk_to_gate = site.walk_min(opener.x_m, opener.floor, GATE_X_M, GATE_FLOOR,
                                     opener.lift)
        arrived = env.event() if self.gate is not None else None
        if self.gate is None:
            head_at_gate = env.process(self._open_way(nearest, kind, severity.preempt,
                                                      walk_to_gate))
        else:
            head_at_gate = env.process(self._open_gate(i, opener, kind, severity.preempt,
                                                       walk_to_gate, told, arrived))
        yield env.timeout(times["to_gate"][i])
        log.stage(rid, "travel", fleet.name, 0, env.now)
        if arrived is not None:
            arrived.succeed()
        if not head_at_gate.triggered:
            yield head_at_gate
            log.stage(rid, "gate", opener.name, opener.level, env.now)
        yield env.timeout(site.walk_min(GATE_X_M, GATE_FLOOR, household.x_m, household.floor,
                                         household.lift))
        log.stage(rid, "walk", fleet.name, 0, env.now)
        log.complete(rid, env.now)
        yield env.timeout(times["job"][i])
        fleet.busy_min += env.now - assigned
        request.working = -1.0
        fleet.release(request)

    def _open_way(self, head: Station, kind: int, preempt: bool,
                  walk: float) -> Generator[simpy.Event, object, None]:
        yield from serve(self.env, head, kind, preempt, ((walk, None),))

    def _open_gate(self, i: int, head: Station, kind: int, preempt: bool, walk: float,
                   told: simpy.Event | str | None,
                   arrived: simpy.Event | None) -> Generator[simpy.Event, object, None]:
        """A sealed gate: the opener walks there and unlocks it once told of the case."""
        if told == AT_GATE:
            yield arrived
            yield self.env.timeout(self.reach[i])
        elif told is not None:
            yield told
        yield from serve(self.env, head, kind, preempt, ((walk + self.unlock[i], None),))
