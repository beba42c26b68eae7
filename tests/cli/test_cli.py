"""The command line, in real subprocesses (run, SIGINT, validate, tasks, history)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cognia_nb", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.timeout(90)
def test_run_then_sigint_stops_cleanly_and_history_shows_the_runs(tmp_path: Path) -> None:
    store = tmp_path / "run.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cognia_nb", "run", str(EXAMPLES / "weather_digest"),
         "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.time() + 30
    # Wait for a finished fetch, then for the next one to be running, then interrupt it.
    while time.time() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if " ok " in f" {line}" and "Fetch readings" in line:
            break
    while time.time() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "start" in line and "Fetch readings" in line:
            break
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    lines.extend(out.splitlines())
    assert proc.returncode == 0, err
    text = "".join(lines)
    assert "loaded  weather-digest/Fetch readings: Every 3 seconds" in text
    # The fetch SIGINT came during got the grace (5 s by default) and finished.
    assert "stopping: 1 running execution(s) get 5 s to finish" in text
    assert "stopped; running execution(s): 1 succeeded" in text
    assert "Traceback" not in err

    result = cli("history", "--store", str(store), "--format", "json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    fetches = [r for r in records if r["task_name"] == "Fetch readings"]
    assert any(r["status"] == "succeeded" and set(r["output"]) == {"north", "harbour",
                                                                    "airport", "hill"}
               for r in fetches)  # fmt: skip
    assert not any(r["status"] in ("running", "cancelled") for r in fetches)
    assert any(r["task_name"] == "Announce" and r["trigger_kind"] == "event" for r in records)
    assert all(r["metrics"] in ({}, {"stations": 4}) for r in fetches)

    tasks = cli("tasks", "--store", str(store))
    assert tasks.returncode == 0 and "Fetch readings" in tasks.stdout
    assert "Every 3 seconds" in tasks.stdout
    csv = cli("history", "--store", str(store), "--task", "Fetch readings", "--format", "csv",
              "--limit", "2")  # fmt: skip
    assert csv.returncode == 0 and csv.stdout.startswith("execution_id,")
    assert len(csv.stdout.strip().splitlines()) == 3


def test_run_for_seconds(tmp_path: Path) -> None:
    result = cli("run", str(EXAMPLES / "daily_report"), "--store", "memory", "--for", "2.5",
                 "--timezone", "Europe/Berlin")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "daily-report/daily_report: At 09:00 AM (Europe/Berlin)" in result.stdout
    assert "stopped" in result.stdout


def test_validate(tmp_path: Path) -> None:
    ok = cli("validate", str(EXAMPLES / "weather_digest" / "plugin.json"))
    assert ok.returncode == 0
    assert ok.stdout.startswith("ok: weather-digest 1.0.0, 3 scheduled task(s)")
    broken = tmp_path / "plugin.json"
    broken.write_text(
        json.dumps(
            {
                "name": "x",
                "capabilities": ["scheduler"],
                "scheduledTasks": [
                    {
                        "name": "a",
                        "handler": "a",
                        "trigger": {"type": "cron", "expression": "* * * *"},
                    }
                ],
            }
        )
    )
    bad = cli("validate", str(broken))
    assert bad.returncode == 2
    assert "scheduledTasks[0].trigger.expression" in bad.stderr
    assert "has 4 fields, expected 5" in bad.stderr
    missing = cli("validate", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_bad_plugin_and_missing_store_exit_2(tmp_path: Path) -> None:
    result = cli("run", str(tmp_path / "nowhere"), "--store", "memory", "--for", "1")
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = cli("tasks", "--store", str(tmp_path / "none.db"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_usage_errors_exit_2() -> None:
    result = cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr
