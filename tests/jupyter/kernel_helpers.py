"""Driving a real kernel with jupyter_client: run cells, collect output per cell."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import KernelManager


@dataclass
class CellResult:
    msg_id: str
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: str | None = None
    displays: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


class Kernel:
    """A real IPython kernel; ``run(code)`` returns that cell's output. Output that arrives for
    earlier cells (background tasks) is collected in ``late[msg_id]``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.late: dict[str, str] = {}

    def _drain_into(self, msg: dict[str, Any], target: CellResult | None) -> None:
        parent = msg["parent_header"].get("msg_id")
        kind, content = msg["msg_type"], msg["content"]
        if target is not None and parent == target.msg_id:
            if kind == "stream":
                if content["name"] == "stdout":
                    target.stdout += content["text"]
                else:
                    target.stderr += content["text"]
            elif kind == "execute_result":
                target.result = content["data"].get("text/plain")
            elif kind == "display_data":
                target.displays.append(content["data"])
            elif kind == "error":
                target.error = f"{content['ename']}: {content['evalue']}"
        elif kind == "stream" and parent:
            self.late[parent] = self.late.get(parent, "") + content["text"]

    def run(self, code: str, timeout: float = 60) -> CellResult:
        start = time.perf_counter()
        msg_id = self.kc.execute(code)
        out = CellResult(msg_id)
        deadline = time.time() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):  # fmt: skip
                break
            self._drain_into(msg, out)
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        out.seconds = time.perf_counter() - start
        return out

    def check(self, code: str, timeout: float = 60) -> CellResult:
        """Run and fail on an error."""
        out = self.run(code, timeout)
        assert out.error is None, f"{out.error}\n{out.stderr}"
        return out

    def collect(self, seconds: float) -> None:
        """Read iopub for a while (background output lands in ``late``)."""
        end = time.time() + seconds
        while time.time() < end:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.05, end - time.time()))
            except Exception:
                continue
            self._drain_into(msg, None)

    def restart(self) -> None:
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=60)

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)
