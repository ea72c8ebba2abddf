"""The chain figure: the grid of heads drawn as a tree down to the grid level.

Each leaf notes the heads by role and the households below it; a big community is
drawn one level higher so it stays readable.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.scenario import LEVELS
from sim.style import legend
from sim.style import styled as _styled

AREA_COLOURS = {"compound": "#4c72b0", "bungalow": "#dd8452", "commercial": "#55a868",
                "all": "#7f7f7f"}
MAX_LEAVES = 60
"""Most leaves a chain figure draws before it stops one level higher."""


@_styled
def chain_figure(graph: nx.DiGraph, variant: str) -> Figure:
    """The chain as a tree (see :func:`chain_panel`), its areas' legend and a heading."""
    leaves = _leaves(graph, _depth(graph))
    figure = Figure(figsize=(11, max(3.0, 0.32 * len(leaves) + 1.6)), layout="constrained")
    chain_panel(figure.add_subplot(), graph)
    area_legend(figure)
    figure.suptitle(chain_title(graph, variant))
    return figure


def chain_panel(ax: Axes, graph: nx.DiGraph) -> None:
    """Draw the chain as a tree down to the grid level, each leaf noting what lies below.

    Stops one level higher when there would be more than ``MAX_LEAVES`` leaves, so a
    big community stays readable.
    """
    depth = _depth(graph)
    leaves = _leaves(graph, depth)
    shown = [n for n, level in graph.nodes(data="level") if level <= depth]
    y: dict[str, float] = {leaf: float(i) for i, leaf in enumerate(leaves)}
    for node in sorted(shown, key=lambda n: -graph.nodes[n]["level"]):
        if node not in y:
            below = [y[c] for c in graph.successors(node) if c in y]
            y[node] = float(np.mean(below)) if below else 0.0
    for parent, child in graph.edges(shown):
        if child in y:
            ax.plot([graph.nodes[parent]["level"], graph.nodes[child]["level"]],
                    [y[parent], y[child]], color="#bbbbbb", linewidth=0.8, zorder=1)
    for node in shown:
        data = graph.nodes[node]
        ax.scatter(data["level"], y[node], s=60, color=AREA_COLOURS.get(data["area"], "grey"),
                   zorder=2, edgecolor="white")
        label = "dispatch" if data["kind"] == "dispatch" else node
        if node not in leaves:
            ax.annotate(f"{label}\n{data['households']} hh", (data["level"], y[node]),
                        xytext=(0, 6), textcoords="offset points", ha="center", fontsize=6)
    for leaf in leaves:
        ax.annotate(f"{leaf} {_below(graph, leaf)}", (graph.nodes[leaf]["level"], y[leaf]),
                    xytext=(7, 0), textcoords="offset points", va="center", fontsize=7)
    levels = sorted({graph.nodes[n]["level"] for n in shown})
    ax.set_xticks(levels, [graph.nodes[next(n for n in shown if graph.nodes[n]["level"] == lv)]
                           ["level_name"] for lv in levels])
    ax.set_xlim(-0.3, max(levels) + 2.6)
    ax.set_ylim(len(leaves) - 0.4, -0.8)
    ax.set_yticks([])
    ax.spines[["left"]].set_visible(False)


def area_legend(where: Figure | Axes) -> None:
    """The colours of the areas: below the figure, or on one Axes."""
    legend(where, [Patch(color=c, label=a) for a, c in AREA_COLOURS.items() if a != "all"],
           ncols=3, title="area")


def chain_title(graph: nx.DiGraph, variant: str) -> str:
    """The chain's heading: heads per level and households."""
    per_level = [sum(1 for _, lv in graph.nodes(data="level") if lv == i)
                 for i in range(1, len(LEVELS) + 1)]
    counts = ", ".join(f"{n} {name}" if n else f"no {name} (dropped)"
                       for n, name in zip(per_level, LEVELS, strict=True))
    return (f"Chain of {variant}: heads per level {counts}; "
            f"{graph.nodes['dispatch']['households'] if 'dispatch' in graph else '?'} "
            "households (hh)")


def _depth(graph: nx.DiGraph) -> int:
    """The deepest level drawn: the grid, or higher while there are too many leaves."""
    depth = 3
    while depth > 1 and len(_leaves(graph, depth)) > MAX_LEAVES:
        depth -= 1
    return depth


def _leaves(graph: nx.DiGraph, depth: int) -> list[str]:
    """Nodes at or above ``depth`` with no child at or above it, in drawing (DFS) order."""
    start = "dispatch" if "dispatch" in graph else next(iter(graph))
    return [n for n in nx.dfs_preorder_nodes(graph, start)
            if graph.nodes[n]["level"] <= depth
            and not any(graph.nodes[c]["level"] <= depth for c in graph.successors(n))]


def _below(graph: nx.DiGraph, node: str) -> str:
    """'3 lane heads · 9 courtyard heads · 41 hh': the heads by role and households below."""
    roles: dict[str, list[int]] = {}
    for child in nx.descendants(graph, node):
        data = graph.nodes[child]
        if data["kind"] == "head":
            roles.setdefault(data["role"], [data["level"], 0])[1] += 1
    parts = [f"{count} {role.replace('_', ' ')}{'s' if count != 1 else ''}" for role, (_, count)
             in sorted(roles.items(), key=lambda item: (item[1][0], item[0]))]
    return " · ".join([*parts, f"{graph.nodes[node]['households']} hh"])
