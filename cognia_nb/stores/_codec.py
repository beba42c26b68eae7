"""Tasks and executions to and from flat rows (the SQLite columns), JSON where needed."""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from typing import Any

from .._model.args import decode_args, encode_args
from .._model.calendar import Calendar, calendar_from_dict
from .._model.spec import read_retry
from .._model.task import (
    DEFAULT_RETRY,
    Execution,
    ExecutionStatus,
    LogEntry,
    Misfire,
    Overlap,
    Task,
    TaskStatus,
    TriggerKind,
)
from ..triggers import IntervalTrigger, parse_trigger
from ._cells import cell, cells, texts

log = logging.getLogger("cognia_nb.stores")

__all__ = [
    "EXECUTION_COLUMNS",
    "PLAIN_EXECUTION_COLUMNS",
    "POLICY_DEFAULTS",
    "STATE_COLUMNS",
    "TASK_COLUMNS",
    "TASK_SELECT",
    "TASK_STATE_UPDATE",
    "TASK_STATE_UPSERT",
    "TASK_VERSIONS",
    "calendar_json",
    "dumps",
    "execution_from_row",
    "execution_row",
    "plain_execution_row",
    "read_calendar_json",
    "state_assignments",
    "state_row",
    "task_from_row",
    "task_row",
    "task_select",
]

TASK_COLUMNS = (
    "id", "plugin_id", "name", "handler", "trigger", "description", "args", "retry", "timeout",
    "tags", "overlap", "misfire", "misfire_grace", "jitter", "executor", "created_ts",
    "updated_ts", "metadata", "max_consecutive_failures", "calendar",
)  # fmt: skip
#: What firing (and pausing) changes, in the narrow ``task_state`` table (with the claim).
STATE_COLUMNS = (
    "id", "status", "next_run_ts", "last_run_ts", "skipped_count", "missed_count", "run_count",
    "excluded_count", "consecutive_failures", "pause_reason", "last_excluded",
)  # fmt: skip
#: The columns schema 5 added (``_schema.py``), and what a schema 4 file reads in their place.
POLICY_DEFAULTS = {
    "max_consecutive_failures": "NULL", "calendar": "NULL", "excluded_count": "0",
    "consecutive_failures": "0", "pause_reason": "NULL", "last_excluded": "NULL",
}  # fmt: skip
_STATE_DEFAULTS = {
    "status": "'active'", "skipped_count": "0", "missed_count": "0", "run_count": "0",
    "excluded_count": "0", "consecutive_failures": "0",
}  # fmt: skip


def task_select(*, policies: bool = True) -> str:
    """A task as loaded: its definition and its state (a task without a state row is
    active). ``policies=False`` reads a schema 4 file (no policy columns: their defaults)."""
    exprs = []
    for c in TASK_COLUMNS:
        exprs.append(f"t.{c}" if policies or c not in POLICY_DEFAULTS else POLICY_DEFAULTS[c])
    for c in (*STATE_COLUMNS[1:], "version"):
        if not policies and c in POLICY_DEFAULTS:
            exprs.append(POLICY_DEFAULTS[c])
        else:
            default = _STATE_DEFAULTS.get(c, "0" if c == "version" else None)
            exprs.append(f"s.{c}" if default is None else f"coalesce(s.{c}, {default})")
    return f"SELECT {', '.join(exprs)} FROM tasks AS t LEFT JOIN task_state AS s ON s.id = t.id"


TASK_SELECT = task_select()

EXECUTION_COLUMNS = (
    "id", "task_id", "plugin_id", "task_name", "trigger_kind", "status", "attempt", "created_ts",
    "scheduled_ts", "started_ts", "finished_ts", "progress", "progress_message", "output",
    "error", "traceback", "metrics", "logs", "missed", "skipped", "reason", "event", "owner",
)  # fmt: skip


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple | deque):
        return list(value)
    return repr(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str | None:
    """JSON text for a value; what JSON cannot hold becomes its ``repr`` (never raises)."""
    if value is None:
        return None
    try:
        return json.dumps(value, default=_default, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError):
        try:
            return json.dumps(_finite(value), default=_default, separators=(",", ":"))
        except (ValueError, TypeError, RecursionError):
            return json.dumps(repr(value))


def loads(text: str | None) -> Any:
    """Inverse of :func:`dumps` (None stays None)."""
    return None if text is None else json.loads(text)


def _args_json(args: Any) -> str | None:
    """Args through the round-trip codec of ``_model/args.py``; args changed after creation
    into something it refuses are stored as :func:`dumps` does (never raises)."""
    try:
        return dumps(encode_args(args))
    except ValueError:
        return dumps(args)


def task_row(task: Task) -> tuple[Any, ...]:
    """A task's definition as a row of :data:`TASK_COLUMNS` (every cell encoded)."""
    return cells((
        task.id, task.plugin_id, task.name, task.handler, dumps(task.trigger.to_dict()),
        task.description, _args_json(task.args), dumps(task.retry.to_dict()), task.timeout,
        dumps(list(task.tags)), str(task.overlap), str(task.misfire),
        task.misfire_grace_seconds, task.jitter_seconds, task.executor, task.created_ts,
        task.updated_ts, dumps(task._metadata), task.max_consecutive_failures,
        calendar_json(task.calendar),
    ))  # fmt: skip


def calendar_json(calendar: Calendar | None) -> str | None:
    """A task's calendar as stored (callables by name: see ``_model/calendar.py``)."""
    return None if calendar is None else dumps(calendar.to_dict())


def read_calendar_json(text: str | None, task_id: str) -> Calendar | None:
    """Inverse of :func:`calendar_json`; a damaged calendar is logged and dropped (the task
    still loads)."""
    try:
        return calendar_from_dict(loads(text))
    except (ValueError, TypeError, AttributeError) as exc:
        log.error("task %r: its stored calendar %r cannot be read and is dropped: %s",
                  task_id, text, exc)  # fmt: skip
        return None


def state_assignments(first: int) -> str:
    """``status = ?first, next_run_ts = ?first+1, ...``: every state column but the id, bound
    by number from ``first`` (in :func:`state_row` order, the id left out)."""
    return ", ".join(f"{c} = ?{first + i}" for i, c in enumerate(STATE_COLUMNS[1:]))


#: A whole task's state (a new task, or one changed by hand): a deliberate change, so the
#: version goes up; the claim is left alone.
TASK_STATE_UPSERT = (
    f"INSERT INTO task_state ({', '.join(STATE_COLUMNS)}, version) "
    f"VALUES ({', '.join('?' for _ in STATE_COLUMNS)}, 1) ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in STATE_COLUMNS[1:])
    + ", version = task_state.version + 1"
)
#: What firing changed, only over the version it was made from (a deleted task's state is not
#: brought back, a newer deliberate change is not undone); :func:`state_row` + the version.
TASK_STATE_UPDATE = (
    f"UPDATE task_state SET {state_assignments(2)} "
    f"WHERE id = ?1 AND version = ?{len(STATE_COLUMNS) + 1}"
)
#: The versions the upserts above gave (read back into each ``Task._version``).
TASK_VERSIONS = "SELECT id, version FROM task_state WHERE id IN (SELECT value FROM json_each(?))"


def state_row(task: Task) -> tuple[Any, ...]:
    """The parameters of :data:`TASK_STATE_UPSERT` and :data:`TASK_STATE_UPDATE`."""
    reason, excluded = task.pause_reason, task.last_excluded  # (None, mostly: no call)
    return (task.id, str(task.status), task.next_run_ts, task.last_run_ts, task.skipped_count,
            task.missed_count, task.run_count, task.excluded_count, task.consecutive_failures,
            None if reason is None else cell(reason),
            None if excluded is None else cell(excluded))  # fmt: skip


def task_from_row(row: tuple[Any, ...]) -> Task:
    """A task from a row of :data:`TASK_COLUMNS` (the trigger keeps its stored anchor)."""
    r = dict(zip((*TASK_COLUMNS, *STATE_COLUMNS[1:], "version"), texts(row), strict=True))
    trigger = parse_trigger(loads(r["trigger"]), allow_past=True)
    if isinstance(trigger, IntervalTrigger) and trigger.start_at is None:  # pragma: no cover
        raise ValueError(f"stored interval task {r['id']!r} has no anchor")
    retry = read_retry(loads(r["retry"])) if r["retry"] else DEFAULT_RETRY
    task = Task(
        id=r["id"], plugin_id=r["plugin_id"], name=r["name"], handler=r["handler"],
        trigger=trigger, description=r["description"] or "",
        args=decode_args(loads(r["args"])), retry=retry,
        timeout=r["timeout"], tags=tuple(loads(r["tags"]) or ()), status=TaskStatus(r["status"]),
        overlap=Overlap(r["overlap"]), misfire=Misfire(r["misfire"]),
        misfire_grace_seconds=r["misfire_grace"], jitter_seconds=r["jitter"],
        executor=r["executor"], created_ts=r["created_ts"], updated_ts=r["updated_ts"],
        next_run_ts=r["next_run_ts"], last_run_ts=r["last_run_ts"],
        skipped_count=r["skipped_count"], missed_count=r["missed_count"],
        run_count=r["run_count"], handler_missing=True,
    )  # fmt: skip
    task.metadata = loads(r["metadata"])
    task._version = r["version"]
    task.max_consecutive_failures = r["max_consecutive_failures"]
    task.calendar = read_calendar_json(r["calendar"], r["id"])
    task.excluded_count, task.consecutive_failures = r["excluded_count"], r["consecutive_failures"]
    task.pause_reason, task.last_excluded = r["pause_reason"], r["last_excluded"]
    return task


def _event_json(event: Any) -> str | None:
    if event is None:
        return None
    return dumps({"type": event.type, "payload": event.payload, "source": event.source,
                  "emittedAt": event.emitted_at.isoformat()})  # fmt: skip


def execution_row(ex: Execution, owner: str) -> tuple[Any, ...]:
    """An execution as a row of :data:`EXECUTION_COLUMNS` (safe to call from another thread)."""
    logs = [
        {"ts": e.ts, "level": e.level, "message": e.message, "fields": e.fields,
         "attempt": e.attempt}
        for e in list(ex._logs or ())
    ]  # fmt: skip
    return (
        ex.id, ex.task_id, ex.plugin_id, ex.task_name, str(ex.trigger_kind), str(ex.status),
        ex.attempt, ex.created_ts, ex.scheduled_ts, ex.started_ts, ex.finished_ts, ex.progress,
        cell(ex.progress_message), dumps(ex.output), cell(ex.error), cell(ex.traceback),
        dumps(dict(ex._metrics)) if ex._metrics else None, dumps(logs) if logs else None,
        ex.missed, ex.skipped, cell(_reason_text(ex)), _event_json(ex.event), owner,
    )  # fmt: skip


#: An abandoned execution (``Execution.abandoned``) keeps the flag in its reason column,
#: ``"timeout" + ABANDONED_SUFFIX``: no schema change for a flag few rows carry.
ABANDONED_SUFFIX = "; abandoned"


def _reason_text(ex: Execution) -> str | None:
    if ex.abandoned:
        return f"{ex.reason or ''}{ABANDONED_SUFFIX}"
    return ex.reason


def _read_reason(text: str | None) -> tuple[str | None, bool]:
    if text is not None and text.endswith(ABANDONED_SUFFIX):
        return text[: -len(ABANDONED_SUFFIX)] or None, True
    return text, False


#: The columns of a plain execution: one with no output, error, progress, metrics, logs, event
#: or reason (most of them). Those fields only ever go from empty to set, so a plain execution's
#: stored row has them empty too, and writing the short row is enough (and ~3 µs cheaper).
PLAIN_EXECUTION_COLUMNS = (
    "id", "task_id", "plugin_id", "task_name", "trigger_kind", "status", "attempt", "created_ts",
    "scheduled_ts", "started_ts", "finished_ts", "missed", "skipped", "owner",
)  # fmt: skip


def plain_execution_row(ex: Execution, owner: str) -> tuple[Any, ...] | None:
    """The row of :data:`PLAIN_EXECUTION_COLUMNS`, or None if ``ex`` is not plain."""
    if (
        ex.output is not None or ex.error is not None or ex.progress is not None
        or ex._metrics or ex._logs or ex.event is not None or ex.reason is not None
        or ex.traceback is not None or ex.progress_message is not None
    ):  # fmt: skip
        return None
    return (
        ex.id, ex.task_id, ex.plugin_id, ex.task_name, str(ex.trigger_kind), str(ex.status),
        ex.attempt, ex.created_ts, ex.scheduled_ts, ex.started_ts, ex.finished_ts, ex.missed,
        ex.skipped, owner,
    )  # fmt: skip


def execution_from_row(row: tuple[Any, ...]) -> Execution:
    """An execution from a row of :data:`EXECUTION_COLUMNS`."""
    r = dict(zip(EXECUTION_COLUMNS, texts(row), strict=True))
    reason, abandoned = _read_reason(r["reason"])
    ex = Execution(
        id=r["id"], task_id=r["task_id"], plugin_id=r["plugin_id"], task_name=r["task_name"],
        trigger_kind=TriggerKind(r["trigger_kind"]), scheduled_ts=r["scheduled_ts"],
        status=ExecutionStatus(r["status"]), attempt=r["attempt"], created_ts=r["created_ts"],
        started_ts=r["started_ts"], finished_ts=r["finished_ts"], progress=r["progress"],
        progress_message=r["progress_message"], output=loads(r["output"]), error=r["error"],
        traceback=r["traceback"], missed=r["missed"], skipped=r["skipped"], reason=reason,
        event=loads(r["event"]), abandoned=abandoned,
    )  # fmt: skip
    metrics = loads(r["metrics"])
    if metrics:
        ex.metrics = metrics
    logs = loads(r["logs"])
    if logs:
        ex.logs = (
            LogEntry(item["ts"], item["level"], item["message"], item.get("fields") or {},
                     item.get("attempt", 1))
            for item in logs
        )  # fmt: skip
    return ex
