"""Running executions: concurrency, attempts, retries, timeouts, cancellation, finishing.

One asyncio task per running execution drives its attempts. Async handlers are awaited on the
loop; sync handlers run in a thread pool and the loop waits on their future, never on them.

A timeout or a cancel sets the attempt's :class:`AbortSignal`. A sync handler is abandoned at
once (a thread cannot be killed; it is left to return and its result is dropped). An async
handler gets ``cancel_grace`` seconds to notice the signal and is then cancelled. A cancelled
execution is recorded as cancelled at the moment of the cancel.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import traceback
from collections import deque
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any

from ._context import AbortSignal, TaskContext, current_task_context
from ._deadlines import Deadlines
from ._durable import acknowledge
from ._eager import Resume
from ._handlers import Handler
from ._models import Execution, ExecutionStatus, LogEntry, Task
from ._outcome import Aborted, Outcome, aborted_outcome, error_outcome, value_outcome

if TYPE_CHECKING:
    from ._scheduler import Scheduler

__all__ = ["Run", "Runner"]

log = logging.getLogger("cognia_nb.scheduler")

MAX_QUEUED_PER_TASK = 100


class Run:
    """The live state of one execution while it is pending or running."""

    __slots__ = (
        "abort_ts",
        "aio_task",
        "cancel_reason",
        "ctx",
        "depth",
        "execution",
        "launched",
        "signal",
        "task",
        "timer",
        "waiters",
    )

    def __init__(self, task: Task, execution: Execution, depth: int = 0) -> None:
        self.task = task
        self.execution = execution
        self.depth = depth  # how many scheduler events led here (chains are bounded)
        self.signal: AbortSignal | None = None
        self.aio_task: asyncio.Task[None] | None = None
        self.timer: tuple[int, int] | None = None  # timeout token
        self.ctx: contextvars.Context | None = None  # the handler runs in it
        self.cancel_reason: str | None = None
        self.abort_ts: float | None = None
        self.launched = False
        self.waiters: list[asyncio.Future[Execution]] = []


class Runner:
    """Starts, runs and finishes executions for a :class:`Scheduler`."""

    def __init__(self, scheduler: Scheduler, max_concurrency: int | None) -> None:
        self.s = scheduler
        self.max_concurrency = max_concurrency
        self.active = 0
        self.live: dict[str, Run] = {}  # execution id -> run (pending or running)
        self.by_task: dict[str, set[str]] = {}  # task id -> ids of launched, unfinished runs
        self.waiting: deque[Run] = deque()  # launched when a concurrency slot frees
        self.queued: dict[str, deque[Run]] = {}  # overlap="queue": behind the task's own run
        self.deadlines = Deadlines(scheduler.clock)
        self._sync_depth = 0  # > 0 while an execution's synchronous step runs

    # -- admission ------------------------------------------------------------------------

    def running_for(self, task_id: str) -> list[Run]:
        """Runs of ``task_id`` that were admitted and have not finished."""
        ids = self.by_task.get(task_id)
        return [self.live[i] for i in ids] if ids else []

    def submit(self, run: Run) -> None:
        """Admit a run: start it now or when a concurrency slot frees."""
        self.live[run.execution.id] = run
        self.by_task.setdefault(run.task.id, set()).add(run.execution.id)
        limit = self.max_concurrency
        if limit is None or self.active < limit:
            self._launch(run)
        else:
            self.waiting.append(run)

    def enqueue(self, run: Run) -> bool:
        """Queue ``run`` behind its task's current run (overlap="queue"); False if full."""
        queue = self.queued.setdefault(run.task.id, deque())
        if len(queue) >= MAX_QUEUED_PER_TASK:
            return False
        self.live[run.execution.id] = run
        queue.append(run)
        return True

    def _launch(self, run: Run) -> None:
        self.active += 1
        run.launched = True
        if self._sync_depth:
            # Launched from inside another execution's synchronous step (a run that finished
            # and frees a slot, an event chain): start it on the next loop turn, so these
            # steps never nest.
            self.s._require_loop().call_soon(self._begin, run)
        else:
            self._begin(run)

    def _begin(self, run: Run) -> None:
        s, ex, task = self.s, run.execution, run.task
        if ex.status is not ExecutionStatus.PENDING:  # cancelled while it waited for its turn
            return
        handler = s.handler_for(task)
        captured = handler.context if handler is not None else None
        # A handler registered with a captured context (a notebook cell's) runs in a copy of
        # it, so what it prints goes where that cell's output goes.
        run.ctx = captured.copy() if captured is not None else contextvars.copy_context()
        ex.status = ExecutionStatus.RUNNING
        ex.started_ts = task.last_run_ts = s.clock.now()
        if not s.store.live_objects:
            s.store.save_execution(ex)
        if s.hooks.active:
            s.hooks.fire("task_start", task, ex)
        self._start_attempt(run, handler)

    # -- one attempt ----------------------------------------------------------------------
    #
    # An attempt starts synchronously. An async handler's coroutine runs its first step at
    # once (what ``asyncio.eager_task_factory`` does): most light handlers never suspend and
    # finish right there, without a Task, a timer or a loop turn. One that suspends is handed
    # to a Task that resumes it where it stopped, and only then is its timeout armed (a
    # synchronous step cannot be interrupted anyway). Sync handlers (a thread) and executors
    # always get a Task. During that first step ``asyncio.current_task()`` is the caller's.

    def _start_attempt(self, run: Run, handler: Handler | None) -> None:
        self._sync_depth += 1
        try:
            self._attempt(run, handler)
        except Exception as exc:
            log.exception("internal error while running execution %s", run.execution.id)
            outcome = Outcome(error=f"internal error: {exc!r}", trace=traceback.format_exc())
            self.finish(run, ExecutionStatus.FAILED, outcome)
        finally:
            self._sync_depth -= 1

    def _attempt(self, run: Run, handler: Handler | None) -> None:
        s, ex, task = self.s, run.execution, run.task
        ex.attempt += 1
        if handler is None:
            self._attempt_done(run, Outcome(error=f"handler {task.handler!r} is not registered"))
            return
        signal = AbortSignal()
        run.signal = signal
        now = s.clock.now()
        context = TaskContext(
            task.id, ex.id, task.plugin_id, task.name, ex.scheduled_ts, now, ex.attempt, signal,
            task.args, ex.event, s._sink, s.clock,
        )  # fmt: skip
        timeout = task.timeout
        deadline = None if timeout is None else now + timeout
        ctx = run.ctx
        assert ctx is not None  # set by _begin
        loop = s._require_loop()
        executor = s.executor_for(task)
        if executor is not None or not handler.is_async:
            self._arm_deadline(run, deadline)
            work = (
                executor.run(handler, context, signal, timeout)
                if executor is not None
                else self._call_sync(handler, context, signal)
            )
            coro = self._finish_attempt(run, work, signal, on_loop=False)
            run.aio_task = loop.create_task(coro, context=ctx)
            return
        try:
            step, first = ctx.run(_first_step, handler, context)
        except StopIteration as stop:
            outcome = value_outcome(stop.value, signal, timeout)
        except asyncio.CancelledError:  # raised by the handler's own first step
            outcome = Outcome(error="CancelledError: the handler cancelled itself")
        except Exception as exc:  # noqa: BLE001 - a failing handler is data
            outcome = error_outcome(exc, signal, timeout)
        else:
            self._arm_deadline(run, deadline)
            coro = self._finish_attempt(run, Resume(step, first), signal, on_loop=True)
            run.aio_task = loop.create_task(coro, context=ctx)
            if signal.aborted:  # it cancelled its own execution during the first step
                self._cancel_after_grace(run, signal)
            return
        self._attempt_done(run, outcome)

    async def _finish_attempt(
        self, run: Run, work: Awaitable[Any], signal: AbortSignal, *, on_loop: bool
    ) -> None:
        """Await the rest of an attempt (an async handler that suspended in its first step, a
        sync handler's thread, an executor) and turn what it came to into an outcome.

        ``on_loop``: the handler runs on this loop, so a cancel may be our own grace-period
        cancel of an aborted attempt (a failed attempt, not a cancelled execution).
        """
        timeout = run.task.timeout
        try:
            value = await work
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not on_loop or not signal.aborted or self.s._stopping or current is None:
                self._cancelled(run)
                raise
            current.uncancel()  # our own grace-period cancel, not the caller's
            outcome = aborted_outcome(signal, timeout)
        except Exception as exc:  # noqa: BLE001 - a failing handler is data
            outcome = error_outcome(exc, signal, timeout)
        else:
            outcome = value_outcome(value, signal, timeout)
        finally:
            self._disarm_deadline(run)
        self._attempt_done(run, outcome)

    async def _call_sync(self, handler: Handler, context: TaskContext, signal: AbortSignal) -> Any:
        loop = self.s._require_loop()
        ctx = handler.context.copy() if handler.context is not None else contextvars.copy_context()
        future = loop.run_in_executor(self.s._pool, ctx.run, _call_in_thread, handler, context)
        self.s.clock.track(future)
        aborted = signal.as_future()
        await asyncio.wait((future, aborted), return_when=asyncio.FIRST_COMPLETED)
        if not future.done():
            future.add_done_callback(_drop_abandoned)
            raise Aborted
        aborted.cancel()
        return future.result()

    def _attempt_done(self, run: Run, outcome: Outcome) -> None:
        """Finish the execution, or schedule its next attempt."""
        ex, task = run.execution, run.task
        if ex.status is not ExecutionStatus.RUNNING:  # cancelled meanwhile
            return
        if outcome.result is not None and outcome.result.success:
            self.finish(run, ExecutionStatus.SUCCEEDED, outcome)
            return
        if ex.attempt >= task.retry.max_attempts:
            timed_out = outcome.aborted == "timeout"
            self.finish(run, ExecutionStatus.TIMED_OUT if timed_out else ExecutionStatus.FAILED,
                        outcome)  # fmt: skip
            return
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
        self._start_attempt(run, self.s.handler_for(run.task))

    def _cancelled(self, run: Run) -> None:
        """The execution's Task was cancelled from outside (shutdown, loop closing)."""
        if run.execution.finished:
            return
        reason = "shutdown" if self.s._stopping else "cancelled"
        outcome = Outcome(error=f"execution {reason}")
        self.finish(run, ExecutionStatus.CANCELLED, outcome, reason=reason)

    def _arm_deadline(self, run: Run, deadline: float | None) -> None:
        if deadline is not None:
            run.timer = self.deadlines.add(deadline, functools.partial(self._timed_out, run))

    def _disarm_deadline(self, run: Run) -> None:
        if run.timer is not None:
            self.deadlines.remove(run.timer)
            run.timer = None

    def _timed_out(self, run: Run) -> None:
        run.timer = None
        if run.signal is not None:
            self.abort(run, run.signal, "timeout")

    def abort(self, run: Run, signal: AbortSignal, reason: str) -> None:
        """Set the attempt's signal; cancel an async handler that ignores it after a grace."""
        if not signal._abort(reason):
            return
        run.abort_ts = self.s.clock.now()
        self._cancel_after_grace(run, signal)

    def _cancel_after_grace(self, run: Run, signal: AbortSignal) -> None:
        task = run.aio_task
        if task is None or task.done():
            return
        handler = self.s.handler_for(run.task)
        if handler is not None and handler.is_async:

            def cancel_if_stuck() -> None:
                if run.signal is signal and not task.done():
                    task.cancel()

            self.s.clock.call_at(self.s.clock.now() + self.s.cancel_grace, cancel_if_stuck)

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
        return not run.execution.finished

    # -- cancellation and finishing -------------------------------------------------------

    def cancel(self, run: Run, reason: str = "cancelled") -> None:
        """Cancel a pending or running execution; recorded as cancelled at once."""
        ex = run.execution
        if ex.finished:
            return
        run.cancel_reason = reason
        if not run.launched:
            self._unqueue(run)
        elif run.signal is not None:
            self.abort(run, run.signal, reason)
        self.finish(
            run, ExecutionStatus.CANCELLED, Outcome(error=f"execution {reason}"), reason=reason
        )

    def _unqueue(self, run: Run) -> None:
        if run in self.waiting:
            self.waiting.remove(run)
        queue = self.queued.get(run.task.id)
        if queue and run in queue:
            queue.remove(run)

    def finish(
        self, run: Run, status: ExecutionStatus, outcome: Outcome, reason: str | None = None
    ) -> None:
        """Record the final status, free the slot, notify, and start what waits."""
        s, ex, task = self.s, run.execution, run.task
        if ex.finished:
            return
        now = s.clock.now()
        ex.status = status
        ex.finished_ts = (
            run.abort_ts if status is ExecutionStatus.TIMED_OUT and run.abort_ts else now
        )
        if ex.started_ts is None:
            ex.started_ts = None if status is ExecutionStatus.CANCELLED else now
        ex.reason = reason or outcome.aborted
        result = outcome.result
        if result is not None:
            ex.output = result.output
            if result.metrics:
                ex.metrics.update(result.metrics)
        ex.error = None if status is ExecutionStatus.SUCCEEDED else outcome.error
        ex.traceback = outcome.trace
        self._disarm_deadline(run)
        self.live.pop(ex.id, None)
        ids = self.by_task.get(task.id)
        if ids is not None:
            ids.discard(ex.id)
            if not ids:
                del self.by_task[task.id]
        if run.launched:
            self.active -= 1
        task.run_count += 1
        s._firing.record_finish(run)
        acknowledge(s.store, s.strict, s._loop, lambda: self._announce(run))
        if self.queued or self.waiting:
            self._start_next(task.id)

    def _announce(self, run: Run) -> None:
        """The execution is finished (and, with strict durability, committed): tell."""
        self.s._firing.announce_finish(run)
        for waiter in run.waiters:
            if not waiter.done():
                waiter.set_result(run.execution)

    def _start_next(self, task_id: str) -> None:
        queue = self.queued.get(task_id)
        if queue and task_id not in self.by_task:
            run = queue.popleft()
            if not queue:
                del self.queued[task_id]
            self.submit(run)
        limit = self.max_concurrency
        while self.waiting and (limit is None or self.active < limit):
            self._launch(self.waiting.popleft())

    def _note(self, ex: Execution, level: str, message: str, fields: dict[str, Any]) -> None:
        """A line of the scheduler's own on the execution's log (and INFO on ``logging``: a
        retry is expected behaviour, not something to print into whichever cell runs)."""
        ex.logs.append(LogEntry(self.s.clock.now(), level, message, fields, ex.attempt))
        log.info("%s: %s", ex.task_name, message)


def _first_step(handler: Handler, context: TaskContext) -> tuple[Coroutine[Any, Any, Any], Any]:
    """Start an async handler and run it to its first suspension (StopIteration: it ended)."""
    current_task_context.set(context)  # in the execution's own context copy
    step = handler.call(context)
    return step, step.send(None)


def _call_in_thread(handler: Handler, context: TaskContext) -> Any:
    current_task_context.set(context)  # this thread's copy of the context only
    return handler.call(context)


def _cancel(future: asyncio.Future[Any]) -> None:
    future.cancel()


def _drop_abandoned(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.info("an abandoned sync handler finished with %r", future.exception())
