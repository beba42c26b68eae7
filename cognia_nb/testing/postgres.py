"""A private PostgreSQL server for tests and benchmarks: :class:`TemporaryCluster`.

``initdb`` in a temporary directory, ``pg_ctl start`` listening on a Unix socket in that
directory only (``listen_addresses=''``: no TCP port is opened), stopped and removed at the end::

    with TemporaryCluster() as cluster:
        store = PostgresStore(cluster.dsn)

PostgreSQL refuses to run as root: when this process is root, the server runs as the
``postgres`` system user (Debian's package creates it) through ``runuser``, in a directory
handed to that user. Binaries come from ``PATH`` or ``/usr/lib/postgresql/<version>/bin``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["ClusterUnavailable", "TemporaryCluster", "find_binaries"]

SERVER_USER = "postgres"


class ClusterUnavailable(RuntimeError):
    """No private server can be had here (no binaries, no user to run them as)."""


def find_binaries() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``.

    Raises:
        ClusterUnavailable: neither ``PATH`` nor ``/usr/lib/postgresql/*/bin`` has them.
    """
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).parent)):
        return Path(found).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise ClusterUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql; "
        "install Debian's 'postgresql' package"
    )


class TemporaryCluster:
    """A throw-away PostgreSQL cluster on a Unix socket (see the module docstring).

    Args:
        database: the database created for the tests (``dsn`` points at it).
        settings: extra server settings (``-c name=value``).

    Attributes:
        dsn: a libpq connection string for :class:`~cognia_nb.stores.PostgresStore`.
        url: the same as a ``postgresql://`` URL (what ``Scheduler(store=...)`` and
            ``COGNIA_NB_STORE`` take).
    """

    def __init__(self, database: str = "cognia", settings: dict[str, str] | None = None) -> None:
        self.database = database
        self.settings = {"fsync": "off", "max_connections": "200", **(settings or {})}
        self.bindir = find_binaries()
        self.root: Path | None = None
        self.dsn = self.url = ""
        self._user = self._server_user()

    @staticmethod
    def _server_user() -> str | None:
        """Who runs the server: None (this user) unless we are root."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise ClusterUnavailable(
                f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as "
                "(initdb refuses root); create one (useradd -r postgres)"
            ) from None
        if shutil.which("runuser") is None:
            raise ClusterUnavailable("running as root and 'runuser' is missing")
        return SERVER_USER

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise ClusterUnavailable(f"{args[0]} failed ({done.returncode}): "
                                     f"{(done.stderr or done.stdout).strip()[-2000:]}")  # fmt: skip

    def start(self) -> TemporaryCluster:
        """Create the cluster, start the server and create the database."""
        root = Path(tempfile.mkdtemp(prefix="cognia-pg-"))
        self.root = root
        data, socket_dir = root / "data", root / "sock"
        socket_dir.mkdir()
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for path in (root, socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        try:
            self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                      "--no-instructions")  # fmt: skip
            server = f"-c listen_addresses='' -k {socket_dir} {options}"
            self._run("pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-w",
                      "-o", server, "start")  # fmt: skip
            self._create_database(socket_dir)
        except BaseException:
            self.stop()
            raise
        self.dsn = f"host={socket_dir} user=postgres dbname={self.database}"
        self.url = f"postgresql://postgres@/{self.database}?host={socket_dir}"
        return self

    def _create_database(self, socket_dir: Path) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(f"host={socket_dir} user=postgres dbname=postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        root, self.root = self.root, None
        if root is None:
            return
        if (root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(ClusterUnavailable):
                self._run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> TemporaryCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
