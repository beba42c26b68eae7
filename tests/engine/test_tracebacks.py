"""A failed execution's stored traceback starts at the user's code, not the engine's frames."""

from __future__ import annotations

import re

from cognia_nb import ExecutionStatus, Scheduler, TaskContext
from cognia_nb._engine.context import AbortSignal
from cognia_nb._engine.outcome import error_outcome
from cognia_nb.triggers import parse_trigger

_FRAME = re.compile(r'^  File "([^"]*)", line \d+', re.M)


def sync_handler(ctx: TaskContext) -> None:
    undefined_sync  # type: ignore[name-defined]  # noqa: B018, F821


async def async_handler(ctx: TaskContext) -> None:
    undefined_async  # type: ignore[name-defined]  # noqa: B018, F821


def chained_handler(ctx: TaskContext) -> None:
    try:
        {}["key"]
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc


async def _traceback_of(scheduler: Scheduler, name: str, handler: object) -> str:
    scheduler.register_handler(name, handler)  # type: ignore[arg-type]
    task = scheduler.create_task(
        name=name, handler=name, trigger={"type": "interval", "seconds": 60}
    )
    ex = await scheduler.wait_for(scheduler.run_task_now(task.id), timeout=5)
    assert ex.status is ExecutionStatus.FAILED and ex.traceback is not None, ex
    return ex.traceback


async def test_sync_and_async_handler_tracebacks_start_at_the_handler(
    fake_scheduler: Scheduler,
) -> None:
    for name, handler, missing in (
        ("sync", sync_handler, "undefined_sync"),
        ("async", async_handler, "undefined_async"),
    ):
        text = await _traceback_of(fake_scheduler, name, handler)
        frames = _FRAME.findall(text)
        assert frames and frames[0] == __file__, text
        assert text.startswith("Traceback (most recent call last):\n"), text
        assert "cognia_nb/_engine/" not in text and "concurrent/futures" not in text, text
        assert text.rstrip().endswith(f"NameError: name '{missing}' is not defined"), text


async def test_the_chain_of_causes_is_kept(fake_scheduler: Scheduler) -> None:
    text = await _traceback_of(fake_scheduler, "chained", chained_handler)
    assert "KeyError: 'key'" in text
    assert "The above exception was the direct cause of the following exception" in text
    assert text.rstrip().endswith("RuntimeError: lookup failed")
    assert set(_FRAME.findall(text)) == {__file__}, text  # both parts start at the handler


def test_an_engine_error_keeps_every_frame() -> None:
    try:
        parse_trigger({"type": "interval", "seconds": -1})
    except ValueError as caught:
        exc = caught.with_traceback(caught.__traceback__.tb_next)  # only the engine's frames
    outcome = error_outcome(exc, AbortSignal(), None)
    assert outcome.trace is not None
    frames = _FRAME.findall(outcome.trace)
    assert frames and all("cognia_nb" in f for f in frames), outcome.trace
    assert "trigger.seconds" in outcome.trace
