"""The paired regression check: verdicts, the baseline file, and the command on small.yaml.

``test_committed_baseline_passes`` is the project's CI check: the model as it stands
against ``results/baselines/small.json``.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim import check
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small.yaml"
BASELINE = ROOT / "results" / "baselines" / "small.json"
SLOWER_AMBULANCES = "emergency.ambulances.to_gate={dist: lognormal, mean: 16min, sd: 4min}"


def test_judge_needs_the_whole_interval_beyond_tolerance() -> None:
    assert check.judge(5.0, 1.0, 2.0) == "regressed"
    assert check.judge(2.5, 1.0, 2.0) == "ok"  # interval reaches into the tolerance
    assert check.judge(-5.0, 1.0, 2.0) == "improved"
    assert check.judge(-0.05, 0.01, 0.02, higher_is_worse=False) == "regressed"  # fewer in target
    assert check.judge(5.0, math.inf, 2.0) == "ok"  # one pair: no interval, no verdict
    assert check.judge(math.nan, math.nan, 2.0) == "ok"


def test_committed_baseline_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """CI: the model as it stands, against the committed baseline of small.yaml."""
    status = main(["check", str(SMALL), "--baseline", str(BASELINE), "--jobs", "1", "--quiet"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "check passed" in out


def test_slower_ambulances_fail_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", str(SMALL), "--baseline", str(BASELINE), "--jobs", "1", "--quiet",
                   "--set", SLOWER_AMBULANCES])
    out = capsys.readouterr().out
    assert status == check.EXIT_REGRESSION
    regressed = [line for line in out.splitlines() if line.endswith("REGRESSED")]
    assert regressed and all(" emergency " in line for line in regressed)
    assert any(" critical " in line and " p95 " in line for line in regressed)


def test_update_writes_what_the_check_then_passes(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    args = ["check", str(SMALL), "--baseline", str(path), "--jobs", "1", "--quiet"]
    assert main([*args, "--update", "--replications", "2"]) == 0
    document = json.loads(path.read_text())
    assert (document["format"], document["scenario"], document["replications"]) == (1, "small", 2)
    assert {e["metric"] for e in document["metrics"]} == set(check.METRICS)
    assert all(len(e["values"]) == 2 for e in document["metrics"])
    document["tolerances"]["p95"] = 7.5
    path.write_text(json.dumps(document))
    assert main([*args, "--update", "--replications", "2"]) == 0  # tolerances are kept
    assert json.loads(path.read_text())["tolerances"]["p95"] == 7.5
    assert main(args) == 0
    assert "7.50" in capsys.readouterr().out


def test_paired_difference_is_per_replication(tmp_path: Path) -> None:
    """Shifting every stored value by 3 minutes is a difference of exactly -3 ± 0."""
    document = json.loads(BASELINE.read_text())
    entry = next(e for e in document["metrics"]
                 if e["metric"] == "mean" and e["kind"] == "order")
    before = np.array(entry["values"], dtype=float)
    entry["values"] = list(before + 3.0)
    from sim import run

    results = run(SMALL, replications=document["replications"], jobs=1,
                  set={"sensitivity": None}, stages="none", keep_requests=False)
    verdict = next(v for v in check.compare(document, results)
                   if (v.variant, v.kind, v.metric) == (entry["variant"], "order", "mean"))
    assert verdict.difference == pytest.approx(-3.0)
    assert verdict.half_width == pytest.approx(0.0, abs=1e-9)
    assert verdict.verdict == "improved"


@pytest.mark.parametrize("change, message", [
    ({"scenario": "drill"}, "baseline of scenario 'drill'"),
    ({"format": 99}, "baseline format 99"),
    ({"metrics": [{"variant": "x"}]}, "malformed baseline"),
    ({"tolerances": {"p95": -1}}, "tolerance of p95 must be a number >= 0"),
])
def test_bad_baselines_are_refused_in_one_line(tmp_path: Path, change: dict, message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({**json.loads(BASELINE.read_text()), **change}))
    assert main(["check", str(SMALL), "--baseline", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_replications_only_with_update(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SMALL), "--baseline", str(BASELINE), "--replications", "2"]) == 2
    assert "--replications goes with --update" in capsys.readouterr().err


def test_missing_baseline_is_bad_input(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SMALL), "--baseline", str(tmp_path / "none.json")]) == 2
    assert "--update" in capsys.readouterr().err


def test_a_metric_no_longer_produced_fails(tmp_path: Path) -> None:
    document = json.loads(BASELINE.read_text())
    document["metrics"].append({"variant": "five_levels", "flow": "emergency", "kind": "gone",
                                "metric": "p95", "values": [1.0] * document["replications"]})
    path = tmp_path / "b.json"
    path.write_text(json.dumps(document))
    assert main(["check", str(SMALL), "--baseline", str(path), "--jobs", "1", "--quiet"]) == 1
