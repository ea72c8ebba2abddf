"""The report's opening sections: the decision (design × target) and the inputs behind it.

``decision_section`` renders a :class:`sim.decision.Decision` (the logic lives there);
``inputs_section`` lists the deciding inputs with their source tags (:mod:`sim.sources`),
the run settings and the modelling assumptions.
"""

from __future__ import annotations

import math
from pathlib import Path

from sim import decision as dec
from sim.experiment import Results
from sim.markup import duration, e, interval, label, short_duration, table
from sim.scenario_flows import HeadLoss
from sim.sources import inputs

ASSUMPTIONS = (
    "Positions are one-dimensional: metres along the ground from the grid gate, then storeys "
    "by stairs (or lift where an area has lifts).",
    "Every head is a server with its staff sharing one queue; one head serves every flow, "
    "emergencies first by severity, then supply.",
    "Heads are off duty in their level's windows and during day jobs; only pre-empting "
    "severities reach them then.",
    "Demand (orders, incidents) is drawn from the seed before the run: in one replication "
    "every design sees the same households and the same incidents (common random numbers).",
    "The ambulance fleet is the community's own unless a district pool is configured; its "
    "job time starts at the door.",
    "A drill runs from lockdown to the horizon; requests still open then are censored "
    "(counted as misses in the share within target, absent from response times).",
    "Notices, replies, testing calls and make-up tests rank above supply work and below "
    "every emergency at a head; a lost head's new and waiting work goes to its backup.",
    "One chain, one depot and one ambulance pool per scenario, however many communities "
    "it lays out; supply vans hand over at the gate and do not wait for sealed gates.",
)
_CLASS = {dec.MET: "met", dec.NOT_MET: "notmet", dec.UNSURE: "unsure"}


def decision_section(results: Results, found: dec.Decision) -> str:
    """``<section id="decision">``: the answer first, then the table, causes and cautions."""
    out = ['<section id="decision"><h2>Decision</h2>']
    if not found.goals or not results.variants:
        return out[0] + "<p>No target was measured: nothing to decide.</p></section>"
    people, heads = results.total_people, results.total_heads
    if found.cheapest is not None:
        out.append(f"<p class='answer'>Cheapest design meeting every target: "
                   f"<b>{e(found.cheapest)}</b> ({people.get(found.cheapest, 0):,} people, "
                   f"{heads.get(found.cheapest, 0):,} heads).</p>")
    else:
        out.append("<p class='answer bad'>No design meets every target.</p>")
    if found.failing_everywhere:
        out.append("<p>Not met by any design: " + "; ".join(
            _goal_text(g) for g in found.failing_everywhere) + ".</p>")
    unsure = [g for g in found.met_nowhere if g not in found.failing_everywhere]
    if unsure:
        out.append("<p>Met by no design, not clearly failed by all (more replications "
                   "would tell): " + "; ".join(_goal_text(g) for g in unsure) + ".</p>")
    out.append(
        "<p class='note'>Each cell: share of requests answered within the target, mean over "
        f"{results.scenario.replications} replications (95% interval, clipped to 0-100%). "
        "<b>met</b>: the whole "
        "interval is at or above the required share; <b>not met</b>: the whole interval is "
        "below it; <b>can't tell</b>: it straddles it (or one replication, or no case). The "
        "required share is the planner's, stated in the scenario beside each target. Cost: "
        "heads in the chain and the people staffing them; other changes a design makes "
        "(its <code>set:</code>) are listed, not priced.</p>")
    out.append(_verdicts(results, found))
    out.append(_causes(found))
    out.append(_cautions(found))
    out.append("</section>")
    return "\n".join(out)


def _goal_text(goal: dec.Goal) -> str:
    return (f"{e(label(goal.flow, goal.kind))} ({goal.required:.0%} within "
            f"{e(short_duration(goal.target))})")


def _verdicts(results: Results, found: dec.Decision) -> str:
    people, heads = results.total_people, results.total_heads
    header = ["design", "heads", "people",
              *(f"{label(g.flow, g.kind).replace(' response', '').replace(' delivery', '')}: "
                f"{g.required:.0%} within {short_duration(g.target)}" for g in found.goals)]
    rows, classes = [], []
    for variant in results.variants:
        part = found.table[found.table["variant"] == variant]
        cells = [_cell(r) for r in part.itertuples()]
        marker = " ★" if variant == found.cheapest else ""
        rows.append([f"{variant}{marker}\n{_changes(results, variant)}",
                     f"{heads.get(variant, 0):,}", f"{people.get(variant, 0):,}", *cells])
        classes.append(["design", "", "", *(_CLASS[r.verdict] for r in part.itertuples())])
    return ("<div class='wide bleed'>" + table(header, rows, classes)
            + "</div><p class='note'>★ the "
            f"cheapest design meeting every target; † fewer than {dec.MIN_CASES} requests per "
            "replication. Under each design: what it changes from the scenario.</p>")


def _changes(results: Results, variant: str) -> str:
    spec = next((v for v in results.scenario.variants if v.name == variant), None)
    if spec is None:
        return ""
    parts = [f"no {level} heads" for level in spec.drop_levels]
    parts += [f"{level}: ~{n} households a head" for level, n in spec.households_per_head.items()]
    parts += [_setting_text(key, value) for key, value in spec.overrides.items()]
    parts += [_loss_text(loss) for loss in spec.lose_heads]
    return "; ".join(parts) or "as the scenario"


def _cell(row: object) -> str:
    """A verdict cell in three short lines (verdict, share, interval): nine targets fit a page."""
    share, _, rest = interval(row.within_target, row.within_target_hw).partition(" (")
    lines = [row.verdict, share] + ([f"({rest}"] if rest else [])
    return "\n".join(lines) + (" †" if row.few_cases else "")


def _setting_text(key: str, value: object) -> str:
    """A ``set:`` entry as the planner reads it; a nested mapping by its key paths.

    A distribution reads "key: uniform 10min-30min" or "key: exponential, mean 5min".
    """
    if isinstance(value, dict) and "dist" not in value:
        return "; ".join(_setting_text(f"{key}.{k}", v) for k, v in value.items())
    key = key.replace(".", ".\u200b")  # a long key path may break after its dots
    if isinstance(value, dict):
        params = {k: v for k, v in value.items() if k != "dist"}
        if set(params) == {"low", "high"}:
            return f"{key}: {value['dist']} {params['low']}-{params['high']}"
        shown = ", ".join(f"{k} {v}" for k, v in params.items())
        return f"{key}: {value['dist']}" + (f", {shown}" if shown else "")
    return f"{key} = {value}"


def _loss_text(loss: HeadLoss) -> str:
    """A ``lose_heads`` entry in words: "25% of grid heads lost 24 h-72 h (sibling)"."""
    said = []
    if loss.share:
        until = short_duration(loss.until) if loss.until is not None else "the horizon"
        said.append(f"{loss.share:.0%} of {loss.level} heads lost "
                    f"{short_duration(loss.start)}-{until}")
    if loss.rate_per_day:
        said.append(f"{loss.level} heads lost at {loss.rate_per_day:g} per head-day")
    return f"{' and '.join(said)} (backup: {loss.backup})"


def _causes(found: dec.Decision) -> str:
    if not found.failing:
        return ""
    items = []
    for goal in found.failing:
        key = (goal.flow, goal.kind)
        row = found.table[(found.table["variant"] == found.reference)
                          & (found.table["flow"] == goal.flow)
                          & (found.table["kind"] == goal.kind)].iloc[0]
        text = (f"<b>{e(label(*key))}</b> in {e(found.reference)}: "
                f"{e(interval(row.within_target, row.within_target_hw))} within "
                f"{e(short_duration(goal.target))}, {goal.required:.0%} required ({row.verdict}). ")
        neck = found.bottlenecks.get(key)
        if neck is not None:
            busy = ("" if not math.isfinite(neck.utilisation) else
                    f", busy {neck.utilisation:.0%} of the horizon" if neck.utilisation >= 0.01
                    else ", busy under 1% of the horizon")
            text += (f"Bottleneck: stage <b>{e(neck.stage)}</b>, {e(duration(neck.minutes))} of "
                     f"the mean answered request ({neck.share_of_time:.0%} of its time), held "
                     f"by <b>{e(neck.resource)}</b>{e(busy)}. ")
        fix = found.reliefs.get(key)
        if fix is not None:
            text += (f"Relieved most by <b>{e(fix.variant)}</b>: {fix.reference_share:.0%} → "
                     f"{fix.share:.0%} ({fix.difference * 100:+.0f} ± "
                     f"{fix.half_width * 100:.0f} points, paired)"
                     + (", which meets the target." if fix.meets else
                        ", not enough to meet the target."))
        else:
            text += "No design run relieves it clearly."
        if neck is not None and neck.key and (fix is None or not fix.meets):
            text += f" Key to try: <code>{e(neck.key)}</code> (a variant's set: or --sweep)."
        items.append(f"<li>{text}</li>")
    return ("<h3>Why targets fail (in the reference design)</h3><ul>" + "".join(items)
            + "</ul>")


def _cautions(found: dec.Decision) -> str:
    items = []
    few = found.table[found.table["few_cases"]]
    if len(few):
        names = sorted({label(f, k) for f, k in zip(few["flow"], few["kind"], strict=True)})
        fewest = few.groupby(["flow", "kind"], sort=False)["created"].min()
        counts = ", ".join(f"{label(f, k)} {n:.1f}" for (f, k), n in fewest.items())
        items.append(f"Few cases behind {', '.join(names)}: fewer than {dec.MIN_CASES} "
                     f"requests per replication (fewest: {counts}); their shares and "
                     "percentiles are rough, and the verdicts marked † may change "
                     "with more replications.")
    if found.censored:
        values = [v for v in found.censored.values() if math.isfinite(v)]
        if values:
            low, high = min(values), max(values)
            spread = f"{low:.1%}" if low == high else f"{low:.1%} to {high:.1%}"
            items.append(f"Censored at the horizon: {spread} of requests (range over designs) were "
                         "still "
                         "open when the run stopped; they count as misses in the share within "
                         "target and are absent from response times, which therefore read low.")
    if not items:
        return ""
    return ("<h3>How far to trust this</h3><ul class='warn'>"
            + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>")


def inputs_section(results: Results, scenario_file: str | Path | None = None) -> str:
    """``<section id="inputs">``: deciding inputs with source tags, settings, assumptions."""
    rows, classes = [], []
    for item in inputs(results.scenario, scenario_file):
        tag = ", ".join(item.tags) or ("untagged" if scenario_file else "—")
        rows.append([item.group, item.path, _value(item.path, item.value), tag, item.note])
        classes.append(["", "", "", "tag", "notecell"])
    origin = (f"from the comments in {Path(scenario_file).name}" if scenario_file
              else "unknown: the scenario was not read from a file")
    s = results.scenario
    settings = [["scenario", s.name], ["seed", s.seed], ["replications", s.replications],
                ["horizon", duration(s.horizon)], ["warm-up", duration(s.warmup)],
                ["clock at start", s.start], ["designs", ", ".join(results.variants)]]
    return ("<section id=\"inputs\"><h2>Inputs that decide the answer</h2>"
            f"<p class='note'>Values as run (every design, before its own changes); source "
            f"tags {e(origin)}: <b>sourced</b> a published figure, <b>derived</b> arithmetic "
            "on others, <b>assumption</b> a guess with the range to try.</p>"
            + "<div class='wide'>"
            + table(["what", "key", "value", "source", "note in the scenario"], rows, classes)
            + "</div><h3>Run settings</h3>"
            + table(["setting", "value"], settings)
            + "<h3>Modelling assumptions</h3><ul>"
            + "".join(f"<li>{e(a)}</li>" for a in ASSUMPTIONS) + "</ul></section>")


def _value(path: str, value: object) -> str:
    timed = path.endswith(("target", "horizon", "restock_every"))
    if isinstance(value, dict) and "dist" in value:  # a random time, in minutes
        return f"{value['dist']}: " + ", ".join(
            f"{k} {_value('target', v)}" for k, v in value.items() if k != "dist")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value('', v)}" for k, v in value.items())
    if timed and isinstance(value, (int, float)):
        return short_duration(float(value))
    if path.endswith("required_share"):
        return f"{value:.0%}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
