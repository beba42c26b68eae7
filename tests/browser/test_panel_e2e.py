"""End to end in a real browser: JupyterLab + headless Chromium (Playwright), the quickstart
notebook, the board's "Run now" button, the run's bar and then its result in the row.

The harness (server, browser, notebook helpers) is in ``conftest.py``; the board's layout,
themes and actions are checked in ``test_board_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Lab, open_notebook, run_all_cells

pytestmark = pytest.mark.timeout(300)
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")


def test_run_now_in_the_quickstart_board(lab: Lab, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_notebook(page, lab, "quickstart.ipynb")
        run_all_cells(page)
        board = page.locator(".cn-board")
        expect(board).to_be_visible(timeout=90_000)
        report = board.locator("tr.cn-row").filter(has=page.locator(".cn-name", has_text="report"))
        expect(report).to_have_count(1, timeout=30_000)
        expect(report.locator("td.cn-col-schedule")).to_have_text(
            "At 09:00 AM, Monday through Friday (Europe/Berlin)"
        )
        for name in ("refresh", "heartbeat", "report"):
            expect(board.locator(".cn-name", has_text=name).first).to_be_visible()
        report.get_by_role("button", name="Run now").click()
        expect(report.locator(".cn-bar.cn-live")).to_be_visible(timeout=15_000)
        expect(report.locator(".cn-runtext")).to_contain_text("part", timeout=15_000)
        expect(report.locator(".cn-runtext")).to_contain_text("succeeded", timeout=30_000)
        board.screenshot(path=str(tmp_path / "quickstart-board.png"))
        assert (tmp_path / "quickstart-board.png").stat().st_size > 5_000
    finally:
        page.close()
