"""Where each reason group's failures are in the file (row ranges, chunks), read for every
group of a grouping in one query each, as the reasons page shows them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.failures.ranges import condense
from dashboard.index import queries
from dashboard.index.indexing import Rows, run_scan
from dashboard.index.models import IndexedJob
from dashboard.index.reading import JobFailures
from dashboard.index.rows import record_row
from dashboard.meteroid.records import Failure

pytestmark = pytest.mark.django_db


def _indexed(failures: list[Failure]) -> IndexedJob:
    indexed = IndexedJob.objects.create(
        base_url="https://meteroid.example",
        key_fingerprint="0123456789abcdef",
        job_id="bjob_1",
        state_key="s1",
        updated_at=timezone.now(),
    )
    rows = [record_row(failure) for failure in failures]
    assert run_scan(indexed, lambda _: Rows(total=len(rows), rows=iter(rows))) == "done"
    indexed.refresh_from_db()
    return indexed


def _mixed() -> list[Failure]:
    """Two groups interleaved in runs of uneven length over three chunks, one row twice."""
    failures = []
    for i in range(60):
        reason = (
            f"Plan 'p{i}' is archived" if (i // 3) % 2 or i in (40, 41) else f"Customer 'cus_{i}' not found"
        )
        failures.append(Failure(f"bjf_{i}", f"bjch_{i // 25}", i, f"row-{i}", reason))
    failures.append(Failure("bjf_dup", "bjch_0", 4, "row-4", "Plan 'again' is archived"))
    return sorted(failures, key=lambda f: f.item_index)


@pytest.mark.parametrize("chunk_id", [None, "bjch_1"])
def test_each_groups_row_ranges_and_chunks_are_those_of_its_rows(chunk_id):
    failures = _mixed()
    indexed = _indexed(failures)
    grouping = JobFailures(indexed).grouping_for(chunk_id)
    assert len(grouping.groups) == 2
    for group in grouping.groups:
        rows = [
            f.row
            for f in queries.failures(indexed, queries.Filters(chunk_id=chunk_id, pattern_key=group.key))
        ]
        assert group.row_ranges() == condense(sorted(set(rows)))
        expected: dict[str, int] = {}
        for f in queries.failures(indexed, queries.Filters(chunk_id=chunk_id, pattern_key=group.key)):
            expected[f.chunk_id] = expected.get(f.chunk_id, 0) + 1
        assert group.chunks() == list(expected.items())
    assert len(grouping.find(grouping.groups[0].key).row_ranges()) > 3  # runs, not one span


def test_the_ranges_of_every_group_are_read_in_one_query(django_assert_num_queries):
    indexed = _indexed(_mixed())
    grouping = JobFailures(indexed).grouping_for(None)
    with django_assert_num_queries(2):
        for group in grouping.groups:
            group.row_ranges()
            group.chunks()
