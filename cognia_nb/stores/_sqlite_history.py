"""Reading the history encoding (``_history.py``) out of a SQLite store, fast.

The aggregates are split between two connections that scan the table at once (SQLite works
without the GIL, so a million rows take about half the time). In the same transaction the
first connection also reads the task names and the second the sparse rows (errors, outputs,
metrics). Each half returns a fingerprint of the rows it read; if a write landed between the
two, the read is made again on one connection, in one snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._cells import text
from ._codec import ABANDONED_SUFFIX
from ._history import numeric_aggregates, text_aggregates

__all__ = ["read_history"]

# How many rows, the last one, and sums that move whenever an execution advances.
_FINGERPRINT = ("json_array(count(*), max(rowid), total(attempt), total(ifnull(started_ts, 0)), "
                "total(ifnull(finished_ts, 0)))")  # fmt: skip
# An abandoned execution keeps its flag as the reason's suffix (see _codec.py) and always has an
# error, so it is a sparse row already: the flag is read for the sparse rows only.
_ABANDONED = f"ifnull(substr(reason, -{len(ABANDONED_SUFFIX)}) = '{ABANDONED_SUFFIX}', 0)"
_SPARSE = "error IS NOT NULL OR output IS NOT NULL OR metrics IS NOT NULL"


class _Reader:
    def __init__(self, where: str, params: list[Any]) -> None:
        self.where, self.params = where, params
        self.aggregates = {**text_aggregates(), **numeric_aggregates()}
        keys = list(self.aggregates)
        self.halves = (keys[:5], keys[5:])  # about the same work each

    def columns(self, half: int, conn: sqlite3.Connection) -> list[Any]:
        parts = ", ".join(self.aggregates[k] for k in self.halves[half])
        sql = f"SELECT {parts}, {_FINGERPRINT} FROM executions{self.where}"
        return list(conn.execute(sql, self.params).fetchone())

    def sparse(self, conn: sqlite3.Connection) -> list[Any]:
        inner = f" AND rowid IN (SELECT rowid FROM executions{self.where})" if self.where else ""
        sql = (f"SELECT rowid, error, output, metrics, {_ABANDONED} FROM executions "
               f"WHERE ({_SPARSE}){inner}")  # fmt: skip
        # an error holding lone surrogates is stored as a BLOB (see _cells.py)
        return [(r, text(e), o, m, a) for r, e, o, m, a in conn.execute(sql, self.params)]

    def names(self, conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
        rows = conn.execute(
            f"SELECT task_id, task_name, plugin_id FROM executions{self.where} GROUP BY task_id",
            self.params,
        )
        return {tid: (name, plugin) for tid, name, plugin in rows}

    def first(self, conn: sqlite3.Connection) -> tuple[list[Any], dict[str, tuple[str, str]]]:
        return self.columns(0, conn), self.names(conn)

    def second(self, conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
        return self.columns(1, conn), self.sparse(conn)


def _in_transaction(
    connect: Callable[[], sqlite3.Connection], work: Callable[[sqlite3.Connection], Any]
) -> Any:
    conn = connect()
    try:
        conn.execute("BEGIN")
        result = work(conn)
        conn.execute("COMMIT")
        return result
    finally:
        conn.close()


def read_history(
    connect: Callable[[], sqlite3.Connection], where: str, params: list[Any]
) -> dict[str, Any]:
    """The history encoding of ``SELECT ... FROM executions{where}`` (rowid order)."""
    reader = _Reader(where, params)
    with ThreadPoolExecutor(1) as pool:
        later = pool.submit(_in_transaction, connect, reader.second)
        first, names = _in_transaction(connect, reader.first)
        second, sparse = later.result()
    if first[-1] != second[-1]:  # a write landed between the two reads

        def both(conn: sqlite3.Connection) -> tuple[Any, ...]:
            return *reader.first(conn), *reader.second(conn)

        first, names, second, sparse = _in_transaction(connect, both)
    keys = [*reader.halves[0], *reader.halves[1]]
    out: dict[str, Any] = dict(zip(keys, (*first[:-1], *second[:-1]), strict=True))
    out["rows"] = json.loads(first[-1])[0]  # the fingerprint starts with count(*)
    out["sparse"] = sparse
    out["names"] = names
    return out
