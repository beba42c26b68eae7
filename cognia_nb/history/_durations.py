"""Durations as people read them (the history frames, the cards and the board use it)."""

from __future__ import annotations

import math

__all__ = ["duration_text"]


def duration_text(seconds: float | None) -> str:
    """A duration for people: ``"12 ms"``, ``"2.04 s"``, ``"3 min 4 s"``, ``"2 h 5 min"``."""
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
