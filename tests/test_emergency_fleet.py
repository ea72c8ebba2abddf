"""The district ambulance pool and the hotline: direction of effects, conservation, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.chain import build_chain, chain_for_variant
from sim.experiment import run_experiment
from sim.log import ABANDON_REASONS, COMPLETED, IN_FLIGHT, NO_ANSWER
from sim.metrics import conservation, mean_ci, requests_frame
from sim.model import Drill, RunRecords
from sim.output import write_results
from sim.scenario import Scenario

from .conftest import make_scenario, small_dict

BACKGROUND = {"per_day": 15, "travel": {"dist": "uniform", "low": "5min", "high": "15min"}}
REDIAL = {"patience": "1min", "delay": {"dist": "exponential", "mean": "2min"}, "attempts": 4}


def emergency_dict(background: dict | None = None, redial: dict | None = None,
                   **ambulances: object) -> dict:
    """small.yaml with emergencies only: every case needs an ambulance."""
    data = small_dict()
    data["supply"]["enabled"] = False
    data["supply"]["packages"]["at"] = []
    emergency = data["emergency"]
    emergency["per_1000_people_per_day"] = 100
    emergency["severities"] = {
        "critical": {"share": 0.5, "target": "20min", "preempt": True, "report": "hotline"},
        "urgent": {"share": 0.5, "target": "45min", "patience": "3h"},
    }
    emergency["ambulances"]["count"] = 2
    emergency["ambulances"].update(ambulances)
    if background is not None:
        emergency["ambulances"]["background"] = background
    if redial is not None:
        emergency["dispatch"]["redial"] = redial
    return data


def run(scenario: Scenario, replication: int = 0) -> tuple[RunRecords, Drill]:
    graph = chain_for_variant(build_chain(scenario), scenario, scenario.variants[0])
    model = Drill(scenario, graph, replication)
    return model.run(), model


def mean_response(records: RunRecords) -> float:
    table = requests_frame([records])
    return float(table.loc[table["status"] == COMPLETED, "response_min"].mean())


def test_background_load_lengthens_community_response() -> None:
    """Paired replications (same seeds): outside calls on the pool delay the community."""
    alone = make_scenario(emergency_dict())
    pooled = make_scenario(emergency_dict(BACKGROUND))
    diffs = np.array([mean_response(run(pooled, r)[0]) - mean_response(run(alone, r)[0])
                      for r in range(8)])
    mean, hw = mean_ci(diffs)
    assert mean - hw > 0, (mean, hw)


def test_no_background_and_the_same_pool_is_the_old_model() -> None:
    old, _ = run(make_scenario(emergency_dict()))
    zero = {**BACKGROUND, "per_day": 0}
    new, model = run(make_scenario(emergency_dict(zero)))
    pd.testing.assert_frame_equal(new.requests, old.requests)
    pd.testing.assert_frame_equal(new.stages, old.stages)
    assert new.heads == old.heads
    assert new.resources[:4] == old.resources
    assert new.resources[4][:2] == ("background_calls", "beside")
    assert model.emergency.background.books(model.scenario.horizon)["calls"] == 0


def test_conservation_with_pool_patience_and_redial() -> None:
    """Every community request and every outside call is accounted for."""
    heavy = {**BACKGROUND, "per_day": 40, "same_profile": True}
    data = emergency_dict(heavy, REDIAL, count=1)
    data["emergency"]["dispatch"]["handle"] = {"dist": "exponential", "mean": "10min"}
    scenario = make_scenario(data, horizon="36h")
    statuses: set[str] = set()
    redials = 0
    for replication in range(3):
        records, model = run(scenario, replication)
        table = conservation([records])
        assert table["balanced"].all()
        statuses |= set(records.requests["status"])
        books = model.emergency.background.books(scenario.horizon)
        assert books["calls"] > 0 and books["waiting"] >= 0
        assert books["calls"] == (books["served"] + books["no_answer"] + books["no_ambulance"]
                                  + books["waiting"])
        redials += books["redials"]
        rows = {row[0]: row for row in records.resources}
        assert rows["redials"].tasks == books["redials"]
        assert rows["background_calls"].tasks == books["calls"]
    assert statuses <= {COMPLETED, IN_FLIGHT, *ABANDON_REASONS}
    assert NO_ANSWER in statuses and redials > 0


def test_fewer_seats_never_shorten_response() -> None:
    """One class of call, first come first served, ample vehicles: request by request."""
    def scenario(operators: int) -> Scenario:
        data = emergency_dict(count=50, to_gate="20min")
        data["emergency"]["per_1000_people_per_day"] = 400
        data["emergency"]["severities"] = {
            "critical": {"share": 1.0, "target": "20min", "preempt": True, "report": "hotline"}}
        data["emergency"]["dispatch"] = {"operators": operators,
                                         "handle": {"dist": "exponential", "mean": "8min"}}
        return make_scenario(data)
    for replication in range(3):
        few = requests_frame([run(scenario(1), replication)[0]])
        many = requests_frame([run(scenario(3), replication)[0]])
        both = few.merge(many, on="request_id", suffixes=("_few", "_many"))
        both = both.dropna(subset=["response_min_few", "response_min_many"])
        assert len(both) > 20
        assert (both["response_min_few"] >= both["response_min_many"] - 1e-9).all()
        assert both["response_min_few"].mean() > both["response_min_many"].mean()


def test_fewer_seats_with_redial_not_shorter_on_average() -> None:
    """With redial the order changes; paired means still do not get shorter.

    Callers keep redialling: one who gave up would leave the mean over completed cases.
    """
    def scenario(operators: int) -> Scenario:
        data = emergency_dict(BACKGROUND, {**REDIAL, "attempts": None}, count=10)
        data["emergency"]["dispatch"]["operators"] = operators
        data["emergency"]["dispatch"]["handle"] = {"dist": "exponential", "mean": "6min"}
        return make_scenario(data)
    diffs = np.array([mean_response(run(scenario(1), r)[0])
                      - mean_response(run(scenario(3), r)[0]) for r in range(8)])
    mean, hw = mean_ci(diffs)
    assert mean + hw >= 0, (mean, hw)


@pytest.mark.parametrize("jobs", [2])
def test_workers_do_not_change_bytes(jobs: int, tmp_path: Path) -> None:
    scenario = make_scenario(emergency_dict(BACKGROUND, REDIAL), replications=3)
    folders = {}
    for workers in (1, jobs):
        results = run_experiment(scenario, jobs=workers, progress=False)
        folders[workers] = write_results(results, tmp_path / str(workers), figures=False)
    for name in ("requests.csv", "stages.csv", "summary.csv", "resources.csv"):
        one = (folders[1] / name).read_bytes()
        assert len(one) > 100, name
        assert one == (folders[jobs] / name).read_bytes(), name
    resources = pd.read_csv(folders[1] / "resources.csv")
    assert {"background_calls", "redials"} <= set(resources["node"])
