"""pytest fixtures: ``pytest_plugins = ["cognia_nb.testing.fixtures"]`` in ``conftest.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from .._engine.scheduler import Scheduler
from ._fake_clock import FakeClock, settle

__all__ = ["fake_clock", "fake_scheduler", "stop_on_fake_clock"]


@pytest.fixture
def fake_clock() -> FakeClock:
    """A :class:`FakeClock` at 2024-01-01T00:00:00Z."""
    return FakeClock(datetime(2024, 1, 1, tzinfo=UTC))


@pytest_asyncio.fixture
async def fake_scheduler(fake_clock: FakeClock) -> AsyncIterator[Scheduler]:
    """A started in-memory :class:`Scheduler` on ``fake_clock`` (zone UTC), stopped after
    (the clock is moved through the stop's grace if handlers still run)."""
    scheduler = Scheduler(clock=fake_clock, timezone="UTC").start()
    try:
        yield scheduler
    finally:
        await stop_on_fake_clock(scheduler, fake_clock)
        scheduler.close()
        await fake_clock.aclose()


async def stop_on_fake_clock(scheduler: Scheduler, clock: FakeClock, grace: float = 5.0) -> None:
    """``await scheduler.stop(grace)``, moving ``clock`` on while the stop waits for handlers."""
    stopping = asyncio.ensure_future(scheduler.stop(grace))
    for _ in range(1000):
        await settle()
        if stopping.done():
            break
        await clock.advance(0.5)
    await stopping
