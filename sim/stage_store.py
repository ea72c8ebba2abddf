"""The kept hop-by-hop stage log of many runs, on disk until someone reads it whole.

A city district's kept stage log is tens of millions of rows, about a gigabyte as
columns: held by the main process beside the request rows, it took that process past
3.8 GB, and a worker beside its model past 2.5 GB. So a run's log hands each packed
chunk of stage rows to an Arrow file in a spool folder (:class:`StageFile`), and the
results hold a :class:`StageStore` of those files: writing ``stages.csv`` streams them
a slice at a time (:meth:`StageStore.slices`), the decision reads only the hops it
needs (:meth:`StageStore.select`), and ``Results.stages`` joins the whole frame only
when an analyst asks for it (:meth:`StageStore.frame`). Runs on a Dask cluster share
no folder with the main process: they return their rows, and the store holds those
frames instead.

The spool folder lives in the system's temporary folder and is removed when no store
uses it any more, or when the interpreter exits.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from sim.log import StageRow, labels_categorical
from sim.workers import alive

_remove_tree = shutil.rmtree  # bound once: the finalizer outlives any later patching
PREFIX = "sim-stages-"
"""Name prefix of spool folders in the system's temporary folder."""
KEYS = ("variant", "replication")
"""The columns a run's stage rows get in front when runs are joined."""


class Spool:
    """A temporary folder for the runs' stage files, removed once nothing refers to it.

    Its name carries the process id: a spool left by a killed process (nothing runs on
    SIGKILL) is removed by the next spool made on the machine.
    """

    def __init__(self) -> None:
        _remove_orphans()
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        self._remove = weakref.finalize(self, _remove_tree, str(self.path), True)

    def remove(self) -> None:
        """Delete the folder and its files now (an interrupted experiment)."""
        self._remove()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()  # a command's spool goes when the command ends, however it ends


def _remove_orphans() -> None:
    """Remove spool folders whose process is gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = folder.name[len(PREFIX):].split("-")[0]
        if pid.isdigit() and not alive(int(pid)):
            _remove_tree(folder, True)


def stage_file_path(folder: str | Path, variant: str, replication: int) -> str:
    """Where a run's stage rows go in the spool ``folder``."""
    name = hashlib.sha1(variant.encode()).hexdigest()[:16]
    return str(Path(folder) / f"{name}-{replication:05d}.arrow")


CODES = pa.schema([("request_id", pa.int32()), ("stage", pa.int32()), ("node", pa.int32()),
                   ("level", pa.int8()), ("start_min", pa.float64()), ("end_min", pa.float64())])
"""A stage file's columns: the log's packed chunks, stage and node names as codes."""


class StageFile:
    """A run's stage rows as they are packed, in an Arrow file: the log's sink.

    Each chunk the log (:class:`sim.log.EventLog`) packs becomes a record batch, so the
    run holds none of its stage rows. The names the codes stand for (the log's
    ``places``) go beside the file, in ``<file>.names``, when it is closed.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.rows = 0
        self._file = pa.OSFile(path, "wb")
        self._writer = pa.ipc.new_file(self._file, CODES)

    def __call__(self, chunk: tuple[np.ndarray, ...]) -> None:
        """Write one packed chunk (the columns of :data:`CODES`)."""
        self._writer.write_batch(pa.record_batch(list(chunk), schema=CODES))
        self.rows += len(chunk[0])

    def close(self, names: Sequence[str]) -> tuple[str, int]:
        """Finish the file, write the names beside it; its path and row count."""
        self._writer.close()
        self._file.close()
        table = pa.table({"name": pa.array(list(names), pa.string())})
        with pa.OSFile(self.path + ".names", "wb") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return self.path, self.rows


def _names(path: str) -> pd.Index:
    with pa.OSFile(path + ".names") as source:
        table = pa.ipc.open_file(source).read_all()
    return pd.Index(table.column("name").to_pylist(), dtype=object)


def _batches(path: str) -> Iterator[pa.RecordBatch]:
    """A stage file's record batches, read one at a time (not memory-mapped)."""
    with pa.OSFile(path) as source:
        reader = pa.ipc.open_file(source)
        for k in range(reader.num_record_batches):
            yield reader.get_batch(k)


def _labelled(table: pa.Table | pa.RecordBatch, names: pd.Index) -> pd.DataFrame:
    """Stage rows of a file as the log's stage table has them (names categorical)."""
    columns = {name: table.column(name).to_numpy() for name in CODES.names}
    for name in ("stage", "node"):
        columns[name] = labels_categorical(columns[name], names)
    return pd.DataFrame(columns, copy=False)


@dataclass(frozen=True)
class Part:
    """One run's stage rows: a :class:`StageFile`'s file, or a frame."""

    variant: str
    replication: int
    rows: int
    source: str | pd.DataFrame

    def frame(self) -> pd.DataFrame:
        """The rows as a frame (``stage`` and ``node`` categorical)."""
        if isinstance(self.source, pd.DataFrame):
            return self.source
        with pa.OSFile(self.source) as source:
            table = pa.ipc.open_file(source).read_all()
        return _labelled(table, _names(self.source))

    def slices(self, rows: int) -> Iterator[pd.DataFrame]:
        """The rows in frames of about ``rows`` rows (whole batches of the file)."""
        if isinstance(self.source, pd.DataFrame):
            for first in range(0, len(self.source), rows):
                yield self.source.iloc[first:first + rows]
            return
        names = _names(self.source)
        held: list[pa.RecordBatch] = []
        for batch in _batches(self.source):
            held.append(batch)
            if sum(len(b) for b in held) >= rows:
                yield _labelled(pa.Table.from_batches(held), names)
                held = []
        if held:
            yield _labelled(pa.Table.from_batches(held), names)

    def select(self, stage: str) -> pd.DataFrame:
        """The rows in ``stage`` only, read a batch at a time."""
        if isinstance(self.source, pd.DataFrame):
            return self.source[self.source["stage"] == stage]
        names = _names(self.source)
        found = [batch.filter(pa.array(batch.column("stage").to_numpy() == names.get_loc(stage)))
                 for batch in _batches(self.source)] if stage in names else []
        return _labelled(pa.Table.from_batches(found, CODES), names)

    def codes(self) -> tuple[Iterator[tuple[np.ndarray, ...]], pd.Index]:
        """The rows as chunks ``(request_id, stage code, start, end)``, and the stage names."""
        if isinstance(self.source, pd.DataFrame):
            stage = pd.Categorical(self.source["stage"])
            whole = (self.source["request_id"].to_numpy(), stage.codes,
                     self.source["start_min"].to_numpy(), self.source["end_min"].to_numpy())
            return iter([whole]), pd.Index(stage.categories, dtype=object)
        chunks = ((b.column("request_id").to_numpy(), b.column("stage").to_numpy(),
                   b.column("start_min").to_numpy(), b.column("end_min").to_numpy())
                  for b in _batches(self.source))
        return chunks, _names(self.source)


class StageStore:
    """The stage rows of the kept runs, in (variant, replication) order.

    Built from runs (:meth:`from_parts`) or from one frame that already has the
    ``variant`` and ``replication`` columns (:meth:`from_frame`, a results folder read
    back). ``transforms`` are applied, in order, to every frame the store hands out;
    each works row by row, so applying it to a slice or to the whole gives the same rows.
    """

    def __init__(self, parts: Sequence[Part] = (), whole: pd.DataFrame | None = None,
                 spool: Spool | None = None,
                 transforms: tuple[Callable[[pd.DataFrame], pd.DataFrame], ...] = ()) -> None:
        self._parts = tuple(parts)
        self._whole = whole
        self._spool = spool  # kept alive while the store may read its files
        self._transforms = transforms
        self._frame: pd.DataFrame | None = None

    @classmethod
    def from_parts(cls, parts: Sequence[Part], spool: Spool | None = None) -> StageStore:
        """The store of runs' parts (empty parts left out)."""
        return cls([part for part in parts if part.rows], spool=spool)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> StageStore:
        """A store holding ``frame`` (with ``variant`` and ``replication`` columns)."""
        return cls(whole=frame)

    def __len__(self) -> int:
        if self._whole is not None:
            return len(self._whole)
        return sum(part.rows for part in self._parts)

    @property
    def empty(self) -> bool:
        """No stage rows kept."""
        return len(self) == 0

    def map(self, transform: Callable[[pd.DataFrame], pd.DataFrame]) -> StageStore:
        """The same rows, ``transform`` applied to every frame handed out."""
        return StageStore(self._parts, self._whole, self._spool, (*self._transforms, transform))

    def frame(self) -> pd.DataFrame:
        """Every row as one frame (built once, then kept): ``Results.stages``.

        Runs' rows held in memory move into the frame column by column (the store then
        holds them once); rows in files are read, and the files kept.
        """
        if self._frame is None:
            if self._whole is None and all(isinstance(p.source, pd.DataFrame)
                                           for p in self._parts):
                self._whole = join([(p.variant, p.replication, p.source) for p in self._parts],
                                   consume=True)
                self._parts = ()
            frame = self._whole if self._whole is not None else join(
                [(p.variant, p.replication, p.frame()) for p in self._parts])
            self._frame = self._transformed(frame)
        return self._frame

    def slices(self, rows: int) -> Iterator[pd.DataFrame]:
        """The rows in order, in frames of about ``rows`` rows (one empty frame if none)."""
        if self._in_one_frame:
            whole = self.frame()
            for first in range(0, max(len(whole), 1), rows):
                yield whole.iloc[first:first + rows]
            return
        for part in self._parts:
            for piece in part.slices(rows):
                yield self._transformed(_keyed(part.variant, part.replication, piece))

    def select(self, variant: str, stage: str) -> pd.DataFrame:
        """The rows of ``variant`` in ``stage`` only (read from the files that hold them)."""
        if self._in_one_frame:
            whole = self.frame()
            return whole[(whole["variant"] == variant) & (whole["stage"] == stage)]
        found = [(p.variant, p.replication, p.select(stage)) for p in self._parts
                 if p.variant == variant]
        if not any(len(rows) for _, _, rows in found):
            empty = self._parts[0].select("")
            return self._transformed(_keyed(variant, 0, empty))
        return self._transformed(join(found))

    def __reduce__(self):
        # Pickled (an analyst's Results, a Dask result): the rows travel, not the paths.
        return (StageStore.from_frame, (self.frame(),))

    @property
    def _in_one_frame(self) -> bool:
        """Whether the rows are (or are best read) as one frame, not from run files."""
        return self._frame is not None or self._whole is not None or not self._parts

    def _transformed(self, frame: pd.DataFrame) -> pd.DataFrame:
        for transform in self._transforms:
            frame = transform(frame)
        return frame


def join(parts: Sequence[tuple[str, int, pd.DataFrame]],
         consume: bool = False) -> pd.DataFrame:
    """Runs' stage rows as one frame, ``variant`` and ``replication`` in front.

    ``variant``, ``stage`` and ``node`` come out categorical (the categories in order of
    first appearance), so millions of rows stay compact. ``consume`` deletes each column
    from the runs' frames once it is joined: the rows are then held about once, not twice.
    """
    parts = [part for part in parts if len(part[2])]
    if not parts:
        return pd.DataFrame(columns=[*KEYS, *StageRow._fields])
    lengths = [len(frame) for _, _, frame in parts]
    joined = {
        "variant": union_categoricals(
            [pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), pd.Index([variant]))
             for (variant, _, _), n in zip(parts, lengths, strict=True)],
            sort_categories=False),
        "replication": np.concatenate([np.full(n, replication, dtype=np.int64)
                                       for (_, replication, _), n in
                                       zip(parts, lengths, strict=True)]),
    }
    for name in list(parts[0][2].columns):
        pieces = [frame[name] for _, _, frame in parts]
        if isinstance(pieces[0].dtype, pd.CategoricalDtype):
            joined[name] = union_categoricals([pd.Categorical(p) for p in pieces],
                                              sort_categories=False)
        else:
            joined[name] = np.concatenate([piece.to_numpy() for piece in pieces])
        del pieces
        if consume:
            for _, _, frame in parts:
                del frame[name]
    return pd.DataFrame(joined, copy=False)


def _keyed(variant: str, replication: int, frame: pd.DataFrame) -> pd.DataFrame:
    """One run's rows with ``variant`` and ``replication`` in front, as :func:`join` has them."""
    keyed = frame.copy(deep=False)
    keyed.insert(0, "replication", np.full(len(frame), replication, dtype=np.int64))
    keyed.insert(0, "variant", pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8),
                                                          pd.Index([variant])))
    return keyed
