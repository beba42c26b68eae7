"""What the task board sends to the page: compact, JSON-ready snapshots of the scheduler.

Pure functions of the scheduler's state (no widgets here), so the widget tests and the
benchmark can check them directly. Times travel as UTC POSIX seconds (the page computes
"in 3 s" and elapsed times itself, so they keep ticking between updates) plus, where the zone
matters, a string already formatted in the task's zone. Strings are sent as data; the page
puts them into the DOM with ``textContent`` only, so nothing here needs HTML escaping.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .._model.task import Execution, ExecutionStatus, Task, TaskStatus
from ..triggers import CronTrigger, EventTrigger
from ..triggers._tz import get_zone

__all__ = [
    "HISTORY_ROWS",
    "TaskStats",
    "execution_detail",
    "execution_row",
    "explain_notes",
    "next_fire_times",
    "retry_at",
    "run_state",
    "short_plugin",
    "store_health",
    "task_detail",
    "task_row",
    "task_state",
]

HISTORY_ROWS = 150  # newest executions in the History view
RECENT = 20  # executions per task behind "last result" and the success rate
FAILED = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})
MISSING_HINT = ("handler missing: this kernel has no handler for it (the kernel restarted?). "
                "Re-run the cell that defines the task to re-arm it.")  # fmt: skip


def ts3(value: float | None) -> float | None:
    """A timestamp as the page gets it (rounded to the millisecond)."""
    return None if value is None else round(value, 3)


_ts = ts3


def zone_of(task: Task, default: str) -> str:
    """The zone a task's times are shown in: its cron zone, else the scheduler's."""
    trigger = task.trigger
    return trigger.timezone if isinstance(trigger, CronTrigger) else default


def fmt_time(ts: float | None, zone: str, *, date: bool = True) -> str:
    """``2026-12-02 09:00:00 CET`` (or ``09:00:00`` with ``date=False``) in ``zone``."""
    if ts is None:
        return ""
    at = datetime.fromtimestamp(ts, get_zone(zone))
    return at.strftime("%Y-%m-%d %H:%M:%S %Z" if date else "%H:%M:%S")


def short_plugin(plugin_id: str) -> str:
    """``notebook:/a/b/analysis.ipynb`` -> ``notebook:analysis.ipynb`` (the full id on hover)."""
    kind, sep, path = plugin_id.partition(":")
    return f"{kind}:{path.rsplit('/', 1)[-1]}" if sep and "/" in path else plugin_id


class TaskStats:
    """A task's recent outcomes (kept up to date from the hooks): last result, success rate."""

    __slots__ = ("recent",)

    def __init__(self) -> None:
        self.recent: deque[Execution] = deque(maxlen=RECENT)

    def add(self, ex: Execution) -> None:
        """Record a finished execution (newest last)."""
        self.recent.append(ex)

    def last(self) -> Execution | None:
        """The newest finished execution."""
        return self.recent[-1] if self.recent else None

    def success(self) -> int | None:
        """Percent succeeded of the recent finished runs (cancelled ones not counted)."""
        done = [e for e in self.recent if e.status is not ExecutionStatus.CANCELLED]
        if not done:
            return None
        return round(100 * sum(e.status is ExecutionStatus.SUCCEEDED for e in done) / len(done))


def task_state(task: Task, stats: TaskStats | None) -> str:
    """The badge: ``missing``, ``paused``, ``completed``, ``failing`` or ``active``."""
    if task.handler_missing:
        return "missing"
    if task.status is not TaskStatus.ACTIVE:
        return str(task.status)
    last = stats.last() if stats else None
    return "failing" if last is not None and last.status in FAILED else "active"


def written(task: Task) -> str:
    """The trigger as written: ``cron '0 9 * * 1-5' Europe/Berlin``, ``interval 30 s``..."""
    spec = task.trigger.to_dict()
    kind = spec.pop("type")
    if kind == "cron":
        return f"cron '{spec['expression']}' {spec['timezone']}"
    if kind == "interval":
        anchor = f" from {spec['startAt']}" if "startAt" in spec else ""
        return f"interval {spec['seconds']:g} s{anchor}"
    return f"{kind} " + json.dumps(spec, sort_keys=True)


def last_result(ex: Execution | None) -> dict[str, Any] | None:
    """The compact last result of a row: status, duration, when, error."""
    if ex is None:
        return None
    return {"s": str(ex.status), "d": _ts(ex.duration), "t": _ts(ex.finished_ts),
            "e": ex.error or ex.reason or ""}  # fmt: skip


def task_row(task: Task, stats: TaskStats | None, mine: str, default_zone: str) -> dict[str, Any]:
    """One row of the table (short keys: 1,000 rows stay small)."""
    zone = zone_of(task, default_zone)
    return {
        "id": task.id,
        "name": task.name,
        "plugin": short_plugin(task.plugin_id),
        "pluginFull": task.plugin_id,
        "mine": task.plugin_id == mine,
        "schedule": task.describe(),
        "state": task_state(task, stats),
        "paused": task.status is TaskStatus.PAUSED,
        "completed": task.status is TaskStatus.COMPLETED,
        "next": _ts(task.next_run_ts),
        "nextText": fmt_time(task.next_run_ts, zone),
        "last": last_result(stats.last() if stats else None),
        "success": stats.success() if stats else None,
        "skip": task.skipped_count,
        "miss": task.missed_count,
        "excluded": task.excluded_count,
        "pauseReason": task.pause_reason or "",
        "runs": task.run_count,
        "tags": list(task.tags),
    }


def store_health(health: Any) -> dict[str, Any] | None:
    """The header's store notice: None while the store writes (or cannot tell)."""
    if health is None or getattr(health, "ok", True):
        return None
    waiting = int(getattr(health, "waiting", 0) or 0)
    return {"error": str(getattr(health, "error", None) or "unknown error"), "waiting": waiting,
            "since": _ts(getattr(health, "since", None)),
            "text": f"store not writing: {getattr(health, 'error', None) or 'unknown error'} "
                    f"({waiting} row{'' if waiting == 1 else 's'} waiting)"}  # fmt: skip


def retry_at(ex: Execution) -> float | None:
    """When the next attempt starts, while an execution waits between attempts (else None)."""
    logs = ex._logs
    if not logs:
        return None
    entry = logs[-1]
    delay = entry.fields.get("delay")
    if entry.attempt != ex.attempt or not isinstance(delay, int | float):
        return None
    return round(entry.ts + delay, 3)


def run_state(task: Task, ex: Execution) -> dict[str, Any]:
    """A live execution, as its row's progress bar shows it."""
    return {
        "id": ex.id,
        "task": task.id,
        "status": str(ex.status),
        "pct": None if ex.progress is None else round(ex.progress, 1),
        "msg": ex.progress_message or "",
        "attempt": ex.attempt,
        "attempts": task.retry.max_attempts,
        "started": _ts(ex.started_ts),
        "retryAt": retry_at(ex),
    }


def execution_row(ex: Execution, zone: str) -> dict[str, Any]:
    """One execution in the History view and the detail view."""
    late = None
    if ex.started_ts is not None:
        late = round(max(0.0, ex.started_ts - ex.scheduled_ts), 3)
    return {
        "id": ex.id,
        "task": ex.task_id,
        "name": ex.task_name,
        "status": str(ex.status),
        "kind": str(ex.trigger_kind),
        "sched": _ts(ex.scheduled_ts),
        "start": _ts(ex.started_ts),
        "end": _ts(ex.finished_ts),
        "schedText": fmt_time(ex.scheduled_ts, zone),
        "startText": fmt_time(ex.started_ts or ex.scheduled_ts, zone),
        "endText": fmt_time(ex.finished_ts, zone, date=False),
        "dur": _ts(ex.duration),
        "late": late,
        "attempt": ex.attempt,
        "error": ex.error or "",
    }


Notes = dict[float, tuple[str, str]]  # fire time -> (DST note, calendar skip reason)


def explain_notes(rows: Iterable[dict[str, Any]]) -> Notes:
    """``explain_rows`` output keyed by fire time: (what DST did there, the calendar's skip)."""
    return {round(r["utc"].timestamp(), 3): (r.get("note") or "", r.get("excluded") or "")
            for r in rows}  # fmt: skip


def next_fire_times(task: Task, now: float, zone: str, count: int = 5,
                    notes: Notes | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The next ``count`` fire times in ``zone``; ``change`` says where the UTC offset moves.

    ``notes`` (from :func:`explain_notes`) adds ``note`` (a DST note) and ``excluded`` (why
    the task's calendar skips that time) to the rows they match.
    """
    out: list[dict[str, Any]] = []
    if task.status is not TaskStatus.ACTIVE:
        return out
    tz = get_zone(zone)
    previous = datetime.fromtimestamp(now, tz).utcoffset()
    ts: float | None = now
    while len(out) < count and ts is not None:
        ts = task.trigger.next_fire_timestamp(ts)
        if ts is None:
            break
        at = datetime.fromtimestamp(ts, tz)
        offset = at.utcoffset()
        change = ""
        if offset != previous:
            change = f"UTC offset changes to {at.strftime('%z')[:3]}:{at.strftime('%z')[3:]}"
        previous = offset
        note, excluded = (notes or {}).get(round(ts, 3), ("", ""))
        out.append({"ts": round(ts, 3), "text": at.strftime("%a %Y-%m-%d %H:%M:%S %Z"),
                    "change": change, "note": note, "excluded": excluded})  # fmt: skip
    return out


def no_next_text(task: Task) -> str:
    """What the detail says where a task has no next fire time: its event, or why not."""
    trigger = task.trigger
    if isinstance(trigger, EventTrigger):
        source = f" from {trigger.event_source!r}" if trigger.event_source else ""
        return f"none: it runs on its event {trigger.event_type!r}{source} (scheduler.emit)"
    if task.status is TaskStatus.ACTIVE:
        return "no more fire times"
    return f"none ({task.status})"


def task_detail(task: Task, executions: Iterable[Execution], now: float, default_zone: str,
                notes: Notes | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything the detail view of one task shows (``notes``: see :func:`next_fire_times`)."""
    zone = zone_of(task, default_zone)
    retry = task.retry
    settings = [
        ("retry", f"{retry.max_attempts} attempt(s), {retry.delay_seconds:g} s apart"
                  + (f", x{retry.backoff:g} backoff" if retry.backoff != 1 else "")),
        ("timeout", "none" if task.timeout is None else f"{task.timeout:g} s per attempt"),
        ("overlap", str(task.overlap)),
        ("misfire", f"{task.misfire} (grace {task.misfire_grace_seconds:g} s)"),
        ("executor", task.executor),
        ("zone", zone),
    ]  # fmt: skip
    if task.jitter_seconds:
        settings.append(("jitter", f"up to {task.jitter_seconds:g} s"))
    if task.status is TaskStatus.PAUSED:
        settings.append(("paused", task.pause_reason or "by hand (no reason given)"))
    if task.excluded_count:
        settings.append(("calendar skips", str(task.excluded_count)))
    return {
        "id": task.id,
        "name": task.name,
        "description": task.description,
        "plugin": task.plugin_id,
        "words": task.describe(),
        "written": written(task),
        "tags": list(task.tags),
        "status": str(task.status),
        "missing": MISSING_HINT if task.handler_missing else "",
        "next": next_fire_times(task, now, zone, notes=notes),
        "noNext": no_next_text(task),
        "settings": [list(pair) for pair in settings],
        "executions": [execution_row(ex, zone) for ex in executions],
    }


def execution_detail(ex: Execution, zone: str) -> dict[str, Any]:
    """One execution's log lines and traceback (for the detail view)."""
    logs = [[round(e.ts, 3), fmt_time(e.ts, zone, date=False), e.level, e.message, e.attempt]
            for e in ex._logs or ()]  # fmt: skip
    return {
        **execution_row(ex, zone),
        "reason": ex.reason or "",
        "traceback": ex.traceback or "",
        "logs": logs,
    }
