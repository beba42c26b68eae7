"""The board with the states a user meets, in a real JupyterLab + headless Chromium.

A notebook makes a task run a backfill (a finished batch of 3, then a running batch of 40),
and tasks that wait between attempts, time out, get cancelled, are paused after failures and
are skipped by their calendar. The test checks that the backfill shows in its row as
"backfill N/40", that the batch's cancel button in the row cancels it and that the detail then
lists both batches; that the other states read right; layout and contrast as in
``test_board_e2e`` at 1,400 px, at 800 px with the file browser open, and in the dark theme.
Screenshots are kept under ``tmp_path`` (``COGNIA_NB_SCREENSHOT_DIR`` copies them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Lab, open_notebook, run_all_cells
from tests.browser.test_board_e2e import (
    check_contrast,
    check_layout,
    keep,
    row,
    snap,
    toggle_file_browser,
)

pytestmark = pytest.mark.timeout(300)
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")

MINE = ("daily_load", "flaky_api", "slow_query", "long_export", "fragile")  # the notebook's
TASKS = (*MINE, "market_close")  # made with create_task: plugin "default"

CELLS = [
    "%load_ext cognia_nb\nimport asyncio, datetime, cognia_nb\ns = cognia_nb.get_scheduler()",
    "cognia_nb.panel()",  # first: the board sees each backfill batch while it runs
    "%%cognia_task daily_load --cron '0 6 * * *' --tz Europe/Berlin --tags etl\n"
    "await asyncio.sleep(1.2)",
    "await s.backfill('daily_load', '2025-12-29', '2026-01-01', dry_run=False).wait()\n"
    "batch = s.backfill('daily_load', '2026-01-01', '2026-02-10', dry_run=False)",
    "%%cognia_task flaky_api --event flaky --run-now --retry 2 --retry-delay 40\n"
    "raise ConnectionError('upstream answered 503 Service Unavailable')",
    "%%cognia_task slow_query --event slow --run-now --timeout 1\nawait asyncio.sleep(10)",
    "%%cognia_task long_export --event export --run-now --timeout none\nawait asyncio.sleep(60)",
    "%%cognia_task fragile --event fragile --max-failures 2\n"
    "raise ValueError('row 17: price is negative')",
    "for _ in range(2):\n    await s.wait_for(s.run_task_now(s.get_task('fragile').id))\n"
    "await asyncio.sleep(0.5)\n"
    "s.cancel_execution(s.get_executions(s.get_task('long_export').id)[0].id)",
    "today = datetime.date.today()\n"
    "s.create_task(name='market_close', handler=lambda: None,\n"
    "              trigger={'type': 'interval', 'seconds': 2},\n"
    "              exclude=[(today, today + datetime.timedelta(1))]);",
    "%cognia list",
    "%cognia history",
]
CARD_CELLS = {"flaky_api": 4, "slow_query": 5, "long_export": 6, "fragile": 7}


def states_notebook() -> dict[str, Any]:
    cells = [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [],
              "execution_count": None} for src in CELLS]  # fmt: skip
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3",
            "display_name": "Python 3 (ipykernel)", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}  # fmt: skip


def start(lab: Lab, browser: Any) -> tuple[Any, Any]:
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_notebook(page, lab, "states.ipynb")
    run_all_cells(page)
    board = page.locator(".cn-board")
    expect(board).to_be_visible(timeout=90_000)
    for name in TASKS:
        expect(row(board, name)).to_have_count(1, timeout=30_000)
    toggle_file_browser(page, open_it=False)
    return page, board


def check_states(board: Any) -> None:
    expect = playwright_api.expect
    load = row(board, "daily_load").locator(".cn-runtext")
    expect(load).to_have_text(re.compile(r"^backfill \d+/40"), timeout=30_000)
    expect(row(board, "flaky_api").locator(".cn-runtext")).to_contain_text(
        re.compile(r"retry 2/3 in \d+ s"), timeout=30_000
    )
    expect(row(board, "slow_query").locator(".cn-runtext")).to_contain_text(
        "timed out", timeout=30_000
    )
    expect(row(board, "long_export").locator(".cn-runtext")).to_contain_text(
        "cancelled", timeout=30_000
    )
    fragile = row(board, "fragile").locator(".cn-badge")
    expect(fragile).to_have_text("paused", timeout=30_000)
    expect(fragile).to_have_attribute(
        "title", re.compile("paused: paused after 2 failed executions in a row")
    )
    expect(row(board, "market_close").locator(".cn-col-skip")).to_contain_text(
        re.compile(r"\d+ cal"), timeout=30_000
    )


def check_backfill_detail(page: Any, board: Any, tmp_path: Path, name: str) -> None:
    expect = playwright_api.expect
    load = row(board, "daily_load")
    load.locator("td.cn-col-name").click()
    detail = board.locator(".cn-detail")
    expect(detail.locator(".cn-detail-name")).to_have_text("daily_load", timeout=10_000)
    batches = detail.locator(".cn-bf")
    expect(batches).to_have_count(2, timeout=10_000)
    expect(batches.nth(0)).to_contain_text(re.compile(r"\d+/40 · running"))
    expect(batches.nth(1)).to_contain_text("3/3 · finished")
    expect(batches.nth(1)).to_contain_text("2025-12-29 06:00:00 CET → 2025-12-31 06:00:00 CET")
    late = detail.locator(".cn-exec-table th", has_text="Late")
    expect(late).to_be_visible()
    scroll = detail.locator(".cn-exec-scroll")
    assert scroll.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1"), "the table scrolls"
    snap(page, board, tmp_path, name)
    check_contrast(board)


def shoot_outputs(page: Any, tmp_path: Path, theme: str) -> None:
    """The cards of the tasks in their states, and ``%cognia list`` / ``history``: not cut."""
    from tests.browser.test_cell_card_e2e import assert_not_cut, shoot

    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")
    words = {"flaky_api": "waiting to retry", "slow_query": "timed out after 1 s",
             "long_export": "execution cancelled", "fragile": "paused"}  # fmt: skip
    for name, index in CARD_CELLS.items():
        playwright_api.expect(cells.nth(index).locator(".cognia-card")).to_contain_text(
            words[name], timeout=10_000
        )
        card = cells.nth(index).locator(".cognia-card")
        playwright_api.expect(card).to_be_visible(timeout=30_000)
        assert_not_cut(card)
        shoot(page, card, str(tmp_path / f"card-{name}-{theme}.png"))
        keep(tmp_path / f"card-{name}-{theme}.png")
    for index, what in ((len(CELLS) - 2, "list"), (len(CELLS) - 1, "history")):
        output = cells.nth(index).locator(".jp-OutputArea-output")
        playwright_api.expect(output).to_be_visible(timeout=30_000)
        shoot(page, output, str(tmp_path / f"magic-{what}-{theme}.png"))
        keep(tmp_path / f"magic-{what}-{theme}.png")


def check_and_shoot(page: Any, board: Any, tmp_path: Path, theme: str) -> None:
    """The states at 1,400 px in ``theme``: checked, laid out, legible and shot, then the
    backfill's detail and the cells' outputs."""
    check_states(board)
    snap(page, board, tmp_path, f"board-states-{theme}-1400")
    check_layout(board, MINE)
    check_contrast(board)
    check_backfill_detail(page, board, tmp_path, f"board-backfill-{theme}-detail")
    shoot_outputs(page, tmp_path, theme)


def keeps_its_scroll(board: Any) -> None:
    """The detail re-renders as the batch moves on; the executions table stays where it was."""
    expect = playwright_api.expect
    detail = board.locator(".cn-detail")
    expect(detail.locator(".cn-exec-table tbody tr").nth(9)).to_be_attached(timeout=30_000)
    kept = detail.locator(".cn-exec-scroll").evaluate(
        "(el) => { el.scrollTop = el.scrollHeight; return el.scrollTop; }"
    )
    assert kept > 0, "the executions table does not scroll"
    progress = detail.locator(".cn-bf").nth(0)
    expect(progress).not_to_have_text(progress.text_content() or "", timeout=10_000)
    now = detail.locator(".cn-exec-scroll").evaluate("(el) => el.scrollTop")
    assert now == kept, (now, kept)


def test_board_states_light_and_narrow(lab_factory: Any, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    lab = lab_factory({"states.ipynb": states_notebook()})
    page, board = start(lab, browser)
    try:
        check_and_shoot(page, board, tmp_path, "light")
        keeps_its_scroll(board)
        page.set_viewport_size({"width": 800, "height": 1000})
        toggle_file_browser(page, open_it=True)
        snap(page, board, tmp_path, "board-states-light-800")
        check_layout(board, MINE)
        detail = board.locator(".cn-detail")
        widths = detail.locator(".cn-exec-scroll").evaluate(
            "(el) => [el.scrollWidth, el.clientWidth]"
        )
        assert widths[0] <= widths[1] + 1, f"the executions table scrolls sideways: {widths}"
        expect(detail.locator(".cn-exec-table th", has_text="Late")).to_be_visible()
        # the row's cancel button cancels the whole batch
        load = row(board, "daily_load")
        load.get_by_role("button", name="Cancel backfill").click()
        expect(load.locator(".cn-runtext")).not_to_have_text(
            re.compile("^backfill"), timeout=15_000
        )
        first = detail.locator(".cn-bf").nth(0)
        expect(first).to_contain_text("cancelled", timeout=15_000)
        expect(first).to_contain_text("did not run")
        assert detail.get_by_role("button", name="Cancel backfill").count() == 0
        snap(page, board, tmp_path, "board-backfill-light-cancelled")
    finally:
        page.close()


def test_board_states_dark(lab_factory: Any, browser: Any, tmp_path: Path) -> None:
    lab = lab_factory({"states.ipynb": states_notebook()}, dark=True)
    page, board = start(lab, browser)
    try:
        check_and_shoot(page, board, tmp_path, "dark")
    finally:
        page.close()
