"""One real kernel, driven through ``jupyter_client``: execute code, read what it says.

Everything the kernel publishes reaches :class:`NotebookKernel` through one iopub reader
task: the output of the code being executed goes to ``on_stream(label, name, text)`` (label:
``"cell 3"``), output that belongs to no execution of ours to ``on_stream("kernel", ...)``,
and the headless agent's events (``display_data`` of the agent's MIME type) to
``on_event(dict)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CellError", "KernelDied", "NotebookKernel"]

log = logging.getLogger("cognia_nb.service")
MIME = "application/vnd.cognia-nb.event+json"  # = cognia_nb.jupyter._headless.MIME
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

StreamSink = Callable[[str, str, str], None]
EventSink = Callable[[dict[str, Any]], None]


class KernelDied(Exception):
    """The kernel process ended while we waited for it."""


@dataclass
class CellError:
    """What an execution that raised reported."""

    ename: str
    evalue: str
    traceback: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The traceback without terminal colours."""
        return _ANSI.sub("", "\n".join(self.traceback))


@dataclass
class _Pending:
    label: str
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    error: CellError | None = None


class NotebookKernel:
    """A kernel started with ``env`` in ``cwd``; :meth:`execute` runs code and waits."""

    def __init__(
        self,
        kernel_name: str,
        env: dict[str, str],
        cwd: Path,
        on_stream: StreamSink,
        on_event: EventSink,
    ) -> None:
        self.kernel_name = kernel_name
        self.env, self.cwd = env, cwd
        self.on_stream, self.on_event = on_stream, on_event
        self._pending: dict[str, _Pending] = {}
        self._reader: asyncio.Task[None] | None = None
        self.km: Any = None
        self.kc: Any = None

    async def start(self, timeout: float = 60.0) -> None:
        """Start the kernel process and wait until it answers."""
        from jupyter_client.manager import AsyncKernelManager

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        await self.km.start_kernel(env=self.env, cwd=str(self.cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=timeout)
        self._reader = asyncio.create_task(self._read_iopub(), name="cognia_nb-iopub")

    @property
    def pid(self) -> int | None:
        """The kernel's process id."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return None if process is None else int(process.pid)

    async def exit_code(self) -> int | None:
        """None while the kernel runs, else its exit status (negative: killed by a signal)."""
        if self.km is None or self.km.provisioner is None:
            return 0
        code = await self.km.provisioner.poll()
        return None if code is None else int(code)

    async def execute(
        self, code: str, label: str, timeout: float | None = None
    ) -> CellError | None:
        """Run ``code``; its error, if it raised.

        Raises:
            KernelDied: the kernel ended before the code finished.
            TimeoutError: it ran longer than ``timeout`` seconds.
        """
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        pending = self._pending[msg_id] = _Pending(label)
        try:
            async with asyncio.timeout(timeout):
                while not pending.idle.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(pending.idle.wait(), 0.5)
                    if not pending.idle.is_set() and await self.exit_code() is not None:
                        raise KernelDied(f"the kernel died while running {label}")
        finally:
            self._pending.pop(msg_id, None)
        return pending.error

    async def _read_iopub(self) -> None:
        while True:
            try:
                msg = await self.kc.get_iopub_msg(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - queue.Empty on a quiet kernel; a closed socket
                if self.kc is None or not self.kc.channels_running:
                    return
                continue
            try:
                self._dispatch(msg)
            except Exception:
                log.exception("cognia_nb: a kernel message could not be shown")

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        pending = self._pending.get(msg["parent_header"].get("msg_id", ""))
        if kind == "display_data" and MIME in content.get("data", {}):
            self.on_event(content["data"][MIME])
        elif kind == "stream":
            label = pending.label if pending is not None else "kernel"
            self.on_stream(label, content["name"], content["text"])
        elif kind == "error" and pending is not None:
            pending.error = CellError(content["ename"], content["evalue"], content["traceback"])
        elif kind == "status" and pending is not None and content["execution_state"] == "idle":
            pending.idle.set()

    async def shutdown(self, now: bool = False) -> None:
        """Ask the kernel to shut down (its scheduler flushes), killing it if it hangs."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            await self.km.shutdown_kernel(now=now)
