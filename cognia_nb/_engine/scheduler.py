"""The :class:`Scheduler`: tasks, handlers, firing policies, events and queries.

It glues three parts together: the :class:`~cognia_nb._engine.dispatch.Dispatcher` (when is a task
due), the :class:`~cognia_nb._engine.runner.Runner` (run an execution) and a
:class:`~cognia_nb.stores.Store` (what is kept). Methods that change state are plain methods;
methods that wait are ``async``. Every public method may be called from another thread (a sync
handler, a widget callback): the call is carried over to the loop thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import itertools
import logging
import os
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._errors import (
    HandlerNotFoundError,
    SchedulerStateError,
    TaskNotFoundError,
    TaskValidationError,
)
from .._model.checks import check_scheduler_options, checked_keywords
from .._model.spec import UNSET, TaskSpec, read_task_spec
from .._model.task import Task, TaskStatus, TriggerKind, _positive
from ..stores import Store, open_store
from ..triggers import EventTrigger, IntervalTrigger, OnceTrigger
from ..triggers._once import check_once_not_past
from ..triggers._tz import default_timezone, validate_zone_key
from .analyst import AnalystTools
from .clock import Clock, RealClock
from .context import SealedSink, current_task_context
from .dispatch import Dispatcher
from .durable import check_durability
from .executor import Executor
from .firing import Firing, SchedulerSink
from .handlers import Handler
from .hooks import HookRegistry
from .queries import ExecutionQueries
from .runner import MAX_QUEUED_PER_TASK, Runner
from .shutdown import STOP_GRACE, stop_now, wind_down
from .sync import anchor_for, watcher_for
from .threads import HandlerPool, on_loop

if TYPE_CHECKING:
    pass

__all__ = ["DEFAULT_PLUGIN_ID", "Scheduler", "task_id_for"]

# Enum members read from module globals (a class attribute read costs a metaclass hook on
# Python 3.11, see ``_model.task._OPEN``): creating a task reads two of them.
_ACTIVE, _PAUSED, _COMPLETED = TaskStatus.ACTIVE, TaskStatus.PAUSED, TaskStatus.COMPLETED

log = logging.getLogger("cognia_nb.scheduler")

DEFAULT_PLUGIN_ID = "default"


def task_id_for(plugin_id: str, name: str) -> str:
    """The stable id of the task ``(plugin_id, name)``."""
    digest = hashlib.blake2b(f"{plugin_id}\0{name}".encode(), digest_size=8).hexdigest()
    return f"t_{digest}"


class Scheduler(ExecutionQueries, AnalystTools):
    """An asyncio job scheduler.

    An execution is finished when its handler has returned (or been given up on), never
    before: a cancel or a timeout sets its signal at once and it shows ``cancelling`` until
    then; ``wait_for``, the hooks, the ``task:*`` events and the store see the final status
    only at that point. A handler that outlives the grace is abandoned (``abandoned=True``)
    and keeps its task busy for the overlap policy until it returns (``_engine/runner.py``).

    Args:
        store: ``None`` or ``"memory"`` (in memory), a path (SQLite file) or a
            :class:`~cognia_nb.stores.Store`.
        timezone: default IANA zone of cron triggers that name none (default: the system's).
        clock: the time source (``cognia_nb.testing.FakeClock`` in tests).
        max_concurrency: executions running at once (None: no limit); more wait as pending.
        sync_workers: threads for sync handlers.
        cancel_grace: seconds a handler gets to return after its abort signal is set (a
            timeout, a cancel) before an async one is cancelled; as long again after that (or
            for a sync one's thread) before it is given up on (``abandoned``).
        max_queued: firings a task may hold queued behind its running handler
            (``overlap="queue"``, the default of event tasks); beyond it the oldest is dropped
            and counted in the task's ``missed_count``.
        slice_size: due firings handled per loop iteration before yielding, at most (a slice
            also ends after about a millisecond of work).
        executors: named executors for tasks created with ``executor=<name>`` (such as
            ``{"dask": cognia_nb.executors.DaskExecutor()}``); "default" runs in-process.
        durability: ``"group"`` (default): a finished execution is acknowledged (``wait_for``,
            hooks, events) at once and committed with the next group commit, at most 50 ms
            later; ``"strict"``: acknowledged only once committed (see ``_durable.py``).
    """

    def __init__(
        self,
        store: Store | str | os.PathLike[str] | None = None,
        timezone: str | None = None,
        clock: Clock | None = None,
        max_concurrency: int | None = 256,
        *,
        sync_workers: int | None = None,
        cancel_grace: float = 1.0,
        max_queued: int = MAX_QUEUED_PER_TASK,
        slice_size: int = 256,
        executors: Mapping[str, Executor] | None = None,
        durability: str = "group",
    ) -> None:
        self.strict = check_durability(durability)
        self.store = open_store(store)
        self.store.strict = self.strict
        self.timezone = validate_zone_key(timezone, "timezone") if timezone else default_timezone()
        self.clock: Clock = clock or RealClock()
        self.store.now = self.clock.now
        check_scheduler_options(max_concurrency, sync_workers, cancel_grace, slice_size)
        self.cancel_grace = float(cancel_grace)
        if isinstance(max_queued, bool) or not isinstance(max_queued, int) or max_queued < 1:
            raise TaskValidationError(
                f"max_queued must be a positive integer, got {max_queued!r}",
                field="max_queued",
                value=max_queued,
            )
        self.executors: dict[str, Executor] = dict(executors or {})
        self.hooks = HookRegistry()
        self._tasks: dict[str, Task] = {}
        self._handlers: dict[tuple[str, str], Handler] = {}
        # task id -> the function it was created with (create_task(handler=fn)): identity,
        # not the name, so two tasks from one factory each run their own closure
        self._bound: dict[str, Handler] = {}
        self._event_tasks: dict[str, set[str]] = {}
        self._firing = Firing(self)
        self._dispatcher = Dispatcher(self.clock, self._firing.on_due, slice_size)
        self._runner = Runner(self, max_concurrency, max_queued)
        self._sink = SealedSink(SchedulerSink(self))  # handlers see no scheduler through it
        self._pool = HandlerPool(sync_workers or min(32, (os.cpu_count() or 1) + 4))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._stopping = False
        self._loaded = False
        self._random = random.Random()
        self._ids = itertools.count(1)
        self._id_prefix = os.urandom(4).hex()
        self._load()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether :meth:`start` attached the scheduler to a loop."""
        return self._loop is not None

    @property
    def max_concurrency(self) -> int | None:
        """Executions allowed to run at once."""
        return self._runner.max_concurrency

    def start(self) -> Scheduler:
        """Attach to the running event loop and arm the timer (idempotent). Returns self.

        Raises:
            SchedulerStateError: when no event loop is running in this thread.
        """
        if self._loop is not None:
            return self
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise SchedulerStateError(
                "Scheduler.start() needs a running asyncio event loop: call it from async code "
                "or a notebook cell (Jupyter runs one), or run plugins with `cognia-nb run`"
            ) from None
        self._load()
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._stopping = False
        now = self.clock.now()
        for task in self._tasks.values():
            self._arm(task, now, restore=True)
        self._dispatcher.start(loop)
        self.store.watch(watcher_for(self, loop))
        return self

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop gracefully: no new firing; running handlers get ``grace`` seconds to finish,
        then are cancelled and get ``cancel_grace`` more; what still runs is abandoned
        (recorded, ``abandoned=True``, and reported). Every task's state (next run included)
        is saved and the store flushed: the next start continues where this one stopped.

        Raises:
            TaskValidationError: ``grace`` is not a finite number >= 0.
        """
        grace = _positive(grace, "grace")
        if self._loop is not None:
            await wind_down(self, grace)
        else:
            self.store.flush()
        for executor in self.executors.values():
            await executor.close()

    @property
    def abandoned_threads(self) -> int:
        """Abandoned handlers still running (a sync handler's thread that outlived its abort
        and the grace, or an async handler that swallowed its cancellation)."""
        return sum(self._runner.abandoned.values())

    def executor_for(self, task: Task) -> Executor | None:
        """The executor of a task (None: in this process)."""
        if task.executor == "default":
            return None
        return self.executors[task.executor]

    def _preflight(self, executor: str, handler: Handler | None, args: Any) -> None:
        """Refuse an unknown executor, or a handler/args it cannot ship, before any change."""
        if executor == "default":
            return
        if executor not in self.executors:
            known = ", ".join(repr(n) for n in ("default", *self.executors))
            raise TaskValidationError(
                f"executor {executor!r} is not configured; known: {known} (pass "
                f"Scheduler(executors={{{executor!r}: ...}}))",
                field="executor", value=executor,
            )  # fmt: skip
        if handler is not None:
            self.executors[executor].check(handler, args)

    @on_loop
    def stop_nowait(self) -> list[asyncio.Task[None]]:
        """Like :meth:`stop` without waiting: running handlers are cancelled and given up on
        at once (recorded with ``abandoned=True``). From another thread (a sync handler) the
        call is carried over to the loop thread.

        Returns:
            The execution tasks that were cancelled (await them to let handlers clean up).
        """
        if self._loop is None:
            self.store.flush()
            return []
        return stop_now(self)

    def close(self) -> None:
        """Release the thread pool and the store (after :meth:`stop`)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise SchedulerStateError(
                "the scheduler is not running; call scheduler.start() from async code first"
            )
        return self._loop

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self.store.open()
        for task in self.store.load_tasks():
            if task.id not in self._tasks:
                self._tasks[task.id] = task
                self._index(task)
                task.handler_missing = self.handler_for(task) is None

    # -- handlers -------------------------------------------------------------------------

    @on_loop
    def register_handler(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        plugin_id: str = DEFAULT_PLUGIN_ID,
        context: contextvars.Context | None = None,
    ) -> Callable[[], None]:
        """Bind ``fn`` to the handler name ``name`` (replacing an earlier binding).

        ``fn`` is called as ``fn(context)``, ``fn(args, context)`` or ``fn()``, by its
        signature; ``async def`` runs on the loop, plain functions in a thread pool. Tasks
        waiting for this handler are armed. With ``context`` (a captured
        ``contextvars.Context``, such as a notebook cell's) every run happens in a copy of it.

        Returns:
            A function that unregisters the handler (tasks then wait for it again).
        """
        if not isinstance(name, str) or not name.strip():
            raise TaskValidationError(
                f"handler name must be a non-empty string, got {name!r}",
                field="handler",
                value=name,
            )
        handler = Handler(plugin_id, name, fn, context)
        key = (plugin_id, name)
        for task in self._tasks.values():  # tasks that run elsewhere must be able to ship it
            if (task.plugin_id, task.handler) == key:
                self._preflight(task.executor, handler, task.args)
        self._handlers[key] = handler
        now = self.clock.now()
        for task in self._tasks.values():
            if (task.plugin_id, task.handler) == key and task.handler_missing:
                task.handler_missing = False
                self._arm(task, now, restore=True)

        def unregister() -> None:
            self._unregister(key, handler)

        return unregister

    @on_loop
    def _unregister(self, key: tuple[str, str], handler: Handler) -> None:
        if self._handlers.get(key) is not handler:
            return
        del self._handlers[key]
        for task in self._tasks.values():
            if (task.plugin_id, task.handler) == key and task.id not in self._bound:
                task.handler_missing = True  # next_run_ts stays: its return catches up
                self._dispatcher.unschedule(task.id)

    def handler_for(self, task: Task) -> Handler | None:
        """The handler of a task: the function it was created with, else the one registered
        under its handler name, else None."""
        bound = self._bound.get(task.id)
        if bound is not None:
            return bound
        return self._handlers.get((task.plugin_id, task.handler))

    # -- tasks ----------------------------------------------------------------------------

    @checked_keywords
    @on_loop
    def create_task(
        self,
        spec: Mapping[str, Any] | None = None,
        /,
        *,
        name: str = UNSET,
        handler: str | Callable[..., Any] = UNSET,
        trigger: Any = UNSET,
        description: str = UNSET,
        args: Any = UNSET,
        retry: Any = UNSET,
        timeout: float | None = UNSET,
        tags: Iterable[str] = UNSET,
        enabled: bool = UNSET,
        overlap: str = UNSET,
        misfire: str = UNSET,
        misfire_grace_seconds: float = UNSET,
        jitter_seconds: float = UNSET,
        executor: str = UNSET,
        metadata: dict[str, Any] = UNSET,
        plugin_id: str = UNSET,
        max_consecutive_failures: int | None = UNSET,
        exclude: Any = UNSET,
        windows: Any = UNSET,
    ) -> Task:
        """Create a task, or update the task with the same ``(plugin_id, name)`` in place.

        Takes keywords, or the seed's dict (``{"name", "handler", "trigger", "retry":
        {"maxAttempts", "delaySeconds"}, "timeout", "tags", ...}``, camelCase or snake_case).
        ``handler`` is a registered handler name, or a function: the task then runs that very
        function (bound by identity; it is also registered under its ``__name__`` for tasks
        that name it), and creating the task again with a redefined function rebinds it.
        An update keeps the task's id, history, counters and paused/active state.
        ``max_consecutive_failures=N`` pauses the task after N failed executions in a row;
        ``exclude=`` / ``windows=`` are its calendar (``cognia_nb._model.calendar``).

        Raises:
            TaskValidationError: naming the field and the value; nothing is changed.
        """
        kwargs = dict(locals())  # copied in C: a comprehension here cost a fifth of a create
        del kwargs["self"], kwargs["spec"]
        task_spec = read_task_spec(spec, kwargs, default_timezone=self.timezone)
        return self._upsert(task_spec)

    def _upsert(self, spec: TaskSpec) -> Task:
        plugin_id = spec.plugin_id or DEFAULT_PLUGIN_ID
        tid = task_id_for(plugin_id, spec.name)
        now = self.clock.now()
        existing = self._tasks.get(tid)
        trigger = spec.trigger
        if isinstance(trigger, OnceTrigger):
            same = existing is not None and existing.trigger == trigger
            if not same:
                check_once_not_past(trigger, datetime.fromtimestamp(now, UTC))
        if isinstance(trigger, IntervalTrigger) and trigger.start_at is None:
            trigger = trigger.anchored(anchor_for(self, tid, existing, trigger, now))
        if spec.executor != "default":  # an executor checks what it is to ship
            shipped = (Handler(plugin_id, spec.handler, spec.handler_fn) if spec.handler_fn
                       else self._handlers.get((plugin_id, spec.handler)))  # fmt: skip
            self._preflight(spec.executor, shipped, spec.args)
        if spec.handler_fn is not None:
            self.register_handler(spec.handler, spec.handler_fn, plugin_id=plugin_id)
            self._bound[tid] = self._handlers[(plugin_id, spec.handler)]
        else:
            self._bound.pop(tid, None)
        if existing is None:
            task = Task(
                tid, plugin_id, spec.name, spec.handler, trigger, spec.description, spec.args,
                spec.retry, spec.timeout, spec.tags,
                _ACTIVE if spec.enabled else _PAUSED, spec.overlap,
                spec.misfire, spec.misfire_grace_seconds, spec.jitter_seconds, spec.executor,
                now, now,
            )  # fmt: skip
            if spec.metadata:
                task.metadata = spec.metadata
            same_trigger = False
        else:
            task = existing
            same_trigger = task.trigger == trigger
            self._unindex(task)
            if task.status is _COMPLETED and task.trigger != trigger:
                task.status = _ACTIVE
            task.handler, task.trigger = spec.handler, trigger
            task.description, task.args, task.retry = spec.description, spec.args, spec.retry
            task.timeout, task.tags, task.overlap = spec.timeout, spec.tags, spec.overlap
            task.misfire, task.misfire_grace_seconds = spec.misfire, spec.misfire_grace_seconds
            task.jitter_seconds, task.executor = spec.jitter_seconds, spec.executor
            task.metadata, task.updated_ts = spec.metadata, now
        task.handler_missing = self.handler_for(task) is None
        task.max_consecutive_failures, task.calendar = spec.max_consecutive_failures, spec.calendar
        self._tasks[tid] = task
        self._index(task)
        self._arm(task, now, restore=same_trigger)
        self.store.save_task(task)
        if self.hooks.active:
            self.hooks.fire("task_create" if existing is None else "task_update", task)
        return task

    def _index(self, task: Task) -> None:
        if isinstance(task.trigger, EventTrigger):
            self._event_tasks.setdefault(task.trigger.event_type, set()).add(task.id)

    def _unindex(self, task: Task) -> None:
        if isinstance(task.trigger, EventTrigger):
            ids = self._event_tasks.get(task.trigger.event_type)
            if ids is not None:
                ids.discard(task.id)
                if not ids:  # an empty index lets finishing skip the event check
                    del self._event_tasks[task.trigger.event_type]

    def _arm(self, task: Task, now: float, *, restore: bool = False) -> None:
        """Put the task's next fire time on the heap (or take it off).

        With ``restore`` a stored next fire time is kept even if it is past, so firings missed
        while the process was down (or the handler missing) go through the misfire policy.
        """
        if task.status is not _ACTIVE:
            self._dispatcher.unschedule(task.id)
            task.next_run_ts = None
            return
        if task.handler_missing:  # keeps next_run_ts: the handler's return catches up
            self._dispatcher.unschedule(task.id)
            return
        if restore and task.next_run_ts is not None:
            nxt: float | None = task.next_run_ts  # late ones go through the misfire policy
        else:
            nxt = task.trigger.next_fire_timestamp(now)
            if nxt is None and isinstance(task.trigger, OnceTrigger) and task.run_count == 0:
                nxt = now  # created within the 5-minute tolerance: fire at once
        task.next_run_ts = nxt
        if nxt is None:
            self._dispatcher.unschedule(task.id)
        elif self._loop is not None:
            jitter = self._random.uniform(0, task.jitter_seconds) if task.jitter_seconds else 0
            self._dispatcher.schedule(task.id, nxt, nxt + jitter)

    def _redefine(self, task: Task, source: Task, fields: Iterable[str], now: float) -> None:
        """Give ``task`` the ``fields`` and metadata of ``source``, then index and re-arm it
        (another process's newer definition, or the one a failed plugin load puts back)."""
        self._unindex(task)
        if source.handler != task.handler:
            self._bound.pop(task.id, None)  # a function bound to the old name no longer runs it
        for name in fields:
            setattr(task, name, getattr(source, name))
        task.metadata = source._metadata  # the setter copies the dict
        self._index(task)
        task.handler_missing = self.handler_for(task) is None
        self._arm(task, now, restore=True)

    def list_tasks(
        self,
        status: str | None = None,
        tags: Iterable[str] | None = None,
        *,
        plugin_id: str | None = None,
    ) -> list[Task]:
        """Tasks, optionally only those with ``status`` and carrying all of ``tags``."""
        if status is not None and status not in TaskStatus.__members__.values():
            raise TaskValidationError(
                f"status must be one of 'active', 'paused', 'completed', got {status!r}",
                field="status",
                value=status,
            )
        wanted = set(tags or ())
        return [
            t
            for t in self._tasks.values()
            if (status is None or t.status == status)
            and wanted.issubset(t.tags)
            and (plugin_id is None or t.plugin_id == plugin_id)
        ]

    def get_task(self, task_id: str) -> Task:
        """The task with this id (or, failing that, the only task with this name).

        Raises:
            TaskNotFoundError: naming the id.
        """
        task = self._tasks.get(task_id)
        if task is not None:
            return task
        named = [t for t in self._tasks.values() if t.name == task_id]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise TaskNotFoundError(task_id, f"{len(named)} tasks have that name; use an id")
        raise TaskNotFoundError(task_id)

    @on_loop
    def pause_task(self, task_id: str, reason: str | None = None) -> Task:
        """Stop the task firing (running executions finish). Idempotent.

        ``reason`` is kept as ``task.pause_reason`` (set before ``task_pause`` fires).
        """
        task = self.get_task(task_id)
        if task.status is TaskStatus.ACTIVE:
            task.status, task.pause_reason = TaskStatus.PAUSED, reason
            self._dispatcher.unschedule(task.id)
            task.next_run_ts = None
            self.store.save_task(task)
            self.hooks.fire("task_pause", task)
        return task

    @on_loop
    def resume_task(self, task_id: str) -> Task:
        """Re-arm a paused task from now (missed firings while paused are not caught up)."""
        task = self.get_task(task_id)
        if task.status is TaskStatus.PAUSED:
            task.status, task.pause_reason, task.consecutive_failures = TaskStatus.ACTIVE, None, 0
            self._arm(task, self.clock.now())
            self.store.save_task(task)
            self.hooks.fire("task_resume", task)
        return task

    @on_loop
    def delete_task(self, task_id: str) -> None:
        """Delete a task; its pending and running executions are cancelled, history stays."""
        task = self.get_task(task_id)
        self._forget(task)
        self.store.delete_task(task.id)
        self.hooks.fire("task_delete", task)

    def _forget(self, task: Task) -> None:
        """Drop a task from this scheduler (deleted here or by another process)."""
        self._dispatcher.forget(task.id)
        for run in list(self._runner.live.values()):
            if run.task.id == task.id:
                self._runner.cancel(run, "task deleted")
        self._unindex(task)
        self._tasks.pop(task.id, None)
        self._bound.pop(task.id, None)

    @on_loop
    def run_task_now(self, task_id: str) -> str:
        """Run a task now (a manual execution, also for paused tasks); returns its id.

        With ``overlap="skip"`` a manual run waits behind a running one instead of vanishing.

        Raises:
            TaskNotFoundError, HandlerNotFoundError, SchedulerStateError.
        """
        task = self.get_task(task_id)
        self._require_loop()
        if self.handler_for(task) is None:
            raise HandlerNotFoundError(task.handler)
        if self._stopping:
            raise SchedulerStateError("the scheduler is stopping; run_task_now is refused")
        ex = self._firing.fire(task, self.clock.now(), TriggerKind.MANUAL)
        assert ex is not None
        return ex.id

    def emit(self, event_type: str, payload: Any = None, source: str = "user") -> list[str]:
        """Fire every active event task matching ``event_type`` (and its ``eventSource``).

        Each matching task handles each event (event tasks queue by default). An emit from
        inside a handler continues that execution's event chain, which is cut at
        ``MAX_EVENT_DEPTH`` links (one log line), like ``task:succeeded`` chains.

        Returns:
            The ids of the executions started.
        """
        EventTrigger(event_type, source)  # validates both names
        context = current_task_context.get()  # read in the caller's thread
        return self._emit(
            event_type, payload, source, None if context is None else context.execution_id
        )

    @on_loop
    def _emit(
        self, event_type: str, payload: Any, source: str, from_execution: str | None
    ) -> list[str]:
        self._require_loop()
        return self._firing.emit_from(event_type, payload, source, from_execution)

    # -- hooks ----------------------------------------------------------------------------

    def on(self, hook: str, fn: Callable[..., Any]) -> Callable[[], None]:
        """Listen to a hook; returns a function that stops listening.

        Hooks and their arguments: ``task_start(task, execution)``,
        ``task_complete(task, execution, result)``, ``task_error(task, execution, error)``,
        ``task_create(task)``, ``task_update(task)``, ``task_delete(task)``,
        ``task_pause(task)``, ``task_resume(task)``, ``task_progress(task, execution)``.
        Listeners may be sync or async; one that raises is logged and never stops anything.
        """
        return self.hooks.add(hook, fn)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<Scheduler {state} tasks={len(self._tasks)} running={self._runner.active} "
            f"store={self.store.location} tz={self.timezone}>"
        )
