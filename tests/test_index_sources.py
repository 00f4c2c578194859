"""Where a scan's rows come from: the sandbox's failure records over HTTP, through the
gateway, checked against the Meteroid and the job's state the index was asked for."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.index.indexing import ScanFailed
from dashboard.index.models import IndexedJob
from dashboard.index.rows import RECORD
from dashboard.index.sources import SANDBOX_BASE_URL, meteroid_rows, scope_of
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.gateway import get_gateway
from dashboard.reasons import pattern_of

JOB = "bjob_6dG1WdYj0HUnlSoyo9abp0"  # 1,022 failure records, completed


def _asked(**fields) -> IndexedJob:
    gateway = get_gateway()
    scope = scope_of(gateway)
    values = {
        "base_url": scope.base_url,
        "key_fingerprint": scope.key_fingerprint,
        "job_id": JOB,
        "state_key": job_state_key(gateway.job(JOB)),
        "updated_at": timezone.now(),
    }
    return IndexedJob(**(values | fields))  # never saved: a source reads no database


def test_the_sandbox_is_one_scope_whatever_port_it_listens_on():
    scope = scope_of(get_gateway())
    assert scope.base_url == SANDBOX_BASE_URL
    assert len(scope.key_fingerprint) == 16


def test_the_rows_are_the_jobs_failure_records_in_file_order():
    gateway = get_gateway()
    found = meteroid_rows(_asked())
    rows = list(found.rows)
    assert (found.total, found.capped, len(rows)) == (1022, False, 1022)
    assert len({row.failure_id for row in rows}) == 1022
    assert [row.row for row in rows] == sorted(row.row for row in rows)
    first = gateway.client.list_failures(JOB, limit=1, offset=0).failures[0]
    assert rows[0][:4] == (first.item_index + 1, first.id, first.item_identifier, first.reason)
    assert (rows[0].pattern_key, rows[0].chunk_id, rows[0].source) == (
        pattern_of(first.reason).key,
        first.chunk_id,
        RECORD,
    )


def test_a_job_with_more_failures_than_the_cap_is_read_to_the_cap(settings):
    settings.SCAN_MAX_FAILURES = 150
    found = meteroid_rows(_asked())
    assert (found.total, found.capped, len(list(found.rows))) == (150, True, 150)


def test_a_scan_of_a_state_the_ended_job_has_left_fails_and_says_why():
    with pytest.raises(ScanFailed, match="changed since"):
        meteroid_rows(_asked(state_key="a-state-before-a-retry"))


def test_a_worker_on_another_meteroid_does_not_scan():
    with pytest.raises(ScanFailed, match="another Meteroid"):
        meteroid_rows(_asked(base_url="https://api.meteroid.com"))
