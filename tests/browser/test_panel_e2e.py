"""End to end in a real browser: JupyterLab + headless Chromium (Playwright), the quickstart
notebook, the panel's "Run now" button, the progress bar reaching 100% and turning green.

The harness (server, browser, notebook helpers) is in ``conftest.py``. Set
``COGNIA_NB_SCREENSHOT=path.png`` to also keep the screenshot there (the README's picture is made
this way).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Lab, open_notebook, run_all_cells

pytestmark = pytest.mark.timeout(300)
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")


def test_run_now_in_the_panel_in_a_real_browser(lab: Lab, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        open_notebook(page, lab, "quickstart.ipynb")
        run_all_cells(page)
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
        page.close()
