"""The notebooks run top to bottom from another folder, stored without outputs; README's
Python examples run as written."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import cli_env, time_limit

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01-drill-walkthrough.ipynb", "02-what-if.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_clean_and_imports_sim_only(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    imports = {m for cell in code for m in re.findall(r"^\s*(?:import|from) (\S+)", cell.source,
                                                       re.MULTILINE)}
    assert imports == {"sim"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_from_anywhere(path: Path, tmp_path: Path) -> None:
    """Executed in an empty folder: scenario paths must resolve from the package."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    env = {**os.environ, **cli_env(), "MPLBACKEND": "Agg"}
    with time_limit(240):
        client.execute(env=env)  # CellExecutionError on any failing cell
    assert not list(tmp_path.iterdir())  # nothing written where it ran


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_readme_python_examples_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every python block of README.md, in order, in one namespace, from the repository."""
    blocks = _readme_blocks()
    assert len(blocks) >= 2
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "readme"}
    with time_limit(180):
        for k, block in enumerate(blocks):
            code = block.replace('"results/mine"', repr(str(tmp_path / "mine")))
            exec(compile(code, f"README.md python block {k + 1}", "exec"), namespace)
