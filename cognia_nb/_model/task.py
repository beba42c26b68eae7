"""The data the scheduler keeps: tasks, executions, retry policies and results.

Instants are stored as UTC timestamps (``*_ts`` floats, cheap for a heap and a store) and
shown as aware datetimes through properties (UTC for executions; the task's zone for a task's
next run).
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .._errors import TaskValidationError
from ..triggers import CronTrigger, Trigger
from .calendar import Calendar

__all__ = [
    "DEFAULT_RETRY",
    "Execution",
    "ExecutionStatus",
    "LogEntry",
    "Misfire",
    "Overlap",
    "RetryPolicy",
    "Task",
    "TaskResult",
    "TaskStatus",
    "TriggerKind",
    "to_datetime",
]

MAX_LOG_ENTRIES = 200


class TaskStatus(enum.StrEnum):
    """A task's state: ``active``, ``paused`` or ``completed`` (a once task that ran)."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class ExecutionStatus(enum.StrEnum):
    """An execution's state; the last five are final."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """Whether this status is final."""
        return self not in _OPEN


# The statuses that are not final. (On Python 3.11 reading an enum member as a class attribute
# goes through the enum metaclass's ``__getattr__`` hook, about 0.3 us each: the engine's hot
# paths read members from module globals like this one.)
_OPEN = frozenset({ExecutionStatus.PENDING, ExecutionStatus.RUNNING})


class TriggerKind(enum.StrEnum):
    """What started an execution."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    EVENT = "event"
    RETRY = "retry"
    BACKFILL = "backfill"


class Overlap(enum.StrEnum):
    """What a firing does while the task's previous execution still runs."""

    SKIP = "skip"
    QUEUE = "queue"
    ALLOW = "allow"
    REPLACE = "replace"


class Misfire(enum.StrEnum):
    """What late firings (a blocked loop, a sleeping laptop, a restart) do."""

    COALESCE = "coalesce"
    SKIP = "skip"
    RUN_ALL = "run_all"


def to_datetime(ts: float | None) -> datetime | None:
    """A UTC timestamp as an aware UTC datetime (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _positive(value: object, field_name: str, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TaskValidationError(
            f"{field_name} must be a finite number of seconds, got {value!r}",
            field=field_name,
            value=value,
        )
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise TaskValidationError(
            f"{field_name} must be {bound}, got {value!r}", field=field_name, value=value
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts inside one execution.

    Attributes:
        max_attempts: all attempts, the first included (1 = no retry).
        delay_seconds: wait before the second attempt.
        backoff: multiply the delay by this after each retry (1 = constant).
        max_delay_seconds: cap on the delay (None = no cap).
    """

    max_attempts: int = 1
    delay_seconds: float = 60.0
    backoff: float = 1.0
    max_delay_seconds: float | None = None

    def __post_init__(self) -> None:
        n = self.max_attempts
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
            raise TaskValidationError(
                f"retry.maxAttempts must be an integer from 1 to 100 (all attempts, the first "
                f"included), got {n!r}",
                field="retry.maxAttempts",
                value=n,
            )
        _positive(self.delay_seconds, "retry.delaySeconds")
        backoff = _positive(self.backoff, "retry.backoff")
        if backoff < 1:
            raise TaskValidationError(
                f"retry.backoff must be >= 1, got {backoff!r}", field="retry.backoff", value=backoff
            )
        if self.max_delay_seconds is not None:
            _positive(self.max_delay_seconds, "retry.maxDelaySeconds")

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2, 3, ...)."""
        delay = self.delay_seconds * self.backoff ** max(0, attempt - 2)
        if self.max_delay_seconds is not None:
            delay = min(delay, self.max_delay_seconds)
        return delay

    def to_dict(self) -> dict[str, Any]:
        """The seed's camelCase shape."""
        out: dict[str, Any] = {"maxAttempts": self.max_attempts, "delaySeconds": self.delay_seconds}
        if self.backoff != 1:
            out["backoff"] = self.backoff
        if self.max_delay_seconds is not None:
            out["maxDelaySeconds"] = self.max_delay_seconds
        return out


#: No retry: one attempt. Policies are immutable, so every task without one shares this.
DEFAULT_RETRY = RetryPolicy()


@dataclass(slots=True)
class TaskResult:
    """What a handler returns (or what its return value is read as).

    A returned dict with a ``success`` key is read as a TaskResult; ``None`` is success; any
    other value becomes ``output``. ``success=False`` is a failed attempt.
    """

    success: bool = True
    output: Any = None
    error: str | None = None
    metrics: dict[str, Any] | None = None

    @classmethod
    def from_value(cls, value: Any) -> TaskResult:
        """Normalise a handler's return value."""
        if isinstance(value, TaskResult):
            return value
        if isinstance(value, dict) and "success" in value:
            metrics = value.get("metrics")
            error = value.get("error")
            return cls(
                success=bool(value["success"]),
                output=value.get("output"),
                error=None if error is None else str(error),
                metrics=dict(metrics) if isinstance(metrics, dict) else None,
            )
        return cls(success=True, output=value)


@dataclass(slots=True)
class LogEntry:
    """One ``context.log`` line kept on an execution."""

    ts: float
    level: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1

    @property
    def time(self) -> datetime:
        """When it was logged (UTC)."""
        return datetime.fromtimestamp(self.ts, UTC)


@dataclass(slots=True, eq=False)
class Task:
    """A scheduled task. Identified by ``(plugin_id, name)``; ``id`` is derived from both."""

    id: str
    plugin_id: str
    name: str
    handler: str
    trigger: Trigger
    description: str = ""
    args: Any = None
    retry: RetryPolicy = DEFAULT_RETRY
    timeout: float | None = 300.0
    tags: tuple[str, ...] = ()
    status: TaskStatus = TaskStatus.ACTIVE
    overlap: Overlap = Overlap.SKIP
    misfire: Misfire = Misfire.COALESCE
    misfire_grace_seconds: float = 1.0
    jitter_seconds: float = 0.0
    executor: str = "default"
    created_ts: float = 0.0
    updated_ts: float = 0.0
    next_run_ts: float | None = None
    last_run_ts: float | None = None
    skipped_count: int = 0
    missed_count: int = 0
    run_count: int = 0
    handler_missing: bool = False
    # Policies (``_model/policies.py``, ``_engine/policies.py``): pause after N failures in a
    # row, the calendar.
    max_consecutive_failures: int | None = None
    consecutive_failures: int = 0
    pause_reason: str | None = None
    calendar: Calendar | None = None
    excluded_count: int = 0
    last_excluded: str | None = None
    # Free-form user data; most tasks have none, so the dict is made on first use.
    _metadata: dict[str, Any] | None = field(default=None, init=False, repr=False)
    # Bumped by a store each time the firing state is saved (stores/_states.py).
    _state_seq: int = field(default=0, init=False, repr=False)
    # The stored state's version this process last wrote or read (stores/_states.py).
    _version: int = field(default=0, init=False, repr=False)

    @property
    def metadata(self) -> dict[str, Any]:
        """Free-form data kept with the task (a dict; made on first use)."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any] | None) -> None:
        self._metadata = dict(value) if value else None

    @property
    def next_run_at(self) -> datetime | None:
        """The next scheduled fire time, in the task's zone (cron) or UTC."""
        if self.next_run_ts is None:
            return None
        trigger = self.trigger
        if isinstance(trigger, CronTrigger):
            return datetime.fromtimestamp(self.next_run_ts, trigger._zone)
        return datetime.fromtimestamp(self.next_run_ts, UTC)

    @property
    def last_run_at(self) -> datetime | None:
        """When the last execution started (UTC)."""
        return to_datetime(self.last_run_ts)

    @property
    def created_at(self) -> datetime:
        """When the task was first created (UTC)."""
        return datetime.fromtimestamp(self.created_ts, UTC)

    @property
    def enabled(self) -> bool:
        """False while paused."""
        return self.status is not TaskStatus.PAUSED

    def describe(self) -> str:
        """The schedule in words, with the zone."""
        return self.trigger.describe()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict with the seed's camelCase keys."""
        return {
            "id": self.id,
            "pluginId": self.plugin_id,
            "name": self.name,
            "description": self.description,
            "handler": self.handler,
            "trigger": self.trigger.to_dict(),
            "args": self.args,
            "retry": self.retry.to_dict(),
            "timeout": self.timeout,
            "tags": list(self.tags),
            "status": str(self.status),
            "overlap": str(self.overlap),
            "misfire": str(self.misfire),
            "misfireGraceSeconds": self.misfire_grace_seconds,
            "jitterSeconds": self.jitter_seconds,
            "executor": self.executor,
            "nextRunAt": None if self.next_run_at is None else self.next_run_at.isoformat(),
            "lastRunAt": None if self.last_run_at is None else self.last_run_at.isoformat(),
            "createdAt": self.created_at.isoformat(),
            "skippedCount": self.skipped_count,
            "missedCount": self.missed_count,
            "handlerMissing": self.handler_missing,
            "maxConsecutiveFailures": self.max_consecutive_failures,
            "consecutiveFailures": self.consecutive_failures,
            "pauseReason": self.pause_reason,
            "excludedCount": self.excluded_count,
            "lastExcluded": self.last_excluded,
            "calendar": None if self.calendar is None else self.calendar.to_dict(),
        }

    def __repr__(self) -> str:
        return (
            f"<Task {self.name!r} id={self.id} plugin={self.plugin_id!r} {self.status} "
            f"{self.trigger.describe()!r}>"
        )


@dataclass(slots=True, eq=False)
class Execution:
    """One firing of a task (schedule, manual or event); retries are attempts inside it."""

    id: str
    task_id: str
    plugin_id: str
    task_name: str
    trigger_kind: TriggerKind
    scheduled_ts: float
    status: ExecutionStatus = ExecutionStatus.PENDING
    attempt: int = 0
    created_ts: float = 0.0
    started_ts: float | None = None
    finished_ts: float | None = None
    progress: float | None = None
    progress_message: str | None = None
    output: Any = None
    error: str | None = None
    traceback: str | None = None
    missed: int = 0
    skipped: int = 0
    event: Any = None
    reason: str | None = None  # why it was cancelled / interrupted / timed out (or is ending)
    # Given up on: its handler did not return within the grace after the abort (a sync
    # handler's thread, or an async handler swallowing cancellation, still runs).
    abandoned: bool = False
    # Most executions never log a line or report a metric: both containers are made on first
    # use (an empty bounded deque alone is larger than the rest of the record).
    _metrics: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _logs: deque[LogEntry] | None = field(default=None, init=False, repr=False)

    @property
    def metrics(self) -> dict[str, Any]:
        """Metrics the handler reported (a dict; made on first use)."""
        if self._metrics is None:
            self._metrics = {}
        return self._metrics

    @metrics.setter
    def metrics(self, value: dict[str, Any]) -> None:
        self._metrics = dict(value)

    @property
    def logs(self) -> deque[LogEntry]:
        """The last ``MAX_LOG_ENTRIES`` log lines, oldest first (made on first use)."""
        if self._logs is None:
            self._logs = deque(maxlen=MAX_LOG_ENTRIES)
        return self._logs

    @logs.setter
    def logs(self, value: Iterable[LogEntry]) -> None:
        self._logs = deque(value, maxlen=MAX_LOG_ENTRIES)

    @property
    def scheduled_at(self) -> datetime:
        """The fire time this execution stands for (UTC)."""
        return datetime.fromtimestamp(self.scheduled_ts, UTC)

    @property
    def started_at(self) -> datetime | None:
        """When the first attempt started (UTC)."""
        return to_datetime(self.started_ts)

    @property
    def finished_at(self) -> datetime | None:
        """When it reached a final status (UTC)."""
        return to_datetime(self.finished_ts)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish."""
        if self.started_ts is None or self.finished_ts is None:
            return None
        return self.finished_ts - self.started_ts

    @property
    def finished(self) -> bool:
        """Whether the status is final."""
        return self.status not in _OPEN

    @property
    def cancelling(self) -> bool:
        """Running, but aborted (cancelled, timed out, replaced, shutdown): the handler is
        winding down; ``reason`` says why. The final status comes when it has returned."""
        return self.status is ExecutionStatus.RUNNING and self.reason is not None

    @property
    def result(self) -> TaskResult:
        """The outcome as a :class:`TaskResult`."""
        return TaskResult(
            success=self.status is ExecutionStatus.SUCCEEDED,
            output=self.output,
            error=self.error,
            metrics=dict(self._metrics or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict with the seed's camelCase keys."""

        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "taskId": self.task_id,
            "pluginId": self.plugin_id,
            "taskName": self.task_name,
            "triggerKind": str(self.trigger_kind),
            "status": str(self.status),
            "attempt": self.attempt,
            "scheduledAt": self.scheduled_at.isoformat(),
            "startedAt": iso(self.started_at),
            "finishedAt": iso(self.finished_at),
            "progress": self.progress,
            "progressMessage": self.progress_message,
            "output": self.output,
            "error": self.error,
            "metrics": dict(self._metrics or {}),
            "missed": self.missed,
            "skipped": self.skipped,
            "reason": self.reason,
            "cancelling": self.cancelling,
            "abandoned": self.abandoned,
            "logs": [
                {"time": e.time.isoformat(), "level": e.level, "message": e.message, **e.fields}
                for e in self._logs or ()
            ],
        }

    def __repr__(self) -> str:
        return f"<Execution {self.id} task={self.task_name!r} {self.status} attempt={self.attempt}>"
