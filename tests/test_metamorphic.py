"""Metamorphic relations: change one input, predict the direction of the output.

Each relation compares per-replication mean responses of two scenarios run on the
same seed and replications (so they share random streams where the change allows),
as paired differences with a Student-t 95% confidence interval across replications
(``sim.metrics.mean_ci``). "Never lengthens" fails only when the whole interval lies
above zero; where a scenario makes the changed resource the bottleneck, the effect is
also required to be significant in the predicted direction.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.experiment import run_experiment
from sim.log import COMPLETED
from sim.metrics import mean_ci

from .conftest import make_scenario, small_dict

REPLICATIONS = 8
SUPPLY = ("supply", ("order",))
AMBULANCE_SERVED = ("emergency", ("critical", "urgent"))  # small.yaml: routine is head-served


_MEANS: dict[str, np.ndarray] = {}


def per_replication_means(data: dict, flow: str, kinds: tuple[str, ...]) -> np.ndarray:
    """Mean response of completed requests of ``kinds``, one value per replication."""
    key = json.dumps([data, flow, kinds], sort_keys=True)
    if key not in _MEANS:
        _MEANS[key] = _means(data, flow, kinds)
    return _MEANS[key].copy()


def _means(data: dict, flow: str, kinds: tuple[str, ...]) -> np.ndarray:
    scenario = make_scenario(data, replications=REPLICATIONS)
    results = run_experiment(scenario, jobs=1, progress=False, variants=["five_levels"],
                             stages="none")
    requests = results.requests
    done = requests[(requests["flow"] == flow) & requests["kind"].isin(kinds)
                    & (requests["status"] == COMPLETED)]
    means = done.groupby("replication")["response_min"].mean()
    means = means.reindex(range(REPLICATIONS)).to_numpy()
    assert np.isfinite(means).all(), "every replication needs completed requests"
    return means


def paired(base: dict, changed: dict, measure: tuple[str, tuple[str, ...]]) -> tuple[float, float]:
    """Mean and 95% half-width of (changed - base) over paired replications."""
    diff = per_replication_means(changed, *measure) - per_replication_means(base, *measure)
    mean, half_width = mean_ci(diff)
    assert np.isfinite(half_width)
    return mean, half_width


def head_bound() -> dict:
    """small.yaml where the heads are the bottleneck of supply: every order goes out at
    once (no cutoffs), depot and vehicles are plentiful, relays and handovers are slow."""
    data = small_dict()
    supply = data["supply"]
    supply["orders_per_household_per_day"] = 2.0
    supply["cutoffs"] = []
    supply["depot"] = {"teams": 4, "pack_per_order": supply["depot"]["pack_per_order"]}
    supply["vehicles"]["count"] = 10
    supply["carry"]["handover"] = {"dist": "exponential", "mean": "8min"}
    supply["carry"]["bags_per_trip"] = 1
    for level, mean in (("floor", "4min"), ("building", "3min"), ("grid", "2min")):
        data["heads"][level]["relay"] = {"dist": "exponential", "mean": mean}
    return data


def more_staff(data: dict) -> dict:
    changed = {**data, "heads": {k: dict(v) for k, v in data["heads"].items()}}
    for level in ("floor", "building", "grid"):
        changed["heads"][level]["staff"] += 1
    return changed


def busy_emergencies() -> dict:
    data = small_dict()
    data["emergency"]["per_1000_people_per_day"] = 60  # about ten cases a day
    return data


@pytest.mark.parametrize("make", [small_dict, head_bound], ids=["small", "head_bound"])
def test_more_staff_never_lengthens_supply_response(make) -> None:  # noqa: ANN001
    base = make()
    mean, half_width = paired(base, more_staff(base), SUPPLY)
    assert mean - half_width <= 0, (mean, half_width)


def test_more_staff_shortens_supply_response_when_heads_are_the_bottleneck() -> None:
    base = head_bound()
    mean, half_width = paired(base, more_staff(base), SUPPLY)
    assert mean + half_width < 0, (mean, half_width)


def test_more_ambulances_never_lengthen_emergency_response() -> None:
    base = busy_emergencies()
    changed = busy_emergencies()
    changed["emergency"]["ambulances"]["count"] = 3
    for name in AMBULANCE_SERVED[1]:
        assert base["emergency"]["severities"][name].get("responder", "ambulance") == "ambulance"
    mean, half_width = paired(base, changed, AMBULANCE_SERVED)
    assert mean - half_width <= 0, (mean, half_width)
    # one ambulance with 40-80 min jobs queues at ten cases a day: three must help
    assert mean + half_width < 0, (mean, half_width)


@pytest.mark.parametrize("make", [small_dict, head_bound], ids=["small", "head_bound"])
def test_doubling_orders_never_shortens_supply_response(make) -> None:  # noqa: ANN001
    base = make()
    changed = make()
    changed["supply"]["orders_per_household_per_day"] *= 2
    mean, half_width = paired(base, changed, SUPPLY)
    assert mean + half_width >= 0, (mean, half_width)


def test_doubling_orders_lengthens_supply_response_when_heads_are_the_bottleneck() -> None:
    base = head_bound()
    changed = head_bound()
    changed["supply"]["orders_per_household_per_day"] *= 2
    mean, half_width = paired(base, changed, SUPPLY)
    assert mean - half_width > 0, (mean, half_width)
