"""Notices down the chain and feedback up: timing, conservation, coverage tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import coverage
from sim.chain import build_chain, chain_for_variant
from sim.log import COMPLETED
from sim.metrics import conservation, requests_frame
from sim.model import Drill, RunRecords
from sim.scenario import Scenario

from .conftest import make_scenario, small_dict

NOTICE = {"at": ["2h", "26h"], "target": "2h", "tell": {"dist": "exponential", "mean": "1min"},
          "knock": "1min",
          "chat": {"levels": ["floor"], "post": "1min",
                   "read": {"dist": "exponential", "mean": "20min"}},
          "feedback": {"share": 0.3, "delay": {"dist": "exponential", "mean": "30min"}}}


def notice_dict(**notice: object) -> dict:
    data = small_dict()
    data["notice"] = {**NOTICE, **notice}
    return data


def run(scenario: Scenario, replication: int = 0, variant: int = 0) -> RunRecords:
    spec = scenario.variants[variant]
    graph = chain_for_variant(build_chain(scenario), scenario, spec)
    return Drill(scenario, graph, replication).run()


def test_zero_relay_reaches_everyone_at_issue_time() -> None:
    """Nothing else to do, everyone on duty, tells of zero minutes: all know at issue."""
    data = notice_dict(at=["2h"], tell="0min", chat=None, feedback=None)
    data["households"]["groups"] = {}
    data["supply"]["enabled"] = False
    data["supply"]["packages"]["at"] = []
    data["emergency"]["enabled"] = False
    table = requests_frame([run(make_scenario(data))])
    notices = table[table["flow"] == "notice"]
    assert len(notices) == len(table)  # nothing but notices
    assert (notices["status"] == COMPLETED).all()
    assert (notices["completed_min"] == 120.0).all()


def test_notice_and_feedback_are_conserved_in_every_variant() -> None:
    scenario = make_scenario(notice_dict())
    for k, variant in enumerate(scenario.variants):
        records = run(scenario, variant=k)
        table = conservation([records])
        assert table["balanced"].all(), variant.name
        flows = set(table["flow"])
        assert {"notice", "feedback"} <= flows
        households = len(Drill(scenario, chain_for_variant(build_chain(scenario), scenario,
                                                           variant)).households)
        notices = table[table["flow"] == "notice"]
        assert int(notices["arrivals"].iloc[0]) == 2 * households


def test_stages_tile_each_notice() -> None:
    records = run(make_scenario(notice_dict()))
    table = requests_frame([records])
    stages = pd.DataFrame(records.stages, columns=["request_id", "stage", "node", "level",
                                                   "start_min", "end_min"])
    spent = (stages["end_min"] - stages["start_min"]).groupby(stages["request_id"]).sum()
    done = table[(table["flow"] == "notice") & (table["status"] == COMPLETED)]
    total = spent.reindex(done["request_id"]).fillna(0.0).to_numpy()
    assert np.allclose(total, done["response_min"].to_numpy())
    assert {"relay", "chat", "knock"} <= set(stages["stage"])


def test_offline_households_learn_by_knock_only() -> None:
    records = run(make_scenario(notice_dict()))
    table = requests_frame([records]).set_index("request_id")
    stages = pd.DataFrame(records.stages, columns=["request_id", "stage", "node", "level",
                                                   "start_min", "end_min"])
    last = stages.groupby("request_id").tail(1).set_index("request_id")
    notices = table[(table["flow"] == "notice") & (table["status"] == COMPLETED)]
    how = last.loc[notices.index, "stage"]
    offline = notices["household_group"] == "offline"
    assert (how[offline] == "knock").all()
    assert (how[~offline] != "knock").all()


def test_coverage_quantiles_read_off_the_times() -> None:
    """t50/t90/t100 are order statistics of minutes since issue; unreached shares are NaN."""
    scenario = make_scenario(notice_dict(feedback=None))
    rows = pd.DataFrame({
        "variant": "v", "replication": 0, "flow": "notice", "kind": "notice",
        "household_group": "general", "created_min": 120.0,
        "response_min": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, np.nan]})
    tables = coverage.per_run(RunRecords(0, "v", [], [], [], []), rows, scenario)
    row = tables["coverage"].query("household_group == 'all'").iloc[0]
    assert (row["t50_min"], row["t90_min"]) == (5.0, 9.0)
    assert np.isnan(row["t100_min"])
    assert row["known_share"] == 0.9
    curve = tables["coverage_curve"]
    assert curve["known_share"].is_monotonic_increasing
    assert curve["known_share"].iloc[-1] == 0.9


def test_chat_at_the_bottom_is_slower_than_telling_when_reading_is_slow() -> None:
    """Paired replications: a chat read after ~hours loses to a phone round of 1 minute each."""
    slow = {"levels": ["floor"], "read": {"dist": "exponential", "mean": "5h"}}
    chat = make_scenario(notice_dict(chat=slow, feedback=None))
    tell = make_scenario(notice_dict(chat=None, feedback=None))
    diffs = []
    for rep in range(3):
        means = []
        for scenario in (chat, tell):
            t = requests_frame([run(scenario, rep)])
            means.append(t.loc[t["flow"] == "notice", "response_min"].mean())
        diffs.append(means[0] - means[1])
    assert min(diffs) > 0
