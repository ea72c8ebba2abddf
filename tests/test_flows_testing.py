"""Testing rounds: conservation, make-up tests, more tables never lengthen a round."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import coverage
from sim.chain import build_chain, chain_for_variant
from sim.log import COMPLETED, MISSED_ROUND
from sim.metrics import conservation, requests_frame
from sim.model import Drill, RunRecords
from sim.scenario import Scenario

from .conftest import make_scenario, small_dict

TESTING = {"at": ["25h"], "tables": 1, "sample": {"dist": "uniform", "low": "20s", "high": "40s"},
           "batch": 6, "call": "2min", "call_ahead": 2, "absent": 0.15,
           "makeup": {"back": {"dist": "uniform", "low": "2h", "high": "12h"}, "phone": "2min",
                      "visit": "3min"}}


def sampling_dict(only: bool = False, **testing: object) -> dict:
    data = small_dict()
    data["testing"] = {**TESTING, **testing}
    if only:  # nothing else for the heads to do
        data["supply"]["enabled"] = False
        data["supply"]["packages"]["at"] = []
        data["emergency"]["enabled"] = False
    return data


def run(scenario: Scenario, replication: int = 0, variant: int = 0) -> RunRecords:
    spec = scenario.variants[variant]
    graph = chain_for_variant(build_chain(scenario), scenario, spec)
    return Drill(scenario, graph, replication).run()


def round_table(records: RunRecords, scenario: Scenario) -> pd.DataFrame:
    return coverage.per_run(records, requests_frame([records]), scenario)["testing"]


@pytest.mark.parametrize("makeup", [True, False])
def test_rounds_and_makeups_are_conserved(makeup: bool) -> None:
    data = sampling_dict(at=["25h", "40h"])
    if not makeup:
        data["testing"]["makeup"] = None
    scenario = make_scenario(data)
    for k in range(len(scenario.variants)):
        records = run(scenario, variant=k)
        table = conservation([records])
        assert table["balanced"].all()
        kinds = set(table.loc[table["flow"] == "testing", "kind"])
        assert kinds == ({"round", "makeup"} if makeup else {"round"})


def test_absent_households_missed_then_made_up_or_never_tested() -> None:
    with_makeup = make_scenario(sampling_dict(only=True))
    records = run(with_makeup)
    requests = requests_frame([records])
    missed = requests[requests["status"] == MISSED_ROUND]
    makeups = requests[requests["kind"] == "makeup"]
    assert len(missed) > 0
    assert sorted(missed["household"]) == sorted(makeups["household"])
    assert (makeups["status"] == COMPLETED).all()  # back within 12 h, horizon 48 h
    assert round_table(records, with_makeup)["never_tested"].iloc[0] == 0

    data = sampling_dict(only=True)
    data["testing"]["makeup"] = None
    without = make_scenario(data)
    records = run(without)
    row = round_table(records, without).iloc[0]
    assert row["never_tested"] == len(missed)  # the same households drawn absent
    assert row["tested_in_round_share"] == pytest.approx(1 - len(missed) / row["households"])


def test_stages_tile_each_test() -> None:
    records = run(make_scenario(sampling_dict()))
    requests = requests_frame([records])
    stages = pd.DataFrame(records.stages, columns=["request_id", "stage", "node", "level",
                                                   "start_min", "end_min"])
    spent = (stages["end_min"] - stages["start_min"]).groupby(stages["request_id"]).sum()
    done = requests[(requests["flow"] == "testing") & (requests["status"] == COMPLETED)]
    assert np.allclose(spent.reindex(done["request_id"]).fillna(0.0),
                       done["response_min"])
    assert {"call", "walk", "sample", "phone", "door"} <= set(stages["stage"])


@pytest.mark.parametrize("call_ahead", [0, 2, 6])
def test_more_tables_never_lengthen_a_round(call_ahead: int) -> None:
    """Paired replications (common random numbers): 3 tables a point against 1.

    With ``call_ahead`` below the batch size, calls wait on the queue, so faster
    tables also bring the calls forward.
    """
    few = make_scenario(sampling_dict(only=True, tables=1, absent=0.0, call_ahead=call_ahead))
    many = make_scenario(sampling_dict(only=True, tables=3, absent=0.0, call_ahead=call_ahead))
    shorter = 0
    for rep in range(4):
        slow = round_table(run(few, rep), few)["round_duration_min"].iloc[0]
        fast = round_table(run(many, rep), many)["round_duration_min"].iloc[0]
        assert fast <= slow + 1e-9, (rep, fast, slow)
        shorter += fast < slow
    assert shorter > 0
