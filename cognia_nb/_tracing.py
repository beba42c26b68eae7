"""OpenTelemetry spans for executions, on request (``cognia_nb.metrics.enable_tracing``).

Needs ``opentelemetry-api`` (the ``otel`` extra; an SDK or another exporter decides where the
spans go). One span ``cognia.execution`` per execution that started, from its start to its
finish, timed by the scheduler's clock (so a span matches the execution's ``started_at`` and
``finished_at``, also under a :class:`~cognia_nb.testing.FakeClock`). Attributes:
``cognia.task``, ``cognia.plugin``, ``cognia.execution_id``, ``cognia.trigger_kind``,
``cognia.scheduled_at`` (ISO) and, at the finish, ``cognia.status`` and ``cognia.attempt`` (the
attempts it took). A failed, timed out, cancelled or interrupted execution ends with the span
status ``ERROR`` (its description: the first line of the error) and an ``exception`` event
carrying the error and the traceback.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ._errors import MissingDependencyError
from ._model.task import Execution, ExecutionStatus, Task

if TYPE_CHECKING:
    from ._engine.scheduler import Scheduler

__all__ = ["SPAN_NAME", "ExecutionTracer", "enable_tracing", "otel_available", "tracer_of"]

SPAN_NAME = "cognia.execution"
_tracers: dict[int, ExecutionTracer] = {}
_lock = threading.Lock()


def _trace_api() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:
        raise MissingDependencyError("opentelemetry-api", "otel") from None
    return trace


def otel_available() -> bool:
    """Whether ``opentelemetry-api`` can be imported."""
    try:
        _trace_api()
    except MissingDependencyError:
        return False
    return True


def _ns(ts: float | None) -> int | None:
    return None if ts is None else int(ts * 1e9)


class ExecutionTracer:
    """One span per execution of a scheduler, from its hooks (made by :func:`enable_tracing`).

    :meth:`close` removes the listeners and ends the spans still open.
    """

    def __init__(self, scheduler: Scheduler, tracer_provider: Any = None) -> None:
        trace = _trace_api()
        self.scheduler = scheduler
        self.tracer_provider = tracer_provider
        self._trace = trace
        self._tracer = trace.get_tracer("cognia_nb", tracer_provider=tracer_provider)
        self._spans: dict[str, Any] = {}
        self._remove = [
            scheduler.on("task_start", self._started),
            scheduler.on("task_complete", self._finished),
            scheduler.on("task_error", self._finished),
        ]

    def _started(self, task: Task, ex: Execution) -> None:
        self._spans[ex.id] = self._tracer.start_span(
            SPAN_NAME,
            start_time=_ns(ex.started_ts),
            attributes={
                "cognia.task": task.name,
                "cognia.plugin": task.plugin_id,
                "cognia.execution_id": ex.id,
                "cognia.trigger_kind": str(ex.trigger_kind),
                "cognia.scheduled_at": ex.scheduled_at.isoformat(),
            },
        )

    def _finished(self, task: Task, ex: Execution, _result: Any) -> None:
        span = self._spans.pop(ex.id, None)
        if span is None:
            return  # cancelled before it started: no span
        span.set_attribute("cognia.status", str(ex.status))
        span.set_attribute("cognia.attempt", ex.attempt)
        if ex.status is not ExecutionStatus.SUCCEEDED:
            error = ex.error or f"execution {ex.status}"
            status = self._trace.Status(self._trace.StatusCode.ERROR, error.splitlines()[0])
            span.set_status(status)
            event = {"exception.type": error.partition(":")[0], "exception.message": error}
            if ex.traceback:
                event["exception.stacktrace"] = ex.traceback
            span.add_event("exception", event, timestamp=_ns(ex.finished_ts))
        span.end(end_time=_ns(ex.finished_ts))

    @property
    def open_spans(self) -> int:
        """Spans of executions still running."""
        return len(self._spans)

    def close(self) -> None:
        """Remove the listeners; spans still open end now (status ``UNSET``)."""
        for remove in self._remove:
            remove()
        self._remove = []
        for span in self._spans.values():
            span.set_attribute("cognia.status", "unfinished (tracing closed)")
            span.end()
        self._spans.clear()
        with _lock:
            if _tracers.get(id(self.scheduler)) is self:
                del _tracers[id(self.scheduler)]


def tracer_of(scheduler: Scheduler) -> ExecutionTracer | None:
    """The scheduler's tracer, if tracing is on."""
    with _lock:
        tracer = _tracers.get(id(scheduler))
    return tracer if tracer is not None and tracer.scheduler is scheduler else None


def enable_tracing(
    scheduler: Scheduler | None = None, tracer_provider: Any = None
) -> ExecutionTracer:
    """Make a span of each execution of ``scheduler`` (idempotent per scheduler).

    Args:
        scheduler: default: the kernel's (``cognia_nb.get_scheduler()``).
        tracer_provider: an OpenTelemetry ``TracerProvider``; default: the global one
            (``opentelemetry.trace.set_tracer_provider``). Asking again with another provider
            replaces the scheduler's tracer.

    Raises:
        MissingDependencyError: ``opentelemetry-api`` is not installed (the ``otel`` extra).
    """
    _trace_api()
    if scheduler is None:
        from ._default import get_scheduler

        scheduler = get_scheduler()
    with _lock:
        tracer = _tracers.get(id(scheduler))
    if tracer is not None and tracer.scheduler is not scheduler:
        tracer = None  # (a scheduler gone, its id reused)
    if tracer is not None and tracer.tracer_provider is tracer_provider:
        return tracer
    if tracer is not None:
        tracer.close()
    tracer = ExecutionTracer(scheduler, tracer_provider)
    with _lock:
        _tracers[id(scheduler)] = tracer
    return tracer
