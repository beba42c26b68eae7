"""Package-level contracts: import isolation, the public surface, default zone resolution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import cognia_nb
from cognia_nb.triggers import _tz


def test_import_pulls_in_no_ipython_widgets_or_pandas() -> None:
    code = (
        "import sys, cognia_nb, cognia_nb.triggers;"
        "bad = [m for m in ('IPython', 'ipywidgets', 'pandas', 'ipykernel', 'matplotlib', "
        "'distributed', 'rich') "
        "if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_is_sorted_and_complete() -> None:
    names = cognia_nb.__all__
    assert list(names) == sorted(names)
    public = {n for n in dir(cognia_nb) if not n.startswith("_") and n not in {"annotations"}}
    modules = {n for n in public if type(getattr(cognia_nb, n)).__name__ == "module"}
    exported = set(names)
    assert public - modules <= exported | {"load_ipython_extension", "unload_ipython_extension"}
    for name in names:
        assert hasattr(cognia_nb, name), name


def test_errors_share_builtin_meaning() -> None:
    assert issubclass(cognia_nb.TaskValidationError, ValueError)
    assert issubclass(cognia_nb.TaskNotFoundError, LookupError)
    assert issubclass(cognia_nb.CapabilityError, PermissionError)
    err = cognia_nb.TaskNotFoundError("abc")
    assert "'abc'" in str(err)


@pytest.mark.parametrize(
    ("tz_env", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        (":Asia/Tokyo", "Asia/Tokyo"),
        ("/usr/share/zoneinfo/America/New_York", "America/New_York"),
    ],
)
def test_default_timezone_from_tz(
    monkeypatch: pytest.MonkeyPatch, tz_env: str, expected: str
) -> None:
    if tz_env.startswith("/") and not Path(tz_env).exists():
        pytest.skip("no system zoneinfo directory")
    monkeypatch.setenv("TZ", tz_env)
    assert cognia_nb.default_timezone() == expected


def test_default_timezone_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TZ", "EST5EDT,M3.2.0,M11.1.0")  # POSIX rule, not a key: ignored
    monkeypatch.setattr(_tz, "Path", lambda p: tmp_path / Path(p).name)
    assert cognia_nb.default_timezone() == "UTC"
    (tmp_path / "timezone").write_text("Europe/Paris\n")
    assert cognia_nb.default_timezone() == "Europe/Paris"


def test_ci_runs_exactly_the_readme_commands() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    commands = [b.split("\n", 1)[0] for b in readme.split("```bash\n")[1:]]
    install, run, test = commands[:3]
    assert install.startswith("python -m pip install")
    assert run.startswith("cognia-nb run examples/")
    assert test == "python -m pytest"
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert install in ci_lines
    assert ci_lines[-1] == test
