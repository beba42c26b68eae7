"""The board's view of backfill batches (``scheduler.backfill(..., dry_run=False)``).

``scheduler.backfills()`` lists the batches still running. The board remembers each batch it
has seen (the newest few per task) so a finished or cancelled batch stays in the task's
detail view after the scheduler has let go of it, and tells the board which tasks' rows
changed since the last flush (a batch's count moves when one of its executions ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._board_state import fmt_time

if TYPE_CHECKING:
    from .._engine.backfill import BackfillBatch
    from .._engine.scheduler import Scheduler

__all__ = ["KEPT_PER_TASK", "BackfillTracker", "batch_state"]

KEPT_PER_TASK = 5  # finished batches a task's detail lists
_BAD = {"failed", "timed_out", "interrupted"}


def batch_state(batch: BackfillBatch, zone: str) -> dict[str, Any]:
    """One batch as the page shows it: ``done``/``total``, ``status``, range and failures.

    ``done`` counts the due times that ran to a final status (failed ones included, see
    ``failed``); ``status`` is ``running``, ``cancelled`` or ``finished``; ``left`` counts the
    due times that did not run to the end (cancelled, or never started after a cancel).
    """
    runs = [r for r in batch.rows if r["action"] == "run"]
    first = runs[0]["utc"].timestamp() if runs else None
    last = runs[-1]["utc"].timestamp() if runs else None
    status = "cancelled" if batch.cancelled else "finished" if batch.done else "running"
    statuses = [r["status"] for r in runs]
    left = sum(s in ("cancelled", "not started") for s in statuses)
    return {
        "id": batch.id,
        "task": batch.task.id,
        "done": batch.finished - left,
        "total": batch.total,
        "status": status,
        "failed": sum(s in _BAD for s in statuses),
        "left": left,
        "first": fmt_time(first, zone),
        "last": fmt_time(last, zone),
    }


class BackfillTracker:
    """The batches a board has seen, newest last, and what it last sent of each."""

    def __init__(self) -> None:
        self.batches: dict[str, BackfillBatch] = {}
        self._sent: dict[str, tuple[int, str]] = {}  # batch id -> (done, status) last sent
        self._dropped: set[str] = set()  # finished batches pruned here: never taken back

    def refresh(self, scheduler: Scheduler) -> set[str]:
        """Pick up new batches; the ids of tasks whose batches moved since the last call."""
        # finished=True: a board opened after a batch ended still lists it
        for batch in scheduler.backfills(finished=True):
            if batch.id not in self._dropped:
                self.batches.setdefault(batch.id, batch)
        changed: set[str] = set()
        for batch in list(self.batches.values()):
            now = (batch.finished, self._status(batch))
            if self._sent.get(batch.id) != now:
                self._sent[batch.id] = now
                changed.add(batch.task.id)
        self._prune()
        return changed

    @staticmethod
    def _status(batch: BackfillBatch) -> str:
        return "cancelled" if batch.cancelled else "finished" if batch.done else "running"

    def _prune(self) -> None:
        """Keep the running batches and the newest finished ones of each task."""
        kept: dict[str, int] = {}
        for batch_id, batch in reversed(list(self.batches.items())):
            if not batch.done:
                continue
            kept[batch.task.id] = kept.get(batch.task.id, 0) + 1
            if kept[batch.task.id] > KEPT_PER_TASK:
                del self.batches[batch_id]
                self._sent.pop(batch_id, None)
                self._dropped.add(batch_id)

    def running(self) -> bool:
        """Whether a seen batch still runs (the board's heartbeat keeps going for it)."""
        return any(not b.done for b in self.batches.values())

    def running_of(self, task_id: str, zone: str) -> dict[str, Any] | None:
        """The task's running batch (the newest, if several), for its row."""
        for batch in reversed(list(self.batches.values())):
            if batch.task.id == task_id and not batch.done:
                return batch_state(batch, zone)
        return None

    def of_task(self, task_id: str, zone: str) -> list[dict[str, Any]]:
        """The task's batches, newest first, for its detail view."""
        return [batch_state(b, zone) for b in reversed(list(self.batches.values()))
                if b.task.id == task_id]  # fmt: skip

    def forget_task(self, task_id: str) -> None:
        """Drop a deleted task's batches."""
        for batch_id in [i for i, b in self.batches.items() if b.task.id == task_id]:
            del self.batches[batch_id]
            self._sent.pop(batch_id, None)
