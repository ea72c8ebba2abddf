"""Heads lost for a while (isolated as close contacts, ill, exhausted), and their backups.

A variant's ``lose_heads`` lists losses per level: a scheduled ``share`` of the
level's heads away from ``from`` to ``until``, and random losses at ``rate_per_day``
per head for a drawn ``duration`` each. Who is lost, when and for how long is drawn
before the clock from the ``losses`` stream (the same heads in every replication's
variants that share a chain). Overlapping periods of one head merge.

While a head is away, every staff member is held (the task in hand is cut short),
the head's waiting tasks move to the backup, and new tasks go to the backup too
(``Station.away``, followed by :func:`sim.heads.serve`): a ``deputy`` (one person
standing in, off duty in the head's hours), a ``sibling`` head under the same parent who is
not away (else the parent), the ``parent`` head (else a deputy), or the grid's
``helper`` pool (else a deputy). Tasks moved to a backup stay there; the head's new
work comes back when they return. Nothing is dropped: a task only changes hands.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from sim.chain import level_number
from sim.crews import Crews
from sim.demand import stream
from sim.heads import Station, off_duty
from sim.log import BooksRow
from sim.scenario import Scenario
from sim.scenario_flows import HeadLoss
from sim.site import Links

AWAY_PRIORITY = float("-inf")  # ahead of everything, pre-empting the task in hand
MOVED = "head lost"


class Losses:
    """Every loss of heads of one replication, scheduled before the clock."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, losses: list[HeadLoss],
                 stations: list[Station], chain: Links, crews: Crews, replication: int,
                 off_windows: dict[Station, list[tuple[float, float]]],
                 off_priority: float) -> None:
        self.env = env
        self.off_windows = off_windows  # filled by the model before the run
        self.off_priority = off_priority
        self.chain = chain
        self.crews = crews
        self.deputies: dict[Station, Station] = {}
        self.periods: dict[Station, list[tuple[float, float, str]]] = {}
        horizon = scenario.horizon
        rng = stream(scenario.seed, replication, "losses")
        for loss in losses:
            level = [s for s in stations if s.level == level_number(loss.level)]
            end = horizon if loss.until is None else min(loss.until, horizon)
            chosen = round(loss.share * len(level))
            picks = sorted(rng.choice(len(level), size=chosen, replace=False)) if chosen else []
            for k in picks:
                if loss.start < end:
                    self._add(level[k], loss.start, end, loss.backup)
            if loss.rate_per_day > 0:
                for station in level:
                    for start, stop in _poisson_periods(rng, loss, horizon):
                        self._add(station, start, stop, loss.backup)
        for station, periods in self.periods.items():
            self.periods[station] = _merged(periods)

    def start(self) -> None:
        """Start one process per lost head."""
        for station, periods in self.periods.items():
            self.env.process(self._away(station, periods))

    @property
    def head_minutes_lost(self) -> float:
        """Head-minutes away over the run (staff × period)."""
        return sum(s.capacity * (b - a) for s, p in self.periods.items() for a, b, _ in p)

    def resource_rows(self, horizon: float) -> list[BooksRow]:
        """One row for the deputies together, one for the heads lost (periods, minutes away)."""
        rows = []
        if self.deputies:
            deputies = list(self.deputies.values())
            busy = sum(d.busy_at(horizon) for d in deputies)
            rows.append(BooksRow("deputies", "beside", "deputy", "all", 0, len(deputies),
                                 sum(d.tasks for d in deputies), busy,
                                 busy / (len(deputies) * horizon),
                                 max(d.max_queue for d in deputies)))
        if self.periods:
            periods = sum(len(p) for p in self.periods.values())
            rows.append(BooksRow("heads_lost", "beside", "lost", "all", 0, len(self.periods),
                                 periods, self.head_minutes_lost, 0.0, 0))
        return rows

    def _add(self, station: Station, start: float, end: float, backup: str) -> None:
        self.periods.setdefault(station, []).append((start, end, backup))

    def _away(self, station: Station,
              periods: list[tuple[float, float, str]]) -> Generator[simpy.Event, object, None]:
        env = self.env
        for start, end, backup in periods:
            if start > env.now:
                yield env.timeout(start - env.now)
            station.away = self._backup(station, backup)
            for grant in [g for g in station.waiting() if not g.off]:
                station.leave(grant)
                grant.proc.interrupt(MOVED)
            holders = [station.request(AWAY_PRIORITY, True) for _ in range(station.capacity)]
            yield env.all_of(holders)
            yield env.timeout(end - env.now)
            station.away = None
            for grant in holders:
                station.release(grant)

    def _backup(self, station: Station, backup: str) -> Station:
        parent = self.chain.parent.get(station)
        if backup == "sibling" and parent is not None:
            kin = self.chain.children[parent]
            k = kin.index(station)
            for other in kin[k + 1:] + kin[:k]:
                if other.away is None:
                    return other
            backup = "parent"
        if backup == "parent" and parent is not None:
            return parent
        if backup == "helper":
            pool = next((s for s, n in self.crews.crew(station, "door")
                         if s is not station and n > 0), None)
            if pool is not None:
                return pool
        return self._deputy(station)

    def _deputy(self, station: Station) -> Station:
        if station not in self.deputies:
            deputy = Station(self.env, f"{station.name}-deputy", 1, station.level,
                             station.x_m, station.floor)
            deputy.lift = station.lift
            windows = self.off_windows.get(station)
            if windows:
                off_duty(self.env, deputy, windows, self.off_priority)
            self.deputies[station] = deputy
        return self.deputies[station]


def _poisson_periods(rng: np.random.Generator, loss: HeadLoss,
                     horizon: float) -> list[tuple[float, float]]:
    """Random losses of one head: Poisson starts at ``rate_per_day``, each for a drawn time."""
    periods = []
    end = horizon if loss.until is None else min(loss.until, horizon)
    t = loss.start
    while True:
        t += rng.exponential(1440.0 / loss.rate_per_day)
        if t >= end:
            return periods
        length = float(loss.duration.sample(rng, 1)[0])
        periods.append((t, min(t + length, horizon)))
        t += length


def _merged(periods: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Sorted, overlapping periods merged (the first period's backup kept)."""
    merged: list[tuple[float, float, str]] = []
    for start, end, backup in sorted(periods):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end), merged[-1][2])
        else:
            merged.append((start, end, backup))
    return merged
