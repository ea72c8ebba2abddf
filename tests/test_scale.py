"""The scale ladder: generated scenarios are up to date and lay out what they say."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

from sim.chain import build_chain
from sim.estimate import estimate
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("scale_script", ROOT / "scripts" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def test_written_rungs_are_what_the_generator_writes() -> None:
    scale = _script()
    template = yaml.safe_load(scale.TEMPLATE.read_text(encoding="utf-8"))
    base, _ = scale.template_size(template)
    for rung in scale.RUNGS:
        expected = scale.render(scale.scaled(template, rung, base), rung, base)
        assert (ROOT / rung.path).read_text(encoding="utf-8") == expected, rung.path


def test_the_community_rung_is_the_drill_for_2000_households() -> None:
    drill = load_scenario(ROOT / "scenarios" / "drill.yaml")
    rung = load_scenario(ROOT / "scenarios" / "scale" / "community.yaml")
    graph = build_chain(rung)
    households = sum(1 for _, kind in graph.nodes(data="kind") if kind == "household")
    assert 1_800 <= households <= 2_200
    assert [v.name for v in rung.variants] == ["five_levels", "four_levels", "three_levels"]
    assert rung.horizon == 72 * 60 and rung.heads == drill.heads
    assert rung.supply.depot.pack_per_order == drill.supply.depot.pack_per_order
    # shared resources grow with households (the drill's per household, rounded up)
    share = households / 6_211
    assert rung.supply.depot.teams >= drill.supply.depot.teams * share
    assert rung.emergency.ambulances.count >= drill.emergency.ambulances.count * share


def test_the_city_is_a_million_people_in_about_a_hundred_communities() -> None:
    city = load_scenario(ROOT / "scenarios" / "city.yaml")
    per_community = city.layout.households_per_grid * city.layout.grids_per_community
    households = estimate(city).households  # expected households of the layout
    assert 250_000 <= households <= 400_000
    assert 80 <= households / per_community <= 120
    assert city.horizon == 72 * 60 and len(city.variants) >= 3
