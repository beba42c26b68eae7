"""nbval does not compare pictures: run the notebooks again (nbclient, a real kernel) and check
that every cell whose stored output is a picture still produces one."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.timeout(240)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PICTURES = ("image/png", "image/svg+xml")


def picture_cells(nb: nbformat.NotebookNode) -> list[int]:
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and any(kind in out.get("data", {}) for out in cell.outputs for kind in PICTURES)
    ]


def test_the_history_notebook_still_draws_its_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = nbformat.read(NOTEBOOKS / "history_analysis.ipynb", as_version=4)
    expected = picture_cells(stored)
    assert expected, "the stored notebook has no picture output; run tools/make_notebooks.py"
    assert all("timeline" in stored.cells[i].source for i in expected)
    for cell in stored.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    monkeypatch.setenv("COGNIA_NB_STORE", str(tmp_path / "pictures.db"))
    path = [str(NOTEBOOKS.parent), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))
    NotebookClient(stored, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    assert picture_cells(stored) == expected
    for i in expected:
        (out,) = [o for o in stored.cells[i].outputs if "data" in o]
        assert "image/png" in out.data and len(out.data["image/png"]) > 5000  # base64 PNG
    assert not any("%matplotlib" in c.source for c in stored.cells if c.cell_type == "code")
