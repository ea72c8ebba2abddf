"""Requests looked up by position give what a join gives; a table out of run order is refused."""

import pandas as pd
import pytest

import sim
from sim.decision import _resource
from sim.request_index import RequestIndex

SMALL = "scenarios/small.yaml"


@pytest.fixture(scope="module")
def results() -> sim.Results:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / SMALL
    return sim.run(path, replications=2, jobs=1, progress=False, stages="all", sensitivity=False)


def _joined(requests: pd.DataFrame, hops: pd.DataFrame) -> pd.DataFrame:
    keys = ["variant", "replication", "request_id"]
    return hops.merge(requests[[*keys, "flow", "kind"]].astype({"variant": str}),
                      on=keys, how="left")


def test_positions_give_the_joined_flow_and_kind(results: sim.Results) -> None:
    hops = results.stages.astype({"variant": str})
    index = RequestIndex(results.requests)
    assert set(index.runs()) == {(v, r) for v in results.variants for r in range(2)}
    for variant in results.variants:
        mine = hops[hops["variant"] == variant]
        found = index.labels(variant, mine)
        expected = _joined(results.requests, mine)
        assert len(found) == len(mine) > 100
        assert found["flow"].astype(str).tolist() == expected["flow"].astype(str).tolist()
        assert found["kind"].astype(str).tolist() == expected["kind"].astype(str).tolist()


def test_a_table_out_of_run_order_is_refused_and_joined_instead(results: sim.Results) -> None:
    shuffled = results.requests.sample(frac=1.0, random_state=1).reset_index(drop=True)
    hops = results.stages
    variant = results.variants[0]
    assert RequestIndex(shuffled).labels(variant, hops[hops["variant"] == variant]) is None
    for stage in ("queue", "relay", "batch"):
        assert _resource(hops, variant, "supply", "order", stage, shuffled) == \
            _resource(results.stage_log, variant, "supply", "order", stage,
                      RequestIndex(results.requests))
