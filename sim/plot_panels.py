"""One panel of each report figure, drawn into any matplotlib Axes.

:mod:`sim.plots` lays these panels out in the report's figures (a panel per flow ×
kind); ``results.plot.<figure>(ax=...)`` (:mod:`sim.plot_accessor`) draws one of
them into an analyst's Axes. Each ``*_keys`` function lists the panels a figure has,
each ``*_panel`` function draws one: the same code serves both.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from scipy import stats

from sim import metrics
from sim.experiment import Results
from sim.scenario import LEVELS
from sim.style import MARKERS, colour, legend, line_style

STAGE_COLOURS = {
    "contact": "#1f77b4", "relay": "#ff7f0e", "batch": "#2ca02c", "bulk": "#006d2c",
    "dispatch": "#d62728", "depot": "#9467bd", "vehicles": "#8c564b", "vehicle": "#8c564b",
    "gate": "#e377c2", "travel": "#7f7f7f", "queue": "#bcbd22", "carry": "#17becf",
    "walk": "#393b79", "attend": "#843c39", "handover": "#e6ab02"}
"""A strong, distinct colour per stage, the same in every figure (none pale on white)."""
STAGE_ORDER = ("contact", "relay", "batch", "bulk", "dispatch", "depot", "vehicles", "vehicle",
               "gate", "travel", "queue", "carry", "walk", "attend", "handover")
"""Stages in the order a request usually meets them (others follow alphabetically)."""
MAX_BANDS = 3
"""With more variants than this, only the first (the reference) gets its band: overlapping
bands would hide the lines."""
ECDF_POINTS = 400
"""Points of each ECDF curve: fine enough to show every step a reader can see."""


def flow_kinds(results: Results) -> list[tuple[str, str]]:
    """Every (flow, kind) of the scenario in reading order: supply first, severities in turn."""
    found = list(metrics.targets(results.scenario))
    found += sorted(made_pairs(results) - set(found))
    return found


def made_pairs(results: Results) -> set[tuple[str, str]]:
    """The (flow, kind) pairs of the request rows.

    Read off the conservation table (a run's requests counted per flow and kind) when
    the rows of every run are kept: figures and report ask often, and a city district
    has millions of rows.
    """
    books = results.conservation
    if results.kept_requests and {"flow", "kind", "created"} <= set(books.columns):
        made = books.loc[books["created"] > 0, ["flow", "kind"]]
    else:
        made = results.requests[["flow", "kind"]]
    return set(map(tuple, made.drop_duplicates().to_numpy()))


def time_unit(minutes: float) -> tuple[float, str]:
    """Divisor and unit that keep ``minutes`` readable: hours beyond three hours."""
    return (60.0, "h") if np.isfinite(minutes) and minutes > 180 else (1.0, "min")


# ---- which panels each figure has ---------------------------------------------------------------


def ecdf_keys(results: Results) -> list[tuple[str, str]]:
    """The ECDF panels: every (flow, kind), none without request rows."""
    return flow_kinds(results) if results.kept_requests else []


def stage_keys(results: Results) -> list[tuple[str, str]]:
    """The (flow, kind) panels of the stages figure: those with a stage breakdown."""
    breakdown = _stage_breakdown(results)
    return [k for k in flow_kinds(results)
            if ((breakdown["flow"] == k[0]) & (breakdown["kind"] == k[1])).any()]


def tradeoff_keys(results: Results) -> list[tuple[str, str]]:
    """The (flow, kind) panels of the trade-off figure: those with a p95."""
    summary = _overall(results)
    return [k for k in flow_kinds(results)
            if summary.loc[(summary["flow"] == k[0]) & (summary["kind"] == k[1]), "p95"]
            .notna().any()]


# ---- the panels ---------------------------------------------------------------------------------


def ecdf_panel(ax: Axes, results: Results, flow: str, kind: str,
               requests: pd.DataFrame | None = None) -> None:
    """Share of ``flow`` · ``kind`` requests answered within t; one line per variant.

    The line is the mean over replications of each replication's share answered within t
    (of the requests it created after the warm-up); the band is its 95% interval across
    replications. Variants that coincide stay visible by their line style and markers.
    ``requests``: the results' requests, or any part of them holding this flow's (a
    figure of several panels picks its flow out of a city's millions of rows once).
    """
    requests = results.requests if requests is None else requests
    part = requests[(requests["created_min"] >= results.scenario.warmup)
                    & (requests["flow"] == flow) & (requests["kind"] == kind)]
    target = metrics.targets(results.scenario).get((flow, kind), math.nan)
    ax.set_title(f"{flow} · {kind}" + (f" (target {_readable(target)}, dashed)"
                                      if np.isfinite(target) else ""))
    if part.empty:
        no_data(ax)
        return
    scale, unit = time_unit(np.nanmax([part["response_min"].max(), target]))
    right = max(float(np.nanmax(part["response_min"].to_numpy(dtype=float), initial=0.0)),
                target if np.isfinite(target) else 0.0) / scale * 1.05 or 1.0
    grid = np.linspace(0.0, right, ECDF_POINTS)
    banded = len(results.variants) if len(results.variants) <= MAX_BANDS else 1
    for i, variant in enumerate(results.variants):
        rows = part[part["variant"] == variant]
        if rows.empty:
            continue
        curves = np.array([_share_within(r["response_min"].to_numpy(dtype=float) / scale,
                                         grid) for _, r in rows.groupby("replication")])
        mean, low, high = _band(curves)
        if i < banded:
            ax.fill_between(grid, low, high, step="post", color=colour(i), alpha=0.15,
                            linewidth=0)
        ax.step(grid, mean, where="post", color=colour(i), label=variant, **line_style(i))
    if np.isfinite(target):
        ax.axvline(target / scale, color="black", linestyle="--", linewidth=1)
    ax.set(xlim=(0, right), ylim=(0, 1.02), xlabel=f"response time ({unit})",
           ylabel="share answered within t")


def p95_panel(ax: Axes, results: Results, flow: str, kind: str) -> None:
    """p95 response of ``flow`` · ``kind`` per variant, with its 95% confidence interval."""
    summary = _overall(results)
    part = summary[(summary["flow"] == flow) & (summary["kind"] == kind)]
    part = part.set_index("variant").reindex(results.variants)
    target = metrics.targets(results.scenario).get((flow, kind), math.nan)
    ax.set_title(_titled(flow, kind, target))
    if part["p95"].isna().all():
        no_data(ax)
        return
    scale, unit = time_unit(np.nanmax([part["p95"].max(), target]))
    x = np.arange(len(part))
    values = part["p95"].to_numpy() / scale
    half = part["p95_hw"].to_numpy() / scale
    upper = np.nan_to_num(half)
    lower = np.minimum(upper, np.nan_to_num(values))  # a p95 is never negative
    ax.bar(x, np.nan_to_num(values), yerr=[lower, upper], capsize=4,
           color=[colour(i) for i in range(len(x))])
    for xi, value, hw in zip(x, values, half, strict=True):
        text = "no data" if np.isnan(value) else f"{value:.1f}" + (
            "" if np.isfinite(hw) else " (1 rep.)")
        ax.annotate(text, (xi, np.nan_to_num(value) + np.nan_to_num(hw)), ha="center",
                    va="bottom", fontsize=7, xytext=(0, 3), textcoords="offset points",
                    zorder=4, bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                    "edgecolor": "none", "alpha": 0.85})
    top = np.nanmax([np.nanmax(values + upper), target / scale])
    if np.isfinite(target):
        _target_line(ax, target / scale)
    ax.set_ylim(0, top * 1.15 or 1)
    _variant_ticks(ax, x, list(part.index))
    ax.set_ylabel(f"p95 response ({unit})")


def stages_panel(ax: Axes, results: Results, flow: str, kind: str) -> list[str]:
    """Mean minutes per stage of ``flow`` · ``kind``, one stacked bar per variant.

    Returns the stages drawn, in stacking order.
    """
    breakdown = _stage_breakdown(results)
    colours = stage_colours(results)
    part = breakdown[(breakdown["flow"] == flow) & (breakdown["kind"] == kind)]
    table = part.pivot_table(index="variant", columns="stage", values="mean_min",
                             aggfunc="sum").reindex(index=results.variants)
    table = table[[s for s in colours if s in table.columns]].fillna(0.0)
    scale, unit = time_unit(table.sum(axis=1).max())
    left = np.zeros(len(table))
    y = np.arange(len(table))
    for stage in table.columns:
        width = table[stage].to_numpy() / scale
        ax.barh(y, width, left=left, color=colours[stage], height=0.6, edgecolor="white",
                linewidth=0.4, label=stage)
        left += width
    for yi, total in zip(y, left, strict=True):
        ax.annotate(f"{total:.1f}", (total, yi), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)
    ax.set_yticks(y, table.index)
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.15 or 1)
    ax.set_xlabel(f"mean time per answered request ({unit})")
    ax.set_title(f"{flow} · {kind}")
    return list(table.columns)


def stage_colours(results: Results) -> dict[str, str | tuple]:
    """Every stage of the results in reading order, with its colour."""
    breakdown = _stage_breakdown(results)
    stages = sorted(breakdown["stage"].unique(), key=_stage_rank) if len(breakdown) else []
    return {stage: _stage_colour(stage, i) for i, stage in enumerate(stages)}


def stage_legend(where: Figure | Axes, results: Results, only: list[str] | None = None
                 ) -> None:
    """The stages' colours (``only`` those, if given): below a figure, or on one Axes."""
    colours = {s: c for s, c in stage_colours(results).items() if only is None or s in only}
    if colours:
        legend(where, [Patch(color=c, label=s) for s, c in colours.items()],
               ncols=min(len(colours), 8), title="stage")


def utilisation_panel(ax: Axes, results: Results) -> None:
    """Distribution of head utilisation by level, one box per variant (heads × replications)."""
    heads = results.heads
    variants = results.variants
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
                       boxprops={"facecolor": colour(i), "alpha": 0.6},
                       medianprops={"color": "black"},
                       meanprops={"marker": "D", "markerfacecolor": "white",
                                  "markeredgecolor": "black", "markersize": 4})
        ax.plot([], [], color=colour(i), linewidth=8, alpha=0.6, label=variant)
    ax.set_xticks(range(len(LEVELS)), LEVELS)
    ax.set_xlim(-0.6, len(LEVELS) - 0.4)
    ax.set_ylabel("utilisation (% of staff time busy over the horizon)")
    ax.set_xlabel("level (a missing box: the variant has no heads there)")
    if heads.empty:
        no_data(ax)
    ax.set_title("Head utilisation by level (box: quartiles, diamond: mean)")


def tradeoff_panel(ax: Axes, results: Results, flow: str, kind: str) -> None:
    """Total heads against the p95 response of ``flow`` · ``kind``, a point per variant."""
    summary = _overall(results)
    heads = results.total_heads
    part = summary[(summary["flow"] == flow) & (summary["kind"] == kind)]
    part = part.set_index("variant").reindex(results.variants)
    target = metrics.targets(results.scenario).get((flow, kind), math.nan)
    scale, unit = time_unit(np.nanmax([part["p95"].max(), target]))
    top = target / scale if np.isfinite(target) else 0.0
    offsets = _side_by_side([heads.get(v, 0) for v in results.variants])
    for i, variant in enumerate(results.variants):
        value = part.at[variant, "p95"] / scale
        if not np.isfinite(value):
            continue
        hw = np.nan_to_num(part.at[variant, "p95_hw"] / scale)
        x = heads.get(variant, math.nan) + offsets[i]
        ax.errorbar(x, value, yerr=[[min(hw, value)], [hw]], fmt=MARKERS[i % len(MARKERS)],
                    capsize=3, color=colour(i), markerfacecolor="none", markersize=7)
        top = max(top, value + hw)
    if np.isfinite(target):
        _target_line(ax, target / scale)
    ax.set_xlim(min(0.0, *(heads.get(v, 0) + offsets[i]
                           for i, v in enumerate(results.variants))) - 1,
                max([*heads.values(), 1]) * 1.1)
    ax.set_ylim(0, top * 1.15 or 1)
    ax.set(xlabel="heads in the chain (all levels)", ylabel=f"p95 response ({unit})",
           title=_titled(flow, kind, target))


def tradeoff_labels(results: Results) -> list[str]:
    """The trade-off's legend entries: each variant with its heads."""
    heads = results.total_heads
    return [f"{v} ({heads.get(v, 0):,} heads)" for v in results.variants]


def no_data(ax: Axes) -> None:
    """Mark a panel that has nothing to show."""
    ax.text(0.5, 0.5, "no requests", ha="center", va="center", transform=ax.transAxes,
            color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


# ---- helpers -----------------------------------------------------------------------------------

def _share_within(times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Share of the requests (unanswered ones count as never) answered by each grid time."""
    done = np.sort(times[np.isfinite(times)])
    return np.searchsorted(done, grid, side="right") / max(len(times), 1)


def _band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of per-replication curves and its 95% Student-t band (none from one curve)."""
    mean = curves.mean(axis=0)
    if len(curves) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.975, len(curves) - 1) * curves.std(axis=0, ddof=1) / np.sqrt(len(curves))
    return mean, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1)


def _overall(results: Results) -> pd.DataFrame:
    summary = results.summary
    if summary.empty:
        return pd.DataFrame(columns=["variant", "flow", "kind", "p95", "p95_hw"])
    return summary[summary["household_group"] == metrics.ALL]


def _stage_breakdown(results: Results) -> pd.DataFrame:
    if results.stage_totals.empty:
        return pd.DataFrame(columns=["variant", "flow", "kind", "stage", "mean_min"])
    return results.stage_breakdown


def _side_by_side(values: list[float], share: float = 0.015) -> list[float]:
    """Offsets that set apart points of (nearly) equal x: ``share`` of the range apart."""
    step = max([*values, 1]) * share
    offsets = [0.0] * len(values)
    groups: list[list[int]] = []
    for i in sorted(range(len(values)), key=lambda k: (values[k], k)):
        if groups and values[i] - values[groups[-1][-1]] < step:
            groups[-1].append(i)  # closer than a step to the last: same cluster
        else:
            groups.append([i])
    for members in groups:
        for rank, i in enumerate(members):
            offsets[i] = step * (rank - (len(members) - 1) / 2)
    return offsets


def _stage_colour(stage: str, index: int) -> str | tuple:
    """The stage's own colour; a stage a new flow adds takes a strong Dark2 colour."""
    return STAGE_COLOURS.get(stage) or matplotlib.colormaps["Dark2"](index % 8)


def _stage_rank(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def _readable(minutes: float) -> str:
    scale, unit = time_unit(minutes)
    return f"{minutes / scale:.3g} {unit}"


def _target_line(ax: Axes, y: float) -> None:
    """The target as a dashed line; its value goes in the panel title, clear of the bars."""
    ax.axhline(y, color="black", linestyle="--", linewidth=1, zorder=3)


def _titled(flow: str, kind: str, target: float) -> str:
    return f"{flow} · {kind}" + (f" (target {_readable(target)})" if np.isfinite(target) else "")


def _variant_ticks(ax: Axes, x: np.ndarray, names: list[str]) -> None:
    """Variant names under bars, slanted when there are many so they do not overlap."""
    many = len(names) > 3
    ax.set_xticks(x, names, rotation=40 if many else 0, ha="right" if many else "center",
                  rotation_mode="anchor" if many else "default")
