"""Inside a kernel run by ``cognia-nb run NOTEBOOK``: report to the supervising process.

The supervisor (``cognia_nb._service``) is this kernel's only client. It cannot see the
scheduler, so :func:`attach` sends what the terminal shows as ``display_data`` messages of
the :data:`MIME` type on iopub (safe from any thread): executions starting and finishing,
progress (throttled), and each line a handler prints, with the task's name. Lines printed
outside any handler stay ordinary stream output.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from .._default import get_scheduler, notebook_plugin_id
from .._engine.context import current_task_context
from .._engine.scheduler import Scheduler
from .._model.task import Execution, Task
from ._kernel import ExecutionStream

__all__ = ["MIME", "attach", "ready", "stop"]

MIME = "application/vnd.cognia-nb.event+json"
PROGRESS_EVERY = 1.0  # seconds between progress events of one execution

log = logging.getLogger("cognia_nb.service")


def send(kind: str, **fields: Any) -> None:
    """One event to the supervisor (never raises: reporting must not break a handler)."""
    from IPython.display import publish_display_data

    try:
        publish_display_data({MIME: {"kind": kind, **fields}})  # type: ignore[no-untyped-call]
    except Exception:  # a closed socket at shutdown
        log.debug("cognia_nb: could not send a %s event", kind, exc_info=True)


def _execution(task: Task, ex: Execution) -> dict[str, Any]:
    output = None if ex.output is None else repr(ex.output)[:200]
    return {
        "task": task.name, "plugin": task.plugin_id, "execution": ex.id,
        "trigger": str(ex.trigger_kind), "status": str(ex.status), "duration": ex.duration,
        "error": ex.error, "output": output, "attempt": ex.attempt,
        "progress": ex.progress, "message": ex.progress_message,
    }  # fmt: skip


class _HeadlessStream(ExecutionStream):
    """The kernel's stream proxy, headless: a handler's lines go into its execution's log and
    to the supervisor with the task's name (not to a cell: there is none to see them)."""

    def __init__(self, wrapped: TextIO, name: str) -> None:
        super().__init__(wrapped, name)
        self._sent: dict[str, str] = {}

    def write(self, text: str) -> int:
        context = current_task_context.get()
        if context is None or not text:
            return self._wrapped.write(text)
        self._capture(context, text)
        key = context.execution_id
        with self._lock:
            *lines, rest = (self._sent.pop(key, "") + text).split("\n")
            if rest:
                self._sent[key] = rest[-10_000:]
        for line in lines:
            send("output", task=context.task_name, execution=key, stream=self._name, line=line)
        return len(text)


def _route_output() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _HeadlessStream):
            continue
        base = stream._wrapped if isinstance(stream, ExecutionStream) else stream
        setattr(sys, name, _HeadlessStream(base, name))


def _hook(scheduler: Scheduler) -> None:
    last: dict[str, tuple[float, float | None, str | None]] = {}  # when, percent, message

    def progress(task: Task, ex: Execution) -> None:
        # also called for each log line: only a changed percent or message is news
        now, (when, percent, message) = time.monotonic(), last.get(ex.id, (0.0, None, None))
        if ex.progress is None or ex.progress >= 100 or now - when < PROGRESS_EVERY:
            return
        if (percent, message) == (ex.progress, ex.progress_message):
            return
        last[ex.id] = (now, ex.progress, ex.progress_message)
        send("progress", **_execution(task, ex))

    def finish(task: Task, ex: Execution, *_: Any) -> None:
        last.pop(ex.id, None)
        send("finish", **_execution(task, ex))

    scheduler.on("task_start", lambda t, ex: send("start", **_execution(t, ex)))
    scheduler.on("task_complete", finish)
    scheduler.on("task_error", finish)
    scheduler.on("task_progress", progress)


def attach() -> None:
    """Start the default scheduler and report its executions to the supervisor."""
    from IPython import get_ipython

    if get_ipython() is None:
        raise RuntimeError("cognia_nb: the headless agent runs inside an IPython kernel")
    _route_output()
    _hook(get_scheduler())


def ready(restarts: int = 0, reason: str | None = None) -> None:
    """The notebook ran: list this notebook's tasks (and say why the kernel restarted)."""
    from IPython import get_ipython

    shell = get_ipython()
    if "cognia_nb" not in shell.extension_manager.loaded:  # magics, shutdown wiring
        shell.run_line_magic("load_ext", "cognia_nb")
    _route_output()  # again: a cell may have replaced sys.stdout
    scheduler = get_scheduler()
    plugin_id = notebook_plugin_id()
    tasks = [
        {"task": t.name, "schedule": t.describe(), "status": str(t.status),
         "next": t.next_run_at.isoformat(timespec="seconds") if t.next_run_at else None}
        for t in scheduler.list_tasks() if t.plugin_id == plugin_id
    ]  # fmt: skip
    owner = getattr(scheduler.store, "owner", None)
    send("ready", tasks=tasks, store=scheduler.store.location, owner=owner)
    if restarts:
        payload = {"restarts": restarts, "reason": reason, "owner": owner}
        scheduler.emit("service:restarted", payload, source="service")


async def stop(grace: float) -> None:
    """Stop the default scheduler, letting running executions finish for ``grace`` seconds."""
    scheduler = get_scheduler()
    running = len(scheduler._runner.live)
    await scheduler.stop(grace=grace)
    scheduler.close()
    send("stopped", running=running)
