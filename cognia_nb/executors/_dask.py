"""``DaskExecutor``: run handlers on a Dask cluster (``distributed``).

Facts this rests on (measured with distributed 2026.8):

* In a kernel, a client on the kernel's own loop deadlocks sync ``Client`` calls in cells, so
  a local cluster is started with the sync API (it gets its own loop thread) and the scheduler
  connects with ``await Client(address, asynchronous=True)``.
* ``future.cancel()`` does not stop a running task. A flag set in the worker process (through
  ``client.run``), or cancelling the task's asyncio task there, does.
* Progress and log lines travel as worker events (``log_event``), received with
  ``subscribe_topic`` in about a millisecond.
* A dead worker makes Dask silently re-run the task. The local cluster started here sets
  ``allowed-failures`` to 0, so a worker death is one failed attempt ("worker died") and the
  task's own retry policy decides: at most once per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from typing import TYPE_CHECKING, Any

from .._engine.executor import Executor
from .._errors import MissingDependencyError, TaskAbortedError, TaskValidationError
from ._remote import RemoteAbort, cancel_remote, run_async_remote, run_sync_remote

if TYPE_CHECKING:
    from .._engine.context import AbortSignal, TaskContext
    from .._engine.handlers import Handler

__all__ = ["DaskExecutor", "WorkerDiedError"]

log = logging.getLogger("cognia_nb.executors.dask")


class WorkerDiedError(RuntimeError):
    """The worker running an attempt died (the attempt failed; retries may follow)."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError("distributed", "dask") from exc
    return distributed


class DaskExecutor(Executor):
    """Run task handlers on a Dask cluster.

    Args:
        address: a running scheduler (``tcp://host:8786``); None starts a ``LocalCluster`` on
            127.0.0.1 with worker processes.
        n_workers: workers of that local cluster (default 2).
        hard_cancel: after a cancel, restart the worker of a sync handler that ignores its
            signal (it cannot be stopped otherwise).
    """

    name = "dask"

    def __init__(
        self, address: str | None = None, n_workers: int | None = None, *, hard_cancel: bool = False
    ) -> None:
        _distributed()
        self.address = address
        self.n_workers = n_workers or 2
        self.hard_cancel = hard_cancel
        self.cluster: Any = None
        self.client: Any = None
        self._starting: asyncio.Future[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def _ensure(self) -> Any:
        if self.client is not None:
            return self.client
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)
        return self.client

    async def _start(self) -> None:
        distributed = _distributed()
        address = self.address
        if address is None:
            import dask

            def make() -> Any:
                with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                    return distributed.LocalCluster(
                        n_workers=self.n_workers, threads_per_worker=2, processes=True,
                        host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    )  # fmt: skip

            self.cluster = await asyncio.to_thread(make)
            address = self.cluster.scheduler_address
        self.client = await distributed.Client(address, asynchronous=True)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.close)
            self.cluster = None
        self._starting = None

    # -- shipping -------------------------------------------------------------------------

    def check(self, handler: Handler, args: Any) -> None:
        import cloudpickle

        try:
            cloudpickle.dumps(args)
        except Exception as exc:
            raise TaskValidationError(
                f"args of a dask task cannot be pickled ({exc}); pass plain data",
                field="args", value=args,
            ) from exc  # fmt: skip
        try:
            cloudpickle.dumps(handler.fn)
        except Exception as exc:
            culprit = _culprit(handler.fn)
            raise TaskValidationError(
                f"handler {handler.name!r} cannot be pickled for the dask executor"
                f"{culprit} ({exc}); create such objects inside the handler instead",
                field="handler", value=handler.name,
            ) from exc  # fmt: skip

    # -- running --------------------------------------------------------------------------

    async def run(self, handler: Handler, context: TaskContext, signal: AbortSignal,
                  timeout: float | None) -> Any:  # fmt: skip
        client = await self._ensure()
        distributed = _distributed()
        key = f"cognia-{context.execution_id}-{context.attempt_number}"
        topic = key

        def on_event(event: Any) -> None:
            _when, message = event
            if message.get("kind") == "progress":
                context.report_progress(message["percent"], message.get("message"))
            elif message.get("kind") == "log":
                context.log(message["level"], message["message"], **message.get("fields", {}))

        client.subscribe_topic(topic, on_event)
        meta = {
            "task_id": context.task_id, "execution_id": context.execution_id,
            "plugin_id": context.plugin_id, "task_name": context.task_name,
            "scheduled_ts": context._scheduled_ts, "started_ts": context._started_ts,
            "attempt_number": context.attempt_number, "args": context.args, "topic": topic,
            "key": key, "timeout": timeout,
        }  # fmt: skip
        remote = run_async_remote if handler.is_async else run_sync_remote
        future = client.submit(remote, handler.fn, handler.arity, meta, key=key, pure=False)
        aborted = signal.as_future()
        waiter = asyncio.ensure_future(future.result())
        try:
            await asyncio.wait({waiter, aborted}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                await self._cancel(
                    client,
                    key,
                    future,
                    signal.reason or "cancelled",
                    sync_handler=not handler.is_async,
                )
                waiter.cancel()
                raise TaskAbortedError(signal.reason or "aborted")
            aborted.cancel()
            try:
                return waiter.result()
            except RemoteAbort as exc:  # the worker's own timeout fired first
                raise TaskAbortedError(exc.reason) from exc
            except distributed.KilledWorker as exc:
                raise WorkerDiedError(f"worker died while running {context.task_name!r}") \
                    from exc  # fmt: skip
        finally:
            client.unsubscribe_topic(topic)

    async def _cancel(
        self, client: Any, key: str, future: Any, reason: str, *, sync_handler: bool
    ) -> None:
        try:
            stopped = await client.run(cancel_remote, key, reason)
        except Exception:  # a worker may be gone; the future is dropped anyway
            log.debug("cancel of %s on the workers failed", key, exc_info=True)
            stopped = {}
        if self.hard_cancel and sync_handler:
            # A sync handler that ignores its signal cannot be stopped in its thread: restart
            # the worker process that runs it (opt-in; other tasks on that worker re-run).
            running_on = [addr for addr, ran in stopped.items() if ran]
            if running_on:
                await client.restart_workers(running_on)
        await future.cancel()


def _culprit(fn: Any) -> str:
    """`` (global 'lock' is a _thread.lock)`` for the first global that cannot be pickled."""
    import cloudpickle

    code = getattr(fn, "__code__", None)
    names = getattr(code, "co_names", ()) if code is not None else ()
    globs = getattr(fn, "__globals__", {})
    cells = {}
    free = getattr(code, "co_freevars", ())
    for name, cell in zip(free, getattr(fn, "__closure__", None) or (), strict=False):
        try:
            cells[name] = cell.cell_contents
        except ValueError:
            continue
    for name, value in [*((n, globs[n]) for n in names if n in globs), *cells.items()]:
        try:
            cloudpickle.dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError, ValueError):
            return f": it uses {name!r}, a {type(value).__name__}, which cannot be pickled"
    return ""
