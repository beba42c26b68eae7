"""End to end in a real browser: JupyterLab + headless Chromium (Playwright), the quickstart
notebook, the panel's "Run now" button, the progress bar reaching 100% and turning green.

Needs Debian's chromium (``/usr/bin/chromium``), ``jupyterlab`` and ``playwright`` (the
``browser`` extra); ``.ci/run`` installs them. Set ``COGNIA_NB_SCREENSHOT=path.png`` to also
keep the screenshot there (the README's picture is made this way).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on 127.0.0.1 with a token, serving a fresh copy of the quickstart."""
    work = tmp_path / "work"
    work.mkdir()
    notebook = json.loads((ROOT / "notebooks" / "quickstart.ipynb").read_text())
    for cell in notebook["cells"]:  # never let saved outputs pass for new ones
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (work / "quickstart.ipynb").write_text(json.dumps(notebook))
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "rt"),
    }
    env.pop("COGNIA_NB_STORE", None)  # the default SQLite store, under this data dir
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "lab-settings")
    port, token = free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={work}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            request = urllib.request.Request(
                f"{base}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start: " + (tmp_path / "server.log").read_text()[-2000:])
    try:
        yield base, token
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_run_now_in_the_panel_in_a_real_browser(lab: tuple[str, str], tmp_path: Path) -> None:
    base, token = lab
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        try:
            page.goto(f"{base}/lab/tree/quickstart.ipynb?token={token}")
            expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first)\
                .to_be_visible(timeout=60_000)  # fmt: skip
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            outputs = page.locator(".jp-OutputArea-output")
            run_buttons = outputs.get_by_role("button", name="Run now", exact=True)
            expect(run_buttons.first).to_be_visible(timeout=90_000)
            # the task rows: one per task, with the schedule in words
            report_row = (
                page.locator(".widget-hbox")
                .filter(has=page.get_by_text("At 09:00 AM, Monday through Friday (Europe/Berlin)"))
                .filter(has=page.get_by_role("button", name="Run now", exact=True))
            )
            expect(report_row).to_have_count(1, timeout=30_000)
            for name in ("refresh", "heartbeat", "report"):
                expect(outputs.locator(".widget-html-content", has_text=name).first)\
                    .to_be_visible()  # fmt: skip
            report_row.get_by_role("button", name="Run now", exact=True).click()
            bar_row = (
                page.locator(".widget-hbox")
                .filter(has=page.locator(".widget-hprogress"))
                .filter(has_text="report")
            )
            finished = bar_row.filter(has_text="succeeded")
            expect(finished.first).to_be_visible(timeout=30_000)
            style = finished.first.locator(".progress-bar").get_attribute("style") or ""
            assert "width: 100%" in style, style
            expect(report_row).to_contain_text("succeeded", timeout=10_000)
            panel = outputs.filter(has=page.get_by_role("button", name="Run now", exact=True)).last
            panel.scroll_into_view_if_needed()
            shot = tmp_path / "panel.png"
            panel.screenshot(path=str(shot))
            page.screenshot(path=str(tmp_path / "notebook.png"))
            assert shot.stat().st_size > 10_000
            keep = os.environ.get("COGNIA_NB_SCREENSHOT")
            if keep:
                shutil.copy(shot, keep)
        finally:
            browser.close()
