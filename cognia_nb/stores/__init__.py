"""Stores: where a scheduler keeps its tasks and execution history."""

from __future__ import annotations

import os

from .._errors import TaskValidationError
from ._base import Store
from .memory import MemoryStore

__all__ = ["MemoryStore", "Store", "open_store"]


def open_store(store: Store | str | os.PathLike[str] | None) -> Store:
    """A store from what ``Scheduler(store=...)`` accepts: None/"memory", a path, a Store.

    Raises:
        TaskValidationError: for anything else.
    """
    if store is None or store == "memory":
        return MemoryStore()
    if isinstance(store, Store):
        return store
    if isinstance(store, str | os.PathLike):
        try:
            from .sqlite import SQLiteStore  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise TaskValidationError(
                f"store {os.fspath(store)!r}: the SQLite store is not available yet",
                field="store",
                value=store,
            ) from exc
        return SQLiteStore(os.fspath(store))  # type: ignore[no-any-return,unused-ignore]
    raise TaskValidationError(
        f"store must be None, 'memory', a path or a Store, got {store!r}",
        field="store",
        value=store,
    )
