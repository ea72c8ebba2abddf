"""The report's paragraph on the flows that reach every household (:mod:`sim.coverage`).

``section(results)`` returns an HTML fragment (empty when the scenario issues no
notice): per variant, the minutes until 50, 90 and 100% of the households knew each
notice, with 95% half-widths across replications, and the share that knew by the
horizon; ``CAPTIONS`` words the figures of :mod:`sim.plots_flows`.
"""

from __future__ import annotations

import html
import math

from sim.experiment import Results

CAPTIONS = {
    "coverage": "Notices: share of households who know, against time since issue, per variant "
                "(every issue pooled, mean over replications); the dashed line is the target.",
}


def section(results: Results) -> str:
    """The notices paragraph and table, or an empty string."""
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
    table = ("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head)
             + "</tr></thead><tbody>"
             + "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in body)
             + "</tbody></table>")
    text = (f"Each notice is issued at the top and passed down head by head. Minutes from issue "
            f"until a share of the households knew, mean over replications ± 95% half-width; "
            f"the target is {target:g} min. A 100% column with a run count means some runs "
            "left households uninformed at the horizon (those runs are left out of its mean). "
            "Per household group: coverage.csv.")
    return f"<h2>Notices</h2><p>{_e(text)}</p>{table}"


def _ci(mean: float, half: float) -> str:
    if not math.isfinite(mean):
        return "never"
    return f"{mean:.1f}" + (f" ± {half:.1f}" if math.isfinite(half) else "")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
