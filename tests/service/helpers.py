"""Notebooks on disk and ``cognia-nb run`` as a real process whose lines we can wait for."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def write_notebook(path: Path, cells: list[str | tuple[str, list[str]]]) -> Path:
    """An nbformat-4 notebook of code cells (``(source, tags)`` for tagged ones)."""
    out: list[dict[str, Any]] = [{"cell_type": "markdown", "id": "title", "metadata": {},
                                  "source": "# a scheduled notebook"}]  # fmt: skip
    for i, cell in enumerate(cells):
        source, tags = (cell, []) if isinstance(cell, str) else cell
        out.append({"cell_type": "code", "id": f"c{i}", "metadata": {"tags": tags},
                    "source": source, "outputs": [], "execution_count": None})  # fmt: skip
    path.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "cells": out,
                "metadata": {
                    "kernelspec": {
                        "name": "python3",
                        "display_name": "Python 3",
                        "language": "python",
                    }
                },
            }
        )
    )
    return path


def env(store: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COGNIA_NB_STORE": str(store),
            "PYTHONUNBUFFERED": "1"}  # fmt: skip


class Service:
    """``python -m cognia_nb.cli ARGS`` with its stdout read line by line in a thread."""

    def __init__(self, args: list[str], store: Path, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cognia_nb.cli", *args], cwd=cwd, env=env(store),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60, count: int = 1) -> re.Match[str]:
        """The ``count``-th line matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in (re.search(pattern, line) for line in list(self.lines)) if m]
            if len(found) >= count:
                return found[count - 1]
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        err = self.stderr() if self.proc.poll() is not None else ""
        raise AssertionError(f"no {count} line(s) matching {pattern!r}:\n{self.text}\n{err}")

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def executions(store: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM executions ORDER BY created_ts").fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()
