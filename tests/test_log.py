"""The columnar event log: what goes in comes out, across packed chunks."""

from __future__ import annotations

import math

import numpy as np

from sim import log as event_log
from sim.log import COMPLETED, IN_FLIGHT, OUT_OF_STOCK, EventLog


def test_requests_round_trip_through_codes() -> None:
    log = EventLog()
    a = log.new("supply", "order", 3, 1.5)
    b = log.new("emergency", "critical", 7, 2.0)
    c = log.new("supply", "order", 3, 4.0)
    log.complete(a, 10.0)
    log.abandon(c, 5.0, OUT_OF_STOCK)
    assert (a, b, c) == (0, 1, 2)
    assert log.requests[a] == ("supply", "order", 3, 1.5, 10.0, COMPLETED)
    assert log.requests[b][:4] == ("emergency", "critical", 7, 2.0)
    assert math.isnan(log.requests[b][4]) and log.requests[b][5] == IN_FLIGHT
    assert log.requests[c][5] == OUT_OF_STOCK and log.created(c) == 4.0
    columns = log.request_columns()
    assert [log.names[k] for k in columns["status"]] == [COMPLETED, IN_FLIGHT, OUT_OF_STOCK]
    assert columns["household"].tolist() == [3, 7, 3]


def test_stages_tile_and_survive_packing(monkeypatch) -> None:
    monkeypatch.setattr(event_log, "CHUNK", 7)  # pack often: rows cross many chunks
    log = EventLog()
    ids = [log.new("supply", "order", k, 0.0) for k in range(5)]
    expected = []
    for step in range(1, 11):
        for rid in ids:
            granted, end = step - 0.5, float(step)
            log.hop(rid, "relay", f"head{rid % 2}", 5, granted, end)
            expected.append((rid, "queue", f"head{rid % 2}", 5, step - 1.0, granted))
            expected.append((rid, "relay", f"head{rid % 2}", 5, granted, end))
    log.stage_many([(rid,) for rid in ids], "batch", "grid", 3, 12.0)
    log.stage(ids[0], "handover", "grid", 3, 12.0)  # zero length: not recorded
    expected += [(rid, "batch", "grid", 3, 10.0, 12.0) for rid in ids]
    table = log.stage_table()
    assert log.stage_rows() == len(expected) == len(table)
    rows = list(zip(table["request_id"].tolist(), table["stage"].astype(object),
                    table["node"].astype(object), table["level"].tolist(),
                    table["start_min"].tolist(), table["end_min"].tolist(), strict=True))
    assert rows == expected
    minutes = (table["end_min"] - table["start_min"]).groupby(table["request_id"]).sum()
    assert np.allclose(minutes.to_numpy(), 12.0)  # each request's stages tile [0, 12]
    assert table["stage"].dtype == "category" and table["request_id"].dtype == np.int32
    consumed = log.stage_table(consume=True)  # moves the rows out, one column at a time
    assert consumed.equals(table) and log.stage_rows() == 0 and len(log.stage_table()) == 0


def test_an_empty_log_gives_empty_tables() -> None:
    log = EventLog()
    assert len(log.requests) == 0 and len(log.stage_table()) == 0
    assert list(log.stage_table().columns) == list(event_log.StageRow._fields)


def test_a_district_of_nodes_fits_the_codes() -> None:
    log = EventLog()
    rid = log.new("supply", "order", 0, 0.0)
    for k in range(40_000):  # more nodes than a 16-bit code holds
        log.stage(rid, "relay", f"F{k}", 5, float(k + 1))
    log.abandon(rid, 40_000.0, OUT_OF_STOCK)
    table = log.stage_table()
    assert table["node"].iloc[-1] == "F39999" and len(table) == 40_000
    assert log.requests[rid][5] == OUT_OF_STOCK


def test_columns_keep_rows_as_typed_arrays_with_labels() -> None:
    trace = event_log.Columns(point="i", time_min="d", queue="q")
    assert len(trace) == 0 and list(trace.frame().columns) == ["point", "time_min", "queue"]
    trace.add(1, 12.5, 3)
    trace.add(0, 13.0, 4)
    frame = trace.frame({"point": ["point-G1", "point-G2"]})
    assert frame.to_dict("list") == {"point": ["point-G2", "point-G1"], "time_min": [12.5, 13.0],
                                     "queue": [3, 4]}
    assert str(frame["queue"].dtype) == "int64" and str(frame["time_min"].dtype) == "float64"
    trace.add(1, 14.0, 5)  # the frame holds copies: the trace can still grow
    assert len(trace) == 3 and len(frame) == 2
