"""Running executions: concurrency, attempts, retries, timeouts, cancellation, finishing.

One asyncio task per running execution drives its attempts. Async handlers are awaited on the
loop; sync handlers run in a thread pool and the loop waits on their future, never on them.

**The rule: an execution is finished when its handler has returned (or been given up on),
never before.** A timeout or a cancel sets the attempt's :class:`AbortSignal` at once; the
execution stays ``running`` with ``cancelling`` true and ``reason`` saying why while the handler
winds down. An async handler that is still running ``cancel_grace`` seconds later is cancelled
(``CancelledError`` inside it); a sync handler's thread gets the same grace to return. Only
then is the final status recorded, and ``wait_for``, the hooks, the ``task:*`` events and the
store see it.

A handler that outlives the grace (a thread cannot be killed; an async handler may swallow
its cancellation) is *abandoned*: the execution is recorded ``timed_out`` / ``cancelled``
with ``abandoned=True``, ``scheduler.abandoned_threads`` counts it, one warning names the
task, and the task still counts as running for its overlap policy until the handler really
returns. An abandoned thread does not shrink the pool (it grows by one while it runs). An
abandoned attempt is never retried (that would run the handler twice at once).

Every exception a handler raises, ``BaseException`` included (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``), is a failed attempt naming it; the only
``CancelledError`` read as cancellation is the one the scheduler itself sent.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import traceback
from collections import deque
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from .._model.task import _OPEN, Execution, ExecutionStatus, LogEntry, Task
from .context import AbortSignal, TaskContext, current_task_context
from .deadlines import Deadlines
from .durable import acknowledge
from .eager import Resume
from .giveup import Abandoned, GiveUpHost, GivingUp
from .handlers import Handler
from .outcome import NONE_SUCCEEDED, Outcome, aborted_outcome, error_outcome, value_outcome
from .run import Run

if TYPE_CHECKING:
    from ..stores import Store
    from .context import _Sink
    from .executor import Executor
    from .hooks import HookRegistry

__all__ = ["MAX_QUEUED_PER_TASK", "FinishSink", "Run", "Runner", "RunnerHost"]


class FinishSink(Protocol):
    """Who records a finished run and tells the world (the scheduler's ``Firing``)."""

    def settle(self, run: Run, record: bool, announce: bool) -> None: ...


class RunnerHost(GiveUpHost, Protocol):
    """What running executions needs of the scheduler (the runner never imports it)."""

    store: Store
    hooks: HookRegistry
    strict: bool
    _stopping: bool

    @property
    def _sink(self) -> _Sink: ...

    _loop: asyncio.AbstractEventLoop | None

    @property
    def _firing(self) -> FinishSink: ...

    def handler_for(self, task: Task) -> Handler | None: ...

    def executor_for(self, task: Task) -> Executor | None: ...


log = logging.getLogger("cognia_nb.scheduler")

MAX_QUEUED_PER_TASK = 1000  # default max_queued: beyond it the oldest queued firing is dropped


# Enum members read from module globals (a class attribute read costs a metaclass hook on
# Python 3.11, see ``_model.task._OPEN``).
_PENDING, _RUNNING = ExecutionStatus.PENDING, ExecutionStatus.RUNNING
_SUCCEEDED, _FAILED = ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED
_CANCELLED, _TIMED_OUT = ExecutionStatus.CANCELLED, ExecutionStatus.TIMED_OUT


class Runner(GivingUp):
    """Starts, runs and finishes executions for a :class:`Scheduler`."""

    def __init__(
        self, scheduler: RunnerHost, max_concurrency: int | None, max_queued: int = 1000
    ) -> None:
        self.s: RunnerHost = scheduler
        self.max_concurrency = max_concurrency
        self.max_queued = max_queued
        self.active = 0
        self.live: dict[str, Run] = {}  # execution id -> run (pending or running)
        self.by_task: dict[str, set[str]] = {}  # task id -> ids of launched, unfinished runs
        self.waiting: deque[Run] = deque()  # launched when a concurrency slot frees
        self.queued: dict[str, deque[Run]] = {}  # behind the task's own run (overlap="queue")
        self.abandoned: dict[str, int] = {}  # task id -> its abandoned handlers still running
        self.abandoned_total = 0  # handlers ever abandoned
        self._overflowing: set[str] = set()  # tasks whose queue dropped firings (logged once)
        self.deadlines = Deadlines(scheduler.clock)
        # The clock's reading function, looked up once (a method lookup through the clock's
        # class costs more than the reading itself; the scheduler's clock never changes).
        self._now = scheduler.clock.now
        self._sync_depth = 0  # > 0 while an execution's synchronous step runs

    # -- admission ------------------------------------------------------------------------

    def running_for(self, task_id: str) -> list[Run]:
        """Runs of ``task_id`` that were admitted and have not finished."""
        ids = self.by_task.get(task_id)
        return [self.live[i] for i in ids] if ids else []

    def busy(self, task_id: str) -> bool:
        """Whether a handler of the task runs (an admitted run, or an abandoned handler)."""
        return task_id in self.by_task or task_id in self.abandoned

    def submit(self, run: Run) -> None:
        """Admit a run: start it now or when a concurrency slot frees."""
        self.live[run.id] = run
        ids = self.by_task.get(run.task_id)
        if ids is None:
            self.by_task[run.task_id] = {run.id}
        else:
            ids.add(run.id)
        limit = self.max_concurrency
        if limit is None or self.active < limit:
            self._launch(run)
        else:
            self.waiting.append(run)

    def enqueue(self, run: Run) -> None:
        """Queue ``run`` behind its task's running handler; past ``max_queued`` the oldest
        queued run is dropped (recorded cancelled, counted in the task's ``missed_count``)."""
        task = run.task
        queue = self.queued.get(task.id)
        if queue is None:
            queue = self.queued[task.id] = deque()
        self.live[run.id] = run
        queue.append(run)
        if len(queue) > self.max_queued:
            oldest = queue.popleft()
            task.missed_count += 1
            if task.id not in self._overflowing:
                self._overflowing.add(task.id)
                log.warning("task %r: more than %d firings queued behind its running handler; "
                            "the oldest are dropped (counted in missed_count)", task.name,
                            self.max_queued)  # fmt: skip
            error = f"dropped: more than {self.max_queued} executions were queued for the task"
            self.finish(oldest, _CANCELLED, Outcome(error=error), "queue full")

    def _launch(self, run: Run) -> None:
        self.active += 1
        run.launched = True
        if self._sync_depth:
            # Launched from inside another execution's synchronous step (a run that finished
            # and frees a slot, an event chain): start it on the next loop turn, so these
            # steps never nest.
            self.s._require_loop().call_soon(self._attempt, run, None, True)
        else:
            self._attempt(run, None, True)

    # -- one attempt ----------------------------------------------------------------------
    #
    # An attempt starts synchronously. An async handler's coroutine runs its first step at
    # once (what ``asyncio.eager_task_factory`` does): most light handlers never suspend and
    # finish right there, without a Task, a timer or a loop turn. One that suspends is handed
    # to a Task that resumes it where it stopped, and only then is its timeout armed (a
    # synchronous step cannot be interrupted anyway). Sync handlers (a thread) and executors
    # always get a Task. During that first step ``asyncio.current_task()`` is the caller's.
    #
    # This is the path every execution takes, so it is one function: a frame per execution
    # costs about as much as a dozen of the lines in it.

    def _attempt(  # noqa: PLR0915 - the path every execution takes, in one frame (above)
        self, run: Run, handler: Handler | None, begin: bool = False
    ) -> None:
        """Start an attempt; with ``begin``, the execution's first (it starts running)."""
        s, task = self.s, run.task
        if begin:
            if run.status is not _PENDING:  # cancelled while it waited for its turn
                return
            handler = s.handler_for(task)
            captured = handler.context if handler is not None else None
            # A handler registered with a captured context (a notebook cell's) runs in a copy
            # of it, so what it prints goes where that cell's output goes.
            run.ctx = captured.copy() if captured is not None else contextvars.copy_context()
            run.status = _RUNNING
            run.started_ts = task.last_run_ts = now = self._now()
            if not s.store.live_objects:
                s.store.save_execution(run)
            if s.hooks.active:
                s.hooks.fire("task_start", task, run)
        else:
            now = self._now()
        self._sync_depth += 1
        try:
            run.attempt += 1
            run.in_handler = True
            run.engine_cancel = False
            run.thread = None
            if handler is None:
                error = f"handler {task.handler!r} is not registered"
                self._attempt_done(run, Outcome(error=error))
                return
            signal = run.signal = AbortSignal()
            context = TaskContext(
                task.id, run.id, task.plugin_id, task.name, run.scheduled_ts, now, run.attempt,
                signal, task.args, run.event, s._sink, s.clock,
            )  # fmt: skip
            if task.executor != "default" or not handler.is_async:
                self._start_off_loop(run, handler, context, signal, now)
                return
            run.on_loop = True
            ctx = run.ctx
            assert ctx is not None  # set when it began
            try:
                step, first = ctx.run(_first_step, handler, context)
            except asyncio.CancelledError:  # raised by the handler's own first step
                outcome = Outcome(error="CancelledError: the handler cancelled itself")
            except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt: data
                outcome = error_outcome(exc, signal, task.timeout)
            else:
                if step is None:  # it returned during its first step: ``first`` is its value
                    if first is None and run.cancel_reason is None and not signal._aborted:
                        run.in_handler = False  # succeeded with nothing to record: the
                        self.finish(run, _SUCCEEDED, NONE_SUCCEEDED)  # common case, direct
                        return
                    outcome = value_outcome(first, signal, task.timeout)
                else:
                    self._suspended(run, Resume(step, first), signal, now)
                    return
            self._attempt_done(run, outcome)
        except Exception as exc:
            log.exception("internal error while running execution %s", run.id)
            outcome = Outcome(error=f"internal error: {exc!r}", trace=traceback.format_exc())
            run.in_handler = False
            self.finish(run, _FAILED, outcome)
        finally:
            self._sync_depth -= 1

    def _suspended(self, run: Run, rest: Resume, signal: AbortSignal, now: float) -> None:
        """The async handler suspended in its first step: a Task resumes it, its timeout is
        armed now."""
        timeout = run.task.timeout
        self._arm_deadline(run, None if timeout is None else now + timeout)
        coro = self._finish_attempt(run, rest, signal)
        run.aio_task = self.s._require_loop().create_task(coro, context=run.ctx)
        run.aio_task.add_done_callback(functools.partial(self._task_done, run))
        if signal.aborted:  # it cancelled its own execution during the first step
            self._cancel_after_grace(run, signal)

    def _start_off_loop(
        self, run: Run, handler: Handler, context: TaskContext, signal: AbortSignal, now: float
    ) -> None:
        """A sync handler (in the pool's thread) or an executor: always a Task."""
        s, task = self.s, run.task
        timeout = task.timeout
        loop = s._require_loop()
        executor = s.executor_for(task)
        run.on_loop = False
        self._arm_deadline(run, None if timeout is None else now + timeout)
        work = (
            executor.run(handler, context, signal, timeout)
            if executor is not None
            else self._call_sync(run, handler, context, signal)
        )
        run.aio_task = loop.create_task(self._finish_attempt(run, work, signal), context=run.ctx)
        run.aio_task.add_done_callback(functools.partial(self._task_done, run))

    async def _finish_attempt(self, run: Run, work: Awaitable[Any], signal: AbortSignal) -> None:
        """Await the rest of an attempt (an async handler that suspended in its first step, a
        sync handler's thread, an executor) and turn what it came to into an outcome."""
        timeout = run.task.timeout
        try:
            value = await work
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            cancelling = current.cancelling() if current is not None else 1
            if run.engine_cancel and cancelling and current is not None:
                current.uncancel()  # our own cancel of an aborted attempt
                outcome = aborted_outcome(signal, timeout)
            elif cancelling:  # cancelled from outside (the loop closing)
                self._cancelled(run)
                raise
            else:  # the handler raised (or let through) a CancelledError of its own
                outcome = error_outcome(exc, signal, timeout)
        except Abandoned as gone:
            if gone.thread is not run.thread:  # a handler raising our class: just an error
                outcome = error_outcome(gone, signal, timeout)
            else:
                self._disarm_deadline(run)
                self.abandon(run, gone.thread)
                return
        except BaseException as exc:  # noqa: BLE001 - a failing handler is data, SystemExit too
            outcome = error_outcome(exc, signal, timeout)
        else:
            outcome = value_outcome(value, signal, timeout)
        finally:
            self._disarm_deadline(run)
        self._attempt_done(run, outcome)

    def _attempt_done(self, run: Run, outcome: Outcome) -> None:
        """Finish the execution, or schedule its next attempt (its handler has returned)."""
        run.in_handler = False
        ex, task = run, run.task
        if ex.status is not _RUNNING:  # given up on meanwhile
            return
        if run.cancel_reason is not None:
            reason = run.cancel_reason
            self.finish(run, _CANCELLED, Outcome(error=f"execution {reason}",
                        trace=outcome.trace), reason=reason)  # fmt: skip
            return
        if outcome.result is not None and outcome.result.success:
            self.finish(run, _SUCCEEDED, outcome)
            return
        if ex.attempt >= task.retry.max_attempts or self.s._stopping:
            timed_out = outcome.aborted == "timeout"
            self.finish(run, _TIMED_OUT if timed_out else _FAILED,
                        outcome)  # fmt: skip
            return
        ex.reason = None  # the next attempt is not ending
        delay = task.retry.delay_before(ex.attempt + 1)
        self._note(
            ex,
            "warning",
            f"attempt {ex.attempt} failed ({outcome.error}); retrying in {delay:g} s",
            {"delay": delay},
        )
        # The wait runs in a copy: the next attempt enters run.ctx itself.
        context = (run.ctx or contextvars.copy_context()).copy()
        loop = self.s._require_loop()
        run.aio_task = loop.create_task(self._retry_after(run, delay), context=context)

    async def _retry_after(self, run: Run, delay: float) -> None:
        try:
            if not await self._wait_retry(run, delay):
                return
        except asyncio.CancelledError:
            self._cancelled(run)
            raise
        self._attempt(run, self.s.handler_for(run.task))

    def _task_done(self, run: Run, task: asyncio.Task[None]) -> None:
        """An attempt's Task cancelled before it ever ran leaves its execution to us."""
        if task.cancelled() and run.aio_task is task and not run.finished:
            self._cancelled(run)

    def _cancelled(self, run: Run) -> None:
        """The execution's Task was cancelled from outside (the loop closing)."""
        run.in_handler = False
        if run.finished:
            return
        reason = run.cancel_reason or ("shutdown" if self.s._stopping else "cancelled")
        outcome = Outcome(error=f"execution {reason}")
        self.finish(run, _CANCELLED, outcome, reason=reason)

    def _arm_deadline(self, run: Run, deadline: float | None) -> None:
        if deadline is not None:
            run.timer = self.deadlines.add(deadline, functools.partial(self._timed_out, run))

    def _disarm_deadline(self, run: Run) -> None:
        if run.timer is not None:
            self.deadlines.remove(run.timer)
            run.timer = None

    def _timed_out(self, run: Run) -> None:
        run.timer = None
        if run.signal is not None and run.in_handler:
            self.abort(run, run.signal, "timeout")

    def abort(self, run: Run, signal: AbortSignal, reason: str) -> None:
        """Set the attempt's signal; the execution shows ``cancelling`` until its handler has
        returned; an async handler that ignores the signal is cancelled after the grace."""
        if not signal._abort(reason):
            return
        if run.reason is None:
            run.reason = reason
        self._cancel_after_grace(run, signal)

    async def _wait_retry(self, run: Run, delay: float) -> bool:
        """Sleep before the next attempt; False if the execution was cancelled meanwhile."""
        signal = AbortSignal()
        run.signal = signal
        sleeper = asyncio.ensure_future(self.s.clock.sleep(delay))
        signal.add_callback(lambda _reason: _cancel(sleeper))
        try:
            await sleeper
        except asyncio.CancelledError:
            if signal.aborted:
                return False
            raise
        return not run.finished

    # -- cancellation and finishing -------------------------------------------------------

    def cancel(self, run: Run, reason: str = "cancelled", *, now: bool = False) -> None:
        """Cancel a pending or running execution.

        One that has not started (or waits between attempts) is recorded cancelled at once.
        A running one gets its signal set and ends cancelled when its handler has returned
        (or was given up on); with ``now`` an async handler is cancelled without a grace.
        """
        ex = run
        if ex.finished:
            return
        if run.cancel_reason is None:
            run.cancel_reason = reason
        if not run.launched:
            self._unqueue(run)
        elif run.in_handler and run.signal is not None:
            ex.reason = run.cancel_reason
            self.abort(run, run.signal, reason)
            task = run.aio_task
            if now and run.on_loop and task is not None:
                self._hard_cancel(run, task, run.signal)
            return
        elif run.signal is not None:
            run.signal._abort(reason)  # ends a wait between attempts
        self.finish(run, _CANCELLED, Outcome(error=f"execution {reason}"), reason=reason)

    def _unqueue(self, run: Run) -> None:
        if run in self.waiting:
            self.waiting.remove(run)
        queue = self.queued.get(run.task.id)
        if queue and run in queue:
            queue.remove(run)
            if not queue:
                del self.queued[run.task.id]

    def finish(
        self, run: Run, status: ExecutionStatus, outcome: Outcome, reason: str | None = None
    ) -> None:
        """Record the final status, free the slot, notify, and start what waits."""
        if run.status not in _OPEN:  # finished already
            return
        s, task = self.s, run.task
        run.status = status
        run.finished_ts = now = self._now()
        if run.started_ts is None:
            run.started_ts = None if status is _CANCELLED else now
        if outcome is NONE_SUCCEEDED:  # returned None: nothing to record (the common case)
            run.reason = reason
        else:
            run.reason = reason or outcome.aborted
            result = outcome.result
            if result is not None:
                run.output = result.output
                if result.metrics:
                    run.metrics.update(result.metrics)
            run.error = None if status is _SUCCEEDED else outcome.error
            run.traceback = outcome.trace
        if run.timer is not None:
            self._disarm_deadline(run)
        # The store keeps the run, not the handler's context (nor its values) or its signal
        # (a handler outliving its execution still has its own through its context).
        run.ctx = run.signal = None
        self.live.pop(run.id, None)
        ids = self.by_task.get(task.id)
        if ids is not None:
            ids.discard(run.id)
            if not ids:
                del self.by_task[task.id]
        if run.launched:
            self.active -= 1
        task.run_count += 1
        s._firing.settle(run, True, not s.strict)  # strict: told once committed
        if s.strict:
            acknowledge(s.store, True, s._loop, self._announce, run)
        elif run.waiters:
            self._wake(run)
        if self.queued or self.waiting:
            self._start_next(task.id)

    def _announce(self, run: Run) -> None:
        """The execution is finished (and, with strict durability, committed): tell."""
        self.s._firing.settle(run, False, True)
        self._wake(run)

    def _wake(self, run: Run) -> None:
        """Resolve whoever waits for the finished execution."""
        for waiter in run.waiters or ():
            if not waiter.done():
                waiter.set_result(run)

    def _start_next(self, task_id: str) -> None:
        queue = self.queued.get(task_id)
        if queue and task_id not in self.by_task and task_id not in self.abandoned:
            run = queue.popleft()
            if not queue:
                del self.queued[task_id]
                self._overflowing.discard(task_id)
            self.submit(run)
        limit = self.max_concurrency
        while self.waiting and (limit is None or self.active < limit):
            self._launch(self.waiting.popleft())

    def _note(self, ex: Execution, level: str, message: str, fields: dict[str, Any]) -> None:
        """A line of the scheduler's own on the execution's log (and INFO on ``logging``: a
        retry is expected behaviour, not something to print into whichever cell runs)."""
        ex.logs.append(LogEntry(self.s.clock.now(), level, message, fields, ex.attempt))
        log.info("%s: %s", ex.task_name, message)


def _first_step(
    handler: Handler, context: TaskContext
) -> tuple[Coroutine[Any, Any, Any] | None, Any]:
    """Start an async handler and run it to its first suspension: (the coroutine, what it
    yielded), or (None, its value) if it returned in that step."""
    current_task_context.set(context)  # in the execution's own context copy
    step = handler.call(context)
    try:
        return step, step.send(None)
    except StopIteration as stop:
        return None, stop.value


def _cancel(future: asyncio.Future[Any]) -> None:
    future.cancel()
