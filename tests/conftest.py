from __future__ import annotations

pytest_plugins = ["cognia_nb.testing.fixtures"]
