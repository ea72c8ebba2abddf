"""Look requests up by (variant, replication, request id) by position, not by a join.

The request table holds each run's rows together, in (variant, replication) order, and a
run's request ids are the positions of its rows (see :func:`sim.metrics.requests_frame`).
So the row of a request is its run's first row plus its id: the decision names the
flow and kind of millions of hops this way without merging them with a city's millions
of requests (a merge held both, twice, and took seconds a call).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class RequestIndex:
    """Positions of each run's rows in a request table (found once, on first use)."""

    def __init__(self, requests: pd.DataFrame) -> None:
        self.requests = requests
        self._runs: dict[tuple[str, int], tuple[int, int]] | None = None

    def runs(self) -> dict[tuple[str, int], tuple[int, int]]:
        """(variant, replication) -> (first row, row after the last)."""
        if self._runs is None:
            variant, names = pd.factorize(self.requests["variant"], sort=False)
            replication = self.requests["replication"].to_numpy(dtype=np.int64)
            edges = np.flatnonzero((np.diff(variant) != 0) | (np.diff(replication) != 0)) + 1
            starts = np.r_[0, edges] if len(variant) else np.zeros(0, np.int64)
            stops = np.r_[edges, len(variant)] if len(variant) else np.zeros(0, np.int64)
            self._runs = {(str(names[variant[a]]), int(replication[a])): (int(a), int(b))
                          for a, b in zip(starts, stops, strict=True)}
        return self._runs

    def labels(self, variant: str, hops: pd.DataFrame,
               columns: tuple[str, ...] = ("flow", "kind")) -> pd.DataFrame | None:
        """``hops`` of ``variant`` with their requests' ``columns`` added.

        ``hops`` has ``replication`` and ``request_id`` columns. None if the table is not
        laid out run by run (a filtered or reordered table: the caller joins instead).
        """
        runs = self.runs()
        rid = hops["request_id"].to_numpy(dtype=np.int64)
        replication = hops["replication"].to_numpy(dtype=np.int64)
        rows = np.empty(len(hops), dtype=np.int64)
        for rep in np.unique(replication).tolist():
            span = runs.get((variant, rep))
            mine = replication == rep
            if span is None or (len(rid) and (rid[mine] >= span[1] - span[0]).any()):
                return None
            rows[mine] = span[0] + rid[mine]
        ids = self.requests["request_id"].to_numpy(dtype=np.int64)
        if not np.array_equal(ids[rows], rid):
            return None
        return hops.assign(**{name: self.requests[name].to_numpy()[rows] for name in columns})
