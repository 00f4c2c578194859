"""The causes of a published index (`IndexedCause`): its reason patterns with their counts,
written when it is published, which the pages across jobs add up instead of its failures;
and the migration that counts them for the indexes published before."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.index import indexing
from dashboard.index.indexing import Rows, Scope, run_scan
from dashboard.index.models import IndexedCause, IndexedFailure, IndexedJob
from dashboard.index.rows import FailureRow, chunk_row, record_row
from dashboard.meteroid.records import Failure
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import indexed_job, wait_for_scan

pytestmark = pytest.mark.django_db

SCOPE = Scope("https://meteroid.example", "0123456789abcdef")
Status = IndexedJob.Status
MIGRATION = importlib.import_module("dashboard.index.migrations.0006_indexed_causes")


def _failures(n: int) -> list[FailureRow]:
    rows = []
    for i in range(n):
        reason = f"Customer 'cus_{i:05d}' not found" if i % 3 else f"Plan 'pro-{i % 7}' is archived"
        rows.append(record_row(Failure(f"bjf_{i}", f"bjch_{i // 10}", i, f"row-{i}", reason)))
    # And the rows of a whole failed chunk, which count as failures too.
    rows += [chunk_row(n + i, f"id-{i}", "Chunk failed: timeout", "rows-x") for i in range(4)]
    return rows


def _index(state: str = "s1") -> IndexedJob:
    return IndexedJob.objects.create(
        base_url=SCOPE.base_url,
        key_fingerprint=SCOPE.key_fingerprint,
        job_id="bjob_1",
        state_key=state,
        updated_at=timezone.now(),
    )


def _counted(indexed: IndexedJob) -> dict[str, tuple[int, str]]:
    """The index's patterns as its failure rows count them: {key: (rows, least reason)}."""
    return {
        row["pattern_key"]: (row["n"], row["example"])
        for row in IndexedFailure.objects.filter(indexed_job=indexed)
        .values("pattern_key")
        .annotate(n=Count("id"), example=Min("reason"))
    }


def _causes(indexed: IndexedJob) -> dict[str, tuple[int, str]]:
    return {c.pattern_key: (c.failed, c.example) for c in IndexedCause.objects.filter(indexed_job=indexed)}


def _source(rows: list[FailureRow]):
    return lambda _: Rows(total=len(rows), rows=iter(rows))


def test_a_published_index_has_its_causes_as_its_rows_count_them():
    indexed = _index()
    assert run_scan(indexed, _source(_failures(3000))) == "done"
    causes = _causes(indexed)
    assert causes == _counted(indexed)
    # Customers not found, plans archived, and the rows of the whole failed chunk.
    assert sorted(failed for failed, _ in causes.values()) == [4, 1000, 2000]


def test_the_summary_and_the_causes_come_from_the_same_groups():
    indexed = _index()
    run_scan(indexed, _source(_failures(600)))
    indexed.refresh_from_db()
    causes = _causes(indexed)
    assert indexed.summary["group_count"] == len(causes)
    assert {key: (n, example) for key, n, example, _ in indexed.summary["groups"]} == causes


def test_a_scanned_sandbox_job_has_its_causes_as_its_rows_count_them():
    indexed = wait_for_scan(SHOWCASE["customers"]).index
    assert _causes(indexed) == _counted(indexed)
    assert _causes(indexed)


def test_an_index_being_written_or_failed_has_no_causes():
    seen = []
    indexed = _index()

    def rows() -> Iterator[FailureRow]:
        for i, row in enumerate(_failures(indexing.BATCH_ROWS + 10)):
            if i == indexing.BATCH_ROWS + 5:  # a batch is in the database by now
                seen.append(IndexedCause.objects.filter(indexed_job=indexed).count())
            yield row

    assert run_scan(indexed, lambda _: Rows(indexing.BATCH_ROWS + 10, rows()), read_ahead=0) == "done"
    assert seen == [0]

    failed = _index("s2")

    def failing() -> Iterator[FailureRow]:
        yield from _failures(indexing.BATCH_ROWS + 1)
        raise indexing.ScanFailed("Meteroid is unavailable.")

    assert run_scan(failed, lambda _: Rows(indexing.BATCH_ROWS * 2, failing())) == "failed"
    assert not IndexedCause.objects.filter(indexed_job=failed).exists()


def test_an_index_goes_with_its_causes():
    indexed = _index()
    run_scan(indexed, _source(_failures(30)))
    assert IndexedCause.objects.exists()
    IndexedJob.objects.filter(pk=indexed.pk).update(
        superseded_at=timezone.now() - indexing.SUPERSEDED_GRACE * 2
    )
    assert indexing.prune() == 1
    assert not IndexedCause.objects.exists()


def test_the_pages_across_jobs_read_no_failure_row(logged_in):
    indexed_job("bjob_a", timezone.now(), ["Customer 'cus_1' not found"] * 3)
    with CaptureQueriesContext(connection) as queries:
        page = logged_in.get(reverse("reasons-across"))
        key = page.context["page"].counts[0][0].key
        jobs = logged_in.get(reverse("reasons-across-cause", args=[key]))
        csv = logged_in.get(reverse("reasons-across-csv"))
        b"".join(csv.streaming_content)
    assert (page.status_code, jobs.status_code, csv.status_code) == (200, 200, 200)
    assert page.context["page"].failed == 3
    table = IndexedFailure._meta.db_table
    assert not [q["sql"] for q in queries.captured_queries if table in q["sql"]]


# --- The migration --------------------------------------------------------------------------


def _apps_at_migration():
    """The models as the migration that counts the causes sees them."""
    return MigrationExecutor(connection).loader.project_state(("index", "0006_indexed_causes")).apps


def test_the_migration_counts_the_causes_of_indexes_published_before_it():
    before = _index("s1")
    run_scan(before, _source(_failures(900)))
    IndexedCause.objects.all().delete()  # as published before there were causes
    already = _index("s2")
    run_scan(already, _source(_failures(30)))
    kept = {c.pk for c in IndexedCause.objects.filter(indexed_job=already)}
    reading = _index("s3")
    IndexedJob.objects.filter(pk=reading.pk).update(status=Status.RUNNING)
    IndexedFailure.objects.create(
        indexed_job=reading, row=1, reason="Half written", pattern_key="k", normaliser_version=1, chunk_id="c"
    )

    MIGRATION.count_causes(_apps_at_migration(), None)

    assert _causes(before) == _counted(before)
    assert {c.pk for c in IndexedCause.objects.filter(indexed_job=already)} == kept  # left as it was
    assert not IndexedCause.objects.filter(indexed_job=reading).exists()


def test_the_migration_counts_in_batches_of_inserts(monkeypatch):
    indexed = _index()
    columns = [a + b for a in "abcdef" for b in "ghijk"]  # 30 patterns: words are not masked
    rows = [
        record_row(Failure(f"bjf_{i}", "bjch_1", i, "x", f"Missing column {c}"))
        for i, c in enumerate(columns)
    ]
    run_scan(indexed, _source(rows))
    IndexedCause.objects.all().delete()
    monkeypatch.setattr(MIGRATION, "BATCH", 7)
    MIGRATION.count_causes(_apps_at_migration(), None)
    assert len(_causes(indexed)) == 30
    assert _causes(indexed) == _counted(indexed)
