"""Bad scenario files get one clear line from the CLI: file, key, what was expected; exit 2.

The files live in ``tests/bad_inputs/``; ``expected.yaml`` there maps each to the
fragments its message must contain. Every file goes through ``sim.cli.main``
in-process; those listed under ``subprocess`` also run as
``python -m sim FILE --out TMP --quiet`` (in the background, a few at a time).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.cli import main

from .conftest import ROOT, background_cli

BAD = Path(__file__).resolve().parent / "bad_inputs"
TABLE = yaml.safe_load((BAD / "expected.yaml").read_text("utf-8"))
SUBPROCESS: dict[str, list[str]] = TABLE["subprocess"]
EXPECTED: dict[str, list[str]] = {**TABLE["subprocess"], **TABLE["in_process"]}
MISSING = "does_not_exist.yaml"


def test_table_covers_every_bad_file() -> None:
    files = {p.name for p in BAD.iterdir() if p.name != "expected.yaml"}
    assert files == set(EXPECTED) - {MISSING}
    assert not (BAD / MISSING).exists()
    assert not set(TABLE["subprocess"]) & set(TABLE["in_process"])
    assert len(SUBPROCESS) >= 10
    for fragments in EXPECTED.values():
        assert fragments and all(isinstance(f, str) and f for f in fragments)


def _check(code: int, stdout: str, stderr: str, parent: Path, file_name: str,
           fragments: list[str]) -> None:
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr
    assert "Traceback" not in stdout
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert file_name in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert stdout == ""
    assert list(parent.iterdir()) == [], "nothing may be created at or beside --out"


def cli_jobs(base: Path) -> dict[str, list]:
    """Started in the background after collection (see conftest): one run per file, each
    with ``--out`` inside a folder of its own that must stay empty."""
    jobs = {}
    for name in SUBPROCESS:
        parent = base / Path(name).stem
        parent.mkdir()
        jobs[name] = [BAD.relative_to(ROOT) / name, "--out", parent / "sub" / "results",
                      "--quiet"]
    return jobs


@pytest.mark.parametrize("name", list(EXPECTED))
def test_bad_file_cli_in_process(name: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(BAD / name), "--out", str(tmp_path / "sub" / "results"), "--quiet"])
    captured = capsys.readouterr()
    _check(code, captured.out, captured.err, tmp_path, name, EXPECTED[name])


@pytest.mark.parametrize("name", list(SUBPROCESS))
def test_bad_file_cli_subprocess(request: pytest.FixtureRequest, name: str) -> None:
    proc, base = background_cli(request, name)
    _check(proc.returncode, proc.stdout, proc.stderr, base / Path(name).stem, name,
           SUBPROCESS[name])


def test_unknown_variant_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(ROOT / "scenarios" / "small.yaml"), "--variant", "nine_levels",
                 "--out", str(tmp_path / "sub" / "results"), "--quiet"])
    captured = capsys.readouterr()
    _check(code, captured.out, captured.err, tmp_path, "small.yaml",
           ["--variant 'nine_levels'", "five_levels", "three_levels"])
