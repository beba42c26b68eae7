"""Executions encoded as a few long strings, for ``Scheduler.history`` (the pandas layer
decodes them with numpy, without a Python object per row).

A million rows as Python tuples cost seconds and a gigabyte; as a dozen strings built inside
SQLite (``group_concat``) they cost a table scan. The encoding, shared by every store:

* ``id``, ``task_id``: the values joined by ``"\\n"`` (ids and task ids never hold one).
* ``rowid``: a store's row numbers (ascending; ``sparse`` rows point at them).
* ``codes``: ``attempt * 128 + status code * 8 + trigger kind code`` per row, in decimal,
  comma-separated (codes index :data:`STATUS_ORDER` and :data:`KIND_ORDER`; 7 = unknown).
* ``counts``: ``missed * 2**31 + skipped``.
* ``scheduled_us``, ``started_us``, ``finished_us``: microseconds since the epoch; a missing
  time is :data:`NAT` (which is exactly numpy's NaT for datetime64).
* ``progress``: thousandths of a percent (integers), :data:`NO_PROGRESS` when missing.
* ``sparse``: ``(rowid, error, output JSON, metrics JSON, abandoned 0/1)`` for the rows that
  have any (an abandoned execution always has an error, so the flag costs no other row).
* ``names``: ``task_id -> (task_name, plugin_id)``.

Rows come oldest first (the order they were stored in).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._model.task import Execution, ExecutionStatus, TriggerKind
from ._codec import dumps

__all__ = [
    "KIND_ORDER",
    "NAT",
    "NO_PROGRESS",
    "STATUS_ORDER",
    "encode_executions",
    "numeric_aggregates",
    "text_aggregates",
]

STATUS_ORDER = [str(s) for s in ExecutionStatus]
KIND_ORDER = [str(k) for k in TriggerKind]
UNKNOWN_CODE = 7
NAT = -(2**63)
NO_PROGRESS = -1
COUNT_SHIFT = 2**31

_STATUS_CODE = {s: i for i, s in enumerate(STATUS_ORDER)}
_KIND_CODE = {k: i for i, k in enumerate(KIND_ORDER)}


def _case(column: str, codes: dict[str, int]) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {code}" for value, code in codes.items())
    return f"CASE {column} {whens} ELSE {UNKNOWN_CODE} END"


def _micros(column: str) -> str:
    # + 0.5 then truncate: rounds (times are positive) and is cheaper than round().
    return f"group_concat(ifnull(CAST({column} * 1000000 + 0.5 AS INTEGER), {NAT}))"


def text_aggregates() -> dict[str, str]:
    """SQL aggregates of the text keys (and ``rowid``)."""
    return {
        "id": "group_concat(id, char(10))",
        "task_id": "group_concat(task_id, char(10))",
        "rowid": "group_concat(rowid)",
    }


def numeric_aggregates() -> dict[str, str]:
    """SQL aggregates of the numeric keys."""
    return {
        "codes": (
            f"group_concat(attempt * 128 + ({_case('status', _STATUS_CODE)}) * 8 "
            f"+ ({_case('trigger_kind', _KIND_CODE)}))"
        ),
        "counts": f"group_concat(missed * {COUNT_SHIFT} + skipped)",
        "scheduled_us": _micros("scheduled_ts"),
        "started_us": _micros("started_ts"),
        "finished_us": _micros("finished_ts"),
        # Thousandths of a percent as integers: SQLite formats floats slowly.
        "progress": f"group_concat(ifnull(CAST(progress * 1000 + 0.5 AS INTEGER), {NO_PROGRESS}))",
    }


def _us(ts: float | None) -> int:
    return NAT if ts is None else int(ts * 1_000_000 + 0.5)


def encode_executions(rows: Iterable[Execution]) -> dict[str, Any]:
    """The encoding of ``rows`` (oldest first), built in Python: for small, in-memory stores."""
    rows = list(rows)
    sparse = []
    names: dict[str, tuple[str, str]] = {}
    for i, e in enumerate(rows):
        names.setdefault(e.task_id, (e.task_name, e.plugin_id))
        if e.error is not None or e.output is not None or e._metrics or e.abandoned:
            metrics = dumps(e._metrics) if e._metrics else None
            sparse.append((i, e.error, dumps(e.output), metrics, int(e.abandoned)))

    def joined(values: Iterable[object], sep: str = ",") -> str:
        return sep.join(str(v) for v in values)

    return {
        "id": joined((e.id for e in rows), "\n"),
        "task_id": joined((e.task_id for e in rows), "\n"),
        "rowid": joined(range(len(rows))),
        "codes": joined(
            e.attempt * 128
            + _STATUS_CODE.get(str(e.status), UNKNOWN_CODE) * 8
            + _KIND_CODE.get(str(e.trigger_kind), UNKNOWN_CODE)
            for e in rows
        ),
        "counts": joined(e.missed * COUNT_SHIFT + e.skipped for e in rows),
        "scheduled_us": joined(_us(e.scheduled_ts) for e in rows),
        "started_us": joined(_us(e.started_ts) for e in rows),
        "finished_us": joined(_us(e.finished_ts) for e in rows),
        "progress": joined(
            NO_PROGRESS if e.progress is None else int(e.progress * 1000 + 0.5) for e in rows
        ),
        "sparse": sparse,
        "names": names,
        "rows": len(rows),
    }
