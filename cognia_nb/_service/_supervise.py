"""``cognia-nb run NOTEBOOK.ipynb``: a notebook's tasks in a kernel that stays up.

The notebook runs in a real kernel (its kernelspec, or ``--kernel``) with
``JPY_SESSION_NAME`` set to its absolute path, so its tasks are the very tasks (same
``notebook:<path>`` plugin id, same ids and history) that the interactive kernel defines, on
the same store (``COGNIA_NB_STORE``). Its code cells run in order (``cognia:skip`` cells are
left out); a cell that raises ends the start (exit 2). Then the kernel's scheduler runs until
``--for`` passes or a signal comes: the first SIGINT/SIGTERM lets running executions finish
within ``--grace`` seconds, a second one cancels them now.

A kernel that dies is started again (at most :data:`MAX_RESTARTS` times in a row, waiting
1, 2, 4 ... seconds) and the notebook re-run; each task's misfire policy decides about the
firings missed meanwhile. The restart is printed, recorded in the store's process table of the
new kernel (``cognia-nb status``: ``restarts``) and emitted in that kernel as the event
``service:restarted`` (source ``service``) once its notebook ran, so a task can react to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from .._errors import CogniaError
from ._kernel import KernelDied, NotebookKernel
from ._notebook import Notebook, read_notebook
from ._status import record_restart
from ._terminal import Terminal

__all__ = [
    "MAX_RESTARTS",
    "NotebookService",
    "ServiceOptions",
    "SetupError",
    "notebook_args",
    "run_notebooks",
]

MAX_RESTARTS = 5  # in a row; a kernel that stayed up for STABLE_SECONDS resets the count
STABLE_SECONDS = 300.0
BACKOFF_MAX = 30.0
_AGENT = "__import__('cognia_nb.jupyter._headless', fromlist=['_'])"


class SetupError(CogniaError):
    """A notebook cell raised while the service ran the notebook."""


@dataclass
class ServiceOptions:
    """How ``cognia-nb run`` runs notebooks (see the module docstring)."""

    store: str
    duration: float | None = None
    grace: float = 10.0
    kernel_name: str | None = None
    max_restarts: int = MAX_RESTARTS


def _died(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


class NotebookService:
    """One notebook kept running in one kernel (restarted when it dies)."""

    def __init__(self, notebook: Notebook, options: ServiceOptions, out: Terminal) -> None:
        self.notebook, self.options, self.out = notebook, options, out
        self.kernel: NotebookKernel | None = None
        self.restarts = 0
        self.running = 0  # executions running now, from the agent's events
        self.owner: str | None = None  # the kernel's store owner token
        self._started = 0.0

    def _env(self, reason: str | None) -> dict[str, str]:
        info = {"kind": "service", "notebook": str(self.notebook.path),
                "restarts": self.restarts, "supervisor": os.getpid(), "reason": reason}  # fmt: skip
        return {**os.environ, "COGNIA_NB_STORE": self.options.store,
                "JPY_SESSION_NAME": str(self.notebook.path),
                "COGNIA_NB_PROCESS_INFO": json.dumps(info)}  # fmt: skip

    def _on_event(self, event: dict[str, object]) -> None:
        if event.get("kind") == "start":
            self.running += 1
        elif event.get("kind") == "finish":
            self.running = max(0, self.running - 1)
        elif event.get("kind") == "ready":
            self.owner = str(event.get("owner"))
        self.out.event(event)

    async def start(self, reason: str | None = None) -> None:
        """Start a kernel and run the notebook in it.

        Raises:
            SetupError: a cell raised (the kernel is shut down).
            KernelDied: the kernel ended while the notebook ran.
        """
        nb = self.notebook
        kernel = NotebookKernel(nb.kernel_name, self._env(reason), nb.path.parent,
                                self.out.stream, self._on_event)  # fmt: skip
        self.kernel, self.running = kernel, 0
        await kernel.start()
        self.out.line("kernel", f"{nb.kernel_name} (pid {kernel.pid}) for {nb.path}")
        began = time.monotonic()
        error = await kernel.execute(f"{_AGENT}.attach()", "service")
        if error is not None:
            await kernel.shutdown(now=True)
            raise SetupError(f"{nb.path.name}: cognia_nb cannot start in the kernel: "
                             f"{error.ename}: {error.evalue}\n{error.text()}")  # fmt: skip
        for cell in nb.cells:
            error = await kernel.execute(cell.source, f"cell {cell.number}")
            if error is not None:
                await kernel.shutdown(now=True)
                raise SetupError(
                    f"{nb.path.name}: cell {cell.number} ({cell.first_line!r}) raised "
                    f"{error.ename}: {error.evalue}\n{error.text()}"
                )
        skipped = f", {nb.skipped} skipped (cognia:skip)" if nb.skipped else ""
        self.out.line("ran", f"{len(nb.cells)} cell(s) of {nb.path.name} in "
                      f"{time.monotonic() - began:.1f}s{skipped}")  # fmt: skip
        await kernel.execute(f"{_AGENT}.ready({self.restarts}, {reason!r})", "service")
        self._started = time.monotonic()

    async def keep_up(self, stop: asyncio.Event) -> int | None:
        """Until ``stop`` is set: restart a dead kernel. An exit status if it gives up."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            assert self.kernel is not None
            code = await self.kernel.exit_code()
            if stop.is_set() or code is None:
                continue
            if time.monotonic() - self._started > STABLE_SECONDS:
                self.restarts = 0
            if self.restarts >= self.options.max_restarts:
                self.out.line("kernel", f"died ({_died(code)}) after {self.restarts} restart(s) "
                              "in a row; giving up")  # fmt: skip
                await self.kernel.shutdown(now=True)
                return 1
            self.restarts += 1
            delay = min(BACKOFF_MAX, 2.0 ** (self.restarts - 1))
            reason = f"kernel pid {self.kernel.pid} died ({_died(code)})"
            self.out.line("kernel", f"died ({_died(code)}); restarting in {delay:.0f}s (restart "
                          f"{self.restarts} of at most {self.options.max_restarts})")  # fmt: skip
            await self.kernel.shutdown(now=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return None
            try:
                await self.start(reason)
            except KernelDied:
                continue  # counted at the next turn
            except SetupError as exc:
                self.out.line("kernel", f"the notebook failed after the restart: {exc}")
                return 2
            await asyncio.to_thread(record_restart, self.options.store, str(self.notebook.path),
                                    reason, self.owner)  # fmt: skip
        return None

    async def stop(self, grace: float, now: asyncio.Event) -> None:
        """Let running executions finish within ``grace`` (``now`` cuts it short), shut down."""
        kernel = self.kernel
        if kernel is None or await kernel.exit_code() is not None:
            if kernel is not None:
                await kernel.shutdown(now=True)
            return
        stopping = asyncio.create_task(
            kernel.execute(f"await {_AGENT}.stop({grace!r})", "service", timeout=grace + 10)
        )
        cut = asyncio.create_task(now.wait())
        await asyncio.wait({stopping, cut}, return_when=asyncio.FIRST_COMPLETED)
        cut.cancel()
        if not stopping.done():
            stopping.cancel()  # the kernel's shutdown handler cancels and records them
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await stopping
        await kernel.shutdown(now=False)


def _install(stop: asyncio.Event, now: asyncio.Event, services: list[NotebookService],
             grace: float, out: Terminal) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            out.line("stop", "cancelling running executions now")
            now.set()
            return
        running = sum(s.running for s in services)
        out.line("stop", f"letting {running} running execution(s) finish (grace {grace:g}s; "
                 "Ctrl-C again to cancel them)")  # fmt: skip
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)


async def run_notebooks(
    paths: list[str], options: ServiceOptions, plugins: list[str] | None = None,
    timezone: str | None = None, *, plain: bool = True,
) -> int:  # fmt: skip
    """Run notebooks (and plugin folders, in this process) until ``--for`` or a signal."""
    notebooks = [read_notebook(p, options.kernel_name) for p in paths]
    several = len(notebooks) > 1
    out = Terminal()
    services = [NotebookService(nb, options, Terminal(f"{nb.path.stem}/" if several else ""))
                for nb in notebooks]  # fmt: skip
    stop, now = asyncio.Event(), asyncio.Event()
    _install(stop, now, services, options.grace, out)
    try:
        for service in services:
            await service.start()
    except (SetupError, KernelDied) as exc:
        for service in services:
            if service.kernel is not None:
                await service.kernel.shutdown(now=True)
        raise SetupError(str(exc)) from None
    names = ", ".join(nb.path.name for nb in notebooks)
    out.line("running", f"{names} on {options.store} (Ctrl-C to stop)")
    watchers = [asyncio.create_task(s.keep_up(stop)) for s in services]
    status = 0
    if plugins:
        from .._cli_run import run_plugins

        status = await run_plugins(plugins, options.store, options.duration, timezone,
                                   plain=plain, grace=options.grace)  # fmt: skip
        _install(stop, now, services, options.grace, out)  # run_plugins had taken the signals
        stop.set()
    else:
        watching = asyncio.gather(*watchers)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watching), options.duration)
    if not stop.is_set():
        out.line("stop", f"--for {options.duration:g}s passed; letting running executions "
                 f"finish (grace {options.grace:g}s)")  # fmt: skip
    stop.set()
    codes = await asyncio.gather(*watchers)
    await asyncio.gather(*(s.stop(options.grace, now) for s in services))
    out.line("stopped", "kernel(s) shut down; every finished execution is in the store")
    return max([status, *(c or 0 for c in codes)])


def notebook_args(args: list[str]) -> tuple[list[str], list[str]]:
    """Split ``cognia-nb run`` arguments into notebooks (``.ipynb``) and plugin folders."""
    notebooks = [a for a in args if Path(a).suffix.lower() == ".ipynb"]
    return notebooks, [a for a in args if a not in notebooks]
