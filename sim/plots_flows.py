"""Figures of the flows that reach every household (see :mod:`sim.coverage`).

``figures(results)`` lists (name, draw) pairs for :func:`sim.plots.write_figures`:
the notice coverage curve, one line per variant, when the scenario issues notices;
the longest queue at any testing point through each round, one panel per variant, when
it runs testing rounds; every target's share met with and without lost heads, one panel
per design the scenario also runs with ``lose_heads``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim import metrics
from sim.coverage import QUEUE_BIN
from sim.decision import required_shares
from sim.experiment import Results
from sim.scenario_flows import loss_pairs
from sim.style import DASHES, colour, legend, line_style, styled, variant_legend


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
    """Longest queue at any sampling point through each round, a panel per variant."""
    variants = queue_keys(results)
    cols = min(len(variants), 4)
    rows = -(-len(variants) // cols)
    figure = Figure(figsize=(3.4 * cols + 0.5, 2.4 * rows + 0.9), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False, sharey=True).ravel())
    for ax in axes[len(variants):]:
        ax.set_visible(False)
    for ax, variant in zip(axes, variants, strict=False):
        queue_panel(ax, results, variant)
    legend(figure, axes[0].get_lines(), ncols=4)
    figure.suptitle("Testing rounds: the longest queue at any sampling point per 10 minutes, "
                    "from each round's start (first replication)", fontsize=9)
    return figure


def queue_keys(results: Results) -> list[str]:
    """The variants with a testing queue, in scenario order."""
    queue = results.flow_tables["testing_queue"]
    return [v for v in results.variants if (queue["variant"] == v).any()]


def queue_panel(ax: Axes, results: Results, variant: str) -> None:
    """The longest queue at any of ``variant``'s sampling points per 10 minutes, per round.

    A line per round against hours since its start. A 10-minute bin in which no household
    joined or left a queue had every queue empty: one sample takes well under 10 minutes.
    """
    for k, (start, times, longest) in enumerate(round_queues(results, variant)):
        ax.step((times - start) / 60.0, longest, where="post", color=colour(k),
                linestyle=DASHES[k % len(DASHES)], linewidth=1.2,
                label=f"round {k + 1} ({_clock(results, start)})")
    ax.set(title=variant, xlabel="hours since the round started", ylabel="households queuing")


def _clock(results: Results, minutes: float) -> str:
    """Model time as the planner's clock: "day 2, 07:00" (day 1 is the first day)."""
    total = int(round(results.scenario.start_minutes + minutes))
    return f"day {total // 1440 + 1}, {total % 1440 // 60:02d}:{total % 60:02d}"


def round_queues(results: Results, variant: str) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Per round: its start, its 10-minute bins, the longest queue at any point in each.

    Bins run to the round's last queue record; bins without a record hold 0.
    """
    queue = results.flow_tables["testing_queue"]
    part = queue[queue["variant"] == variant]
    longest = part.groupby("time_min", sort=True)["queue"].max()
    starts = [t for t in results.scenario.testing.at if t < results.scenario.horizon]
    found = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else math.inf
        mine = longest[(longest.index >= start - QUEUE_BIN) & (longest.index < end)]
        if mine.empty:
            continue
        first = math.floor(start / QUEUE_BIN) * QUEUE_BIN
        bins = np.arange(first, mine.index.max() + 2 * QUEUE_BIN, QUEUE_BIN)
        found.append((start, bins, mine.reindex(bins, fill_value=0).to_numpy()))
    return found


@styled
def coverage_figure(results: Results) -> Figure:
    """Share of households knowing a notice against time since issue, per variant."""
    many = len(results.variants) > 4  # a legend of four columns needs the page's width
    figure = Figure(figsize=(11.0 if many else 7.0, 4.6 if many else 4.2), layout="constrained")
    coverage_legend(figure, results, coverage_panel(figure.subplots(), results))
    return figure


def coverage_legend(target: Figure | Axes, results: Results, drawn: list[str]) -> None:
    """The coverage lines' legend, each design styled by its place among all designs."""
    variant_legend(target, drawn, lines=True, indices=[results.variants.index(v) for v in drawn])


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
