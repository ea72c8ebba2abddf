"""The sensitivity analysis in the results folder: its table, tornado figure and report section.

``tornado_figure(results)`` draws a panel per flow × kind × statistic: for each
assumption, a bar from the base difference out to the difference at the low end of
its range and another out to the high end, with their 95% intervals, a line at
the base difference and one at zero (no difference). ``section(results, ...)``
states per comparison whether its sign holds over every range.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim import sensitivity as sens
from sim.experiment import Results
from sim.plots import _panels, _styled, time_unit
from sim.style import legend

LOW, HIGH = "#4c72b0", "#dd8452"
CAPTION = ("Tornado: the headline difference at each end of every assumption's range. "
           "Bars run from the base difference (solid line, its 95% interval shaded) to the "
           "difference with the assumption at its low end (blue) and at its high end "
           "(orange); whiskers are 95% intervals; the dashed line is no difference. A bar "
           "crossing the dashed line marks a finding that hinges on that assumption; no bar "
           "means that end changes nothing.")


@_styled
def tornado_figure(results: Results) -> Figure:
    """A tornado per flow × kind × statistic of the sensitivity table."""
    block = results.scenario.sensitivity
    assert block is not None
    keys = tornado_keys(results)
    figure, axes = _panels(len(keys), ncols=2, panel=(6.4, 1.4 + 0.6 * len(block.assumptions)))
    for ax, key in zip(axes, keys, strict=True):
        tornado_panel(ax, results, key)
    tornado_legend(figure, ncols=4 if len(keys) > 1 else 2)
    first, second = block.compare
    figure.suptitle(f"Sensitivity of {first} against {second}: paired difference, "
                    f"{block.replications} replications per end")
    return figure


def tornado_keys(results: Results) -> list[tuple[str, str, str]]:
    """The tornado's panels: every (flow, kind, statistic) with a verdict."""
    assert results.sensitivity is not None
    return [(v.flow, v.kind, v.metric) for v in sens.verdicts(results.sensitivity)]


def tornado_panel(ax: Axes, results: Results, key: tuple[str, str, str]) -> None:
    """The tornado of one (flow, kind, statistic): a bar per end of every assumption."""
    table = results.sensitivity
    block = results.scenario.sensitivity
    assert table is not None and block is not None
    first, second = block.compare
    flow, kind, metric = key
    verdict = next(v for v in sens.verdicts(table) if (v.flow, v.kind, v.metric) == key)
    rows = len(block.assumptions)
    part = table[(table["flow"] == flow) & (table["kind"] == kind) & (table["metric"] == metric)]
    scale, unit = _unit(metric, part)
    ax.set_title(f"{flow} · {kind} · {metric}: {verdict.status}", loc="left",
                 color="#b00" if verdict.status == sens.FRAGILE else "black")
    base, base_hw = verdict.difference / scale, verdict.half_width / scale
    if not math.isfinite(base):
        ax.text(0.5, 0.5, "no paired data", ha="center", va="center",
                transform=ax.transAxes, color="grey")
        ax.set_yticks([])
        return
    ends = _ends(part, scale)
    labels = {a.label: _end_labels(a.low, a.high) for a in block.assumptions}
    order = sorted(range(rows), key=lambda i: -ends[i]["swing"])
    for y, i in enumerate(order):
        for end, colour in (("low", LOW), ("high", HIGH)):
            value, hw, _ = ends[i][end]
            if not math.isfinite(value) or (abs(value - base) < 1e-9
                                            and abs(np.nan_to_num(hw - base_hw)) < 1e-9):
                continue  # no effect at this end: nothing to draw
            ax.barh(y, value - base, left=base, height=0.55, color=colour, alpha=0.85)
            if math.isfinite(hw):
                ax.errorbar(value, y, xerr=hw, color=colour, ecolor="black",
                            linewidth=0.8, capsize=2.5)
    if math.isfinite(base_hw):
        ax.axvspan(base - base_hw, base + base_hw, color="grey", alpha=0.15, linewidth=0)
    ax.axvline(base, color="black", linewidth=1.2)
    ax.axvline(0.0, color="black", linestyle="--", linewidth=0.9)
    ticks = []
    for i in order:
        name = ends[i]["name"]
        low, high = labels[name]
        ticks.append(f"{name.replace(' + ', ' +' + chr(10))}\nlow {low} · high {high}")
    ax.set_yticks(range(rows), ticks)
    if (part["difference"].fillna(1) == 0).all() and (part["half_width"].fillna(0) == 0).all():
        ax.text(0.5, 1.0, "identical in every paired run", transform=ax.transAxes,
                ha="center", va="top", color="grey")
    ax.set_ylim(rows - 0.45, -0.55)
    _pad(ax, [base, 0.0, *(ends[i][e][0] + s * np.nan_to_num(ends[i][e][1])
                           for i in order for e in ("low", "high") for s in (-1, 1))])
    left, right = (("lower share", "higher share") if metric == "within_target"
                   else ("faster", "slower"))  # a negative difference: first is less
    ax.set_xlabel(f"{first} minus {second} ({unit})\n"
                  f"← {first} {left}      {first} {right} →")


def tornado_legend(where: Figure | Axes, ncols: int = 2) -> None:
    """What the bars and lines mean: below the figure, or on one Axes."""
    legend(where, [Patch(color=LOW, label="assumption at its low end"),
                   Patch(color=HIGH, label="assumption at its high end"),
                   Line2D([], [], color="black", label="base difference (scenario as given)"),
                   Line2D([], [], color="black", linestyle="--", label="no difference")],
           ncols=ncols)


def section(results: Results, figures: list[Path], embed: Callable[[Path], str]) -> str:
    """``<section id="sensitivity">``: the verdicts, the ranges tried, and the tornado."""
    block = results.scenario.sensitivity
    if block is None:
        return ""
    first, second = block.compare
    out = ['<section id="sensitivity"><h2>Sensitivity</h2>']
    if results.sensitivity is None:
        out.append(f"<p class='note'>Not run: it compares {_e(first)} with {_e(second)}, "
                   "and both must be among the variants run.</p></section>")
        return "".join(out)
    out.append(
        f"<p class='note'>The headline comparison, {_e(first)} minus {_e(second)} (paired by "
        "replication), run again with each assumption at the low and at the high end of its "
        f"range, against the scenario as given, all on the same {block.replications} "
        "replications (the main run's seeds). "
        "<b>Robust</b>: the difference keeps its sign, with an interval clear of zero, at "
        "both ends of every range. <b>Fragile</b>: it flips, or its interval includes zero, "
        "at the end named.</p><ul>")
    for verdict in sens.verdicts(results.sensitivity):
        out.append(f"<li>{_sentence(verdict, first)}</li>")
    out.append("</ul>")
    table = results.sensitivity
    rows = []
    for item in block.assumptions:
        values = table[table["assumption"] == item.label].drop_duplicates("end") \
            .set_index("end")["value"]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in (
            item.label, values.get("low", ""), values.get("base", ""), values.get("high", ""),
            item.note)) + "</tr>")
    out.append("<table><thead><tr><th>assumption</th><th>low</th><th>as run</th><th>high</th>"
               "<th>why it is a guess</th></tr></thead><tbody>" + "".join(rows)
               + "</tbody></table>")
    out.extend(embed(p) for p in figures if Path(p).stem.startswith("sensitivity"))
    out.append("</section>")
    return "\n".join(out)


def _sentence(verdict: sens.Verdict, first: str) -> str:
    largest = max([abs(verdict.difference), *(abs(r.difference) for r in verdict.reasons)])
    scale, unit = _unit(verdict.metric, None, largest)
    what = f"{verdict.flow} {verdict.kind}, {verdict.metric}"
    if verdict.difference == 0 and verdict.half_width == 0 and not verdict.reasons:
        return (f"<b>{_e(what)}: no difference</b> at the base: the two variants give the "
                "same value in every paired run, and no end of any range makes a real "
                "difference.")
    base = _pm(verdict.difference, verdict.half_width, scale, unit)
    if verdict.status != sens.UNCLEAR:
        base += f" ({first} {_direction(verdict.metric, verdict.difference)})"
    if verdict.status == sens.ROBUST:
        return (f"<b>{_e(what)}: robust.</b> {_e(base)} at the base, the same sign at both "
                "ends of every range.")
    if verdict.status == sens.FRAGILE:
        where = "; ".join(
            f"{_WHY[r.why]} at {r.assumption} = {r.value} ({r.end} end: "
            f"{_pm(r.difference, r.half_width, scale, unit)})" for r in verdict.reasons)
        return (f"<b class='bad'>{_e(what)}: fragile.</b> {_e(base)} at the base, but it "
                f"{_e(where)}.")
    real = "; ".join(f"{r.assumption} = {r.value} ({r.end} end: "
                     f"{_pm(r.difference, r.half_width, scale, unit)})" for r in verdict.reasons)
    tail = f" A real difference appears at {real}." if real else ""
    return (f"<b>{_e(what)}: no clear difference</b> at the base ({_e(base)}, an interval "
            f"that includes zero).{_e(tail)}")


def _direction(metric: str, difference: float) -> str:
    if metric == "within_target":
        return "answers more within target" if difference > 0 else "answers fewer within target"
    return "slower" if difference > 0 else "faster"


_WHY = {"flips": "flips sign", "includes zero": "is no longer clear (interval includes zero)",
        "no data": "has no data"}


def _end_labels(low: object, high: object) -> tuple[str, str]:
    """Short labels of a range's ends; of two mappings, only the entries that differ."""
    if isinstance(low, dict) and isinstance(high, dict):
        keys = [k for k in {**low, **high} if low.get(k) != high.get(k)] or list(low)
        return tuple(", ".join(f"{k} {m.get(k, '—')}" for k in keys)  # type: ignore[return-value]
                     for m in (low, high))
    return sens.value_text(low), sens.value_text(high)


def _ends(part: pd.DataFrame, scale: float) -> list[dict]:
    found = []
    for name, rows in part.groupby("assumption", sort=False):
        item: dict = {"name": name}
        for end in ("low", "high"):
            row = rows[rows["end"] == end].iloc[0]
            item[end] = (row["difference"] / scale, row["half_width"] / scale, row["value"])
        spread = item["high"][0] - item["low"][0]
        item["swing"] = abs(spread) if math.isfinite(spread) else 0.0
        found.append(item)
    return found


def _unit(metric: str, part: pd.DataFrame | None, value: float = math.nan
          ) -> tuple[float, str]:
    if metric == "within_target":
        return 0.01, "points"
    if part is not None:
        value = float(np.nanmax(np.abs(part["difference"].to_numpy()), initial=0.0))
    return time_unit(abs(value))


def _pad(ax: object, values: list[float]) -> None:
    finite = [v for v in values if math.isfinite(v)]
    low, high = min(finite), max(finite)
    margin = (high - low) * 0.18 or 1.0
    ax.set_xlim(low - margin, high + margin)  # type: ignore[attr-defined]


def _pm(value: float, half_width: float, scale: float, unit: str) -> str:
    if not math.isfinite(value):
        return "no data"
    hw = f" ± {half_width / scale:.1f}" if math.isfinite(half_width) else " (one pair)"
    return f"{value / scale:+.1f}{hw} {unit}"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
