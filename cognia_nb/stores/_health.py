"""How a store is doing: :class:`StoreHealth`, and the SQLite writer's failure bookkeeping.

A write that fails for a reason that is not about the data (disk full, I/O error, a lock held
too long) keeps what was to be written in memory and is retried with a growing delay
(:data:`FIRST_DELAY` doubling up to :data:`MAX_DELAY`). The first failure is logged at once
and shown in ``store.health``; the recovery is logged too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

__all__ = ["FIRST_DELAY", "MAX_DELAY", "STOP_PATIENCE", "Failures", "StoreHealth"]

log = logging.getLogger("cognia_nb.stores.sqlite")

FIRST_DELAY = 0.1
MAX_DELAY = 5.0
#: How long ``stop()``/``close()`` keep retrying a failing write before giving up on it.
STOP_PATIENCE = 5.0


@dataclass(frozen=True)
class StoreHealth:
    """A snapshot of whether a store is writing.

    Attributes:
        ok: every write so far was committed (or is waiting for its group commit).
        error: the last write failure, while writes are failing (None when ok).
        since: when (epoch seconds) writes started failing (None when ok).
        waiting: rows held in memory for the next commit.
        dropped: rows no encoding could make storable (never expected; each is logged).
        lost: rows given up at ``close()`` because the store could still not be written.
    """

    ok: bool = True
    error: str | None = None
    since: float | None = None
    waiting: int = 0
    dropped: int = 0
    lost: int = 0

    def __str__(self) -> str:
        extra = "".join(
            f", {n} rows {what}"
            for n, what in ((self.dropped, "dropped as unstorable"), (self.lost, "lost at close"))
            if n
        )
        if self.ok:
            return f"ok{extra}"
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since or 0))
        return (f"failing since {when}: {self.error}; {self.waiting} rows waiting in memory, "
                f"retried{extra}")  # fmt: skip


class Failures:
    """The writer thread's record of failing writes (owned by that thread)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.count = 0
        self.error: str | None = None
        self.since: float | None = None
        self.retry_at = 0.0
        self.dropped = 0
        self.lost = 0

    @property
    def failing(self) -> bool:
        return self.count > 0

    def failed(self, exc: BaseException, waiting: int) -> None:
        """A commit failed: log the first failure, schedule the retry."""
        self.count += 1
        self.error = f"{type(exc).__name__}: {exc}"
        if self.count == 1:
            self.since = time.time()
            log.error("cannot write to %s (%s); %d rows are kept in memory and retried, "
                      "scheduled firings are not run until it can be written", self.location,
                      self.error, waiting)  # fmt: skip
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (self.count - 1))
        self.retry_at = time.monotonic() + delay

    def recovered(self) -> None:
        """A commit went through after failures."""
        if self.count:
            log.warning("writing to %s again after %d failed attempts", self.location,
                        self.count)  # fmt: skip
        self.count, self.error, self.since = 0, None, None

    def health(self, waiting: int) -> StoreHealth:
        return StoreHealth(not self.count, self.error, self.since, waiting, self.dropped,
                           self.lost)  # fmt: skip
