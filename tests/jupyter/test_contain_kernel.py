"""In a real kernel (jupyter_client): a hook that calls ``sys.exit()`` or raises
``KeyboardInterrupt`` is a logged hook failure; the kernel and its scheduler stay alive."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

import pytest

from .kernel_helpers import Kernel

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    store = tmp_path_factory.mktemp("contain") / "k.db"
    env = {**os.environ, "COGNIA_NB_STORE": str(store),
           "JPY_SESSION_NAME": "/work/notebooks/contain.ipynb",
           "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip
    k = Kernel(env)
    k.check(
        "%load_ext cognia_nb\nimport cognia_nb, sys, os, asyncio, logging\n"
        "sched = cognia_nb.get_scheduler()\npid = os.getpid()\n"
        "class Keep(logging.Handler):\n"
        "    def __init__(self):\n        super().__init__(); self.lines = []\n"
        "    def emit(self, record):\n        self.lines.append(self.format(record))\n"
        "kept = Keep()\nlogging.getLogger('cognia_nb.hooks').addHandler(kept)"
    )
    yield k
    k.shutdown()


def _wait_for(kernel: Kernel, expr: str, seconds: float = 20) -> str:
    end = time.time() + seconds
    value = ""
    while time.time() < end:
        value = kernel.check(expr).result or ""
        if value == "True":
            return value
        time.sleep(0.2)
    return value


@pytest.mark.parametrize(
    ("name", "listener"),
    [
        ("sys_exit", "lambda *a: sys.exit()"),
        ("sys_exit_0_async", "lambda *a: _bail_async(SystemExit(0))"),
        ("keyboard_interrupt", "lambda *a: (_ for _ in ()).throw(KeyboardInterrupt())"),
        ("keyboard_interrupt_async", "lambda *a: _bail_async(KeyboardInterrupt())"),
    ],
)
def test_a_hook_calling_sys_exit_leaves_the_kernel_alive(
    kernel: Kernel, name: str, listener: str
) -> None:
    kernel.check(
        "async def _bail_async(exc):\n    await asyncio.sleep(0)\n    raise exc\n"
        f"stop = sched.on('task_start', {listener})\nkept.lines.clear()"
    )
    kernel.check(f"%%cognia_task hooked_{name} --event contain:{name}\nreturn 'ran'\n")
    kernel.check(f"ex_id = sched.emit('contain:{name}')[0]")
    assert _wait_for(kernel, "sched.get_execution(ex_id).status == 'succeeded'") == "True"
    kernel.check("stop()")
    out = kernel.check("os.getpid() == pid, sched.running, 6 * 7")
    assert out.result == "(True, True, 42)"  # same kernel process, scheduler still attached
    lines = kernel.check("'\\n'.join(kept.lines)").result or ""
    assert "hook task_start listener" in lines and "the scheduler goes on" in lines
    # the scheduler keeps firing after the hook failure
    kernel.check(f"ex2 = sched.emit('contain:{name}')[0]")
    assert _wait_for(kernel, "sched.get_execution(ex2).status == 'succeeded'") == "True"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%cognia_task brk --interval 60\nbreak\n", "UsageError: %%cognia_task brk: 'break' "
         "outside loop on line 2 of the cell"),
        ("%%cognia_task nl --interval 60\nnonlocal x\n", "UsageError: %%cognia_task nl: "),
        ("%cognia emit deep:x '" + "[" * 3000 + "]" * 3000 + "'",
         "UsageError: %cognia emit: the payload nests deeper than 64 levels"),
    ],
)  # fmt: skip
def test_bad_cells_are_usage_errors_in_a_kernel(kernel: Kernel, cell: str, message: str) -> None:
    out = kernel.run(cell)  # IPython shows a UsageError as one stderr line, no traceback
    assert out.stderr.startswith(message), (out.error, out.stderr)
    assert out.error is None and "Traceback" not in out.stderr
    assert "SyntaxError" not in out.stderr and "RecursionError" not in out.stderr
    assert kernel.check("os.getpid() == pid").result == "True"
