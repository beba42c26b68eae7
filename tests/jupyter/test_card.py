"""The task card in a testing shell: its states, escaping, bounded output and throttling."""

from __future__ import annotations

from typing import Any

import cognia_nb
from cognia_nb import ExecutionStatus
from cognia_nb.jupyter._card import TaskCard
from cognia_nb.jupyter._card_view import MAX_LINES
from cognia_nb.jupyter._kernel import routed_tasks

from .conftest import TestingShell


class Recorder:
    """The display edge: records what a live card publishes."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], str, bool]] = []

    def __call__(self, bundle: dict[str, str], display_id: str, update: bool) -> None:
        self.calls.append((bundle, display_id, update))

    @property
    def last(self) -> dict[str, str]:
        return self.calls[-1][0]


def live_card(name: str, **kw: Any) -> tuple[TaskCard, Recorder]:
    scheduler = cognia_nb.get_scheduler()
    recorder = Recorder()
    card = TaskCard(scheduler, scheduler.get_task(name), live=True, publish=recorder, **kw)
    card._ipython_display_()
    return card, recorder


async def test_cell_magic_returns_a_card_with_text_and_html(ip: TestingShell) -> None:
    card = await ip.run("%%cognia_task nightly --cron '0 3 * * *' --tz UTC\nreturn 1\n")
    assert isinstance(card, TaskCard)
    text = repr(card)
    assert "nightly  [active]" in text and "At 03:00 AM" in text and "none yet" in text
    html = card._repr_html_()
    assert "cognia-card" in html and "data-cognia-mode='until'" in html  # ticks in the page
    assert "var(--jp-" in html  # themed through JupyterLab's variables


async def test_output_of_the_latest_run_only_bounded_and_final(ip: TestingShell) -> None:
    await ip.run(
        "%%cognia_task chatty --interval 600\n"
        "for i in range(120):\n"
        "    print(f'line {i} of run', context.execution_id)\n"
    )
    card, published = live_card("chatty")
    assert published.calls[0][2] is False and card.task_id in routed_tasks
    scheduler = cognia_nb.get_scheduler()
    first = await scheduler.wait_for(scheduler.run_task_now("chatty"), timeout=10)
    second = await scheduler.wait_for(scheduler.run_task_now("chatty"), timeout=10)
    assert second.status is ExecutionStatus.SUCCEEDED
    final = published.last
    assert second.id in final["text/plain"] and first.id not in final["text/plain"]
    assert "line 119 of run" in final["text/html"]  # the final state always gets through
    assert final["text/plain"].count(" of run ") == MAX_LINES  # bounded
    assert "80 earlier lines are in the execution log" in final["text/html"]
    assert len(published.calls) < 40  # 240 log lines, a handful of (throttled) updates
    assert all(display_id == card.display_id for _, display_id, _ in published.calls)


async def test_failure_traceback_is_escaped_and_starts_at_the_handler(ip: TestingShell) -> None:
    await ip.run("%%cognia_task '<b>bad</b>' --interval 600\n"
                 "raise ValueError('<script>alert(1)</script>')\n")  # fmt: skip
    card, published = live_card("<b>bad</b>")
    scheduler = cognia_nb.get_scheduler()
    ex = await scheduler.wait_for(scheduler.run_task_now(card.task_id), timeout=10)
    assert ex.status is ExecutionStatus.FAILED
    html = published.last["text/html"]
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bad&lt;/b&gt;" in html and "<b>bad" not in html
    assert "data-badge='failing'" in html and "ValueError" in html
    assert "_engine/runner.py" not in html and "line 2" in html  # the cell's own line
    assert "[failing]" in published.last["text/plain"]


async def test_pause_delete_and_a_newer_card(ip: TestingShell) -> None:
    await ip.run("%%cognia_task job --interval 60\nreturn 1\n")
    _old, old_published = live_card("job")
    new, published = live_card("job")  # the cell ran again
    await ip.run("%cognia pause job")
    assert "[paused]" in published.last["text/plain"]
    assert all("[paused]" not in b["text/plain"] for b, _, _ in old_published.calls)
    await ip.run("%cognia delete job")
    last = published.last
    assert "[deleted]" in last["text/plain"] and "never (the task is deleted)" in last["text/plain"]
    assert "its history stays" in last["text/html"] and new.task_id not in routed_tasks


async def test_handler_missing_says_how_to_rearm(ip: TestingShell) -> None:
    await ip.run("%%cognia_task orphan --interval 60\nreturn 1\n")
    scheduler = cognia_nb.get_scheduler()
    task = scheduler.get_task("orphan")
    task.handler_missing = True  # what a restarted kernel sees before the cell re-runs
    text = repr(TaskCard(scheduler, task, live=False))
    assert "[handler missing]" in text and "run the defining cell again to re-arm it" in text


async def test_countdown_words_in_text_and_page(ip: TestingShell) -> None:
    from cognia_nb.jupyter._card_view import card_html, card_text

    await ip.run("%%cognia_task soon --interval 120\nreturn 1\n")
    state = TaskCard(cognia_nb.get_scheduler(), cognia_nb.get_scheduler().get_task("soon"),
                     live=False).state()  # fmt: skip
    assert state.next_ts is not None
    at = state.next_ts
    assert "(in 2 min)" in card_text(state, now=at - 120)
    assert "(due now)" in card_text(state, now=at + 5)
    assert "(overdue 2 min)" in card_text(state, now=at + 120)  # a busy or a gone kernel
    html = card_html(state, "x-1", now=at - 120)
    assert f"data-cognia-at='{at:.3f}' data-cognia-mode='until'>in 2 min<" in html
    assert 'getElementById("x-1")' in html and "d>-30?'due now'" in html


async def test_many_cards_share_one_listener_per_hook(ip: TestingShell) -> None:
    scheduler = cognia_nb.get_scheduler()
    for i in range(300):
        scheduler.create_task(name=f"t{i}", handler=lambda: "ran",
                              trigger={"type": "event", "eventType": "never"})  # fmt: skip
    before = len(scheduler.hooks._listeners["task_start"])
    cards = [live_card(f"t{i}") for i in range(300)]
    assert len(scheduler.hooks._listeners["task_start"]) <= before + 1
    await scheduler.wait_for(scheduler.run_task_now("t7"), timeout=10)
    updated = [i for i, (_, published) in enumerate(cards) if len(published.calls) > 1]
    assert updated == [7]  # only the card of the task that ran
    assert "succeeded" in cards[7][1].last["text/plain"]


async def test_a_redrawn_progress_line_shows_as_it_stands(ip: TestingShell) -> None:
    await ip.run(
        "%%cognia_task bar --interval 600\n"
        "import sys\n"
        "print('loading')\n"
        "for i in (10, 50, 100):\n"
        "    sys.stderr.write(f'\\r{i:3d}% |' + '#' * (i // 10))\n"
    )
    _card, published = live_card("bar")
    scheduler = cognia_nb.get_scheduler()
    ex = await scheduler.wait_for(scheduler.run_task_now("bar"), timeout=10)
    assert ex.status is ExecutionStatus.SUCCEEDED, ex.traceback
    text = published.last["text/plain"]
    assert "    loading\n    100% |##########" in text, text
    assert " 10% |" not in text and " 50% |" not in text


async def test_a_run_waiting_to_retry_says_so_and_a_cancel_is_no_error(ip: TestingShell) -> None:
    import asyncio

    await ip.run(
        "%%cognia_task flaky --event flaky --retry 2 --retry-delay 30\n"
        "raise ConnectionError('upstream 503')\n"
    )
    scheduler = cognia_nb.get_scheduler()
    xid = scheduler.run_task_now("flaky")
    await asyncio.sleep(0)
    card, published = live_card("flaky")  # made while the run runs (as --run-now does)
    for _ in range(300):  # the first attempt fails at once; no hook fires for the wait, the
        await asyncio.sleep(0.01)  # card's one-second heartbeat publishes it
        if "waiting to retry" in published.last["text/plain"]:
            break
    import re

    assert re.search(
        r"waiting to retry: attempt 1 failed, attempt 2 in 2\d", published.last["text/plain"]
    )
    html = card._repr_html_()
    assert "waiting to retry</span>: attempt 1 failed, attempt 2 <span" in html
    assert "data-cognia-mode='until'" in html  # the countdown ticks in the page
    scheduler.cancel_execution(xid)
    done = await scheduler.wait_for(xid, timeout=10)
    assert done.status is ExecutionStatus.CANCELLED
    assert "why" in repr(card) and "execution cancelled" in repr(card)
    assert "class='cc-error'" not in card._repr_html_()
