"""The five-level chain as a networkx tree, and the granularity transforms on it.

``build_chain(scenario)`` lays out the physical community (units, sub-units,
households) with a layout random stream that depends on the seed only, then
groups it into the five levels: dispatch → zone → community → grid → building /
lane / market → floor / courtyard / shop → household. ``chain_for_variant``
applies a variant's transforms (re-split a level to a new span, drop a level) to
that one graph, so every variant serves the very same households.

Node attributes: ``kind`` (``dispatch``, ``head``, ``household``), ``level``
(0 dispatch, 1-5 heads, 6 households), ``level_name``, ``role``, ``area``,
``area_name``, ``x_m`` and ``floor`` (the node's access point, metres along the
ground from its grid gate and storey), ``lift`` (wait, minutes per floor and bags per
ride of its building's lifts, or None for stairs), ``households`` (served below it); heads
carry ``staff``; households carry ``index``, ``people`` and ``group``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from sim.scenario import LEVELS, ROLES, Area, Scenario, Variant

DISPATCH = "dispatch"
HOUSEHOLD_LEVEL = 6
_HOUSEHOLD_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PREFIX = {"zone": "Z", "community": "C", "grid": "G", "building": "B", "floor": "F"}


def level_number(level_name: str) -> int:
    """1 for ``zone`` ... 5 for ``floor``."""
    return LEVELS.index(level_name) + 1


GRID_LEVEL = level_number("grid")


def layout_key(scenario: Scenario) -> str:
    """What the full chain depends on: two scenarios with the same key lay out the same."""
    return scenario.model_dump_json(include={"name", "seed", "layout", "households"})


def build_chain(scenario: Scenario) -> nx.DiGraph:
    """The full five-level chain of ``scenario`` (one head per unit at every level)."""
    layout_rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 0]))
    graph = nx.DiGraph(name=scenario.name, layout_key=layout_key(scenario))
    graph.add_node(DISPATCH, kind="dispatch", level=0, level_name="dispatch", role="dispatch",
                   area="all", area_name="all", x_m=0.0, floor=1)
    counters = {level: 0 for level in LEVELS}
    group_names, group_p = _group_table(scenario)
    households = 0
    for area in scenario.layout.areas:
        lift = ((area.lift.wait, area.lift.per_floor, area.lift.bags_per_ride)
                if area.lift else None)
        units = [_lay_out_unit(area, u, layout_rng) for u in range(area.units)]
        grids = _pack(units, scenario.layout.households_per_grid, lambda u: u["households"])
        communities = _chunks(grids, scenario.layout.grids_per_community)
        zones = _chunks(communities, scenario.layout.communities_per_zone)
        for zone in zones:
            zone_id = _add_head(graph, DISPATCH, "zone", area, counters, 0.0, 1)
            for community in zone:
                community_id = _add_head(graph, zone_id, "community", area, counters, 0.0, 1)
                for grid in community:
                    grid_id = _add_head(graph, community_id, "grid", area, counters, 0.0, 1)
                    for unit in grid:
                        unit_id = _add_head(graph, grid_id, "building", area, counters,
                                            unit["x_m"], 1, lift)
                        for sub in unit["subs"]:
                            sub_id = _add_head(graph, unit_id, "floor", area, counters,
                                               sub["x_m"], sub["floor"], lift)
                            groups = layout_rng.choice(len(group_names), sub["households"],
                                                       p=group_p)
                            common = {"kind": "household", "level": HOUSEHOLD_LEVEL,
                                      "level_name": "household", "role": "household",
                                      "area": area.type, "area_name": area.name,
                                      "x_m": sub["x_m"] + area.door_walk_m,
                                      "floor": sub["floor"]}
                            names = [f"H{households + k + 1:05d}" for k in range(len(groups))]
                            graph.add_nodes_from(
                                (name, {**common, "index": households + k,
                                        "people": area.people_per_household,
                                        "group": group_names[g], "lift": lift})
                                for k, (name, g) in enumerate(zip(names, groups.tolist(),
                                                                  strict=True)))
                            graph.add_edges_from((sub_id, name) for name in names)
                            households += len(names)
    _set_staff(graph, scenario)
    _count_households(graph)
    return graph


def chain_for_variant(base: nx.DiGraph | None, scenario: Scenario,
                      variant: Variant, copy: bool = True) -> nx.DiGraph:
    """A copy of ``base`` transformed by ``variant``: re-splits first, then dropped levels.

    Staff come from the variant's own scenario (its ``set:`` applied); when ``base``
    is ``None`` or was laid out for another layout (a ``set:`` into ``layout``), the
    variant's full chain is built first. With ``copy=False``, ``base`` itself is
    transformed and returned: a caller that will not use it again (a city district's
    worker) saves the copy's time and memory (two city chains held at once).
    """
    own = _own_scenario(scenario, variant)
    if base is None or base.graph.get("layout_key") != layout_key(own):
        base = build_chain(own)
    scenario = own
    graph = base.copy() if copy else base
    for level_name, span in variant.households_per_head.items():
        resplit_level(graph, level_name, span)
        _count_households(graph)  # the next re-split packs by the new heads' counts
    for level_name in variant.drop_levels:
        drop_level(graph, level_name)
    _set_staff(graph, scenario)
    _count_households(graph)
    graph.graph["variant"] = variant.name
    return graph


def drop_level(graph: nx.DiGraph, level_name: str) -> None:
    """Remove every head at ``level_name``; its parent serves its children directly."""
    for node in nodes_at(graph, level_number(level_name)):
        parent = next(iter(graph.predecessors(node)))
        children = list(graph.successors(node))
        graph.remove_node(node)
        graph.add_edges_from((parent, child) for child in children)


def resplit_level(graph: nx.DiGraph, level_name: str, households_per_head: int) -> None:
    """Regroup the heads at ``level_name`` so each serves about ``households_per_head``.

    Under each parent, the children of the level's heads are taken in order and packed
    into new heads; no child is split, and nothing moves to another parent.
    """
    level = level_number(level_name)
    counters = {name: _max_counter(graph, name) for name in LEVELS}
    parents = {next(iter(graph.predecessors(n))): None for n in nodes_at(graph, level)}
    for parent in parents:
        old_heads = list(graph.successors(parent))
        grandchildren = [c for head in old_heads for c in graph.successors(head)]
        if not grandchildren:
            continue
        template = graph.nodes[old_heads[0]]
        graph.remove_nodes_from(old_heads)
        for group in _pack(grandchildren, households_per_head,
                           lambda n: graph.nodes[n]["households"]):
            counters[level_name] += 1
            head = f"{_PREFIX[level_name]}{counters[level_name]:04d}"
            graph.add_node(
                head, **{**template, **_common_area(graph, group),
                         "x_m": min(graph.nodes[c]["x_m"] for c in group),
                         "floor": min(graph.nodes[c]["floor"] for c in group)},
            )
            graph.add_edge(parent, head)
            graph.add_edges_from((head, c) for c in group)


def nodes_at(graph: nx.DiGraph, level: int) -> list[str]:
    """Nodes at ``level`` (1-5 heads, 6 households) in insertion order."""
    return [n for n, lv in graph.nodes(data="level") if lv == level]


def heads(graph: nx.DiGraph) -> list[str]:
    """All head nodes, top level first."""
    return [n for n, kind in graph.nodes(data="kind") if kind == "head"]


def households(graph: nx.DiGraph) -> list[str]:
    """Household nodes ordered by their index (the same order in every variant)."""
    found = [(data["index"], n) for n, data in graph.nodes(data=True)
             if data["kind"] == "household"]
    return [n for _, n in sorted(found)]


def heads_above(graph: nx.DiGraph, node: str) -> list[str]:
    """The heads from ``node``'s parent up to the top head, nearest first."""
    path = []
    parent = next(iter(graph.predecessors(node)), None)
    while parent is not None and graph.nodes[parent]["kind"] == "head":
        path.append(parent)
        parent = next(iter(graph.predecessors(parent)), None)
    return path


def household_table(graph: nx.DiGraph) -> list[tuple]:
    """Per household, by index: (node, data, heads above nearest first, grid head).

    Computed once per graph object and kept while the graph lives: every replication
    of a variant builds its model from the same table. Do not modify a graph after
    a model has been built from it.
    """
    table = _HOUSEHOLD_TABLES.get(graph)
    if table is None:
        # Households under one head share its path: each head's is walked once.
        above: dict[str | None, tuple[tuple[str, ...], str]] = {}
        nodes = graph.nodes

        def path_from(head: str | None) -> tuple[tuple[str, ...], str]:
            found = above.get(head)
            if found is None:
                path = ((head, *path_from(next(iter(graph.pred[head]), None))[0])
                        if head is not None and nodes[head]["kind"] == "head" else ())
                found = above[head] = (path, _grid(graph, path))
            return found

        table = [(node, nodes[node], *path_from(next(iter(graph.pred[node]), None)))
                 for node in households(graph)]
        _HOUSEHOLD_TABLES[graph] = table
    return table


def grid_of(graph: nx.DiGraph, node: str) -> str:
    """The grid head above ``node``, or the nearest head above if grids are dropped."""
    return _grid(graph, heads_above(graph, node))


def _grid(graph: nx.DiGraph, path: Sequence[str]) -> str:
    """The first head of ``path`` (nearest first) at grid level or above, else its top."""
    return next((h for h in path if graph.nodes[h]["level"] <= GRID_LEVEL),
                path[-1] if path else DISPATCH)


def cost_table(graph: nx.DiGraph) -> list[dict]:
    """Heads and people per level and households per head: what a variant costs."""
    total_households = sum(1 for _ in nodes_at(graph, HOUSEHOLD_LEVEL))
    rows = []
    for level, name in enumerate(LEVELS, start=1):
        nodes = nodes_at(graph, level)
        rows.append({
            "level": name,
            "heads": len(nodes),
            "people": sum(graph.nodes[n]["staff"] for n in nodes),
            "households_per_head": total_households / len(nodes) if nodes else float("nan"),
        })
    return rows


# ---- helpers -----------------------------------------------------------------------------------


def _own_scenario(scenario: Scenario, variant: Variant) -> Scenario:
    """The scenario ``variant`` runs with (``scenario`` itself when it sets nothing)."""
    if not variant.overrides:
        return scenario
    from sim.overrides import variant_scenario

    if variant in scenario.variants:
        return variant_scenario(scenario, variant.name)
    return variant_scenario(scenario.model_copy(update={"variants": [variant]}), variant.name)


def _group_table(scenario: Scenario) -> tuple[list[str], np.ndarray]:
    groups = scenario.households.groups
    names = [*groups, "general"]
    shares = [g.share for g in groups.values()]
    probabilities = np.array([*shares, max(0.0, 1 - sum(shares))])
    return names, probabilities / probabilities.sum()


def _lay_out_unit(area: Area, number: int, rng: np.random.Generator) -> dict:
    """A unit's position and sub-units (floors climb; courtyards and shops line a lane)."""
    if area.sub_units_per_unit is not None:
        n_subs = area.sub_units_per_unit
    else:
        base, extra = divmod(area.sub_units_total, area.units)
        n_subs = base + (1 if number < extra else 0)
    x_m = float(rng.uniform(area.gate_walk_m.min, area.gate_walk_m.max))
    subs = []
    for i in range(n_subs):
        size = int(rng.integers(area.households_per_sub_unit.min,
                                area.households_per_sub_unit.max + 1))
        if area.type == "compound":
            subs.append({"x_m": x_m, "floor": i + 1, "households": size})
        else:
            subs.append({"x_m": x_m + i * area.sub_unit_spacing_m, "floor": 1,
                         "households": size})
    return {"x_m": x_m, "subs": subs, "households": sum(s["households"] for s in subs)}


def _pack(items: list, target: int, size: Callable[[Any], int]) -> list[list]:
    """Consecutive groups of ``items`` whose sizes add up as close to ``target`` as they can."""
    groups: list[list] = []
    current: list = []
    total = 0
    for item in items:
        n = size(item)
        if current and abs(total + n - target) > abs(total - target) and total + n > target:
            groups.append(current)
            current, total = [], 0
        current.append(item)
        total += n
    if current:
        groups.append(current)
    return groups


def _common_area(graph: nx.DiGraph, children: list[str]) -> dict[str, str]:
    """The area type and name a new head serves: its children's, or ``mixed``."""
    common = {}
    for key in ("area", "area_name"):
        values = {graph.nodes[c][key] for c in children}
        common[key] = values.pop() if len(values) == 1 else "mixed"
    return common


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _add_head(graph: nx.DiGraph, parent: str, level_name: str, area: Area,
              counters: dict[str, int], x_m: float, floor: int,
              lift: tuple[float, float, int] | None = None) -> str:
    counters[level_name] += 1
    node = f"{_PREFIX[level_name]}{counters[level_name]:04d}"
    level = level_number(level_name)
    graph.add_node(node, kind="head", level=level, level_name=level_name,
                   role=ROLES[area.type][level - 1], area=area.type, area_name=area.name,
                   x_m=x_m, floor=floor, lift=lift)
    graph.add_edge(parent, node)
    return node


def _max_counter(graph: nx.DiGraph, level_name: str) -> int:
    """The highest number used by a head id at ``level_name`` (new heads count on from it)."""
    return max((int(n[1:]) for n in nodes_at(graph, level_number(level_name))), default=0)


def _set_staff(graph: nx.DiGraph, scenario: Scenario) -> None:
    staff = {level: scenario.head_level(level).staff for level in LEVELS}
    for _, data in graph.nodes(data=True):
        if data["kind"] == "head":
            data["staff"] = staff[data["level_name"]]


def _count_households(graph: nx.DiGraph) -> None:
    """Set every node's ``households``: the households at or under it.

    A node's children sit at deeper levels (a dropped level's parent serves its
    children directly), so counting the deepest level first meets every child first.
    """
    data = dict(graph.nodes(data=True))  # the graph's own attribute dicts
    children = dict(graph.adjacency())
    by_level: dict[int, list[str]] = {}
    for node, attrs in data.items():
        by_level.setdefault(attrs["level"], []).append(node)
    for level in sorted(by_level, reverse=True):
        for node in by_level[level]:
            attrs = data[node]
            if attrs["kind"] == "household":
                attrs["households"] = 1
            else:
                attrs["households"] = sum(data[c]["households"] for c in children[node])


