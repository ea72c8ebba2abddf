"""The figures of a results folder: matplotlib PNGs that compare the variants.

``write_figures(results, folder)`` draws every figure from the result tables and
returns the paths in a fixed order: response-time ECDFs per flow, p95 per variant,
where the time goes (stages), head utilisation per level, the heads-vs-p95
trade-off, and the chain of each variant drawn down to the grid level. Each panel is
drawn by :mod:`sim.plot_panels`, which also serves ``results.plot.<figure>(ax=...)``.
Figures are ``matplotlib.figure.Figure`` objects saved straight to PNG, so no pyplot
or global backend state is touched, and the same results give the same bytes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from sim import plot_panels as panels
from sim import plots_flows
from sim.chainplot import chain_figure
from sim.experiment import Results
from sim.plot_panels import flow_kinds, time_unit
from sim.style import STYLE as _STYLE
from sim.style import legend
from sim.style import styled as _styled
from sim.style import variant_legend as _variant_legend

__all__ = ["DPI", "UTILISATION_WIDTH", "chain_figure", "ecdf_figure", "flow_kinds",
           "p95_figure", "stages_figure", "time_unit", "tradeoff_figure", "utilisation_figure",
           "write_figures"]

DPI = 110
UTILISATION_WIDTH = 11.0
"""Inches: the utilisation figure stays page-wide however many designs it holds."""


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


@_styled
def ecdf_figure(results: Results, flow: str) -> Figure:
    """Share of requests answered within t, a panel per kind of ``flow`` (see ``ecdf_panel``)."""
    kinds = [kind for f, kind in flow_kinds(results) if f == flow]
    figure, axes = _panels(len(kinds))
    requests = results.requests
    requests = requests[requests["flow"] == flow]  # once, not once a panel
    for ax, kind in zip(axes, kinds, strict=True):
        panels.ecdf_panel(ax, results, flow, kind, requests)
    _variant_legend(figure, results.variants, lines=True)
    whose = "" if len(results.variants) <= panels.MAX_BANDS else f" of {results.variants[0]}"
    figure.suptitle(f"{flow.capitalize()}: share of requests answered within t (after warm-up)\n"
                    f"line: mean of {results.scenario.replications} replications; band{whose}: "
                    "95% interval across them;\na line ending below 1: requests left unanswered",
                    fontsize=9)
    return figure


@_styled
def p95_figure(results: Results) -> Figure:
    """p95 response per variant with its 95% confidence interval, a panel per flow × kind."""
    keys = flow_kinds(results)
    figure, axes = _panels(len(keys))
    for ax, (flow, kind) in zip(axes, keys, strict=True):
        panels.p95_panel(ax, results, flow, kind)
    figure.suptitle("p95 response time per variant (mean over replications, 95% CI; "
                    "dashed line: the target)")
    return figure


@_styled
def stages_figure(results: Results) -> Figure:
    """Where the time goes: mean minutes per stage, one stacked bar per variant."""
    keys = panels.stage_keys(results)
    figure, axes = _panels(max(len(keys), 1), panel=(4.6, 0.5 + 0.45 * len(results.variants)))
    if not keys:
        panels.no_data(axes[0])
    for ax, (flow, kind) in zip(axes, keys, strict=False):
        panels.stages_panel(ax, results, flow, kind)
    panels.stage_legend(figure, results)
    figure.suptitle("Where the time goes: mean time per stage (answered requests)")
    return figure


@_styled
def utilisation_figure(results: Results) -> Figure:
    """Distribution of head utilisation by level, one box per variant (heads × replications)."""
    figure = Figure(figsize=(UTILISATION_WIDTH, 4.6), layout="constrained")
    panels.utilisation_panel(figure.add_subplot(), results)
    legend(figure, loc="outside right upper", title="design")
    return figure


@_styled
def tradeoff_figure(results: Results) -> Figure:
    """Draw the planner's trade-off: total heads against p95 response, a point per variant."""
    keys = panels.tradeoff_keys(results)
    figure, axes = _panels(max(len(keys), 1))
    if not keys:
        panels.no_data(axes[0])
    for ax, (flow, kind) in zip(axes, keys, strict=False):
        panels.tradeoff_panel(ax, results, flow, kind)
    _variant_legend(figure, results.variants, labels=panels.tradeoff_labels(results))
    figure.suptitle("Trade-off: heads recruited vs p95 response (95% CI; dashed line: the "
                    "target; designs with equal heads drawn side by side)")
    return figure


def _flows(results: Results) -> list[str]:
    return list(dict.fromkeys(flow for flow, _ in flow_kinds(results)))


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
