"""The event log of one replication, kept as columns (arrays), not per-event objects.

The event loop records hundreds of thousands of stages per replication (millions for a
city district), so nothing here builds a Python object per record that outlives the
moment: requests live in typed arrays (flow, kind and status as small codes), and stage
rows are appended to typed column buffers (the stage and node names as references to
their strings) that are packed into numpy columns every :data:`CHUNK` rows, the names
turned into codes in bulk. A stage row then costs 29 bytes instead of a tuple of boxed
values (about 150 bytes). A request's stages tile its life: each stage starts where the
previous one ended, so their durations add up to the response time. Zero-length stages
are not recorded.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

IN_FLIGHT = "in_flight"
COMPLETED = "completed"
OUT_OF_STOCK = "out_of_stock"
NO_AMBULANCE = "no_ambulance_in_time"
NO_ANSWER = "hotline_not_answered"
MISSED_ROUND = "missed_round"  # absent or uninformed at a testing round (sim/flows/testing.py)
ABANDON_REASONS = frozenset({OUT_OF_STOCK, NO_AMBULANCE, NO_ANSWER, MISSED_ROUND})
"""Every reason a request may be given up for; any other status breaks conservation."""

CHUNK = 65_536
"""Stage rows buffered before they are packed into columns."""


class RequestRow(NamedTuple):
    """The columns of the request table (one row per request, as it stands at the horizon)."""

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
    """The columns of the stage table: one hop of a request."""

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


class _Requests:
    """Read-only view of the log's requests.

    ``log.requests[rid]`` is ``(flow, kind, household, created, completed, status)``.
    """

    __slots__ = ("_log",)

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def __len__(self) -> int:
        return len(self._log._created)

    def __getitem__(self, rid: int) -> tuple:
        log = self._log
        names = log.names
        return (names[log._flow[rid]], names[log._kind[rid]], log._household[rid],
                log._created[rid], log._completed[rid], names[log._status[rid]])

    def __iter__(self):
        return (self[rid] for rid in range(len(self)))


class EventLog:
    """Requests (id = position) and stage records of one replication, as columns."""

    __slots__ = ("names", "_code", "places", "_place", "_flow", "_kind", "_household",
                 "_created", "_completed", "_status", "_cursor", "_chunks", "sink",
                 "_rid", "_stage", "_node", "_level", "_start", "_end")

    def __init__(self, sink: Callable[[tuple[np.ndarray, ...]], None] | None = None) -> None:
        """A log keeping its stage rows, or handing each packed chunk to ``sink``.

        The chunk holds the columns of :class:`StageRow`, names as codes into
        :attr:`places`; a city district's run then holds no stage rows (see
        :class:`sim.stage_store.StageFile`).
        """
        self.names: list[str] = []  # request labels (flow, kind, status) by code
        self._code: dict[str, int] = {}
        self.places: list[str] = []  # stage names and nodes by code (a city has 100,000s)
        self._place: dict[str, int] = {}
        self._flow, self._kind, self._status = array("h"), array("h"), array("h")
        self._household = array("i")
        self._created, self._completed = array("d"), array("d")
        self._cursor: list[float] = []
        self._chunks: list[tuple[np.ndarray, ...]] = []
        self.sink = sink
        self._empty_buffers()
        self.code(IN_FLIGHT)
        self.code(COMPLETED)

    def code(self, label: str) -> int:
        """The small integer standing for a request label (flow, kind, status) in this log."""
        found = self._code.get(label)
        if found is None:
            found = self._code[label] = len(self.names)
            self.names.append(label)
        return found

    @property
    def requests(self) -> _Requests:
        """The requests as rows ``(flow, kind, household, created, completed, status)``."""
        return _Requests(self)

    def created(self, request_id: int) -> float:
        """When the request was opened."""
        return self._created[request_id]

    # ---- recording (called from the event loop) -----------------------------------------

    def new(self, flow: str, kind: str, household: int, created: float) -> int:
        """Open a request and return its id."""
        code = self._code
        self._flow.append(code.get(flow) if flow in code else self.code(flow))
        self._kind.append(code.get(kind) if kind in code else self.code(kind))
        self._household.append(household)
        self._created.append(created)
        self._completed.append(float("nan"))
        self._status.append(0)  # IN_FLIGHT
        self._cursor.append(created)
        return len(self._cursor) - 1

    def stage(self, request_id: int, stage: str, node: str, level: int, end: float) -> None:
        """Close the request's current stage at ``end``, attributed to ``node``."""
        start = self._cursor[request_id]
        if end > start:  # the row's appends inlined: the hottest call of the event loop
            self._rid.append(request_id)
            self._stage.append(stage)
            self._node.append(node)
            self._level.append(level)
            self._start.append(start)
            self._end.append(end)
            self._cursor[request_id] = end
            if len(self._rid) >= CHUNK:
                self._pack()

    def hop(self, request_id: int, stage: str, node: str, level: int, granted: float,
            end: float) -> None:
        """Close a wait for ``node`` (``queue``, until ``granted``) and its work (until ``end``)."""
        self.stage(request_id, "queue", node, level, granted)
        self.stage(request_id, stage, node, level, end)

    def stage_many(self, items: list[tuple], stage: str, node: str, level: int,
                   end: float) -> None:
        """Close the current stage of every request in ``items`` (id first) at ``end``."""
        cursor = self._cursor
        rids, stages, nodes = self._rid, self._stage, self._node
        levels, starts, ends = self._level, self._start, self._end
        for item in items:
            request_id = item[0]
            start = cursor[request_id]
            if end > start:
                rids.append(request_id)
                stages.append(stage)
                nodes.append(node)
                levels.append(level)
                starts.append(start)
                ends.append(end)
                cursor[request_id] = end
        if len(rids) >= CHUNK:
            self._pack()

    def complete(self, request_id: int, time: float) -> None:
        """Mark the request served at ``time``."""
        self._completed[request_id] = time
        self._status[request_id] = 1  # COMPLETED

    def abandon(self, request_id: int, time: float, reason: str) -> None:
        """Mark the request given up at ``time`` for ``reason``."""
        self._completed[request_id] = time
        self._status[request_id] = self.code(reason)

    # ---- reading (after the run) --------------------------------------------------------

    def request_columns(self) -> dict[str, np.ndarray]:
        """The requests as arrays: codes for ``flow``, ``kind``, ``status`` (see :attr:`names`)."""
        return {"flow": np.frombuffer(self._flow, dtype=np.int16).copy(),
                "kind": np.frombuffer(self._kind, dtype=np.int16).copy(),
                "household": np.frombuffer(self._household, dtype=np.int32).copy(),
                "created_min": np.frombuffer(self._created, dtype=np.float64).copy(),
                "completed_min": np.frombuffer(self._completed, dtype=np.float64).copy(),
                "status": np.frombuffer(self._status, dtype=np.int16).copy()}

    def stage_table(self, consume: bool = False) -> pd.DataFrame:
        """The stage rows as a compact frame (``stage`` and ``node`` categorical).

        ``consume`` empties the log as the columns are joined, one at a time: a city
        district's ten million rows are then held about once, not twice.
        """
        self._pack()
        names = pd.Index(self.places, dtype=object)
        chunks = [list(chunk) for chunk in self._chunks]
        if consume:
            self._chunks = []
        dtypes = (np.int32, np.int32, np.int32, np.int8, np.float64, np.float64)
        columns = []
        for c, dtype in enumerate(dtypes):
            columns.append(np.concatenate([chunk[c] for chunk in chunks]) if chunks
                           else np.zeros(0, dtype))
            for chunk in chunks:
                chunk[c] = None
        rid, stage, node, level, start, end = columns
        del columns
        return pd.DataFrame({
            "request_id": rid, "stage": labels_categorical(stage, names),
            "node": labels_categorical(node, names), "level": level,
            "start_min": start, "end_min": end}, copy=False)

    def stage_rows(self) -> int:
        """How many stage rows the log holds (not those handed to its sink)."""
        return sum(len(chunk[0]) for chunk in self._chunks) + len(self._rid)

    def _empty_buffers(self) -> None:
        """Fresh buffers for the stage rows not yet packed into columns."""
        self._rid, self._level = array("i"), array("b")
        self._start, self._end = array("d"), array("d")
        self._stage: list[str] = []
        self._node: list[str] = []

    def _pack(self) -> None:
        """Move the buffered stage rows into numpy columns (names as codes), or the sink."""
        if not self._rid:
            return
        chunk = (np.frombuffer(self._rid, dtype=np.int32).copy(),
                 self._place_codes(self._stage),
                 self._place_codes(self._node),
                 np.frombuffer(self._level, dtype=np.int8).copy(),
                 np.frombuffer(self._start, dtype=np.float64).copy(),
                 np.frombuffer(self._end, dtype=np.float64).copy())
        self._empty_buffers()
        if self.sink is not None:
            self.sink(chunk)
        else:
            self._chunks.append(chunk)

    def flush(self) -> None:
        """Pack the rows still buffered (into the sink, if there is one)."""
        self._pack()

    def _place_codes(self, labels: list[str]) -> np.ndarray:
        """Codes of stage or node names in :attr:`places`: hashed in bulk, new ones added."""
        local, uniques = pd.factorize(np.asarray(labels, dtype=object))
        places, lookup = self.places, self._place
        known = np.empty(len(uniques), dtype=np.int32)
        for k, label in enumerate(uniques):
            found = lookup.get(label)
            if found is None:
                found = lookup[label] = len(places)
                places.append(label)
            known[k] = found
        return known[local]


class Columns:
    """A trace kept as typed columns (``array``): no Python object outlives a row's append.

    ``Columns(point="i", time_min="d")``; ``add(3, 12.5)`` appends a row in that order.
    """

    __slots__ = ("_columns", "_appends")

    def __init__(self, **typecodes: str) -> None:
        self._columns = {name: array(code) for name, code in typecodes.items()}
        self._appends = tuple(column.append for column in self._columns.values())

    def add(self, *row: float) -> None:
        """Append one row, its values in the columns' order."""
        for append, value in zip(self._appends, row, strict=True):
            append(value)

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def frame(self, labels: dict[str, Sequence[str]] | None = None) -> pd.DataFrame:
        """The rows as a frame; a column named in ``labels`` holds codes into its labels."""
        labels = labels or {}
        data = {}
        for name, column in self._columns.items():
            values = np.frombuffer(column, dtype=column.typecode) if len(column) else \
                np.zeros(0, dtype=column.typecode)
            if name in labels:
                values = np.asarray(labels[name], dtype=object)[values]
            data[name] = values.copy() if values.base is not None else values
        return pd.DataFrame(data, copy=False)


def labels_categorical(codes: np.ndarray, names: pd.Index) -> pd.Categorical:
    """Codes into a log's labels (``names``) as a categorical of the labels used."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))  # in code order
    remap = np.full(len(names), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    return pd.Categorical.from_codes(remap[codes], categories=names[used])
