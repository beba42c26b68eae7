"""Reading the history encoding (``_history.py``) out of a PostgreSQL store: one scan, the
strings built by ``string_agg`` inside the server, in one snapshot."""

from __future__ import annotations

from typing import Any

from ._codec import ABANDONED_SUFFIX
from ._history import (
    _KIND_CODE,
    _STATUS_CODE,
    COUNT_SHIFT,
    NAT,
    NO_PROGRESS,
    _case,
)

__all__ = ["read_pg_history"]


def _micros(column: str) -> str:
    return f"string_agg(coalesce(floor({column} * 1000000 + 0.5)::int8, {NAT})::text, ',')"


_AGGREGATES = {
    "id": "string_agg(id, E'\\n')",
    "task_id": "string_agg(task_id, E'\\n')",
    "rowid": "string_agg(seq::text, ',')",
    "codes": (
        f"string_agg((attempt * 128 + ({_case('status', _STATUS_CODE)}) * 8 "
        f"+ ({_case('trigger_kind', _KIND_CODE)}))::text, ',')"
    ),
    "counts": f"string_agg((missed * {COUNT_SHIFT} + skipped)::text, ',')",
    "scheduled_us": _micros("scheduled_ts"),
    "started_us": _micros("started_ts"),
    "finished_us": _micros("finished_ts"),
    "progress": (
        f"string_agg(coalesce(floor(progress * 1000 + 0.5)::int8, {NO_PROGRESS})::text, ',')"
    ),
    "rows": "count(*)",
}
_ABANDONED = f"(coalesce(right(reason, {len(ABANDONED_SUFFIX)}) = %s, false))::int"
_SPARSE = "(error IS NOT NULL OR output IS NOT NULL OR metrics IS NOT NULL)"


def read_pg_history(conn: Any, where: str, params: list[Any]) -> dict[str, Any]:
    """The history encoding of ``SELECT ... FROM executions{where}`` (``seq`` order), read in
    one repeatable-read transaction (the aggregates read the rows in ``seq`` order: a serial
    plan over a sorted subquery)."""
    keys = list(_AGGREGATES)
    parts = ", ".join(_AGGREGATES[k] for k in keys)
    rows_sql = f"SELECT * FROM executions{where} ORDER BY seq"
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        found = conn.execute(f"SELECT {parts} FROM ({rows_sql}) AS r", params).fetchone()
        sparse = conn.execute(
            f"SELECT seq, error, output, metrics, {_ABANDONED} FROM ({rows_sql}) AS r "
            f"WHERE {_SPARSE}",
            [ABANDONED_SUFFIX, *params],
        ).fetchall()
        names = conn.execute(
            f"SELECT task_id, min(task_name), min(plugin_id) FROM executions{where} "
            "GROUP BY task_id",
            params,
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    out: dict[str, Any] = dict(zip(keys, found, strict=True))
    out["rows"] = int(found[-1])
    out["sparse"] = [tuple(r) for r in sparse]
    out["names"] = {str(t): (str(n), str(p)) for t, n, p in names}
    return out
