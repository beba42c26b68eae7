"""The lease of a process on a PostgreSQL store: a thread of its own that beats.

Every ``lease_seconds / 3`` the thread sets this process's ``heartbeat`` to the database's
``now()`` on a connection of its own (a long commit of the writer never delays a beat), and
removes the processes whose lease ran out (``_pg_sql.REAP``: their unfinished executions
become interrupted) and returns their unused claims to the pool (``_pg_sql.RELEASE``). A process
that finds its own row gone (it was taken for dead, say after the machine stalled for longer
than the lease) registers again and says so in the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from ._pg_sql import HEARTBEAT, REAP, RELEASE

__all__ = ["Lease"]

log = logging.getLogger("cognia_nb.stores.postgres")


class Lease(threading.Thread):
    """Beats for ``owner`` and reaps the dead (see the module docstring)."""

    def __init__(
        self,
        connect: Callable[[], Any],
        owner: str,
        lease_seconds: float,
        register: Callable[[Any], None],
        location: str = "",
    ) -> None:
        super().__init__(name="cognia_nb-postgres-lease", daemon=True)
        self._connect, self.owner, self.location = connect, owner, location
        self.interval = lease_seconds / 3
        self._register = register
        self._stop_event = threading.Event()
        self.beats = 0
        self.reaped = 0  # dead processes this one removed

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(10)

    def run(self) -> None:
        conn: Any = None
        while not self._stop_event.wait(self.interval):
            try:
                if conn is None:
                    conn = self._connect()
                self.beat(conn)
            except (psycopg.Error, OSError) as exc:
                log.debug("could not renew the lease on %s: %s", self.location, exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def beat(self, conn: Any) -> None:
        """Renew the lease and reap, in one transaction."""
        with conn.transaction():
            if conn.execute(HEARTBEAT, (self.owner,)).rowcount == 0:
                log.warning("%s: this process had been taken for dead (no heartbeat within its "
                            "lease); others may have taken over its claims. Registering again",
                            self.location)  # fmt: skip
                self._register(conn)
            dead = conn.execute(REAP, (self.owner,)).fetchall()
            if dead:
                owners = [str(owner) for owner, _ in dead]
                conn.execute(RELEASE, (owners,))
                self.reaped += len(owners)
                log.warning("%s: the lease of %s ran out; %d of their executions are "
                            "interrupted", self.location, ", ".join(owners),
                            sum(int(n) for _, n in dead))  # fmt: skip
        self.beats += 1
