"""The settings of background work: the task backend and the index's own, read from the
environment; a malformed value stops start-up and names itself."""

from __future__ import annotations

import pytest

from tests.support.django_process import environment, python


def _tasks(**env: str):
    return python(
        "from django.conf import settings; "
        "print(settings.TASKS['default']['BACKEND'], settings.INDEX_RETENTION_DAYS)",
        env=environment(**env),
    )


def test_tasks_go_to_the_database_by_default_and_indexes_are_kept_30_days():
    result = _tasks()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django_tasks_db.DatabaseBackend", "30.0"]


def test_tasks_run_inside_requests_only_on_a_developer_machine():
    refused = _tasks(TASKS_BACKEND="immediate", DEBUG="false")
    assert refused.returncode != 0
    assert "TASKS_BACKEND" in refused.stderr
    allowed = _tasks(TASKS_BACKEND="immediate", DEBUG="true")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.split()[0] == "django.tasks.backends.immediate.ImmediateBackend"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TASKS_BACKEND", "celery"),
        ("INDEX_RETENTION_DAYS", "0"),
        ("INDEX_RETENTION_DAYS", "a month"),
        ("INDEX_LEASE_SECONDS", "-5"),
        ("INDEX_MAX_ATTEMPTS", "0"),
        ("INDEX_WINDOW_DAYS", "0"),
        ("INDEX_WINDOW_DAYS", "a month"),
        ("INDEX_BACKFILL_SECONDS", "-1"),
        ("INDEX_BACKFILL_CONCURRENCY", "0"),
        ("INDEX_WORKER_SCANS", "0"),
        ("INDEX_INPUT_MAX_BYTES", "0"),
    ],
)
def test_a_malformed_variable_stops_start_up_and_is_named(name, value):
    result = _tasks(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def _backfill(**env: str) -> list[str]:
    result = python(
        "from django.conf import settings; print(settings.INDEX_WINDOW_DAYS, "
        "settings.INDEX_BACKFILL_SECONDS, settings.INDEX_BACKFILL_CONCURRENCY, settings.INDEX_INPUT_MAX_BYTES)",
        env=environment(**env),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_backfill_keeps_30_days_with_half_the_budget_by_default():
    assert _backfill() == ["30.0", "60.0", "6", str(20 * 1024 * 1024)]
    assert _backfill(METEROID_MAX_CONCURRENCY="1")[2] == "1"
    assert _backfill(METEROID_MAX_CONCURRENCY="9")[2] == "4"
    assert _backfill(INDEX_BACKFILL_CONCURRENCY="3", INDEX_WINDOW_DAYS="7")[:3] == ["7.0", "60.0", "3"]
