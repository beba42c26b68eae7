"""The process's default scheduler and the ``@cognia_nb.task`` decorator."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._engine.scheduler import Scheduler
from ._model.checks import checked_keywords
from ._model.spec import attempts_from_retries, trigger_from_options
from ._model.task import RetryPolicy
from .stores import default_store_path

__all__ = [
    "close_default_scheduler",
    "get_scheduler",
    "notebook_plugin_id",
    "reset_default_scheduler",
    "task",
]

#: Called with ``(scheduler, task)`` each time ``@task`` defines a task. The package root adds
#: the notebook's live card here, so this layer never imports the Jupyter one.
TASK_DEFINED: list[Callable[[Scheduler, Any], None]] = []

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_default: Scheduler | None = None


def get_scheduler() -> Scheduler:
    """The default scheduler of this kernel (or process), started on the running loop.

    Created on first use, on the SQLite store ``<jupyter data dir>/cognia_nb/scheduler.db``
    (``COGNIA_NB_STORE`` overrides it: a path, or ``memory``); started as
    soon as it is asked for from a thread with a running event loop (a notebook cell, async
    code), so tasks created from plain scripts begin firing when the loop starts and the
    scheduler is asked for again.
    """
    global _default  # noqa: PLW0603 - the one process-wide default
    with _lock:
        if _default is None:
            _default = Scheduler(store=os.environ.get("COGNIA_NB_STORE") or default_store_path())
        scheduler = _default
    if not scheduler.running:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return scheduler
        scheduler.start()
    return scheduler


async def reset_default_scheduler() -> None:
    """Stop and forget the default scheduler (tests, ``%unload_ext``)."""
    global _default
    with _lock:
        scheduler, _default = _default, None
    if scheduler is not None:
        await scheduler.stop()
        scheduler.close()


def close_default_scheduler() -> None:
    """Stop (without waiting) and forget the default scheduler, from sync code on its loop."""
    global _default
    with _lock:
        scheduler, _default = _default, None
    if scheduler is not None:
        scheduler.stop_nowait()
        scheduler.close()


def notebook_plugin_id() -> str:
    """``"notebook:<path>"`` inside a kernel that knows its notebook, else ``"notebook"``."""
    path = os.environ.get("JPY_SESSION_NAME")
    return f"notebook:{path}" if path else "notebook"


@checked_keywords
def task(
    *,
    cron: str | None = None,
    interval: float | None = None,
    once_at: str | None = None,
    event: str | None = None,
    event_source: str | None = None,
    timezone: str | None = None,
    name: str | None = None,
    description: str = "",
    enabled: bool = True,
    retry_attempts: int = 0,
    retry_delay: float = 60,
    timeout: float | None = 300,
    tags: Iterable[str] = (),
    args: Any = None,
    overlap: str = "skip",
    misfire: str = "coalesce",
    executor: str = "default",
    scheduler: Scheduler | None = None,
    plugin_id: str | None = None,
    max_consecutive_failures: int | None = None,
    exclude: Any = None,
    windows: Any = None,
) -> Callable[[F], F]:
    """Make a function a handler and a task on the default scheduler (or ``scheduler``).

    Exactly one of ``cron``, ``interval``, ``once_at``, ``event`` is the trigger.
    ``retry_attempts=N`` means N retries (N + 1 attempts). ``max_consecutive_failures``,
    ``exclude`` and ``windows`` are as for ``Scheduler.create_task``. Decorating again (a
    re-run cell) updates the same task: its id, history and paused state are kept. The
    function is returned unchanged, with ``fn.cognia_task`` set to the :class:`~cognia_nb.Task`.
    In an IPython shell the cell also shows the task's live card (like tqdm shows a bar).

    Raises:
        TaskValidationError: for a missing or ambiguous trigger or any invalid parameter.
    """
    trigger = trigger_from_options(
        "@task",
        cron=cron,
        interval=interval,
        once_at=once_at,
        event=event,
        event_source=event_source,
        timezone=timezone,
    )
    max_attempts = attempts_from_retries(retry_attempts, "@task")

    def decorate(func: F) -> F:
        target = scheduler or get_scheduler()
        created = target.create_task(
            name=name or func.__name__,
            handler=func,
            trigger=trigger,
            description=description or (func.__doc__ or "").strip().split("\n")[0],
            args=args,
            retry=RetryPolicy(max_attempts=max_attempts, delay_seconds=retry_delay),
            timeout=timeout,
            tags=tuple(tags),
            enabled=enabled,
            overlap=overlap,
            misfire=misfire,
            executor=executor,
            plugin_id=plugin_id or notebook_plugin_id(),
            max_consecutive_failures=max_consecutive_failures,
            exclude=exclude,
            windows=windows,
        )
        func.cognia_task = created  # type: ignore[attr-defined]
        for show in TASK_DEFINED:
            show(target, created)
        return func

    return decorate
