"""What the command line prints: its exit codes and its tables."""

from __future__ import annotations

import shutil
import sys

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "table"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Print a table on stdout (rich, imported here: only the listing commands pay for it)."""
    from rich.console import Console
    from rich.table import Table

    grid = Table(*headers, show_lines=False)
    for row in rows:
        grid.add_row(*row)
    # The width of stdout (not stdin's, which may be redirected): COLUMNS, else the terminal.
    columns = shutil.get_terminal_size((160, 24)).columns
    Console(width=max(100, min(200, columns)) if sys.stdout.isatty() else 160).print(grid)
