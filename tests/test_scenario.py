"""Scenario files: loading, the resolved round trip, overrides, and validation messages."""

from __future__ import annotations

import pytest
import yaml

from sim.distributions import Empirical, Exponential, Fixed, Lognormal, Triangular, Uniform
from sim.scenario import (
    LEVELS,
    ROLES,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_from_dict,
)

from .conftest import SMALL, make_scenario, small_dict


def test_small_loads() -> None:
    scenario = load_scenario(SMALL)
    assert isinstance(scenario, Scenario)
    assert scenario.name == "small"
    assert scenario.seed == 7
    assert scenario.horizon == 48 * 60
    assert scenario.replications == 3
    assert [v.name for v in scenario.variants] == ["five_levels", "three_levels"]
    assert scenario.variant("three_levels").drop_levels == ["building", "floor"]
    # durations in minutes, distributions typed, shorthand read as fixed
    assert scenario.supply.batch_per_order == Fixed(value=0.5)
    assert isinstance(scenario.heads.zone.relay, Exponential)
    assert scenario.heads.zone.relay.mean == 3.0
    assert isinstance(scenario.supply.depot.pack_per_order, Triangular)
    assert isinstance(scenario.emergency.ambulances.to_gate, Lognormal)
    assert isinstance(scenario.supply.vehicles.trip, Uniform)
    assert scenario.supply.packages.at == [1440.0]
    assert scenario.emergency.severities["critical"].target == 20.0
    assert scenario.heads.floor.day_job is not None
    assert scenario.heads.floor.day_job.share == 0.3
    # defaults filled in
    assert scenario.emergency.severities["urgent"].responder == "ambulance"
    assert scenario.supply.collect_level == "grid"
    assert scenario.households.groups["elderly"].order_rate_factor == 1.0


def test_scenario_is_frozen(small_scenario: Scenario) -> None:
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        small_scenario.seed = 3  # type: ignore[misc]


def test_roles_cover_every_level() -> None:
    for area, roles in ROLES.items():
        assert len(roles) == len(LEVELS), area
        assert roles[:3] == ("zone_head", "community_head", "grid_head")


def test_resolved_yaml_loads_back_equal(small_scenario: Scenario) -> None:
    text = small_scenario.to_yaml()
    again = scenario_from_dict(yaml.safe_load(text))
    assert again == small_scenario
    # and the resolved text is a fixed point
    assert again.to_yaml() == text


def test_resolved_yaml_round_trip_with_every_distribution() -> None:
    data = small_dict()
    data["heads"]["zone"]["relay"] = {"dist": "empirical", "values": ["1min", "90s"],
                                      "weights": [1, 3]}
    data["heads"]["community"]["relay"] = "2min"
    data["supply"]["profile"] = [1.0] * 12 + [2.0] * 12
    data["supply"]["depot"]["stock"] = None
    data["emergency"]["severities"]["critical"]["patience"] = "40min"
    data["variants"].append({"name": "wide", "households_per_head": {"grid": 40, "floor": 4}})
    scenario = make_scenario(data)
    assert isinstance(scenario.heads.zone.relay, Empirical)
    again = scenario_from_dict(yaml.safe_load(scenario.to_yaml()))
    assert again == scenario
    assert again.variant("wide").households_per_head == {"grid": 40, "floor": 4}


def test_overrides_replace_top_level_keys() -> None:
    scenario = load_scenario(SMALL, seed=99, replications=5)
    assert scenario.seed == 99
    assert scenario.replications == 5
    # None means "keep the scenario's"
    same = load_scenario(SMALL, seed=None, replications=None)
    assert (same.seed, same.replications) == (7, 3)
    # overrides are validated like the file
    with pytest.raises(ScenarioError, match="replications"):
        load_scenario(SMALL, replications=0)


@pytest.mark.parametrize(
    ("path", "typo", "nearest"),
    [
        ((), "descripton", "description"),
        ((), "replication", "replications"),
        ((), "horizn", "horizon"),  # a required key: the typo, not just "missing", is named
        (("supply",), "cutofs", "cutoffs"),
        (("supply", "depot"), "stok", "stock"),
        (("supply", "carry"), "cart_capacty", "cart_capacity"),
        (("heads", "grid"), "of_duty", "off_duty"),
        (("emergency", "severities", "critical"), "premept", "preempt"),
    ],
)
def test_unknown_key_names_nearest_valid_key(path: tuple[str, ...], typo: str,
                                             nearest: str) -> None:
    data = small_dict()
    node = data
    for part in path:
        node = node[part]
    if nearest in node:
        node[typo] = node.pop(nearest)
    else:
        node[typo] = 1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="typo.yaml")
    message = str(info.value)
    assert message.startswith("typo.yaml: ")
    assert "\n" not in message
    assert f"unknown key '{'.'.join((*path, typo))}'" in message
    assert f"did you mean '{nearest}'" in message


def test_unknown_key_inside_a_distribution() -> None:
    data = small_dict()
    data["heads"]["grid"]["relay"] = {"dist": "exponential", "mena": "2min"}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert "unknown key 'heads.grid.relay.mena'" in str(info.value)
    assert "did you mean 'mean'" in str(info.value)
    data["heads"]["grid"]["relay"] = {"dist": "uniform", "low": "1min", "hihg": "2min"}
    with pytest.raises(ScenarioError, match=r"unknown key 'heads\.grid\.relay\.hihg'; "
                                            r"did you mean 'high'"):
        scenario_from_dict(data)


@pytest.mark.parametrize("shares", [(0.2, 0.3, 0.4), (0.5, 0.3, 0.5), (0.0, 0.0, 0.0)])
def test_severity_shares_must_sum_to_one(shares: tuple[float, ...]) -> None:
    data = small_dict()
    for severity, share in zip(("critical", "urgent", "routine"), shares, strict=True):
        data["emergency"]["severities"][severity]["share"] = share
    with pytest.raises(ScenarioError, match="severity shares must add up to 1"):
        make_scenario(data)


def test_severity_shares_summing_to_one_in_floats_pass() -> None:
    data = small_dict()
    for severity, share in zip(("critical", "urgent", "routine"), (0.1, 0.2, 0.7), strict=True):
        data["emergency"]["severities"][severity]["share"] = share
    assert make_scenario(data).emergency.severities["routine"].share == 0.7


def test_group_shares_over_one_rejected() -> None:
    data = small_dict()
    data["households"]["groups"]["elderly"]["share"] = 0.95
    with pytest.raises(ScenarioError, match="group shares add up to more than 1"):
        make_scenario(data)


@pytest.mark.parametrize(
    ("variant", "fragment"),
    [
        ({"name": "x", "drop_levels": ["floor"], "households_per_head": {"floor": 3}},
         "both dropped and re-split"),
        ({"name": "x", "drop_levels": list(LEVELS)}, "at least one level"),
        ({"name": "x", "households_per_head": {"grid": 0}}, "at least 1"),
        ({"name": "x", "drop_levels": ["flor"]}, "'flor'"),
        ({"name": "x", "households_per_head": {"street": 5}}, "'street'"),
        ({"name": "two words"}, "variants.2.name"),
        ({"name": "five_levels"}, "variant names must be unique"),
        ({"name": "x", "drop_level": ["floor"]}, "did you mean 'drop_levels'"),
        ({"drop_levels": ["floor"]}, "missing key 'variants.2.name'"),
    ],
)
def test_variant_validation(variant: dict, fragment: str) -> None:
    data = small_dict()
    data["variants"].append(variant)
    with pytest.raises(ScenarioError) as info:
        make_scenario(data)
    assert fragment in str(info.value)


def test_variant_lookup(small_scenario: Scenario) -> None:
    assert small_scenario.variant("five_levels").drop_levels == []
    with pytest.raises(KeyError):
        small_scenario.variant("nine_levels")


def test_default_variant_is_the_chain_as_built() -> None:
    data = small_dict()
    del data["variants"]
    scenario = make_scenario(data)
    assert [v.name for v in scenario.variants] == ["as_built"]
    assert scenario.variants[0].drop_levels == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.update(warmup="48h"), "warmup must be shorter than horizon"),
        (lambda d: d["supply"].update(profile=[1.0] * 23), "24 hourly weights"),
        (lambda d: d["emergency"].update(profile=[0.0] * 24), "24 hourly weights"),
        (lambda d: d["layout"]["areas"][1].update(sub_units_per_unit=3), "exactly one of"),
        (lambda d: d["layout"]["areas"][1].update(sub_units_total=1), "at least units"),
        (lambda d: d["layout"]["areas"][0].update(households_per_sub_unit=[3, 2]),
         "min <= max"),
        (lambda d: d["layout"]["areas"][0].update(type="tower"), "'tower'"),
        (lambda d: d["households"]["groups"].update(general={"share": 0.1}), "'general'"),
        (lambda d: d["heads"]["grid"].update(staff=0), "heads.grid.staff"),
        (lambda d: d.update(name="small drill"), "key 'name'"),
        (lambda d: d.pop("emergency"), "missing key 'emergency'"),
    ],
)
def test_cross_checks(change, fragment: str) -> None:  # noqa: ANN001 - a small lambda
    data = small_dict()
    change(data)
    with pytest.raises(ScenarioError) as info:
        make_scenario(data)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("document", [None, [], [1, 2], "text", 3])
def test_document_must_be_a_mapping(document: object) -> None:
    with pytest.raises(ScenarioError, match="expected a mapping"):
        scenario_from_dict(document, source="doc.yaml")
