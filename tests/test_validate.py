"""``python -m sim validate``: every problem with line and named key path, a description of a
valid scenario, and warnings for settings that do nothing useful."""

from pathlib import Path

import pytest

from sim.cli import main
from sim.validate import named_path

ROOT = Path(__file__).resolve().parents[1]
SMALL = (ROOT / "scenarios" / "small.yaml").read_text()


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return str(path)


def _line_of(text: str, fragment: str) -> int:
    return next(k for k, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_every_problem_at_once_with_line_and_named_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (SMALL.replace("      units: 1\n", "      units: 0\n")
            .replace("grid:      {staff: 2,", "grid:      {staf: 2,")
            .replace('cutoffs: ["10:00", "16:00"]', 'cutoffs: ["10:00", "26:00"]'))
    assert main(["validate", _write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err and "Traceback" not in err
    assert (f"line {_line_of(text, 'units: 0')}: key 'layout.areas[market].units'") in err
    assert (f"line {_line_of(text, 'staf: 2')}: key 'heads.grid.staf': unknown key; "
            "did you mean 'staff'?") in err
    assert f"line {_line_of(text, '26:00')}: key 'supply.cutoffs[26:00]'" in err


def test_a_bad_variant_set_is_located(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    text = SMALL.replace("    drop_levels: [building, floor]",
                         "    drop_levels: [building, floor]\n"
                         "    set: {emergency.ambulance.count: 3}")
    assert main(["validate", _write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert f"line {_line_of(text, 'ambulance.count: 3')}: key 'variants[three_levels].set'" in err
    assert "did you mean 'emergency.ambulances.count'" in err


def test_yaml_syntax_error_has_its_line(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", _write(tmp_path, "name: x\nhorizon: [1, 2\n")]) == 2
    assert "line 3: YAML syntax error" in capsys.readouterr().err


def test_valid_scenario_is_described(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "scenarios" / "small.yaml")]) == 0
    out = capsys.readouterr().out
    assert "valid" in out.splitlines()[0]
    assert "58 households" in out and "152 people" in out
    assert "supply orders 58.0" in out and "packages 58" in out  # 58 × 0.5/day × 2 days
    assert "emergencies" in out and "estimated: 6 run(s)" in out and "MiB" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("three_levels ")]
    assert [r[1] for r in rows] == ["zone", "community", "grid"]  # building, floor dropped
    assert "warning" not in out


def test_meaningless_settings_are_warned(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    text = (SMALL.replace("    at: [24h]", "    at: [24h, 50h]")
            .replace("    drop_levels: [building, floor]",
                     "    drop_levels: [building, floor, grid]\n"
                     "  - name: huge\n    households_per_head: {building: 500}"))
    assert main(["validate", _write(tmp_path, text)]) == 0
    out = capsys.readouterr().out
    assert "drops 'grid', the supply collect_level" in out
    assert "drops 'grid', the emergency report_level" in out
    assert f"line {_line_of(text, 'building: 500')}: key " \
           "'variants[huge].households_per_head.building': 500 households per head" in out
    assert "key 'supply.packages.at[50h]': pushed at 3000 min" in out


def test_named_path_uses_names_then_values_then_indices() -> None:
    document = {"layout": {"areas": [{"name": "a"}, {"units": 2}]}, "at": ["1h", "2h"]}
    assert named_path(document, ["layout", "areas", 0, "units"]) == "layout.areas[a].units"
    assert named_path(document, ["layout", "areas", 1, "units"]) == "layout.areas[1].units"
    assert named_path(document, ["at", 1]) == "at[2h]"


def test_missing_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such.yaml"]) == 2
    assert capsys.readouterr().err.strip() == "error: no/such.yaml: no such file"
