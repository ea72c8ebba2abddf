"""The scenario schema: the shipped JSON file is current, editors' comments point at it,
every shipped scenario validates against it, and every key has a meaning."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from sim import schema
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").rglob("*.yaml") if p.name != "cases.yaml")


def test_shipped_schema_is_up_to_date() -> None:
    shipped = schema.SCHEMA_FILE.read_text(encoding="utf-8")
    assert shipped == schema.schema_text(), "run: python -m sim schema --write"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scenario_names_the_schema_and_validates(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(schema.EDITOR_COMMENT)
    target = (path.parent / first.removeprefix(schema.EDITOR_COMMENT)).resolve()
    assert target == schema.SCHEMA_FILE
    jsonschema.validate(yaml.safe_load(path.read_text()), schema.json_schema())


def test_schema_refuses_what_the_loader_refuses() -> None:
    document = yaml.safe_load((ROOT / "scenarios" / "small.yaml").read_text())
    validator = jsonschema.Draft202012Validator(schema.json_schema())
    assert not list(validator.iter_errors(document))
    for broken in ({**document, "horizn": "2h"},
                   {**document, "horizon": "two days"},
                   {**document, "heads": {**document["heads"], "grid": {"relay": "soon"}}}):
        assert list(validator.iter_errors(broken))


def test_every_key_has_type_and_meaning() -> None:
    rows = schema.keys()
    paths = [r["key"] for r in rows]
    assert {"horizon", "emergency.ambulances.to_gate", "layout.areas[].gate_walk_m",
            "emergency.severities.<name>.target", "variants[].set"} <= set(paths)
    assert [p for p in paths if not next(r for r in rows if r["key"] == p)["meaning"]] == []
    by_key = {r["key"]: r for r in rows}
    assert by_key["horizon"]["unit"] == "minutes" and by_key["horizon"]["type"] == "duration"
    assert by_key["emergency.ambulances.to_gate"]["type"] == "distribution"
    assert by_key["layout.areas[].gate_walk_m"]["unit"] == "metres"
    assert by_key["replications"]["default"] == "1"
    assert by_key["supply.target"]["default"] == "(required)"


def test_schema_command_prints_the_key_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert "emergency.ambulances.to_gate" in out and "meaning" in out.splitlines()[2]


def test_schema_json_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["additionalProperties"] is False
    assert main(["schema", "--write", str(tmp_path / "s.json")]) == 0
    assert (tmp_path / "s.json").read_text() == schema.schema_text()
