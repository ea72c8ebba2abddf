"""The terminal summary printed at the end of a run: per target, per design, then the answer.

Targets come in the scenario's order (supply, packages, then the severities as listed);
every column is defined in the header, the share within target carries its 95% interval
and its verdict against the planner's required share (:mod:`sim.decision`), and the
last lines name the recommended design, or say none meets every target, and point to
the report.
"""

from __future__ import annotations

import math
from pathlib import Path

from sim import decision as dec
from sim import metrics
from sim.experiment import Results
from sim.markup import interval, label, short_duration
from sim.plots import time_unit

NAME_WIDTH = 28


def summary_text(results: Results, out: Path, report: bool = True,
                 found: dec.Decision | None = None) -> str:
    """The summary for the terminal; ``report`` says whether ``report.html`` was written.

    ``found`` is the decision if already made from these results (the report's).
    """
    if found is None:
        found = dec.decide_results(results)
    scenario = results.scenario
    lines = [
        f"{scenario.name}: {scenario.replications} replication(s) × {len(results.variants)} "
        "design(s)",
        "columns: n = answered requests per replication; mean, p95 = response time (mean over",
        "  replications ± 95% half-width); within target = share answered within the target",
        "  (95% interval); verdict against the required share: met (interval above it), not met",
        "  (below it), can't tell (straddles it); few cases = under "
        f"{dec.MIN_CASES} requests per replication",
    ]
    summary = results.summary
    overall = summary[summary["household_group"] == metrics.ALL] if len(summary) else summary
    for goal in found.goals:
        part = overall[(overall["flow"] == goal.flow) & (overall["kind"] == goal.kind)]
        verdicts = found.table[(found.table["flow"] == goal.flow)
                               & (found.table["kind"] == goal.kind)].set_index("variant")
        scale, unit = time_unit(max(float(part["p95"].max()) if len(part) else 0.0,
                                    goal.target))
        lines.append("")
        lines.append(f"{label(goal.flow, goal.kind)}: target {short_duration(goal.target)}, "
                     f"{goal.required:.0%} required")
        lines.append(f"  {'design':<{NAME_WIDTH}}{'n':>11}{f'mean ({unit})':>16}"
                     f"{f'p95 ({unit})':>16}  {'within target':<20}verdict")
        if part.empty:
            lines.append("  no such request in any run: can't tell")
        for row in part.itertuples():
            verdict = verdicts.at[row.variant, "verdict"] if row.variant in verdicts.index else ""
            few = " (few cases)" if row.variant in verdicts.index \
                and verdicts.at[row.variant, "few_cases"] else ""
            lines.append(f"  {row.variant:<{NAME_WIDTH}}{_count(row.n):>11}"
                         f"{_pm(row.mean, row.mean_hw, scale):>16}"
                         f"{_pm(row.p95, row.p95_hw, scale):>16}  "
                         f"{interval(row.within_target, row.within_target_hw):<20}"
                         f"{verdict}{few}")
    lines.append("")
    lines.append(_answer(results, found))
    lines.append("conservation: every request accounted for" if _balanced(results)
                 else "conservation: FAILED, see conservation.csv")
    lines.append(f"results: {out}")
    if report:
        lines.append(f"report (the decision, its inputs and why): {Path(out) / 'report.html'}")
    return "\n".join(lines)


def _answer(results: Results, found: dec.Decision) -> str:
    if found.cheapest is not None:
        name = found.cheapest
        return (f"recommended: {name}, the cheapest design meeting every target "
                f"({results.total_people.get(name, 0):,} people, "
                f"{results.total_heads.get(name, 0):,} heads)")
    text = "recommended: none; no design meets every target"
    if found.failing_everywhere:
        text += "; not met by any: " + ", ".join(label(g.flow, g.kind)
                                                 for g in found.failing_everywhere)
    return text


def _balanced(results: Results) -> bool:
    return bool(results.conservation["balanced"].all()) if len(results.conservation) else True


def _count(n: float) -> str:
    """Answered requests per replication (a mean over them): whole as "24,753", else "4,975.3"."""
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def _pm(mean: float, half_width: float, scale: float) -> str:
    if not math.isfinite(mean):
        return "-"
    if not math.isfinite(half_width):
        return f"{mean / scale:.1f}"
    return f"{mean / scale:.1f} ± {half_width / scale:.1f}"
