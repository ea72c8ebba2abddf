"""The SimPy drill: stage logs tile each request, conservation, pre-emption, off-duty heads."""

from __future__ import annotations

import math

import networkx as nx
import pandas as pd
import pytest
import simpy

from sim import metrics
from sim.chain import build_chain, chain_for_variant
from sim.experiment import run_one
from sim.heads import Station, daily_windows, serve
from sim.log import ABANDON_REASONS, COMPLETED, IN_FLIGHT
from sim.model import REQUEST_COLUMNS, STAGE_COLUMNS, Drill, RunRecords
from sim.scenario import Scenario

from .conftest import make_scenario, small_dict

RESOURCES = {"depot", "vehicles", "dispatch", "ambulances"}


def drill(scenario: Scenario, variant: str | None = None, replication: int = 0,
          ) -> tuple[RunRecords, nx.DiGraph]:
    chosen = scenario.variant(variant) if variant else scenario.variants[0]
    graph = chain_for_variant(build_chain(scenario), scenario, chosen)
    return Drill(scenario, graph, replication).run(), graph


def frames(records: RunRecords) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.DataFrame(records.requests, columns=REQUEST_COLUMNS),
            pd.DataFrame(records.stages, columns=STAGE_COLUMNS))


# ---- stage logs ----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["five_levels", "three_levels"])
def test_stages_tile_each_request(variant: str) -> None:
    scenario = make_scenario(small_dict())
    records, graph = drill(scenario, variant)
    requests, stages = frames(records)
    horizon = scenario.horizon
    assert len(requests) > 50 and len(stages) > 200
    assert set(requests["flow"]) == {"supply", "emergency"}
    assert requests["request_id"].tolist() == list(range(len(requests)))
    assert set(requests["status"]) <= {COMPLETED, IN_FLIGHT, *ABANDON_REASONS}
    assert (requests["status"] == COMPLETED).sum() > 0
    by_request = {rid: part for rid, part in stages.groupby("request_id", sort=False)}
    for row in requests.itertuples():
        assert 0 <= row.created_min <= horizon
        part = by_request.get(row.request_id)
        if row.status == COMPLETED:
            assert row.created_min <= row.completed_min <= horizon
            assert part is not None, "a completed request has at least one stage"
        if part is None:
            continue
        start = part["start_min"].to_numpy()
        end = part["end_min"].to_numpy()
        assert (start >= 0).all() and (end <= horizon).all()
        assert (end > start).all(), "zero-length stages are not recorded, none run backwards"
        assert start[0] == row.created_min
        assert (start[1:] == end[:-1]).all(), "each stage starts where the previous ended"
        if row.status == COMPLETED:
            assert end[-1] == row.completed_min
            assert math.isclose((end - start).sum(), row.completed_min - row.created_min,
                                rel_tol=1e-9, abs_tol=1e-9)
        else:
            assert math.isnan(row.completed_min) or row.status in ABANDON_REASONS
    # every stage names a real node at its real level
    for stage in stages.itertuples():
        if stage.node in RESOURCES:
            assert stage.level == 0
        else:
            assert graph.nodes[stage.node]["level"] == stage.level, stage


def test_stage_kinds_by_flow() -> None:
    scenario = make_scenario(small_dict())
    records, _ = drill(scenario, "five_levels")
    requests, stages = frames(records)
    merged = stages.merge(requests[["request_id", "flow", "kind", "status"]], on="request_id")
    supply = merged[merged["flow"] == "supply"]
    assert {"relay", "batch", "depot", "vehicle", "carry", "handover"} <= set(supply["stage"])
    done_orders = requests[(requests["kind"] == "order") & (requests["status"] == COMPLETED)]
    last = stages.groupby("request_id").tail(1).set_index("request_id")["stage"]
    assert (last.loc[done_orders["request_id"]] == "handover").all()
    # relays of orders start at the nearest head (level 5) and climb to the grid
    relays = supply[supply["stage"] == "relay"].groupby("request_id")["level"].apply(list)
    assert all(levels == [5, 4, 3] for levels in relays)


# ---- conservation --------------------------------------------------------------------------


def stressed() -> dict:
    """small.yaml with scarce stock (no restock), impatient emergencies and callers, and a
    testing round some households miss: every reason for abandonment."""
    data = small_dict()
    depot = data["supply"]["depot"]
    depot["stock"] = 25
    del depot["restock_every"], depot["restock_amount"]
    data["emergency"]["per_1000_people_per_day"] = 60
    data["emergency"]["severities"]["critical"]["patience"] = "15min"
    data["emergency"]["severities"]["urgent"]["patience"] = "30min"
    data["emergency"]["dispatch"]["handle"] = {"dist": "exponential", "mean": "20min"}
    data["emergency"]["dispatch"]["redial"] = {"patience": "1min", "delay": "2min", "attempts": 2}
    data["testing"] = {"at": ["25h"], "tables": 1, "sample": "0.5min", "batch": 10,
                       "absent": 0.2}  # households missing the round: missed_round
    return data


@pytest.mark.parametrize("data", [small_dict(), stressed()], ids=["small", "stressed"])
def test_conservation_over_seeds_and_variants(data: dict) -> None:
    runs = []
    for seed in range(5):
        scenario = make_scenario(data, seed=seed)
        for variant in ("five_levels", "three_levels"):
            runs.append(run_one(scenario, variant, 0))
    table = metrics.conservation(runs)
    assert len(table) > 0
    assert table["balanced"].all(), table[~table["balanced"]]
    assert (table["created"] == table["completed"] + table["in_flight"]
            + table["abandoned"]).all()
    assert (table["arrivals"] == table["created"]).all()
    kinds = set(zip(table["flow"], table["kind"], strict=True))
    assert {("supply", "order"), ("supply", "package"), ("emergency", "critical")} <= kinds
    requests = metrics.requests_frame(runs)
    if data["supply"]["depot"].get("stock") == 25:
        assert set(requests["status"]) == {COMPLETED, IN_FLIGHT, *ABANDON_REASONS}


def test_conservation_detects_a_vanished_request() -> None:
    scenario = make_scenario(small_dict())
    records = run_one(scenario, "five_levels", 0)
    records.requests = records.requests[1:]
    assert not metrics.conservation([records])["balanced"].all()
    records = run_one(scenario, "five_levels", 0)
    status = records.requests["status"].astype(object)
    status.iloc[0] = "lost"
    records.requests["status"] = status
    assert not metrics.conservation([records])["balanced"].all()


# ---- serve() and pre-emption -----------------------------------------------------------------


def _task(env: simpy.Environment, station: Station, at: float, priority: float, preempt: bool,
          steps: list, log: dict, name: str):
    yield env.timeout(at)
    granted = yield from serve(env, station, priority, preempt, steps)
    log[name] = (granted, env.now)


def test_serve_preempted_task_resumes_with_remaining_time() -> None:
    env = simpy.Environment()
    station = Station(env, "head", 1)
    log: dict = {}
    env.process(_task(env, station, 0, 5, False, [(10, None)], log, "low"))
    env.process(_task(env, station, 2, 0, True, [(3, None)], log, "urgent"))
    env.run()
    assert log["urgent"] == (2, 5)
    assert log["low"] == (0, 13)
    assert station.busy_min == pytest.approx(13)
    assert station.tasks == 2


def test_serve_without_preempt_waits() -> None:
    env = simpy.Environment()
    station = Station(env, "head", 1)
    log: dict = {}
    env.process(_task(env, station, 0, 5, False, [(10, None)], log, "low"))
    env.process(_task(env, station, 2, 0, False, [(3, None)], log, "high"))
    env.run()
    assert log["low"] == (0, 10)
    assert log["high"] == (10, 13)
    assert station.busy_min == pytest.approx(13)
    assert station.max_queue == 1


def test_serve_preempted_in_a_later_step_keeps_earlier_steps() -> None:
    env = simpy.Environment()
    station = Station(env, "head", 1)
    log: dict = {}
    done: list[tuple[str, float]] = []
    steps = [(4, lambda t: done.append(("first", t))), (6, lambda t: done.append(("second", t)))]
    env.process(_task(env, station, 0, 5, False, steps, log, "low"))
    env.process(_task(env, station, 6, 0, True, [(3, None)], log, "urgent"))
    env.process(_task(env, station, 7, 0, True, [(1, None)], log, "urgent2"))
    env.run()
    # the first step is done at 4; the second is cut at 6 (2 of 6 done), waits for both
    # urgent tasks (6-9, then 9-10), and finishes its 4 remaining minutes at 14
    assert done == [("first", 4), ("second", 14)]
    assert log["urgent"] == (6, 9)
    assert log["urgent2"] == (9, 10)
    assert log["low"] == (0, 14)
    assert station.busy_min == pytest.approx(14)


def test_serve_free_staff_member_takes_the_urgent_task() -> None:
    env = simpy.Environment()
    station = Station(env, "head", 2)
    log: dict = {}
    env.process(_task(env, station, 0, 5, False, [(10, None)], log, "low"))
    env.process(_task(env, station, 2, 0, True, [(3, None)], log, "urgent"))
    env.run()
    assert log["low"] == (0, 10)
    assert log["urgent"] == (2, 5)
    assert station.busy_min == pytest.approx(13)


def busy_floor(preempt: bool) -> Scenario:
    """One building, one floor of four households; the floor head is busy for hours
    handing over pushed packages (fixed 300 min each) while critical cases come in.

    Every time is fixed, so each response is known exactly.
    """
    data = small_dict()
    data["horizon"] = "24h"
    data["layout"] = {
        "households_per_grid": 20, "grids_per_community": 1, "communities_per_zone": 1,
        "areas": [{"name": "block", "type": "compound", "units": 1, "sub_units_per_unit": 1,
                   "households_per_sub_unit": 4, "people_per_household": 3.0,
                   "gate_walk_m": 75}],
    }
    data["households"] = {"groups": {}}
    data["heads"] = {level: {"staff": 1, "relay": "1min"}
                     for level in ("zone", "community", "grid", "building", "floor")}
    supply = data["supply"]
    supply.update(orders_per_household_per_day=0, cutoffs=[])
    supply["depot"] = {"teams": 1, "pack_per_order": "1min"}
    supply["vehicles"] = {"count": 1, "capacity_orders": 40, "trip": "10min", "unload": 0}
    supply["carry"] = {"walk_m_per_min": 75, "stairs_min_per_floor": 0, "cart_capacity": 10,
                       "bags_per_trip": 1, "handover": "300min"}
    supply["packages"] = {"at": [0], "target": "24h"}
    emergency = data["emergency"]
    emergency["per_1000_people_per_day"] = 1000
    emergency["severities"] = {"critical": {"share": 1.0, "target": "20min", "preempt": preempt,
                                            "report": "hotline"}}
    emergency["dispatch"] = {"operators": 5, "handle": "1min"}
    emergency["ambulances"] = {"count": 50, "to_gate": "10min", "job": "5min"}
    data["variants"] = [{"name": "as_built"}]
    return make_scenario(data)


def test_critical_emergency_preempts_supply_carry() -> None:
    runs = {}
    for preempt in (True, False):
        records, _ = drill(busy_floor(preempt))
        requests, stages = frames(records)
        runs[preempt] = (records, requests, stages)
    records, requests, stages = runs[True]
    _, calm_requests, calm_stages = runs[False]
    packages = requests[requests["kind"] == "package"].sort_values("completed_min")
    cases = requests[requests["flow"] == "emergency"]
    assert len(packages) == 4 and (packages["status"] == COMPLETED).all()
    # the floor head hands over from the moment the goods arrive until the last package
    handovers = calm_stages[calm_stages["stage"] == "handover"]
    busy_from, busy_to = handovers["start_min"].min(), handovers["end_min"].max()
    during = cases[(cases["created_min"] + 1 > busy_from)
                   & (cases["created_min"] + 1 < busy_to)]
    assert len(during) >= 3, "the scenario must put critical cases in the busy hours"

    # pre-empting: help is at the door after dispatch (1) + drive (10) + gate to door
    door = (75 + 10) / 75
    assert cases["status"].eq(COMPLETED).all()
    assert cases["completed_min"].sub(cases["created_min"]).tolist() == pytest.approx(
        [1 + 10 + door] * len(cases), abs=1e-9)
    assert "gate" not in set(stages[stages["request_id"].isin(cases["request_id"])]["stage"])
    # the interrupted handovers resume: each package is late by one minute (the head's walk
    # to the gate) per case dispatched before it was handed over
    calm_done = calm_requests[calm_requests["kind"] == "package"].sort_values("completed_min")
    for late, calm in zip(packages["completed_min"], calm_done["completed_min"], strict=True):
        assigned = cases["created_min"] + 1
        walks = int(((assigned > busy_from) & (assigned < late)).sum())
        assert late == pytest.approx(calm + walks, abs=1e-9)
    # and no work is lost or counted twice
    floor = next(h for h in records.heads if h.level == "floor")
    assert floor.busy_min == pytest.approx(4 * (300 + 2 * 10 / 75) + len(cases) * 1.0)

    # without pre-emption the ambulance waits at the gate for the head
    calm_cases = calm_requests[calm_requests["flow"] == "emergency"]
    calm_during = calm_cases[calm_cases["request_id"].isin(during["request_id"])]
    assert (calm_during["completed_min"] >= busy_to).all()
    gates = calm_stages[(calm_stages["stage"] == "gate")
                        & calm_stages["request_id"].isin(during["request_id"])]
    assert set(gates["request_id"]) == set(during["request_id"])


# ---- off duty ------------------------------------------------------------------------------


def test_daily_windows_wrap_and_clip() -> None:
    # 23:00-07:00 with the drill starting 06:00, over 48 h
    assert daily_windows([(1380.0, 420.0)], 360.0, 2880.0) == [
        (0.0, 60.0), (1020.0, 1500.0), (2460.0, 2880.0)]
    # a window in the middle of the day, starting at midnight
    assert daily_windows([(540.0, 720.0)], 0.0, 2000.0) == [(540.0, 720.0), (1980.0, 2000.0)]


def test_daily_windows_merge_overlaps() -> None:
    assert daily_windows([(0.0, 600.0), (540.0, 700.0)], 0.0, 1440.0) == [(0.0, 700.0)]
    # touching windows merge too; wrapping one joins the next day's
    assert daily_windows([(1200.0, 0.0), (0.0, 360.0)], 0.0, 1440.0) == [
        (0.0, 360.0), (1200.0, 1440.0)]
    assert daily_windows([], 0.0, 1440.0) == []


def test_daily_windows_cover_the_right_minutes() -> None:
    windows = daily_windows([(1380.0, 420.0), (540.0, 720.0)], 360.0, 4320.0)
    for begin, end in windows:
        assert 0 <= begin < end <= 4320
    for minute in range(0, 4320, 7):
        clock = (minute + 360) % 1440
        off = clock >= 1380 or clock < 420 or 540 <= clock < 720
        inside = any(begin <= minute < end for begin, end in windows)
        assert inside == off, minute


def test_head_serves_only_in_its_on_duty_hour() -> None:
    """Floor heads off duty 07:00-06:00 (all day but one hour): their relays start only
    between 06:00 and 07:00, i.e. model minutes [0, 60) and [1440, 1500)."""
    data = small_dict()
    data["heads"]["floor"] = {"staff": 1, "relay": "1min", "off_duty": ["07:00-06:00"]}
    data["supply"]["collect_only"] = True
    data["supply"]["orders_per_household_per_day"] = 1.0
    data["emergency"]["enabled"] = False
    scenario = make_scenario(data)
    assert scenario.start == "06:00"
    records, _ = drill(scenario)
    requests, stages = frames(records)
    floor = stages[stages["level"] == 5]
    relays = floor[floor["stage"] == "relay"]
    assert len(relays) > 20
    in_hour = (relays["start_min"] % 1440) < 60
    assert in_hour.all(), relays[~in_hour]
    # orders placed while the heads were off waited for 06:00 the next day
    waits = floor[floor["stage"] == "queue"]
    assert (waits["end_min"] == 1440.0).sum() > 5
    day_one = requests[(requests["created_min"] > 60) & (requests["created_min"] < 1440)]
    assert len(day_one) > 5
    assert (requests.loc[day_one.index, "completed_min"] > 1440).all()
