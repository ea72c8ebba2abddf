"""The event log of one replication: fixed-schema records appended during the run.

Requests and their stages are plain lists (no DataFrame work inside the event
loop). A request's stages tile its life: each stage starts where the previous one
ended, so their durations add up to the response time. Zero-length stages are not
recorded.
"""

from __future__ import annotations

from typing import NamedTuple

IN_FLIGHT = "in_flight"
COMPLETED = "completed"
OUT_OF_STOCK = "out_of_stock"
NO_AMBULANCE = "no_ambulance_in_time"
NO_ANSWER = "hotline_not_answered"
MISSED_ROUND = "missed_round"  # absent or uninformed at a testing round (sim/flows/testing.py)
ABANDON_REASONS = frozenset({OUT_OF_STOCK, NO_AMBULANCE, NO_ANSWER, MISSED_ROUND})
"""Every reason a request may be given up for; any other status breaks conservation."""


class RequestRow(NamedTuple):
    """One request of a run, as it stands at the horizon."""

    request_id: int
    flow: str
    kind: str
    household: str
    household_group: str
    area: str
    grid: str
    created_min: float
    completed_min: float  # NaN while in flight
    status: str


class StageRow(NamedTuple):
    """One hop of a request.

    The log appends plain tuples in this order (the event loop makes hundreds of
    thousands of them); ``StageRow._make(row)`` reads one by name.
    """

    request_id: int
    stage: str
    node: str
    level: int
    start_min: float
    end_min: float


class BooksRow(NamedTuple):
    """A head's or resource's books for one run."""

    node: str
    level: str
    role: str
    area: str
    households_served: int
    staff: int
    tasks: int
    busy_min: float
    utilisation: float
    max_queue: int


class EventLog:
    """Requests (one mutable row each, id = position) and stage records."""

    __slots__ = ("requests", "stages", "_cursor")

    def __init__(self) -> None:
        self.requests: list[list] = []
        self.stages: list[tuple] = []
        self._cursor: list[float] = []

    def new(self, flow: str, kind: str, household: int, created: float) -> int:
        """Open a request and return its id."""
        self.requests.append([flow, kind, household, created, float("nan"), IN_FLIGHT])
        self._cursor.append(created)
        return len(self.requests) - 1

    def stage(self, request_id: int, stage: str, node: str, level: int, end: float) -> None:
        """Close the request's current stage at ``end``, attributed to ``node``."""
        start = self._cursor[request_id]
        if end > start:
            self.stages.append((request_id, stage, node, level, start, end))
            self._cursor[request_id] = end

    def hop(self, request_id: int, stage: str, node: str, level: int, granted: float,
            end: float) -> None:
        """Close a wait for ``node`` (``queue``, until ``granted``) and its work (until ``end``)."""
        cursor = self._cursor
        start = cursor[request_id]
        if granted > start:
            self.stages.append((request_id, "queue", node, level, start, granted))
            start = granted
        if end > start:
            self.stages.append((request_id, stage, node, level, start, end))
            cursor[request_id] = end
        else:
            cursor[request_id] = start

    def stage_many(self, items: list[tuple], stage: str, node: str, level: int,
                   end: float) -> None:
        """Close the current stage of every request in ``items`` (id first) at ``end``."""
        cursor, append = self._cursor, self.stages.append
        for item in items:
            request_id = item[0]
            start = cursor[request_id]
            if end > start:
                append((request_id, stage, node, level, start, end))
                cursor[request_id] = end

    def complete(self, request_id: int, time: float) -> None:
        """Mark the request served at ``time``."""
        row = self.requests[request_id]
        row[4] = time
        row[5] = COMPLETED

    def abandon(self, request_id: int, time: float, reason: str) -> None:
        """Mark the request given up at ``time`` for ``reason``."""
        row = self.requests[request_id]
        row[4] = time
        row[5] = reason
