"""The command line, in real subprocesses: every plugin that cannot load exits 2 with one line,
whatever its code raised (sys.exit and KeyboardInterrupt at import or in activate included)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def cli(
    *args: str, stdin: int | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cognia_nb", *args],
        capture_output=stdin is None, stdin=stdin, text=True, timeout=timeout, check=False,
        env=dict(os.environ),
    )  # fmt: skip


def _plugin(root: Path, name: str, code: str, manifest_name: str | None = None) -> Path:
    directory = root / name
    directory.mkdir()
    (directory / "plugin.json").write_text(json.dumps({
        "name": manifest_name or name, "capabilities": ["scheduler"],
        "scheduledTasks": [{"name": "t", "handler": "h",
                            "trigger": {"type": "interval", "seconds": 1}}],
    }))  # fmt: skip
    (directory / "plugin.py").write_text(code)
    return directory


ACTIVATE = "def activate(context):\n    context.scheduler.register_handler('h', print)\n"

CASES = {
    "activate_raises": (ACTIVATE + "    raise RuntimeError('boom')\n",
                        r"plugin 'activate_raises' cannot load: its code raised "
                        r"RuntimeError('boom'); nothing of this load was kept"),
    "activate_exits": (ACTIVATE + "    import sys\n    sys.exit(0)\n",
                       r"plugin 'activate_exits' cannot load: its code raised SystemExit(0)"),
    "activate_interrupt": (ACTIVATE + "    raise KeyboardInterrupt\n",
                           "its code raised KeyboardInterrupt()"),
    "import_exits": ("import sys\nsys.exit(0)\n" + ACTIVATE,
                     "raised while importing: SystemExit(0)"),
    "import_interrupt": ("raise KeyboardInterrupt\n" + ACTIVATE,
                         "raised while importing: KeyboardInterrupt()"),
    "import_error": ("import no_such_module_here\n" + ACTIVATE,
                     "raised while importing: ModuleNotFoundError("),
    "no_plugin": ("x = 1\n", "defines no plugin"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_plugin_that_cannot_load_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    code, message = CASES[case]
    directory = _plugin(tmp_path, case, code)
    result = cli("run", str(directory), "--store", "memory", "--for", "5", "--plain")
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cognia-nb: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_a_second_plugin_that_fails_stops_the_first_cleanly(tmp_path: Path) -> None:
    good = _plugin(tmp_path, "good", ACTIVATE)
    bad = _plugin(tmp_path, "bad", "import sys\nsys.exit(4)\n")
    result = cli("run", str(good), str(bad), "--store", "memory", "--for", "5", "--plain")
    assert result.returncode == 2
    assert "loaded  good/t" in result.stdout and "stopped" in result.stdout
    assert result.stderr.strip() == (
        f"cognia-nb: error: plugin module {str(bad / 'plugin.py')!r} raised while importing: "
        "SystemExit(4)"
    )


@pytest.mark.parametrize("name", ["default", "scheduler", "notebook", "kernel"])
def test_a_reserved_plugin_name_exits_2(tmp_path: Path, name: str) -> None:
    directory = _plugin(tmp_path, f"p_{name}", ACTIVATE, manifest_name=name)
    result = cli("run", str(directory), "--store", "memory", "--for", "5", "--plain")
    assert result.returncode == 2
    assert f"manifest name: {name!r} is reserved" in result.stderr
    validated = cli("validate", str(directory))
    assert validated.returncode == 2 and f"{name!r} is reserved" in validated.stderr


# -- bad input to the other commands ----------------------------------------------------------


def test_validate_reads_at_most_the_limit_and_only_regular_files(tmp_path: Path) -> None:
    fifo = tmp_path / "plugin.json"
    os.mkfifo(fifo)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 1_000_001)
    for target, message in (
        ("/dev/zero", "'/dev/zero' is a character device; a manifest must be a regular file"),
        (str(fifo), f"{str(fifo)!r} is a FIFO; a manifest must be a regular file"),
        (str(tmp_path), f"{str(fifo)!r} is a FIFO"),  # the directory's plugin.json
        (str(big), f"{str(big)!r} is larger than 1000000 bytes"),
    ):
        result = cli("validate", target, timeout=30)  # a hang would be a TimeoutExpired
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"cognia-nb: error: manifest $: {message}")


def test_validate_names_the_field_of_a_huge_number(tmp_path: Path) -> None:
    manifest = tmp_path / "plugin.json"
    manifest.write_text('{"name": "x", "capabilities": ["scheduler"], "scheduledTasks": [{"name": '
                        '"a", "handler": "h", "trigger": {"type": "interval", "seconds": 1'
                        + "0" * 400 + "}}]}")  # fmt: skip
    result = cli("validate", str(manifest))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "cognia-nb: error: manifest scheduledTasks[0].trigger.seconds: trigger.seconds is far "
        "too large: an integer of 401 digits (numbers here stay below 10**15)"
    )


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "0", "soon"])
def test_run_for_must_be_a_positive_finite_number(value: str) -> None:
    result = cli("run", "nowhere", "--store", "memory", f"--for={value}")
    assert result.returncode == 2
    assert (f"argument --for: must be a number of seconds > 0 such as 30 or 2.5, got {value!r}"
            in result.stderr)  # fmt: skip


def test_tasks_with_stdin_redirected_on_a_terminal(tmp_path: Path) -> None:
    import pty

    from cognia_nb import Scheduler

    store = tmp_path / "t.db"
    s = Scheduler(store=str(store))
    s.create_task(name="nightly", handler="h", trigger={"type": "cron", "expression": "0 3 * * *"})
    s.store.flush()
    s.close()
    master, slave = pty.openpty()
    with open(os.devnull) as devnull:
        proc = subprocess.run(
            [sys.executable, "-m", "cognia_nb", "tasks", "--store", str(store)],
            stdin=devnull, stdout=slave, stderr=subprocess.PIPE, timeout=60, check=False,
        )  # fmt: skip
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.returncode == 0, proc.stderr
    assert b"nightly" in out and b"unexpected error" not in proc.stderr
