"""Any scenario key as a variant: set: by dotted path, --set, --sweep, sim.run(set=...)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim
from sim.chain import build_chain, chain_for_variant, households
from sim.errors import ScenarioError
from sim.experiment import run_experiment, run_one
from sim.overrides import dump, valid_paths, variant_scenario

from .conftest import SMALL, make_scenario, run_cli, small_dict


def _with_variants(*variants: dict, **changes: object) -> dict:
    data = small_dict()
    data["variants"] = [{"name": "five_levels"}, *variants]
    data.update(changes)
    return data


def _leaves(document: dict) -> dict[str, object]:
    paths = valid_paths(document)
    out = {}
    for path in paths:
        node: object = document
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        if not isinstance(node, (dict, list)) or not node:
            out[path] = node
    return out


def test_set_changes_exactly_the_keys_named() -> None:
    sets = {"emergency.ambulances.count": 4, "heads.floor.staff": 2,
            "layout.areas.0.units": 3, "emergency.severities.critical.target": "15min",
            "heads.grid.relay": {"dist": "uniform", "low": "1min", "high": "3min"}}
    scenario = make_scenario(_with_variants({"name": "more", "set": sets}))
    base = _leaves({k: v for k, v in dump(scenario).items()
                    if k not in ("variants", "sensitivity")})
    own = variant_scenario(scenario, "more")
    changed = _leaves({k: v for k, v in dump(own).items()
                       if k not in ("variants", "sensitivity")})
    differ = {p for p in base.keys() | changed.keys() if base.get(p) != changed.get(p)}
    assert differ == {"emergency.ambulances.count", "heads.floor.staff", "layout.areas.0.units",
                      "emergency.severities.critical.target", "heads.grid.relay.dist",
                      "heads.grid.relay.mean", "heads.grid.relay.low", "heads.grid.relay.high"}
    assert own.emergency.severities["critical"].target == 15.0
    assert (own.heads.grid.relay.low, own.heads.grid.relay.high) == (1.0, 3.0)
    # the resolved scenario shows the set: and loads back to the same bytes
    text = scenario.to_yaml()
    again = make_scenario(yaml.safe_load(text))
    assert again.to_yaml() == text
    assert yaml.safe_load(text)["variants"][1]["set"] == sets


def test_variant_staff_and_layout_reach_the_chain() -> None:
    scenario = make_scenario(_with_variants(
        {"name": "bigger", "set": {"layout.areas.0.units": 4, "heads.floor.staff": 3}},
        {"name": "three", "drop_levels": ["building", "floor"],
         "set": {"heads.grid.staff": 5}}))
    base = build_chain(scenario)
    bigger = chain_for_variant(base, scenario, scenario.variant("bigger"))
    assert len(households(bigger)) > len(households(base))
    assert {d["staff"] for _, d in bigger.nodes(data=True) if d.get("level_name") == "floor"} \
        == {3}
    three = chain_for_variant(base, scenario, scenario.variant("three"))
    assert {d["staff"] for _, d in three.nodes(data=True) if d.get("level_name") == "grid"} \
        == {5}
    # runs in one process, alternating, each with its own chain (the cache keeps them apart)
    counts = {}
    for name in ("five_levels", "bigger", "five_levels", "bigger"):
        records = run_one(scenario, name, 0, keep_stages=False)
        counts.setdefault(name, set()).add(sum(row[4] for row in records.heads
                                               if row[1] == "zone"))
        assert records.variant == name
    assert counts["five_levels"] == {len(households(base))}
    assert counts["bigger"] == {len(households(bigger))}


def test_same_value_gives_identical_rows() -> None:
    """Common random numbers: a fleet of the size the scenario already has changes nothing."""
    scenario = make_scenario(_with_variants(
        {"name": "same_fleet", "set": {"emergency.ambulances.count": 1}}))
    results = run_experiment(scenario, jobs=1, progress=False)
    requests = results.requests.drop(columns="variant")
    mine = requests[results.requests["variant"] == "same_fleet"].reset_index(drop=True)
    base = requests[results.requests["variant"] == "five_levels"].reset_index(drop=True)
    assert len(base) > 100
    pd.testing.assert_frame_equal(mine, base)


def test_four_ambulances_never_slower_than_two() -> None:
    data = _with_variants({"name": "two", "set": {"emergency.ambulances.count": 2}},
                          {"name": "four", "set": {"emergency.ambulances.count": 4}},
                          replications=5)
    data["variants"] = data["variants"][1:]
    data["emergency"]["per_1000_people_per_day"] = 100  # enough calls to queue for a crew
    data["emergency"]["ambulances"]["job"] = {"dist": "uniform", "low": "2h", "high": "4h"}
    results = run_experiment(make_scenario(data), jobs=1, progress=False)
    per = results.per_replication
    per = per[(per["household_group"] == "all") & (per["flow"] == "emergency")
              & per["kind"].isin(["critical", "urgent"])]
    table = per.pivot_table(index=["kind", "replication"], columns="variant", values="mean")
    assert len(table) == 10
    # paired by replication: four is never slower ...
    assert (table["four"] <= table["two"] + 1e-9).all(), table
    # ... and faster: a sign test over the pairs that differ (2**-7 < 0.01 if no effect)
    gap = (table["two"] - table["four"]).to_numpy()
    assert (gap > 1e-9).sum() >= 7, gap


def test_sweep_helper_crosses_axes() -> None:
    scenario = make_scenario(small_dict())
    made = sim.sweep(scenario, {"emergency.ambulances.count": [1, 2, 3],
                                "heads.floor.staff": [1, 2]})
    assert len(made) == 2 * 3 * 2
    assert made[0].name == "five_levels+ambulances.count=1+floor.staff=1"
    assert made[-1].drop_levels == ["building", "floor"]
    assert made[-1].overrides == {"emergency.ambulances.count": 3, "heads.floor.staff": 2}
    swept = sim.override(scenario, variants=made)
    assert [v.name for v in swept.variants] == [v.name for v in made]


def test_run_with_set() -> None:
    results = sim.run(SMALL, set={"replications": 1, "emergency.ambulances.count": 2})
    assert results.scenario.emergency.ambulances.count == 2
    assert results.scenario.replications == 1
    with pytest.raises(ScenarioError, match="did you mean 'emergency.ambulances.count'"):
        sim.run(SMALL, set={"emergency.ambulance.count": 2})


def test_cli_sweep_makes_one_variant_per_value(tmp_path: Path) -> None:
    out = tmp_path / "swept"
    proc = run_cli(SMALL, "--out", out, "--quiet", "--no-figures", "--replications", "1",
                   "--variant", "five_levels", "--set", "heads.grid.staff=3",
                   "--sweep", "emergency.ambulances.count=1,2,4")
    assert proc.returncode == 0, proc.stderr
    names = ["five_levels+ambulances.count=1", "five_levels+ambulances.count=2",
             "five_levels+ambulances.count=4"]
    assert list(pd.read_csv(out / "variants.csv")["variant"].unique()) == names
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text(encoding="utf-8"))
    assert [v["name"] for v in resolved["variants"]] == names
    assert [v["set"] for v in resolved["variants"]] == [
        {"emergency.ambulances.count": n} for n in (1, 2, 4)]
    assert resolved["heads"]["grid"]["staff"] == 3


@pytest.mark.parametrize(("args", "expected"), [
    (["--set", "emergency.ambulance.count=4"], "did you mean 'emergency.ambulances.count'?"),
    (["--sweep", "heads.flor.staff=1,2"], "did you mean 'heads.floor.staff'?"),
    (["--set", "layout.areas.7.units=2"], "did you mean 'layout.areas.2.units'?"),
    (["--set", "heads.floor.staff=0"], "heads.floor.staff"),
    (["--set", "nonsense"], "expects KEY=VALUE"),
])
def test_cli_bad_path_is_one_line(args: list[str], expected: str, tmp_path: Path) -> None:
    proc = run_cli(SMALL, "--out", tmp_path / "never", *args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert expected in proc.stderr
    assert not (tmp_path / "never").exists()


def test_file_with_misspelt_set_is_one_line(tmp_path: Path) -> None:
    data = _with_variants({"name": "more", "set": {"emergency.ambulances.cuont": 4}})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    proc = run_cli(path, "--out", tmp_path / "never")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "variant 'more'" in proc.stderr
    assert "did you mean 'emergency.ambulances.count'?" in proc.stderr
    with pytest.raises(ScenarioError, match="belongs to the whole experiment"):
        make_scenario(_with_variants({"name": "reseeded", "set": {"seed": 3}}))
