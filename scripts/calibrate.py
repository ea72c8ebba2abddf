"""Run the calibration cases and write docs/calibration.md.

Every case in ``scenarios/calibration/cases.yaml`` is a published real outcome and an
ordinary scenario file rebuilt from generic published parameters, never tuned to the
answer. This script runs each scenario (its own replications, or ``--replications``),
compares the chosen summary statistic with the reported value, and writes the document:
reported value, model value with its 95% CI, relative error, whether within the case's
band, where every parameter came from (the scenario file's comments), the sources, and
how to reproduce. Usage::

    python scripts/calibrate.py                     # writes docs/calibration.md
    python scripts/calibrate.py --replications 4 --out /tmp/calibration.md

A case may list ``sensitivity`` entries (a label and dotted scenario keys to set): the
document then shows the model's value with each assumption moved within its range.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.scenario import scenario_from_dict  # noqa: E402

CASES = ROOT / "scenarios" / "calibration" / "cases.yaml"
OUT = ROOT / "docs" / "calibration.md"
TAGS = ("sourced", "derived", "assumption", "unused", "model default")


@dataclass(frozen=True)
class Outcome:
    """One case's comparison."""

    case: dict
    model: float
    half_width: float
    replications: int

    @property
    def error(self) -> float:
        """Relative error of the model against the reported value."""
        return (self.model - self.case["reported"]) / self.case["reported"]

    @property
    def within(self) -> bool:
        """Whether the relative error is inside the case's band."""
        return math.isfinite(self.model) and abs(self.error) <= self.case["band"]


def load_cases(path: Path = CASES) -> dict:
    """The cases file: ``cases`` and ``sources``."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def run_case(case: dict, replications: int | None = None, jobs: int = 1,
             changes: dict | None = None) -> Outcome:
    """Run one case's scenario and read its statistic from the summary (group ``all``).

    ``changes`` sets dotted keys of the scenario first (a sensitivity run).
    """
    path = ROOT / case["scenario"]
    if changes:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for dotted, value in changes.items():
            *parents, last = dotted.split(".")
            node = data
            for key in parents:
                node = node[key]
            node[last] = value
        scenario = scenario_from_dict(data, source=str(path))
    else:
        scenario = sim.load_scenario(path)
    reps = replications or scenario.replications
    results = sim.run(scenario, replications=reps, jobs=jobs)
    summary = results.summary
    row = summary[(summary["flow"] == case["flow"]) & (summary["kind"] == case["kind"])
                  & (summary["household_group"] == "all")]
    if row.empty:
        raise ValueError(f"{case['name']}: no {case['flow']}/{case['kind']} rows in the summary")
    statistic = case["statistic"]
    return Outcome(case, float(row[statistic].iloc[0]), float(row[f"{statistic}_hw"].iloc[0]),
                   reps)


def parameters(path: Path) -> list[tuple[str, str, str, str]]:
    """(key, value, tag, comment) for every commented line of a scenario file.

    Comment-only lines right after a commented entry continue its comment; comments
    before the first key (the file's header) are left out.
    """
    rows: list[list[str]] = []
    stack: list[tuple[int, str]] = []
    last: list[str] | None = None  # the latest key, listed once it has a comment
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped:
            last = None
            continue
        if stripped.startswith("#"):
            if last is not None and line.startswith(" "):
                text = stripped.lstrip("#").strip()
                if last[3]:
                    last[3] += " " + text
                else:
                    last[2:] = [_tag(text), text]
                    rows.append(last)
            continue
        code, _, comment = line.partition(" #")
        match = re.match(r"^(\s*)(- )?([A-Za-z_][\w]*):\s*(.*)$", code.rstrip())
        if not match:
            last = None
            continue
        indent = len(match.group(1)) + (2 if match.group(2) else 0)
        key = match.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path_key = ".".join([k for _, k in stack] + [key])
        stack.append((indent, key))
        text = comment.strip()
        last = [path_key, match.group(4).strip() or "(below)", _tag(text), text]
        if text:
            rows.append(last)
    return [tuple(row) for row in rows]


def _tag(text: str) -> str:
    return next((t for t in TAGS if text.lower().startswith(t)), "")


def _number(value: float, digits: int = 2) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


def sensitivity(case: dict, replications: int | None = None,
                jobs: int = 1) -> list[tuple[str, Outcome]]:
    """The case re-run with each of its ``sensitivity`` entries (assumptions moved)."""
    return [(entry["label"], run_case(case, replications, jobs, entry["set"]))
            for entry in case.get("sensitivity", [])]


def write_document(outcomes: list[Outcome], sources: list[dict], path: Path = OUT,
                   command: str = "python scripts/calibrate.py",
                   moved: dict[str, list[tuple[str, Outcome]]] | None = None) -> Path:
    """Write the calibration document (``moved``: sensitivity runs per case name)."""
    lines = [
        "# Calibration against published real cases",
        "",
        "Each case is a published outcome and an ordinary scenario file rebuilt from generic",
        "published parameters (every number in the file says whether it is sourced, derived or",
        "an assumption). The model is run as it is and compared with the reported value; no",
        "parameter is tuned to the answer. Where a case misses its band, the text says which",
        "missing mechanism or input explains it. Generated by `scripts/calibrate.py` from",
        "`scenarios/calibration/cases.yaml`.",
        "",
        "## Results",
        "",
        "| case | statistic | reported | model (95% CI) | relative error | band | within |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        c = o.case
        lines.append(
            f"| {c['name']} | {c['flow']}/{c['kind']} {c['statistic']} | {c['reported']} "
            f"| {_number(o.model)} ± {_number(o.half_width)} ({o.replications} replications) "
            f"| {o.error:+.1%} | ±{c['band']:.0%} | {'yes' if o.within else 'NO'} |")
    lines.append("")
    for o in outcomes:
        c = o.case
        lines += [f"## {c['name']}", "", f"Scenario: `{c['scenario']}`; reported value from "
                  f"source `{c['source']}` (below).", "", c["note"].strip(), ""]
        if c.get("discussion"):
            lines += [c["discussion"].strip(), ""]
        runs = (moved or {}).get(c["name"], [])
        if runs:
            lines += ["Sensitivity: the same case with one assumption moved within its range "
                      "(not used for the verdict).", "",
                      "| assumption moved | model (95% CI) | relative error |", "|---|---|---|",
                      f"| none (as built) | {_number(o.model)} ± {_number(o.half_width)} "
                      f"| {o.error:+.1%} |"]
            for label, run in runs:
                lines.append(f"| {label} | {_number(run.model)} ± {_number(run.half_width)} "
                             f"| {run.error:+.1%} |")
            lines.append("")
        lines += ["Where each parameter comes from (the scenario file's comments):", "",
                  "| key | value | tag | note |", "|---|---|---|---|"]
        for key, value, tag, text in parameters(ROOT / c["scenario"]):
            cell = text.replace("|", "/")
            lines.append(f"| `{key}` | `{value.replace('|', '/')}` | {tag or '-'} | {cell} |")
        lines.append("")
    lines += ["## Sources", "",
              "Figures as read in each publication, in our own words.", ""]
    for s in sources:
        where = f" <{s['url']}>" if s.get("url") else ""
        lines.append(f"- **{s['id']}**: {s['publication']}, {s['date']}.{where} "
                     f"{' '.join(str(s['figures']).split())}")
    lines += ["", "## Reproduce", "", "```bash", command,
              "python -m pytest tests/test_calibration.py   # each case within its band", "```",
              ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: run every case, write the document, report on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-sensitivity", action="store_true",
                        help="skip the runs with assumptions moved")
    args = parser.parse_args(argv)
    data = load_cases(args.cases)
    outcomes = [run_case(case, args.replications, args.jobs) for case in data["cases"]]
    for o in outcomes:
        print(f"{o.case['name']}: reported {o.case['reported']}, model {o.model:.2f} "
              f"± {o.half_width:.2f}, error {o.error:+.1%}, within band: {o.within}")
    moved = {} if args.no_sensitivity else {
        case["name"]: sensitivity(case, args.replications, args.jobs) for case in data["cases"]}
    write_document(outcomes, data.get("sources", []), args.out, moved=moved)
    return 0 if all(o.within for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
