"""Heads lost for a while: conservation under every backup, lost heads idle, slower flows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.chain import build_chain, chain_for_variant
from sim.experiment import run_experiment
from sim.metrics import conservation, requests_frame
from sim.model import Drill, RunRecords
from sim.scenario import Scenario
from sim.scenario_flows import HeadLoss, loss_pairs

from .conftest import make_scenario, small_dict
from .test_flows_notice import NOTICE
from .test_flows_testing import TESTING

HELPERS = {"grid": {"count": 2, "does": ["carry", "door"]}}


def loss_dict(*losses: dict, notice: bool = True, day_jobs: bool = True) -> dict:
    data = small_dict()
    if notice:
        data["notice"] = dict(NOTICE)
        data["testing"] = dict(TESTING)
    if not day_jobs:
        data["heads"]["floor"].pop("day_job")
    data["variants"] = [{"name": "lossy", "lose_heads": list(losses)}]
    return data


def run(scenario: Scenario, replication: int = 0) -> tuple[RunRecords, Drill]:
    spec = scenario.variants[0]
    drill = Drill(scenario, chain_for_variant(build_chain(scenario), scenario, spec), replication)
    return drill.run(), drill


@pytest.mark.parametrize("backup", ["deputy", "sibling", "parent", "helper"])
@pytest.mark.parametrize("level", ["grid", "building", "floor"])
def test_every_request_accounted_for_under_losses(level: str, backup: str) -> None:
    """Scheduled and random losses, every backup: each request completes, waits or is abandoned."""
    data = loss_dict({"level": level, "share": 0.5, "from": "3h", "until": "30h",
                      "backup": backup},
                     {"level": level, "rate_per_day": 0.5, "duration": "6h", "backup": backup})
    if backup == "helper":
        data["helpers"] = HELPERS
    records, drill = run(make_scenario(data))
    assert drill.losses is not None and drill.losses.periods
    table = conservation([records])
    assert table["balanced"].all()
    assert {"supply", "emergency", "notice", "feedback", "testing"} <= set(table["flow"])


def test_lost_heads_do_no_work() -> None:
    """Floor heads lost for the whole run: their parents do all their work."""
    data = loss_dict({"level": "floor", "share": 1.0, "backup": "parent"})
    records, drill = run(make_scenario(data))
    heads = pd.DataFrame(records.heads)
    floor = heads[heads["level"] == "floor"]
    assert len(floor) and (floor["tasks"] == 0).all() and (floor["busy_min"] == 0).all()
    assert conservation([records])["balanced"].all()


def test_losing_floor_heads_slows_the_notice() -> None:
    """Paired replications: the building head telling every household alone is slower."""
    kept = make_scenario(loss_dict(day_jobs=False))
    kept = kept.model_copy(update={"variants": [kept.variants[0].model_copy(
        update={"lose_heads": []})]})
    lost = make_scenario(loss_dict({"level": "floor", "share": 1.0, "backup": "parent"},
                                   day_jobs=False))
    diffs = []
    for rep in range(3):
        means = []
        for scenario in (lost, kept):
            table = requests_frame([run(scenario, rep)[0]])
            means.append(table.loc[table["flow"] == "notice", "response_min"].mean())
        diffs.append(means[0] - means[1])
    assert min(diffs) > 0, diffs


def test_losses_are_drawn_reproducibly_and_merge() -> None:
    loss = HeadLoss(level="floor", rate_per_day=3.0, duration="10h")
    scenario = make_scenario(loss_dict({"level": "floor", "rate_per_day": 3.0,
                                        "duration": "10h"}))
    first = run(scenario)[1].losses.periods
    second = run(scenario)[1].losses.periods
    assert [(s.name, p) for s, p in first.items()] == [(s.name, p) for s, p in second.items()]
    for periods in first.values():
        starts = np.array([a for a, _, _ in periods])
        ends = np.array([b for _, b, _ in periods])
        assert (ends > starts).all() and (starts[1:] > ends[:-1]).all()
    assert loss.backup == "deputy"


def test_bad_loss_is_refused() -> None:
    with pytest.raises(ValueError, match="until must come after from"):
        HeadLoss(level="floor", share=0.5, **{"from": "5h"}, until="2h")
    with pytest.raises(ValueError, match="share, a rate_per_day"):
        HeadLoss(level="floor")


def test_same_bytes_across_jobs() -> None:
    """Notices, feedback and losses on: one process or two give the same tables."""
    data = loss_dict({"level": "building", "share": 0.5, "from": "3h", "backup": "sibling"})
    data["variants"].append({"name": "plain"})
    data["replications"] = 2
    scenario = make_scenario(data)
    one = run_experiment(scenario, jobs=1, progress=False)
    two = run_experiment(scenario, jobs=2, progress=False)
    assert one.requests.to_csv() == two.requests.to_csv()
    assert one.flow_tables["coverage"].to_csv() == two.flow_tables["coverage"].to_csv()


def test_designs_pair_with_their_lossy_twin_only() -> None:
    data = loss_dict({"level": "building", "share": 0.5, "from": "3h", "backup": "sibling"})
    data["variants"] += [{"name": "plain"}, {"name": "other", "drop_levels": ["floor"]},
                         {"name": "other_lossy", "drop_levels": ["floor"],
                          "lose_heads": data["variants"][0]["lose_heads"]},
                         {"name": "orphan", "drop_levels": ["building"],
                          "lose_heads": data["variants"][0]["lose_heads"]}]
    assert loss_pairs(make_scenario(data)) == [("plain", "lossy"), ("other", "other_lossy")]


def test_lost_heads_have_their_figure_and_report_section(tmp_path) -> None:
    from sim import plots, report, report_flows

    data = loss_dict({"level": "grid", "share": 1.0, "from": "2h", "backup": "parent"})
    data["variants"].append({"name": "plain"})
    results = run_experiment(make_scenario(data, replications=2), jobs=1, progress=False)
    section = report_flows.losses(results, [])
    assert section.startswith('<section id="losses">')
    assert section.count("<tr>") > 2 and "plain" in section and "lossy" in section
    paths = plots.write_figures(results, tmp_path / "figures")
    assert "lost_heads" in [p.stem for p in paths]
    report.write_report(results, paths, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.index('id="losses"') < page.index('id="costs"')
    assert "Lost heads: each target" in page
    plain = make_scenario(loss_dict({"level": "grid", "share": 1.0, "from": "2h"}))
    assert loss_pairs(plain) == []
