"""The results folder never destroys a user's files: what ``--out`` refuses, the lock, stale
staging folders, names that would escape the results folder, and the message after an
interrupted swap."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

import sim.destination
from sim.cli import main
from sim.destination import MANIFEST, claim

from .conftest import SMALL, run_cli, small_dict

FAST = ["--quiet", "--no-figures", "--replications", "1", "--jobs", "1",
        "--variant", "three_levels"]


def _one_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def _tree(folder: Path) -> dict[str, bytes | str]:
    return {str(p.relative_to(folder)): (os.readlink(p) if p.is_symlink() else
                                         p.read_bytes() if p.is_file() else "dir")
            for p in sorted(folder.rglob("*"))}


def test_folder_of_other_files_is_refused_then_forced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "plan.txt").write_text("my notes")
    before = _tree(tmp_path)
    code = main([str(SMALL), "--out", str(notes), *FAST])
    _one_error(code, capsys.readouterr().err, str(notes), "not a results folder", "--force")
    assert _tree(tmp_path) == before
    assert main([str(SMALL), "--out", str(notes), "--force", *FAST]) == 0
    assert (notes / MANIFEST).is_file() and not (notes / "plan.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


@pytest.mark.parametrize("kind", ["file", "symlink", "below_a_file"])
def test_file_and_link_are_refused(kind: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "keep"
    target.mkdir()
    (target / "a.txt").write_text("a")
    (tmp_path / "file.txt").write_text("precious")
    out = {"file": tmp_path / "file.txt", "symlink": tmp_path / "link",
           "below_a_file": tmp_path / "file.txt" / "sub"}[kind]
    if kind == "symlink":
        out.symlink_to(target)
    before = _tree(tmp_path)
    code = main([str(SMALL), "--out", str(out), *FAST])
    _one_error(code, capsys.readouterr().err, str(out))
    assert _tree(tmp_path) == before


def test_results_folder_and_empty_folder_are_replaced(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(SMALL), "--out", str(empty), *FAST]) == 0
    first = (empty / "summary.csv").read_bytes()
    (empty / "extra.txt").write_text("written after the run")
    assert main([str(SMALL), "--out", str(empty), *FAST]) == 0  # a results folder
    assert (empty / "summary.csv").read_bytes() == first
    assert not (empty / "extra.txt").exists()


def test_out_dot_fails_fast_before_the_run() -> None:
    started = time.monotonic()
    proc = run_cli(SMALL, "--out", ".", "--quiet")
    elapsed = time.monotonic() - started
    _one_error(proc.returncode, proc.stderr, "current folder")
    assert elapsed < 5, elapsed  # the interpreter start-up, not the run (~0.7 s measured)


@pytest.mark.parametrize("name", [".", "..", "...", ".hidden", "x" * 101])
def test_names_that_escape_the_results_folder_are_refused(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "other").mkdir(parents=True)
    data = small_dict()
    data["name"] = name
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    code = main([str(path), *FAST])
    _one_error(code, capsys.readouterr().err, "bad.yaml", "'name'")
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["other"]


def test_second_run_on_the_same_folder_refuses(tmp_path: Path) -> None:
    out = tmp_path / "res"
    with claim(out):  # this process holds the folder, as a first run would
        proc = run_cli(SMALL, "--out", out, *FAST)
    _one_error(proc.returncode, proc.stderr, "another run is writing")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_stale_staging_folders_of_ours_are_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "res"
    ours = tmp_path / ".res.abcd1234"
    ours.mkdir()
    (ours / MANIFEST).write_text("{}")
    (ours / "requests.csv").write_text("half")
    old = tmp_path / ".res.efgh5678.old"
    old.mkdir()
    theirs = tmp_path / ".res.zzzz9999"  # same pattern, not ours: kept
    theirs.mkdir()
    (theirs / "mine.txt").write_text("keep me")
    assert main([str(SMALL), "--out", str(out), *FAST]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.zzzz9999", "res"]


def test_interrupt_during_swap_tells_the_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "res"
    assert main([str(SMALL), "--out", str(out), *FAST]) == 0

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # while the old folder is being removed

    monkeypatch.setattr(sim.destination.shutil, "rmtree", interrupted)
    assert main([str(SMALL), "--out", str(out), *FAST]) == 130
    err = capsys.readouterr().err
    assert "no results written" not in err
    assert f"results were complete in {out}" in err
    assert (out / "summary.csv").is_file() and (out / MANIFEST).is_file()


def test_home_folder_is_never_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    (home / "me").mkdir(parents=True)
    (home / "me" / "thesis.tex").write_text("years of work")
    monkeypatch.setenv("HOME", str(home / "me"))
    for out in (home / "me", home):
        code = main([str(SMALL), "--out", str(out), "--force", *FAST])
        _one_error(code, capsys.readouterr().err, "home folder")
    assert (home / "me" / "thesis.tex").read_text() == "years of work"
