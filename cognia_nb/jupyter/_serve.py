"""``%cognia serve``: what it takes to run this notebook's tasks headless on this machine.

A systemd user unit (``~/.config/systemd/user/cognia-nb-NAME.service``) whose ``ExecStart`` is
``<this python> -m cognia_nb.cli run <this notebook> --store <this store>``; the magic writes
it and prints the ``systemctl --user`` line to start it, never runs it. ``--print`` writes
nothing and prints the command line, to run it any other way (tmux, cron ``@reboot``, ...).
The service runs the notebook as saved on disk, in a kernel of its own, on the same store.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from .._errors import CogniaError

__all__ = ["Serve", "service_command", "unit_path", "unit_text"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
DEFAULT_GRACE = 10.0


def _notebook() -> Path:
    session = os.environ.get("JPY_SESSION_NAME")
    if not session:
        raise CogniaError(
            "%cognia serve: this kernel does not know its notebook (JPY_SESSION_NAME is not "
            "set; Jupyter sets it). Run `cognia-nb run PATH/TO/NOTEBOOK.ipynb` yourself"
        )
    path = Path(session)
    if not path.is_absolute():
        path = Path.cwd() / path.name  # the kernel runs in the notebook's directory
    return path


def _name(name: str | None, notebook: Path) -> str:
    if name is None:
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", notebook.stem).strip("-.") or "notebook"
    if not _NAME.match(name):
        raise CogniaError(f"%cognia serve --name: {name!r} is not a unit name; use letters, "
                          "digits, '-', '_' or '.' (e.g. --name daily-report)")  # fmt: skip
    return name


def service_command(notebook: Path, store: str, grace: float = DEFAULT_GRACE) -> list[str]:
    """The command that runs ``notebook``'s tasks on ``store`` (absolute paths)."""
    return [sys.executable, "-m", "cognia_nb.cli", "run", str(notebook), "--store", store,
            "--grace", f"{grace:g}", "--plain"]  # fmt: skip


def _sd(arg: str) -> str:
    """One ``ExecStart=``/``Environment=`` word: quoted when needed, ``%`` doubled."""
    arg = arg.replace("%", "%%")
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_path(name: str) -> Path:
    """``$XDG_CONFIG_HOME`` (else ``~/.config``) ``/systemd/user/cognia-nb-NAME.service``."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user" / f"cognia-nb-{name}.service"


def unit_text(notebook: Path, command: list[str], grace: float = DEFAULT_GRACE) -> str:
    """The systemd user unit running ``command`` (restarted when it fails)."""
    env = ["PYTHONUNBUFFERED=1"]
    if os.environ.get("PYTHONPATH"):
        env.append(f"PYTHONPATH={os.environ['PYTHONPATH']}")
    lines = [
        "[Unit]",
        f"Description=cognia_nb: the scheduled tasks of {notebook}".replace("%", "%%"),
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"WorkingDirectory={_sd(str(notebook.parent))}",
        *(f"Environment={_sd(e)}" for e in env),
        "ExecStart=" + " ".join(_sd(a) for a in command),
        "Restart=on-failure",
        "RestartSec=5",
        # SIGTERM to cognia-nb only: it stops the kernel itself within the grace.
        "KillMode=mixed",
        f"TimeoutStopSec={grace + 20:g}",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


@dataclass
class Serve:
    """What ``%cognia serve`` did, shown as text."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(self.text)  # type: ignore[attr-defined]


def serve(store: str, *, name: str | None = None, print_only: bool = False) -> Serve:
    """Write the unit (or, ``print_only``, only say the command); what to run next.

    Raises:
        CogniaError: no notebook path, an in-memory store, or a bad ``name``.
    """
    notebook = _notebook()
    if store == "memory" or not store:
        raise CogniaError("%cognia serve: this kernel's store is in memory; a service needs "
                          "a file both open (set COGNIA_NB_STORE to a path, restart)")  # fmt: skip
    command = service_command(notebook, store)
    status = f"cognia-nb status --store {shlex.quote(store)}"
    if print_only:
        return Serve(f"Run this notebook's tasks headless (tmux, cron @reboot, a container):\n"
                     f"  {shlex.join(command)}\n"
                     f"It runs {notebook.name} as saved, on {store}. Then: {status}")  # fmt: skip
    unit = _name(name, notebook)
    path = unit_path(unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(notebook, command), encoding="utf-8")
    return Serve(
        f"wrote {path}\n"
        f"Start it now and at every login (nothing was started):\n"
        f"  systemctl --user daemon-reload && systemctl --user enable --now "
        f"cognia-nb-{unit}.service\n"
        f"It runs {notebook.name} as saved (save it first), on {store}.\n"
        f"Logs: journalctl --user -u cognia-nb-{unit} -f; who runs what: {status}\n"
        f"(to keep it running when you are logged out: loginctl enable-linger $USER)"
    )
