"""The report: one self-contained HTML page that answers the planner, then shows the evidence.

``write_report(results, figures, path, scenario_file)`` writes, in this order: the
decision and the inputs behind it (:mod:`sim.report_decision`, logic in
:mod:`sim.decision`), the paired findings, the sensitivity, the comparison tables, any
section a flow added (:func:`add_section`), the cost of each design, the figures
(embedded as base64 data URIs: no other file, no script), the conservation check and,
last, the household groups. ``findings(results)`` states the differences in plain
sentences. Variants share random numbers within a replication, so each variant is
compared with the reference (the first variant) through the per-replication paired
differences: a difference is called real only when its 95% Student-t interval excludes
zero.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import decision, metrics, report_flows, tornado
from sim.experiment import Results
from sim.markup import CSS as _CSS
from sim.markup import duration as _duration
from sim.markup import e as _e
from sim.markup import label as _label
from sim.markup import pm as _pm
from sim.markup import share as _share
from sim.markup import signed as _signed
from sim.markup import table as _table
from sim.plots import flow_kinds, time_unit
from sim.report_decision import decision_section, inputs_section
from sim.scenario import LEVELS

CAPTIONS = {
    "ecdf": "Share of requests answered within a given time, per variant: the mean of the "
            "replications' curves, with the 95% band across replications; the dashed line is "
            "the target.",
    "p95": "p95 response time per variant, mean over replications with its 95% CI.",
    "stages": "Where the time goes: mean time per stage for answered requests.",
    "utilisation": "Head utilisation by level: the share of its staff's time over the horizon "
                   "each head was busy.",
    "tradeoff": "The planner's trade-off: heads recruited against p95 response.",
    "chain": "The chain drawn down to the grid level, each grid annotated with the heads "
             "and households below it.",
    "sensitivity": tornado.CAPTION,
    **report_flows.CAPTIONS,
}

MATERIAL = 0.05
"""A household group is flagged only when its p95 exceeds the overall p95 by more than
this share (as well as beyond the confidence interval): a real but tiny gap is noise
to a planner."""


@dataclass(frozen=True)
class Comparison:
    """One statistic of a variant against the reference, paired by replication."""

    reference: float
    value: float
    difference: float
    half_width: float
    pairs: int

    @property
    def real(self) -> bool:
        """Whether the 95% interval of the paired difference excludes zero."""
        return self.pairs >= 2 and math.isfinite(self.half_width) \
            and abs(self.difference) > self.half_width


def compare(results: Results, flow: str, kind: str, statistic: str, variant: str,
            reference: str, group: str = metrics.ALL,
            reference_group: str = metrics.ALL) -> Comparison | None:
    """Compare ``statistic`` of (variant, group) with (reference, reference_group).

    Uses the replications where both have a value; ``None`` when there is none.
    """
    table = results.per_replication
    if table.empty or statistic not in table:
        return None
    base = table[(table["flow"] == flow) & (table["kind"] == kind)]

    def values(name: str, household_group: str) -> pd.Series:
        rows = base[(base["variant"] == name) & (base["household_group"] == household_group)]
        return rows.set_index("replication")[statistic].astype(float)

    both = pd.concat([values(reference, reference_group), values(variant, group)], axis=1,
                     join="inner").dropna()
    if both.empty:
        return None
    ref, new = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
    difference, half_width = metrics.mean_ci(new - ref)
    return Comparison(float(ref.mean()), float(new.mean()), difference, half_width, len(both))


@dataclass(frozen=True)
class Finding:
    """One finding: its sentence, its (flow, kind), and what kind of statement it is."""

    flow: str
    kind: str
    sentence: str
    real: bool
    group: bool = False


def findings(results: Results) -> list[str]:
    """Plain-language findings: every variant against the first, per flow and kind.

    Also flags household groups that clearly wait longer than households overall.
    """
    return [f.sentence for f in findings_detail(results)]


def findings_detail(results: Results) -> list[Finding]:
    """:func:`findings` with each sentence's (flow, kind), and what it states.

    ``real``: a difference whose interval excludes zero; ``group``: a household group.
    """
    variants = results.variants
    if not variants:
        return [Finding("", "", "Nothing was run.", False)]
    heads, people = results.total_heads, results.total_people
    found = []
    if len(variants) < 2:
        found.append(Finding("", "", f"Only one variant ({variants[0]}) was run: there is "
                             "nothing to compare it with.", False))
    for flow, kind in flow_kinds(results):
        label = _label(flow, kind)
        for variant in variants[1:]:
            p95 = compare(results, flow, kind, "p95", variant, variants[0])
            if p95 is None:
                continue
            extra = heads.get(variant, 0) - heads.get(variants[0], 0)
            staff = people.get(variant, 0) - people.get(variants[0], 0)
            sentence = _p95_sentence(variant, variants[0], label, p95,
                                     _heads_phrase(extra, staff))
            share = compare(results, flow, kind, "within_target", variant, variants[0])
            if share is not None and share.real:
                sentence += (f" The share answered within target went from "
                             f"{share.reference:.0%} to {share.value:.0%} "
                             f"({share.difference * 100:+.0f} ± {share.half_width * 100:.0f} "
                             "points).")
            found.append(Finding(flow, kind, sentence,
                                 p95.real or (share is not None and share.real)))
        found.extend(Finding(flow, kind, text, True, group=True)
                     for text in _group_sentences(results, flow, kind, label))
    if not found:
        found.append(Finding("", "", "No request was answered in any run: there is nothing "
                             "to compare.", False))
    return found


SectionRenderer = Callable[[Results, list[Path]], str]
EXTRA_SECTIONS: list[SectionRenderer] = []
"""Sections a flow adds to the report (``add_section``), placed after the comparison."""


def add_section(render: SectionRenderer) -> None:
    """Add a section to every report: ``render(results, figures)`` returns its HTML."""
    if render not in EXTRA_SECTIONS:
        EXTRA_SECTIONS.append(render)


add_section(report_flows.notices)  # the flows' own sections (sim/report_flows.py)
add_section(report_flows.testing)
add_section(report_flows.losses)

SECTION_ORDER = ("decision", "inputs", "findings", "sensitivity", "comparison", "notices",
                 "testing", "losses", "costs", "figures", "conservation", "groups")
"""The ids of the report's sections in page order (``sensitivity`` only with its block)."""


def write_report(results: Results, figures: list[Path], path: Path,
                 scenario_file: str | Path | None = None,
                 found: decision.Decision | None = None) -> None:
    """Write ``report.html`` at ``path``: one file, figures embedded, no script.

    It opens with the decision (``found``, or made here from the results) and the
    inputs behind it; ``scenario_file`` (the YAML the scenario came from) supplies the
    inputs' source tags.
    """
    scenario = results.scenario
    title = f"Lockdown drill: {scenario.name}"
    parts = [f"<h1>{_e(title)}</h1>"]
    if scenario.description:
        parts.append(f"<p>{_e(scenario.description)}</p>")
    if found is None:
        found = decision.decide_results(results)
    parts.append(decision_section(results, found))
    parts.append(inputs_section(results, scenario_file))
    parts.append(_findings(results))
    parts.append(tornado.section(results, figures, _figure))
    parts.append(_section("comparison", _comparison(results)))
    parts.extend(render(results, figures) for render in EXTRA_SECTIONS)
    parts.append(_section("costs", _costs(results)))
    parts.append("<section id=\"figures\"><h2>Figures</h2>")
    parts.extend(_figure(Path(p)) for p in figures if not Path(p).stem.startswith("sensitivity"))
    parts.append("</section>")
    parts.append(_section("conservation", _conservation(results)))
    parts.append(_section("groups", _groups(results)))
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")
    Path(path).write_text(page, encoding="utf-8")


# ---- sections ----------------------------------------------------------------------------------


def _section(name: str, body: str) -> str:
    return f'<section id="{name}">{body}</section>' if body else ""


def _findings(results: Results) -> str:
    """``<section id="findings">``: paired findings per flow and kind, condensed."""
    reference = results.variants[0] if results.variants else ""
    out = ['<section id="findings"><h2>Findings</h2><p class="note">Each design against the '
           f"reference <b>{_e(reference)}</b>, paired by replication (common random numbers); a "
           "difference is called real when its 95% interval excludes zero. Designs with no "
           "clear difference are folded away; household groups are at the end.</p>"]
    detail = [f for f in findings_detail(results) if not f.group]
    for flow, kind in dict.fromkeys((f.flow, f.kind) for f in detail):
        part = [f for f in detail if (f.flow, f.kind) == (flow, kind)]
        if flow:
            out.append(f"<h3>{_e(_label(flow, kind))}</h3>")
        real = [f.sentence for f in part if f.real]
        other = [f.sentence for f in part if not f.real]
        if real:
            out.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in real) + "</ul>")
        if other and flow:
            out.append(f"<details><summary>{len(other)} design(s) with no clear difference"
                       "</summary><ul>" + "".join(f"<li>{_e(s)}</li>" for s in other)
                       + "</ul></details>")
        elif other:
            out.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in other) + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def _comparison(results: Results) -> str:
    summary = _overall_rows(results)
    heads, people = results.total_heads, results.total_people
    goals = metrics.targets(results.scenario)
    out = ["<h2>Comparison</h2><p class='note'>Means over replications ± 95% half-width "
           "(— where one replication gives no interval). Response statistics cover "
           "answered requests; the share within target counts every request created one "
           "target before the horizon.</p>"]
    for flow, kind in flow_kinds(results):
        part = summary[(summary["flow"] == flow) & (summary["kind"] == kind)]
        target = goals.get((flow, kind), math.nan)
        out.append(f"<h3>{_e(_label(flow, kind))} (target {_e(_duration(target))})</h3>")
        if part.empty:
            out.append("<p class='note'>No such request in any run.</p>")
            continue
        unit = time_unit(np.nanmax([part["p95"].max(), target]))
        rows = [[r.variant, f"{heads.get(r.variant, 0):,}", f"{people.get(r.variant, 0):,}",
                 f"{r.created:.1f}",
                 f"{r.completed:.1f}", _pm(r.mean, r.mean_hw, unit), _pm(r.p95, r.p95_hw, unit),
                 _share(r.within_target, r.within_target_hw)] for r in part.itertuples()]
        out.append(_table(["variant", "heads", "people", "created / rep.", "answered / rep.",
                           f"mean ({unit[1]})", f"p95 ({unit[1]})", "within target"], rows))
    return "\n".join(out)


def _groups(results: Results) -> str:
    summary = results.summary
    out = ["<h2>Household groups</h2><p class='note'>The same statistics per household "
           "group: a grid fast on average may still leave some households waiting.</p>"]
    if summary.empty:
        return out[0] + "<p class='note'>No request in any run.</p>"
    gaps = [f.sentence for f in findings_detail(results) if f.group]
    out.append("<ul>" + "".join(f"<li>{_e(g)}</li>" for g in gaps) + "</ul>" if gaps else
               "<p>No household group clearly waits longer than households overall "
               f"(by more than {MATERIAL:.0%} of the p95, beyond its interval).</p>")
    for flow, kind in flow_kinds(results):
        part = summary[(summary["flow"] == flow) & (summary["kind"] == kind)]
        if part.empty:
            continue
        unit = time_unit(part["p95"].max())
        rows = [[r.variant, r.household_group, f"{r.created:.1f}",
                 _pm(r.mean, r.mean_hw, unit), _pm(r.p95, r.p95_hw, unit),
                 _share(r.within_target, r.within_target_hw)] for r in part.itertuples()]
        out.append(f"<h3>{_e(_label(flow, kind))}</h3>")
        out.append(_table(["variant", "household group", "created / rep.", f"mean ({unit[1]})",
                           f"p95 ({unit[1]})", "within target"], rows))
    return "\n".join(out)


def _costs(results: Results) -> str:
    costs = results.costs
    if costs.empty:
        return ""
    heads = costs.pivot_table(index="variant", columns="level", values="heads", aggfunc="sum",
                              sort=False).reindex(index=results.variants, columns=list(LEVELS))
    people = costs.groupby("variant", sort=False)["people"].sum()
    rows = [[variant, *(f"{int(v):,}" if pd.notna(v) and v > 0 else "—"
                        for v in heads.loc[variant]),
             f"{int(heads.loc[variant].sum()):,}", f"{int(people.get(variant, 0)):,}"]
            for variant in results.variants]
    return ("<h2>What each design costs</h2><p class='note'>Heads per level (— : level "
            "dropped) and the people staffing them.</p>"
            + _table(["variant", *LEVELS, "heads", "people"], rows))


def _conservation(results: Results) -> str:
    table = results.conservation
    if table.empty:
        return "<h2>Conservation</h2><p>No request was created.</p>"
    totals = table[["created", "completed", "in_flight", "abandoned"]].sum()
    runs = table[["variant", "replication"]].drop_duplicates()
    failed = table[~table["balanced"].astype(bool)]
    text = (f"{int(totals['created']):,} requests created over {len(runs)} runs: "
            f"{int(totals['completed']):,} answered, {int(totals['in_flight']):,} still in "
            f"flight at the horizon, {int(totals['abandoned']):,} abandoned for a known reason. ")
    if failed.empty:
        text += ("Every run balances: each arrival became a request and each request is "
                 "answered, in flight or abandoned; none vanished.")
        return f"<h2>Conservation</h2><p>{_e(text)}</p>"
    rows = [[r.variant, r.replication, r.flow, r.kind, r.arrivals, r.created, r.completed,
             r.in_flight, r.abandoned] for r in failed.itertuples()]
    return (f"<h2>Conservation</h2><p>{_e(text)}</p><p class='bad'>These runs do not "
            "balance (a bug in the model):</p>"
            + _table(["variant", "replication", "flow", "kind", "arrivals", "created",
                      "answered", "in flight", "abandoned"], rows))


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    prefix = path.stem.split("_")[0]
    caption = CAPTIONS.get(prefix, "")
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{_e(path.stem)}'>"
            f"<figcaption><b>{_e(path.stem)}</b>. {_e(caption)}</figcaption></figure>")


# ---- wording -----------------------------------------------------------------------------------


def _p95_sentence(variant: str, reference: str, label: str, c: Comparison, heads: str) -> str:
    unit = time_unit(max(c.reference, c.value))
    before, after = _duration(c.reference, unit), _duration(c.value, unit)
    if c.pairs < 2:
        return (f"{variant}: no clear difference in p95 {label} against {reference} "
                f"({before} vs {after}), {heads}; {c.pairs} paired replication is too few "
                "for a confidence interval.")
    if c.difference == 0 and c.half_width == 0:
        return (f"{variant}: the same p95 {label} as {reference} in all {c.pairs} "
                f"replications ({before}), {heads}.")
    spread = f"{_signed(c.difference, unit)} ± {_duration(c.half_width, unit)}"
    if c.real:
        verb = "cut" if c.difference < 0 else "lengthened"
        return (f"{variant} {verb} p95 {label} from {before} to {after} "
                f"({spread}, paired over {c.pairs} replications), {heads}.")
    return (f"{variant}: no clear difference in p95 {label} against {reference} "
            f"({before} vs {after}; {spread} over {c.pairs} replications, an interval that "
            f"includes zero), {heads}.")


def _group_sentences(results: Results, flow: str, kind: str, label: str) -> list[str]:
    per = results.per_replication
    if per.empty:
        return []
    groups = sorted(set(per.loc[(per["flow"] == flow) & (per["kind"] == kind),
                                "household_group"]) - {metrics.ALL})
    sentences = []
    for variant in results.variants:
        for group in groups:
            c = compare(results, flow, kind, "p95", variant, variant, group=group)
            if c is not None and c.real and c.difference > MATERIAL * c.reference:
                unit = time_unit(max(c.reference, c.value))
                sentences.append(
                    f"Under {variant}, {group.replace('_', ' ')} households waited longer "
                    f"for {label}: p95 "
                    f"{_duration(c.value, unit)} against {_duration(c.reference, unit)} for "
                    f"all households ({_signed(c.difference, unit)} ± "
                    f"{_duration(c.half_width, unit)}).")
    return sentences


def _heads_phrase(extra: int, staff: int) -> str:
    people = (f"{staff:+,} people" if staff else "the same people")
    if extra > 0:
        return f"with {extra:,} more heads ({people})"
    if extra < 0:
        return f"with {-extra:,} fewer heads ({people})"
    return f"with the same number of heads ({people})"












def _overall_rows(results: Results) -> pd.DataFrame:
    summary = results.summary
    if summary.empty:
        return pd.DataFrame(columns=["variant", "flow", "kind"])
    return summary[summary["household_group"] == metrics.ALL]
