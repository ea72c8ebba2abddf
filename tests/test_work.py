"""Volunteer work as it happens: shared rounds, flowing batches, helpers, bulk, drops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.scenario import Scenario

from .conftest import make_scenario, small_dict
from .test_model import drill, frames

HOUSEHOLDS = 80


def lane_round(**changes: object) -> dict:
    """80 bungalow households in one grid whose head delivers a pushed package to every
    door (three levels): long walks, short handovers, a fast depot; nothing else happens."""
    data = small_dict()
    data["horizon"] = "48h"
    data["layout"] = {
        "households_per_grid": 1000, "grids_per_community": 1, "communities_per_zone": 1,
        "areas": [{"name": "lanes", "type": "bungalow", "units": 4, "sub_units_total": 8,
                   "households_per_sub_unit": 10, "people_per_household": 3.0,
                   "gate_walk_m": [200, 400], "sub_unit_spacing_m": 20}],
    }
    data["households"] = {"groups": {}}
    data["heads"] = {level: {"staff": 1, "relay": "1min"}
                     for level in ("zone", "community", "grid", "building", "floor")}
    supply = data["supply"]
    supply.update(orders_per_household_per_day=0, cutoffs=[])
    supply["depot"] = {"teams": 1, "pack_per_order": "0.01min"}
    supply["vehicles"] = {"count": 10, "capacity_orders": 1000, "trip": "1min", "unload": 0}
    supply["carry"] = {"walk_m_per_min": 75, "stairs_min_per_floor": 0, "cart_capacity": 20,
                       "bags_per_trip": 1, "handover": "0.5min"}
    supply["packages"] = {"at": [0], "target": "24h"}
    data["emergency"]["enabled"] = False
    data["variants"] = [{"name": "three_levels", "drop_levels": ["building", "floor"]}]
    for path, value in changes.items():
        where = data
        *parents, last = path.split(".")
        for key in parents:
            where = where.setdefault(key, {})
        where[last] = value
    return data


def packages(scenario: Scenario, replication: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    records, _ = drill(scenario, replication=replication)
    requests, stages = frames(records)
    assert (requests["status"] == "completed").all()
    assert len(requests) == HOUSEHOLDS
    return requests, stages


def round_minutes(stages: pd.DataFrame) -> float:
    doors = stages[stages["stage"] == "handover"]
    return doors["end_min"].max() - doors["start_min"].min()


@pytest.mark.parametrize("staff", [2, 4])
def test_staff_who_share_a_round_finish_it_about_k_times_faster(staff: int) -> None:
    alone = round_minutes(packages(make_scenario(lane_round()))[1])
    shared = round_minutes(packages(make_scenario(lane_round(
        **{"supply.share_work": True, "heads.grid.staff": staff})))[1])
    # walking dominates: each of k people walks 80 / k doors, give or take one door
    door = alone / HOUSEHOLDS
    assert shared == pytest.approx(alone / staff, abs=2 * door)
    # without sharing, extra staff change nothing: one person takes the round
    idle = round_minutes(packages(make_scenario(lane_round(**{"heads.grid.staff": staff})))[1])
    assert idle == pytest.approx(alone)


def test_a_pipelined_depot_sends_the_first_load_before_the_batch_is_packed() -> None:
    slow_depot = {"supply.depot": {"teams": 1, "pack_per_order": "1min"},
                  "supply.vehicles": {"count": 8, "capacity_orders": 10, "trip": "5min",
                                      "unload": 0}}
    whole, _ = packages(make_scenario(lane_round(**slow_depot)))
    flowing, stages = packages(make_scenario(lane_round(
        **{**slow_depot, "supply.depot": {"teams": 1, "pack_per_order": "1min",
                                          "pipeline": True}})))
    first = stages[stages["stage"] == "vehicle"]["end_min"].min()
    assert first == pytest.approx(10 + 5)  # ten bags packed, one drive
    assert flowing["completed_min"].min() < whole["completed_min"].min() - 60
    # one head delivers every door in both: the round ends no later when loads flow
    assert flowing["completed_min"].max() <= whole["completed_min"].max() + 1e-9


def test_depot_helpers_shorten_packing_paired() -> None:
    base = lane_round(**{"supply.depot": {"teams": 1, "pack_per_order":
                                          {"dist": "exponential", "mean": "1min"}}})
    helped = lane_round(**{"supply.depot": {"teams": 1, "pack_per_order":
                                            {"dist": "exponential", "mean": "1min"}},
                           "helpers": {"depot": {"count": 4, "does": ["pack"],
                                                 "heads_help": True}}})
    gains = []
    for replication in range(5):
        _, alone = packages(make_scenario(base), replication)
        _, with_help = packages(make_scenario(helped), replication)
        depot_end = [s[s["stage"] == "depot"]["end_min"].max() for s in (alone, with_help)]
        gains.append(depot_end[0] - depot_end[1])
    # 80 bags of ~1 min: ~80 min alone, ~16 min with five people; paired, every time
    assert min(gains) > 40


def test_grid_helpers_take_the_door_round_and_heads_join_only_when_allowed() -> None:
    pool = {"count": 3, "does": ["door"]}
    scenario = make_scenario(lane_round(helpers={"grid": pool}))
    records, _ = drill(scenario)
    grid = next(h for h in records.heads if h.level == "grid")
    helpers = [r for r in records.resources if r.role == "helpers"]
    assert grid.busy_min == 0  # busy minutes: the head leaves door drops to the helpers
    assert len(helpers) == 1 and helpers[0].staff == 3 and helpers[0].busy_min > 0
    alone = round_minutes(packages(make_scenario(lane_round()))[1])
    helped = round_minutes(frames(records)[1])
    assert helped == pytest.approx(alone / 3, rel=0.1)
    joined = make_scenario(lane_round(helpers={"grid": {**pool, "heads_help": True}}))
    records, _ = drill(joined)
    grid = next(h for h in records.heads if h.level == "grid")
    assert grid.busy_min > 0
    assert round_minutes(frames(records)[1]) == pytest.approx(alone / 4, rel=0.1)


def test_helpers_off_duty_leave_the_round_for_their_shift() -> None:
    # start 06:00; the push arrives at once but helpers work only from 10:00
    pool = {"count": 2, "does": ["door"], "off_duty": ["20:00-10:00"]}
    requests, stages = packages(make_scenario(lane_round(helpers={"grid": pool})))
    doors = stages[stages["stage"] == "handover"]
    assert doors["start_min"].min() >= 240 - 1e-9


def test_bulk_consignment_is_handled_load_by_load_before_packing() -> None:
    bulk = {"cases_per_household": 0.5, "loads": 2, "load_every": "2h",
            "unload_per_case": "1min", "disinfect_per_case": "0.5min",
            "unpack_per_case": "0.5min"}
    requests, stages = packages(make_scenario(lane_round(
        **{"supply.packages": {"at": [0], "target": "24h", "bulk": bulk}})))
    handled = stages[stages["stage"] == "bulk"].groupby("request_id")["end_min"].max()
    assert len(handled) == HOUSEHOLDS
    # 20 cases of 2 min by one team: the first load at 40 min, the second at 120 + 40
    assert sorted(set(np.round(handled, 6))) == pytest.approx([40.0, 160.0])


def test_bags_per_household_fill_carts_and_hands() -> None:
    one, _ = packages(make_scenario(lane_round()))
    two, _ = packages(make_scenario(lane_round(
        **{"supply.packages": {"at": [0], "target": "24h", "bags_per_household": 2}})))
    # one bag per trip to the door: two bags, twice the walking
    assert two["completed_min"].max() > 1.8 * one["completed_min"].max()


def test_contactless_drops_shorten_the_round_except_for_face_to_face_groups() -> None:
    base = lane_round(**{"supply.carry.handover": "3min"})
    drops = lane_round(**{"supply.carry.handover": "3min", "supply.carry.drop": "0.5min"})
    elderly = {"groups": {"elderly": {"share": 0.25, "face_to_face": True}}}
    mixed = lane_round(**{"supply.carry.handover": "3min", "supply.carry.drop": "0.5min"},
                       households=elderly)
    alone = round_minutes(packages(make_scenario(base))[1])
    dropped = round_minutes(packages(make_scenario(drops))[1])
    scenario = make_scenario(mixed)
    requests, stages = packages(scenario)
    in_person = int((requests["household_group"] == "elderly").sum())
    assert dropped == pytest.approx(alone - HOUSEHOLDS * 2.5, abs=1e-6)
    assert round_minutes(stages) == pytest.approx(alone - (HOUSEHOLDS - in_person) * 2.5,
                                                  abs=1e-6)


def every_mechanism() -> dict:
    """small.yaml with every volunteer-work mechanism switched on."""
    data = small_dict()
    data["supply"]["share_work"] = True
    data["supply"]["depot"]["pipeline"] = True
    data["supply"]["carry"]["drop"] = "0.3min"
    data["supply"]["packages"].update(bags_per_household=2, bulk={
        "cases_per_household": 0.4, "loads": 3, "load_every": "1h", "unload_per_case": "1min"})
    data["households"]["groups"]["elderly"]["face_to_face"] = True
    data["helpers"] = {"grid": {"count": 2, "does": ["carry", "door"],
                                "off_duty": ["22:00-07:00"]},
                       "community": {"count": 3, "does": ["carry"], "heads_help": True},
                       "depot": {"count": 5, "does": ["pack", "bulk"]}}
    data["supply"]["vehicles"]["multi_drop"] = {"stops": 3, "between": "4min"}
    return data


def test_every_mechanism_at_once_conserves_every_request() -> None:
    results = run_experiment(make_scenario(every_mechanism()), jobs=1, progress=False)
    assert results.conservation["balanced"].all()
    done = results.requests[results.requests["kind"] == "package"]
    assert (done["status"] == "completed").mean() > 0.9


def tower(lift: dict | None) -> dict:
    area = {"name": "tower", "type": "compound", "units": 1, "sub_units_per_unit": 20,
            "households_per_sub_unit": 4, "people_per_household": 3.0, "gate_walk_m": 75,
            "door_walk_m": 0}
    if lift is not None:
        area["lift"] = lift
    data = lane_round(**{"supply.carry.stairs_min_per_floor": 0.5})
    data["layout"]["areas"] = [area]
    return data


def test_lifts_replace_the_stairs_in_towers() -> None:
    stairs, _ = packages(make_scenario(tower(None)))
    lifts, _ = packages(make_scenario(tower({"wait": "2min", "per_floor": "3s"})))
    # one head walks to 80 doors and back: the same ground, storeys by stairs or lift
    climb = sum(2 * 4 * 0.5 * (f - 1) for f in range(1, 21))
    ride = sum(2 * 4 * (2 + 0.05 * (f - 1)) for f in range(2, 21))
    assert stairs["completed_min"].max() - lifts["completed_min"].max() == pytest.approx(
        climb - ride, abs=1e-6)


def test_lifts_only_in_compounds() -> None:
    data = lane_round()
    data["layout"]["areas"][0]["lift"] = {"wait": "1min", "per_floor": "3s"}
    with pytest.raises(ValueError, match="only compound buildings have lifts"):
        make_scenario(data)


def test_multi_drop_trips_serve_several_gates_with_one_load() -> None:
    changes = {"layout.households_per_grid": 20,
               "supply.vehicles": {"count": 1, "capacity_orders": 100, "trip": "30min",
                                   "unload": "2min"}}
    one_gate = make_scenario(lane_round(**changes))
    changes["supply.vehicles"] = {**changes["supply.vehicles"],
                                  "multi_drop": {"stops": 3, "between": "5min"}}
    multi = make_scenario(lane_round(**changes))
    arrivals = {}
    for name, scenario in (("one", one_gate), ("multi", multi)):
        records, graph = drill(scenario)
        _, stages = frames(records)
        vehicle = stages[stages["stage"] == "vehicle"]
        arrivals[name] = sorted(set(np.round(vehicle["end_min"] - vehicle["end_min"].min(), 6)))
        trips = next(r for r in records.resources if r.role == "vehicle").tasks
        assert trips == (4 if name == "one" else 2)
    # one van: a round trip of 30 + 2 + 30 min per gate; against three gates 5 + 2 min
    # apart, back after the third (14 + 30), out again (30 + 2) to the fourth
    assert arrivals["one"] == pytest.approx([0, 62, 124, 186])
    assert arrivals["multi"] == pytest.approx([0, 7, 14, 14 + 30 + 32])


def test_supply_disabled_pushes_no_packages() -> None:
    records, _ = drill(make_scenario(lane_round(**{"supply.enabled": False})))
    assert records.requests.empty
    assert records.extra["arrivals"] == {}


def test_every_mechanism_gives_the_same_bytes_on_one_or_two_workers() -> None:
    scenario = make_scenario(every_mechanism(), replications=2)
    one = run_experiment(scenario, jobs=1, progress=False, stages="all")
    two = run_experiment(scenario, jobs=2, progress=False, stages="all")
    for table in ("requests", "stages", "heads", "resources", "summary"):
        assert getattr(one, table).to_csv() == getattr(two, table).to_csv(), table


def test_a_trolley_in_the_lift_carries_more_bags_a_ride() -> None:
    by_hand, _ = packages(make_scenario(tower({"wait": "2min", "per_floor": "3s"})))
    trolley, _ = packages(make_scenario(tower({"wait": "2min", "per_floor": "3s",
                                               "bags_per_ride": 12})))
    # by hand, each bag's share of a ride up and down is 2 / 1 (one bag a trip in this
    # round); with the trolley 2 / 12; the ground walk is the same
    saved = sum(4 * (2 / 1 - 2 / 12) * (2 + 0.05 * (f - 1)) for f in range(2, 21))
    assert by_hand["completed_min"].max() - trolley["completed_min"].max() == pytest.approx(
        saved, abs=1e-6)
