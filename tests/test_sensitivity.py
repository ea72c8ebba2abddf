"""Sensitivity: the headline comparison over each assumption's range, robust or fragile."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest

from sim import sensitivity as sens
from sim import tornado
from sim.errors import ScenarioError
from sim.experiment import Results, run_experiment
from sim.output import write_results
from sim.overrides import apply_arguments, variant_scenario

from .conftest import make_scenario, small_dict


def _emergency_only(severity: dict, rate: float) -> dict:
    """small.yaml with one emergency severity, no supply and heads always on duty."""
    data = small_dict()
    data["supply"]["enabled"] = False
    data["supply"]["packages"]["at"] = []
    for level in ("floor", "building"):
        data["heads"][level]["off_duty"] = []
    del data["heads"]["floor"]["day_job"]
    data["emergency"]["per_1000_people_per_day"] = rate
    data["emergency"]["severities"] = {severity.pop("name"): severity}
    data["variants"] = [{"name": "floors"}, {"name": "no_floors", "drop_levels": ["floor"]}]
    return data


def fragile() -> dict:
    """Floor heads attend routine cases next door, far faster than a busy building head ...
    unless floor heads keep a day job: at share 1 the comparison flips."""
    data = _emergency_only({"name": "routine", "share": 1.0, "target": "3h",
                            "responder": "head", "report": "direct", "attend": "60min"}, 500)
    data["supply"]["carry"]["stairs_min_per_floor"] = 2
    data["heads"]["floor"]["day_job"] = {"share": 0.0, "hours": "07:00-22:00"}
    data["sensitivity"] = {"compare": ["floors", "no_floors"], "metrics": ["mean"],
                           "assumptions": [{"set": "heads.floor.day_job.share", "low": 0.0,
                                            "high": 1.0, "note": "day jobs in lockdown"}]}
    return data


def robust() -> dict:
    """A fixed hour of relay at the floor heads that only one variant has: dispatch times,
    which both variants share, cannot undo it."""
    data = _emergency_only({"name": "urgent", "share": 1.0, "target": "45min"}, 20)
    data["heads"]["floor"]["relay"] = "60min"
    data["emergency"]["ambulances"]["count"] = 4
    data["sensitivity"] = {"compare": ["floors", "no_floors"], "metrics": ["mean"],
                           "assumptions": [{"set": "emergency.dispatch.handle", "low": "1min",
                                            "high": "5min"}]}
    return data


@pytest.fixture(scope="module")
def fragile_results() -> Results:
    return run_experiment(make_scenario(fragile()), jobs=1, progress=False)


def test_sign_flip_inside_range_is_fragile(fragile_results: Results) -> None:
    table = fragile_results.sensitivity
    assert table is not None
    assert list(table.columns) == sens.COLUMNS
    assert list(table["end"]) == ["low", "base", "high"]
    (verdict,) = sens.verdicts(table)
    assert (verdict.flow, verdict.kind, verdict.metric) == ("emergency", "routine", "mean")
    assert verdict.status == sens.FRAGILE
    assert verdict.difference + verdict.half_width < 0  # floors clearly faster as given
    (reason,) = verdict.reasons
    assert (reason.why, reason.assumption, reason.end, reason.value) == (
        "flips", "heads.floor.day_job.share", "high", "1")
    assert reason.difference - reason.half_width > 0


def test_a_range_that_cannot_flip_is_robust() -> None:
    results = run_experiment(make_scenario(robust()), jobs=1, progress=False)
    (verdict,) = sens.verdicts(results.sensitivity)
    assert verdict.status == sens.ROBUST, verdict
    assert verdict.difference - verdict.half_width > 0
    ends = results.sensitivity.set_index("end")
    assert (ends["difference"] - ends["half_width"] > 0).all()


def test_tornado_and_section_in_report(fragile_results: Results, tmp_path: Path) -> None:
    out = write_results(fragile_results, tmp_path / "run")
    assert (out / "figures" / "sensitivity_tornado.png").stat().st_size > 10_000
    table = pd.read_csv(out / "sensitivity.csv")
    assert len(table) == 3
    page = (out / "report.html").read_text(encoding="utf-8")
    start = page.index('<section id="sensitivity">')
    section = page[start:page.index("</section>", start)]
    assert "fragile" in section and "heads.floor.day_job.share" in section
    assert "alt='sensitivity_tornado'" in section
    assert page.count("alt='sensitivity_tornado'") == 1  # not repeated among the figures


def test_sensitivity_runs_are_byte_identical_across_jobs(fragile_results: Results,
                                                         tmp_path: Path) -> None:
    two = run_experiment(make_scenario(fragile()), jobs=2, progress=False)
    one_dir = write_results(fragile_results, tmp_path / "one", figures=True)
    two_dir = write_results(two, tmp_path / "two", figures=True)
    for name in ("sensitivity.csv", "summary.csv", "figures/sensitivity_tornado.png"):
        assert (one_dir / name).read_bytes() == (two_dir / name).read_bytes(), name


def test_progress_counts_sensitivity_runs(capsys: pytest.CaptureFixture[str]) -> None:
    data = fragile()
    data["replications"] = 1
    data["sensitivity"]["replications"] = 2
    results = run_experiment(make_scenario(data), jobs=1, progress=True)
    # 2 variants × 1 replication; the base lacks replication 1 of both; then
    # 1 assumption × 2 ends × 2 variants × 2 replications
    assert "12/12" in capsys.readouterr().err
    assert set(results.sensitivity["pairs"]) == {2}


@pytest.mark.parametrize(("change", "expected"), [
    ({"compare": ["floors", "nope"]}, "sensitivity.compare: no variant 'nope'"),
    ({"assumptions": [{"set": "heads.floor.day_job.shar", "low": 0, "high": 1}]},
     "did you mean 'heads.floor.day_job.share'?"),
    ({"assumptions": [{"set": "heads.floor.day_job.share", "low": 0, "high": 2}]},
     "high"),
])
def test_bad_block_is_one_line(change: dict, expected: str) -> None:
    data = fragile()
    data["sensitivity"].update(change)
    with pytest.raises(ScenarioError, match=expected) as caught:
        make_scenario(data)
    assert "\n" not in str(caught.value)


def test_skipped_without_both_variants_or_when_asked() -> None:
    scenario = make_scenario(fragile())
    results = run_experiment(scenario, jobs=1, progress=False, variants=["floors"])
    assert results.sensitivity is None
    section = tornado.section(results, [], lambda path: "")
    assert section.startswith('<section id="sensitivity">') and "Not run" in section
    args = argparse.Namespace(scenario="f.yaml", set=None, sweep=None, variant=None,
                              no_sensitivity=True)
    assert apply_arguments(scenario, args).sensitivity is None
    args.no_sensitivity = False
    assert apply_arguments(scenario, args).sensitivity == scenario.sensitivity


def test_several_keys_move_together() -> None:
    data = fragile()
    data["sensitivity"]["assumptions"] = [
        {"set": ["heads.floor.staff", "heads.building.staff"], "low": 1, "high": 3}]
    scenario = make_scenario(data)
    plan = sens.plan(scenario, ["floors", "no_floors"])
    assert plan is not None and len(plan.tasks) == 2 * 2 * 3
    own = variant_scenario(plan.scenario, "floors+sensitivity0-high")
    assert (own.heads.floor.staff, own.heads.building.staff) == (3, 3)
    assert scenario.sensitivity.assumptions[0].label == "heads.floor.staff + heads.building.staff"
    data["sensitivity"]["assumptions"] *= 2
    with pytest.raises(ScenarioError, match="only once"):
        make_scenario(data)
