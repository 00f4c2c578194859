"""The groupings each process keeps of published indexes name one index each."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.index.indexing import Rows, run_scan
from dashboard.index.models import IndexedJob
from dashboard.index.reading import JobFailures
from dashboard.index.rows import record_row
from dashboard.meteroid.records import Failure

pytestmark = pytest.mark.django_db


def _published(pk: int, reasons: list[str]) -> IndexedJob:
    indexed = IndexedJob.objects.create(
        pk=pk,
        base_url="https://meteroid.example",
        key_fingerprint="0123456789abcdef",
        job_id="bjob_1",
        state_key="s1",
        updated_at=timezone.now(),
    )
    rows = [
        record_row(Failure(f"bjf_{i}", "bjch_1", i, f"row-{i}", reason)) for i, reason in enumerate(reasons)
    ]
    assert run_scan(indexed, lambda _: Rows(total=len(rows), rows=iter(rows)), read_ahead=0) == "done"
    indexed.refresh_from_db()
    return indexed


def test_an_index_given_the_number_of_a_deleted_one_is_grouped_afresh():
    first = _published(4242, ["Customer 'cus_1' not found"] * 3)
    assert JobFailures(first).grouping.total == 3
    first.delete()  # as a rolled back transaction leaves it: SQLite gives the number again
    second = _published(4242, ["Plan 'pro' is archived", "Plan 'basic' is archived"])
    grouping = JobFailures(second).grouping
    assert grouping.total == 2
    assert [group.template.text for group in grouping.groups] == ["Plan '…' is archived"]
