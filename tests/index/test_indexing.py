"""The index on the database DATABASE_URL names (`make test` runs these on SQLite, then on
PostgreSQL): bulk writes, one index per job and state, leases, publication, pruning, queries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dashboard.failures.reasons import NORMALISER_VERSION, pattern_of
from dashboard.index import indexing, queries, writer
from dashboard.index.indexing import Rows, Scope, current_index, request_index, run_scan
from dashboard.index.models import IndexedFailure, IndexedInputRow, IndexedJob
from dashboard.index.rows import CHUNK, RECORD, FailureRow, chunk_row, input_row, record_row
from dashboard.meteroid.records import Failure

pytestmark = pytest.mark.django_db

SCOPE = Scope("https://meteroid.example", "0123456789abcdef")
Status = IndexedJob.Status


def _failures(n: int, *, job: str = "a") -> list[FailureRow]:
    rows = []
    for i in range(n):
        customer = f"cus_{job}{i:05d}"
        reason = f"Customer '{customer}' not found" if i % 3 else f"Plan 'pro-{i % 7}' is archived"
        rows.append(record_row(Failure(f"bjf_{job}{i}", f"bjch_{i // 10}", i, f"row-{i}", reason)))
    return rows


def _index(state: str = "s1", **fields) -> IndexedJob:
    fields.setdefault("updated_at", timezone.now())
    return IndexedJob.objects.create(
        base_url=SCOPE.base_url,
        key_fingerprint=SCOPE.key_fingerprint,
        job_id="bjob_1",
        state_key=state,
        **fields,
    )


def _source(rows: list[FailureRow]):
    def source(indexed: IndexedJob) -> Rows:
        return Rows(total=len(rows), rows=iter(rows))

    return source


# --- Rows and the writer ----------------------------------------------------------------------


def test_a_row_carries_its_pattern_and_the_values_it_masked():
    row = record_row(Failure("bjf_1", "bjch_1", 41, "cus-7", "Customer 'cus_ABC' not found"))
    pattern = pattern_of("Customer 'cus_ABC' not found")
    assert row.row == 42
    assert (row.pattern_key, row.normaliser_version, row.masked) == (
        pattern.key,
        NORMALISER_VERSION,
        ("cus_ABC",),
    )
    assert (row.failure_id, row.chunk_id, row.source) == ("bjf_1", "bjch_1", RECORD)
    lost = chunk_row(99, None, "Chunk failed", "rows-51-100")
    assert (lost.row, lost.failure_id, lost.chunk_id, lost.source) == (100, None, "rows-51-100", CHUNK)


def test_a_record_without_a_reason_or_a_readable_chunk_id_is_a_row_with_them_empty():
    odd = Failure.parse({"id": "bjf_2", "chunk_id": 7, "item_index": -3, "reason": None})
    row = record_row(odd)
    assert (row.row, row.reason, row.chunk_id, row.pattern_key) == (-2, "", "", pattern_of("").key)


def test_written_rows_read_back_as_they_went_in():
    indexed = _index()
    rows = [*_failures(7), chunk_row(500, "x", "Connection reset while 'inserting' 12 rows", "rows-451-600")]
    assert writer.write_failures(indexed, rows) == (7, 1)
    stored = list(IndexedFailure.objects.filter(indexed_job=indexed).order_by("row"))
    assert [
        FailureRow(
            s.row,
            s.failure_id,
            s.identifier,
            s.reason,
            s.pattern_key,
            s.normaliser_version,
            tuple(s.masked),
            s.chunk_id,
            s.source,
            s.identifier_folded,
            s.reason_folded,
        )
        for s in stored
    ] == rows


def test_the_writer_takes_text_copy_would_choke_on():
    # Tabs, newlines, backslashes, quotes and NUL-free odd text, in every text column.
    reason = "Value\t'a\\b'\nwith \"quotes\" and \\N and é 💥"
    rows = [
        record_row(Failure("bjf_\\N", "bjch_\t1", 0, "\\N", reason)),
        chunk_row(1, None, "\\.", "rows-1-2"),
    ]
    indexed = _index()
    writer.write_failures(indexed, rows)
    stored = list(IndexedFailure.objects.filter(indexed_job=indexed).order_by("row"))
    assert [(s.failure_id, s.chunk_id, s.identifier, s.reason) for s in stored] == [
        ("bjf_\\N", "bjch_\t1", "\\N", reason),
        (None, "rows-1-2", None, "\\."),
    ]
    assert stored[0].masked == list(rows[0].masked)


@pytest.mark.postgres
def test_on_postgresql_the_writer_copies(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("runs on the PostgreSQL pass")
    used = []
    monkeypatch.setattr(writer, "_insert", lambda *args: used.append("insert"))
    real_copy = writer._copy
    monkeypatch.setattr(writer, "_copy", lambda *args: used.append("copy") or real_copy(*args))
    indexed = _index()
    assert writer.write_failures(indexed, _failures(3000)) == (3000, 0)
    assert used == ["copy"]
    assert IndexedFailure.objects.filter(indexed_job=indexed).count() == 3000


@pytest.mark.postgres
def test_on_postgresql_search_has_trigram_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("runs on the PostgreSQL pass")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'index_indexedfailure'")
        definitions = dict(cursor.fetchall())
    # On the folded columns search compares (migration 0003 moved them there).
    assert "gin_trgm_ops" in definitions["index_failure_reason_folded_trgm"]
    assert "(reason_folded gin_trgm_ops)" in definitions["index_failure_reason_folded_trgm"]
    assert "(identifier_folded gin_trgm_ops)" in definitions["index_failure_identifier_folded_trgm"]
    assert "index_failure_reason_trgm" not in definitions


def test_a_failure_record_is_never_written_twice_into_one_index():
    from django.db import IntegrityError, transaction

    indexed = _index()
    writer.write_failures(indexed, _failures(3))
    with pytest.raises(IntegrityError), transaction.atomic():
        writer.write_failures(indexed, _failures(1))
    # Rows of whole failed chunks have no failure id, and are not held to it.
    writer.write_failures(
        indexed,
        [chunk_row(9, None, "Chunk failed", "rows-1-20"), chunk_row(10, None, "Chunk failed", "rows-1-20")],
    )
    assert IndexedFailure.objects.filter(indexed_job=indexed).count() == 5


# --- Asking for an index ------------------------------------------------------------------------


def test_a_second_request_for_a_job_and_state_joins_the_first(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = request_index(SCOPE, "bjob_1", "s1")
        second = request_index(SCOPE, "bjob_1", "s1")
    assert first.pk == second.pk
    task = DBTaskResult.objects.get()
    assert task.task_path == "dashboard.index.tasks.scan_job"
    assert task.args_kwargs["kwargs"] == {
        "base_url": SCOPE.base_url,
        "key_fingerprint": SCOPE.key_fingerprint,
        "job_id": "bjob_1",
        "state_key": "s1",
    }
    first.refresh_from_db()
    assert (first.status, first.task_id) == (Status.QUEUED, str(task.id))
    # Another state of the job is another index, and another task.
    with django_capture_on_commit_callbacks(execute=True):
        assert request_index(SCOPE, "bjob_1", "s2").pk != first.pk
    assert DBTaskResult.objects.count() == 2


def test_a_running_scan_is_joined_while_its_worker_is_alive(django_capture_on_commit_callbacks):
    indexed = _index(status=Status.RUNNING, lease_holder="w1", heartbeat_at=timezone.now(), attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert request_index(SCOPE, "bjob_1", "s1").status == Status.RUNNING
    assert not DBTaskResult.objects.exists()
    assert run_scan(indexed, _source(_failures(3)), holder="w2") == "joined"
    assert not IndexedFailure.objects.exists()


def test_a_scan_whose_worker_died_is_enqueued_again_once(django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(minutes=5)
    _index(status=Status.RUNNING, lease_holder="dead", heartbeat_at=long_ago, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        again = request_index(SCOPE, "bjob_1", "s1")
        assert indexing.sweep() == 0  # reclaimed already: not stale any more
    again.refresh_from_db()
    assert (again.status, again.lease_holder) == (Status.QUEUED, "")
    assert DBTaskResult.objects.count() == 1
    assert again.task_id == str(DBTaskResult.objects.get().id)


def test_a_queued_index_whose_task_is_gone_is_enqueued_again(django_capture_on_commit_callbacks):
    _index(status=Status.QUEUED, task_id="", updated_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert indexing.sweep() == 1
    assert DBTaskResult.objects.count() == 1


def test_a_queued_index_waiting_for_its_task_is_left_to_wait(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        indexed = request_index(SCOPE, "bjob_1", "s1")
    IndexedJob.objects.filter(pk=indexed.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert indexing.sweep() == 0
    assert DBTaskResult.objects.count() == 1


def test_a_queued_index_whose_worker_died_after_taking_its_task_is_enqueued_again(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        indexed = request_index(SCOPE, "bjob_1", "s1")
    long_ago = timezone.now() - timedelta(minutes=5)
    # Taken a moment ago: the worker may yet take the lease.
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now())
    IndexedJob.objects.filter(pk=indexed.pk).update(updated_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert indexing.sweep() == 0
    # Taken long ago, and the lease never was: the worker died in between.
    DBTaskResult.objects.update(started_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert indexing.sweep() == 1
    assert DBTaskResult.objects.count() == 2


def test_a_scan_that_keeps_dying_fails_and_says_so(django_capture_on_commit_callbacks, settings):
    settings.INDEX_MAX_ATTEMPTS = 2
    long_ago = timezone.now() - timedelta(minutes=5)
    indexed = _index(status=Status.RUNNING, lease_holder="dead", heartbeat_at=long_ago, attempts=2)
    writer.write_failures(indexed, _failures(4))
    with django_capture_on_commit_callbacks(execute=True):
        failed = request_index(SCOPE, "bjob_1", "s1")
    assert failed.status == Status.FAILED
    assert "stopped 2 times" in failed.error
    assert not DBTaskResult.objects.exists()
    assert not IndexedFailure.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        retried = request_index(SCOPE, "bjob_1", "s1", retry=True)
    assert (retried.status, retried.attempts) == (Status.QUEUED, 0)
    assert DBTaskResult.objects.count() == 1


# --- Scanning and publishing --------------------------------------------------------------------


def test_a_scan_publishes_its_index_whole():
    indexed = _index()
    assert current_index(SCOPE, "bjob_1", "s1") is None
    assert run_scan(indexed, _source(_failures(12_000))) == "done"
    indexed.refresh_from_db()
    assert (indexed.status, indexed.records, indexed.fetched, indexed.total) == (
        Status.DONE,
        12_000,
        12_000,
        12_000,
    )
    assert (indexed.lease_holder, indexed.attempts) == ("", 1)
    assert current_index(SCOPE, "bjob_1", "s1") == indexed


def test_the_source_is_read_ahead_of_the_writing_in_a_thread_of_its_own():
    indexed = _index()
    readers = set()

    def rows() -> Iterator[FailureRow]:
        for row in _failures(12_000):
            readers.add(threading.current_thread().name)
            yield row

    assert run_scan(indexed, lambda _: Rows(12_000, rows())) == "done"
    assert readers == {"index-read"}
    stored = IndexedFailure.objects.filter(indexed_job=indexed)
    assert sorted(stored.values_list("failure_id", flat=True)) == sorted(
        row.failure_id for row in _failures(12_000)
    )


def test_an_index_is_not_read_while_it_is_written():
    indexed = _index()
    seen = []

    def rows() -> Iterator[FailureRow]:
        for i, row in enumerate(_failures(indexing.BATCH_ROWS + 10)):
            if i == indexing.BATCH_ROWS + 5:  # a batch is in the database by now
                seen.append(
                    (
                        IndexedFailure.objects.filter(indexed_job=indexed).count(),
                        current_index(SCOPE, "bjob_1"),
                    )
                )
            yield row

    # Read in this thread (read_ahead=0): the test's database is this thread's connection.
    assert run_scan(indexed, lambda _: Rows(indexing.BATCH_ROWS + 10, rows()), read_ahead=0) == "done"
    assert seen == [(indexing.BATCH_ROWS, None)]


def test_a_new_state_replaces_the_old_index_at_once():
    old = _index("s1")
    run_scan(old, _source(_failures(5, job="old")))
    new = _index("s2")
    reads = []

    def rows() -> Iterator[FailureRow]:
        for row in _failures(8, job="new"):
            reads.append(current_index(SCOPE, "bjob_1"))  # while the new one is written
            yield row

    run_scan(new, lambda _: Rows(8, rows()), read_ahead=0)
    assert set(reads) == {old}
    assert current_index(SCOPE, "bjob_1") == new
    assert current_index(SCOPE, "bjob_1", "s1") is None
    old.refresh_from_db()
    assert old.superseded_at is not None


def test_a_scan_taken_over_writes_nothing_more():
    indexed = _index()
    taken = False

    def rows() -> Iterator[FailureRow]:
        nonlocal taken
        for i, row in enumerate(_failures(indexing.BATCH_ROWS * 2)):
            if i == indexing.BATCH_ROWS + 1 and not taken:
                # Another worker found this one's lease expired and took the scan.
                IndexedJob.objects.filter(pk=indexed.pk).update(lease_holder="other")
                taken = True
            yield row

    outcome = run_scan(indexed, lambda _: Rows(indexing.BATCH_ROWS * 2, rows()), holder="w1", read_ahead=0)
    assert outcome == "lost"
    indexed.refresh_from_db()
    assert (indexed.status, indexed.lease_holder) == (Status.RUNNING, "other")
    assert IndexedFailure.objects.filter(indexed_job=indexed).count() == indexing.BATCH_ROWS


def test_a_scan_slower_than_its_heartbeat_is_not_taken_for_lost(settings):
    """The heartbeat beats from a connection of its own, which cannot see an index made in an
    open transaction (this test's): the scan's own renewal decides whether it goes on."""
    settings.INDEX_LEASE_SECONDS = 0.2  # a beat every 0.05 s
    indexed = _index()

    def rows() -> Iterator[FailureRow]:
        for i, row in enumerate(_failures(indexing.BATCH_ROWS * 2)):
            if i == indexing.BATCH_ROWS + 1:
                time.sleep(0.3)  # a slow page: several beats go by
            yield row

    outcome = run_scan(indexed, lambda _: Rows(indexing.BATCH_ROWS * 2, rows()), holder="w1", read_ahead=0)
    assert outcome == "done"
    assert IndexedFailure.objects.filter(indexed_job=indexed).count() == indexing.BATCH_ROWS * 2


def test_the_worker_that_takes_a_scan_over_starts_it_again_from_the_top():
    indexed = _index(
        status=Status.RUNNING, lease_holder="dead", heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    writer.write_failures(indexed, _failures(30)[:20])  # what the dead worker wrote
    assert run_scan(indexed, _source(_failures(30)), holder="w2") == "done"
    assert IndexedFailure.objects.filter(indexed_job=indexed).count() == 30


def test_a_scan_that_cannot_read_fails_with_the_reason_and_keeps_no_row():
    indexed = _index()

    def rows() -> Iterator[FailureRow]:
        yield from _failures(indexing.BATCH_ROWS + 1)
        raise indexing.ScanFailed("Meteroid is unavailable.")

    assert run_scan(indexed, lambda _: Rows(indexing.BATCH_ROWS * 2, rows())) == "failed"
    indexed.refresh_from_db()
    assert (indexed.status, indexed.error, indexed.lease_holder) == (
        Status.FAILED,
        "Meteroid is unavailable.",
        "",
    )
    assert not IndexedFailure.objects.exists()


# --- Writers side by side (PostgreSQL) ----------------------------------------------------------


def _side_by_side(settings, monkeypatch) -> list[tuple[str, int]]:
    """Two writers of 500 rows a batch, on a database every connection sees (committed):
    records the thread and server process of each batch written."""
    if connection.vendor != "postgresql":
        pytest.skip("runs on the PostgreSQL pass (SQLite writes one transaction at a time)")
    settings.INDEX_WRITERS = 2
    monkeypatch.setattr(indexing, "BATCH_ROWS", 500)
    written = []
    real = indexing.write_failures

    def write(indexed, rows):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            written.append((threading.current_thread().name, cursor.fetchone()[0]))
        return real(indexed, rows)

    monkeypatch.setattr(indexing, "write_failures", write)
    return written


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_two_connections_write_a_scan_side_by_side(settings, monkeypatch):
    written = _side_by_side(settings, monkeypatch)
    indexed = _index()

    def rows() -> Iterator[FailureRow]:
        for row in _failures(6_007):
            time.sleep(0.0002)  # rows come as pages do, while batches are written
            yield row

    assert run_scan(indexed, lambda _: Rows(6_007, rows())) == "done"
    assert {name for name, _ in written} == {"index-write-0", "index-write-1"}
    assert len({pid for _, pid in written}) == 2
    indexed.refresh_from_db()
    assert (indexed.status, indexed.records, indexed.fetched) == (Status.DONE, 6_007, 6_007)
    stored = IndexedFailure.objects.filter(indexed_job=indexed)
    assert sorted(stored.values_list("row", flat=True)) == list(range(1, 6_008))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_writers_side_by_side_stop_on_a_lost_lease_and_on_a_failed_reading(
    settings, monkeypatch
):
    _side_by_side(settings, monkeypatch)
    taken = _index("s1")
    kept = []

    def rows_then_taken() -> Iterator[FailureRow]:
        for i, row in enumerate(_failures(6_000)):
            if i == 2_600:  # another worker found the lease expired and took the scan
                IndexedJob.objects.filter(pk=taken.pk).update(lease_holder="other")
                kept.append(IndexedFailure.objects.filter(indexed_job=taken).count())
                connection.close()  # this reading thread's own
            yield row

    assert run_scan(taken, lambda _: Rows(6_000, rows_then_taken()), holder="w1") == "lost"
    taken.refresh_from_db()
    assert (taken.status, taken.lease_holder) == (Status.RUNNING, "other")
    # What was written once the scan was taken over was rolled back (at most the batches
    # under way then may have been kept: the worker that took it deletes them with the rest).
    assert IndexedFailure.objects.filter(indexed_job=taken).count() <= kept[0] + 2 * 500

    failing = _index("s2")

    def rows_then_error() -> Iterator[FailureRow]:
        yield from _failures(2_100)
        raise indexing.ScanFailed("Meteroid is unavailable.")

    assert run_scan(failing, lambda _: Rows(6_000, rows_then_error())) == "failed"
    failing.refresh_from_db()
    assert (failing.status, failing.error) == (Status.FAILED, "Meteroid is unavailable.")
    assert not IndexedFailure.objects.filter(indexed_job=failing).exists()


# --- Pruning --------------------------------------------------------------------------------------


def test_pruning_deletes_old_and_replaced_indexes_with_their_failures(settings):
    settings.INDEX_RETENTION_DAYS = 30
    now = timezone.now()
    old, recent, replaced, running = (_index(f"s{i}") for i in range(4))
    for indexed in (old, recent, replaced):
        writer.write_failures(indexed, _failures(3, job=str(indexed.pk)))
    IndexedJob.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=31))
    IndexedJob.objects.filter(pk=replaced.pk).update(superseded_at=now - timedelta(hours=1))
    IndexedJob.objects.filter(pk=running.pk).update(
        created_at=now - timedelta(days=40), status=Status.RUNNING, heartbeat_at=now
    )
    call_command("prune_indexes", stdout=(out := __import__("io").StringIO()))
    assert "2 index(es) deleted" in out.getvalue()
    assert set(IndexedJob.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert set(IndexedFailure.objects.values_list("indexed_job_id", flat=True)) == {recent.pk}


# --- Queries --------------------------------------------------------------------------------------


def test_queries_answer_groups_search_pages_chunks_and_rows():
    indexed = _index()
    rows = _failures(30)
    run_scan(indexed, _source([*rows, chunk_row(99, "lost-1", "Chunk failed", "rows-91-100")]))
    groups = queries.reason_groups(indexed)
    assert [(g.count, g.pattern_key) for g in groups] == sorted(
        [
            (20, pattern_of("Customer 'cus_a00001' not found").key),
            (10, pattern_of("Plan 'pro-1' is archived").key),
            (1, pattern_of("Chunk failed").key),
        ],
        key=lambda pair: (-pair[0], pair[1]),
    )
    found = queries.failures(indexed, queries.Filters(search="CUS_A0001"))
    # cus_a00010 to cus_a00019, where the reason names a customer (not every third row)
    assert [f.row for f in found] == [11, 12, 14, 15, 17, 18, 20]
    assert [f.row for f in queries.failures(indexed, queries.Filters(search="ROW-2"))] == [3, *range(21, 31)]
    plan = queries.Filters(pattern_key=pattern_of("Plan 'pro-1' is archived").key)
    assert [f.row for f in queries.page(indexed, plan, number=1, size=4)] == [13, 16, 19, 22]
    assert queries.count(indexed, queries.Filters(chunk_id="bjch_1")) == 10
    assert [(c.chunk_id, c.count, c.first_row, c.last_row) for c in queries.chunks(indexed)] == [
        ("bjch_0", 10, 1, 10),
        ("bjch_1", 10, 11, 20),
        ("bjch_2", 10, 21, 30),
        ("rows-91-100", 1, 100, 100),
    ]
    assert [f.reason for f in queries.at_row(indexed, 100)] == ["Chunk failed"]


def test_a_groups_breakdown_counts_the_values_its_pattern_masked():
    indexed = _index()
    rows = [
        record_row(Failure(f"bjf_{i}", "bjch_1", i, None, f"Plan '{plan}' has no price"))
        for i, plan in enumerate(["pro", "pro", "team", "pro"])
    ]
    run_scan(indexed, _source(rows))
    key = rows[0].pattern_key
    plans = queries.slot_values(indexed, key, 0)
    assert [(v.value, v.count) for v in plans] == [("pro", 3), ("team", 1)]
    assert [(v.value, v.count) for v in queries.slot_values(indexed, key, 5)] == [(None, 4)]  # no such slot


def test_exports_stream_every_row_in_file_order_and_deep_pages_follow_the_last_row():
    indexed = _index()
    rows = _failures(60)
    run_scan(indexed, _source(rows))
    streamed = list(queries.stream(indexed, chunk_size=7))
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in streamed] == [
        (r.row, r.failure_id, r.identifier, r.reason, r.chunk_id, r.source) for r in rows
    ]
    plan = queries.Filters(pattern_key=rows[0].pattern_key)  # every third row
    pages, after = [], None
    while page := queries.page_after(indexed, plan, after=after, size=7):
        pages.append([f.row for f in page])
        after = (page[-1].row, page[-1].id)
    assert [row for page in pages for row in page] == [f.row for f in queries.failures(indexed, plan)]
    assert pages[1] == [f.row for f in queries.page(indexed, plan, number=1, size=7)]


# --- Input rows -----------------------------------------------------------------------------------


def _with_input(failures: list[FailureRow], inputs: int, *, read: bool):
    def source(indexed: IndexedJob) -> Rows:
        found = Rows(total=len(failures), rows=iter(()))

        def rows():
            yield from failures
            yield from (input_row(n, f"row-{n - 1}") for n in range(1, inputs + 1))
            found.notes["input_rows_read"] = read

        found.rows = rows()
        return found

    return source


def test_a_scan_writes_the_input_rows_beside_the_failures_and_counts_them_apart(monkeypatch):
    monkeypatch.setattr(indexing, "BATCH_ROWS", 7)  # failures and input rows in one batch too
    indexed = _index()
    assert run_scan(indexed, _with_input(_failures(10), 12, read=True), read_ahead=0) == "done"
    indexed.refresh_from_db()
    assert (indexed.records, indexed.fetched, indexed.total) == (10, 10, 10)
    assert (indexed.input_rows_read, indexed.input_row_count) == (True, 12)
    rows = list(
        IndexedInputRow.objects.filter(indexed_job=indexed).order_by("row").values_list("row", "identifier")
    )
    assert rows == [(n, f"row-{n - 1}") for n in range(1, 13)]


def test_input_rows_read_only_in_part_are_not_kept():
    indexed = _index()
    assert run_scan(indexed, _with_input(_failures(3), 5, read=False), read_ahead=0) == "done"
    indexed.refresh_from_db()
    assert (indexed.status, indexed.input_rows_read, indexed.input_row_count) == (Status.DONE, False, 0)
    assert not IndexedInputRow.objects.exists()


def test_a_scan_taken_over_starts_its_input_rows_again_too():
    indexed = _index(status=Status.RUNNING, lease_holder="", attempts=1)
    writer.write_input_rows(indexed, [input_row(1, "left-by-a-dead-worker")])
    assert run_scan(indexed, _with_input([], 2, read=True), read_ahead=0) == "done"
    assert sorted(IndexedInputRow.objects.values_list("identifier", flat=True)) == ["row-0", "row-1"]
