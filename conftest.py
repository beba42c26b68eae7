"""Session set-up shared by the unit tests and the notebooks run under nbval."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config: object) -> None:
    # The notebooks use the default store (<jupyter data dir>/cognia_nb/scheduler.db): give the
    # session a fresh data dir so every run starts empty and nothing lands in the user's own.
    os.environ["JUPYTER_DATA_DIR"] = tempfile.mkdtemp(prefix="cognia-nb-test-")
    os.environ.pop("COGNIA_NB_STORE", None)
