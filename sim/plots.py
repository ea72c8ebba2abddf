"""The figures of a results folder: matplotlib PNGs that compare the variants.

``write_figures(results, folder)`` draws every figure from the result tables and
returns the paths in a fixed order: response-time ECDFs per flow, p95 per variant,
where the time goes (stages), head utilisation per level, the heads-vs-p95
trade-off, and the chain of each variant drawn down to the grid level. Figures are
``matplotlib.figure.Figure`` objects saved straight to PNG, so no pyplot or global
backend state is touched, and the same results give the same bytes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim import metrics, plots_flows
from sim.experiment import Results
from sim.scenario import LEVELS

DPI = 110
STAGE_ORDER = ("contact", "relay", "batch", "bulk", "dispatch", "depot", "vehicles", "vehicle",
               "gate", "travel", "queue", "carry", "walk", "attend", "handover")
"""Stages in the order a request usually meets them (others follow alphabetically)."""
AREA_COLOURS = {"compound": "#4c72b0", "bungalow": "#dd8452", "commercial": "#55a868",
                "all": "#7f7f7f"}
MAX_LEAVES = 60
"""Most leaves a chain figure draws before it stops one level higher."""
_MARKERS = "osD^vPX*"
_STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
          "axes.spines.right": False, "legend.fontsize": 8, "legend.frameon": False,
          "text.parse_math": False}  # names are shown as typed: "$x$" is not math markup


def write_figures(results: Results, folder: Path) -> list[Path]:
    """Write every figure into ``folder`` (created) and return their paths in a fixed order.

    Without request rows (``--no-requests``) there are no ECDFs to draw.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, Callable[[], Figure]]] = [
        *((f"ecdf_{flow}", functools.partial(ecdf_figure, results, flow))
          for flow in (_flows(results) if results.kept_requests else ())),
        ("p95_by_variant", functools.partial(p95_figure, results)),
        ("stages_by_variant", functools.partial(stages_figure, results)),
        ("utilisation_by_level", functools.partial(utilisation_figure, results)),
        ("tradeoff", functools.partial(tradeoff_figure, results)),
        *((f"chain_{name}", functools.partial(chain_figure, results.chains[name], name))
          for name in results.variants),
        *plots_flows.figures(results),  # notices and testing (sim/plots_flows.py)
    ]
    if results.sensitivity is not None:
        from sim import tornado

        figures.append(("sensitivity_tornado", functools.partial(tornado.tornado_figure, results)))
    paths = []
    for name, draw in figures:
        path = folder / f"{name}.png"
        with matplotlib.rc_context(_STYLE):
            draw().savefig(path, dpi=DPI, metadata={"Software": None})
        paths.append(path)
    return paths


def flow_kinds(results: Results) -> list[tuple[str, str]]:
    """Every (flow, kind) of the scenario in reading order: supply first, severities in turn."""
    found = list(metrics.targets(results.scenario))
    extra = results.requests[["flow", "kind"]].drop_duplicates()
    found += sorted(set(map(tuple, extra.to_numpy())) - set(found))
    return found


def time_unit(minutes: float) -> tuple[float, str]:
    """Divisor and unit that keep ``minutes`` readable: hours beyond three hours."""
    return (60.0, "h") if np.isfinite(minutes) and minutes > 180 else (1.0, "min")


def _styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw under the module's style without touching the caller's rcParams."""
    @functools.wraps(draw)
    def wrapper(*args: object, **kwargs: object) -> Figure:
        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)
    return wrapper


@_styled
def ecdf_figure(results: Results, flow: str) -> Figure:
    """Share of requests answered within t, per kind of ``flow``; one line per variant."""
    kinds = [kind for f, kind in flow_kinds(results) if f == flow]
    requests = _counted(results)
    goals = metrics.targets(results.scenario)
    figure, axes = _panels(len(kinds))
    for ax, kind in zip(axes, kinds, strict=True):
        part = requests[(requests["flow"] == flow) & (requests["kind"] == kind)]
        ax.set_title(f"{flow} · {kind}")
        if part.empty:
            _no_data(ax)
            continue
        target = goals.get((flow, kind), math.nan)
        scale, unit = time_unit(np.nanmax([part["response_min"].max(), target]))
        lines = []
        for i, variant in enumerate(results.variants):
            rows = part[part["variant"] == variant]
            if not rows.empty:
                times = np.sort(rows["response_min"].dropna().to_numpy()) / scale
                lines.append((i, variant, times, len(rows)))
        right = max([*(t.max(initial=0.0) for _, _, t, _ in lines),
                     target / scale if np.isfinite(target) else 0.0]) * 1.05 or 1.0
        for i, variant, times, created in lines:
            share = np.arange(len(times) + 1) / created
            ax.step(np.r_[0.0, times, right], np.r_[share, share[-1]], where="post",
                    color=_colour(i), label=f"{variant} ({len(times)}/{created} answered)")
        if np.isfinite(target):
            ax.axvline(target / scale, color="black", linestyle="--", linewidth=1,
                       label=f"target {_readable(target)}")
        ax.set(xlim=(0, right), ylim=(0, 1.02), xlabel=f"response time ({unit})",
               ylabel="share answered within t")
        ax.legend(loc="lower right")
    figure.suptitle(f"{flow.capitalize()}: share of requests answered within t\n"
                    f"(after warm-up, pooled over {results.scenario.replications} replications;"
                    " a line ends below 1 when requests were left unanswered)", fontsize=9)
    return figure


@_styled
def p95_figure(results: Results) -> Figure:
    """p95 response per variant with its 95% confidence interval, a panel per flow × kind."""
    summary = _overall(results)
    keys = flow_kinds(results)
    goals = metrics.targets(results.scenario)
    figure, axes = _panels(len(keys))
    for ax, (flow, kind) in zip(axes, keys, strict=True):
        part = summary[(summary["flow"] == flow) & (summary["kind"] == kind)]
        part = part.set_index("variant").reindex(results.variants)
        ax.set_title(f"{flow} · {kind}")
        if part["p95"].isna().all():
            _no_data(ax)
            continue
        target = goals.get((flow, kind), math.nan)
        scale, unit = time_unit(np.nanmax([part["p95"].max(), target]))
        x = np.arange(len(part))
        values = part["p95"].to_numpy() / scale
        half = part["p95_hw"].to_numpy() / scale
        upper = np.nan_to_num(half)
        lower = np.minimum(upper, np.nan_to_num(values))  # a p95 is never negative
        ax.bar(x, np.nan_to_num(values), yerr=[lower, upper], capsize=4,
               color=[_colour(i) for i in range(len(x))])
        for xi, value, hw in zip(x, values, half, strict=True):
            text = "no data" if np.isnan(value) else f"{value:.1f}" + (
                "" if np.isfinite(hw) else " (1 rep.)")
            ax.annotate(text, (xi, np.nan_to_num(value) + np.nan_to_num(hw)), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 3), textcoords="offset points")
        top = np.nanmax([np.nanmax(values + upper), target / scale])
        if np.isfinite(target):
            _target_line(ax, target / scale, f"target {_readable(target)}")
        ax.set_ylim(0, top * 1.15 or 1)
        ax.set_xticks(x, part.index, rotation=20 if len(x) > 3 else 0,
                      ha="right" if len(x) > 3 else "center")
        ax.set_ylabel(f"p95 response ({unit})")
    figure.suptitle("p95 response time per variant (mean over replications, 95% CI)")
    return figure


@_styled
def stages_figure(results: Results) -> Figure:
    """Where the time goes: mean minutes per stage, one stacked bar per variant."""
    breakdown = _stage_breakdown(results)
    keys = [k for k in flow_kinds(results)
            if ((breakdown["flow"] == k[0]) & (breakdown["kind"] == k[1])).any()]
    stages = sorted(breakdown["stage"].unique(), key=_stage_rank) if len(breakdown) else []
    # the ten strong tab20 colours first, then their light partners
    colours = {stage: matplotlib.colormaps["tab20"]((2 * i) % 20 + (2 * i) // 20 % 2)
               for i, stage in enumerate(stages)}
    figure, axes = _panels(max(len(keys), 1), panel=(4.6, 0.5 + 0.45 * len(results.variants)))
    if not keys:
        _no_data(axes[0])
    for ax, (flow, kind) in zip(axes, keys, strict=False):
        part = breakdown[(breakdown["flow"] == flow) & (breakdown["kind"] == kind)]
        table = part.pivot_table(index="variant", columns="stage", values="mean_min",
                                 aggfunc="sum").reindex(index=results.variants)
        table = table[[s for s in stages if s in table.columns]].fillna(0.0)
        scale, unit = time_unit(table.sum(axis=1).max())
        left = np.zeros(len(table))
        y = np.arange(len(table))
        for stage in table.columns:
            width = table[stage].to_numpy() / scale
            ax.barh(y, width, left=left, color=colours[stage], height=0.6)
            left += width
        for yi, total in zip(y, left, strict=True):
            ax.annotate(f"{total:.1f}", (total, yi), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
        ax.set_yticks(y, table.index)
        ax.invert_yaxis()
        ax.set_xlim(0, left.max() * 1.15 or 1)
        ax.set_xlabel(f"mean time per answered request ({unit})")
        ax.set_title(f"{flow} · {kind}")
    if stages:
        figure.legend(handles=[Patch(color=colours[s], label=s) for s in stages],
                      loc="outside lower center", ncols=min(len(stages), 8), title="stage")
    figure.suptitle("Where the time goes: mean time per stage (answered requests)")
    return figure


@_styled
def utilisation_figure(results: Results) -> Figure:
    """Distribution of head utilisation by level, one box per variant (heads × replications)."""
    heads = results.heads
    variants = results.variants
    figure = Figure(figsize=(max(6.0, 1.1 * len(LEVELS) * max(len(variants), 1) ** 0.5 + 3), 4.2),
                    layout="constrained")
    ax = figure.add_subplot()
    width = 0.8 / max(len(variants), 1)
    for i, variant in enumerate(variants):
        rows = heads[heads["variant"] == variant]
        data, where = [], []
        for j, level in enumerate(LEVELS):
            values = rows.loc[rows["level"] == level, "utilisation"].dropna().to_numpy() * 100
            if len(values):
                data.append(values)
                where.append(j - 0.4 + width * (i + 0.5))
        if data:
            ax.boxplot(data, positions=where, widths=width * 0.85, patch_artist=True,
                       showmeans=True, manage_ticks=False, flierprops={"markersize": 3},
                       boxprops={"facecolor": _colour(i), "alpha": 0.6},
                       medianprops={"color": "black"},
                       meanprops={"marker": "D", "markerfacecolor": "white",
                                  "markeredgecolor": "black", "markersize": 4})
        ax.plot([], [], color=_colour(i), linewidth=8, alpha=0.6, label=variant)
    ax.set_xticks(range(len(LEVELS)), LEVELS)
    ax.set_xlim(-0.6, len(LEVELS) - 0.4)
    ax.set_ylabel("utilisation (% of staff time busy over the horizon)")
    ax.set_xlabel("level (a missing box: the variant has no heads there)")
    if heads.empty:
        _no_data(ax)
    ax.legend(loc="upper right")
    ax.set_title("Head utilisation by level (box: quartiles, diamond: mean)")
    return figure


@_styled
def tradeoff_figure(results: Results) -> Figure:
    """Draw the planner's trade-off: total heads against p95 response, a point per variant."""
    summary = _overall(results)
    keys = [k for k in flow_kinds(results)
            if summary.loc[(summary["flow"] == k[0]) & (summary["kind"] == k[1]), "p95"]
            .notna().any()]
    heads = results.total_heads
    goals = metrics.targets(results.scenario)
    figure, axes = _panels(max(len(keys), 1))
    if not keys:
        _no_data(axes[0])
    for ax, (flow, kind) in zip(axes, keys, strict=False):
        part = summary[(summary["flow"] == flow) & (summary["kind"] == kind)]
        part = part.set_index("variant").reindex(results.variants)
        target = goals.get((flow, kind), math.nan)
        scale, unit = time_unit(np.nanmax([part["p95"].max(), target]))
        top = target / scale if np.isfinite(target) else 0.0
        for i, variant in enumerate(results.variants):
            value = part.at[variant, "p95"] / scale
            if not np.isfinite(value):
                continue
            hw = np.nan_to_num(part.at[variant, "p95_hw"] / scale)
            x = heads.get(variant, math.nan)
            ax.errorbar(x, value, yerr=[[min(hw, value)], [hw]], fmt=_MARKERS[i % 8],
                        capsize=4, color=_colour(i), alpha=0.85)
            top = max(top, value + hw)
        if np.isfinite(target):
            _target_line(ax, target / scale, f"target {_readable(target)}")
        ax.set_xlim(0, max([*heads.values(), 1]) * 1.1)
        ax.set_ylim(0, top * 1.15 or 1)
        ax.set(xlabel="heads in the chain (all levels)", ylabel=f"p95 response ({unit})",
               title=f"{flow} · {kind}")
    figure.legend(handles=[Line2D([], [], color=_colour(i), marker=_MARKERS[i % 8],
                                  linestyle="none", label=f"{v} ({heads.get(v, 0):,} heads)")
                           for i, v in enumerate(results.variants)],
                  loc="outside lower center", ncols=min(len(results.variants), 5))
    figure.suptitle("Trade-off: heads recruited vs p95 response (95% CI)")
    return figure


@_styled
def chain_figure(graph: nx.DiGraph, variant: str) -> Figure:
    """Draw the chain as a tree down to the grid level, each leaf noting what lies below.

    Stops one level higher when there would be more than ``MAX_LEAVES`` leaves, so a
    big community stays readable.
    """
    depth = 3
    while depth > 1 and len(_leaves(graph, depth)) > MAX_LEAVES:
        depth -= 1
    leaves = _leaves(graph, depth)
    shown = [n for n, level in graph.nodes(data="level") if level <= depth]
    y: dict[str, float] = {leaf: float(i) for i, leaf in enumerate(leaves)}
    for node in sorted(shown, key=lambda n: -graph.nodes[n]["level"]):
        if node not in y:
            below = [y[c] for c in graph.successors(node) if c in y]
            y[node] = float(np.mean(below)) if below else 0.0
    figure = Figure(figsize=(11, max(3.0, 0.32 * len(leaves) + 1.6)), layout="constrained")
    ax = figure.add_subplot()
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
    figure.legend(handles=[Patch(color=c, label=a) for a, c in AREA_COLOURS.items()
                           if a != "all"], loc="outside lower center", ncols=3, title="area")
    per_level = [sum(1 for _, lv in graph.nodes(data="level") if lv == i)
                 for i in range(1, len(LEVELS) + 1)]
    counts = ", ".join(f"{n} {name}" if n else f"no {name} (dropped)"
                       for n, name in zip(per_level, LEVELS, strict=True))
    figure.suptitle(f"Chain of {variant}: heads per level {counts}; "
                    f"{graph.nodes['dispatch']['households'] if 'dispatch' in graph else '?'} "
                    "households (hh)")
    return figure


# ---- helpers -----------------------------------------------------------------------------------


def _flows(results: Results) -> list[str]:
    return list(dict.fromkeys(flow for flow, _ in flow_kinds(results)))


def _counted(results: Results) -> pd.DataFrame:
    """Keep the requests created after the warm-up (the ones the statistics count)."""
    requests = results.requests
    return requests[requests["created_min"] >= results.scenario.warmup]


def _overall(results: Results) -> pd.DataFrame:
    summary = results.summary
    if summary.empty:
        return pd.DataFrame(columns=["variant", "flow", "kind", "p95", "p95_hw"])
    return summary[summary["household_group"] == metrics.ALL]


def _stage_breakdown(results: Results) -> pd.DataFrame:
    if results.stage_totals.empty:
        return pd.DataFrame(columns=["variant", "flow", "kind", "stage", "mean_min"])
    return results.stage_breakdown


def _stage_rank(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


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


def _panels(n: int, ncols: int = 3, panel: tuple[float, float] = (4.2, 3.2)
            ) -> tuple[Figure, list]:
    """Make a figure with ``n`` panels in rows of ``ncols`` (spare cells hidden)."""
    n = max(n, 1)
    cols = min(n, ncols)
    rows = math.ceil(n / cols)
    figure = Figure(figsize=(max(panel[0] * cols, 7.0), panel[1] * rows + 0.6),
                    layout="constrained")
    axes = list(np.atleast_1d(figure.subplots(rows, cols, squeeze=False).ravel()))
    for ax in axes[n:]:
        ax.set_visible(False)
    return figure, axes[:n]


def _readable(minutes: float) -> str:
    scale, unit = time_unit(minutes)
    return f"{minutes / scale:.3g} {unit}"


def _target_line(ax: Axes, y: float, label: str) -> None:
    ax.axhline(y, color="black", linestyle="--", linewidth=1)
    ax.annotate(label, (1.0, y), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                fontsize=7, xytext=(0, 2), textcoords="offset points")


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no requests", ha="center", va="center", transform=ax.transAxes,
            color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _colour(index: int) -> tuple:
    return matplotlib.colormaps["tab10"](index % 10)
