"""A latency regression check for CI: ``python -m sim check SCENARIO --baseline FILE``.

The baseline keeps, per variant × flow × kind (all households), the value of each
checked metric in every replication, with the seed and the number of replications.
The check runs the scenario again on those seeds and compares replication with
replication: common random numbers give both runs the same demand, so the paired
differences are far sharper than two independent confidence intervals (which can
overlap around a real regression). A metric *regresses* when the whole 95% interval
of its mean paired difference lies beyond its tolerance in the worse direction
(longer times, a smaller share within target), and *improves* when it lies beyond in
the better direction; anything else is ``ok``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import ScenarioError, one_line

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment import Results
    from sim.scenario import Scenario

FORMAT = 1
"""Version of the baseline file format; a baseline of another version is refused."""
METRICS = ("mean", "p50", "p95", "within_target")
"""Checked metrics: response times in minutes, and the share within target (0-1)."""
HIGHER_IS_WORSE = {"mean": True, "p50": True, "p95": True, "within_target": False}
DEFAULT_TOLERANCES = {"mean": 2.0, "p50": 2.0, "p95": 2.0, "within_target": 0.02}
"""Differences smaller than these do not count: 2 minutes, or 2 points of share."""
BASELINE_DIR = Path("results") / "baselines"
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Verdict:
    """One metric of one variant × flow × kind, baseline against now."""

    variant: str
    flow: str
    kind: str
    metric: str
    baseline: float
    now: float
    difference: float
    half_width: float
    pairs: int
    tolerance: float
    verdict: str  # ok, regressed, improved, missing (in the baseline, not produced now)


def default_path(scenario_name: str) -> Path:
    """Where the baseline of a scenario lives: ``results/baselines/<name>.json``."""
    return BASELINE_DIR / f"{scenario_name}.json"


def baseline_document(results: Results,
                      tolerances: Mapping[str, float] | None = None) -> dict:
    """The baseline of ``results``: per-replication values of every checked metric."""
    scenario = results.scenario
    rows = _all_households(results.per_replication)
    entries = []
    for (variant, flow, kind), part in rows.groupby(["variant", "flow", "kind"], sort=False):
        values = part.set_index("replication")
        for metric in METRICS:
            series = [_number(values[metric].get(rep, math.nan))
                      for rep in range(scenario.replications)]
            entries.append({"variant": variant, "flow": flow, "kind": kind,
                            "metric": metric, "values": series})
    return {
        "format": FORMAT,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "tolerances": {**DEFAULT_TOLERANCES, **dict(tolerances or {})},
        "metrics": entries,
    }


def read_baseline(path: Path, scenario_name: str | None = None) -> dict:
    """The baseline at ``path``, or ``ScenarioError`` (one line) if it cannot be used."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such baseline (write one with --update)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(one_line(f"{path}: cannot read the baseline: {exc}")) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise ScenarioError(f"{path}: baseline format {found!r}, this version reads format "
                            f"{FORMAT}; write it again with --update")
    if scenario_name is not None and document.get("scenario") != scenario_name:
        raise ScenarioError(one_line(
            f"{path}: baseline of scenario {document.get('scenario')!r}, not "
            f"{scenario_name!r}"))
    try:
        int(document["seed"]), int(document["replications"])
        for entry in document["metrics"]:
            if not all(isinstance(entry[k], str) for k in ("variant", "flow", "kind", "metric")):
                raise TypeError("variant, flow, kind and metric must be text")
            [math.nan if v is None else float(v) for v in entry["values"]]
        for metric, tolerance in document.get("tolerances", {}).items():
            if not float(tolerance) >= 0:
                raise ValueError(f"tolerance of {metric} must be a number >= 0")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ScenarioError(one_line(f"{path}: malformed baseline ({type(exc).__name__}: "
                                     f"{exc})")) from None
    return document


def compare(document: Mapping, results: Results) -> list[Verdict]:
    """A verdict per metric of the baseline, paired replication by replication."""
    from sim.metrics import mean_ci

    tolerances = {**DEFAULT_TOLERANCES, **document.get("tolerances", {})}
    rows = _all_households(results.per_replication)
    now = {key: part.set_index("replication")
           for key, part in rows.groupby(["variant", "flow", "kind"], sort=False)}
    verdicts = []
    for entry in document["metrics"]:
        key = (entry["variant"], entry["flow"], entry["kind"])
        metric = entry["metric"]
        before = np.array([math.nan if v is None else float(v) for v in entry["values"]])
        tolerance = float(tolerances.get(metric, 0.0))
        part = now.get(key)
        if part is None or metric not in part:
            verdicts.append(Verdict(*key, metric, _mean(before), math.nan, math.nan, math.nan,
                                    0, tolerance, "missing"))
            continue
        after = np.array([float(part[metric].get(rep, math.nan))
                          for rep in range(len(before))])
        both = np.isfinite(before) & np.isfinite(after)
        difference, half_width = mean_ci(after[both] - before[both])
        if int(both.sum()) == 1:
            half_width = math.inf  # one pair: no interval, so no verdict either way
        verdicts.append(Verdict(*key, metric, _mean(before), _mean(after), difference,
                                half_width, int(both.sum()), tolerance,
                                judge(difference, half_width, tolerance,
                                      HIGHER_IS_WORSE.get(metric, True))))
    return verdicts


def judge(difference: float, half_width: float, tolerance: float,
          higher_is_worse: bool = True) -> str:
    """``regressed`` when the interval lies wholly beyond ``tolerance`` on the worse side."""
    if not math.isfinite(difference):
        return "ok"  # no pair with data on both sides: nothing to compare
    worse = difference if higher_is_worse else -difference
    half_width = 0.0 if math.isnan(half_width) else half_width
    if worse - half_width > tolerance:
        return "regressed"
    if worse + half_width < -tolerance:
        return "improved"
    return "ok"


def table(verdicts: Sequence[Verdict]) -> str:
    """The verdicts as a fixed-width table, one line per metric."""
    header = (f"{'variant':<22}{'flow':<10}{'kind':<10}{'metric':<14}{'baseline':>10}"
              f"{'now':>10}{'difference ± CI':>22}{'tolerance':>11}  verdict")
    lines = [header]
    for v in verdicts:
        lines.append(f"{v.variant:<22}{v.flow:<10}{v.kind:<10}{v.metric:<14}"
                     f"{_fmt(v.baseline, v.metric):>10}{_fmt(v.now, v.metric):>10}"
                     f"{_pm(v.difference, v.half_width, v.metric):>22}"
                     f"{_fmt(v.tolerance, v.metric):>11}  "
                     f"{v.verdict.upper() if v.verdict != 'ok' else 'ok'}")
    return "\n".join(lines)


def failed(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """The verdicts that fail the check: regressions and metrics no longer produced."""
    return [v for v in verdicts if v.verdict in ("regressed", "missing")]


# ---- the command ---------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m sim check``."""
    from sim.cli import _Parser, _positive

    p = _Parser(prog="python -m sim check",
                description="Run a scenario on its baseline's seeds and compare latency "
                            "metrics replication by replication; exit 1 on a regression.")
    p.add_argument("scenario", type=Path, help="scenario file (YAML)")
    p.add_argument("--baseline", type=Path, default=None,
                   help="baseline file (default: results/baselines/<scenario name>.json)")
    p.add_argument("--update", action="store_true",
                   help="run and write the baseline instead of checking against it")
    p.add_argument("--replications", type=_positive, default=None,
                   help="with --update: replications to store (default: the scenario's)")
    p.add_argument("--jobs", type=_positive, default=None,
                   help="local worker processes (default and most: the available cores)")
    p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                   help="set a scenario key by dotted path for this run (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str]) -> int:
    """``python -m sim check``: the exit status (0 pass, 1 regression, 2 bad input)."""
    args = parser().parse_args(argv)
    if args.replications is not None and not args.update:
        return _fail("--replications goes with --update: the check uses the baseline's")
    try:
        scenario = _load(args.scenario, None, args.replications, args.set)
        path = args.baseline or default_path(scenario.name)
        document = None
        if not args.update:
            document = read_baseline(path, scenario.name)
            scenario = _load(args.scenario, int(document["seed"]),
                             int(document["replications"]), args.set)
        from sim.estimate import check_size

        check_size(scenario, str(args.scenario))
    except ScenarioError as exc:
        return _fail(str(exc))
    from sim.errors import NoRequestsError
    from sim.experiment import run_experiment

    try:
        results = run_experiment(scenario, jobs=args.jobs, progress=not args.quiet,
                                 stages="none", keep_requests=False)
    except (NoRequestsError, RuntimeError) as exc:
        return _fail(f"{args.scenario}: {exc}")
    if args.update:
        kept = None
        if path.exists():
            try:
                kept = read_baseline(path, scenario.name).get("tolerances")
            except ScenarioError:
                kept = None  # an unreadable or foreign baseline is replaced whole
        try:
            write_baseline(baseline_document(results, kept), path)
        except OSError as exc:
            return _fail(f"{path}: cannot write the baseline: {exc.strerror or exc}")
        print(f"baseline written: {path} ({scenario.name}, seed {scenario.seed}, "
              f"{scenario.replications} replications)")
        return 0
    verdicts = compare(document, results)
    print(f"{scenario.name}: {scenario.replications} replications paired with {path} "
          f"(seed {scenario.seed}); difference = now - baseline, mean ± 95% CI")
    print(table(verdicts))
    bad = failed(verdicts)
    if bad:
        print(f"check FAILED: {len(bad)} metric(s) regressed or missing")
        return EXIT_REGRESSION
    print("check passed: no regression beyond tolerance")
    return 0


def write_baseline(document: Mapping, path: Path) -> None:
    """Write a baseline: JSON, one metric per line (readable diffs), floats exact."""
    head = {k: v for k, v in document.items() if k != "metrics"}
    text = json.dumps(head, indent=1)[:-2]
    entries = ",\n  ".join(json.dumps(entry) for entry in document["metrics"])
    text += f',\n "metrics": [\n  {entries}\n ]\n}}\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _load(path: Path, seed: int | None, replications: int | None,
          sets: Sequence[str] | None) -> Scenario:
    """The scenario without its sensitivity block, ``--set`` applied."""
    from sim.overrides import override, parse_assignment
    from sim.scenario import load_scenario

    scenario = load_scenario(path, seed=seed, replications=replications)
    try:
        assignments = dict(parse_assignment(text) for text in sets or [])
    except ValueError as exc:
        raise ScenarioError(one_line(f"{path}: {exc}")) from None
    return override(scenario, {**assignments, "sensitivity": None}, source=str(path),
                    label="--set")


def _all_households(per_replication: pd.DataFrame) -> pd.DataFrame:
    from sim.metrics import ALL

    return per_replication[per_replication["household_group"] == ALL]


def _number(value: object) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


def _fmt(value: float, metric: str) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.3f}" if metric == "within_target" else f"{value:.2f}"


def _pm(value: float, half_width: float, metric: str) -> str:
    if not math.isfinite(value):
        return "-"
    if not math.isfinite(half_width):
        return f"{_fmt(value, metric)} ± ?"
    return f"{_fmt(value, metric)} ± {_fmt(half_width, metric)}"


def _fail(message: str) -> int:
    import sys

    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
