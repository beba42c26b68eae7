"""A notebook as the service runs it: its code cells in order and its kernel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .._errors import CogniaError

__all__ = ["SKIP_TAG", "Cell", "Notebook", "read_notebook"]

#: Cells with this tag are not run by the service (plots, interactive exploration, ...).
SKIP_TAG = "cognia:skip"


@dataclass(frozen=True)
class Cell:
    """A code cell: its 1-based position among all the notebook's cells, and its source."""

    number: int
    source: str

    @property
    def first_line(self) -> str:
        """The first non-blank line, for messages."""
        for line in self.source.splitlines():
            if line.strip():
                return line.strip()[:80]
        return ""


@dataclass(frozen=True)
class Notebook:
    """What the service needs from an ``.ipynb`` file."""

    path: Path
    kernel_name: str
    cells: tuple[Cell, ...]
    skipped: int


def _source(cell: dict[str, object]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def read_notebook(path: str | Path, kernel_name: str | None = None) -> Notebook:
    """Read ``path`` (absolute in the result); ``kernel_name`` overrides its kernelspec.

    Raises:
        CogniaError: the file is missing or is not a notebook (nbformat 4 JSON).
    """
    resolved = Path(path).expanduser().resolve()
    try:
        data = json.loads(resolved.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CogniaError(f"notebook {str(path)!r} cannot be read: {exc.strerror}") from exc
    except ValueError as exc:
        raise CogniaError(f"notebook {str(path)!r} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise CogniaError(f"notebook {str(path)!r} has no 'cells' list (not an .ipynb file?)")
    spec = data.get("metadata", {}).get("kernelspec", {}) if isinstance(data.get("metadata"),
                                                                       dict) else {}  # fmt: skip
    name = kernel_name or (spec.get("name") if isinstance(spec, dict) else None) or "python3"
    cells, skipped = [], 0
    for number, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"),
                                                                      dict) else []  # fmt: skip
        source = _source(cell)
        if SKIP_TAG in tags:
            skipped += 1
        elif source.strip():
            cells.append(Cell(number, source))
    return Notebook(resolved, str(name), tuple(cells), skipped)
