"""Retention belongs to the store: the settings live in the file's ``meta`` table.

The first writer of a file stores its settings (the defaults when it gave none); a later
writer that gives none uses the stored ones, and one that gives some stores them (an explicit
choice). Read-only opens never prune. Pruning runs in the writer thread, at most once a
minute, and never touches an unfinished execution.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, Final

from ._schema import get_meta, set_meta

__all__ = ["DEFAULT_MAX_AGE_DAYS", "DEFAULT_MAX_EXECUTIONS", "FROM_FILE", "prune", "settle"]

log = logging.getLogger("cognia_nb.stores.sqlite")

DEFAULT_MAX_EXECUTIONS: Final = 1000
DEFAULT_MAX_AGE_DAYS: Final = 30.0
_KEEP, _AGE = "retention.max_executions_per_task", "retention.max_age_days"


class _FromFile:
    def __repr__(self) -> str:
        return "FROM_FILE"


#: A retention setting not given: the file's (the default for a new file).
FROM_FILE: Any = _FromFile()


def _age_text(days: float | None) -> str:
    return "none" if days is None else repr(float(days))


def settle(
    conn: sqlite3.Connection, max_executions: Any, max_age_days: Any
) -> tuple[int, float | None]:
    """The retention to apply, writing what the file must remember (in the caller's
    transaction)."""
    stored_keep, stored_age = get_meta(conn, _KEEP), get_meta(conn, _AGE)
    if max_executions is FROM_FILE:
        max_executions = int(stored_keep) if stored_keep else DEFAULT_MAX_EXECUTIONS
    if max_age_days is FROM_FILE:
        if stored_age is None:
            max_age_days = DEFAULT_MAX_AGE_DAYS
        else:
            max_age_days = None if stored_age == "none" else float(stored_age)
    keep_text, age_text = str(int(max_executions)), _age_text(max_age_days)
    if (stored_keep, stored_age) != (keep_text, age_text):
        if stored_keep is not None:
            log.info("retention changed from %s executions/%s days to %s/%s", stored_keep,
                     stored_age, keep_text, age_text)  # fmt: skip
        set_meta(conn, _KEEP, keep_text)
        set_meta(conn, _AGE, age_text)
    return int(max_executions), max_age_days


def prune(conn: sqlite3.Connection, now: float, max_executions: int,
          max_age_days: float | None) -> None:  # fmt: skip
    """Delete finished executions older than ``max_age_days`` and beyond the newest
    ``max_executions`` of each task."""
    finished = "status NOT IN ('pending', 'running')"
    if max_age_days is not None:
        cutoff = now - max_age_days * 86_400
        conn.execute(f"DELETE FROM executions WHERE created_ts < ? AND {finished}", (cutoff,))
    crowded = conn.execute(
        "SELECT task_id FROM executions GROUP BY task_id HAVING count(*) > ?", (max_executions,)
    ).fetchall()
    for (task_id,) in crowded:
        conn.execute(
            f"DELETE FROM executions WHERE task_id = ? AND {finished} AND id IN ("
            "SELECT id FROM executions WHERE task_id = ? ORDER BY created_ts DESC "
            "LIMIT -1 OFFSET ?)",
            (task_id, task_id, max_executions),
        )
