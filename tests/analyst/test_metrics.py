"""cognia_nb.metrics: scraped over HTTP on 127.0.0.1 from a running scheduler and parsed."""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any

import pytest

from cognia_nb import Scheduler, TaskContext, TaskValidationError
from cognia_nb.metrics import enable_metrics, start_metrics_server
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


async def test_otel_spans_when_the_sdk_is_installed(
    fake_scheduler: Scheduler, fake_clock: FakeClock
) -> None:
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    export = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    spans = export.InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    exporter = enable_metrics(fake_scheduler, prometheus_client.CollectorRegistry())
    fake_scheduler.create_task(name="t", handler=lambda: None,
                               trigger={"type": "interval", "seconds": 60})  # fmt: skip
    await fake_clock.advance(60)
    await asyncio.sleep(0.05)
    exporter.close()
    (span,) = spans.get_finished_spans()
    assert span.name == "cognia.execution" and span.attributes["cognia.status"] == "succeeded"
