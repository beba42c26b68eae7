"""Firing: what happens when a task is due, is run by hand or an event arrives.

The misfire policy (coalesce / skip / run_all) decides what late firings do, the overlap
policy (skip / queue / allow / replace) what a firing does while the task still runs, and
finished executions are turned into hooks and ``task:succeeded`` / ``task:failed`` events.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from .._model.task import (
    Execution,
    ExecutionStatus,
    LogEntry,
    Misfire,
    Overlap,
    Task,
    TaskStatus,
    TriggerKind,
)
from ..triggers import EventTrigger, IntervalTrigger, OnceTrigger
from .context import Event, _Sink
from .policies import PolicyHost, after_outcome, excluded
from .run import Run

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator

    from ..stores import Store
    from .clock import Clock
    from .dispatch import Dispatcher
    from .hooks import HookRegistry
    from .runner import Runner

__all__ = ["MAX_CATCH_UP", "MAX_EVENT_DEPTH", "Firing", "FiringHost", "SchedulerSink"]


class FiringHost(PolicyHost, Protocol):
    """What turning due times into executions needs of the scheduler."""

    store: Store
    clock: Clock
    hooks: HookRegistry
    _event_tasks: dict[str, set[str]]
    _stopping: bool
    _loop_thread: int | None
    _random: random.Random
    _ids: Iterator[int]
    _id_prefix: str

    @property
    def _runner(self) -> Runner: ...

    @property
    def _dispatcher(self) -> Dispatcher: ...

    @property
    def _firing(self) -> Firing: ...

    def _require_loop(self) -> asyncio.AbstractEventLoop: ...


# Enum members read from module globals (a class attribute read costs a metaclass hook on
# Python 3.11, see ``_models._OPEN``).
_ACTIVE, _COMPLETED, _SCHEDULE = TaskStatus.ACTIVE, TaskStatus.COMPLETED, TriggerKind.SCHEDULE
_SUCCEEDED = ExecutionStatus.SUCCEEDED
_FAILING = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})  # task:failed

log = logging.getLogger("cognia_nb.scheduler")

MAX_CATCH_UP = 1000  # run_all: at most this many late firings are run at once
#: Event chains stop here: task:succeeded -> task -> task:succeeded ..., and emits from
#: handlers (a handler's emit starts executions one link further down its own chain).
MAX_EVENT_DEPTH = 8


class Firing:
    """Turns due times, manual runs and events into executions for a :class:`Scheduler`."""

    def __init__(self, scheduler: FiringHost) -> None:
        self.s = scheduler
        self._claims: list[tuple[Task, float]] = []
        self._won: deque[tuple[Task, float]] = deque()
        # Claim answers, appended by the writer thread; one loop wakeup drains all that came.
        self._answers: deque[tuple[list[tuple[Task, float]], list[bool], asyncio.Future[None]]]
        self._answers = deque()
        self._draining = False
        self._now = scheduler.clock.now  # looked up once: see Runner._now
        self.chains_cut = 0  # events not emitted: their chain reached MAX_EVENT_DEPTH
        self._cut_logged: set[str] = set()

    def on_due(self, task_id: str, due: float, now: float) -> None:
        """The dispatcher says ``task_id`` is due (nominally at ``due``).

        (A claim this process already won while stopping still fires: the firing is ours and
        gets the rest of the stop's grace like any running execution.)
        """
        s = self.s
        if s._stopping:
            return
        task = s._tasks.get(task_id)
        if task is None or task.status is not _ACTIVE or task.handler_missing:
            return
        if not s.store.claims_async:
            self.fire_due(task, due, now)
            return
        # A shared store: claim first (in the writer thread, one transaction per slice),
        # fire what this process won when the answer comes back.
        if not self._claims:
            loop = self.s._require_loop()
            loop.call_soon(self._send_claims)
        self._claims.append((task, due))

    def _send_claims(self) -> None:
        batch, self._claims = self._claims, []
        loop = self.s._require_loop()
        answered: asyncio.Future[None] = loop.create_future()
        self.s.clock.track(answered)  # a fake clock waits for the answer before moving on

        def done(won: list[bool]) -> None:  # called from the writer thread
            self._answers.append((batch, won, answered))  # before the flag: see _drain
            if not self._draining and not loop.is_closed():
                self._draining = True
                loop.call_soon_threadsafe(self._drain)

        self.s.store.claim_batch(batch, done)

    def _drain(self) -> None:
        self._draining = False  # before draining: an answer appended later schedules a drain
        answers = self._answers
        while answers:
            self._claimed(*answers.popleft())

    def _claimed(
        self, batch: list[tuple[Task, float]], won: list[bool], answered: asyncio.Future[None]
    ) -> None:
        if not answered.done():
            answered.set_result(None)
        loop = self.s._loop
        if loop is None:
            return
        # Answers for many slices can arrive together: fire the winners in slices again.
        if not self._won:
            loop.call_soon(self._fire_won)
        now = self.s.clock.now()
        for (task, due), mine in zip(batch, won, strict=True):
            if self.s._tasks.get(task.id) is not task or task.status is not _ACTIVE:
                continue
            if mine:
                self._won.append((task, due))
            else:  # another process fired it: move on to the next fire time
                nxt = task.trigger.next_fire_timestamp(max(now, due))
                task.next_run_ts = nxt
                if nxt is not None:
                    self.s._dispatcher.schedule(task.id, nxt)
                elif isinstance(task.trigger, OnceTrigger):
                    task.status = _COMPLETED

    def _fire_won(self) -> None:
        loop = self.s._loop
        if loop is None:
            self._won.clear()
            return
        now = self.s.clock.now()
        for _ in range(min(len(self._won), self.s._dispatcher.slice_size)):
            task, due = self._won.popleft()
            if self.s._tasks.get(task.id) is task and task.status is _ACTIVE:
                self.fire_due(task, due, now)
        if self._won:
            loop.call_soon(self._fire_won)

    def fire_due(self, task: Task, due: float, now: float) -> None:
        """Fire a due task by its misfire policy and schedule its next fire time."""
        s = self.s
        nxt = task.trigger.next_fire_timestamp(due)
        if (nxt is None or nxt > now) and now - due <= task.misfire_grace_seconds:
            fired = self.fire(task, due, _SCHEDULE) is not None  # on time
        else:
            times, extra, nxt = self._collect_due(task, due, now, nxt)
            fired = self._apply_misfire(task, times, extra, now)
        task.next_run_ts = nxt
        if nxt is not None:
            jitter = s._random.uniform(0, task.jitter_seconds) if task.jitter_seconds else 0
            s._dispatcher.schedule(task.id, nxt, nxt + jitter)
        elif isinstance(task.trigger, OnceTrigger) and not fired:
            task.status = _COMPLETED  # its only firing was missed (misfire="skip")
        if not s.store.live_objects:
            s.store.save_task_state(task)

    def _collect_due(
        self, task: Task, due: float, now: float, nxt: float | None
    ) -> tuple[list[float], int, float | None]:
        """Fire times from ``due`` up to ``now`` (``nxt`` follows ``due``): the first
        MAX_CATCH_UP of them, how many more, and the next one after ``now``."""
        trigger = task.trigger
        times = [due]
        extra = 0
        while nxt is not None and nxt <= now:
            if len(times) < MAX_CATCH_UP:
                times.append(nxt)
            elif isinstance(trigger, IntervalTrigger):  # count arithmetically, don't iterate
                extra = trigger.count_between(times[-1], now)
                return times, extra, trigger.next_fire_timestamp(now)
            else:
                extra += 1
            nxt = trigger.next_fire_timestamp(nxt)
        return times, extra, nxt

    def _apply_misfire(self, task: Task, times: list[float], extra: int, now: float) -> bool:
        """Fire what the misfire policy says; count the rest as missed. True if anything ran."""
        count = len(times) + extra
        grace = task.misfire_grace_seconds
        if count == 1 and now - times[0] <= grace:
            return self.fire(task, times[0], TriggerKind.SCHEDULE) is not None
        if task.misfire is Misfire.COALESCE:
            task.missed_count += count - 1
            return self.fire(task, times[0], TriggerKind.SCHEDULE, missed=count - 1) is not None
        if task.misfire is Misfire.SKIP:
            if now - times[-1] <= grace:
                task.missed_count += count - 1
                return (
                    self.fire(task, times[-1], TriggerKind.SCHEDULE, missed=count - 1) is not None
                )
            task.missed_count += count
            return False
        task.missed_count += extra
        # run_all: each late firing runs; with overlap="skip" they queue behind each other
        # rather than skip each other.
        catch_up = Overlap.QUEUE if task.overlap is Overlap.SKIP else None
        fired = [
            self.fire(task, ts, TriggerKind.SCHEDULE, overlap=catch_up if i else None)
            for i, ts in enumerate(times)
        ]
        return any(ex is not None for ex in fired)

    def fire(
        self,
        task: Task,
        scheduled_ts: float,
        kind: TriggerKind,
        *,
        missed: int = 0,
        event: Event | None = None,
        depth: int = 0,
        overlap: Overlap | None = None,
    ) -> Execution | None:
        """Start one firing, applying the overlap policy. None if it was skipped.

        A task counts as running while a handler of it runs: an admitted execution, one
        winding down after a cancel or timeout, or an abandoned handler (its execution is
        over, its thread is not). ``skip`` skips (counted), ``queue`` waits, ``replace``
        cancels and starts the new execution once the old handler has returned, ``allow``
        starts at once.
        """
        if task.calendar is not None and kind is _SCHEDULE and excluded(self.s, task, scheduled_ts):
            return None  # the calendar skips it
        s = self.s
        runner = s._runner
        # Nothing running (the common case) costs two dict lookups, no policy at all.
        busy = None
        if task.id in runner.by_task or task.id in runner.abandoned:
            busy = self._busy_policy(task, kind, overlap)
            if busy is None:
                return None
        run = Run(task, f"x_{s._id_prefix}{next(s._ids):07x}", kind, scheduled_ts, self._now(),
                  depth)  # fmt: skip
        if missed:
            run.missed = missed
        if event is not None:
            run.event = event
        s.store.save_execution(run)
        if busy is None:
            runner.submit(run)
            return run
        if busy is Overlap.REPLACE:
            self._replace(task, run)
            busy = Overlap.QUEUE if runner.busy(task.id) else Overlap.ALLOW
        if busy is Overlap.QUEUE:
            runner.enqueue(run)
        else:
            runner.submit(run)
        return run

    def _busy_policy(
        self, task: Task, kind: TriggerKind, overlap: Overlap | None
    ) -> Overlap | None:
        """What a firing does while a handler of the task runs; None: it is skipped (and
        counted)."""
        policy = overlap or task.overlap
        if kind is TriggerKind.MANUAL and policy is Overlap.SKIP:
            return Overlap.QUEUE  # "run now" never silently does nothing
        if policy is Overlap.SKIP:
            task.skipped_count += 1
            for running in self.s._runner.running_for(task.id):
                running.skipped += 1
            return None
        return policy

    def _replace(self, task: Task, ex: Execution) -> None:
        """overlap="replace": cancel what runs or waits; the new execution starts when the
        old handler has returned (at most one handler of the task runs)."""
        runner = self.s._runner
        for old in runner.running_for(task.id):
            runner.cancel(old, "replaced")
        for old in list(runner.queued.get(task.id, ())):
            runner.cancel(old, "replaced")
        if task.id in runner.abandoned:
            message = ("waits: the handler it replaces still runs in an abandoned thread; a "
                       "second copy is not started")  # fmt: skip
            ex.logs.append(LogEntry(self.s.clock.now(), "warning", message, {}, 0))
            log.warning("task %r: replace %s", task.name, message)

    def settle(self, run: Run, record: bool, announce: bool) -> None:
        """An execution has its final status: ``record`` saves it (and its task's state),
        ``announce`` fires its hooks and ``task:*`` events (with strict durability the runner
        announces only once the record is committed: two calls)."""
        s, task, ex = self.s, run.task, run
        if record:
            if run.trigger_kind is _SCHEDULE and isinstance(task.trigger, OnceTrigger):
                task.status = _COMPLETED
                task.next_run_ts = None
            if not s.store.live_objects:
                s.store.save_execution(run)
                if task.id in s._tasks:
                    s.store.save_task_state(task)
            if not announce:
                return
        succeeded = ex.status is _SUCCEEDED
        if s.hooks.active:
            if succeeded:
                s.hooks.fire("task_complete", task, ex, ex.result)
            else:
                s.hooks.fire("task_error", task, ex, ex.error or str(ex.status))
        if task.max_consecutive_failures is not None:
            after_outcome(s, task, ex)  # may pause the task
        if not s._event_tasks or s._loop is None:
            return
        if succeeded:
            event_type = "task:succeeded"
        elif ex.status in _FAILING:
            event_type = "task:failed"
        else:
            return
        if not s._event_tasks.get(event_type):
            return
        if self.chain_cut(run.depth, event_type, task.name):
            return
        payload = {
            "taskId": task.id,
            "taskName": task.name,
            "pluginId": task.plugin_id,
            "executionId": ex.id,
            "status": str(ex.status),
            "error": ex.error,
        }
        # A task never fires on its own success or failure (that would loop forever).
        self.emit(event_type, payload, "scheduler", run.depth + 1, exclude=task.id)

    def chain_cut(self, depth: int, event_type: str, where: str) -> bool:
        """True (and one log line per event type) if an event from an execution ``depth``
        links down a chain would go past :data:`MAX_EVENT_DEPTH`."""
        if depth < MAX_EVENT_DEPTH:
            return False
        self.chains_cut += 1
        if event_type not in self._cut_logged:
            self._cut_logged.add(event_type)
            log.warning("event chain stopped after %d links at %r: %r is not emitted (further "
                        "cuts of %r chains are counted, not logged)", depth, where, event_type,
                        event_type)  # fmt: skip
        return True

    def emit_from(
        self, event_type: str, payload: Any, source: str, execution_id: str | None
    ) -> list[str]:
        """An emit by user code; from inside a handler it continues that execution's chain."""
        depth = 0
        if execution_id is not None:
            run = self.s._runner.live.get(execution_id)
            parent = run.depth if run is not None else 0
            if self.chain_cut(parent, event_type, run.task.name if run else execution_id):
                return []
            depth = parent + 1
        return self.emit(event_type, payload, source, depth)

    def notify_progress(self, run: Run) -> None:
        if not self.s.hooks.has("task_progress"):
            return
        loop = self.s._loop
        if loop is None:
            return
        if self.s._loop_thread == threading.get_ident():
            self.s.hooks.fire("task_progress", run.task, run)
        else:
            loop.call_soon_threadsafe(self.s.hooks.fire, "task_progress", run.task, run)

    def emit(
        self, event_type: str, payload: Any, source: str, depth: int, exclude: str | None = None
    ) -> list[str]:
        if self.s._stopping:  # a stopping scheduler starts no new event runs
            return []
        event = Event(event_type, payload, source, datetime.fromtimestamp(self.s.clock.now(), UTC))
        started: list[str] = []
        for tid in sorted(self.s._event_tasks.get(event_type, ())):
            if tid == exclude:
                continue
            task = self.s._tasks[tid]
            trigger = task.trigger
            if not isinstance(trigger, EventTrigger) or not trigger.matches(event_type, source):
                continue
            if task.status is not _ACTIVE or task.handler_missing:
                continue
            ex = self.fire(task, self.s.clock.now(), TriggerKind.EVENT, event=event, depth=depth)
            if ex is not None:
                started.append(ex.id)
        return started


class SchedulerSink(_Sink):
    """Progress and log lines from handlers (any thread) onto executions (loop thread)."""

    def __init__(self, scheduler: FiringHost) -> None:
        self.s = scheduler

    def progress(self, execution_id: str, percent: float, message: str | None) -> None:
        run = self.s._runner.live.get(execution_id)
        if run is None:
            return
        run.progress = percent
        if message is not None:
            run.progress_message = message
        self.s._firing.notify_progress(run)

    def log(self, execution_id: str, level: str, message: str, fields: dict[str, Any]) -> None:
        run = self.s._runner.live.get(execution_id)
        if run is None:
            return
        ex = run
        ex.logs.append(LogEntry(self.s.clock.now(), level, message, dict(fields), ex.attempt))
        self.s._firing.notify_progress(run)
