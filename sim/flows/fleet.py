"""The hotline's seats and the district's ambulance pool, shared with calls from outside.

:class:`Hotline` puts a call through the dispatch desk: one seat per operator, callers
waiting in priority order. With ``redial`` a caller who waits longer than its patience
hangs up and calls again after a delay, at the back of the queue (every redial is
counted); after ``attempts`` calls it gives up.

:class:`OutsideCalls` is the rest of the district when ``ambulances.background`` is
given: Poisson calls from outside the community that take a hotline seat and then an
ambulance of the same fleet (the pool of ``ambulances.count`` vehicles), holding it
for the whole job (travel, on scene, to hospital, turnaround). They are not requests
of the community: they keep their own books (calls, served, abandoned, vehicle
minutes), reported as rows of the resources table.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy

from sim.demand import Arrivals, Draws, stream
from sim.flows import feed
from sim.heads import Grant, Station, serve
from sim.scenario import Redial, Scenario


class Hotline:
    """The dispatch desk's seats, with callers who hang up and redial when kept waiting."""

    def __init__(self, env: simpy.Environment, desk: Station, redial: Redial | None,
                 scenario: Scenario, replication: int) -> None:
        self.env = env
        self.desk = desk
        self.redial = redial
        self.redials = 0
        self.gave_up = 0
        self._delay = None
        if redial is not None:
            self._delay = Draws(redial.delay, stream(scenario.seed, replication, "hotline"))

    def call(self, priority: int, handle: float) -> Generator[simpy.Event, object, float]:
        """Get a seat and hold it ``handle`` minutes; return when answered (-1: gave up)."""
        env, desk, redial = self.env, self.desk, self.redial
        if redial is None:
            return (yield from serve(env, desk, priority, False, ((handle, None),)))
        attempts = 0
        while True:
            attempts += 1
            request = desk.request(priority, False)
            outcome = yield request | env.timeout(redial.patience)
            if request in outcome:
                break
            desk.cancel(request)
            if redial.attempts is not None and attempts >= redial.attempts:
                self.gave_up += 1
                return -1.0
            self.redials += 1
            yield env.timeout(self._delay())
        desk.tasks += 1
        answered = request.working = env.now
        yield env.timeout(handle)
        desk.busy_min += handle
        request.working = -1.0
        desk.release(request)
        return answered


class OutsideCalls:
    """Calls from outside the community on the district's fleet and hotline."""

    def __init__(self, env: simpy.Environment, fleet: Station, hotline: Hotline,
                 arrivals: Arrivals, patience: list[float | None]) -> None:
        self.env = env
        self.fleet = fleet
        self.hotline = hotline
        self.arrivals = arrivals
        self.patience = patience  # per severity (kind), minutes or None
        self.calls = 0
        self.served = 0  # a vehicle reached the scene
        self.no_answer = 0
        self.no_ambulance = 0
        self.busy_min = 0.0  # vehicle minutes of finished background jobs
        self.out: dict[Grant, float] = {}  # vehicles out on a background job: since when

    def start(self) -> None:
        """Start the stream of outside calls."""
        if len(self.arrivals):
            self.env.process(feed(self.env, self.arrivals.time, self._arrive))

    def _arrive(self, i: int) -> None:
        self.calls += 1
        self.env.process(self._call(i))

    def _call(self, i: int) -> Generator[simpy.Event, object, None]:
        env, fleet = self.env, self.fleet
        kind = self.arrivals.kind[i]
        times = self.arrivals.times
        answered = yield from self.hotline.call(kind, times["handle"][i])
        if answered < 0:
            self.no_answer += 1
            return
        fleet.tasks += 1
        request = fleet.request(kind, False)
        patience = self.patience[kind]
        if patience is not None:
            left = self.arrivals.time[i] + patience - env.now
            outcome = yield request | env.timeout(max(left, 0.0))
            if request not in outcome:
                fleet.cancel(request)
                self.no_ambulance += 1
                return
        else:
            yield request
        assigned = request.working = env.now  # busy until free again, horizon included
        self.out[request] = assigned
        yield env.timeout(times["travel"][i])
        self.served += 1
        yield env.timeout(times["job"][i])
        del self.out[request]
        self.busy_min += env.now - assigned
        fleet.busy_min += env.now - assigned
        request.working = -1.0
        fleet.release(request)

    def books(self, horizon: float) -> dict[str, float]:
        """Counts at the horizon: every call is served, abandoned or still waiting."""
        waiting = self.calls - self.served - self.no_answer - self.no_ambulance
        busy = self.busy_min + sum(horizon - since for since in self.out.values())
        return {"calls": self.calls, "served": self.served, "no_answer": self.no_answer,
                "no_ambulance": self.no_ambulance, "waiting": waiting, "busy_min": busy,
                "redials": self.hotline.redials}
