"""End to end through ``python -m sim``: the results folder, its tables, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim.cli
import sim.output
from sim.cli import main
from sim.destination import MANIFEST, DestinationError
from sim.experiment import run_experiment
from sim.output import write_results
from sim.scenario import Scenario, load_scenario

from .conftest import SMALL, background_cli, make_scenario, run_cli, small_dict

REQUEST_COLUMNS = ["replication", "variant", "request_id", "flow", "kind", "household",
                   "household_group", "area", "grid", "created_min", "completed_min",
                   "response_min", "status"]
STAGE_COLUMNS = ["request_id", "stage", "node", "level", "start_min", "end_min"]
HEAD_COLUMNS = ["node", "level", "role", "area", "households_served", "tasks", "busy_min",
                "utilisation", "max_queue"]
SUMMARY_COLUMNS = ["n", "mean", "p50", "p90", "p95", "p99", "max", "within_target", "created",
                   "completed", "in_flight", "abandoned"]
CSV_ROUNDING = 0.5e-4  # tables are written with four decimals


def cli_jobs(base: Path) -> dict[str, list]:
    """One plain run of small.yaml (tables, figures and report) into a folder that already
    holds stale content; started in the background after collection (see conftest)."""
    out = base / "parent" / "small_results"
    (out / "old_figures").mkdir(parents=True)
    (out / MANIFEST).write_text("{}")  # an earlier results folder: it may be replaced
    (out / "stale.txt").write_text("from an earlier run")
    (out / "old_figures" / "x.png").write_bytes(b"not a figure")
    return {"run": [SMALL, "--out", out, "--silent"]}


@pytest.fixture(scope="module")
def cli(request: pytest.FixtureRequest) -> dict:
    run, base = background_cli(request, "run")
    assert run.returncode == 0, run.stderr
    return {"out": base / "parent" / "small_results", "run": run}


def test_silent_run_succeeds_silently(cli: dict) -> None:
    run = cli["run"]
    assert run.returncode == 0
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert "%|" not in run.stderr, "no progress bar with --silent"


def test_quiet_silences_the_progress_bar_only(tmp_path: Path) -> None:
    proc = run_cli(SMALL, "--out", tmp_path / "out", "--quiet", "--no-figures",
                   "--replications", "1", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert "%|" not in proc.stderr
    assert "recommended:" in proc.stdout and "critical emergency response" in proc.stdout


def test_results_folder_contents(cli: dict) -> None:
    out: Path = cli["out"]
    for name in ("requests.csv", "stages.csv", "heads.csv", "summary.csv", "summary.json",
                 "scenario.resolved.yaml"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    pngs = sorted((out / "figures").glob("*.png"))
    assert pngs, "figures/ holds the figures"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.lstrip().lower().startswith("<!doctype html")
    assert "small" in report
    assert "<img" in report


def test_stale_content_replaced_and_no_temp_left(cli: dict) -> None:
    out: Path = cli["out"]
    assert not (out / "stale.txt").exists()
    assert not (out / "old_figures").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]


def test_requests_table(cli: dict) -> None:
    requests = pd.read_csv(cli["out"] / "requests.csv")
    assert set(REQUEST_COLUMNS) <= set(requests.columns)
    scenario = load_scenario(SMALL)
    assert set(requests["variant"]) == {"five_levels", "three_levels"}
    assert set(requests["replication"]) == set(range(scenario.replications))
    assert set(requests["flow"]) == {"supply", "emergency"}
    assert set(requests["kind"]) <= {"order", "package", *scenario.emergency.severities}
    assert set(requests["household_group"]) <= {"elderly", "offline", "general"}
    assert set(requests["area"]) == {"compound", "bungalow", "commercial"}
    done = requests[requests["status"] == "completed"]
    assert len(done) > 0
    assert ((done["response_min"] - (done["completed_min"] - done["created_min"])).abs()
            <= 3 * CSV_ROUNDING).all()
    assert requests.loc[requests["status"] != "completed", "response_min"].isna().all()
    assert (requests["created_min"] >= 0).all()
    assert (requests["created_min"] <= scenario.horizon).all()


def test_stages_and_heads_tables(cli: dict) -> None:
    stages = pd.read_csv(cli["out"] / "stages.csv")
    assert set(STAGE_COLUMNS) <= set(stages.columns)
    assert len(stages) > 0
    assert (stages["end_min"] >= stages["start_min"]).all()
    heads = pd.read_csv(cli["out"] / "heads.csv")
    assert set(HEAD_COLUMNS) <= set(heads.columns)
    assert set(heads["level"]) == {"zone", "community", "grid", "building", "floor"}
    assert heads["utilisation"].between(0, 1).all()
    assert (heads["busy_min"] >= 0).all() and (heads["max_queue"] >= 0).all()
    three = heads[heads["variant"] == "three_levels"]
    assert set(three["level"]) == {"zone", "community", "grid"}


def test_summary_tables(cli: dict) -> None:
    summary = pd.read_csv(cli["out"] / "summary.csv")
    assert set(SUMMARY_COLUMNS) <= set(summary.columns)
    assert {"variant", "flow", "kind", "household_group"} <= set(summary.columns)
    every = summary[summary["household_group"] == "all"]
    counts = every[["created", "completed", "in_flight", "abandoned"]]
    assert ((counts["created"] - counts[["completed", "in_flight", "abandoned"]].sum(axis=1))
            .abs() <= 4 * CSV_ROUNDING).all()
    with_data = every[every["n"] > 0]
    assert (with_data["p50"] <= with_data["p90"] + CSV_ROUNDING).all()
    assert (with_data["p90"] <= with_data["p95"] + CSV_ROUNDING).all()
    assert (with_data["p95"] <= with_data["p99"] + CSV_ROUNDING).all()
    document = json.loads((cli["out"] / "summary.json").read_text(encoding="utf-8"))
    assert document["scenario"] == "small"
    assert document["variants"] == ["five_levels", "three_levels"]
    assert document["conserved"] is True
    assert len(document["summary"]) == len(summary)
    assert set(SUMMARY_COLUMNS) <= set(document["summary"][0])


def test_help_lists_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    helped = capsys.readouterr().out
    for option in ("--out", "--seed", "--quiet", "--jobs", "--dask", "--replications"):
        assert option in helped, option


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"name", "horizon", "layout", "heads", "supply", "emergency", "variants"} <= set(
        document["properties"])
    assert document.get("additionalProperties") is False
    assert set(document["required"]) >= {"name", "horizon", "layout", "heads"}


def test_resolved_scenario_reruns_to_identical_bytes(cli: dict, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main([str(cli["out"] / "scenario.resolved.yaml"), "--out", str(again), "--quiet",
                 "--no-figures", "--jobs", "1"]) == 0
    for name in ("requests.csv", "stages.csv", "summary.csv", "scenario.resolved.yaml"):
        assert (again / name).read_bytes() == (cli["out"] / name).read_bytes(), name
    resolved = yaml.safe_load((cli["out"] / "scenario.resolved.yaml").read_text())
    assert resolved["horizon"] == 2880.0  # every duration written out in minutes


# ---- in-process: default folder, summary on stdout, interruption, atomic replacement ------


def _tiny() -> Scenario:
    data = small_dict()
    data["replications"] = 1
    data["horizon"] = "12h"
    return make_scenario(data)


def test_default_out_and_summary_on_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([str(SMALL), "--no-figures", "--replications", "1", "--jobs", "1",
                 "--variant", "three_levels"]) == 0
    captured = capsys.readouterr()
    out = tmp_path / "results" / "small"
    assert (out / "requests.csv").is_file()
    assert set(pd.read_csv(out / "requests.csv")["variant"]) == {"three_levels"}
    assert "three_levels" in captured.out
    assert "five_levels" not in captured.out
    assert "conservation: every request accounted for" in captured.out
    assert f"results: {Path('results') / 'small'}" in captured.out


def test_interrupted_run_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.experiment, "run_experiment", interrupted)
    out = tmp_path / "out"
    assert main([str(SMALL), "--out", str(out), "--quiet", "--no-figures"]) == 130
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    assert "interrupted" in capsys.readouterr().err


def test_failed_write_keeps_the_old_folder(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    results = run_experiment(_tiny(), jobs=1, progress=False)
    out = tmp_path / "res"
    write_results(results, out, figures=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(results: object, folder: Path, figures: bool, *options: object) -> None:
        (folder / "requests.csv").write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sim.output, "_write_all", broken)
    with pytest.raises(OSError):
        write_results(results, out, figures=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_write_replaces_whole_folder(tmp_path: Path) -> None:
    results = run_experiment(_tiny(), jobs=1, progress=False)
    out = tmp_path / "res"
    out.mkdir()
    (out / "stale.csv").write_text("old")
    with pytest.raises(DestinationError, match="not a results folder"):
        write_results(results, out, figures=False)
    assert [p.name for p in out.iterdir()] == ["stale.csv"]
    (out / MANIFEST).write_text("{}")
    write_results(results, out, figures=False)
    names = {p.name for p in out.iterdir()}
    assert "stale.csv" not in names
    assert {"requests.csv", "summary.csv", "summary.json", "scenario.resolved.yaml",
            MANIFEST} <= names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
