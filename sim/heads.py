"""Servers of the model: heads, depot teams, the dispatch desk and fleets.

A :class:`Station` is a SimPy priority resource that keeps its own books (tasks,
busy minutes, longest queue) by subclassing, not by patching. :func:`serve` holds
a station for a task made of one or more timed steps and survives pre-emption: a
pre-empted step resumes with its remaining time once a staff member is free.
:func:`off_duty` keeps a head's people away during their off-duty windows.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

import simpy
from simpy.resources.resource import PriorityRequest

Step = tuple[float, Callable[[float], None] | None]
"""One timed piece of a task: minutes, and what to do when it ends (gets the time)."""


class Station(simpy.PreemptiveResource):
    """A staffed server with priority and pre-emption that monitors itself."""

    def __init__(self, env: simpy.Environment, name: str, capacity: int) -> None:
        super().__init__(env, capacity)
        self.name = name
        self.tasks = 0
        self.busy_min = 0.0
        self.max_queue = 0

    def request(self, priority: float = 0, preempt: bool = False) -> PriorityRequest:  # type: ignore[override]
        """Ask for one staff member; lower ``priority`` goes first."""
        request = PriorityRequest(self, priority, preempt)
        if len(self.queue) > self.max_queue:
            self.max_queue = len(self.queue)
        return request


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
    while True:
        request = station.request(priority, preempt)
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

    A head finishes the task in hand before going off duty. Requests with a smaller
    ``priority`` that pre-empt (critical emergencies) still reach an off-duty head.
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
                outcome = yield request | env.timeout(end - env.now)
                if request not in outcome:
                    request.cancel()
                    break
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
