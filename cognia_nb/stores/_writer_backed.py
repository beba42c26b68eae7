"""What the SQLite and the PostgreSQL store share: a writer thread behind every write.

:class:`WriterBackedStore` holds the writer plumbing (saves handed to the writer, claims,
acknowledgements, health, flush, the writer's stop at close), the retention settings and their
pruning, and the reads that only differ in SQL dialect. A backend says how it opens, how it
fails, how it reads rows and which SQL marks and row order it speaks.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from .._errors import StoreError
from .._model.task import Execution, ExecutionStatus, Task
from ._base import Store
from ._codec import EXECUTION_COLUMNS, TASK_SELECT, execution_from_row, task_from_row
from ._health import StoreHealth
from ._procs import owner_token
from ._retention import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_EXECUTIONS, FROM_FILE, prune
from ._writer import Writer

__all__ = ["WriterBackedStore"]

_EXECUTION_SELECT = f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions"
#: Seconds between two prunes (retention runs in the writer thread, after a commit).
PRUNE_SECONDS = 60


class WriterBackedStore(Store):
    """A store whose writes all go through one writer thread (``_writer.py``), in group
    commits, and whose reads run on the caller's thread after a flush.

    Args:
        max_executions_per_task: history kept per task (``FROM_FILE``: the stored setting).
        max_age_days: executions older than this are pruned (``FROM_FILE``: the stored one).
        commit_window: longest time a write waits for its group commit (seconds).
        read_only: nothing is ever written; saves raise :class:`~cognia_nb.StoreError`.
    """

    claims_async = True

    #: Where the backend logs (its own logger name).
    _log: ClassVar[logging.Logger]
    #: The parameter mark of the backend's SQL (``?`` or ``%s``).
    _mark: ClassVar[str]
    #: The column that orders executions saved in the same instant (insertion order).
    _seq: ClassVar[str]
    #: ``LIMIT`` for "no limit" in the backend's SQL.
    _no_limit: ClassVar[Any]

    def __init__(
        self,
        *,
        max_executions_per_task: int = FROM_FILE,
        max_age_days: float | None = FROM_FILE,
        commit_window: float = 0.05,
        read_only: bool = False,
    ) -> None:
        self._asked = (max_executions_per_task, max_age_days)
        self.max_executions_per_task: int = (
            DEFAULT_MAX_EXECUTIONS if max_executions_per_task is FROM_FILE
            else max_executions_per_task
        )  # fmt: skip
        self.max_age_days: float | None = (
            DEFAULT_MAX_AGE_DAYS if max_age_days is FROM_FILE else max_age_days
        )
        self.commit_window = commit_window
        self.read_only = read_only
        self.owner = owner_token()
        self._writer: Writer | None = None
        self._last_prune = 0.0
        self._closed_health = StoreHealth()
        self._select = TASK_SELECT  # how tasks are read

    # -- what a backend says --------------------------------------------------------------

    @abstractmethod
    def _fail(self, what: str, exc: BaseException | None = None) -> StoreError:
        """The error naming this store, ``what`` went wrong and what to do."""

    @abstractmethod
    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read (opening the store if needed)."""

    @abstractmethod
    def _history(self, where: str, params: list[Any]) -> dict[str, Any]:
        """:meth:`history_columns` of the executions ``where`` selects."""

    def _retention_conn(self, conn: Any) -> Any:
        """The writer's connection as the statements of ``_retention.py`` take it."""
        return conn

    # -- writes (non-blocking) ------------------------------------------------------------

    def _w(self) -> Writer:
        if self.read_only:
            raise self._fail("was opened read-only; nothing is written to it")
        if self._writer is None:
            self.open()
        assert self._writer is not None
        return self._writer

    def _start_writer(self, writer: Writer) -> None:
        """Start the writer; the two saves of every firing then go straight to it."""
        self._writer = writer
        writer.start()
        self.save_execution = writer.save_execution  # type: ignore[method-assign]
        self.save_task_state = writer.save_state  # type: ignore[method-assign]

    def _stop_writer(self) -> bool:
        """Commit what is pending and end the writer; whether there was one."""
        writer = self._writer
        if writer is None:
            return False
        writer.stop()
        self._closed_health = health = writer.health
        if not health.ok or health.lost:
            self._log.error("%s closed with writes not stored: %s", self.location, health)
        self._writer = None
        for bound in ("save_execution", "save_task_state"):
            self.__dict__.pop(bound, None)
        return True

    def save_task(self, task: Task) -> None:
        self._w().save_task(task)

    def save_task_state(self, task: Task) -> None:
        self._w().save_state(task)

    def delete_task(self, task_id: str) -> None:
        self._w().delete_task(task_id)

    def save_execution(self, execution: Execution) -> None:
        self._w().save_execution(execution)

    def watch(self, watcher: Callable[[list[Task], set[str]], None] | None) -> None:
        if self._writer is not None:  # (never reopens a closed store)
            self._writer.watch(watcher)

    def task_unwritten(self, task_id: str) -> bool:
        return self._writer is not None and self._writer.task_unwritten(task_id)

    def when_committed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the writer thread) once what was saved so far is committed;
        a failing storage delays it until the commit goes through."""
        self._w().when_committed(callback)

    def claim_batch(
        self, items: list[tuple[Task, float]], done: Callable[[list[bool]], None]
    ) -> None:
        self._w().claim(items, done)

    @property
    def health(self) -> StoreHealth:
        """Whether writes reach the storage (a failing one shows here at once)."""
        return self._closed_health if self._writer is None else self._writer.health

    def flush(self) -> None:
        """Wait until what was saved so far is committed, or its commit failed (never raises:
        a failing write is retried and shown in :attr:`health`)."""
        if self._writer is not None:
            self._writer.flush()

    # -- reads ----------------------------------------------------------------------------

    def _read_ready(self) -> None:
        """Flush before a read; a writer that died of a bug makes reads fail loudly."""
        self.flush()
        if self._writer is not None and self._writer.error is not None:
            raise self._fail("the writer thread failed", self._writer.error)

    def load_tasks(self) -> list[Task]:
        self._read_ready()
        return self._tasks_of(self._fetch(self._select))

    def _tasks_of(self, rows: Iterable[tuple[Any, ...]]) -> list[Task]:
        tasks = []
        for row in rows:
            try:
                tasks.append(task_from_row(row))
            except (ValueError, KeyError) as exc:
                self._log.error("%s: task %r cannot be read and is skipped: %s", self.location,
                                row[0], exc)  # fmt: skip
        return tasks

    def get_execution(self, execution_id: str) -> Execution | None:
        self._read_ready()
        if self._writer is not None and not self._writer.health.ok:
            waiting = self._writer.unwritten(execution_id)
            if waiting is not None:
                return waiting
        rows = self._fetch(f"{_EXECUTION_SELECT} WHERE id = {self._mark}", (execution_id,))
        return execution_from_row(rows[0]) if rows else None

    def _where(
        self,
        task_id: str | None,
        statuses: Sequence[ExecutionStatus] | None,
        since_ts: float | None,
    ) -> tuple[str, list[Any]]:
        mark = self._mark
        clauses: list[str] = []
        params: list[Any] = []
        if task_id is not None:
            clauses.append(f"task_id = {mark}")
            params.append(task_id)
        if statuses:
            clauses.append(self._status_in(statuses, params))
        if since_ts is not None:
            clauses.append(f"created_ts >= {mark}")
            params.append(since_ts)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _status_in(self, statuses: Sequence[ExecutionStatus], params: list[Any]) -> str:
        """The clause for ``status`` in ``statuses`` (its parameters appended to ``params``)."""
        params.extend(str(s) for s in statuses)
        return f"status IN ({', '.join(self._mark for _ in statuses)})"

    def _newest_first(self, where: str) -> str:
        return f"{where} ORDER BY created_ts DESC, {self._seq} DESC LIMIT {self._mark}"

    def list_executions(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> list[Execution]:
        self._read_ready()
        where, params = self._where(task_id, statuses, since_ts)
        sql = _EXECUTION_SELECT + self._newest_first(where)
        rows = self._fetch(sql, [*params, self._no_limit if limit is None else limit])
        return [execution_from_row(r) for r in rows]

    def history_columns(
        self,
        task_id: str | None = None,
        *,
        limit: int | None = None,
        statuses: Sequence[ExecutionStatus] | None = None,
        since_ts: float | None = None,
    ) -> dict[str, Any]:
        """Executions encoded as a few strings built inside the database (``_history.py``)."""
        self._read_ready()
        where, params = self._where(task_id, statuses, since_ts)
        if limit is not None:
            newest = f"SELECT {self._seq} FROM executions{self._newest_first(where)}"
            where, params = f" WHERE {self._seq} IN ({newest})", [*params, limit]
        return self._history(where, params)

    # -- retention (writer thread) --------------------------------------------------------

    def _prune(self, conn: Any) -> None:
        now = time.monotonic()
        if now - self._last_prune < PRUNE_SECONDS:
            return
        self._last_prune = now
        prune(self._retention_conn(conn), self.now(), self.max_executions_per_task,
              self.max_age_days)  # fmt: skip
