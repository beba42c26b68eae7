"""Giving up on handlers: the grace after an abort, sync calls in threads, abandonment.

A sync handler runs in a thread of the :class:`~cognia_nb._engine.threads.HandlerPool`; after its
attempt is aborted the thread gets ``cancel_grace`` seconds to return. An async handler still
running ``cancel_grace`` after the abort is cancelled, and given up on if it is still running
as long again (it swallowed the cancellation). A handler given up on is *abandoned*: its
execution ends (``abandoned=True``) while the handler keeps its task busy until it returns.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

from .._model.task import ExecutionStatus
from .context import AbortSignal, TaskContext, current_task_context
from .handlers import Handler
from .outcome import Outcome, Raised

if TYPE_CHECKING:
    from collections import deque

    from .clock import Clock
    from .run import Run
    from .threads import HandlerPool

__all__ = ["Abandoned", "GiveUpHost", "GivingUp"]


class GiveUpHost(Protocol):
    """What waiting for a handler to end needs of the scheduler."""

    cancel_grace: float
    clock: Clock
    _pool: HandlerPool

    def _require_loop(self) -> asyncio.AbstractEventLoop: ...


log = logging.getLogger("cognia_nb.scheduler")


class Abandoned(Exception):
    """A sync handler's thread did not return within the grace after its abort."""

    def __init__(self, thread: asyncio.Future[Any]) -> None:
        super().__init__("abandoned")
        self.thread = thread


class GivingUp:
    """The part of the :class:`~cognia_nb._engine.runner.Runner` that waits for handlers to end
    and gives up on those that do not (mixed into it)."""

    s: GiveUpHost
    abandoned: dict[str, int]
    abandoned_total: int
    queued: dict[str, deque[Run]]

    def finish(
        self, run: Run, status: ExecutionStatus, outcome: Outcome, reason: str | None = None
    ) -> None:  # implemented by Runner
        raise NotImplementedError

    def cancel(self, run: Run, reason: str = "cancelled", *, now: bool = False) -> None:
        raise NotImplementedError  # implemented by Runner

    def _cancelled(self, run: Run) -> None:  # implemented by Runner
        raise NotImplementedError

    def _disarm_deadline(self, run: Run) -> None:  # implemented by Runner
        raise NotImplementedError

    def _start_next(self, task_id: str) -> None:  # implemented by Runner
        raise NotImplementedError

    async def _call_sync(
        self, run: Run, handler: Handler, context: TaskContext, signal: AbortSignal
    ) -> Any:
        s = self.s
        loop = s._require_loop()
        ctx = handler.context.copy() if handler.context is not None else contextvars.copy_context()
        call = ThreadCall()
        future = loop.run_in_executor(s._pool, ctx.run, call_in_thread, call, handler, context)
        run.thread = future
        # A fake clock waits for the thread before moving time, until it is abandoned.
        gate: asyncio.Future[None] = loop.create_future()
        future.add_done_callback(functools.partial(_open_gate, gate))
        s.clock.track(gate)
        try:
            if not future.done():
                aborted = signal.as_future()
                await asyncio.wait((future, aborted), return_when=asyncio.FIRST_COMPLETED)
                if future.done():
                    aborted.cancel()
                elif call.drop():  # still waiting for a thread: it never runs now
                    return None
                else:  # the signal is set: the thread gets the grace to return
                    grace = asyncio.ensure_future(s.clock.sleep(s.cancel_grace))
                    await asyncio.wait((future, grace), return_when=asyncio.FIRST_COMPLETED)
                    grace.cancel()
                    if not future.done():
                        raise Abandoned(future)
        finally:
            _open_gate(gate)
        return future.result()

    def _cancel_after_grace(self, run: Run, signal: AbortSignal) -> None:
        task = run.aio_task
        if task is None or task.done() or not run.on_loop:
            return
        clock = self.s.clock

        def cancel_if_stuck() -> None:
            # (None: the execution was finished meanwhile, this attempt the last one)
            if (run.signal is signal or run.signal is None) and not task.done():
                self._hard_cancel(run, task, signal)

        clock.call_at(clock.now() + self.s.cancel_grace, cancel_if_stuck)

    def _hard_cancel(self, run: Run, task: asyncio.Task[None], signal: AbortSignal) -> None:
        """Cancel an async attempt's Task; give up on it if it is still running a grace later
        (it swallowed the cancellation)."""
        if run.engine_cancel or task.done():
            return
        run.engine_cancel = True
        task.cancel()
        clock = self.s.clock

        def give_up_if_stuck() -> None:
            if run.signal is signal and not task.done() and not run.execution.finished:
                self._disarm_deadline(run)
                self.abandon(run, task)

        clock.call_at(clock.now() + self.s.cancel_grace, give_up_if_stuck)

    def abandon(self, run: Run, handler_work: asyncio.Future[Any]) -> None:
        """Give up on a handler that outlived the grace: record the execution as ended
        (``abandoned=True``), and count the handler as running until it really returns."""
        ex, task = run.execution, run.task
        if ex.finished:
            return
        in_thread = handler_work is run.thread
        run.in_handler = False
        ex.abandoned = True
        self.abandoned[task.id] = self.abandoned.get(task.id, 0) + 1
        self.abandoned_total += 1
        if in_thread:
            self.s._pool.grow()
        signal = run.signal
        reason = run.cancel_reason or (signal.reason if signal is not None else None) or "timeout"
        log.warning("task %r: its %s handler did not return within %g s after the %s; execution "
                    "%s is abandoned (the handler still runs; the task counts as running until "
                    "it returns)", task.name, "sync" if in_thread else "async",
                    self.s.cancel_grace, reason, ex.id)  # fmt: skip
        handler_work.add_done_callback(functools.partial(self._returned, task.id, in_thread))
        timed_out = run.cancel_reason is None and reason == "timeout"
        error = f"timed out after {task.timeout:g} s" if timed_out else f"execution {reason}"
        error += f"; abandoned: the handler did not return within {self.s.cancel_grace:g} s"
        status = ExecutionStatus.TIMED_OUT if timed_out else ExecutionStatus.CANCELLED
        self.finish(run, status, Outcome(error=error, aborted=reason), reason=reason)

    def _returned(self, task_id: str, in_thread: bool, work: asyncio.Future[Any]) -> None:
        """An abandoned handler returned at last: the task is free for its overlap policy."""
        left = self.abandoned.get(task_id, 0) - 1
        if left > 0:
            self.abandoned[task_id] = left
        else:
            self.abandoned.pop(task_id, None)
        if in_thread:
            self.s._pool.shrink()
        error = None if work.cancelled() else work.exception()
        log.info("an abandoned handler of task %s returned%s", task_id,
                 "" if error is None else f" with {error!r}")  # fmt: skip
        if self.queued and task_id in self.queued:
            self._start_next(task_id)

    def give_up(self, run: Run) -> None:
        """Stop waiting for a run's handler at once (stop's last step)."""
        if run.execution.finished:
            return
        thread = run.thread if run.in_handler else None
        work = thread if thread is not None and not thread.done() else run.aio_task
        if run.in_handler and work is not None and not work.done():
            self._disarm_deadline(run)
            self.abandon(run, work)
            if work is not run.aio_task and run.aio_task is not None:
                run.aio_task.cancel()  # only waits for the thread
            return
        self.cancel(run, run.cancel_reason or "shutdown")
        if not run.execution.finished:
            self._cancelled(run)


class ThreadCall:
    """A sync handler's call, queued for a thread until one takes it; an attempt aborted
    before that drops it (the handler is then never called)."""

    __slots__ = ("state",)

    _lock = threading.Lock()

    def __init__(self) -> None:
        self.state = 0  # 0 queued, 1 running, 2 dropped

    def take(self) -> bool:
        """In the thread: False if the call was dropped."""
        with self._lock:
            if self.state == 2:
                return False
            self.state = 1
            return True

    def drop(self) -> bool:
        """On the loop: True if the call had not started (and now never will)."""
        with self._lock:
            if self.state == 0:
                self.state = 2
                return True
            return False


def call_in_thread(call: ThreadCall, handler: Handler, context: TaskContext) -> Any:
    if not call.take():
        return None
    current_task_context.set(context)  # this thread's copy of the context only
    try:
        return handler.call(context)
    except StopIteration as exc:  # a Future cannot hold it: the execution would never end
        raise Raised(exc) from None


def _open_gate(gate: asyncio.Future[None], *_: Any) -> None:
    if not gate.done():
        gate.set_result(None)
