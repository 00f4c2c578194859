"""Where a scan's rows come from: the sandbox's failure records over HTTP, through the
gateway, checked against the Meteroid and the job's state the index was asked for."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.failures.reasons import pattern_of
from dashboard.failures.whole_chunks import WHOLE_CHUNK_REASON
from dashboard.index.indexing import ScanFailed
from dashboard.index.models import IndexedJob
from dashboard.index.rows import CHUNK, INPUT, RECORD
from dashboard.index.sources import SANDBOX_BASE_URL, meteroid_rows, read_chunk_rows, scope_of
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.world.data import SHOWCASE

JOB = "bjob_6dG1WdYj0HUnlSoyo9abp0"  # 1,022 failure records (and rows of whole failed chunks), ended


def _asked(job_id: str = JOB, **fields) -> IndexedJob:
    gateway = get_gateway()
    scope = scope_of(gateway)
    values = {
        "base_url": scope.base_url,
        "key_fingerprint": scope.key_fingerprint,
        "job_id": job_id,
        "state_key": job_state_key(gateway.job(job_id)),
        "updated_at": timezone.now(),
    }
    return IndexedJob(**(values | fields))  # never saved: a source reads no database


def test_the_sandbox_is_one_scope_whatever_port_it_listens_on():
    scope = scope_of(get_gateway())
    assert scope.base_url == SANDBOX_BASE_URL
    assert len(scope.key_fingerprint) == 16


def test_the_rows_are_the_jobs_failure_records_in_file_order():
    gateway = get_gateway()
    job = gateway.job(JOB)
    found = meteroid_rows(_asked())
    rows = [row for row in found.rows if row.source == RECORD]
    assert (found.capped, len(rows)) == (False, job.failure_count)
    assert len({row.failure_id for row in rows}) == job.failure_count
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
    # A row without a failure among those read may yet have failed: its input rows are not read.
    assert found.notes["input_rows_read"] is False
    assert "more failures than the dashboard reads" in found.notes["input_rows_problem"]


def test_a_scan_of_a_state_the_ended_job_has_left_fails_and_says_why():
    with pytest.raises(ScanFailed, match="changed since"):
        meteroid_rows(_asked(state_key="a-state-before-a-retry"))


def test_a_worker_on_another_meteroid_does_not_scan():
    with pytest.raises(ScanFailed, match="another Meteroid"):
        meteroid_rows(_asked(base_url="https://api.meteroid.com"))


def test_the_rows_of_whole_failed_chunks_follow_the_records_as_the_scan_reads_them():
    gateway = get_gateway()
    job = gateway.job(SHOWCASE["whole_chunks"])
    found = meteroid_rows(_asked(job.id))
    rows = list(found.rows)
    records = [row for row in rows if row.source == RECORD]
    lost = [row for row in rows if row.source == CHUNK]
    inputs = [row for row in rows if row.source == INPUT]
    assert len(records) == job.failure_count
    assert lost, "the showcase job has rows of whole failed chunks"
    assert rows == records + lost + inputs
    assert all(row.failure_id is None and row.chunk_id.startswith("rows-") for row in lost)
    # The very rows the errors CSV gives, under their chunk's row range, their reasons marked.
    read, problem = read_chunk_rows(gateway, job, [row.row - 1 for row in records])
    assert read is not None and not problem
    assert [(row.row - 1, row.identifier, row.reason, row.chunk_id) for row in lost] == [
        (index, identifier, WHOLE_CHUNK_REASON + reason, key)
        for index, identifier, reason, key in zip(
            read.item_indices, read.identifiers, read.reasons, read.chunk_keys, strict=True
        )
    ]
    assert found.total == len(records) + len(lost)
    assert found.notes["total"] == found.total
    assert found.notes["unreadable_rows"] == read.unreadable
    assert found.notes["failed_chunks"] == len(read.chunks)
    assert sum(count for _, count in found.notes["chunk_errors"]) == len(read.chunks)
    assert (found.notes["records_apart"], found.notes["active"]) == (0, False)


def test_reading_the_rows_leaves_the_callers_log_level_as_it_was():
    """A scan's routine calls log at DEBUG in a context of its own: whoever reads its rows
    (a worker's loop, a test) logs its own calls at INFO before and after."""
    import logging

    from dashboard.meteroid.client import routine_call_level

    found = meteroid_rows(_asked())
    assert routine_call_level.get() == logging.INFO
    assert sum(1 for _ in found.rows) > 0
    assert routine_call_level.get() == logging.INFO
