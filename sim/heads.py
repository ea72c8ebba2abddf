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
import math
from collections.abc import Callable, Generator, Sequence

import simpy
from simpy.resources.resource import Preempted

Step = tuple[float, Callable[[float], None] | None]
"""One timed piece of a task: minutes, and what to do when it ends (gets the time)."""


class RecordOnly:
    """A step's callback that only writes records: it may run late, with its step's end time.

    :func:`serve` given ``records_until`` runs a step ending in a ``RecordOnly`` (or in
    nothing) and the steps after it as one timeout, and calls each callback with the
    time its step ended: one event for a head's run of calls instead of one per call.
    A callback that starts processes or changes a station must not be one.
    """

    __slots__ = ("call",)

    def __init__(self, call: Callable[[float], None]) -> None:
        self.call = call

    def __call__(self, time: float) -> None:
        """Write the records of a step that ended at ``time``."""
        self.call(time)


def _delay_to(start: float, end: float) -> float:
    """The timeout delay that brings the clock from ``start`` to ``end``, to the bit if it can.

    ``start + (end - start)`` can miss ``end`` by a rounding step; a neighbouring delay
    then usually hits it, and the clock agrees to the bit with a run of single-step
    timeouts. (Where no delay hits it, rounding ties, the nearest is used.)
    """
    delay = end - start
    for _ in range(4):
        if start + delay == end:
            return delay
        delay = math.nextafter(delay, math.inf if start + delay < end else -math.inf)
    return end - start


def _run_ends(steps: Sequence[Step], index: int, first_end: float,
              until: float) -> list[float] | None:
    """End times of the steps from ``index`` that one timeout may serve, or None for one.

    Steps join while the step before ends in a :class:`RecordOnly` (or nothing) and the
    run still ends before ``until`` (the horizon: later records would never be written).
    """
    end = first_end
    ends = [end]
    k = index + 1
    while k < len(steps):
        done = steps[k - 1][1]
        if done is not None and type(done) is not RecordOnly:
            break
        end = end + steps[k][0]
        if end >= until:
            break
        ends.append(end)
        k += 1
    return ends if len(ends) > 1 else None


class Grant(simpy.Event):
    """A request for one staff member; succeeds when the member is assigned."""

    def __init__(self, station: Station, priority: float, preempt: bool,
                 key: tuple | None = None, resumed: bool = False, off: bool = False) -> None:
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
        self.working = -1.0  # start of the step being worked on now, or -1
        self.resumed = resumed  # asks again for a task that was pre-empted
        self.off = off  # holds a staff member off duty


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
        # Waiting requests in turn from ``_line[_head]`` on. The head moves forward
        # instead of popping the list's front: a district's depot holds hundreds of
        # thousands at once, and each pop(0) would copy them all.
        self._line: list[Grant | None] = []
        self._head = 0
        self.sequence = 0
        self.tasks = 0
        self.busy_min = 0.0
        self.max_queue = 0
        self.off_priority: float | None = None  # set when the station has off-duty windows
        self.lift: tuple[float, float, int] | None = None  # its building's lifts, if any
        self.away: Station | None = None  # while the head is lost: who takes new work

    @property
    def count(self) -> int:
        """Staff members busy now."""
        return len(self.users)

    @property
    def queue_length(self) -> int:
        """Requests waiting now."""
        return len(self._line) - self._head

    def waiting(self) -> list[Grant]:
        """The requests waiting now, in turn."""
        return self._line[self._head:]

    def leave(self, grant: Grant) -> None:
        """Take a waiting request out of the line without serving the next."""
        del self._line[self._line.index(grant, self._head)]

    def busy_at(self, now: float) -> float:
        """Minutes of work done by ``now``, the steps in progress included."""
        return self.busy_min + sum(now - g.working for g in self.users if g.working >= 0)

    def request(self, priority: float = 0, preempt: bool = False, key: tuple | None = None,
                resumed: bool = False, off: bool = False) -> Grant:
        """Ask for one staff member; lower ``priority`` goes first.

        ``key`` re-uses the place of an earlier request (a pre-empted task asking
        again keeps its turn ahead of later arrivals of its class). A request
        pre-empts only from the head of the queue: a pre-empting request never
        overtakes a better one already waiting.
        ``off`` marks a staff member going off duty, who finishes the task in hand
        first: ``resumed`` tasks (pre-empted ones asking again) rank ahead of it.
        """
        if self.off_priority is not None and (resumed or off):
            key = self._off_duty_order(key, off)
        grant = Grant(self, priority, preempt, key, resumed, off)
        line = self._line
        if len(self.users) < self.capacity and self._head == len(line):
            self._assign(grant, at_once=True)
            return grant
        # After any equal key: first come, first served (mostly the end of the line).
        if self._head == len(line) or line[-1].key <= grant.key:
            line.append(grant)
        else:
            bisect.insort_right(line, grant, lo=self._head, key=_key)
        self._serve_queue()
        if len(line) - self._head > self.max_queue:
            self.max_queue = len(line) - self._head
        return grant

    def release(self, grant: Grant) -> None:
        """Give the staff member back (or withdraw a request still waiting)."""
        try:
            self.users.remove(grant)
        except ValueError:
            try:
                self.leave(grant)
            except ValueError:
                return  # neither served nor waiting: already withdrawn or granted
        self._serve_queue()

    def _serve_queue(self) -> None:
        """Grant the head of the queue while a staff member is free, or while it can pre-empt.

        Only the head is served, so a pre-empting request never overtakes a better
        one already waiting; a pre-empting head pre-empts as soon as it is the head.
        """
        line, users = self._line, self.users
        while self._head < len(line):
            head = line[self._head]
            if len(users) >= self.capacity:
                if not head.preempt:
                    return
                victim = max(users, key=_key)
                if victim.key <= head.key:
                    return
                users.remove(victim)
                victim.proc.interrupt(Preempted(by=head.proc, usage_since=victim.usage_since,
                                                resource=self))
            line[self._head] = None
            self._head += 1
            if self._head == len(line):
                line.clear()
                self._head = 0
            elif self._head >= 1024 and 2 * self._head >= len(line):
                del line[:self._head]  # now and then, not per grant: O(1) a grant on average
                self._head = 0
            self._assign(head)

    cancel = release

    def _off_duty_order(self, key: tuple | None, off: bool) -> tuple | None:
        """Rank the task in hand ahead of a staff member going off duty.

        A resumed task asking while someone waits to go off duty ranks as the
        off-duty request does, and keeps its older turn; a new off-duty request
        first moves every resumed task already waiting ahead of it.
        """
        line = self.off_priority
        if off:
            waiting = self.waiting()
            moved = False
            for grant in waiting:
                if grant.resumed and grant.key[0] > line:
                    grant.key = (line, *grant.key[1:])
                    moved = True
            if moved:
                self._line[self._head:] = sorted(waiting, key=_key)
            return key
        if key is not None and key[0] > line and any(g.off for g in self.waiting()):
            return (line, *key[1:])
        return key

    def _assign(self, grant: Grant, at_once: bool = False) -> None:
        """Give ``grant`` a staff member: scheduled for a waiting requester, or ``at_once``.

        A grant made at once is born processed, so the requester goes straight on
        (SimPy resumes a process that yields a processed event without an event).
        """
        env = self.env
        grant.usage_since = env.now
        self.users.append(grant)
        # Event.succeed() without its checks: a grant is triggered exactly once, here.
        grant._ok = True
        grant._value = None
        if at_once:
            grant.callbacks = None
        else:
            env.schedule(grant)


def serve(
    env: simpy.Environment,
    station: Station,
    priority: float,
    preempt: bool,
    steps: Sequence[Step],
    on_grant: Callable[[float], None] | None = None,
    records_until: float | None = None,
) -> Generator[simpy.Event, object, float]:
    """Hold ``station`` for ``steps`` in turn; return the time the task was first granted.

    Use as ``granted = yield from serve(...)``; ``on_grant`` is called with that time
    too. Time lost to pre-emption waits is part of the task; the busy minutes count
    only the work done. Work for a head who is away (:mod:`sim.losses`) goes to the
    backup; a step cut short, or a task still waiting, when the head is lost moves too.
    With ``records_until``, steps after a :class:`RecordOnly` callback share one timeout
    (see :func:`_run_ends`); a pre-emption inside the run ends the steps done by then.
    """
    if station.away is not None:
        station = stand_in(station)
    station.tasks += 1
    granted = -1.0
    index = 0
    remaining = steps[0][0]
    key = None
    ends: list[float] | None = None  # the run of steps one timeout serves, if any
    while True:
        request = station.request(priority, preempt, key, resumed=key is not None)
        key = request.key
        start = -1.0
        try:
            yield request
            if granted < 0:
                granted = env.now
                if on_grant is not None:
                    on_grant(granted)
            while True:
                start = request.working = env.now
                if records_until is not None:
                    ends = _run_ends(steps, index, start + remaining, records_until)
                if ends is None:
                    yield env.timeout(remaining)
                    station.busy_min += remaining
                else:
                    yield env.timeout(_delay_to(start, ends[-1]))
                    station.busy_min += remaining  # added step by step, as single steps are
                    for k in range(len(ends) - 1):
                        station.busy_min += steps[index + k + 1][0]
                        done = steps[index + k][1]
                        if done is not None:
                            done(ends[k])
                    index += len(ends) - 1
                    ends = None
                request.working = -1.0
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
                if ends is not None:  # inside a run of steps: end those done by now
                    now, k = env.now, 0
                    while k < len(ends) - 1 and ends[k] <= now:
                        station.busy_min += remaining
                        done = steps[index + k][1]
                        if done is not None:
                            done(ends[k])
                        start = ends[k]
                        k += 1
                        remaining = steps[index + k][0]
                    index += k
                    ends = None
                worked = env.now - start
                station.busy_min += worked
                remaining -= worked
            if station.away is not None:  # the head is lost: the backup takes the task
                station = stand_in(station)
                station.tasks += 1
                key = None


class _SharedTask:
    """A divisible task: steps handed out, in order, to whoever of a crew is free."""

    __slots__ = ("steps", "next", "left", "done", "granted", "on_grant", "waiting")

    def __init__(self, env: simpy.Environment, steps: Sequence[Step],
                 on_grant: Callable[[float], None] | None) -> None:
        self.steps = steps
        self.next = 0
        self.left = len(steps)
        self.done = env.event()
        self.granted = -1.0
        self.on_grant = on_grant
        self.waiting: dict[Grant, Station] = {}


def serve_shared(
    env: simpy.Environment,
    crews: Sequence[tuple[Station, int]],
    priority: float,
    preempt: bool,
    steps: Sequence[Step],
    on_grant: Callable[[float], None] | None = None,
) -> Generator[simpy.Event, object, float]:
    """Share ``steps`` between up to ``n`` people of each ``(station, n)`` crew.

    Each person free to take part takes the next step not yet started, then the
    next, until none is left: a round of door drops split between the staff of a
    head and its helpers. People busy elsewhere join when they are free; those
    still waiting when the last step is taken withdraw. A step cut short by
    pre-emption is finished by the same person later. Returns the time the first
    person started; ``on_grant`` gets it too.
    """
    workers = [(station, min(n, len(steps))) for station, n in crews if n > 0]
    if not steps or not workers:
        raise ValueError("a shared task needs steps and at least one person")
    if len(workers) == 1 and workers[0][1] == 1:
        return (yield from serve(env, workers[0][0], priority, preempt, steps, on_grant))
    task = _SharedTask(env, steps, on_grant)
    for station, n in workers:
        for _ in range(n):
            env.process(_share(env, station, priority, preempt, task))
    yield task.done
    return task.granted


def _share(env: simpy.Environment, station: Station, priority: float, preempt: bool,
           task: _SharedTask) -> Generator[simpy.Event, object, None]:
    """One person's part in a shared task (see :func:`serve_shared`)."""
    if station.away is not None:
        station = stand_in(station)
    steps = task.steps
    key = None
    index = -1  # the step in hand, if any
    remaining = 0.0
    while True:
        if task.next == len(steps) and index < 0:
            return
        request = station.request(priority, preempt, key, resumed=index >= 0)
        key = request.key
        if index < 0:
            task.waiting[request] = station
        start = -1.0
        try:
            outcome = yield request
            if outcome == "withdrawn":
                return
            task.waiting.pop(request, None)
            if task.granted < 0:
                task.granted = env.now
                if task.on_grant is not None:
                    task.on_grant(env.now)
            if index < 0 and task.next < len(steps):
                station.tasks += 1
            while True:
                if index < 0:
                    if task.next == len(steps):
                        station.release(request)
                        return
                    index = task.next
                    task.next += 1
                    remaining = steps[index][0]
                    if task.next == len(steps):
                        _withdraw(task)
                start = request.working = env.now
                yield env.timeout(remaining)
                request.working = -1.0
                station.busy_min += remaining
                done = steps[index][1]
                index = -1
                if done is not None:
                    done(env.now)
                task.left -= 1
                if task.left == 0:
                    task.done.succeed()
        except simpy.Interrupt:
            if start >= 0:
                worked = env.now - start
                station.busy_min += worked
                remaining -= worked
            if station.away is not None:  # the head is lost: the backup takes the part
                task.waiting.pop(request, None)
                station = stand_in(station)
                key = None


def stand_in(station: Station) -> Station:
    """Who does the work of ``station`` now: itself, or its backup's stand-in while away.

    Follows backups who are away themselves; a loop of absent heads ends at the last
    one reached, whose work then waits for its return.
    """
    seen = {station}
    while station.away is not None and station.away not in seen:
        station = station.away
        seen.add(station)
    return station


def _withdraw(task: _SharedTask) -> None:
    """Every step is taken: people still waiting to join leave their queues."""
    for grant, station in task.waiting.items():
        if grant.usage_since >= 0:
            continue  # already given a staff member: finds nothing to do and leaves
        station.cancel(grant)
        grant._ok = True
        grant._value = "withdrawn"
        grant.env.schedule(grant)
    task.waiting.clear()


class Moments:
    """One timeout per clock time, shared by every process waiting for that time.

    Off-duty windows start and end at the same clock times for thousands of staff: a
    timeout each would keep a city district's event heap ten times longer than its
    live events (and every push and pop on it slower).
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._pending: dict[float, simpy.Timeout] = {}

    def at(self, time: float) -> simpy.Timeout:
        """The event that happens at ``time`` (not before now)."""
        event = self._pending.get(time)
        if event is None:
            event = self._pending[time] = self.env.timeout(time - self.env.now)
            event.callbacks.append(lambda _event: self._pending.pop(time, None))
        return event


def off_duty(
    env: simpy.Environment,
    station: Station,
    windows: Sequence[tuple[float, float]],
    priority: float,
    moments: Moments | None = None,
) -> list[simpy.Process]:
    """Start one process per staff member keeping them off duty in ``windows``.

    A head finishes the task in hand before going off duty (and then stays off only
    for what is left of the window). Requests with a smaller ``priority`` that
    pre-empt (critical emergencies) still reach an off-duty head. Staff wait for a
    window's start and end on ``moments`` (one per model shares the timeouts).
    """
    station.off_priority = priority
    moments = moments or Moments(env)
    return [
        env.process(_off_duty_slot(env, station, windows, priority, moments))
        for _ in range(station.capacity)
    ]


def _off_duty_slot(
    env: simpy.Environment,
    station: Station,
    windows: Sequence[tuple[float, float]],
    priority: float,
    moments: Moments,
) -> Generator[simpy.Event, object, None]:
    for start, end in windows:
        if start > env.now:
            yield moments.at(start)
        while env.now < end:
            request = station.request(priority, False, off=True)
            try:
                yield request
                if env.now < end:
                    yield moments.at(end)
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
