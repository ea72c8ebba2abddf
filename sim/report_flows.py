"""The report's paragraphs on the flows that reach every household (:mod:`sim.coverage`).

``notices(results, figures)``, ``testing(results, figures)`` and ``losses(results,
figures)`` are report sections (:func:`sim.report.add_section`), each empty when its
flow is off (losses: when no design also runs with lost heads):
notices, per variant, the minutes until 50, 90 and 100% of the households knew each
notice, with 95% half-widths across replications, and the share that knew by the
horizon; testing rounds, per variant and round, the round's duration, the share
tested within it, waits against the 30-minute norm, make-ups and households never
tested. ``CAPTIONS`` words the figures of :mod:`sim.plots_flows`.
"""

from __future__ import annotations

import math
from pathlib import Path

from sim import metrics
from sim.experiment import Results
from sim.markup import duration, label
from sim.markup import e as _e
from sim.markup import table as _html_table
from sim.scenario_flows import loss_pairs

CAPTIONS = {
    "testing": "Testing: the longest queue at any sampling point per 10 minutes, from each "
               "round's start (first replication, one panel per variant, a line per round).",
    "lost": "Lost heads: each target's share answered within target, per design with and "
            "without its heads lost (95% intervals across replications); the grey bar is the "
            "share required.",
    "coverage": "Notices: share of households who know, against time since issue, per variant "
                "(every issue pooled, mean over replications); the dashed line is the target.",
}


def testing(results: Results, figures: list[Path]) -> str:
    """``<section id="testing">``: per variant and round, or an empty string."""
    table = results.flow_tables.get("testing")
    if table is None or table.empty:
        return ""
    head = ["variant", "round", "households", "round lasted (min)", "tested in round",
            "mean wait (min)", "worst point mean wait (min)", "make-ups done (min)",
            "never tested"]
    body = [[r.variant, r.round, r.households,
             _ci(r.round_duration_min, r.round_duration_min_hw),
             f"{r.tested_in_round_share:.1%}", _ci(r.wait_mean_min, r.wait_mean_min_hw),
             _ci(r.worst_point_wait_min, r.worst_point_wait_min_hw),
             _ci(r.makeup_done_min, r.makeup_done_min_hw), f"{r.never_tested:.1f}"]
            for r in table.itertuples()]
    text = ("Each round, every sampling point's head calls its households in batches; they "
            "walk to the point and queue for a table. Published norms: a queue of at most 30 "
            "minutes and a round within 24 hours. Means over replications ± 95% half-width; "
            "make-ups done = from the round's start to the last make-up test ('never' when "
            "some were still untested at the horizon). Per round and replication: "
            "testing.csv; queues: testing_queue.csv.")
    return (f'<section id="testing"><h2>Testing rounds</h2><p>{_e(text)}</p>'
            f"{_html_table(head, body)}</section>")


def notices(results: Results, figures: list[Path]) -> str:
    """``<section id="notices">``: per variant and issue, or an empty string."""
    coverage = results.flow_tables.get("coverage")
    if coverage is None or coverage.empty:
        return ""
    rows = coverage[coverage["household_group"] == "all"]
    target = results.scenario.notice.target
    head = ["variant", "issue", "households", "50% know", "90% know", "100% know",
            "known by horizon"]
    body = []
    for row in rows.itertuples():
        body.append([row.variant, row.issue, row.households, _ci(row.t50_min, row.t50_min_hw),
                     _ci(row.t90_min, row.t90_min_hw),
                     _ci(row.t100_min, row.t100_min_hw)
                     + ("" if row.replications_all_knew == row.replications
                        else f" ({row.replications_all_knew}/{row.replications} runs)"),
                     f"{row.known_share:.1%}"])
    table = _html_table(head, body)
    text = (f"Each notice is issued at the top and passed down head by head. Minutes from issue "
            f"until a share of the households knew, mean over replications ± 95% half-width; "
            f"the target is {target:g} min. A 100% column with a run count means some runs "
            "left households uninformed at the horizon (those runs are left out of its mean). "
            "Per household group: coverage.csv.")
    return f'<section id="notices"><h2>Notices</h2><p>{_e(text)}</p>{table}</section>'


def losses(results: Results, figures: list[Path]) -> str:
    """``<section id="losses">``: each design against itself with lost heads, or ""."""
    pairs = loss_pairs(results.scenario)
    if not pairs:
        return ""
    summary = results.summary[results.summary["household_group"] == metrics.ALL]
    cell = summary.set_index(["variant", "flow", "kind"])
    head = ["design", "with lost heads", "what", "within target", "with losses",
            "p95", "with losses"]
    body = []
    for base, lost in pairs:
        for flow, kind in metrics.targets(results.scenario):
            if (base, flow, kind) not in cell.index or (lost, flow, kind) not in cell.index:
                continue
            a, b = cell.loc[(base, flow, kind)], cell.loc[(lost, flow, kind)]
            body.append([base, lost, label(flow, kind), _share(a), _share(b),
                         duration(a["p95"]), duration(b["p95"])])
    text = ("Each design that the scenario also runs with heads taken away (lose_heads: "
            "isolated, ill, exhausted; their work goes to the backup), side by side: the share "
            "of requests answered within target (mean over replications ± 95% half-width, in "
            "points) and the p95 response. Losses are drawn from their own random stream, so "
            "both columns see the same demand.")
    return (f'<section id="losses"><h2>Lost heads</h2><p>{_e(text)}</p>'
            f"{_html_table(head, body)}</section>")


def _share(row: object) -> str:
    share, half = row["within_target"], row["within_target_hw"]
    if not math.isfinite(share):
        return "—"
    return f"{share:.0%}" + (f" ± {half * 100:.0f}" if math.isfinite(half) else "")


def _ci(mean: float, half: float) -> str:
    if not math.isfinite(mean):
        return "never"
    return f"{mean:.1f}" + (f" ± {half:.1f}" if math.isfinite(half) else "")
