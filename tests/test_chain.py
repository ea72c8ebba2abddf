"""The five-level chain (a networkx tree) and its granularity transforms."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from sim.chain import (
    DISPATCH,
    HOUSEHOLD_LEVEL,
    build_chain,
    chain_for_variant,
    cost_table,
    drop_level,
    grid_of,
    heads_above,
    household_table,
    households,
    nodes_at,
)
from sim.scenario import LEVELS, ROLES, Scenario, Variant

from .conftest import make_scenario, small_dict


def fixed_size_scenario() -> Scenario:
    """small.yaml with fixed households per sub-unit, so every count is known exactly.

    compounds: 2 buildings × 4 floors × 3 = 24; lane: 5 courtyards (3 + 2 over two
    lanes) × 4 = 20; market: 8 shops × 1 = 8; 52 households, 21 sub-units, 5 units.
    """
    data = small_dict()
    data["layout"]["areas"][0]["households_per_sub_unit"] = 3
    data["layout"]["areas"][1]["households_per_sub_unit"] = 4
    return make_scenario(data)


@pytest.fixture(scope="module")
def small_chain() -> nx.DiGraph:
    return build_chain(make_scenario(small_dict()))


def household_set(graph: nx.DiGraph) -> dict[str, tuple]:
    keys = ("index", "group", "area", "people", "x_m", "floor")
    return {h: tuple(graph.nodes[h][k] for k in keys) for h in households(graph)}


def check_tree(graph: nx.DiGraph) -> None:
    assert nx.is_tree(graph.to_undirected())
    assert graph.in_degree(DISPATCH) == 0
    for node in graph:
        if node != DISPATCH:
            assert graph.in_degree(node) == 1, node
    # levels increase by at least one along every edge, households are leaves
    for parent, child in graph.edges:
        assert graph.nodes[child]["level"] > graph.nodes[parent]["level"]
    for node in households(graph):
        assert graph.out_degree(node) == 0
    # the households attribute counts the households below
    for node in graph:
        below = sum(1 for d in nx.descendants(graph, node)
                    if graph.nodes[d]["kind"] == "household")
        expected = 1 if graph.nodes[node]["kind"] == "household" else below
        assert graph.nodes[node]["households"] == expected, node


def test_small_chain_is_a_tree(small_chain: nx.DiGraph) -> None:
    check_tree(small_chain)


def test_five_levels_and_roles_by_area_type(small_chain: nx.DiGraph) -> None:
    seen: dict[str, set[int]] = {}
    for node, data in small_chain.nodes(data=True):
        if data["kind"] != "head":
            continue
        assert data["role"] == ROLES[data["area"]][data["level"] - 1], node
        assert data["level_name"] == LEVELS[data["level"] - 1]
        seen.setdefault(data["area"], set()).add(data["level"])
        # a head's whole subtree lies in its area
        for d in nx.descendants(small_chain, node):
            assert small_chain.nodes[d]["area"] == data["area"]
    assert seen == {area: {1, 2, 3, 4, 5} for area in ("compound", "bungalow", "commercial")}
    roles = {data["role"] for _, data in small_chain.nodes(data=True) if data["kind"] == "head"}
    assert roles == {role for names in ROLES.values() for role in names}


def test_parents_are_one_level_up(small_chain: nx.DiGraph) -> None:
    for parent, child in small_chain.edges:
        if parent != DISPATCH:
            assert small_chain.nodes[child]["level"] == small_chain.nodes[parent]["level"] + 1
        else:
            assert small_chain.nodes[child]["level"] == 1


def test_household_count_within_layout_bounds(small_chain: nx.DiGraph) -> None:
    scenario = make_scenario(small_dict())
    low = high = 0
    subs_total = 0
    for area in scenario.layout.areas:
        subs = area.sub_units_total or area.units * area.sub_units_per_unit
        subs_total += subs
        low += subs * area.households_per_sub_unit.min
        high += subs * area.households_per_sub_unit.max
    n = len(households(small_chain))
    assert low <= n <= high
    assert len(nodes_at(small_chain, 5)) == subs_total
    assert len(nodes_at(small_chain, 4)) == sum(a.units for a in scenario.layout.areas)
    assert small_chain.nodes[DISPATCH]["households"] == n


def test_household_count_equals_layout_sum() -> None:
    graph = build_chain(fixed_size_scenario())
    assert len(households(graph)) == 2 * 4 * 3 + 5 * 4 + 8 * 1 == 52
    assert [graph.nodes[h]["index"] for h in households(graph)] == list(range(52))
    per_area = {}
    for h in households(graph):
        per_area[graph.nodes[h]["area_name"]] = per_area.get(graph.nodes[h]["area_name"], 0) + 1
    assert per_area == {"compounds": 24, "lane": 20, "market": 8}


def test_every_household_under_a_floor_head(small_chain: nx.DiGraph) -> None:
    for h in households(small_chain):
        (parent,) = small_chain.predecessors(h)
        assert small_chain.nodes[parent]["level"] == 5
        path = heads_above(small_chain, h)
        assert [small_chain.nodes[p]["level"] for p in path] == [5, 4, 3, 2, 1]
        assert small_chain.nodes[grid_of(small_chain, h)]["level"] == 3


def test_compound_floors_climb(small_chain: nx.DiGraph) -> None:
    for node in nodes_at(small_chain, 4):
        data = small_chain.nodes[node]
        floors = [small_chain.nodes[c]["floor"] for c in small_chain.successors(node)]
        if data["area"] == "compound":
            assert floors == list(range(1, len(floors) + 1))
        else:
            assert set(floors) == {1}


def test_layout_depends_on_seed_only() -> None:
    data = small_dict()
    a = build_chain(make_scenario(data))
    data["replications"] = 9
    data["heads"]["grid"]["staff"] = 5
    b = build_chain(make_scenario(data))
    assert household_set(a) == household_set(b)
    assert sorted(a.edges) == sorted(b.edges)
    c = build_chain(make_scenario(data, seed=8))
    assert household_set(a) != household_set(c)


def test_drop_levels_gives_three_levels(small_chain: nx.DiGraph) -> None:
    scenario = make_scenario(small_dict())
    graph = chain_for_variant(small_chain, scenario, scenario.variant("three_levels"))
    check_tree(graph)
    assert graph.graph["variant"] == "three_levels"
    assert {graph.nodes[n]["level"] for n in graph if graph.nodes[n]["kind"] == "head"} == {
        1, 2, 3}
    assert household_set(graph) == household_set(small_chain)
    for h in households(graph):
        (parent,) = graph.predecessors(h)
        assert graph.nodes[parent]["level"] == 3
        # the grid head is the one the household had in the full chain
        assert parent == grid_of(small_chain, h)
    # the base chain is untouched
    assert len(nodes_at(small_chain, 4)) > 0 and len(nodes_at(small_chain, 5)) > 0


@pytest.mark.parametrize("level", LEVELS)
def test_drop_any_single_level(small_chain: nx.DiGraph, level: str) -> None:
    graph = small_chain.copy()
    drop_level(graph, level)
    check_tree(graph)
    number = LEVELS.index(level) + 1
    assert nodes_at(graph, number) == []
    assert household_set(graph) == household_set(small_chain)
    # every other head keeps its households
    for node in small_chain:
        if node in graph:
            assert graph.nodes[node]["households"] == small_chain.nodes[node]["households"]


def test_resplit_floor_level_exact_spans(small_chain: nx.DiGraph) -> None:
    """Households count one each, so floor heads of span 3 hold exactly 3 but the last."""
    scenario = make_scenario(small_dict())
    graph = chain_for_variant(small_chain, scenario,
                              Variant(name="floors_of_3", households_per_head={"floor": 3}))
    check_tree(graph)
    assert household_set(graph) == household_set(small_chain)
    for unit in nodes_at(graph, 4):
        spans = [graph.nodes[f]["households"] for f in graph.successors(unit)]
        total = small_chain.nodes[unit]["households"]
        assert sum(spans) == total
        assert spans[:-1] == [3] * (len(spans) - 1)
        assert 1 <= spans[-1] <= 3
        assert len(spans) == math.ceil(total / 3)
    # nothing moved to another building
    for h in households(graph):
        assert heads_above(graph, h)[1] == heads_above(small_chain, h)[1]
    # new heads keep the role of the level and area they replace
    for node in nodes_at(graph, 5):
        data = graph.nodes[node]
        assert data["role"] == ROLES[data["area"]][4]


@pytest.mark.parametrize("target", [10, 40])
def test_resplit_grid_level_spans_near_target(small_chain: nx.DiGraph, target: int) -> None:
    scenario = make_scenario(small_dict())
    graph = chain_for_variant(small_chain, scenario,
                              Variant(name="regrid", households_per_head={"grid": target}))
    check_tree(graph)
    assert household_set(graph) == household_set(small_chain)
    for community in nodes_at(graph, 2):
        grids = list(graph.successors(community))
        old_units = [u for g in small_chain.successors(community)
                     for u in small_chain.successors(g)]
        new_units = [u for g in grids for u in graph.successors(g)]
        assert new_units == old_units  # same units, same order, same community
        for k, grid in enumerate(grids):
            units = [graph.nodes[u]["households"] for u in graph.successors(grid)]
            span = sum(units)
            if len(units) > 1:
                # adding the last unit brought the span no farther from the target
                assert abs(span - target) <= abs(span - units[-1] - target)
            if k + 1 < len(grids):
                # the next unit would have overshot the target and moved away from it
                nxt = graph.nodes[next(iter(graph.successors(grids[k + 1])))]["households"]
                assert span + nxt > target
                assert abs(span + nxt - target) > abs(span - target)


def test_resplit_grid_smaller_span_means_more_grids(small_chain: nx.DiGraph) -> None:
    scenario = make_scenario(small_dict())
    counts = []
    for target in (5, 20, 1000):
        graph = chain_for_variant(small_chain, scenario,
                                  Variant(name=f"g{target}", households_per_head={"grid": target}))
        counts.append(len(nodes_at(graph, 3)))
    assert counts[0] >= counts[1] >= counts[2]
    assert counts[0] == len(nodes_at(small_chain, 4))  # every unit alone
    assert counts[2] == len(nodes_at(small_chain, 2))  # one grid per community


def test_resplit_then_drop(small_chain: nx.DiGraph) -> None:
    scenario = make_scenario(small_dict())
    variant = Variant(name="mix", drop_levels=["building"], households_per_head={"floor": 4})
    graph = chain_for_variant(small_chain, scenario, variant)
    check_tree(graph)
    assert nodes_at(graph, 4) == []
    assert household_set(graph) == household_set(small_chain)
    for f in nodes_at(graph, 5):
        (parent,) = graph.predecessors(f)
        assert graph.nodes[parent]["level"] == 3
        assert graph.nodes[f]["households"] <= 4
    # new head ids do not collide with old ones
    assert len(set(graph.nodes)) == graph.number_of_nodes()


def test_cost_table_numbers() -> None:
    scenario = fixed_size_scenario()
    base = build_chain(scenario)
    five = chain_for_variant(base, scenario, scenario.variant("five_levels"))
    rows = {row["level"]: row for row in cost_table(five)}
    assert list(rows) == list(LEVELS)
    # grids per area (households_per_grid 20): compounds 12+12 -> one grid of 24 (closer to
    # 20 than 12), lane 12+8 -> one of 20, market 8 -> one; one community and zone per area.
    expected = {"zone": (3, 3), "community": (3, 6), "grid": (3, 6), "building": (5, 5),
                "floor": (21, 21)}
    for level, (heads, people) in expected.items():
        assert rows[level]["heads"] == heads, level
        assert rows[level]["people"] == people, level
        assert rows[level]["households_per_head"] == pytest.approx(52 / heads)
    three = chain_for_variant(base, scenario, scenario.variant("three_levels"))
    rows = {row["level"]: row for row in cost_table(three)}
    assert rows["grid"]["heads"] == 3 and rows["grid"]["people"] == 6
    for level in ("building", "floor"):
        assert rows[level]["heads"] == 0 and rows[level]["people"] == 0
        assert math.isnan(rows[level]["households_per_head"])


def test_staff_follow_the_scenario() -> None:
    data = small_dict()
    data["heads"]["floor"]["staff"] = 3
    scenario = make_scenario(data)
    graph = build_chain(scenario)
    for node in graph:
        data_ = graph.nodes[node]
        if data_["kind"] == "head":
            assert data_["staff"] == scenario.head_level(data_["level_name"]).staff
    assert nodes_at(graph, HOUSEHOLD_LEVEL) == households(graph)


def test_resplit_zone_over_areas_is_labelled_mixed(small_chain: nx.DiGraph) -> None:
    scenario = make_scenario(small_dict())
    graph = chain_for_variant(small_chain, scenario,
                              Variant(name="one_zone", households_per_head={"zone": 10_000}))
    (zone,) = nodes_at(graph, 1)
    assert graph.nodes[zone]["area"] == "mixed"
    assert graph.nodes[zone]["area_name"] == "mixed"
    # a re-split inside one area keeps the area's labels
    graph = chain_for_variant(small_chain, scenario,
                              Variant(name="floors", households_per_head={"floor": 6}))
    for node in nodes_at(graph, 5):
        children = {graph.nodes[c]["area"] for c in graph.successors(node)}
        assert {graph.nodes[node]["area"]} == children


def test_two_resplits_pack_by_the_new_counts(small_chain: nx.DiGraph) -> None:
    scenario = make_scenario(small_dict())
    total = len(nodes_at(small_chain, HOUSEHOLD_LEVEL))
    graph = chain_for_variant(small_chain, scenario, Variant(
        name="both", households_per_head={"community": 10, "zone": 30}))
    zones = nodes_at(graph, 1)
    assert sum(graph.nodes[z]["households"] for z in zones) == total
    # the same as re-splitting communities, counting, then re-splitting zones
    by_hand = chain_for_variant(small_chain, scenario, Variant(
        name="communities", households_per_head={"community": 10}))
    by_hand = chain_for_variant(by_hand, scenario, Variant(
        name="zones", households_per_head={"zone": 30}))
    assert [graph.nodes[z]["households"] for z in zones] == [
        by_hand.nodes[z]["households"] for z in nodes_at(by_hand, 1)]


@pytest.mark.parametrize("drop", [[], ["grid"], ["zone", "floor"], ["zone", "community", "grid",
                                                                   "building"]])
def test_household_table_walks_each_head_once_to_the_same_paths(small_chain: nx.DiGraph,
                                                                drop: list[str]) -> None:
    """The table shares paths by head; each row still equals a walk up from the household."""
    graph = small_chain.copy()
    for level in drop:
        drop_level(graph, level)
    table = household_table(graph)
    assert [row[0] for row in table] == households(graph)
    for node, data, path, grid in table:
        assert data is graph.nodes[node]
        assert path == tuple(heads_above(graph, node))
        assert grid == grid_of(graph, node)
    assert any(graph.nodes[row[3]]["level"] > 3 for row in table) == (drop[-1:] == ["building"])


def _same_chain(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    return (list(a.nodes(data=True)) == list(b.nodes(data=True))
            and list(a.edges) == list(b.edges) and a.graph == b.graph)


def test_a_chain_too_large_to_keep_becomes_its_variant_in_place(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that keeps no base chain transforms it without a copy: the same chain."""
    import sim.experiment as experiment

    scenario = make_scenario(small_dict())
    name = next(v.name for v in scenario.variants if v.drop_levels)
    monkeypatch.setattr(experiment, "_CHAINS", {})
    kept = experiment._variant_chain(scenario, name, keep_base=False)
    assert len(experiment._CHAINS) == 2  # small: the base is kept for the next variant
    monkeypatch.setattr(experiment, "_CHAINS", {})
    monkeypatch.setattr(experiment, "_CHAIN_NODES_KEPT", 10)
    built = []
    monkeypatch.setattr(experiment, "build_chain",
                        lambda own: built.append(build_chain(own)) or built[-1])
    in_place = experiment._variant_chain(scenario, name, keep_base=False)
    assert in_place is built[0]  # no copy was made
    assert list(experiment._CHAINS.values()) == [in_place]  # and no base kept
    assert _same_chain(in_place, kept)
