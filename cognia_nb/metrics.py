"""Prometheus metrics (and OpenTelemetry spans) for a scheduler, on request.

Needs the ``metrics`` extra (``pip install 'cognia_nb[metrics]'``, which brings
``prometheus_client``). Nothing is collected until :func:`enable_metrics` (or
:func:`start_metrics_server`) is called: it adds hook listeners to the scheduler and registers
one collector. Metrics (labels ``task``, ``plugin``):

* ``cognia_executions_total{status}`` - finished executions by final status;
* ``cognia_execution_duration_seconds`` - histogram of start-to-finish times;
* ``cognia_execution_lateness_seconds`` - histogram of start minus scheduled time;
* ``cognia_executions_running`` - executions running now (no task label);
* ``cognia_task_missed_total``, ``cognia_task_skipped_total``, ``cognia_task_excluded_total``
  - the task's counters (late firings not run, overlap skips, calendar exclusions);
* ``cognia_tasks{status}`` - tasks by status.

OpenTelemetry: :func:`enable_tracing` makes each execution a span (``cognia.execution``; the
``otel`` extra, see ``cognia_nb/_tracing.py`` for its attributes). :func:`enable_metrics` turns
it on too when ``opentelemetry-api`` is importable (and off again at ``close()`` if it turned
it on); without it nothing happens.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import MissingDependencyError, TaskValidationError
from ._model.task import Execution, Task
from ._tracing import ExecutionTracer, enable_tracing, otel_available, tracer_of

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from ._engine.scheduler import Scheduler

__all__ = ["DURATION_BUCKETS", "ExecutionTracer", "MetricsExporter", "MetricsServer",
           "enable_metrics", "enable_tracing", "start_metrics_server"]  # fmt: skip

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)
DEFAULT_PORT = 9464  # the port OpenTelemetry's Prometheus exporter uses too
_exporters: dict[tuple[int, int], MetricsExporter] = {}
_lock = threading.Lock()


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise MissingDependencyError("prometheus_client", "metrics") from None
    return prometheus_client


class _Histogram:
    """Bucket counts, a sum and a count (what a Prometheus histogram exposes)."""

    __slots__ = ("buckets", "count", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * len(DURATION_BUCKETS)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(DURATION_BUCKETS):
            if value <= bound:
                self.buckets[i] += 1
        self.count += 1
        self.sum += value

    def exposed(self) -> list[tuple[str, float]]:
        pairs = [(repr(b), float(n)) for b, n in zip(DURATION_BUCKETS, self.buckets, strict=True)]
        return [*pairs, ("+Inf", float(self.count))]


class MetricsExporter:
    """Counts a scheduler's executions from its hooks; a Prometheus collector.

    Made by :func:`enable_metrics`; :meth:`close` removes the listeners and the collector.
    """

    def __init__(self, scheduler: Scheduler, registry: CollectorRegistry) -> None:
        self.scheduler = scheduler
        self.registry = registry
        self._lock = threading.Lock()
        self._by_status: dict[tuple[str, str, str], int] = {}
        self._durations: dict[tuple[str, str], _Histogram] = {}
        self._lateness: dict[tuple[str, str], _Histogram] = {}
        # spans too, when OpenTelemetry is there and tracing is not on already
        self._tracing: ExecutionTracer | None = None
        if otel_available() and tracer_of(scheduler) is None:
            self._tracing = enable_tracing(scheduler)
        self._remove = [
            scheduler.on("task_start", self._started),
            scheduler.on("task_complete", self._finished),
            scheduler.on("task_error", self._finished),
        ]
        registry.register(self)

    def _started(self, task: Task, ex: Execution) -> None:
        key = (task.name, task.plugin_id)
        if ex.started_ts is not None:
            with self._lock:
                late = max(0.0, ex.started_ts - ex.scheduled_ts)
                self._lateness.setdefault(key, _Histogram()).observe(late)

    def _finished(self, task: Task, ex: Execution, _result: Any) -> None:
        key = (task.name, task.plugin_id)
        with self._lock:
            status_key = (task.name, task.plugin_id, str(ex.status))
            self._by_status[status_key] = self._by_status.get(status_key, 0) + 1
            if ex.duration is not None:
                self._durations.setdefault(key, _Histogram()).observe(ex.duration)

    def collect(self) -> Iterator[Any]:
        """The metric families (called by prometheus_client on each scrape, any thread)."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        labels = ["task", "plugin"]
        runs = CounterMetricFamily("cognia_executions", "Finished executions by final status",
                                   labels=[*labels, "status"])  # fmt: skip
        with self._lock:
            for (name, plugin, status), n in sorted(self._by_status.items()):
                runs.add_metric([name, plugin, status], n)
            histograms = [
                ("cognia_execution_duration_seconds", "Start-to-finish seconds", self._durations),
                ("cognia_execution_lateness_seconds", "Start minus scheduled time, seconds",
                 self._lateness),
            ]  # fmt: skip
            families = []
            for metric, text, data in histograms:
                family = HistogramMetricFamily(metric, text, labels=labels)
                for (name, plugin), hist in sorted(data.items()):
                    family.add_metric([name, plugin], hist.exposed(), hist.sum)
                families.append(family)
        yield runs
        yield from families
        yield from self._task_families(CounterMetricFamily, GaugeMetricFamily)

    def _task_families(self, counter: Any, gauge: Any) -> Iterator[Any]:
        tasks = list(self.scheduler._tasks.values())  # a snapshot (the loop may add more)
        counts = [
            ("cognia_task_missed", "Late firings not run (misfire policy)", "missed_count"),
            ("cognia_task_skipped", "Firings skipped while the task still ran", "skipped_count"),
            ("cognia_task_excluded", "Due times excluded by the task's calendar",
             "excluded_count"),
        ]  # fmt: skip
        for metric, text, attr in counts:
            family = counter(metric, text, labels=["task", "plugin"])
            for task in tasks:
                family.add_metric([task.name, task.plugin_id], getattr(task, attr, 0))
            yield family
        by_status = gauge("cognia_tasks", "Tasks by status", labels=["status"])
        for status in ("active", "paused", "completed"):
            by_status.add_metric([status], sum(1 for t in tasks if t.status == status))
        yield by_status
        running = gauge("cognia_executions_running", "Executions running now")
        running.add_metric([], self.scheduler._runner.active)
        yield running

    def close(self) -> None:
        """Stop counting: remove the hook listeners and unregister the collector."""
        for remove in self._remove:
            remove()
        self._remove = []
        if self._tracing is not None:
            self._tracing.close()
            self._tracing = None
        with _lock:
            _exporters.pop((id(self.scheduler), id(self.registry)), None)
        with contextlib.suppress(KeyError):
            self.registry.unregister(self)


def enable_metrics(
    scheduler: Scheduler | None = None, registry: CollectorRegistry | None = None
) -> MetricsExporter:
    """Start collecting a scheduler's metrics into a registry (idempotent).

    Args:
        scheduler: default: the kernel's (``cognia_nb.get_scheduler()``).
        registry: default: ``prometheus_client.REGISTRY`` (what ``start_http_server`` and
            most exporters read).

    Raises:
        MissingDependencyError: ``prometheus_client`` is not installed (the ``metrics`` extra).
    """
    prom = _prometheus()
    if scheduler is None:
        from ._default import get_scheduler

        scheduler = get_scheduler()
    registry = registry if registry is not None else prom.REGISTRY
    with _lock:
        key = (id(scheduler), id(registry))
        exporter = _exporters.get(key)
        if exporter is None:
            exporter = _exporters[key] = MetricsExporter(scheduler, registry)
    return exporter


@dataclass
class MetricsServer:
    """A running ``/metrics`` HTTP server (from :func:`start_metrics_server`)."""

    url: str
    exporter: MetricsExporter
    _server: Any
    _thread: threading.Thread

    def close(self) -> None:
        """Stop serving (the exporter keeps counting; ``exporter.close()`` stops that)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(
    port: int = DEFAULT_PORT,
    addr: str = "127.0.0.1",
    *,
    scheduler: Scheduler | None = None,
    registry: CollectorRegistry | None = None,
) -> MetricsServer:
    """Serve the scheduler's metrics over HTTP (``http://127.0.0.1:9464/metrics``).

    Args:
        port: TCP port (0: any free port; the returned ``url`` says which).
        addr: the address to bind; 127.0.0.1 by default, so nothing is exposed beyond this
            machine unless asked for (``addr="0.0.0.0"``).
        scheduler: default: the kernel's.
        registry: default: ``prometheus_client.REGISTRY``.

    Raises:
        MissingDependencyError: the ``metrics`` extra is not installed.
        TaskValidationError: a port outside 0-65535.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise TaskValidationError(
            f"port must be an integer from 0 to 65535, got {port!r}", field="port", value=port
        )
    prom = _prometheus()
    exporter = enable_metrics(scheduler, registry)
    server, thread = prom.start_http_server(port, addr=addr, registry=exporter.registry)
    host, bound = server.server_address[:2]
    return MetricsServer(f"http://{host}:{bound}/metrics", exporter, server, thread)
