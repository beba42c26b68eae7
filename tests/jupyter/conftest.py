"""A testing shell: a real IPython InteractiveShell whose cells raise their errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from IPython.core.interactiveshell import InteractiveShell

from cognia_nb._default import reset_default_scheduler


class TestingShell:
    """Runs cells on the test's event loop (like a kernel) and re-raises cell errors."""

    __test__ = False

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell

    async def run(self, code: str) -> Any:
        result = await self.shell.run_cell_async(
            code, store_history=True, transformed_cell=self.shell.transform_cell(code)
        )
        self.shell.events.trigger("post_run_cell", result)  # as ipykernel does
        result.raise_error()
        return result.result

    @property
    def ns(self) -> dict[str, Any]:
        return self.shell.user_ns


@pytest_asyncio.fixture
async def ip(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> AsyncIterator[TestingShell]:
    monkeypatch.setenv("COGNIA_NB_STORE", str(tmp_path / "nb.db"))
    monkeypatch.setenv("JPY_SESSION_NAME", "/work/test.ipynb")
    await reset_default_scheduler()
    shell = InteractiveShell.instance()
    testing = TestingShell(shell)
    await testing.run("%load_ext cognia_nb")
    yield testing
    await testing.run("%unload_ext cognia_nb")
    shell.user_ns.clear()
    InteractiveShell.clear_instance()
    await reset_default_scheduler()
