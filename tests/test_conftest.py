"""The `database` mark (tests/conftest.py): every test that reaches the database has it,
whether marked `django_db` or through its fixtures, so that the run on PostgreSQL selected by
it (`make test`'s second pass) misses none. No module mark here: each test shows one way."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT


def _second_pass() -> str:
    """The `-m` selection of the Makefile's run on PostgreSQL."""
    [line] = [line for line in (ROOT / "Makefile").read_text().splitlines() if "TEST_POSTGRES_URL)" in line]
    return re.search(r'-m "([^"]+)"', line)[1]


def test_a_test_that_reaches_the_database_through_its_fixtures_is_marked(request, logged_in):
    assert logged_in.get("/accounts/login/").status_code == 302  # logged in: a session was stored
    assert request.node.get_closest_marker("database")


@pytest.mark.django_db
def test_a_test_marked_django_db_is_marked(request):
    assert request.node.get_closest_marker("database")


def test_a_test_that_needs_no_database_is_not_marked(request, settings):
    assert not request.node.get_closest_marker("database")


def test_the_second_pass_selects_by_the_mark():
    """The selection as the Makefile makes it: the marks are there before pytest selects."""
    this = str(Path(__file__).relative_to(ROOT))
    collect = ["--collect-only", "-q", "-p", "no:cacheprovider", "-m", _second_pass(), this]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *collect],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    selected = {line.split("::")[1] for line in result.stdout.splitlines() if "::" in line}
    assert selected == {
        "test_a_test_that_reaches_the_database_through_its_fixtures_is_marked",
        "test_a_test_marked_django_db_is_marked",
    }
