"""Bad scenario files get one clear line from the CLI: file, key, what was expected; exit 2.

Every file named in ``tests/bad_inputs/expected.yaml`` is run as
``python -m sim FILE --out TMP --quiet`` (all at once, they are independent).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, run_cli_many

BAD = Path(__file__).resolve().parent / "bad_inputs"
EXPECTED: dict[str, list[str]] = yaml.safe_load((BAD / "expected.yaml").read_text("utf-8"))
MISSING = "does_not_exist.yaml"
EXTRA = {  # same checks, for a good file with a bad option value the CLI resolves itself
    "unknown_variant_option": (["scenarios/small.yaml", "--variant", "nine_levels"],
                               "small.yaml", ["--variant 'nine_levels'", "five_levels"]),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """name → (completed process, --out path, folder that must stay empty)."""
    base = tmp_path_factory.mktemp("bad_inputs")
    jobs = {}
    for name in EXPECTED:
        parent = base / Path(name).stem
        parent.mkdir()
        out = parent / "sub" / "results"
        args = [BAD.relative_to(ROOT) / name, "--out", out, "--quiet"]
        jobs[name] = (args, out, parent)
    for name, (args, _, _) in EXTRA.items():
        parent = base / name
        parent.mkdir()
        out = parent / "sub" / "results"
        jobs[name] = ([*args, "--out", out, "--quiet"], out, parent)
    done = run_cli_many([args for args, _, _ in jobs.values()])
    return {name: (proc, out, parent)
            for (name, (_, out, parent)), proc in zip(jobs.items(), done, strict=True)}


def test_table_covers_every_bad_file() -> None:
    files = {p.name for p in BAD.iterdir() if p.name != "expected.yaml"}
    assert files == set(EXPECTED) - {MISSING}
    assert not (BAD / MISSING).exists()
    assert len(EXPECTED) >= 10
    for fragments in EXPECTED.values():
        assert fragments and all(isinstance(f, str) and f for f in fragments)


def _check(proc: subprocess.CompletedProcess, out: Path, parent: Path, file_name: str,
           fragments: list[str]) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert file_name in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert proc.stdout == ""
    assert not out.exists()
    assert list(parent.iterdir()) == [], "nothing may be created at or beside --out"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_bad_file_one_line_exit_2(outcomes: dict[str, tuple], name: str) -> None:
    proc, out, parent = outcomes[name]
    _check(proc, out, parent, name, EXPECTED[name])


@pytest.mark.parametrize("name", list(EXTRA))
def test_bad_option_one_line_exit_2(outcomes: dict[str, tuple], name: str) -> None:
    proc, out, parent = outcomes[name]
    _, file_name, fragments = EXTRA[name]
    _check(proc, out, parent, file_name, fragments)
