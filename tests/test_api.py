"""The Python API: sim.load, sim.run, tidy tables, save / load round trip, reprs, figures,
Parquet."""

import inspect
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.results_io import clock_columns, read_table, write_table

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small.yaml"
TABLES = ["requests", "stages", "heads", "resources", "summary", "costs", "conservation",
          "per_replication", "stage_totals"]


@pytest.fixture(scope="module")
def results() -> sim.Results:
    return sim.run(SMALL, replications=2, jobs=1, progress=False)


def test_version_and_names() -> None:
    assert sim.__version__ and sim.__version__[0].isdigit()
    assert sim.load_scenario("scenarios/small.yaml" if Path("scenarios").exists() else SMALL)
    assert {"load", "run", "Results", "__version__"} <= set(sim.__all__)


def test_run_has_the_command_line_defaults() -> None:
    parameters = inspect.signature(sim.run).parameters
    assert parameters["jobs"].default is None  # every available core, like the command line
    assert parameters["progress"].default is True
    assert parameters["stages"].default == "first"
    assert all(p.kind is p.KEYWORD_ONLY for name, p in parameters.items() if name != "scenario")


def test_load_sets_keys() -> None:
    scenario = sim.load(SMALL, set={"emergency.ambulances.count": 3}, replications=5)
    assert scenario.emergency.ambulances.count == 3 and scenario.replications == 5
    with pytest.raises(sim.ScenarioError, match="did you mean 'emergency.ambulances.count'"):
        sim.load(SMALL, set={"emergency.ambulance.count": 3})


def test_misspelt_variant_lists_the_variants() -> None:
    with pytest.raises(sim.ScenarioError, match=r"no variant 'five_level' \(variants: "
                                                r"five_levels, three_levels\)"):
        sim.run(SMALL, variants="five_level", jobs=1, progress=False)


def test_tables_keep_variant_order_and_carry_clock_and_day(results: sim.Results) -> None:
    for name in ("requests", "summary", "heads", "costs", "per_replication"):
        dtype = getattr(results, name)["variant"].dtype
        assert isinstance(dtype, pd.CategoricalDtype) and dtype.ordered, name
        assert list(dtype.categories) == ["five_levels", "three_levels"], name
    requests = results.requests
    first = requests.iloc[0]
    minutes = results.scenario.start_minutes + first["created_min"]
    assert first["created_day"] == minutes // 1440 + 1
    assert first["created_clock"] == f"{int(minutes % 1440) // 60:02d}:{int(minutes) % 60:02d}"
    assert {"start_day", "start_clock"} <= set(results.stages.columns)


def test_clock_columns_cross_midnight() -> None:
    day, clock = clock_columns(pd.Series([0.0, 17 * 60 + 59.9, 18 * 60, 42 * 60 + 1]), 6 * 60)
    assert list(day) == [1, 1, 2, 3]
    assert list(clock) == ["06:00", "23:59", "00:00", "00:01"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_save_and_load_round_trip(results: sim.Results, tmp_path: Path, fmt: str) -> None:
    folder = results.save(tmp_path / fmt, format=fmt, figures=False)
    assert sorted(p.suffix for p in folder.glob("requests.*")) == [f".{fmt}"]
    back = sim.Results.load(folder)
    assert back.scenario == results.scenario and back.variants == results.variants
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(results, name).reset_index(drop=True),
                                      getattr(back, name), check_dtype=False,
                                      check_categorical=False,  # same labels, sorted categories
                                      atol=1e-4, obj=name)  # tables are written to 4 places
    assert all(nx.utils.graphs_equal(results.chains[v], back.chains[v]) for v in back.variants)
    assert repr(back) == repr(results)


def test_parquet_from_the_command_line_is_byte_identical_across_jobs(tmp_path: Path) -> None:
    folders = []
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        assert main([str(SMALL), "--replications", "2", "--jobs", jobs, "--quiet",
                     "--no-figures", "--format", "parquet", "--out", str(out)]) == 0
        folders.append(out)
    files = sorted(p.name for p in folders[0].glob("*.parquet"))
    assert "requests.parquet" in files and not list(folders[0].glob("*.csv"))
    assert all((folders[0] / f).read_bytes() == (folders[1] / f).read_bytes() for f in files)


def test_log_tables_are_written_by_arrow_and_fall_back_to_pandas_for_quoted_labels(
        tmp_path: Path) -> None:
    """The request and stage logs go through Arrow's CSV writer: no quotes, whole floats
    as ``420``; a label that needs quotes makes the table go through pandas instead."""
    plain = pd.DataFrame({"variant": pd.Categorical(["a", "a"]), "request_id": [0, 1],
                          "node": ["G1", "G2"], "start_min": [420.0, 1.25],
                          "end_min": [420.0, float("nan")]})
    write_table(plain, tmp_path, "stages", "csv")
    assert (tmp_path / "stages.csv").read_text().splitlines() == [
        "variant,request_id,node,start_min,end_min", "a,0,G1,420,420", "a,1,G2,1.25,"]
    back = read_table(tmp_path, "stages")
    assert back["start_min"].dtype == float and back["end_min"].isna().tolist() == [False, True]
    quoted = plain.assign(node=["G1", 'gate "north", G2'])
    write_table(quoted, tmp_path, "stages", "csv")
    assert (tmp_path / "stages.csv").read_text().splitlines()[2] == \
        'a,1,"gate ""north"", G2",1.25,'
    assert read_table(tmp_path, "stages")["node"].tolist() == quoted["node"].tolist()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_logs_written_in_slices_read_back_as_written_whole(
        results: sim.Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """A city's logs are rounded and converted a slice at a time; the file says the same."""
    import sim.results_io as results_io

    whole = write_table(results.stages, tmp_path, "stages", fmt).rename(
        tmp_path / f"whole.{fmt}")
    monkeypatch.setattr(results_io, "SLICE_ROWS", 97)
    assert len(results.stages) > 3 * 97
    sliced = write_table(results.stages, tmp_path, "stages", fmt)
    if fmt == "csv":
        assert sliced.read_bytes() == whole.read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(sliced) if fmt == "parquet"
                                  else read_table(tmp_path, "stages"),
                                  pd.read_parquet(whole) if fmt == "parquet"
                                  else pd.read_csv(whole, dtype={"node": str}))


def test_load_refuses_an_incomplete_folder(results: sim.Results, tmp_path: Path) -> None:
    folder = results.save(tmp_path / "r", figures=False)
    (folder / "per_replication.csv").unlink()
    with pytest.raises(sim.ScenarioError, match="no per_replication table"):
        sim.Results.load(folder)


def test_reprs(results: sim.Results) -> None:
    text = repr(results)
    assert "'small'" in text and "five_levels, three_levels" in text and "2 replication" in text
    page = results._repr_html_()
    assert page.count("<tr>") == 1 + len(results.summary.query("household_group == 'all'"))
    assert "five_levels" in page and "&lt;sim.Results" in page


def test_plot_accessor_returns_the_report_figures(results: sim.Results) -> None:
    import matplotlib.pyplot as plt

    for name in ("ecdf", "p95", "stages", "utilisation", "tradeoff", "chain"):
        figure = getattr(results.plot, name)()
        assert figure.axes, name
        plt.close(figure)
    with pytest.raises(ValueError, match=r"no variant 'nope' \(variants: five_levels, "
                                         r"three_levels\)"):
        results.plot.chain("nope")
    with pytest.raises(ValueError, match="no sensitivity"):
        results.plot.sensitivity()
