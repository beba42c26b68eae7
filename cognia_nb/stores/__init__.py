"""Stores: where a scheduler keeps its tasks and execution history."""

from __future__ import annotations

import os

from .._errors import TaskValidationError
from ._base import Store
from ._health import StoreHealth
from ._pg_dsn import is_postgres_dsn as _is_postgres_dsn
from .memory import MemoryStore
from .postgres import PostgresStore
from .sqlite import SQLiteStore

__all__ = [
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StoreHealth",
    "default_store_path",
    "open_store",
]


def default_store_path() -> str:
    """``<jupyter data dir>/cognia_nb/scheduler.db``: where the default scheduler keeps its data."""
    from jupyter_core.paths import jupyter_data_dir

    return os.path.join(jupyter_data_dir(), "cognia_nb", "scheduler.db")


def open_store(store: Store | str | os.PathLike[str] | None) -> Store:
    """A store from what ``Scheduler(store=...)`` accepts: None/"memory", a path, a
    ``postgresql://`` URL, a Store.

    Paths open a :class:`SQLiteStore` (created if missing), URLs a :class:`PostgresStore`.

    Raises:
        TaskValidationError: for anything else.
    """
    if store is None or store == "memory":
        return MemoryStore()
    if isinstance(store, Store):
        return store
    if _is_postgres_dsn(store):
        return PostgresStore(str(store))
    if isinstance(store, str | os.PathLike):
        return SQLiteStore(os.fspath(store))
    raise TaskValidationError(
        f"store must be None, 'memory', a path, a postgresql:// URL or a Store, got {store!r}",
        field="store",
        value=store,
    )
