"""Django in another process: `manage.py` as an operator runs it, or a few lines of Python
after `django.setup()`, with the environment a test gives (on top of this one's)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import ROOT


def environment(**env: str) -> dict[str, str]:
    """This process's environment, on the dashboard's settings, with `env` on top."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env}


def manage(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`manage.py <args>`; `env` is the whole environment (see `environment()`)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env if env is not None else environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def python(
    code: str, *, env: dict[str, str] | None = None, setup: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess:
    """`python -c <code>`, after `django.setup()` unless `setup` is False (to see start-up
    itself fail, say)."""
    prelude = "import django; django.setup()\n" if setup else ""
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=env if env is not None else environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def checked(result: subprocess.CompletedProcess) -> str:
    """The output of a run that must have succeeded."""
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout
