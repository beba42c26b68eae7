"""``%cognia serve``: the systemd user unit and the command line (temp HOME, never started)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from .conftest import TestingShell


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "my report.ipynb"))
    return home


async def test_serve_print_gives_the_command_line_and_writes_nothing(
    ip: TestingShell, home: Path, tmp_path: Path
) -> None:
    out = repr(await ip.run("%cognia serve --print"))
    command = out.splitlines()[1].strip()
    store = str(tmp_path / "nb.db")
    assert shlex.split(command) == [sys.executable, "-m", "cognia_nb.cli", "run",
                                    str(tmp_path / "my report.ipynb"), "--store", store,
                                    "--grace", "10", "--plain"]  # fmt: skip
    assert f"cognia-nb status --store {store}" in out
    assert not (home / ".config").exists()


async def test_serve_writes_the_user_unit_and_prints_the_systemctl_line(
    ip: TestingShell, home: Path, tmp_path: Path
) -> None:
    out = repr(await ip.run("%cognia serve --name daily"))
    unit = home / ".config" / "systemd" / "user" / "cognia-nb-daily.service"
    assert f"wrote {unit}" in out
    assert ("systemctl --user daemon-reload && systemctl --user enable --now "
            "cognia-nb-daily.service") in out  # fmt: skip
    text = unit.read_text()
    notebook, store = tmp_path / "my report.ipynb", tmp_path / "nb.db"
    assert f'ExecStart={sys.executable} -m cognia_nb.cli run "{notebook}" --store {store} ' \
        "--grace 10 --plain" in text  # fmt: skip
    for line in ("Restart=on-failure", "KillMode=mixed", "WantedBy=default.target",
                 f"WorkingDirectory={tmp_path}", "Type=simple"):  # fmt: skip
        assert line in text.splitlines(), line
    # systemd itself reads it, where it can
    verify = Path("/usr/bin/systemd-analyze")
    if verify.exists():
        check = subprocess.run([str(verify), "verify", str(unit)], capture_output=True,
                               text=True, check=False)  # fmt: skip
        if "Failed to initialize manager" not in check.stderr:
            assert check.returncode == 0, check.stderr


async def test_serve_default_name_comes_from_the_notebook(ip: TestingShell, home: Path) -> None:
    await ip.run("%cognia serve")
    assert (home / ".config/systemd/user/cognia-nb-my-report.service").exists()


async def test_serve_refuses_a_bad_name_and_unknown_options(ip: TestingShell, home: Path) -> None:
    with pytest.raises(UsageError, match=r"--name: 'a b/c' is not a unit name; use letters"):
        await ip.run("%cognia serve --name 'a b/c'")
    with pytest.raises(UsageError, match=r"serve: unexpected '--now'; usage: %cognia serve"):
        await ip.run("%cognia serve --now")
    assert not (home / ".config").exists()


async def test_serve_needs_to_know_the_notebook(
    ip: TestingShell, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME")
    with pytest.raises(UsageError, match=r"does not know its notebook \(JPY_SESSION_NAME"):
        await ip.run("%cognia serve --print")
