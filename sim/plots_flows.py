"""Figures of the flows that reach every household (see :mod:`sim.coverage`).

``figures(results)`` lists (name, draw) pairs for :func:`sim.plots.write_figures`:
the notice coverage curve, one line per variant, when the scenario issues notices;
the longest queue at each testing point over time, one panel per variant, when it
runs testing rounds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from sim.experiment import Results


def figures(results: Results) -> list[tuple[str, Callable[[], Figure]]]:
    """The flow figures this run has data for, in a fixed order."""
    found = []
    if "coverage_curve" in results.flow_tables:
        found.append(("coverage_notice", functools.partial(coverage_figure, results)))
    if "testing_queue" in results.flow_tables:
        found.append(("testing_queue", functools.partial(queue_figure, results)))
    return found


def queue_figure(results: Results) -> Figure:
    """Longest queue per 10 minutes at each sampling point, per variant (first replication)."""
    queue = results.flow_tables["testing_queue"]
    variants = [v for v in results.variants if (queue["variant"] == v).any()]
    cols = min(len(variants), 3)
    rows = -(-len(variants) // cols)
    figure = Figure(figsize=(4.2 * cols + 0.5, 3.0 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[len(variants):]:
        ax.set_visible(False)
    for ax, variant in zip(axes, variants, strict=False):
        part = queue[queue["variant"] == variant]
        for point, line in part.groupby("point", sort=True):
            ax.step(line["time_min"].to_numpy() / 60.0, line["queue"].to_numpy(), where="post",
                    linewidth=0.8, alpha=0.6, label=point)
        ax.set(title=variant, xlabel="model time (h)", ylabel="households queuing")
    figure.suptitle("Testing rounds: longest queue at each sampling point per 10 minutes "
                    "(first replication; one line per point)", fontsize=9)
    return figure


def coverage_figure(results: Results) -> Figure:
    """Share of households knowing a notice against minutes since issue, per variant."""
    curve = results.flow_tables["coverage_curve"]
    target = results.scenario.notice.target
    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = figure.subplots()
    scale, unit = (60.0, "h") if curve["minutes_after_issue"].max() > 180 else (1.0, "min")
    colours = matplotlib.colormaps["tab10"]
    for i, variant in enumerate(results.variants):
        part = curve[curve["variant"] == variant]
        if not part.empty:
            ax.step(part["minutes_after_issue"].to_numpy() / scale,
                    part["known_share"].to_numpy(), where="post", color=colours(i % 10),
                    label=variant)
    ax.axvline(target / scale, color="black", linestyle="--", linewidth=1,
               label=f"target {target / scale:.3g} {unit}")
    for share in (0.5, 0.9):
        ax.axhline(share, color="grey", linewidth=0.6, linestyle=":")
    ax.set(ylim=(0, 1.02), xlim=(0, float(np.max(curve["minutes_after_issue"])) / scale),
           xlabel=f"time since the notice was issued ({unit})",
           ylabel="share of households who know")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Notices: share of households who know, by time since issue\n"
                 f"(every issue pooled, mean of {results.scenario.replications} replications)",
                 fontsize=9)
    return figure
