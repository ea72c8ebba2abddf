"""The kept stage log waits in files: the same rows, written, selected and read whole."""

import gc
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim import metrics
from sim.experiment import run_experiment, run_one
from sim.results_io import write_table
from sim.stage_store import PREFIX, Spool, StageStore

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small.yaml"


@pytest.fixture(scope="module")
def scenario() -> sim.Scenario:
    return sim.load(SMALL, replications=2, set={"sensitivity": None})


@pytest.fixture(scope="module")
def spooled(scenario: sim.Scenario) -> sim.Results:
    return run_experiment(scenario, jobs=1, progress=False, stages="all")


@pytest.fixture(scope="module")
def in_memory(scenario: sim.Scenario) -> pd.DataFrame:
    """The same runs' stage rows, returned with the records (as runs on Dask do)."""
    runs = [run_one(scenario, v.name, rep) for v in scenario.variants
            for rep in range(scenario.replications)]
    return metrics.stages_frame(runs)


def test_the_rows_wait_in_files_and_read_back_the_same(spooled: sim.Results,
                                                       in_memory: pd.DataFrame) -> None:
    store = spooled.stage_log
    assert store._parts and all(isinstance(p.source, str) for p in store._parts)
    assert all(Path(p.source).exists() for p in store._parts)
    assert len(store) == len(in_memory) > 1000
    pd.testing.assert_frame_equal(spooled.stages, in_memory)
    pd.testing.assert_frame_equal(pd.concat(list(store.slices(97)), ignore_index=True)
                                  .astype({"variant": str, "stage": str, "node": str}),
                                  in_memory.astype({"variant": str, "stage": str, "node": str}))


def test_select_reads_one_variant_and_stage(spooled: sim.Results,
                                            in_memory: pd.DataFrame) -> None:
    fresh = StageStore.from_parts(spooled.stage_log._parts, spooled.stage_log._spool)
    picked = fresh.select("three_levels", "relay")
    expected = in_memory[(in_memory["variant"] == "three_levels")
                         & (in_memory["stage"] == "relay")]
    assert fresh._frame is None  # nothing was read whole
    assert len(picked) == len(expected) > 0
    assert (picked["request_id"].to_numpy() == expected["request_id"].to_numpy()).all()
    assert (picked["end_min"].to_numpy() == expected["end_min"].to_numpy()).all()
    assert fresh.select("three_levels", "no such stage").empty


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_from_the_files_as_from_the_frame(spooled: sim.Results, in_memory: pd.DataFrame,
                                                  tmp_path: Path, fmt: str) -> None:
    from sim.results_io import _plain_table

    streamed = write_table(spooled.stage_log.map(_plain_table), tmp_path, "stages", fmt)
    streamed = streamed.rename(tmp_path / f"streamed.{fmt}")
    whole = write_table(_plain_table(in_memory), tmp_path, "stages", fmt)
    if fmt == "csv":
        assert streamed.read_bytes() == whole.read_bytes()
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(streamed), pd.read_parquet(whole))


def test_pickled_store_carries_its_rows(spooled: sim.Results, in_memory: pd.DataFrame) -> None:
    again = pickle.loads(pickle.dumps(spooled.stage_log))
    assert again._whole is not None and not again._parts
    pd.testing.assert_frame_equal(again.frame(), in_memory)


def test_spool_goes_with_the_results(scenario: sim.Scenario) -> None:
    results = run_experiment(scenario, jobs=1, progress=False)
    folder = results.stage_log._spool.path
    assert any(folder.iterdir())
    del results
    gc.collect()
    assert not folder.exists()


def test_rows_kept_in_memory_move_into_the_frame(in_memory: pd.DataFrame) -> None:
    from sim.stage_store import Part

    parts = []
    for (variant, rep), rows in in_memory.groupby(["variant", "replication"], sort=False,
                                                  observed=True):
        own = rows.drop(columns=["variant", "replication"]).reset_index(drop=True)
        parts.append(Part(str(variant), int(rep), len(own), own))
    store = StageStore.from_parts(parts)
    frame = store.frame()
    assert not store._parts and all(len(p.source.columns) == 0 for p in parts)
    pd.testing.assert_frame_equal(frame.astype({"stage": str, "node": str}),
                                  in_memory.astype({"stage": str, "node": str}))


def test_a_killed_process_spool_is_removed_by_the_next() -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    orphan = Path(tempfile.gettempdir()) / f"{PREFIX}{gone.stdout.strip()}-test"
    orphan.mkdir()
    (orphan / "x.arrow").write_bytes(b"rows")
    mine = Spool()
    try:
        assert not orphan.exists()
        assert mine.path.name.startswith(f"{PREFIX}{os.getpid()}-")
    finally:
        mine.remove()
    assert not mine.path.exists()


def test_the_command_leaves_no_spool(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run([sys.executable, "-m", "sim", str(SMALL), "--replications", "1",
                           "--jobs", "1", "--silent", "--no-figures", "--no-sensitivity",
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "stages.csv").stat().st_size > 1000
    assert not list(scratch.iterdir())


def test_a_run_gives_the_same_totals_from_its_file_as_from_memory(
        scenario: sim.Scenario, tmp_path: Path) -> None:
    from sim import stage_store

    monkey = pytest.MonkeyPatch()
    monkey.setattr("sim.log.CHUNK", 100)  # many chunks, of uneven sizes
    try:
        spooled = run_one(scenario, "five_levels", 1, spool=str(tmp_path))
        kept = run_one(scenario, "five_levels", 1)
    finally:
        monkey.undo()
    path, rows = spooled.extra["stage_file"]
    batches = list(stage_store._batches(path))
    assert len(batches) > 3 and len({len(b) for b in batches}) > 1
    assert spooled.stages.empty and rows == len(kept.stages) > 500
    pd.testing.assert_frame_equal(spooled.extra["stage_totals"], kept.extra["stage_totals"],
                                  check_exact=True)  # the same sums to the bit
    part = stage_store.Part("five_levels", 1, rows, path)
    pd.testing.assert_frame_equal(part.frame(), kept.stages)
