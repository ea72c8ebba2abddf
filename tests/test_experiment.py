"""Determinism (same seed, same bytes, whatever the workers), common random numbers, Dask."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.output import write_results
from sim.scenario import Scenario, load_scenario

from .conftest import SMALL, background_cli, make_scenario, small_dict

TABLES = ("requests.csv", "stages.csv", "heads.csv", "summary.csv")


RUNS = {"a": ["--jobs", "1"], "b": ["--jobs", "1"], "jobs2": ["--jobs", "2"]}


def cli_jobs(base: Path) -> dict[str, list]:
    """small.yaml with seed 11 through the CLI: twice on one worker, once on two
    (started in the background after collection, see conftest)."""
    return {name: [SMALL, "--out", base / name, "--quiet", "--no-figures", "--seed", "11", *args]
            for name, args in RUNS.items()}


@pytest.fixture(scope="module")
def cli_runs(request: pytest.FixtureRequest) -> dict[str, Path]:
    folders = {}
    for name in RUNS:
        proc, base = background_cli(request, name)
        assert proc.returncode == 0, (name, proc.stderr)
        folders[name] = base / name
    return folders


def _bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def test_same_seed_same_bytes(cli_runs: dict[str, Path]) -> None:
    a, b = _bytes(cli_runs["a"]), _bytes(cli_runs["b"])
    for name in TABLES:
        assert len(a[name]) > 100, name
        assert a[name] == b[name], name


def test_workers_do_not_change_bytes(cli_runs: dict[str, Path]) -> None:
    a, jobs2 = _bytes(cli_runs["a"]), _bytes(cli_runs["jobs2"])
    for name in TABLES:
        assert a[name] == jobs2[name], name


def test_api_matches_cli_and_seed_changes_bytes(cli_runs: dict[str, Path],
                                                 tmp_path: Path) -> None:
    """The library run with the same seed writes the CLI's bytes; another seed does not."""
    written = {}
    for seed in (11, 12):
        results = run_experiment(load_scenario(SMALL, seed=seed), jobs=1, progress=False)
        written[seed] = _bytes(write_results(results, tmp_path / str(seed), figures=False))
    cli = _bytes(cli_runs["a"])
    for name in TABLES:
        assert written[11][name] == cli[name], name
    for name in ("requests.csv", "stages.csv", "summary.csv"):
        assert written[12][name] != cli[name], name
    assert "seed: 11" in (cli_runs["a"] / "scenario.resolved.yaml").read_text()
    assert "seed: 12" in (tmp_path / "12" / "scenario.resolved.yaml").read_text()


def _crn_scenario() -> Scenario:
    data = small_dict()
    data["replications"] = 2
    data["variants"].append({"name": "wide_grids", "households_per_head": {"grid": 40}})
    data["variants"].append({"name": "no_floors", "drop_levels": ["floor"],
                             "households_per_head": {"building": 5}})
    return make_scenario(data)


def test_common_random_numbers_across_variants() -> None:
    scenario = _crn_scenario()
    results = run_experiment(scenario, jobs=1, progress=False)
    requests = results.requests
    assert set(requests["variant"]) == {"five_levels", "three_levels", "wide_grids", "no_floors"}
    columns = ["created_min", "household", "kind"]
    for replication in range(scenario.replications):
        for flow, kinds in (("supply", ["order"]), ("emergency", None)):
            sequences = {}
            for variant in results.variants:
                part = requests[(requests["replication"] == replication)
                                & (requests["variant"] == variant)
                                & (requests["flow"] == flow)]
                if kinds:
                    part = part[part["kind"].isin(kinds)]
                sequences[variant] = list(part.sort_values(["created_min", "household"])[columns]
                                          .itertuples(index=False, name=None))
            first = sequences["five_levels"]
            assert len(first) > 0, (replication, flow)
            for variant, sequence in sequences.items():
                assert sequence == first, (replication, flow, variant)
    # replications differ from each other
    orders = requests[(requests["variant"] == "five_levels") & (requests["kind"] == "order")]
    by_rep = [list(orders[orders["replication"] == r]["created_min"]) for r in (0, 1)]
    assert by_rep[0] != by_rep[1]


def test_dask_cluster_matches_local_run() -> None:
    """The plain small scenario, the same with every volunteer-work mechanism on, and with
    notices, testing rounds, lost heads, skip-level escalation and sealed gates."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from .test_escalation_gates import GATE
    from .test_losses import loss_dict
    from .test_work import every_mechanism

    flows = loss_dict({"level": "building", "share": 0.5, "from": "3h", "backup": "sibling"},
                      {"level": "floor", "rate_per_day": 0.2, "duration": "12h",
                       "backup": "parent"})
    flows["emergency"]["gate"] = GATE
    for severity in flows["emergency"]["severities"].values():
        severity["report"] = "skip_level"
    flows["variants"].append({"name": "plain"})
    scenarios = [make_scenario(small_dict(), replications=2),
                 make_scenario(every_mechanism(), replications=2),
                 make_scenario(flows, replications=2)]
    local = [run_experiment(scenario, jobs=1, progress=False) for scenario in scenarios]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                          dashboard_address=None) as cluster:
            remote = [run_experiment(scenario, dask_address=cluster.scheduler_address,
                                     progress=False) for scenario in scenarios]
    for here, there in zip(local, remote, strict=True):
        assert len(here.requests) > 0
        pd.testing.assert_frame_equal(there.requests, here.requests, check_exact=True)
        pd.testing.assert_frame_equal(there.summary, here.summary, check_exact=True)
        pd.testing.assert_frame_equal(there.heads, here.heads, check_exact=True)
        pd.testing.assert_frame_equal(there.resources, here.resources, check_exact=True)
        assert there.flow_tables.keys() == here.flow_tables.keys()
        for name, table in here.flow_tables.items():
            pd.testing.assert_frame_equal(there.flow_tables[name], table, check_exact=True)
    assert {"coverage", "testing"} <= local[2].flow_tables.keys()


def test_without_request_rows_the_summary_is_unchanged(tmp_path: Path) -> None:
    scenario = load_scenario(SMALL, replications=2)
    full = run_experiment(scenario, jobs=1, progress=False)
    lean = run_experiment(scenario, jobs=1, progress=False, keep_requests=False)
    assert len(full.requests) > 0 and lean.requests.empty
    pd.testing.assert_frame_equal(full.summary, lean.summary)
    pd.testing.assert_frame_equal(full.conservation, lean.conservation)
    write_results(lean, tmp_path / "lean", figures=False)
    assert not (tmp_path / "lean" / "requests.csv").exists()
    assert (tmp_path / "lean" / "summary.csv").exists()


def test_results_chains_are_copies_that_later_runs_do_not_see() -> None:
    scenario = make_scenario(small_dict(), replications=1)
    first = run_experiment(scenario, jobs=1, progress=False)
    name = first.variants[0]
    graph = first.chains[name]
    graph.remove_nodes_from([n for n in list(graph) if graph.nodes[n]["kind"] == "household"])
    second = run_experiment(scenario, jobs=1, progress=False)
    assert second.requests.equals(first.requests)
    assert len(second.chains[name]) > len(graph)
