"""The JupyterLab + headless Chromium harness shared by the browser tests.

Needs Debian's chromium (``/usr/bin/chromium``), ``jupyterlab`` and ``playwright``; ``.ci/run``
installs them. Facts this rests on: ``../shared/notes/browser-e2e.md``.

- ``lab_factory(notebooks, dark=False)`` starts a JupyterLab server on 127.0.0.1 with a token,
  serving fresh copies of the given notebooks (saved outputs stripped), in a temporary HOME, and
  returns a :class:`Lab`. ``lab`` is the quickstart alone.
- ``browser`` is a Playwright Chromium; :func:`open_notebook` opens one and waits for its kernel;
  :func:`run_all_cells` runs it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip

if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it
    collect_ignore_glob = ["test_*.py"]


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server: its base URL, token and the folder it serves."""

    base: str
    token: str
    root: Path

    def url(self, notebook: str) -> str:
        return f"{self.base}/lab/tree/{notebook}?token={self.token}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_notebook(path: Path) -> dict[str, Any]:
    """The notebook at ``path`` with every saved output removed (stale outputs never pass)."""
    notebook: dict[str, Any] = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return notebook


def _wait_ready(base: str, token: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            request = urllib.request.Request(
                f"{base}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    server.kill()
    pytest.fail("JupyterLab did not start: " + log.read_text()[-2000:])


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    servers: list[subprocess.Popen[bytes]] = []

    def start(notebooks: dict[str, dict[str, Any]], *, dark: bool = False) -> Lab:
        n = len(servers)
        work, home = tmp_path / f"work{n}", tmp_path / f"home{n}"
        work.mkdir()
        for name, content in notebooks.items():
            (work / name).write_text(json.dumps(content))
        env = {
            **os.environ,
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "rt"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        }
        env.pop("COGNIA_NB_STORE", None)  # the default SQLite store, under this data dir
        settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        if dark:
            (settings / "themes.jupyterlab-settings").write_text('{"theme": "JupyterLab Dark"}')
        port, token = free_port(), secrets.token_hex(16)
        log = tmp_path / f"server{n}.log"
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
             "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"),  # noqa: SIM115
        )  # fmt: skip
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, token, server, log)
        return Lab(base, token, work)

    try:
        yield start
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()


@pytest.fixture
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    """A server with a fresh copy of ``notebooks/quickstart.ipynb``."""
    return lab_factory(
        {"quickstart.ipynb": fresh_notebook(ROOT / "notebooks" / "quickstart.ipynb")}
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_notebook(page: Any, lab: Lab, notebook: str) -> None:
    """Open ``notebook`` and wait until its kernel is idle (the status bar, not the toolbar)."""
    from playwright.sync_api import expect

    page.goto(lab.url(notebook))
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first).to_be_visible(
        timeout=60_000
    )
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)


def run_all_cells(page: Any) -> None:
    """Menu Run → Run All Cells."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
