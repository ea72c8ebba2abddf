"""The decision: verdicts from intervals, the cheapest design meeting every target, bottlenecks,
reliefs; and end to end, on scenarios built so that the answer is known."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim import decision as dec
from sim import plots, report
from sim.experiment import Results
from sim.summary import summary_text

from .conftest import make_scenario, small_dict

# ---- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("share", "half", "required", "expected"), [
    (0.95, 0.03, 0.9, dec.MET),         # 0.92..0.98: all above
    (0.90, 0.00, 0.9, dec.MET),         # exactly at the required share counts as met
    (0.80, 0.05, 0.9, dec.NOT_MET),     # 0.75..0.85: all below
    (0.88, 0.05, 0.9, dec.UNSURE),      # 0.83..0.93 straddles 0.9
    (0.95, math.nan, 0.9, dec.UNSURE),  # one replication: no interval
    (math.nan, math.nan, 0.9, dec.UNSURE),
])
def test_verdict_reads_the_interval_against_the_required_share(
        share: float, half: float, required: float, expected: str) -> None:
    assert dec.verdict(share, half, required) == expected


def _table(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "flow": "emergency", "kind": k, "verdict": x}
                         for v, k, x in rows])


def test_cheapest_is_the_design_meeting_every_target_with_fewest_people() -> None:
    table = _table([("big", "a", dec.MET), ("big", "b", dec.MET),
                    ("small", "a", dec.MET), ("small", "b", dec.UNSURE),
                    ("middle", "a", dec.MET), ("middle", "b", dec.MET)])
    people = {"big": 100, "small": 10, "middle": 50}
    assert dec.cheapest(table, people, {"big": 9, "small": 1, "middle": 5}) == "middle"
    assert dec.cheapest(table[table["variant"] == "small"], people, {}) is None
    # equal people: fewer heads, then the one listed first
    assert dec.cheapest(table, {"big": 50, "middle": 50}, {"big": 4, "middle": 5}) == "big"


def test_bottleneck_names_the_longest_stage_and_who_holds_it() -> None:
    breakdown = pd.DataFrame({"variant": "v", "flow": "supply", "kind": "order",
                              "stage": ["relay", "queue", "carry"],
                              "mean_min": [5.0, 30.0, 15.0]})
    stages = pd.DataFrame({"variant": "v", "flow": "supply", "kind": "order",
                           "stage": ["queue", "queue", "queue"],
                           "node": ["g1", "b1", "b2"], "level": [3, 4, 4],
                           "start_min": [0.0, 0.0, 0.0], "end_min": [10.0, 8.0, 7.0]})
    heads = pd.DataFrame({"variant": "v", "level": ["building", "building", "grid"],
                          "utilisation": [0.7, 0.9, 0.2]})
    neck = dec.bottleneck(breakdown, stages, heads, pd.DataFrame(), "v", "supply", "order")
    assert neck is not None
    assert (neck.stage, neck.resource) == ("queue", "building heads")
    assert neck.share_of_time == pytest.approx(30 / 50)
    assert neck.utilisation == pytest.approx(0.8)
    assert neck.key.startswith("heads.building.staff")
    idle = heads.assign(utilisation=0.1)  # waiting at idle heads: they were off duty
    neck = dec.bottleneck(breakdown, stages, idle, pd.DataFrame(), "v", "supply", "order")
    assert neck.key.startswith("heads.building.off_duty")


def test_relief_is_the_design_that_clearly_raises_the_share_and_prefers_one_that_meets() -> None:
    goal = dec.Goal("emergency", "critical", 15.0, 0.9)
    shares = {"ref": [0.2, 0.3, 0.25], "more": [0.6, 0.7, 0.65], "noisy": [0.1, 0.9, 0.3],
              "enough": [0.95, 0.97, 0.96]}
    per = pd.DataFrame([{"variant": v, "flow": "emergency", "kind": "critical",
                         "household_group": "all", "replication": r, "within_target": x}
                        for v, values in shares.items() for r, x in enumerate(values)])
    table = pd.DataFrame([{"variant": v, "flow": "emergency", "kind": "critical",
                           "within_target": float(np.mean(x)),
                           "verdict": dec.MET if v == "enough" else dec.NOT_MET}
                          for v, x in shares.items()])
    best = dec.relief(per, table, "ref", goal)
    assert best is not None and best.variant == "enough" and best.meets
    best = dec.relief(per, table[table["variant"] != "enough"], "ref", goal)
    assert best is not None and best.variant == "more" and not best.meets
    assert best.difference == pytest.approx(0.4)
    assert dec.relief(per, table[table["variant"].isin(["ref", "noisy"])], "ref", goal) is None


# ---- end to end: a scenario whose answer is known ----------------------------------------------


def _fleet_scenario(variants: list[dict], replications: int = 3,
                    target: str = "60min") -> sim.Scenario:
    """Only critical emergencies, by hotline, answered by ambulances with very long jobs.

    One ambulance is swamped (most cases wait hours); eight answer every case at once.
    Supply in small.yaml is met by every design.
    """
    data = small_dict()
    data["replications"] = replications
    data["households"] = {"groups": {}}
    emergency = data["emergency"]
    emergency["per_1000_people_per_day"] = 50.0
    emergency["severities"] = {"critical": {"share": 1.0, "target": target, "preempt": True,
                                            "required_share": 0.8, "report": "hotline"}}
    emergency["dispatch"]["operators"] = 8
    emergency["ambulances"]["job"] = "8h"
    data["variants"] = variants
    return make_scenario(data)


@pytest.fixture(scope="module")
def known() -> Results:
    scenario = _fleet_scenario([
        {"name": "five_levels_8", "set": {"emergency.ambulances.count": 8}},
        {"name": "three_levels_1", "drop_levels": ["building", "floor"],
         "set": {"emergency.ambulances.count": 1}},
        {"name": "three_levels_8", "drop_levels": ["building", "floor"],
         "set": {"emergency.ambulances.count": 8}},
    ])
    return sim.run(scenario)


def test_the_decision_names_the_cheapest_design_meeting_every_target(
        known: Results, tmp_path: Path) -> None:
    found = dec.decide_results(known)
    verdicts = found.table.set_index(["variant", "kind"])["verdict"]
    assert verdicts[("three_levels_1", "critical")] == dec.NOT_MET
    assert verdicts[("five_levels_8", "critical")] == dec.MET
    assert (found.table[found.table["variant"] != "three_levels_1"]["verdict"] == dec.MET).all()
    assert found.cheapest == "three_levels_8"
    report.write_report(known, [], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    decision = page[page.index('<section id="decision">'):page.index('<section id="inputs">')]
    assert "Cheapest design meeting every target: <b>three_levels_8</b>" in decision
    text = summary_text(known, tmp_path)
    assert "recommended: three_levels_8" in text
    assert str(tmp_path / "report.html") in text


def test_when_no_design_meets_a_target_the_report_says_so_and_why(tmp_path: Path) -> None:
    results = sim.run(_fleet_scenario([
        {"name": "one", "set": {"emergency.ambulances.count": 1}},
        {"name": "three", "set": {"emergency.ambulances.count": 3}}], replications=4,
        target="15min"))
    found = dec.decide_results(results)
    assert found.cheapest is None
    assert [g.kind for g in found.failing_everywhere] == ["critical"]
    neck = found.bottlenecks[("emergency", "critical")]
    assert neck is not None and neck.resource == "ambulances"
    assert neck.key == "emergency.ambulances.count"
    fix = found.reliefs[("emergency", "critical")]
    assert fix is not None and fix.variant == "three" and fix.difference - fix.half_width > 0
    report.write_report(results, [], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No design meets every target." in page
    assert "Not met by any design: critical emergency response (80% within 15 min)" in page
    assert "Relieved most by <b>three</b>" in page
    assert "recommended: none; no design meets every target; not met by any: critical " \
        "emergency response" in summary_text(results, tmp_path)


def test_four_ambulances_never_answer_emergencies_slower_than_two() -> None:
    """Paired by replication (same incidents): more ambulances never lengthen the response."""
    scenario = _fleet_scenario([
        {"name": "two", "set": {"emergency.ambulances.count": 2}},
        {"name": "four", "set": {"emergency.ambulances.count": 4}}], replications=4)
    results = sim.run(scenario)
    per = results.per_replication
    per = per[(per["household_group"] == "all") & (per["kind"] == "critical")]
    two = per[per["variant"] == "two"].set_index("replication")
    four = per[per["variant"] == "four"].set_index("replication")
    assert len(two) == len(four) == 4
    for statistic in ("mean", "p50", "p95", "max"):
        assert (four[statistic] <= two[statistic] + 1e-9).all(), statistic
    assert (four["within_target"] >= two["within_target"] - 1e-9).all()
    gain, half, pairs = dec.paired_gain(per, "four", "two", "emergency", "critical")
    assert pairs == 4 and gain - half > 0, "twice the fleet clearly raises the share in time"


def test_summary_follows_the_scenario_order_and_defines_its_columns(known: Results) -> None:
    data = small_dict()
    order = list(data["emergency"]["severities"])  # critical, urgent, routine
    results = sim.run(make_scenario(data, replications=2))
    text = summary_text(results, Path("out"))
    headings = [line.split(":")[0] for line in text.splitlines()
                if re.match(r"^\S.*: target ", line)]
    assert headings == ["supply order delivery", "government package delivery",
                        *(f"{name} emergency response" for name in order)]
    assert text.index("columns:") < text.index("supply order delivery")
    assert re.search(r"\d+% \(\d+–\d+%\)", text), "share within target with its interval"
    assert "recommended:" in text
    assert str(Path("out") / "report.html") in text
    assert plots.flow_kinds(results)[2:] == [("emergency", name) for name in order]


def test_nested_set_reads_by_key_paths() -> None:
    """A design's nested ``set:`` (a gate) is listed by key paths, a distribution in words."""
    from sim.report_decision import _setting_text

    text = _setting_text("emergency.gate", {"opener": "grid", "unlock": "1min",
                                            "reach_head": {"dist": "uniform", "low": "10min",
                                                           "high": "30min"}})
    plain = text.replace("\u200b", "")
    assert plain == ("emergency.gate.opener = grid; emergency.gate.unlock = 1min; "
                     "emergency.gate.reach_head: uniform 10min-30min")
    exponential = _setting_text("x", {"dist": "exponential", "mean": "5min"})
    assert exponential == "x: exponential, mean 5min"
    assert _setting_text("emergency.ambulances.count", 4).replace("\u200b", "") == \
        "emergency.ambulances.count = 4"
