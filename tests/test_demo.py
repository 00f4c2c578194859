"""`manage.py demo`: what it sets up before it serves, beside what `make demo` prepares
(tests/e2e/server.py runs `demo --no-serve` for the browser tests)."""

from __future__ import annotations

import os
from datetime import date

from django.utils import timezone

from dashboard.management.commands.demo import _catalogue_ends_today


def test_the_demo_sandbox_catalogue_ends_today_for_the_server_and_its_worker(monkeypatch, settings):
    # Set first, so that the variable the demo sets is undone after the test.
    monkeypatch.setenv("SANDBOX_CATALOGUE_ENDS", "unset")
    monkeypatch.delenv("SANDBOX_CATALOGUE_ENDS")
    _catalogue_ends_today()
    today = timezone.now().date()
    assert today == settings.SANDBOX_CATALOGUE_ENDS
    assert os.environ["SANDBOX_CATALOGUE_ENDS"] == today.isoformat()  # what the worker reads


def test_a_catalogue_day_set_by_the_operator_is_kept(monkeypatch, settings):
    monkeypatch.setenv("SANDBOX_CATALOGUE_ENDS", "2026-11-28")
    settings.SANDBOX_CATALOGUE_ENDS = date(2026, 11, 28)
    _catalogue_ends_today()
    assert date(2026, 11, 28) == settings.SANDBOX_CATALOGUE_ENDS
