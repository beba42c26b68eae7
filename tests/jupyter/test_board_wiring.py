"""The board shows what other layers report: store health, DST notes, pause reasons, owners."""

from __future__ import annotations

from typing import Any

import pytest

from cognia_nb import Scheduler
from cognia_nb.stores import StoreHealth

from .test_widgets import open_board, recording_comm, sched, states

__all__ = ["recording_comm", "sched"]


async def test_header_shows_a_failing_store_and_nothing_when_it_writes(
    sched: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = open_board(sched)
    assert board.header["health"] is None  # ok: the header is as before
    error = "OperationalError: disk I/O error <b>&amp;</b>"
    failing = StoreHealth(ok=False, error=error, since=1_700_000_000.0, waiting=3)
    monkeypatch.setattr(type(sched.store), "health", property(lambda self: failing))
    board.throttle.flush()
    health = board.header["health"]
    assert health == {"error": error, "waiting": 3, "since": 1_700_000_000.0,
                      "text": f"store not writing: {error} (3 rows waiting)"}  # fmt: skip
    sent: list[Any] = [s["header"]["health"] for s in states(board) if "header" in s]
    assert sent[-1]["text"].endswith("<b>&amp;</b> (3 rows waiting)")  # data, not markup
    monkeypatch.setattr(type(sched.store), "health", property(lambda self: StoreHealth()))
    board.throttle.flush()
    assert board.header["health"] is None


async def test_a_store_whose_health_raises_does_not_break_the_board(
    sched: Scheduler, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Any) -> StoreHealth:
        raise RuntimeError("health exploded")

    monkeypatch.setattr(type(sched.store), "health", property(broken))
    board = open_board(sched)
    assert board.header["health"] is None and board.header["state"] == "running"
    assert "reading the store's health failed" in caplog.text
