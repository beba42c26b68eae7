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
import logging
import traceback
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._context import AbortSignal, TaskContext, current_task_context
from ._deadlines import Deadlines
from ._eager import start_eagerly
from ._errors import TaskAbortedError
from ._handlers import Handler
from ._models import Execution, ExecutionStatus, LogEntry, Task, TaskResult

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
        self.cancel_reason: str | None = None
        self.abort_ts: float | None = None
        self.launched = False
        self.waiters: list[asyncio.Future[Execution]] = []


@dataclass(slots=True)
class _Outcome:
    result: TaskResult | None = None
    error: str | None = None
    trace: str | None = None
    aborted: str | None = None  # the signal's reason


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
        self._eager_depth = 0

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
        if self._eager_depth:
            # Launched from inside another execution's synchronous step (a run that finished
            # and frees a slot, an event chain): start it on the next loop turn, so eager starts
            # never nest.
            self.s._require_loop().call_soon(self._begin, run)
        else:
            self._begin(run)

    def _begin(self, run: Run) -> None:
        if run.execution.finished:  # cancelled while it waited for its turn
            return
        loop = self.s._require_loop()
        handler = self.s.handler_for(run.task)
        captured = handler.context if handler is not None else None
        # A handler registered with a captured context (a notebook cell's) runs in a copy of
        # it, so what it prints goes where that cell's output goes.
        context = captured.copy() if captured is not None else None
        self._eager_depth += 1
        try:
            run.aio_task = start_eagerly(loop, self._execute(run), context)
        finally:
            self._eager_depth -= 1

    # -- one execution --------------------------------------------------------------------

    async def _execute(self, run: Run) -> None:
        s, ex, task = self.s, run.execution, run.task
        ex.status = ExecutionStatus.RUNNING
        ex.started_ts = s.clock.now()
        task.last_run_ts = ex.started_ts
        s.store.save_execution(ex)
        s.hooks.fire("task_start", task, ex)
        try:
            while True:
                ex.attempt += 1
                outcome = await self._attempt(run, s.handler_for(task))
                if ex.finished:
                    return
                if outcome.result is not None and outcome.result.success:
                    self.finish(run, ExecutionStatus.SUCCEEDED, outcome)
                    return
                timed_out = outcome.aborted == "timeout"
                if ex.attempt >= task.retry.max_attempts:
                    status = ExecutionStatus.TIMED_OUT if timed_out else ExecutionStatus.FAILED
                    self.finish(run, status, outcome)
                    return
                delay = task.retry.delay_before(ex.attempt + 1)
                self._note(
                    ex,
                    "warning",
                    f"attempt {ex.attempt} failed ({outcome.error}); retrying in {delay:g} s",
                    {"delay": delay},
                )
                if not await self._wait_retry(run, delay):
                    return
        except asyncio.CancelledError:
            if not ex.finished:
                reason = "shutdown" if s._stopping else "cancelled"
                status = ExecutionStatus.CANCELLED
                self.finish(run, status, _Outcome(error=f"execution {reason}"), reason=reason)
            raise
        except Exception as exc:
            log.exception("internal error while running execution %s", ex.id)
            self.finish(
                run,
                ExecutionStatus.FAILED,
                _Outcome(error=f"internal error: {exc!r}", trace=traceback.format_exc()),
            )

    async def _attempt(self, run: Run, handler: Handler | None) -> _Outcome:
        s, ex, task = self.s, run.execution, run.task
        if handler is None:
            return _Outcome(error=f"handler {task.handler!r} is not registered")
        signal = AbortSignal()
        run.signal = signal
        context = TaskContext(
            task_id=task.id,
            execution_id=ex.id,
            plugin_id=task.plugin_id,
            task_name=task.name,
            scheduled_ts=ex.scheduled_ts,
            started_ts=s.clock.now(),
            attempt_number=ex.attempt,
            signal=signal,
            args=task.args,
            event=ex.event,
            sink=s._sink,
            clock=s.clock,
        )
        if task.timeout is not None:
            deadline = s.clock.now() + task.timeout
            run.timer = self.deadlines.add(deadline, lambda: self.abort(run, signal, "timeout"))
        try:
            executor = s.executor_for(task)
            if executor is not None:
                value = await executor.run(handler, context, signal, task.timeout)
            elif handler.is_async:
                value = await self._call_async(run, handler, context, signal)
            else:
                value = await self._call_sync(handler, context, signal)
        except _Aborted:
            return self._aborted_outcome(run, signal)
        except TaskAbortedError as exc:
            if signal.aborted or exc.reason == "timeout":  # an executor's own timeout too
                signal._abort(exc.reason)
                return self._aborted_outcome(run, signal)
            return _Outcome(error=f"TaskAbortedError: {exc}", trace=traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - a failing handler is data
            if signal.aborted:
                return self._aborted_outcome(run, signal)
            return _Outcome(error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
        finally:
            if run.timer is not None:
                self.deadlines.remove(run.timer)
                run.timer = None
        if signal.aborted:
            return self._aborted_outcome(run, signal)
        result = TaskResult.from_value(value)
        if not result.success:
            return _Outcome(result=result, error=result.error or "handler reported success=False")
        return _Outcome(result=result)

    async def _call_async(
        self, run: Run, handler: Handler, context: TaskContext, signal: AbortSignal
    ) -> Any:
        token = current_task_context.set(context)
        try:
            return await handler.call(context)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if signal.aborted and not self.s._stopping and current is not None:
                current.uncancel()  # our own grace-period cancel, not the caller's
                raise _Aborted from None
            raise
        finally:
            current_task_context.reset(token)

    async def _call_sync(self, handler: Handler, context: TaskContext, signal: AbortSignal) -> Any:
        loop = self.s._require_loop()
        ctx = handler.context.copy() if handler.context is not None else contextvars.copy_context()
        future = loop.run_in_executor(self.s._pool, ctx.run, _call_in_thread, handler, context)
        self.s.clock.track(future)
        aborted = signal.as_future()
        await asyncio.wait((future, aborted), return_when=asyncio.FIRST_COMPLETED)
        if not future.done():
            future.add_done_callback(_drop_abandoned)
            raise _Aborted
        aborted.cancel()
        return future.result()

    def _aborted_outcome(self, run: Run, signal: AbortSignal) -> _Outcome:
        reason = signal.reason or "aborted"
        if reason == "timeout":
            return _Outcome(error=f"timed out after {run.task.timeout:g} s", aborted=reason)
        return _Outcome(error=f"execution {reason}", aborted=reason)

    def abort(self, run: Run, signal: AbortSignal, reason: str) -> None:
        """Set the attempt's signal; cancel an async handler that ignores it after a grace."""
        if not signal._abort(reason):
            return
        run.abort_ts = self.s.clock.now()
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
            run, ExecutionStatus.CANCELLED, _Outcome(error=f"execution {reason}"), reason=reason
        )

    def _unqueue(self, run: Run) -> None:
        if run in self.waiting:
            self.waiting.remove(run)
        queue = self.queued.get(run.task.id)
        if queue and run in queue:
            queue.remove(run)

    def finish(
        self, run: Run, status: ExecutionStatus, outcome: _Outcome, reason: str | None = None
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
        if outcome.result is not None:
            ex.output = outcome.result.output
            if outcome.result.metrics:
                ex.metrics.update(outcome.result.metrics)
        ex.error = None if status is ExecutionStatus.SUCCEEDED else outcome.error
        ex.traceback = outcome.trace
        if run.timer is not None:
            self.deadlines.remove(run.timer)
            run.timer = None
        self.live.pop(ex.id, None)
        ids = self.by_task.get(task.id)
        if ids is not None:
            ids.discard(ex.id)
            if not ids:
                del self.by_task[task.id]
        if run.launched:
            self.active -= 1
        task.run_count += 1
        s._firing.after_finish(run)
        for waiter in run.waiters:
            if not waiter.done():
                waiter.set_result(ex)
        self._start_next(task.id)

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


class _Aborted(Exception):
    """The attempt's signal was set and the handler was left or cancelled."""


def _call_in_thread(handler: Handler, context: TaskContext) -> Any:
    current_task_context.set(context)  # this thread's copy of the context only
    return handler.call(context)


def _cancel(future: asyncio.Future[Any]) -> None:
    future.cancel()


def _drop_abandoned(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.info("an abandoned sync handler finished with %r", future.exception())
