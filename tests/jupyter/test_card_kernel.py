"""The live task card in a real kernel (jupyter_client): what the defining cell receives."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .kernel_helpers import CellResult, Kernel

pytestmark = pytest.mark.timeout(240)


class CardKernel(Kernel):
    """A kernel that also records display messages by display id, and streams by parent."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.by_display: dict[str, list[tuple[str, dict[str, Any], float]]] = {}
        self.results: dict[str, dict[str, Any]] = {}  # execute_result bundles by cell

    def _drain_into(self, msg: dict[str, Any], target: CellResult | None) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "execute_result":
            self.results[msg["parent_header"].get("msg_id")] = content["data"]
        if kind in ("display_data", "update_display_data"):
            display_id = content.get("transient", {}).get("display_id")
            if display_id:
                self.by_display.setdefault(display_id, []).append(
                    (kind, content["data"], time.monotonic())
                )
        super()._drain_into(msg, target)

    def card_id(self, cell: CellResult) -> str:
        """The display id of the card a cell showed."""
        found = [i for i, msgs in self.by_display.items()
                 if msgs[0][0] == "display_data" and msgs[0][1] in cell.displays
                 and "cognia-card" in msgs[0][1].get("text/html", "")]  # fmt: skip
        assert len(found) == 1, (found, cell.displays)
        return found[0]

    def last(self, display_id: str) -> dict[str, Any]:
        return self.by_display[display_id][-1][1]

    def wait_for(self, display_id: str, predicate: Any, timeout: float = 20) -> dict[str, Any]:
        end = time.time() + timeout
        while time.time() < end:
            if predicate(self.last(display_id)):
                return self.last(display_id)
            self.collect(0.2)
        raise AssertionError(f"card never matched; last: {self.last(display_id)['text/plain']}")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CardKernel]:
    store = tmp_path_factory.mktemp("card") / "card.db"
    env = {**os.environ, "COGNIA_NB_STORE": str(store),
           "JPY_SESSION_NAME": "/work/notebooks/card.ipynb",
           "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip
    k = CardKernel(env)
    k.check("%load_ext cognia_nb\nimport cognia_nb, time\nsched = cognia_nb.get_scheduler()")
    yield k
    k.shutdown()


TICK = "%%cognia_task tick --interval 0.5\nn = sched.get_task('tick').run_count\nprint('run', n)\n"


def test_defining_cell_shows_one_runs_output_after_ten_runs(kernel: CardKernel) -> None:
    defining = kernel.check(TICK)
    assert defining.result is None and len(defining.displays) == 1  # the card, nothing else
    card = kernel.card_id(defining)
    assert "tick" in defining.displays[0]["text/plain"]
    assert "Every 0.5 seconds" in defining.displays[0]["text/plain"] or "0.5" in (
        defining.displays[0]["text/plain"])  # fmt: skip
    started = time.monotonic()
    kernel.wait_for(card, lambda d: re.search(r"run (1\d|[2-9]\d)", d["text/plain"]), 30)
    elapsed = time.monotonic() - started
    kernel.collect(0.6)
    final = kernel.last(card)
    runs = re.findall(r"^\s+run (\d+)$", final["text/plain"], re.MULTILINE)
    assert len(runs) == 1 and int(runs[0]) >= 10, final["text/plain"]  # one run's output
    assert len(re.findall(r"run \d+", final["text/html"])) == 1
    assert "run 1" not in kernel.late.get(defining.msg_id, "")  # nothing appended to the cell
    updates = [m for m in kernel.by_display[card] if m[0] == "update_display_data"]
    assert updates and len(updates) <= 10 * (elapsed + 1.2) + 2  # throttled
    kernel.check("sched.pause_task('tick')")


def test_failure_shows_its_error_and_escaped_traceback(kernel: CardKernel) -> None:
    cell = kernel.check(
        "@cognia_nb.task(interval=60, name='broken')\n"
        "def broken(context):\n"
        "    print('loading <rows>')\n"
        "    return missing_name + 1\n"
        "sched.run_task_now('broken')\n"
    )
    card = kernel.card_id(cell)
    data = kernel.wait_for(card, lambda d: "failing" in d["text/plain"])
    html = data["text/html"]
    assert "NameError" in html and "missing_name" in html and "Traceback" in html
    assert "loading &lt;rows&gt;" in html and "<rows>" not in html
    assert "return missing_name + 1" in html  # the handler's own line
    assert "_engine/runner.py" not in html  # the scheduler's frames are cut
    assert "cc-tb" in html and "data-badge='failing'" in html
    fn = kernel.check("callable(broken), broken.__name__").result
    assert fn == "(True, 'broken')"  # the decorator still returns the function


def test_deleted_task_card_says_so(kernel: CardKernel) -> None:
    cell = kernel.check("%%cognia_task doomed --interval 300\nreturn 1\n")
    card = kernel.card_id(cell)
    kernel.check("%cognia delete doomed")
    data = kernel.wait_for(card, lambda d: "deleted" in d["text/plain"], 5)
    assert "[deleted]" in data["text/plain"] and "data-badge='deleted'" in data["text/html"]
    assert "history stays" in data["text/plain"]


def test_emit_names_the_tasks_it_started(kernel: CardKernel) -> None:
    kernel.check("%%cognia_task on_ping --event ping\nreturn 1\n")
    out = kernel.check("%cognia emit ping")
    assert out.result is not None
    assert "started 1 task" in out.result and "on_ping" in out.result
    assert re.search(r"execution x_\w+", out.result), out.result


def test_after_restart_the_card_comes_from_the_store(kernel: CardKernel) -> None:
    kernel.check("%%cognia_task keeper --event keep\nprint('kept line')\nreturn 'kept'\n")
    kernel.check("xid = sched.emit('keep')[0]")
    status = ""
    for _ in range(100):  # between cells the kernel's loop records the end (a busy machine: late)
        status = kernel.check("str(sched.get_execution(xid).status)").result or ""
        if status not in {"'running'", "'pending'"}:
            break
        kernel.check("time.sleep(0.1)")
    assert status == "'succeeded'"
    kernel.restart()
    kernel.check("%load_ext cognia_nb\nimport cognia_nb, time\nsched = cognia_nb.get_scheduler()")
    cell = kernel.check("%%cognia_task keeper --event keep\nprint('kept line')\nreturn 'kept'\n")
    text = cell.displays[0]["text/plain"]
    assert "succeeded" in text and "kept line" in text and '"kept"' in text, text
    # the last run's time, relative: "(now)" under a second after it, "(3 s ago)" later (a
    # restart takes about a second: either may show)
    assert "[active]" in text and re.search(r"UTC \((now|\d+ \w+ ago)\)", text), text


def test_timeline_is_a_picture_without_matplotlib_magic(kernel: CardKernel) -> None:
    cell = kernel.check("import sys\nassert 'matplotlib.pyplot' not in sys.modules\n"
                        "sched.timeline()")  # fmt: skip
    data = kernel.results[cell.msg_id]
    assert "image/png" in data and len(data["image/png"]) > 5000, list(data)
    assert data["text/plain"].startswith("<TimelineFigure size")


def test_text_fallback_in_a_plain_shell(tmp_path: Path) -> None:
    """Plain IPython (no kernel): the card is text, printed once; print reaches the terminal."""
    import subprocess

    script = (
        "import asyncio\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "async def main():\n"
        "    ip = InteractiveShell.instance()\n"
        "    for cell in ['%load_ext cognia_nb',\n"
        "                 '%%cognia_task hello --interval 60\\nprint(\"hi from task\")\\n',\n"
        "                 '%cognia run hello', 'import asyncio; await asyncio.sleep(0.5)',\n"
        "                 '%unload_ext cognia_nb']:\n"
        "        await ip.run_cell_async(cell, store_history=True,\n"
        "                                transformed_cell=ip.transform_cell(cell))\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "COGNIA_NB_STORE": str(tmp_path / "t.db"),
           "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "task: hello  [active]" in done.stdout and "Every minute" in done.stdout
    assert "hi from task" in done.stdout  # print still goes to the terminal
