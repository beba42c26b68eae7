"""The task board: ``cognia_nb.panel()`` / ``%cognia panel`` as one anywidget.

The page (``static/board.js``, ``board.css``) renders a real HTML table, the detail view, the
running executions inline in their rows, the History view and its SVG timeline; it builds the
DOM with ``textContent`` only, so every user string arrives escaped. This side keeps compact
state up to date from the scheduler's hooks (never by polling) and sends it throttled:

* ``tasks`` rows travel as custom messages (``{"kind": "tasks", ...}``), only the rows that
  changed, so 1,000 tasks cost one full snapshot (when a view opens) and then small patches;
* ``header``, ``runs`` (the live executions), ``history``, ``detail`` and ``execution`` are
  synced traits, sent together in one message per flush.

All of it goes through one :class:`~cognia_nb.jupyter._progress.Throttle` (at most
``max_rate`` flushes a second; the last request always gets through, so the final state is
always sent). While executions or backfills run, a one-second heartbeat catches what fires no
hook (an execution waiting between attempts, a batch's count), and one timer wakes just after
the earliest due time (a due time the calendar or the overlap policy skips fires no hook).
The page asks for actions with ``model.send``:
``{"action": "run" | "pause" | "resume" | "delete" | "cancel", "ids": [...]}``, and for views
with ``{"action": "detail" | "execution" | "hello", "id": ...}``; ``{"action":
"cancel_backfill", "id": batch_id}`` cancels a backfill batch the board shows (a task's row
shows its running batch as "backfill 12/40", its detail the newest batches).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .._default import notebook_plugin_id
from .._engine.scheduler import Scheduler
from .._errors import CogniaError
from .._model.task import Execution, ExecutionStatus, Task, TaskStatus
from . import _board_state as st
from ._board_backfills import BackfillTracker
from ._board_owners import ServiceBadges, execution_owners, ran_in
from ._progress import Throttle

__all__ = ["Board", "board_for"]

log = logging.getLogger("cognia_nb.jupyter")
STATIC = Path(__file__).with_name("static")
HEARTBEAT_SECONDS = 1.0
DAY = 86_400.0
DUE_MAX_WAIT = 60.0  # seconds between checks for due times that fired no hook, at most
ACTIONS = ("run", "pause", "resume", "delete", "cancel")


class Board(anywidget.AnyWidget):
    """The scheduler's task board (what ``cognia_nb.panel()`` shows in a Jupyter front end).

    Args:
        scheduler: the scheduler to show and control.
        max_rate: updates per second sent to the page, at most.
    """

    _esm = STATIC / "board.js"
    _css = STATIC / "board.css"
    header: Any = traitlets.Dict().tag(sync=True)
    runs: Any = traitlets.List().tag(sync=True)
    history: Any = traitlets.List().tag(sync=True)
    detail: Any = traitlets.Dict().tag(sync=True)
    execution: Any = traitlets.Dict().tag(sync=True)

    def __init__(self, scheduler: Scheduler, max_rate: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scheduler = scheduler
        self.mine = notebook_plugin_id()
        self.stats: dict[str, st.TaskStats] = {}
        self.rows: dict[str, dict[str, Any]] = {}  # what the page has (task id -> row)
        self.dirty: set[str] = set()
        self.removed: set[str] = set()
        self.parts: set[str] = {"header", "runs", "history"}
        self.full = True
        self.sent_tasks = 0  # task messages sent (the benchmark reads it)
        self.greeted = False  # no view has said hello yet: no task rows to send
        self._finished_rows: dict[str, dict[str, Any]] = {}
        self.services = ServiceBadges()
        self.backfills = BackfillTracker()
        self._beat: asyncio.TimerHandle | None = None
        self._due: asyncio.TimerHandle | None = None  # wakes when the next due time passed
        self.failed_day = len(scheduler.store.list_executions(
            statuses=list(st.FAILED), since_ts=scheduler.clock.now() - DAY))  # fmt: skip
        self._load_stats()
        self.throttle = Throttle(self.flush, max_rate)
        self._unsubscribe: list[Callable[[], None]] = []
        for hook in ("task_create", "task_update", "task_pause", "task_resume"):
            self._unsubscribe.append(scheduler.on(hook, self._on_task))
        self._unsubscribe += [scheduler.on("task_delete", self._on_delete),
                              scheduler.on("task_start", self._on_start),
                              scheduler.on("task_progress", self._on_progress),
                              scheduler.on("task_complete", self._on_finish),
                              scheduler.on("task_error", self._on_finish)]  # fmt: skip
        self.on_msg(self._on_msg)
        self.dirty.update(t.id for t in scheduler.list_tasks())
        self.flush()

    # -- state --------------------------------------------------------------------------------

    def _load_stats(self) -> None:
        """Recent outcomes per task: one bulk query, then one per task it did not cover."""
        found: dict[str, list[Execution]] = {}
        for ex in self.scheduler.store.list_executions(limit=5000):
            if ex.finished and len(found.setdefault(ex.task_id, [])) < st.RECENT:
                found[ex.task_id].append(ex)
        for task in self.scheduler.list_tasks():
            if task.id not in found and task.run_count:
                found[task.id] = [e for e in self.scheduler.get_executions(task.id, st.RECENT)
                                  if e.finished]  # fmt: skip
        for task_id, executions in found.items():
            stats = self.stats[task_id] = st.TaskStats()
            for ex in reversed(executions):
                stats.add(ex)

    def _live(self) -> list[tuple[Task, Execution]]:
        return [(r.task, r.execution) for r in list(self.scheduler._runner.live.values())]

    def _header(self) -> dict[str, Any]:
        s = self.scheduler
        live = self._live()
        return {
            "state": "running" if s.running else "stopped",
            "store": s.store.location,
            "tasks": len(s._tasks),
            "running": sum(ex.status is ExecutionStatus.RUNNING for _, ex in live),
            "queued": sum(ex.status is ExecutionStatus.PENDING for _, ex in live),
            "failedDay": self.failed_day,
            "now": round(s.clock.now(), 3),
            "zone": s.timezone,
            "health": self._health(),
        }

    def _health(self) -> dict[str, Any] | None:
        """The store's write health for the header (a store without it, or failing to tell,
        shows nothing; the board never breaks on it)."""
        try:
            return st.store_health(getattr(self.scheduler.store, "health", None))
        except Exception:
            log.exception("cognia_nb board: reading the store's health failed")
            return None

    def _history(self) -> list[dict[str, Any]]:
        """The newest executions; a finished one's row is made once (it no longer changes)."""
        live = {ex.id: ex for _, ex in self._live()}
        zone = self.scheduler.timezone
        done, out = {}, []
        for stored in self.scheduler.store.list_executions(limit=st.HISTORY_ROWS):
            ex = live.get(stored.id, stored)
            row = self._finished_rows.get(ex.id) if ex.finished else None
            if row is None:
                row = st.execution_row(ex, zone)
            if ex.finished:
                done[ex.id] = row
            out.append(row)
        self._finished_rows = done
        return out

    def _zone(self, task_id: str) -> str:
        task = self.scheduler._tasks.get(task_id)
        default = self.scheduler.timezone
        return default if task is None else st.zone_of(task, default)

    def _detail(self) -> dict[str, Any]:
        task_id = self.detail.get("id")
        if not task_id:
            return {}
        task = self.scheduler._tasks.get(task_id)
        if task is None:
            return {**self.detail, "deleted": True}
        live = {ex.id: ex for _, ex in self._live()}
        executions = [live.get(ex.id, ex) for ex in self.scheduler.get_executions(task.id, 20)]
        now = self.scheduler.clock.now()
        out = st.task_detail(task, executions, now, self.scheduler.timezone, self._notes(task))
        out["backfills"] = self.backfills.of_task(task.id, self._zone(task.id))
        store = self.scheduler.store
        owners = execution_owners(store, [ex.id for ex in executions])
        mine = getattr(store, "owner", None)
        for row in out["executions"]:
            owner = owners.get(row["id"]) or (mine if row["id"] in live else None)
            row["ranIn"] = ran_in(owner, mine) or ("this kernel" if row["id"] in live else "")
        return out

    def _notes(self, task: Task) -> dict[float, tuple[str, str]]:
        """DST notes and calendar skips of the next fire times (only while a detail is open)."""
        if task.status is not TaskStatus.ACTIVE or task.trigger.to_dict()["type"] == "event":
            return {}
        try:
            return st.explain_notes(self.scheduler.explain_rows(task, n=5))
        except Exception:  # the notes are extras: the detail shows without them
            log.exception("cognia_nb board: explaining %r failed", task.name)
            return {}

    def _execution(self) -> dict[str, Any]:
        execution_id = self.execution.get("id")
        if not execution_id:
            return {}
        try:
            ex = self.scheduler.get_execution(execution_id)
        except CogniaError:
            return {}
        return st.execution_detail(ex, self._zone(ex.task_id))

    # -- sending ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Send what changed since the last flush (the throttle calls this)."""
        tasks = self.scheduler._tasks
        if not self.greeted:  # rows wait for a view (the page says hello when it opens)
            self.dirty.clear()
        elif self.services.refresh(self.scheduler.store) or self.full:  # at most every 5 s
            self.dirty.update(tasks)
        moved = self.backfills.refresh(self.scheduler)
        self.dirty |= moved
        if self.detail.get("id") in moved:
            self.parts.add("detail")
        changed = []
        for task_id in self.dirty:
            task = tasks.get(task_id)
            if task is None:
                continue
            row = st.task_row(task, self.stats.get(task_id), self.mine, self.scheduler.timezone)
            row["service"] = self.services.badges.get(task.name, "")
            backfill = self.backfills.running_of(task_id, self._zone(task_id))
            if backfill is not None:  # only while one runs (1,000 rows stay small)
                row["backfill"] = backfill
            if self.full or self.rows.get(task_id) != row:
                self.rows[task_id] = row
                changed.append(row)
        removed = sorted(i for i in self.removed if self.rows.pop(i, None) is not None)
        if self.greeted and (changed or removed or self.full):
            self.send({"kind": "tasks", "full": self.full, "rows": changed, "removed": removed})
            self.sent_tasks += 1
        self.dirty.clear()
        self.removed.clear()
        self.full = False
        parts, self.parts = self.parts, set()
        with self.hold_sync():
            self.header = self._header()
            if "runs" in parts:
                self.runs = [st.run_state(t, ex) for t, ex in self._live()]
            if "history" in parts:
                self.history = self._history()
            if "detail" in parts:
                self.detail = self._detail()
            if "execution" in parts:
                self.execution = self._execution()
        self._heartbeat()
        self._arm_due()

    def _arm_due(self) -> None:
        """Wake just after the earliest due time: a due time the calendar or the overlap
        policy skips fires no hook, yet moves the task's next run and its counts."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
        now = self.scheduler.clock.now()
        times = [t.next_run_ts for t in self.scheduler._tasks.values()
                 if t.next_run_ts is not None and t.next_run_ts > now]  # fmt: skip
        if not self.greeted or not times:
            return
        delay = min(min(times) - now + 0.05, DUE_MAX_WAIT)
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to wake
            self._due = asyncio.get_running_loop().call_later(delay, self._on_due)

    def _on_due(self) -> None:
        self._due = None
        for task_id, task in self.scheduler._tasks.items():
            row = self.rows.get(task_id)
            if row is not None and (row["next"], row["skip"], row["miss"], row["excluded"]) != (
                st.ts3(task.next_run_ts), task.skipped_count, task.missed_count,
                task.excluded_count):  # fmt: skip
                self.dirty.add(task_id)
        if self.dirty:
            self._request("header")
        else:
            self._arm_due()

    def _heartbeat(self) -> None:
        if self._beat is not None or not (self.scheduler._runner.live
                                          or self.backfills.running()):  # fmt: skip
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to beat for
            loop = asyncio.get_running_loop()
            self._beat = loop.call_later(HEARTBEAT_SECONDS, self._on_beat)

    def _on_beat(self) -> None:
        self._beat = None
        self._request("runs")

    def _request(self, *parts: str, task_id: str | None = None) -> None:
        self.parts.update(parts)
        if task_id is not None:
            self.dirty.add(task_id)
            if task_id == self.detail.get("id"):
                self.parts.add("detail")
        self.throttle.request()

    # -- hooks --------------------------------------------------------------------------------

    def _on_task(self, task: Task, *_: Any) -> None:
        self._request("header", task_id=task.id)

    def _on_delete(self, task: Task, *_: Any) -> None:
        self.removed.add(task.id)
        self.stats.pop(task.id, None)
        self.backfills.forget_task(task.id)
        self._request("header", "runs", task_id=task.id)

    def _on_start(self, task: Task, ex: Execution, *_: Any) -> None:
        self._request("runs", "history", task_id=task.id)

    def _on_progress(self, task: Task, ex: Execution, *_: Any) -> None:
        self.parts.add("runs")
        if ex.id == self.execution.get("id"):
            self.parts.add("execution")
        self.throttle.request()

    def _on_finish(self, task: Task, ex: Execution, *_: Any) -> None:
        if ex.status in st.FAILED:
            self.failed_day += 1
        if task.id in self.scheduler._tasks:
            self.stats.setdefault(task.id, st.TaskStats()).add(ex)
        if ex.id == self.execution.get("id"):
            self.parts.add("execution")
        self._request("runs", "history", task_id=task.id)

    # -- messages from the page ---------------------------------------------------------------

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        action = content.get("action")
        try:
            self.handle(action, content)
        except CogniaError as exc:
            self.notice(str(exc), "error")
        except Exception as exc:  # a bad click never breaks the kernel
            log.exception("cognia_nb board: %r failed", action)
            self.notice(f"{action} failed: {exc}", "error")

    def handle(self, action: Any, content: dict[str, Any]) -> None:
        """Do what the page asked (also callable from tests).

        Args:
            action: ``run``, ``pause``, ``resume``, ``delete``, ``cancel`` (with ``ids``),
                ``detail`` / ``execution`` (with ``id``, empty to close), ``cancel_backfill``
                (with a batch ``id``), or ``hello``.
            content: the message.
        """
        if action == "hello":  # a view opened: it needs every row
            self.full = self.greeted = True
            self.parts.update(("runs", "history", "detail", "execution"))
            self.throttle.flush()
        elif action == "detail":
            self.detail = {"id": str(content.get("id") or "")}
            self.execution = {}
            self.parts.add("detail")
            self.throttle.flush()
        elif action == "execution":
            self.execution = {"id": str(content.get("id") or "")}
            self.parts.add("execution")
            self.throttle.flush()
        elif action == "cancel_backfill":
            self._cancel_backfill(str(content.get("id") or ""))
        elif action in ACTIONS:
            ids = content.get("ids")
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError(f"'ids' must be a list of id strings, got {ids!r}")
            self._act(action, ids)
        else:
            self.notice(f"unknown board action {action!r}; expected one of "
                        f"{', '.join(ACTIONS)}, cancel_backfill, detail, execution, hello",
                        "error")  # fmt: skip

    def _cancel_backfill(self, batch_id: str) -> None:
        batch = self.backfills.batches.get(batch_id)
        if batch is None:
            self.notice(f"no backfill batch {batch_id!r} on this board", "error")
            return
        left = batch.cancel()
        self.notice(f"backfill of {batch.task.name} cancelled: {left} due time(s) did not run",
                    "info")  # fmt: skip
        self.throttle.flush()

    def _act(self, action: str, ids: list[str]) -> None:
        s = self.scheduler
        done, problems = 0, []
        for item in ids:
            try:
                if action == "cancel":
                    s.cancel_execution(item)
                elif action == "run":
                    s.run_task_now(item)
                elif action == "delete":
                    s.delete_task(item)
                elif action == "pause":
                    s.pause_task(item)
                elif s.get_task(item).status is TaskStatus.PAUSED:
                    s.resume_task(item)
                done += 1
            except CogniaError as exc:
                name = s._tasks[item].name if item in s._tasks else item
                problems.append(f"{name}: {exc}")
        if problems:
            self.notice(f"{action}: " + "; ".join(problems), "error")
        elif len(ids) > 1:
            self.notice(f"{action}: {done} task(s)", "info")
        self.throttle.flush()

    def notice(self, text: str, level: str = "info") -> None:
        """Show a short message above the table (an action's outcome)."""
        self.send({"kind": "notice", "level": level, "text": text})

    def close(self) -> None:
        """Stop listening to the scheduler and close the widget."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for timer in (self._beat, self._due):
            if timer is not None:
                timer.cancel()
        self._beat = self._due = None
        if self.throttle._pending is not None:  # a deferred flush would find no comm
            self.throttle._pending.cancel()
            self.throttle._pending = None
        if _BOARDS.get(self.scheduler) is self:
            del _BOARDS[self.scheduler]
        super().close()


_BOARDS: weakref.WeakKeyDictionary[Scheduler, Board] = weakref.WeakKeyDictionary()


def board_for(scheduler: Scheduler) -> Board:
    """The scheduler's board, made on first use.

    Re-running a ``panel()`` cell shows the same widget again (one more view of it) instead
    of adding a board that keeps listening to the scheduler after its output is gone.
    """
    board = _BOARDS.get(scheduler)
    if board is None or board.comm is None:  # closed boards have no comm
        board = _BOARDS[scheduler] = Board(scheduler)
    return board
