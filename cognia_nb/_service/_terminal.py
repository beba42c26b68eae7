"""What ``cognia-nb run NOTEBOOK`` prints: one line per event, task output prefixed."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .._cli_run import _MARK, _stamp  # the same words and clock as the plugin runner

__all__ = ["Terminal"]


class Terminal:
    """Lines for one notebook's kernel; ``prefix`` names the notebook when there are several.

    Args:
        prefix: put before task names (``"nb/"``), empty for a single notebook.
        out: where lines go (stdout).
    """

    def __init__(self, prefix: str = "", out: TextIO | None = None) -> None:
        self.prefix = prefix
        self.out = out or sys.stdout
        self._partial: dict[str, str] = {}

    def line(self, what: str, text: str) -> None:
        """``HH:MM:SS what    text``."""
        self.out.write(f"{_stamp()} {what:<7} {text}\n")
        self.out.flush()

    def stream(self, label: str, name: str, text: str) -> None:
        """Cell or kernel output: whole lines, each as ``[label] line``."""
        key = f"{label}/{name}"
        *lines, rest = (self._partial.pop(key, "") + text).split("\n")
        if rest:
            self._partial[key] = rest
        for line in lines:
            self.out.write(f"[{self.prefix}{label}] {line}\n")
        self.out.flush()

    def event(self, event: dict[str, Any]) -> None:
        """An event of the kernel's headless agent."""
        kind = event.get("kind")
        task = f"{self.prefix}{event.get('task', '?')}"
        if kind == "output":
            self.out.write(f"[{task}] {event.get('line', '')}\n")
            self.out.flush()
        elif kind == "start":
            self.line("start", f"{task} ({event['execution']}, {event['trigger']})")
        elif kind == "progress":
            message = f" {event['message']}" if event.get("message") else ""
            self.line(f"{event['progress']:5.1f}%", f"{task}{message}")
        elif kind == "finish":
            self.line(_MARK.get(event["status"], event["status"]), task + _detail(event))
        elif kind == "ready":
            for entry in event["tasks"]:
                status = "" if entry["status"] == "active" else f" ({entry['status']})"
                self.line("loaded", f"{self.prefix}{entry['task']}: {entry['schedule']}{status}; "
                          f"next {entry['next'] or '-'}")  # fmt: skip


def _detail(event: dict[str, Any]) -> str:
    took = "" if event.get("duration") is None else f" in {event['duration']:.2f}s"
    if event["status"] != "succeeded" and event.get("error"):
        return f"{took} error={event['error']}"
    output = event.get("output")
    return f"{took} output={output}" if output is not None else took
