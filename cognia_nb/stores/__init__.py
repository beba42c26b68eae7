"""Stores: where a scheduler keeps its tasks and execution history."""

from __future__ import annotations

from ._base import Store
from .memory import MemoryStore

__all__ = ["MemoryStore", "Store"]
