"""pytest fixtures: ``pytest_plugins = ["cognia_nb.testing.fixtures"]`` in ``conftest.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from .._scheduler import Scheduler
from ._fake_clock import FakeClock

__all__ = ["fake_clock", "fake_scheduler"]


@pytest.fixture
def fake_clock() -> FakeClock:
    """A :class:`FakeClock` at 2024-01-01T00:00:00Z."""
    return FakeClock(datetime(2024, 1, 1, tzinfo=UTC))


@pytest_asyncio.fixture
async def fake_scheduler(fake_clock: FakeClock) -> AsyncIterator[Scheduler]:
    """A started in-memory :class:`Scheduler` on ``fake_clock`` (zone UTC), stopped after."""
    scheduler = Scheduler(clock=fake_clock, timezone="UTC").start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
        scheduler.close()
        await fake_clock.aclose()
