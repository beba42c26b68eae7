"""The live task card: what ``%%cognia_task`` and ``@cognia_nb.task`` leave in their cell.

A card is one display (``display(..., display_id=...)``) that is updated in place from the
scheduler's hooks: status badge, next run (counting down in the page), the latest run's
result, duration, error and traceback, and that run's output only (at most
:data:`~._card_view.MAX_LINES` lines; older runs live in the execution log). Updates are
throttled to ``max_rate`` a second and the final state of a run is always sent.

In a kernel, ``print`` inside the task's handler goes into the execution log and onto the card
instead of appending to the defining cell (see :data:`._kernel.routed_tasks`), so the cell
never grows. Without a kernel (a terminal, plain IPython) the card is shown once as text and
``print`` goes where it always went. On creation the card reads the newest execution from the
store, so after a kernel restart it shows the last run from before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
import weakref
from collections.abc import Callable
from datetime import UTC
from typing import Any

from .._engine.scheduler import Scheduler
from .._errors import CogniaError
from .._model.task import Execution, ExecutionStatus, Task, TaskStatus
from ._board_state import retry_at
from ._card_view import CardState, card_html, card_text
from ._kernel import pending_output, routed_tasks
from ._progress import Throttle

__all__ = ["TaskCard", "show_card"]

log = logging.getLogger("cognia_nb.jupyter")

#: The live card of each task (a re-run cell's new card replaces the old one).
_cards: dict[str, TaskCard] = {}
_HOOKS = ("task_start", "task_progress", "task_complete", "task_error", "task_update",
          "task_delete", "task_pause", "task_resume")  # fmt: skip
_FINAL_HOOKS = frozenset({"task_complete", "task_error", "task_delete"})
_FAILED = (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT)

Publish = Callable[[dict[str, str], str, bool], None]


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of this layer
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _display(obj: Any, **options: Any) -> None:
    """IPython's ``display`` (it carries no annotations)."""
    import IPython.display

    show: Any = IPython.display.display
    show(obj, **options)


def _publish(bundle: dict[str, str], display_id: str, update: bool) -> None:
    _display(bundle, raw=True, display_id=display_id, update=update)


class TaskCard:
    """A task's live card.

    Args:
        scheduler: the scheduler the task lives in.
        task: the task.
        note: an extra line (e.g. "--run-now started execution ...").
        live: update in place (default: when running in a kernel).
        max_rate: display updates per second at most.
        publish: ``publish(bundle, display_id, update)`` (default: IPython's ``display``).
    """

    def __init__(self, scheduler: Scheduler, task: Task, note: str = "", *,
                 live: bool | None = None, max_rate: float = 10.0,
                 publish: Publish | None = None) -> None:  # fmt: skip
        self.scheduler = scheduler
        self.task = task
        self.task_id = task.id
        self.note = note
        self.live = _in_kernel() if live is None else live
        self.display_id = uuid.uuid4().hex
        self.deleted = False
        self.updates = 0
        self._publish = publish or _publish
        self._renders = itertools.count()
        self._shown = False
        self.latest: Execution | None = self._newest_from_store()
        self._throttle = Throttle(self._push, max_rate)
        self._beat: asyncio.TimerHandle | None = None
        self._waiting: float | None = None  # the retry time the page shows (None: not waiting)
        self.following = False
        if self.live:
            old = _cards.pop(self.task_id, None)
            if old is not None:
                old.close()
            _cards[self.task_id] = self
            routed_tasks.add(self.task_id)
            self.following = True
            _follow(scheduler)

    def _newest_from_store(self) -> Execution | None:
        try:
            return self.scheduler.get_latest_execution(self.task_id)
        except CogniaError:
            return None

    # -- state ----------------------------------------------------------------------------

    def _badge(self) -> str:
        task, ex = self.task, self.latest
        if self.deleted:
            return "deleted"
        if task.handler_missing:
            return "handler missing"
        if ex is not None and not ex.finished:
            return "running"
        if task.status is TaskStatus.PAUSED:
            return "paused"
        if task.status is TaskStatus.COMPLETED:
            return "completed"
        if ex is not None and ex.status in _FAILED:
            return "failing"
        return "active"

    def state(self) -> CardState:
        """A snapshot of what the card shows now."""
        task = self.task
        badge = self._badge()
        hint = ""
        if badge == "handler missing":
            hint = ("This kernel has no handler for the task (the kernel restarted?): run the "
                    "defining cell again to re-arm it. Its history is kept.")  # fmt: skip
        elif badge == "deleted":
            hint = "This task was deleted; its history stays in the store."
        return CardState(
            name=task.name, task_id=task.id, schedule=task.describe(), badge=badge,
            next_ts=None if self.deleted else task.next_run_ts,
            next_at=None if self.deleted else task.next_run_at, hint=hint, note=self.note,
            latest=self.latest, runs=task.run_count, description=task.description,
            pending=pending_output(self.latest.id) if self.latest is not None else "",
            zone=getattr(task.trigger, "_zone", None) or UTC,
        )  # fmt: skip

    def bundle(self) -> dict[str, str]:
        """The card's MIME bundle (``text/plain`` and ``text/html``)."""
        state = self.state()
        dom_id = f"cognia-card-{self.display_id}-{next(self._renders)}"
        return {"text/plain": card_text(state), "text/html": card_html(state, dom_id)}

    # -- hooks ----------------------------------------------------------------------------

    def _on(self, hook: str, task: Task, ex: Execution | None) -> None:
        self.task = task
        if ex is not None and (
            self.latest is None
            or ex.id == self.latest.id
            or hook == "task_start"
            or ex.created_ts >= self.latest.created_ts
        ):
            self.latest = ex
        if hook == "task_delete":
            self.deleted = True
        if hook in _FINAL_HOOKS:
            self._throttle.flush()  # the final state always gets through
        else:
            self._throttle.request()
        if hook == "task_delete":
            self.close()

    def _push(self) -> None:
        if not self._shown:
            return
        try:
            self._publish(self.bundle(), self.display_id, True)
            self.updates += 1
        except Exception:  # a display problem must never reach the scheduler
            log.exception("cognia_nb: updating the card of %s failed", self.task_id)
        self._waiting = retry_at(self.latest) if self.latest is not None else None
        self._heartbeat()

    def _heartbeat(self) -> None:
        """While the latest run is live, look once a second for what fires no hook: a failed
        attempt starting its wait before the retry (the card then says "waiting to retry")."""
        ex = self.latest
        if self._beat is not None or not self.following or ex is None or ex.finished:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to beat for
            self._beat = asyncio.get_running_loop().call_later(1.0, self._on_beat)

    def _on_beat(self) -> None:
        self._beat = None
        ex = self.latest
        if ex is not None and not ex.finished:  # a card made while its run ran holds the
            run = self.scheduler._runner.live.get(ex.id)  # store's copy: follow the live one
            if run is not None:
                ex = self.latest = run.execution
        if ex is not None and not ex.finished and retry_at(ex) != self._waiting:
            self._throttle.request()
        else:
            self._heartbeat()

    def close(self) -> None:
        """Stop following the task (a deleted task, or a newer card for it)."""
        self.following = False
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        if self._throttle._pending is not None:
            self._throttle.flush()
        if _cards.get(self.task_id) is self:  # no newer card follows it: prints go back
            del _cards[self.task_id]  # to the cell
            routed_tasks.discard(self.task_id)

    # -- display --------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        self._shown = True
        if self.live:
            self._publish(self.bundle(), self.display_id, False)
            self._heartbeat()
        else:
            _display(self.bundle(), raw=True)

    def _repr_html_(self) -> str:
        return self.bundle()["text/html"]

    def __repr__(self) -> str:
        return card_text(self.state())


#: Schedulers whose hooks feed the cards: one listener per hook and scheduler, whatever the
#: number of cards (a hook call looks its task's card up by id).
_followed: weakref.WeakSet[Scheduler] = weakref.WeakSet()


def _follow(scheduler: Scheduler) -> None:
    if scheduler in _followed:
        return
    _followed.add(scheduler)
    for hook in _HOOKS:
        scheduler.on(hook, _dispatcher(scheduler, hook))


def _dispatcher(scheduler: Scheduler, hook: str) -> Callable[..., None]:
    def dispatch(task: Task, *rest: Any) -> None:
        card = _cards.get(task.id)
        if card is None or card.scheduler is not scheduler or not card.following:
            return
        card._on(hook, task, rest[0] if rest and isinstance(rest[0], Execution) else None)

    return dispatch


def show_card(scheduler: Scheduler, task: Task) -> TaskCard | None:
    """Display the task's card in the current IPython cell (``@cognia_nb.task`` calls this).

    Returns the card, or None outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    if get_ipython() is None:
        return None
    card = TaskCard(scheduler, task)
    _display(card)
    return card
