"""The task board in a real JupyterLab + headless Chromium, light and dark, wide and narrow.

One server per theme. A notebook defines a mix of tasks (a cron task with a long name, an
interval task, a failing task with a ``NameError``, a paused task, a running task reporting
progress) and shows ``cognia_nb.panel()``. At 1,400 px and at 800 px with the file browser open
the test checks, in the page itself, that no text of a row overlaps another element, that the
notebook's task names are fully visible, that the failing task's traceback opens and reads; the
light run also clicks Run now, Pause, Resume and Delete. Screenshots are kept under
``tmp_path``; set ``COGNIA_NB_SCREENSHOT_DIR`` to also copy them there (``docs/`` is made so).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Lab, open_notebook, run_all_cells

pytestmark = pytest.mark.timeout(300)
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")

LONG_NAME = "nightly_feature_store_backfill_europe"
EVIL = '<img src=x onerror="window.__pwned = 1">'
NOTEBOOK_TASKS = (LONG_NAME, "heartbeat", "score_model", "weekly_report", "train_model")

CELLS = [
    f"%load_ext cognia_nb\nimport asyncio, cognia_nb\nEVIL = {EVIL!r}",
    f"%%cognia_task {LONG_NAME} --cron '0 9 * * MON-FRI' --tz Europe/Berlin --tags etl,nightly\n"
    "print('backfilling')",
    "%%cognia_task heartbeat --interval 30 --tags ops\nprint('alive')",
    "%%cognia_task score_model --event model:trained --run-now --tags ml\n"
    "print('scoring the model')\nscore = undefined_metric * 2",
    "%%cognia_task weekly_report --cron '0 7 * * MON' --tz America/New_York --paused\n"
    "print('report')",
    "%%cognia_task train_model --event train --run-now --tags ml --timeout none\n"
    "for epoch in range(1, 2001):\n"
    "    context.report_progress(epoch / 20, f'epoch {epoch} of 2000')\n"
    "    await asyncio.sleep(0.5)",
    # hostile strings: they must show as text, never run
    "def evil_handler():\n"
    "    print('<img src=x onerror=\"window.__pwned = 3\">')\n"
    "    raise ValueError('<script>window.__pwned = 2</script>')\n"
    "s = cognia_nb.get_scheduler()\n"
    "s.register_handler('evil', evil_handler)\n"
    "evil = s.create_task(name=EVIL, handler='evil', tags=['<b>bold</b>'],\n"
    "                     trigger={'type': 'event', 'eventType': 'evil'})\n"
    "s.run_task_now(evil.id);",
    "cognia_nb.panel()",
]


def board_notebook() -> dict[str, Any]:
    cells = [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [],
              "execution_count": None} for src in CELLS]  # fmt: skip
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3",
            "display_name": "Python 3 (ipykernel)", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}  # fmt: skip


# Runs in the page: every text-bearing element of each row against every other element of
# the row (and every row against the others); names clipped; the board wider than its cell.
LAYOUT_CHECK = """
(board) => {
  const problems = [];
  const rect = (el) => el.getBoundingClientRect();
  const hit = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right - 0.5 &&
    b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const rows = [...board.querySelectorAll('tbody tr.cn-row')];
  rows.forEach((tr, i) => {
    const parts = [...tr.querySelectorAll('.cn-cell, .cn-badge, .cn-bar, button, input')]
      .filter((el) => el.offsetParent !== null);
    for (let a = 0; a < parts.length; a++) {
      const ta = parts[a].closest('td');
      const ra = rect(parts[a]), rt = rect(ta);
      if (ra.left < rt.left - 0.5 || ra.right > rt.right + 0.5)
        problems.push(`row ${i}: ${ta.dataset.col} content leaves its cell`);
      for (let b = a + 1; b < parts.length; b++) {
        if (parts[b].closest('td') === ta || parts[a].contains(parts[b])) continue;
        const other = parts[b].closest('td').dataset.col;
        if (hit(ra, rect(parts[b]))) problems.push(`row ${i}: ${ta.dataset.col} overlaps ${other}`);
      }
    }
    if (i && hit(rect(tr), rect(rows[i - 1]))) problems.push(`row ${i} overlaps row ${i - 1}`);
  });
  if (board.scrollWidth > board.clientWidth + 1) problems.push('the board is wider than its cell');
  const names = rows.filter((tr) => tr.classList.contains('cn-mine')).map((tr) => {
    const name = tr.querySelector('.cn-name'), cell = name.parentElement;
    const clipped = name.scrollWidth > name.clientWidth || rect(name).right > rect(cell).right + 0.5
      || cell.clientWidth === 0;
    return [name.textContent, clipped, Math.round(rect(name).width), cell.clientWidth,
      getComputedStyle(name).font];
  });
  return {problems, names, width: board.clientWidth, rows: rows.length};
}
"""


# Runs in the page: WCAG contrast of every visible text of the board against the colour
# painted behind it (backgrounds composited up the ancestors; disabled controls exempt).
CONTRAST_CHECK = """
(board) => {
  const parse = (c) => {
    let m = c.match(/rgba?\\(([^)]+)\\)/);
    if (m) { const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    m = c.match(/color\\(srgb ([^)]+)\\)/);
    if (m) { const p = m[1].split(/[ \\/]+/).filter(Boolean).map(Number);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1]; }
    return [0, 0, 0, 0];
  };
  const over = (top, under) => {
    const a = top[3] + under[3] * (1 - top[3]);
    if (!a) return [0, 0, 0, 0];
    return [0, 1, 2].map((i) => (top[i] * top[3] + under[i] * under[3] * (1 - top[3])) / a)
      .concat([a]);
  };
  const background = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      layers.push(parse(getComputedStyle(n).backgroundColor));
    }
    let color = [255, 255, 255, 1];
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const bad = [];
  let checked = 0, lowest = 21;
  const all = [...board.querySelectorAll('*')].filter((el) => !(el instanceof SVGElement) &&
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
  for (const el of all) {
    if (el.closest('button:disabled, select:disabled, [hidden]') || !el.offsetParent) continue;
    const bg = background(el);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    checked += 1;
    lowest = Math.min(lowest, ratio);
    const what = `${el.className || el.tagName} '${el.textContent.slice(0, 30)}'`;
    if (ratio < 4.5) bad.push(`${what} ${ratio.toFixed(2)}`);
  }
  return {bad, checked, lowest};
}
"""


def check_contrast(board: Any) -> None:
    result = board.evaluate(CONTRAST_CHECK)
    assert result["bad"] == [], result
    assert result["checked"] > 30, result  # it saw the rows, header and toolbar
    print("contrast", result["checked"], round(result["lowest"], 2))


def keep(shot: Path) -> None:
    target = os.environ.get("COGNIA_NB_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)


def snap(page: Any, board: Any, tmp_path: Path, name: str) -> None:
    """Screenshots of the page and of the whole board (the window grows to fit it)."""
    size = page.viewport_size
    tall = int(board.bounding_box()["height"]) + 400
    if tall > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": tall})
        page.wait_for_timeout(300)
    try:
        _snap(page, board, tmp_path, name)
    finally:
        page.set_viewport_size(size)


def _snap(page: Any, board: Any, tmp_path: Path, name: str) -> None:
    board.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / f"{name}-page.png"))
    board.screenshot(path=str(tmp_path / f"{name}.png"))
    assert (tmp_path / f"{name}.png").stat().st_size > 5_000
    keep(tmp_path / f"{name}.png")
    keep(tmp_path / f"{name}-page.png")


def row(board: Any, name: str) -> Any:
    return board.locator("tr.cn-row").filter(has=board.page.locator(".cn-name", has_text=name))


def check_layout(board: Any, names: Any = NOTEBOOK_TASKS) -> dict[str, Any]:
    result: dict[str, Any] = board.evaluate(LAYOUT_CHECK)
    assert result["problems"] == [], result
    assert {n for n, *_ in result["names"]} >= set(names), result
    assert [n for n, clipped, *_ in result["names"] if clipped] == [], result
    return result


def start_board(lab: Lab, browser: Any, width: int) -> tuple[Any, Any]:
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": width, "height": 1000})
    open_notebook(page, lab, "board.ipynb")
    run_all_cells(page)
    board = page.locator(".cn-board")
    expect(board).to_be_visible(timeout=90_000)
    for name in NOTEBOOK_TASKS:
        expect(row(board, name)).to_have_count(1, timeout=30_000)
    expect(row(board, "score_model").locator(".cn-badge")).to_have_text("failing", timeout=30_000)
    expect(row(board, "train_model").locator(".cn-bar.cn-live")).to_be_visible(timeout=30_000)
    expect(row(board, "weekly_report").locator(".cn-badge")).to_have_text("paused")
    evil = board.locator("tr.cn-row").filter(has_text="window.__pwned")
    expect(evil.locator(".cn-name")).to_have_text(EVIL)  # shown as text ...
    expect(evil.locator(".cn-runtext")).to_contain_text("<script>window.__pwned = 2</script>")
    assert board.locator("tbody img, tbody script, tbody b").count() == 0  # ... never as markup
    assert page.evaluate("() => window.__pwned") is None
    failed = row(board, "score_model").locator(".cn-bar")
    expect(failed).to_have_class(re.compile(r"\bcn-r-failed\b"))  # red at 0 %, with the error
    expect(failed).to_contain_text("NameError: name 'undefined_metric' is not defined")
    return page, board


def open_traceback(board: Any) -> None:
    expect = playwright_api.expect
    row(board, "score_model").locator("td.cn-col-name").click()
    detail = board.locator(".cn-detail")
    expect(detail.locator(".cn-detail-name")).to_have_text("score_model", timeout=10_000)
    traceback = detail.locator("pre.cn-traceback")
    expect(traceback).to_contain_text("NameError", timeout=10_000)
    expect(traceback).to_contain_text("undefined_metric")
    expect(detail.locator("pre.cn-log")).to_contain_text("scoring the model")
    expect(detail.get_by_role("button", name="Copy traceback")).to_be_visible()
    assert detail.locator(".cn-next li").count() == 0  # an event task has no fire times
    tb = traceback.evaluate("(el) => [el.scrollWidth, el.clientWidth, el.offsetHeight]")
    assert tb[2] > 40, tb  # it has room to be read (scrolls sideways if long) ...
    wrap = detail.get_by_role("button", name="Wrap lines")
    wrap.click()  # ... or wraps
    expect(wrap).to_have_attribute("aria-pressed", "true")
    assert traceback.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1"), "still scrolls"
    wrap.click()


def toggle_file_browser(page: Any, *, open_it: bool) -> None:
    """JupyterLab opens with the file browser shown; its tab in the left bar toggles it."""
    expect = playwright_api.expect
    browser_panel = page.locator("#filebrowser")
    if browser_panel.is_visible() != open_it:
        page.get_by_role("tab", name="File Browser").click()
    expect(browser_panel).to_be_visible() if open_it else expect(browser_panel).to_be_hidden()
    page.wait_for_timeout(400)  # the board re-plans its columns on resize


def run_themed(lab: Lab, browser: Any, tmp_path: Path, theme: str) -> Any:
    page, board = start_board(lab, browser, 1400)
    toggle_file_browser(page, open_it=False)
    snap(page, board, tmp_path, f"board-{theme}-1400")
    wide = check_layout(board)
    check_contrast(board)
    assert wide["width"] >= 900, wide
    # success and skip/miss show at 1,400 px; the plugin column goes first when the names,
    # schedules and errors need the room (its id is in the detail view)
    for col in ("success", "skip"):
        assert board.locator(f"thead th.cn-col-{col}").is_visible(), col
    open_traceback(board)
    snap(page, board, tmp_path, f"board-{theme}-detail")
    check_layout(board)
    check_contrast(board)
    board.get_by_role("button", name="Close detail").click()
    board.get_by_role("tab", name="History").click()
    playwright_api.expect(board.locator("svg.cn-tl rect.cn-tl-bar").first).to_be_visible()
    bars = board.locator("svg.cn-tl rect.cn-tl-bar")
    assert min(float(bars.nth(i).get_attribute("width") or 0) for i in range(bars.count())) >= 3
    labels_fit = board.evaluate(  # lane labels end before the plot (the evil name is long)
        "(b) => { const fade = b.querySelector('svg.cn-tl .cn-tl-fade').getBBox();"
        " return [...b.querySelectorAll('svg.cn-tl .cn-tl-label')].map((t) =>"
        " t.getBBox().x + t.getBBox().width <= fade.x + fade.width); }"
    )
    assert labels_fit and all(labels_fit), labels_fit
    snap(page, board, tmp_path, f"board-{theme}-history")
    board.get_by_role("tab", name="Tasks").click()
    page.set_viewport_size({"width": 900, "height": 1000})  # a board of about 700 px
    page.wait_for_timeout(400)
    middle = check_layout(board)
    assert 600 <= middle["width"] < 900, middle
    for col in ("plugin", "success", "skip"):  # the secondary columns fold away below 900 px
        assert not board.locator(f"thead th.cn-col-{col}").is_visible(), col
    # one line per row if next run still fits beside the names, else two lines; either way
    # a row shows its name, status, next run, last result and buttons
    heartbeat = row(board, "heartbeat")
    for col in ("name", "state", "next", "run", "act"):
        assert heartbeat.locator(f"td.cn-col-{col}").is_visible(), col
    snap(page, board, tmp_path, f"board-{theme}-900")
    page.set_viewport_size({"width": 800, "height": 1000})
    toggle_file_browser(page, open_it=True)
    snap(page, board, tmp_path, f"board-{theme}-800")
    narrow = check_layout(board)
    assert narrow["width"] < 600, narrow  # the output area, not the window
    assert not board.locator("thead th.cn-col-plugin").is_visible()
    return page, board


def test_board_light(lab_factory: Any, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    lab = lab_factory({"board.ipynb": board_notebook()})
    page, board = run_themed(lab, browser, tmp_path, "light")
    try:
        heartbeat = row(board, "heartbeat")
        before = heartbeat.locator(".cn-runtext").text_content()
        assert before == "never ran", before
        height = board.bounding_box()["height"]
        heartbeat.get_by_role("button", name="Run now").click()
        expect(heartbeat.locator(".cn-runtext")).to_contain_text("succeeded", timeout=15_000)
        assert board.bounding_box()["height"] == height  # runs come and go: no jump
        heartbeat.get_by_role("button", name="Pause").click()
        expect(heartbeat.locator(".cn-badge")).to_have_text("paused", timeout=10_000)
        heartbeat.get_by_role("button", name="Resume").click()
        expect(heartbeat.locator(".cn-badge")).to_have_text("active", timeout=10_000)
        names = board.locator("tbody tr.cn-row .cn-name")
        board.get_by_role("searchbox", name="Search tasks by name or tag").fill("ml")  # a tag
        expect(names).to_have_text(["score_model", "train_model"])
        board.get_by_role("searchbox", name="Search tasks by name or tag").fill("")
        board.get_by_role("combobox", name="Filter by status").select_option("failing")
        expect(names).to_have_text(["score_model", EVIL])  # this notebook's tasks first
        board.get_by_role("combobox", name="Filter by status").select_option("")
        board.get_by_role("combobox", name="Filter by tag").select_option("ml")
        expect(names).to_have_count(2)
        board.get_by_role("combobox", name="Filter by tag").select_option("")
        board.get_by_role("combobox", name="Sort by").select_option("state")  # failing first
        expect(names.nth(0)).to_have_text(EVIL)  # ties by name: "<" sorts before letters
        expect(names.nth(1)).to_have_text("score_model")
        board.get_by_role("combobox", name="Sort by").select_option("default")
        # a selection: two rows, then Pause and Resume for both
        for name in ("heartbeat", LONG_NAME):
            row(board, name).get_by_role("checkbox").check()
        expect(board.locator(".cn-selcount")).to_have_text("2 selected")
        board.get_by_role("button", name="Pause selected").click()
        for name in ("heartbeat", LONG_NAME):
            expect(row(board, name).locator(".cn-badge")).to_have_text("paused", timeout=10_000)
        board.get_by_role("button", name="Resume selected").click()
        for name in ("heartbeat", LONG_NAME):
            expect(row(board, name).locator(".cn-badge")).to_have_text("active", timeout=10_000)
        # the keyboard: a focused row opens its detail with Enter
        heartbeat.focus()
        page.keyboard.press("Enter")
        expect(board.locator(".cn-detail .cn-detail-name")).to_have_text("heartbeat")
        expect(board.locator(".cn-detail .cn-next li")).to_have_count(5)
        board.get_by_role("button", name="Close detail").click()
        train = row(board, "train_model")
        train.get_by_role("button", name="Cancel run").click()
        expect(train.locator(".cn-runtext")).to_contain_text("cancelled", timeout=10_000)
        report = row(board, "weekly_report")
        report.get_by_role("button", name="Delete").click()
        report.get_by_role("button", name="Confirm delete").click()
        expect(report).to_have_count(0, timeout=10_000)
        check_layout(board, [n for n in NOTEBOOK_TASKS if n != "weekly_report"])
        snap(page, board, tmp_path, "board-light-after-actions")
    finally:
        page.close()


def run_cell(page: Any, index: int) -> None:
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")


def restart_kernel(page: Any) -> None:
    expect = playwright_api.expect
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    # its accessible name ends with the shortcut ("Restart Kernel… 0, 0")
    page.get_by_role("menuitem", name=re.compile(r"^Restart Kernel…")).click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=10_000)
    page.wait_for_timeout(1000)
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)


def test_board_dark_and_after_a_restart(lab_factory: Any, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    lab = lab_factory({"board.ipynb": board_notebook()}, dark=True)
    page, board = run_themed(lab, browser, tmp_path, "dark")
    try:
        background = page.evaluate(
            "() => getComputedStyle(document.querySelector('.cn-board')).backgroundColor"
        )
        assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), background
        # A new kernel: the tasks come back from the store with no handler, until their
        # cells run again; what ran before the restart is still there, traceback included.
        restart_kernel(page)
        run_cell(page, 0)  # %load_ext only
        run_cell(page, len(CELLS) - 1)  # the board
        board = page.locator(".cn-board")
        missing = row(board, "score_model")
        expect(missing.locator(".cn-badge")).to_have_text("handler missing", timeout=30_000)
        expect(missing.locator("td.cn-col-next")).to_contain_text("re-run its cell to re-arm")
        assert missing.get_by_role("button", name="Run now").is_disabled()
        open_traceback(board)  # the pre-restart execution, read from the store
        hint = board.locator(".cn-detail .cn-missing")
        expect(hint).to_contain_text("Re-run the cell that defines the task to re-arm it")
        check_layout(board)
        snap(page, board, tmp_path, "board-dark-after-restart")
        run_cell(page, 3)  # the score_model cell re-arms it (and runs it again)
        expect(missing.locator(".cn-badge")).to_have_text("failing", timeout=30_000)
        expect(missing.get_by_role("button", name="Run now")).to_be_enabled()
    finally:
        page.close()
