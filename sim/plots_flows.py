"""Figures of the flows that reach every household (see :mod:`sim.coverage`).

``figures(results)`` lists (name, draw) pairs for :func:`sim.plots.write_figures`:
the notice coverage curve, one line per variant, when the scenario issues notices;
the longest queue at each testing point over time, one panel per variant, when it
runs testing rounds; every target's share met with and without lost heads, one panel
per design the scenario also runs with ``lose_heads``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim import metrics
from sim.decision import required_shares
from sim.experiment import Results
from sim.scenario_flows import loss_pairs
from sim.style import colour, legend, line_style, styled, variant_legend


def figures(results: Results) -> list[tuple[str, Callable[[], Figure]]]:
    """The flow figures this run has data for, in a fixed order."""
    found = []
    if "coverage_curve" in results.flow_tables:
        found.append(("coverage_notice", functools.partial(coverage_figure, results)))
    if "testing_queue" in results.flow_tables:
        found.append(("testing_queue", functools.partial(queue_figure, results)))
    if loss_pairs(results.scenario):
        found.append(("lost_heads", functools.partial(losses_figure, results)))
    return found


@styled
def queue_figure(results: Results) -> Figure:
    """Longest queue at each sampling point over time, a panel per variant (first replication)."""
    variants = queue_keys(results)
    cols = min(len(variants), 3)
    rows = -(-len(variants) // cols)
    figure = Figure(figsize=(4.2 * cols + 0.5, 3.0 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[len(variants):]:
        ax.set_visible(False)
    for ax, variant in zip(axes, variants, strict=False):
        queue_panel(ax, results, variant)
    figure.suptitle("Testing rounds: longest queue at each sampling point per 10 minutes "
                    "(first replication; one line per point)", fontsize=9)
    return figure


def queue_keys(results: Results) -> list[str]:
    """The variants with a testing queue, in scenario order."""
    queue = results.flow_tables["testing_queue"]
    return [v for v in results.variants if (queue["variant"] == v).any()]


def queue_panel(ax: Axes, results: Results, variant: str) -> None:
    """Longest queue per 10 minutes at each sampling point of ``variant``: a line per point."""
    queue = results.flow_tables["testing_queue"]
    part = queue[queue["variant"] == variant]
    for point, line in part.groupby("point", sort=True):
        ax.step(line["time_min"].to_numpy() / 60.0, line["queue"].to_numpy(), where="post",
                linewidth=0.8, alpha=0.6, label=point)
    ax.set(title=variant, xlabel="model time (h)", ylabel="households queuing")


@styled
def coverage_figure(results: Results) -> Figure:
    """Share of households knowing a notice against time since issue, per variant."""
    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    variant_legend(figure, coverage_panel(figure.subplots(), results), lines=True)
    return figure


def coverage_panel(ax: Axes, results: Results) -> list[str]:
    """Share of households knowing a notice against time since issue, a line per variant.

    Returns the variants drawn.
    """
    curve = results.flow_tables["coverage_curve"]
    target = results.scenario.notice.target
    scale, unit = (60.0, "h") if curve["minutes_after_issue"].max() > 180 else (1.0, "min")
    drawn = []
    for i, variant in enumerate(results.variants):
        part = curve[curve["variant"] == variant]
        if not part.empty:
            ax.step(part["minutes_after_issue"].to_numpy() / scale,
                    part["known_share"].to_numpy(), where="post", color=colour(i),
                    label=variant, **line_style(i))
            drawn.append(variant)
    ax.axvline(target / scale, color="black", linestyle="--", linewidth=1)
    for share in (0.5, 0.9):
        ax.axhline(share, color="grey", linewidth=0.6, linestyle=":")
    ax.set(ylim=(0, 1.02), xlim=(0, float(np.max(curve["minutes_after_issue"])) / scale),
           xlabel=f"time since the notice was issued ({unit})",
           ylabel="share of households who know")
    ax.set_title("Notices: share of households who know, by time since issue\n"
                 f"(every issue pooled, mean of {results.scenario.replications} replications; "
                 f"target {target / scale:.3g} {unit}, dashed)", fontsize=9)
    return drawn


@styled
def losses_figure(results: Results) -> Figure:
    """Each target's share answered in time, a panel per design with and without lost heads."""
    pairs = loss_pairs(results.scenario)
    keys = list(metrics.targets(results.scenario))
    figure = Figure(figsize=(4.6 * len(pairs) + 0.8, 0.42 * len(keys) + 1.9),
                    layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(pairs), sharey=True, squeeze=False).ravel())
    for ax, pair in zip(axes, pairs, strict=True):
        losses_panel(ax, results, pair)
    losses_legend(figure, results, [v for pair in pairs for v in pair])
    return figure


def losses_panel(ax: Axes, results: Results, pair: tuple[str, str]) -> None:
    """Each target's share answered in time by the design ``pair[0]`` and its lossy twin.

    Points are means with 95% intervals across replications; the grey bar is the share
    the planner requires.
    """
    summary = results.summary[results.summary["household_group"] == metrics.ALL]
    required = required_shares(results.scenario)
    keys = list(metrics.targets(results.scenario))
    rows = np.arange(len(keys))
    for offset, variant in zip((-0.15, 0.15), pair, strict=True):
        i = results.variants.index(variant)
        part = summary[summary["variant"] == variant].set_index(["flow", "kind"])
        share = np.array([part["within_target"].get(k, np.nan) for k in keys], dtype=float)
        half = np.array([part["within_target_hw"].get(k, np.nan) for k in keys], dtype=float)
        ax.errorbar(share, rows + offset, xerr=np.nan_to_num(half), fmt=line_style(i)["marker"],
                    color=colour(i), markerfacecolor="none", capsize=2, linestyle="none",
                    label=variant)
    ax.scatter([required.get(k, np.nan) for k in keys], rows, marker="|", s=160,
               color="grey", zorder=0)
    ax.set(xlim=(-0.02, 1.02), title=f"{pair[0]}\nwith and without lost heads",
           xlabel="share answered within target")
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    ax.set_yticks(rows, [f"{flow} · {kind}" for flow, kind in keys])
    if not ax.yaxis_inverted():  # panels sharing the y axis invert it once
        ax.invert_yaxis()


def losses_legend(where: Figure | Axes, results: Results, variants: list[str]) -> None:
    """The designs' markers: below the figure, or on one Axes."""
    shown = list(dict.fromkeys(variants))
    legend(where, [_handle(results.variants.index(v), v) for v in shown],
           ncols=min(len(shown), 4))


def _handle(i: int, label: str) -> Line2D:
    return Line2D([], [], color=colour(i), marker=line_style(i)["marker"], linestyle="none",
                  markerfacecolor="none", label=label)
