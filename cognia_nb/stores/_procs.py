"""Which process owns what, whether it still lives, and what file system a path is on."""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from pathlib import Path

__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE_SECONDS",
    "NETWORK_FS_WARNED",
    "network_fs_type",
    "owner_token",
    "process_alive",
    "process_info",
]

#: How often a process's writer thread records that it is alive; a holder whose last beat is
#: older than LEASE_SECONDS is dead (what a pid check cannot tell for another host).
HEARTBEAT_SECONDS = 10.0
LEASE_SECONDS = 3 * HEARTBEAT_SECONDS

NETWORK_FS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "afs", "ceph", "glusterfs",
    "fuse.glusterfs", "lustre", "gpfs", "fuse.s3fs", "fuse.gcsfuse", "davfs", "fuse.rclone",
}  # fmt: skip
NETWORK_FS_WARNED: set[str] = set()


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def owner_token() -> str:
    """``host:pid:start:random``: names this process in a shared store."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '-'}:{secrets.token_hex(3)}"


def process_info() -> str:
    """What this process is, as JSON for the process table: ``kind`` (``service`` when
    ``cognia-nb run NOTEBOOK`` started it, which passes ``COGNIA_NB_PROCESS_INFO``, else
    ``kernel`` or ``process``) and the notebook session, if any."""
    info: dict[str, object] = {}
    try:
        given = json.loads(os.environ.get("COGNIA_NB_PROCESS_INFO") or "{}")
    except ValueError:
        given = {}
    if isinstance(given, dict):
        info.update(given)
    app = sys.modules.get("ipykernel.kernelapp")  # imported, not necessarily running
    in_kernel = app is not None and app.IPKernelApp.initialized()
    info.setdefault("kind", "kernel" if in_kernel else "process")
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        info.setdefault("notebook", session)
    return json.dumps(info)


def process_alive(pid: int, owner: str) -> bool:
    """Whether the process that wrote ``owner`` on this host is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    parts = owner.split(":")
    recorded = parts[2] if len(parts) > 3 else "-"
    current = _start_ticks(pid)
    return recorded == "-" or current is None or current == recorded


def network_fs_type(path: Path) -> str | None:
    """The file system type of ``path`` if it is a network one (Linux ``/proc/mounts``)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, best_type = "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, parts[2]
    return best_type if best_type in NETWORK_FS else None
