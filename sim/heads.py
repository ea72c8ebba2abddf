"""Servers of the model: heads, depot teams, the dispatch desk and fleets.

A :class:`Station` is a priority resource with pre-emption, built on SimPy events,
that keeps its own books (tasks, busy minutes, longest queue). It behaves as
``simpy.PreemptiveResource`` does (lower priority value first, first come first
served within a priority, a pre-empting request interrupts the lowest-priority
holder), but hands a free staff member to the next request the moment one is
released instead of scheduling a release event and re-sorting its queue on every
request: the drill spends most of its time in requests and releases.

:func:`serve` holds a station for a task made of one or more timed steps and
survives pre-emption: a pre-empted step resumes with its remaining time once a
staff member is free. :func:`off_duty` keeps a head's people away during their
off-duty windows.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Generator, Sequence

import simpy
from simpy.resources.resource import Preempted

Step = tuple[float, Callable[[float], None] | None]
"""One timed piece of a task: minutes, and what to do when it ends (gets the time)."""


class Grant(simpy.Event):
    """A request for one staff member; succeeds when the member is assigned."""

    def __init__(self, station: Station, priority: float, preempt: bool,
                 key: tuple | None = None) -> None:
        # simpy.Event.__init__ inlined: a grant is made for every task of the drill.
        self.env = station.env
        self.callbacks = []
        if key is None:
            station.sequence += 1
            key = (priority, station.sequence)
        self.key = key
        self.preempt = preempt
        self.proc = station.env.active_process
        self.usage_since = -1.0


def _key(grant: Grant) -> tuple:
    return grant.key


class Station:
    """A staffed server with priority and pre-emption that monitors itself."""

    def __init__(self, env: simpy.Environment, name: str, capacity: int, level: int = 0,
                 x_m: float = 0.0, floor: int = 1) -> None:
        self.env = env
        self.name = name
        self.capacity = capacity
        self.level = level  # 1-5 for heads, 0 for the depot, fleets and dispatch
        self.x_m = x_m  # access point: metres from the grid gate, and storey
        self.floor = floor
        self.users: list[Grant] = []
        self.queue: list[Grant] = []
        self.sequence = 0
        self.tasks = 0
        self.busy_min = 0.0
        self.max_queue = 0

    @property
    def count(self) -> int:
        """Staff members busy now."""
        return len(self.users)

    def request(self, priority: float = 0, preempt: bool = False,
                key: tuple | None = None) -> Grant:
        """Ask for one staff member; lower ``priority`` goes first.

        ``key`` re-uses the place of an earlier request (a pre-empted task asking
        again keeps its turn ahead of later arrivals of its class).
        """
        grant = Grant(self, priority, preempt, key)
        users = self.users
        if len(users) < self.capacity:
            self._assign(grant)
            return grant
        if preempt:
            victim = max(users, key=_key)
            if victim.key > grant.key:
                users.remove(victim)
                victim.proc.interrupt(Preempted(by=grant.proc, usage_since=victim.usage_since,
                                                resource=self))
                self._assign(grant)
                return grant
        bisect.insort_right(self.queue, grant, key=_key)
        if len(self.queue) > self.max_queue:
            self.max_queue = len(self.queue)
        return grant

    def release(self, grant: Grant) -> None:
        """Give the staff member back (or withdraw a request still waiting)."""
        try:
            self.users.remove(grant)
        except ValueError:
            if grant in self.queue:
                self.queue.remove(grant)
            return
        queue = self.queue
        while queue and len(self.users) < self.capacity:
            self._assign(queue.pop(0))

    cancel = release

    def _assign(self, grant: Grant) -> None:
        env = self.env
        grant.usage_since = env.now
        self.users.append(grant)
        # Event.succeed() without its checks: a grant is triggered exactly once, here.
        grant._ok = True
        grant._value = None
        env.schedule(grant)


def serve(
    env: simpy.Environment,
    station: Station,
    priority: float,
    preempt: bool,
    steps: Sequence[Step],
    on_grant: Callable[[float], None] | None = None,
) -> Generator[simpy.Event, object, float]:
    """Hold ``station`` for ``steps`` in turn; return the time the task was first granted.

    Use as ``granted = yield from serve(...)``; ``on_grant`` is called with that time
    too. Time lost to pre-emption waits is part of the task; the busy minutes count
    only the work done.
    """
    station.tasks += 1
    granted = -1.0
    index = 0
    remaining = steps[0][0]
    key = None
    while True:
        request = station.request(priority, preempt, key)
        key = request.key
        start = -1.0
        try:
            yield request
            if granted < 0:
                granted = env.now
                if on_grant is not None:
                    on_grant(granted)
            while True:
                start = env.now
                yield env.timeout(remaining)
                station.busy_min += remaining
                done = steps[index][1]
                if done is not None:
                    done(env.now)
                index += 1
                if index == len(steps):
                    station.release(request)
                    return granted
                remaining = steps[index][0]
        except simpy.Interrupt:
            # Pre-empted: the resource has already taken the staff member away.
            if start >= 0:
                worked = env.now - start
                station.busy_min += worked
                remaining -= worked


def off_duty(
    env: simpy.Environment,
    station: Station,
    windows: Sequence[tuple[float, float]],
    priority: float,
) -> list[simpy.Process]:
    """Start one process per staff member keeping them off duty in ``windows``.

    A head finishes the task in hand before going off duty (and then stays off only
    for what is left of the window). Requests with a smaller ``priority`` that
    pre-empt (critical emergencies) still reach an off-duty head.
    """
    return [
        env.process(_off_duty_slot(env, station, windows, priority))
        for _ in range(station.capacity)
    ]


def _off_duty_slot(
    env: simpy.Environment,
    station: Station,
    windows: Sequence[tuple[float, float]],
    priority: float,
) -> Generator[simpy.Event, object, None]:
    for start, end in windows:
        if start > env.now:
            yield env.timeout(start - env.now)
        while env.now < end:
            request = station.request(priority, False)
            try:
                yield request
                if env.now < end:
                    yield env.timeout(end - env.now)
                station.release(request)
            except simpy.Interrupt:
                continue


def daily_windows(
    windows: Sequence[tuple[float, float]], start_clock: float, horizon: float
) -> list[tuple[float, float]]:
    """Daily clock windows as model-time intervals within [0, horizon], merged and sorted."""
    intervals = []
    days = int(horizon // 1440) + 2
    for day in range(-1, days):
        for begin, end in windows:
            length = (end - begin) % 1440
            t0 = day * 1440 + begin - start_clock
            t1 = t0 + length
            if t1 > 0 and t0 < horizon:
                intervals.append((max(t0, 0.0), min(t1, horizon)))
    intervals.sort()
    merged: list[tuple[float, float]] = []
    for begin, end in intervals:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged
