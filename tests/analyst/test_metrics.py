"""cognia_nb.metrics: scraped over HTTP on 127.0.0.1 from a running scheduler and parsed."""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any

import pytest

from cognia_nb import Scheduler, TaskContext, TaskValidationError
from cognia_nb.metrics import enable_metrics, enable_tracing, start_metrics_server
from cognia_nb.testing import FakeClock

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def scrape(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(families: dict[str, Any], name: str, suffix: str = "", **labels: str) -> float:
    for s in families[name].samples:
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    raise AssertionError(f"no sample {name}{suffix} {labels} in {families[name].samples}")


async def test_scrape_a_running_scheduler(fake_scheduler: Scheduler, fake_clock: FakeClock) -> None:
    registry = prometheus_client.CollectorRegistry()
    server = start_metrics_server(0, scheduler=fake_scheduler, registry=registry)
    try:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/metrics")
        calls = {"n": 0}

        async def flaky(ctx: TaskContext) -> None:
            calls["n"] += 1
            await ctx.sleep(2)
            if calls["n"] % 3 == 0:
                raise RuntimeError("every third run fails")

        async def forever(ctx: TaskContext) -> None:
            await ctx.sleep(10_000)

        fake_scheduler.create_task(name="flaky", handler=flaky,
                                   trigger={"type": "interval", "seconds": 60})  # fmt: skip
        fake_scheduler.create_task(name="slow", handler=forever,
                                   trigger={"type": "interval", "seconds": 100})  # fmt: skip
        await fake_clock.advance(365)  # flaky: 6 runs (2 failed); slow: running, 2 skipped
        families = await asyncio.to_thread(scrape, server.url)
        assert sample(families, "cognia_executions", "_total", task="flaky",
                      status="succeeded") == 4  # fmt: skip
        assert sample(families, "cognia_executions", "_total", task="flaky",
                      status="failed") == 2  # fmt: skip
        assert sample(families, "cognia_execution_duration_seconds", "_count", task="flaky") == 6
        assert sample(families, "cognia_execution_duration_seconds", "_sum", task="flaky") == 12
        assert sample(families, "cognia_execution_duration_seconds", "_bucket", task="flaky",
                      le="1.0") == 0  # fmt: skip
        assert sample(families, "cognia_execution_duration_seconds", "_bucket", task="flaky",
                      le="5.0") == 6  # fmt: skip
        assert sample(families, "cognia_execution_lateness_seconds", "_count", task="slow") == 1
        assert sample(families, "cognia_executions_running") == 1
        assert sample(families, "cognia_task_skipped", "_total", task="slow") == 2
        assert sample(families, "cognia_task_missed", "_total", task="flaky") == 0
        assert sample(families, "cognia_tasks", status="active") == 2
    finally:
        server.close()
        server.exporter.close()
    assert list(registry.collect()) == []  # the collector is gone


async def test_enable_is_idempotent_and_close_stops_counting(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    registry = prometheus_client.CollectorRegistry()
    exporter = enable_metrics(fake_scheduler, registry)
    assert enable_metrics(fake_scheduler, registry) is exporter
    fake_scheduler.create_task(name="t", handler=lambda: None,
                               trigger={"type": "interval", "seconds": 60})  # fmt: skip
    await fake_clock.advance(60)
    await asyncio.sleep(0.05)  # the sync handler's thread
    text = prometheus_client.generate_latest(registry).decode()
    assert 'cognia_executions_total{plugin="default",status="succeeded",task="t"} 1.0' in text
    exporter.close()
    assert not fake_scheduler.hooks.active


def test_bad_port_is_refused() -> None:
    with pytest.raises(TaskValidationError, match=r"port must be an integer from 0 to 65535"):
        start_metrics_server(70000)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from cognia_nb import MissingDependencyError

    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails as if absent
    with pytest.raises(MissingDependencyError, match=r"pip install 'cognia_nb\[metrics\]'"):
        enable_metrics(Scheduler())


def span_recorder() -> tuple[Any, Any]:
    """A tracer provider of the OpenTelemetry SDK and the in-memory exporter it writes to."""
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider, spans


async def test_one_otel_span_per_execution_with_its_outcome(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    from opentelemetry.trace import StatusCode

    provider, spans = span_recorder()
    tracer = enable_tracing(fake_scheduler, tracer_provider=provider)
    assert enable_tracing(fake_scheduler, tracer_provider=provider) is tracer

    async def ok(ctx: TaskContext) -> None:
        await ctx.sleep(3)

    async def bad(ctx: TaskContext) -> None:
        await ctx.sleep(1)
        raise ValueError(f"no rows (attempt {ctx.attempt_number})")

    every_minute = {"type": "interval", "seconds": 60}
    fake_scheduler.create_task(name="ok", handler=ok, trigger=every_minute)
    retry = {"maxAttempts": 2, "delaySeconds": 5}
    fake_scheduler.create_task(name="bad", handler=bad, retry=retry, trigger=every_minute)
    await fake_clock.advance(90)
    by_task = {s.attributes["cognia.task"]: s for s in spans.get_finished_spans()}
    assert sorted(by_task) == ["bad", "ok"] and len(spans.get_finished_spans()) == 2
    good = by_task["ok"]
    (run,) = fake_scheduler.get_executions("ok")
    assert good.name == "cognia.execution"
    assert dict(good.attributes) == {
        "cognia.task": "ok", "cognia.plugin": "default", "cognia.execution_id": run.id,
        "cognia.trigger_kind": "schedule", "cognia.scheduled_at": run.scheduled_at.isoformat(),
        "cognia.status": "succeeded", "cognia.attempt": 1,
    }  # fmt: skip
    assert good.status.status_code is StatusCode.UNSET
    # timed by the scheduler's clock: the span is the execution's start to finish
    assert good.start_time == int(run.started_ts * 1e9)  # type: ignore[operator]
    assert (good.end_time - good.start_time) / 1e9 == pytest.approx(3.0)
    failed = by_task["bad"]
    assert (failed.attributes["cognia.status"], failed.attributes["cognia.attempt"]) == (
        "failed", 2)  # fmt: skip
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ValueError: no rows (attempt 2)"
    (event,) = failed.events
    assert event.name == "exception" and event.attributes["exception.type"] == "ValueError"
    assert "raise ValueError" in event.attributes["exception.stacktrace"]
    fake_scheduler.run_task_now("ok")  # running (3 s) when tracing closes: ended, not lost
    assert tracer.open_spans == 1
    tracer.close()
    assert tracer.open_spans == 0 and len(spans.get_finished_spans()) == 3
    await fake_clock.advance(60)
    assert len(spans.get_finished_spans()) == 3  # closed: no more spans


async def test_metrics_turn_tracing_on_and_off_when_otel_is_there(
    fake_scheduler: Scheduler,
) -> None:
    pytest.importorskip("opentelemetry")
    from cognia_nb._tracing import tracer_of

    exporter = enable_metrics(fake_scheduler, prometheus_client.CollectorRegistry())
    assert tracer_of(fake_scheduler) is not None
    exporter.close()
    assert tracer_of(fake_scheduler) is None


def test_tracing_without_otel_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from cognia_nb import MissingDependencyError

    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'cognia_nb\[otel\]'"):
        enable_tracing(Scheduler())
    exporter = enable_metrics(Scheduler(), prometheus_client.CollectorRegistry())
    assert exporter._tracing is None  # metrics work without it
    exporter.close()
