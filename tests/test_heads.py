"""Stations against ``simpy.PreemptiveResource``, off duty, shared work and busy time."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import simpy
from simpy.resources.resource import PriorityRequest, Request

from sim.heads import Moments, RecordOnly, Station, off_duty, serve, serve_shared

# ---- the reference: SimPy's own pre-emptive resource ----------------------------------------
#
# ``simpy.PreemptiveResource`` lets only the head of its queue pre-empt, and tries the
# head once per request or release: a pre-empting request that becomes the head on a
# release waits for the next request to try. The reference below tries again as long
# as the head gets a staff member (``_do_put`` says "proceed"), so a pre-empting head
# pre-empts the moment it is the head, as the model's stations do.


class EagerPreemptiveResource(simpy.PreemptiveResource):
    """SimPy's pre-emptive resource, serving its queue head until the head must wait."""

    def _do_put(self, event: PriorityRequest) -> bool:
        super()._do_put(event)
        return event.triggered



class KeyedRequest(PriorityRequest):
    """A SimPy priority request whose sort key is given (a pre-empted task keeps its turn)."""

    def __init__(self, resource: EagerPreemptiveResource, priority: float, preempt: bool,
                 key: tuple) -> None:
        self.priority, self.preempt, self.time = priority, preempt, resource._env.now
        self.usage_since = None
        self.key = key
        Request.__init__(self, resource)


def reference_task(env, resource, counter, at, priority, preempt, steps, log, name):
    yield env.timeout(at)
    granted, index, remaining, key = -1.0, 0, steps[0], None
    while True:
        key = key or (priority, next(counter))
        request = KeyedRequest(resource, priority, preempt, key)
        start = -1.0
        try:
            yield request
            if granted < 0:
                granted = env.now
            while True:
                start = env.now
                yield env.timeout(remaining)
                index += 1
                if index == len(steps):
                    resource.release(request)
                    log[name] = (granted, env.now)
                    return
                remaining = steps[index]
        except simpy.Interrupt:
            if start >= 0:
                remaining -= env.now - start


def station_task(env, station, at, priority, preempt, steps, log, name):
    yield env.timeout(at)
    granted = yield from serve(env, station, priority, preempt, [(s, None) for s in steps])
    log[name] = (granted, env.now)


def random_trial(rng: np.random.Generator) -> tuple[int, list[tuple]]:
    capacity = int(rng.integers(1, 4))
    tasks = []
    for _ in range(int(rng.integers(4, 14))):
        steps = rng.exponential(5.0, int(rng.integers(1, 3))).tolist()
        tasks.append((float(rng.uniform(0, 40)), int(rng.integers(0, 4)),
                      bool(rng.random() < 0.5), steps))
    return capacity, tasks


def run_both(capacity: int, tasks: list[tuple]) -> tuple[dict, dict]:
    ours, theirs = {}, {}
    env = simpy.Environment()
    station = Station(env, "head", capacity)
    for n, (at, priority, preempt, steps) in enumerate(tasks):
        env.process(station_task(env, station, at, priority, preempt, steps, ours, n))
    env.run()
    env = simpy.Environment()
    resource = EagerPreemptiveResource(env, capacity)
    counter = itertools.count(1)
    for n, (at, priority, preempt, steps) in enumerate(tasks):
        env.process(reference_task(env, resource, counter, at, priority, preempt, steps,
                                   theirs, n))
    env.run()
    return ours, theirs


def test_station_serves_as_simpy_preemptive_resource() -> None:
    rng = np.random.default_rng(20221)
    differ = 0
    for _ in range(3000):
        capacity, tasks = random_trial(rng)
        ours, theirs = run_both(capacity, tasks)
        assert set(ours) == set(theirs) == set(range(len(tasks)))
        if any(ours[n] != pytest.approx(theirs[n], abs=1e-9) for n in ours):
            differ += 1
    assert differ == 0


def test_a_preempting_request_never_overtakes_a_better_one_waiting() -> None:
    # supply in hand; critical arrives without pre-empting; urgent arrives pre-empting
    tasks = [(0.0, 5, False, [10.0]), (1.0, 0, False, [3.0]), (2.0, 1, True, [3.0])]
    ours, theirs = run_both(1, tasks)
    assert ours == theirs
    assert ours[1] == (10.0, 13.0)  # critical first, when the supply task is done
    assert ours[2] == (13.0, 16.0)


# ---- off duty ---------------------------------------------------------------------------------


def test_off_duty_head_finishes_a_preempted_task_first() -> None:
    """A 20-minute task from 22:25 is pre-empted at 22:35 (window from 22:30): the head
    finishes it after the critical case, then goes off duty until 07:00."""
    env = simpy.Environment()
    station = Station(env, "floor", 1)
    off_duty(env, station, [(22.5 * 60, 31 * 60)], priority=0.5)
    log: dict = {}
    env.process(station_task(env, station, 22 * 60 + 25, 4, False, [20.0], log, "supply"))
    env.process(station_task(env, station, 22 * 60 + 35, 0, True, [5.0], log, "critical"))
    env.process(station_task(env, station, 22 * 60 + 36, 4, False, [5.0], log, "later"))
    env.run(until=40 * 60)
    assert log["critical"] == (22 * 60 + 35, 22 * 60 + 40)
    assert log["supply"] == (22 * 60 + 25, 22 * 60 + 50)  # 10 done + 5 critical + 10 left
    assert log["later"] == (31 * 60, 31 * 60 + 5)  # new work waits for the morning


def test_off_duty_head_preempted_before_window_still_finishes() -> None:
    """Pre-empted at 22:20, still waiting when the window opens at 22:30: finished first."""
    env = simpy.Environment()
    station = Station(env, "floor", 1)
    off_duty(env, station, [(22.5 * 60, 31 * 60)], priority=0.5)
    log: dict = {}
    env.process(station_task(env, station, 22 * 60, 4, False, [30.0], log, "supply"))
    env.process(station_task(env, station, 22 * 60 + 20, 0, True, [15.0], log, "critical"))
    env.run(until=40 * 60)
    assert log["supply"] == (22 * 60, 22 * 60 + 45)  # 20 done, critical 15, 10 left


# ---- shared work ------------------------------------------------------------------------------


def shared_round(staff: int, helpers: int = 0, steps: int = 12,
                 minutes: float = 10.0) -> tuple[float, list[float], Station]:
    env = simpy.Environment()
    head = Station(env, "grid", staff)
    pool = Station(env, "helpers", max(helpers, 1))
    done: list[float] = []
    finished: list[float] = []

    def task():
        crews = [(head, staff), (pool, helpers)]
        yield from serve_shared(env, crews, 4, False,
                                [(minutes, done.append) for _ in range(steps)])
        finished.append(env.now)

    env.process(task())
    env.run()
    return finished[0], done, head


@pytest.mark.parametrize("staff", [1, 2, 3, 4])
def test_staff_split_a_round(staff: int) -> None:
    end, done, head = shared_round(staff)
    assert end == pytest.approx(10.0 * np.ceil(12 / staff))
    assert len(done) == 12
    assert head.busy_min == pytest.approx(120.0)
    assert head.count == 0 and head.queue_length == 0


def test_helpers_join_the_round() -> None:
    end, done, _ = shared_round(staff=1, helpers=3)
    assert end == pytest.approx(30.0)


def test_busy_member_joins_later_and_idle_ones_withdraw() -> None:
    env = simpy.Environment()
    head = Station(env, "grid", 3)
    log: dict = {}
    finished = []
    env.process(station_task(env, head, 0, 4, False, [15.0], log, "busy"))

    def task():
        yield env.timeout(1)
        yield from serve_shared(env, [(head, 3)], 4, False, [(10.0, None)] * 5)
        finished.append(env.now)

    env.process(task())
    env.run()
    # two free people take two steps each (1-11, 11-21); the third joins at 15 and takes
    # the fifth (15-25)
    assert finished == [pytest.approx(25.0)]
    assert head.count == 0 and head.queue_length == 0
    assert head.busy_min == pytest.approx(65.0)
    assert head.tasks == 4  # the busy task, and the three people who took part


def test_people_still_busy_when_every_step_is_taken_withdraw() -> None:
    env = simpy.Environment()
    head = Station(env, "grid", 3)
    finished = []
    env.process(station_task(env, head, 0, 4, False, [40.0], {}, "busy"))

    def task():
        yield env.timeout(1)
        yield from serve_shared(env, [(head, 3)], 4, False, [(10.0, None)] * 5)
        finished.append(env.now)

    env.process(task())
    env.run(until=30)
    # two free people take the steps (1-11, 11-21, 21-31); the last step is taken at 21,
    # so the third person, busy until 40, leaves the queue at once
    assert head.queue_length == 0
    env.run()
    assert finished == [pytest.approx(31.0)]
    assert head.tasks == 3  # the busy task and the two who took part
    assert head.count == 0


def test_shared_round_survives_preemption() -> None:
    env = simpy.Environment()
    head = Station(env, "grid", 2)
    log: dict = {}
    finished = []

    def task():
        yield from serve_shared(env, [(head, 2)], 4, False, [(10.0, None)] * 4)
        finished.append(env.now)

    env.process(task())
    env.process(station_task(env, head, 5, 0, True, [3.0], log, "critical"))
    env.run()
    assert log["critical"] == (5, 8)
    assert finished == [pytest.approx(23.0)]
    assert head.busy_min == pytest.approx(43.0)


def test_busy_time_counts_work_in_progress_at_the_horizon() -> None:
    env = simpy.Environment()
    head = Station(env, "grid", 1)
    env.process(station_task(env, head, 0, 4, False, [100.0], {}, "long"))
    env.run(until=30)
    assert head.busy_min == 0
    assert head.busy_at(30) == pytest.approx(30.0)


# ---- runs of record-only steps served by one timeout -------------------------------------


def recording_trial(rng: np.random.Generator, coalesce: bool, until: float) -> tuple:
    """Tasks of many steps whose callbacks record their end times, some record-only."""
    env = simpy.Environment()
    station = Station(env, "head", int(rng.integers(1, 3)))
    ends: dict = {}
    tasks: dict = {}
    events = 0

    def task(n, at, priority, preempt, steps):
        yield env.timeout(at)
        granted = yield from serve(env, station, priority, preempt, steps,
                                   records_until=until if coalesce else None)
        tasks[n] = (granted, env.now)

    for n in range(int(rng.integers(3, 9))):
        steps = []
        for k in range(int(rng.integers(1, 8))):
            def record(time, key=(n, k)):
                ends[key] = time
            plain = rng.random() < 0.2
            steps.append((float(rng.exponential(3.0)), record if plain else RecordOnly(record)))
        env.process(task(n, float(rng.uniform(0, 30)), int(rng.integers(0, 3)),
                         bool(rng.random() < 0.4), steps))
    while env.peek() < until:
        env.step()
        events += 1
    return tasks, ends, station.busy_at(until), events


def test_record_only_runs_time_every_step_as_separate_timeouts_would() -> None:
    """Same grants, ends, records and busy minutes, pre-emption and horizon included."""
    fewer = 0
    for seed in range(400):
        until = 25.0 + seed % 40
        one = recording_trial(np.random.default_rng(seed), False, until)
        merged = recording_trial(np.random.default_rng(seed), True, until)
        assert merged[0].keys() == one[0].keys()
        for n in one[0]:
            assert merged[0][n] == pytest.approx(one[0][n], abs=1e-9)
        assert merged[1].keys() == one[1].keys()  # nothing recorded past the horizon
        for key in one[1]:
            assert merged[1][key] == pytest.approx(one[1][key], abs=1e-9)
        assert merged[2] == pytest.approx(one[2], abs=1e-9)
        assert merged[3] <= one[3]
        fewer += merged[3] < one[3]
    assert fewer > 300


def test_a_run_of_calls_is_one_event_and_a_preemption_splits_it() -> None:
    env = simpy.Environment()
    head = Station(env, "floor", 1)
    told: list[float] = []
    steps = [(1.0, RecordOnly(told.append)) for _ in range(10)]
    log: dict = {}

    def tells():
        yield from serve(env, head, 4, False, steps, records_until=100.0)
        log["tells"] = env.now

    env.process(tells())
    env.process(station_task(env, head, 3.5, 0, True, [2.0], log, "critical"))
    events = 0
    while env.peek() < 100.0:
        env.step()
        events += 1
    assert told == pytest.approx([1, 2, 3, 6, 7, 8, 9, 10, 11, 12])  # step 4 half done at 3.5
    assert log == {"critical": (3.5, 5.5), "tells": pytest.approx(12.0)}
    assert head.busy_min == pytest.approx(12.0)
    # tells: start, grant, one run, interrupt, a grant and a run again, end;
    # the critical task: start, its delay, grant, work, end: against 10 timeouts a run.
    assert events <= 12


def test_a_long_line_is_served_as_simpy_serves_it() -> None:
    """Thousands waiting at once (a district depot's packages): the line's head moves on
    and the list is compacted now and then; the order stays SimPy's, pre-emption included."""
    rng = np.random.default_rng(7)
    tasks = [(float(rng.uniform(0, 5)), int(rng.integers(0, 3)), bool(rng.random() < 0.05),
              [float(rng.exponential(0.5))]) for _ in range(5000)]
    ours, theirs = run_both(2, tasks)
    assert ours.keys() == theirs.keys() == set(range(len(tasks)))
    assert all(ours[n] == pytest.approx(theirs[n], abs=1e-9) for n in ours)


def test_a_waiting_request_withdrawn_from_a_long_line() -> None:
    env = simpy.Environment()
    depot = Station(env, "depot", 1)
    grants = [depot.request(4) for _ in range(3000)]
    for grant in grants[1:1500]:  # the first is served; these leave the line while waiting
        depot.release(grant)
    assert depot.queue_length == 1500
    depot.release(grants[2000])  # withdrawn while waiting
    assert depot.queue_length == 1499 and grants[2000] not in depot.waiting()
    assert depot.waiting()[0] is grants[1500] and depot.max_queue == 2999


def test_staff_waiting_for_the_same_moment_share_one_timeout() -> None:
    env = simpy.Environment()
    moments = Moments(env)
    woke: list[tuple[int, float]] = []

    def staff(n: int, at: float):
        yield moments.at(at)
        woke.append((n, env.now))

    for n in range(50):
        env.process(staff(n, 480.0 if n % 2 else 1020.0))
    env.run(until=1)
    pending = [event for *_, event in env._queue if isinstance(event, simpy.Timeout)]
    assert len(pending) == 2  # two moments pending, not fifty timeouts
    env.run()
    assert [n for n, _ in woke] == [*range(1, 50, 2), *range(0, 50, 2)]  # in turn
    assert {t for _, t in woke} == {480.0, 1020.0} and not moments._pending
