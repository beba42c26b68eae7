"""Many rows per SQLite statement: ``VALUES (...), (...), ...`` in chunks.

The ``sqlite3`` module lets go of the GIL around every step of a statement, and
``executemany`` steps once per row. While the event loop is busy (firing what a claim won),
the writer then waits up to the switch interval (5 ms) to get the GIL back after every row: a
20,000-row commit took a second of wall time for 30 ms of work, and the claims of the next
second waited behind it. A statement of many rows is one step per chunk, and binds in C.

Claims are one ``UPDATE ... FROM (VALUES ...)`` per chunk (``_states.py``); that needs
SQLite 3.33 (:data:`UPDATE_FROM`), and a task given twice would be updated from either of its
rows: such a claim, or an older SQLite, goes row by row instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import cache
from typing import Any

__all__ = ["CHUNK_ROWS", "UPDATE_FROM", "chunk_rows", "chunks", "insert_many", "values_marks"]

#: Rows per statement, at most (fewer when the build allows fewer bound parameters).
CHUNK_ROWS = 512
#: ``UPDATE ... FROM`` (SQLite 3.33, 2020).
UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)


def chunk_rows(conn: sqlite3.Connection, width: int) -> int:
    """The most rows of ``width`` parameters one statement binds on ``conn`` (a power of
    two)."""
    fit = min(CHUNK_ROWS, (conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 1) // width)
    return 1 << (max(1, fit).bit_length() - 1)


def chunks(total: int, size: int) -> list[tuple[int, int]]:
    """``(start, rows)`` chunks of ``total`` rows: ``size`` rows each, then the rest in powers
    of two (so a table's statements are a handful of texts, each prepared once)."""
    out, start = [], 0
    while start < total:
        rows = min(size, 1 << ((total - start).bit_length() - 1))
        out.append((start, rows))
        start += rows
    return out


@cache
def values_marks(width: int, rows: int) -> str:
    """``(?, ?), (?, ?), ...``: ``rows`` groups of ``width`` marks."""
    one = f"({', '.join('?' * width)})"
    return ", ".join([one] * rows)


def insert_many(
    conn: sqlite3.Connection, head: str, tail: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """``head VALUES (...), ... tail`` for ``rows`` (all of one width), chunk by chunk."""
    if not rows:
        return
    width = len(rows[0])
    for start, count in chunks(len(rows), chunk_rows(conn, width)):
        sql = f"{head} VALUES {values_marks(width, count)} {tail}"
        conn.execute(sql, [v for row in rows[start : start + count] for v in row])
