"""The live task card in a real JupyterLab + headless Chromium (Playwright).

A ``%%cognia_task`` that runs every second and prints: after ten runs its cell holds one output
(the card) with one run's output. A failing ``@cognia_nb.task`` shows its traceback (escaped)
in its card. The countdown ticks in the page. ``timeline()`` in this fresh kernel shows as an
image. At 1,400 px and 800 px, light and dark, nothing in a card is cut.

Screenshots go to ``tmp_path``, or to ``$COGNIA_NB_SCREENSHOTS`` when set (the README's are
made this way).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Lab, open_notebook, run_all_cells

pytestmark = pytest.mark.timeout(300)
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")

CELLS = [
    "%load_ext cognia_nb\nimport cognia_nb\nsched = cognia_nb.get_scheduler()",
    "%%cognia_task ticker --interval 1 --tags demo --description 'counts its runs'\n"
    "n = sched.get_task('ticker').run_count\n"
    "print(f'tick {n}: 1,204 rows loaded')\n"
    "return {'rows': 1204, 'run': n}",
    "@cognia_nb.task(interval=3600, name='load_scores')\n"
    "def load_scores(context):\n"
    '    """Load the scores table."""\n'
    "    print('reading <scores> from the warehouse')\n"
    "    return undefined_table.count()\n"
    "\n"
    "sched.run_task_now('load_scores');",
    "import asyncio\nawait asyncio.sleep(1)  # the runs above finish\nsched.timeline()",
]


def notebook() -> dict[str, Any]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(CELLS)
        ],
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def shots_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("COGNIA_NB_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


TEXT_ON_CARD = (".cc-k", ".cc-st", ".cc-error", ".cc-sched", ".cc-desc", ".cc-label", ".cc-name",
                ".cc-v")  # fmt: skip


def assert_readable(card: Any) -> None:
    """WCAG AA (4.5:1) for the card's text on the card, and for the output on its box. One
    evaluation in the page, so a live update cannot swap the card out half-way."""
    pairs = card.evaluate(
        """(el, selectors) => {
            const bg = getComputedStyle(el).backgroundColor, out = [];
            for (const s of selectors) for (const e of el.querySelectorAll(s))
                out.push([s, getComputedStyle(e).color, bg]);
            for (const e of el.querySelectorAll('pre')) {
                const st = getComputedStyle(e); out.push(['pre', st.color, st.backgroundColor]);
            }
            return out;
        }""",
        list(TEXT_ON_CARD),
    )
    assert len(pairs) >= len(TEXT_ON_CARD)
    for selector, fg, bg in pairs:
        light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
        ratio = (light + 0.05) / (dark + 0.05)
        assert ratio >= 4.5, (selector, fg, bg, round(ratio, 2))


def assert_not_cut(card: Any) -> None:
    """Nothing in the card is wider than the card (no cut or overlapping text)."""
    overflow = card.evaluate(
        "el => [el.scrollWidth - el.clientWidth, ...Array.from(el.querySelectorAll('*'))"
        ".filter(e => e.tagName !== 'PRE' && e.getBoundingClientRect().right >"
        " el.getBoundingClientRect().right + 1).map(e => e.textContent.slice(0, 40))]"
    )
    assert overflow[0] <= 0 and overflow[1:] == [], overflow


def run_notebook(page: Any, lab: Lab) -> tuple[Any, Any, Any]:
    expect = playwright_api.expect
    open_notebook(page, lab, "cards.ipynb")
    run_all_cells(page)
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")
    ticker, failing = cells.nth(1), cells.nth(2)
    expect(ticker.locator(".cognia-card")).to_be_visible(timeout=60_000)
    expect(failing.locator(".cognia-card[data-badge='failing']")).to_be_visible(timeout=30_000)
    return cells, ticker, failing


def test_cards_in_jupyterlab_light(lab_factory: Any, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    out = shots_dir(tmp_path)
    lab = lab_factory({"cards.ipynb": notebook()})
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        cells, ticker, failing = run_notebook(page, lab)
        # the failing task: error and traceback in its card, escaped, from the handler's line
        traceback = failing.locator(".cognia-card pre.cc-tb")
        expect(traceback).to_contain_text("NameError: name 'undefined_table' is not defined")
        expect(traceback).to_contain_text("return undefined_table.count()")
        expect(failing.locator(".cognia-card pre.cc-out")).to_have_text(
            "reading <scores> from the warehouse"
        )
        # the countdown and "ago" tick in the page, with no update from the kernel
        ago = failing.locator("[data-cognia-mode='ago']")
        first = ago.inner_text()
        time.sleep(2.2)
        assert ago.inner_text() != first, first
        # timeline() in this fresh kernel (no %matplotlib) is a picture
        image = cells.nth(3).locator(".jp-OutputArea-output img")
        expect(image).to_be_visible(timeout=30_000)
        assert image.evaluate("img => img.naturalWidth") >= 600
        # ten runs later the defining cell still holds one output with one run's output
        output = ticker.locator(".cognia-card pre.cc-out")
        expect(output).to_have_text(re.compile(r"^tick (1\d|[2-9]\d): 1,204 rows loaded$"),
                                    timeout=40_000)  # fmt: skip
        assert ticker.locator(".jp-OutputArea-output").count() == 1
        assert len(output.inner_text().splitlines()) == 1
        expect(ticker.locator(".cognia-card .cc-badge")).to_have_text(re.compile("active|running"))
        for card in (ticker.locator(".cognia-card"), failing.locator(".cognia-card")):
            assert_not_cut(card)
            assert_readable(card)
        page.screenshot(path=str(out / "card-light-1400.png"), full_page=True)
        ticker.locator(".cognia-card").screenshot(path=str(out / "card-ticker.png"))
        failing.locator(".cognia-card").screenshot(path=str(out / "card-failing.png"))
        failing.screenshot(path=str(out / "cell-failing.png"))
        ticker.screenshot(path=str(out / "cell-ticker.png"))
        # the timeline again, now with ten runs: saved as the picture it is
        cells.nth(3).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        expect(cells.nth(3).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"),
                                                                      timeout=30_000)  # fmt: skip
        expect(image).to_be_visible(timeout=30_000)
        image.scroll_into_view_if_needed()
        image.screenshot(path=str(out / "timeline-in-lab.png"))
        page.set_viewport_size({"width": 800, "height": 1000})
        time.sleep(0.5)
        for card in (ticker.locator(".cognia-card"), failing.locator(".cognia-card")):
            assert_not_cut(card)
        page.screenshot(path=str(out / "card-light-800.png"), full_page=True)
    finally:
        page.close()


def test_cards_in_jupyterlab_dark(lab_factory: Any, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    out = shots_dir(tmp_path)
    lab = lab_factory({"cards.ipynb": notebook()}, dark=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _cells, ticker, failing = run_notebook(page, lab)
        expect(failing.locator(".cognia-card pre.cc-tb")).to_contain_text("NameError")
        ticker_output = ticker.locator(".cognia-card pre.cc-out")
        expect(ticker_output).to_contain_text("1,204 rows loaded", timeout=30_000)
        card = failing.locator(".cognia-card")
        colours = card.evaluate(
            "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
        )
        text, background = (luminance(c) for c in colours)
        assert text > background and (text + 0.05) / (background + 0.05) >= 4.5, colours
        assert_not_cut(card)
        assert_readable(card)
        assert_readable(ticker.locator(".cognia-card"))
        page.screenshot(path=str(out / "card-dark-1400.png"), full_page=True)
        card.screenshot(path=str(out / "card-failing-dark.png"))
    finally:
        page.close()


def luminance(css: str) -> float:
    """WCAG relative luminance of ``rgb(...)``/``rgba(...)``/``color(srgb ...)``."""
    numbers = [float(v) for v in re.findall(r"[\d.]+", css)[:3]]
    assert len(numbers) == 3, css
    scale = 1.0 if css.startswith("color(") else 255.0
    r, g, b = (v / scale for v in numbers)

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
