"""Testing rounds: sampling points, households called in batches, make-up tests.

At each round's start every household gets a request (``flow: testing``, kind
``round``). Each head of the ``point_level`` (a grid head by default) runs one
sampling point at its gate with ``tables`` tables. The head calls its households in
batches of ``batch`` (in the order of the chain: floor by floor, building by
building), a ``call`` time each on the head; called households walk to the gate and
queue for a table, where each person takes a ``sample`` time. The next batch is
called once at most ``call_ahead`` households of the last one still wait for a table,
so the queue stays short. A household is tested (request completed) when its last
person is sampled.

A drawn ``absent`` share of the households is away or uninformed at the call: once
the point's present households are all tested, the head lists them (their ``round``
request is abandoned as ``missed_round``) and, with ``makeup``, each gets a
``makeup`` request: the head phones them (``phone`` each), and their nearest head
tests them at the door once they are back (drawn ``back`` time after the round's
start): walk there, ``visit`` plus the samples, walk back. Calls, phone calls and
visits rank with notices: above supply, below every emergency.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import simpy

from sim.demand import stream
from sim.heads import Station, serve
from sim.log import MISSED_ROUND, BooksRow, Columns

if TYPE_CHECKING:
    from sim.site import Site

FLOW, ROUND, MAKEUP = "testing", "round", "makeup"
GATE_X_M, GATE_FLOOR = 0.0, 1


class TestingFlow:
    """Every testing round of one replication."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.env = site.env
        self.log = site.log
        scenario = site.scenario
        self.params = params = scenario.testing
        self.priority = site.supply_priority - 0.5
        self.rounds = [at for at in params.at if at < scenario.horizon]
        households = site.households
        n, r = len(households), len(self.rounds)
        # Sampling points: one per head at the point level (the top head where there is none).
        self.served: dict[Station, list[int]] = {}
        for hh, path in enumerate(site.paths_up_to(params.point_level)):
            self.served.setdefault(path[-1], []).append(hh)
        self.points = {head: Station(self.env, f"point-{head.name}", params.tables, 0,
                                     GATE_X_M, GATE_FLOOR) for head in self.served}
        rng = stream(scenario.seed, site.replication, "testing")
        # Per round and household, drawn before the clock (common random numbers).
        people = np.array([h.people for h in households])
        self.sample = params.sample.sample(rng, r * n).reshape(r, n) * people
        self.absent = rng.random((r, n)) < params.absent
        makeup = params.makeup
        if makeup is not None:
            self.back = makeup.back.sample(rng, r * n).reshape(r, n)
            self.visit = makeup.visit.sample(rng, r * n).reshape(r, n)
            self.phone = makeup.phone.sample(rng, r * n).reshape(r, n)
        self.call = params.call.sample(rng, r * n).reshape(r, n)  # a batch: its first's
        self.requests: list[list[int]] = []
        self._point_code = {point: k for k, point in enumerate(self.points.values())}
        self.waits = Columns(round="h", point="i", wait_min="d")  # minutes queued
        self.queue_trace = Columns(point="i", time_min="d", queue="q")  # queue length

    def trace(self) -> dict[str, pd.DataFrame]:
        """Each household's wait for a table, and each point's queue as it changed."""
        names = {"point": [point.name for point in self.points.values()]}
        return {"waits": self.waits.frame(names), "queue": self.queue_trace.frame(names)}

    def start(self) -> None:
        """Schedule every round."""
        for k, at in enumerate(self.rounds):
            self.env.process(self._round(k, at))

    def arrivals(self) -> dict[tuple[str, str], int]:
        """Requests the flow must account for: a round request per household and round.

        With make-up tests, one make-up per round request abandoned as missed (read
        off the log: every household listed as missed must have been given one).
        """
        counts: dict[tuple[str, str], int] = {}
        if self.rounds:
            counts[(FLOW, ROUND)] = len(self.rounds) * len(self.site.households)
        if self.params.makeup is not None:
            missed = sum(1 for rid in (r for rids in self.requests for r in rids)
                         if self.log.requests[rid][5] == MISSED_ROUND)
            if missed:
                counts[(FLOW, MAKEUP)] = missed
        return counts

    def resource_rows(self, horizon: float) -> list[BooksRow]:
        """Books of the sampling points."""
        rows = []
        for point in self.points.values():
            busy = point.busy_at(horizon)
            rows.append(BooksRow(point.name, "beside", "sampling_point", "all", 0,
                                 point.capacity, point.tasks, busy,
                                 busy / (point.capacity * horizon), point.max_queue))
        return rows

    # ---- the round ------------------------------------------------------------------------

    def _round(self, k: int, at: float) -> Generator[simpy.Event, object, None]:
        env, log = self.env, self.log
        if at > env.now:
            yield env.timeout(at - env.now)
        self.requests.append([log.new(FLOW, ROUND, hh, env.now)
                              for hh in range(len(self.site.households))])
        for head, members in self.served.items():
            env.process(self._point(k, head, members))

    def _point(self, k: int, head: Station,
               members: list[int]) -> Generator[simpy.Event, object, None]:
        env, log = self.env, self.log
        params = self.params
        point = self.points[head]
        rids = self.requests[k]
        attending = []
        for first in range(0, len(members), params.batch):
            batch = members[first:first + params.batch]
            granted = yield from serve(env, head, self.priority, False,
                                       ((self.call[k, batch[0]], None),))
            present = [hh for hh in batch if not self.absent[k, hh]]
            for hh in batch:
                if hh in present:
                    log.hop(rids[hh], "call", head.name, head.level, granted, env.now)
            waiting = [len(present)]
            ahead = env.event()
            if len(present) <= params.call_ahead:
                ahead.succeed()
            for hh in present:
                attending.append(env.process(self._attend(k, hh, point, waiting, ahead)))
            yield ahead
        yield env.all_of(attending)
        missed = [hh for hh in members if self.absent[k, hh]]
        for hh in missed:
            log.abandon(rids[hh], env.now, MISSED_ROUND)
        if params.makeup is not None and missed:
            made = [log.new(FLOW, MAKEUP, hh, env.now) for hh in missed]
            for rid, hh in zip(made, missed, strict=True):
                granted = yield from serve(env, head, self.priority, False,
                                           ((self.phone[k, hh], None),))
                log.hop(rid, "phone", head.name, head.level, granted, env.now)
                env.process(self._door(k, hh, rid))

    def _attend(self, k: int, hh: int, point: Station, waiting: list[int],
                ahead: simpy.Event) -> Generator[simpy.Event, object, None]:
        env, log, site = self.env, self.log, self.site
        household = site.households[hh]
        rid = self.requests[k][hh]
        yield env.timeout(site.walk_min(household.x_m, household.floor, GATE_X_M, GATE_FLOOR,
                                        household.lift))
        log.stage(rid, "walk", household.node, 6, env.now)
        arrived = env.now
        code = self._point_code[point]
        self.queue_trace.add(code, env.now, point.queue_length + 1
                             - (point.count < point.capacity))

        def seated(time: float) -> None:
            self.waits.add(k, code, time - arrived)
            waiting[0] -= 1
            if waiting[0] <= self.params.call_ahead and not ahead.triggered:
                ahead.succeed()
            self.queue_trace.add(code, time, point.queue_length)

        granted = yield from serve(env, point, 0, False, ((self.sample[k, hh], None),),
                                   on_grant=seated)
        log.hop(rid, "sample", point.name, 0, granted, env.now)
        log.complete(rid, env.now)

    def _door(self, k: int, hh: int, rid: int) -> Generator[simpy.Event, object, None]:
        env, log, site = self.env, self.log, self.site
        back = self.rounds[k] + self.back[k, hh]
        if back > env.now:
            yield env.timeout(back - env.now)
            log.stage(rid, "away", site.households[hh].node, 6, env.now)
        household = site.households[hh]
        nearest = household.path[0]
        walk = site.walk_min(nearest.x_m, nearest.floor, household.x_m, household.floor,
                             household.lift)
        done: list[float] = []
        granted = yield from serve(
            env, nearest, self.priority, False,
            ((walk + self.visit[k, hh] + self.sample[k, hh], done.append), (walk, None)))
        log.hop(rid, "door", nearest.name, nearest.level, granted, done[0])
        log.complete(rid, done[0])
