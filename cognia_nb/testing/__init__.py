"""Test helpers for code that uses cognia_nb: a fake clock and pytest fixtures.

``FakeClock`` makes scheduling deterministic: time moves only when the test says so::

    clock = FakeClock(datetime(2024, 3, 9, tzinfo=UTC))
    scheduler = Scheduler(clock=clock).start()
    ...
    await clock.advance(3600)       # one hour, every timer run at its deadline

The fixtures (``fake_clock``, ``fake_scheduler``) come with ``pytest_plugins =
["cognia_nb.testing.fixtures"]`` in a ``conftest.py``.
"""

from __future__ import annotations

from ._fake_clock import FakeClock, settle

__all__ = ["FakeClock", "settle"]
