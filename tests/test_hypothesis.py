"""Random inputs: random small drills must run, conserve and repeat; random documents must
either validate or fail with one clean line.

* Random scenarios are small.yaml with random layouts (units, sub-units, households,
  areas kept), staffing, rates, start clock, collection and reporting choices,
  stock, warm-up and granularity variants, over a horizon of a few hours. Every run
  completes, every arrival is accounted for (sim.metrics.conservation ``balanced``),
  and the same seed gives byte-identical requests and stage tables.
* Random documents are small.yaml under random mutations (keys deleted, added,
  renamed; values replaced by random types, nested in lists or mappings; random
  strings) and wholly random values. ``scenario_from_dict`` either returns a
  Scenario or raises ``ScenarioError`` whose message is one line; never another
  exception and never a hang (each example runs under a wall-clock alarm, and the
  Hypothesis deadline catches slow ones).
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiment import run_one
from sim.metrics import conservation, requests_frame, stages_frame
from sim.scenario import LEVELS, Scenario, ScenarioError, load_scenario, scenario_from_dict

from .conftest import time_limit

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "scenarios" / "small.yaml").read_text(encoding="utf-8"))
ALARM_S = 10


# ---- random runnable drills ------------------------------------------------------------------


@st.composite
def variants(draw: st.DrawFn) -> list[dict]:
    found = []
    for number in range(draw(st.integers(1, 3))):
        dropped = draw(st.lists(st.sampled_from(LEVELS), unique=True, max_size=4))
        kept = [level for level in LEVELS if level not in dropped]
        resplit = draw(st.dictionaries(st.sampled_from(kept), st.integers(1, 30), max_size=2))
        found.append({"name": f"v{number}", "drop_levels": dropped,
                      "households_per_head": resplit})
    return found


@st.composite
def drills(draw: st.DrawFn) -> dict:
    """small.yaml with a random small layout, staffing, rates and variants, a few hours long."""
    data = copy.deepcopy(BASE)
    data["seed"] = draw(st.integers(0, 2**32 - 1))
    data["start"] = draw(st.sampled_from(["00:00", "06:00", "09:45", "15:59", "23:30"]))
    horizon = draw(st.integers(2 * 60, 8 * 60))
    data["horizon"] = f"{horizon}min"
    data["warmup"] = f"{draw(st.integers(0, horizon - 1))}min" if draw(st.booleans()) else 0
    data["replications"] = 1
    layout = data["layout"]
    areas = draw(st.lists(st.sampled_from(range(len(layout["areas"]))), min_size=1,
                          max_size=3, unique=True))
    layout["areas"] = [layout["areas"][i] for i in sorted(areas)]
    for area in layout["areas"]:
        area["units"] = draw(st.integers(1, 3))
        if "sub_units_total" in area:
            area["sub_units_total"] = draw(st.integers(area["units"], area["units"] + 4))
        else:
            area["sub_units_per_unit"] = draw(st.integers(1, 4))
        low = draw(st.integers(1, 4))
        area["households_per_sub_unit"] = [low, draw(st.integers(low, low + 3))]
    layout["households_per_grid"] = draw(st.integers(1, 40))
    layout["grids_per_community"] = draw(st.integers(1, 3))
    layout["communities_per_zone"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        data["households"] = {"groups": {}}
    for level in LEVELS:
        data["heads"][level]["staff"] = draw(st.integers(1, 3))
    supply = data["supply"]
    supply["orders_per_household_per_day"] = draw(st.floats(0.5, 20))
    supply["collect_level"] = draw(st.sampled_from(LEVELS))
    supply["collect_only"] = draw(st.booleans())
    supply["cutoffs"] = draw(st.lists(st.sampled_from(["06:30", "08:00", "10:00", "16:00"]),
                                      unique=True, max_size=3))
    supply["depot"]["stock"] = draw(st.one_of(st.none(), st.integers(0, 40)))
    supply["depot"]["restock_every"] = draw(st.sampled_from(["1h", "3h", "24h"]))
    supply["depot"]["restock_amount"] = draw(st.integers(0, 20))
    supply["vehicles"]["count"] = draw(st.integers(1, 2))
    supply["vehicles"]["capacity_orders"] = draw(st.integers(1, 20))
    supply["packages"]["at"] = draw(st.lists(st.sampled_from(["0min", "30min", "2h"]),
                                             unique=True, max_size=2))
    emergency = data["emergency"]
    emergency["enabled"] = draw(st.booleans())
    emergency["per_1000_people_per_day"] = draw(st.floats(20, 2000))
    emergency["report_level"] = draw(st.sampled_from(LEVELS))
    for severity in emergency["severities"].values():
        severity["preempt"] = draw(st.booleans())
        severity["report"] = draw(st.sampled_from(["chain", "hotline", "direct"]))
        severity["responder"] = draw(st.sampled_from(["ambulance", "head"]))
        severity["attend"] = draw(st.sampled_from(["0min", "5min", "15min"]))
        if draw(st.booleans()):
            severity["patience"] = draw(st.sampled_from(["10min", "1h"]))
    emergency["ambulances"]["count"] = draw(st.integers(1, 2))
    data["variants"] = draw(variants())
    return data


def _run_all(scenario: Scenario) -> list:
    return [run_one(scenario, variant.name, 0, keep_stages=True) for variant in scenario.variants]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(drills())
def test_random_drills_run_conserve_and_repeat(data: dict) -> None:
    scenario = scenario_from_dict(data, source="<random drill>")
    with time_limit(ALARM_S):
        runs = _run_all(scenario)
        again = _run_all(scenario)
    table = conservation(runs)
    assert table.empty or table["balanced"].all(), table[~table["balanced"]]
    assert {run.variant for run in runs} == {v.name for v in scenario.variants}
    first, second = requests_frame(runs), requests_frame(again)
    assert first.to_csv(index=False).encode() == second.to_csv(index=False).encode()
    assert stages_frame(runs).to_csv(index=False) == stages_frame(again).to_csv(index=False)
    if len(first):
        assert (first["created_min"] >= 0).all() and (first["created_min"] < scenario.horizon).all()
        done = first[first["status"] == "completed"]
        assert (done["completed_min"] <= scenario.horizon).all()
        assert (done["response_min"] >= 0).all()
        # The stages of a completed request add up to its response time.
        stages = stages_frame(runs)
        assert ((stages["end_min"] > stages["start_min"]) & (stages["start_min"] >= 0)
                & (stages["end_min"] <= scenario.horizon)).all()
        keys = ["variant", "replication", "request_id"]
        minutes = (stages["end_min"] - stages["start_min"]).groupby(
            [stages[k] for k in keys]).sum()
        response = done.set_index(keys)["response_min"]
        stage_sum = minutes.reindex(response.index, fill_value=0.0)
        assert np.allclose(stage_sum, response, rtol=1e-9, atol=1e-9)


# ---- random documents ------------------------------------------------------------------------


SCALARS = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.integers()
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.sampled_from(["3min", "90s", "2.5h", "1d", "-1min", "xmin", "06:00",
                              "23:00-07:00", "25:00", "exponential", "fixed", "floor", "",
                              "1e400", "nan"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(["dist", "mean", "min", "max",
                                                             "value", "share", "name"]),
                      inner, max_size=4),
    max_leaves=12,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _get(node: object, path: tuple) -> object:
    for part in path:
        node = node[part]  # type: ignore[index]
    return node


@st.composite
def mutated_documents(draw: st.DrawFn) -> object:
    """small.yaml with one to four random mutations, or a wholly random value."""
    if draw(st.integers(0, 9)) == 0:
        return draw(VALUES)
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(data, path[:-1])
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "add", "rename", "wrap_list",
                                       "wrap_dict", "string", "number"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(VALUES)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(VALUES)
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = parent.pop(key)
        elif action == "wrap_list":
            parent[key] = [parent[key]]
        elif action == "wrap_dict":
            parent[key] = {draw(st.text(max_size=6)): parent[key]}
        elif action == "string":
            parent[key] = draw(st.text(max_size=20))
        elif action == "number":
            parent[key] = draw(st.integers() | st.floats())
    return data


def _one_line_or_scenario(document: object) -> None:
    with time_limit(ALARM_S):
        try:
            result = scenario_from_dict(document, source="<fuzz>")
        except ScenarioError as error:
            message = str(error)
            assert message.startswith("<fuzz>: ")
            assert "\n" not in message and "\r" not in message, message
            return
    assert isinstance(result, Scenario)


@settings(max_examples=150, deadline=1000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_random_documents_validate_or_fail_in_one_line(document: object) -> None:
    _one_line_or_scenario(document)


@settings(max_examples=40, deadline=1000, derandomize=True)
@given(st.text(max_size=200))
def test_random_yaml_text_loads_or_fails_in_one_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8")
        with time_limit(ALARM_S):
            try:
                load_scenario(path)
            except ScenarioError as error:
                assert "\n" not in str(error), str(error)


@pytest.mark.parametrize("document", [
    None, [], "scenario", 3, {"name": "x"}, {**BASE, "horizon": "1e400min"},
    {**BASE, "horizon": 10**400}, {**BASE, "seed": -1}, {**BASE, "layout": []},
    {**BASE, "unknown\nkey": 1}, {**BASE, "households": {"groups": {"a\nb": {"share": 2}}}},
])
def test_known_bad_documents_fail_in_one_line(document: object) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(document, source="<fuzz>")
    assert "\n" not in str(info.value)


def test_the_base_document_is_valid() -> None:
    assert isinstance(scenario_from_dict(copy.deepcopy(BASE)), Scenario)
