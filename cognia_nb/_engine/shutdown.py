"""Stopping a scheduler: running handlers finish within a grace, then are cancelled, then
given up on.

``await scheduler.stop(grace)`` takes no new firing, records what never started as cancelled
("shutdown"), waits up to ``grace`` seconds for running handlers to return, then cancels the
rest (signal set; async handlers get ``CancelledError`` at once) and waits up to
``cancel_grace`` more; what still runs then is abandoned (``abandoned=True``, reported in
the log). The store is left true: every task's state (its next run included) is saved and
flushed, so the next start continues where this one stopped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._model.task import Task
    from ..stores import Store
    from .clock import Clock
    from .dispatch import Dispatcher
    from .runner import Runner

__all__ = ["STOP_GRACE", "ShutdownHost", "stop_now", "wind_down"]


class ShutdownHost(Protocol):
    """What stopping needs of the scheduler."""

    store: Store
    clock: Clock
    cancel_grace: float
    _tasks: dict[str, Task]
    _stopping: bool
    _loop: asyncio.AbstractEventLoop | None
    _loop_thread: int | None

    @property
    def _runner(self) -> Runner: ...

    @property
    def _dispatcher(self) -> Dispatcher: ...


log = logging.getLogger("cognia_nb.scheduler")

STOP_GRACE = 5.0  # seconds running handlers get to finish on stop() (its default)


async def wind_down(s: ShutdownHost, grace: float) -> None:
    """Stop ``s`` gracefully (see the module docstring)."""
    runner = s._runner
    s._stopping = True
    s.store.watch(None)
    s._dispatcher.stop()
    for run in list(runner.live.values()):
        if not run.launched:
            runner.cancel(run, "shutdown")
    if grace > 0:
        await _wait_runs(s, grace)
    for run in list(runner.live.values()):
        runner.cancel(run, "shutdown", now=True)
    await _wait_runs(s, s.cancel_grace)
    for _ in range(3):  # flows that ended at the same instant record their end
        if not runner.live:
            break
        await asyncio.sleep(0)
    for run in list(runner.live.values()):
        runner.give_up(run)
    _detach(s)


def stop_now(s: ShutdownHost) -> list[asyncio.Task[None]]:
    """Stop ``s`` without waiting (sync code on the loop thread): what runs is cancelled and
    given up on at once (recorded ``abandoned``). Returns the Tasks to await, if one can."""
    runner = s._runner
    s._stopping = True
    s.store.watch(None)
    s._dispatcher.stop()
    runs = list(runner.live.values())
    for run in runs:
        runner.cancel(run, "shutdown", now=True)
    for run in list(runner.live.values()):
        runner.give_up(run)
    tasks = [r.aio_task for r in runs if r.aio_task is not None and not r.aio_task.done()]
    _detach(s)
    return tasks


async def _wait_runs(s: ShutdownHost, seconds: float) -> None:
    """Wait until no execution is live, or ``seconds`` of the scheduler's clock pass."""
    runner = s._runner
    if not runner.live:
        return
    loop = asyncio.get_running_loop()
    waiters = []
    for run in runner.live.values():
        waiter: asyncio.Future[object] = loop.create_future()
        run.add_waiter(waiter)  # type: ignore[arg-type]
        waiters.append(waiter)
    everything = asyncio.gather(*waiters)
    sleeper = asyncio.ensure_future(s.clock.sleep(seconds))
    try:
        await asyncio.wait((everything, sleeper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        everything.cancel()
        everything.add_done_callback(_retrieve)  # stop() itself may be cancelled meanwhile


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _detach(s: ShutdownHost) -> None:
    left = s._runner.abandoned
    if left:
        names = sorted(s._tasks[t].name if t in s._tasks else t for t in left)
        log.warning("scheduler stopped; %d abandoned handler(s) still running: %s",
                    sum(left.values()), ", ".join(map(repr, names)))  # fmt: skip
    if not s.store.live_objects:
        for task in s._tasks.values():  # next run times and counters, as they are now
            s.store.save_task_state(task)
    s.store.flush()
    s._loop = s._loop_thread = None
    s._stopping = False
