"""The model against its own log: Little's law, conservation, and stages that tile a response.

Little's law is checked on the sample path (sim.validation.littles_law): over a
window [warmup, horizon] the time-average number in system L, integrated from the
counting process of creations and completions (in-flight requests counted up to
the horizon), equals λW + carry-in exactly, where λ and W are the arrival rate and
mean time in system of the requests created in the window and carry-in is the
time spent in the window by requests created before it. With no warm-up the
carry-in is zero and L = λW to rounding; on a long validation run the carry-in is
a small edge effect and L ≈ λW within 1%.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiment import Results, run_experiment
from sim.log import COMPLETED
from sim.scenario import load_scenario
from sim.validation import LITTLE_COLUMNS, littles_law

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small.yaml"
MM1 = ROOT / "scenarios" / "validation" / "mm1_rho07.yaml"
PRIORITY = ROOT / "scenarios" / "validation" / "priority_preemptive.yaml"


@pytest.fixture(scope="module")
def small() -> Results:
    return run_experiment(load_scenario(SMALL), jobs=2, progress=False, stages="all")


@pytest.fixture(scope="module")
def mm1() -> Results:
    scenario = load_scenario(MM1, horizon="12000min", replications=3)
    return run_experiment(scenario, jobs=2, progress=False, stages="all")


@pytest.fixture(scope="module")
def priority() -> Results:
    scenario = load_scenario(PRIORITY, horizon="3000min", warmup="300min", replications=2)
    return run_experiment(scenario, jobs=1, progress=False, stages="all")


def _flows(results: Results) -> list[str]:
    return sorted(results.requests["flow"].unique())


# ---- Little's law ----------------------------------------------------------------------------


def test_littles_law_exact_on_small_without_warmup(small: Results) -> None:
    scenario = small.scenario
    assert scenario.warmup == 0
    assert _flows(small) == ["emergency", "supply"]
    for flow in _flows(small):
        table = littles_law(small.requests, flow, scenario.warmup, scenario.horizon)
        assert list(table.columns) == ["variant", "replication", *LITTLE_COLUMNS]
        assert len(table) == len(small.variants) * scenario.replications
        assert (table["carry_in"] == 0).all()
        assert np.allclose(table["L"], table["lambda_W"], rtol=1e-9, atol=1e-12), flow
        assert (table["L"] > 0).all()


@pytest.mark.parametrize("warmup", [360.0, 1440.0])
def test_littles_law_with_carry_in_on_small(small: Results, warmup: float) -> None:
    """Any window of the same log: L = λW + carry-in; in-flight orders count to the horizon."""
    horizon = small.scenario.horizon
    assert (small.requests["status"] != COMPLETED).any()  # some orders are still in flight
    for flow in _flows(small):
        table = littles_law(small.requests, flow, warmup, horizon)
        assert np.allclose(table["L"], table["lambda_W"] + table["carry_in"], rtol=1e-9), flow
        assert (table["gap"] == table["L"] - table["lambda_W"]).all()
    supply = littles_law(small.requests, "supply", warmup, horizon)
    assert (supply["carry_in"] > 0).all()


def test_littles_law_on_a_validation_run(mm1: Results) -> None:
    scenario = mm1.scenario
    table = littles_law(mm1.requests, "supply", scenario.warmup, scenario.horizon)
    assert len(table) == scenario.replications
    assert (table["relative_gap"].abs() < 0.01).all()
    assert np.allclose(table["L"], table["lambda_W"] + table["carry_in"], rtol=1e-9)
    # And the arrival rate is the scenario's: 50 households × 20.16 a day / 1440.
    assert table["arrival_rate"].mean() == pytest.approx(0.7, rel=0.03)


def test_littles_law_by_hand() -> None:
    """Three requests in [10, 20]: one carried in, one inside, one still in flight."""
    requests = pd.DataFrame({
        "flow": ["supply"] * 4 + ["emergency"],
        "created_min": [5.0, 12.0, 18.0, 1.0, 11.0],
        "completed_min": [14.0, 15.0, np.nan, 3.0, 13.0],
    })
    row = littles_law(requests, "supply", 10.0, 20.0).iloc[0]
    # N(t): 1 on [10,12), 2 on [12,14), 1 on [14,15), 0 on [15,18), 1 on [18,20].
    assert row["L"] == pytest.approx((2 + 4 + 1 + 0 + 2) / 10)
    assert row["requests"] == 2
    assert row["arrival_rate"] == pytest.approx(0.2)
    assert row["W"] == pytest.approx((3 + 2) / 2)  # in flight: counted up to the horizon
    assert row["carry_in"] == pytest.approx(4 / 10)
    assert row["L"] == pytest.approx(row["lambda_W"] + row["carry_in"])


def test_littles_law_rejects_time_travel() -> None:
    bad = pd.DataFrame({"flow": ["supply"], "created_min": [5.0], "completed_min": [4.0]})
    with pytest.raises(ValueError, match="before it is created"):
        littles_law(bad, "supply", 0.0, 10.0)


def test_station_books_agree_with_the_log(mm1: Results) -> None:
    """Little's law for the server: its busy minutes are the relay minutes in the log,
    plus the relay in progress at the horizon (begun after the last one ended)."""
    stages = mm1.stages[mm1.stages["stage"] == "relay"]
    by_run = stages.groupby([stages["replication"], stages["node"]])
    relay = (stages["end_min"] - stages["start_min"]).groupby(
        [stages["replication"], stages["node"]]).sum()
    heads = mm1.heads[mm1.heads["tasks"] > 0].set_index(["replication", "node"])
    assert len(heads) == mm1.scenario.replications  # only the floor head works
    in_progress = heads["busy_min"] - relay.loc[heads.index]
    since_last = mm1.scenario.horizon - by_run["end_min"].max().loc[heads.index]
    assert (in_progress >= -1e-9).all()
    assert (in_progress <= since_last + 1e-9).all()
    # utilisation ≈ ρ = 0.7 (the horizon includes the empty start)
    assert heads["utilisation"].mean() == pytest.approx(0.7, abs=0.03)


def _union_minutes(starts: np.ndarray, ends: np.ndarray) -> float:
    order = np.argsort(starts)
    total, reach = 0.0, -np.inf
    for begin, end in zip(starts[order], ends[order], strict=True):
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return total


def test_preempted_work_is_not_counted_twice(priority: Results) -> None:
    """Pre-emptive resume: the head's busy minutes (work done) = the union of its service spans.

    An order's relay span includes the attends that interrupted it, and the head is
    never idle while a pre-empted order waits, so the union of attend and relay spans
    is exactly the head's busy time, up to work in progress at the horizon.
    """
    stages = priority.stages
    busy = priority.heads.set_index(["replication", "node"])["busy_min"]
    for rep in range(priority.scenario.replications):
        head = busy.xs(rep, level="replication")
        (node, minutes), = head[head > 0].items()
        served = stages[(stages["replication"] == rep) & (stages["node"] == node)
                        & stages["stage"].isin(["attend", "relay"])]
        union = _union_minutes(served["start_min"].to_numpy(), served["end_min"].to_numpy())
        spans = float((served["end_min"] - served["start_min"]).sum())
        assert spans > union + 10  # pre-emption happened: spans overlap
        assert union == pytest.approx(minutes, abs=5.0)


# ---- conservation ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["small", "mm1", "priority"])
def test_conservation_balanced(name: str, request: pytest.FixtureRequest) -> None:
    results: Results = request.getfixturevalue(name)
    table = results.conservation
    assert table["balanced"].all(), table[~table["balanced"]]
    runs = table.groupby(["variant", "replication"]).ngroups
    assert runs == len(results.variants) * results.scenario.replications
    assert (table["created"] == table["completed"] + table["in_flight"]
            + table["abandoned"]).all()
    per_run = results.requests.groupby(["variant", "replication"]).size()
    assert per_run.sum() == table["created"].sum() == table["arrivals"].sum()


def test_conservation_covers_every_flow_and_kind_of_small(small: Results) -> None:
    kinds = set(zip(small.conservation["flow"], small.conservation["kind"], strict=True))
    assert {("supply", "order"), ("supply", "package")} <= kinds
    assert any(flow == "emergency" for flow, _ in kinds)


# ---- stages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["small", "mm1", "priority"])
def test_stages_are_ordered_and_tile_each_request(name: str,
                                                  request: pytest.FixtureRequest) -> None:
    results: Results = request.getfixturevalue(name)
    horizon = results.scenario.horizon
    stages = results.stages
    assert len(stages) > 0
    assert (stages["start_min"] >= 0).all()
    assert (stages["end_min"] > stages["start_min"]).all()  # zero-length stages are not logged
    assert (stages["end_min"] <= horizon).all()
    keys = ["variant", "replication", "request_id"]
    stages = stages.sort_values([*keys, "start_min"], kind="stable")
    merged = stages.merge(results.requests[[*keys, "created_min", "completed_min", "status"]],
                          on=keys, how="left", validate="many_to_one")
    assert merged["created_min"].notna().all()  # every stage belongs to a logged request
    first = merged.groupby(keys, sort=False).head(1)
    last = merged.groupby(keys, sort=False).tail(1)
    assert (first["start_min"] == first["created_min"]).all()
    previous_end = merged.groupby(keys, sort=False)["end_min"].shift()
    follows = previous_end.notna()
    assert (merged.loc[follows, "start_min"] == previous_end[follows]).all()
    completed = last[last["status"] == COMPLETED]
    assert (completed["end_min"] == completed["completed_min"]).all()
    # Stage minutes add up to each completed request's response time.
    done = results.requests[results.requests["status"] == COMPLETED]
    minutes = (merged["end_min"] - merged["start_min"]).groupby(
        [merged[k] for k in keys]).sum()
    response = done.set_index(keys)["response_min"]
    with_stages = response[response > 0]
    assert np.allclose(minutes.loc[with_stages.index], with_stages, rtol=1e-9, atol=1e-9)
