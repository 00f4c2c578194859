""" "Did it import?": a scan keeps each row of the job's input file by its identifier, and
`import_outcomes` says what became of an identifier's rows in each index."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest

from dashboard.index.across import (
    FAILED,
    FAILURES_ONLY,
    IMPORTED,
    NOT_IN_FILE,
    WHOLE_CHUNK,
    import_outcomes,
)
from dashboard.index.models import IndexedFailure, IndexedInputRow, IndexedJob
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import wait_for_scan

pytestmark = pytest.mark.django_db


def _indexed(role: str) -> IndexedJob:
    status = wait_for_scan(SHOWCASE[role])
    assert status.state == "done", status
    index = status.index
    index.refresh_from_db()
    return index


def _input_file(job_id: str, *columns: str) -> list[str]:
    """The job's input file read here, apart from the scan: each row's first of `columns`
    with a value (a row too short for them: "")."""
    gateway = get_gateway()
    job = gateway.job(job_id)
    with gateway.open_file(job.input_file_url) as download:
        text = b"".join(download.iter_chunks()).decode("utf-8")
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    return [
        next((value.strip() for name in columns if (value := row.get(name) or "").strip()), "")
        for row in csv.DictReader(io.StringIO(text), delimiter=delimiter)
    ]


def test_a_scan_keeps_every_input_row_of_a_customer_import_by_its_identifier():
    index = _indexed("customers")
    aliases = _input_file(index.job_id, "alias")
    assert (index.input_rows_read, index.input_rows_problem) == (True, "")
    assert index.input_row_count == len(aliases) == get_gateway().job(index.job_id).total_items
    kept = list(index.input_rows.order_by("row").values_list("row", "identifier"))
    assert kept == [(n, alias or None) for n, alias in enumerate(aliases, start=1)]


def test_a_subscription_import_with_semicolons_is_read_by_its_customer_alias():
    index = _indexed("semicolon")
    assert index.input_rows_read
    first = index.input_rows.order_by("row").first()
    assert first.row == 1
    assert first.identifier == _input_file(index.job_id, "customer_alias", "customer_id")[0]


def test_each_outcome_of_an_identifier():
    index = _indexed("customers")
    failure = index.failures.exclude(identifier=None).order_by("row").first()
    outcomes = import_outcomes([index], failure.identifier)
    assert (failure.row, FAILED + failure.reason) in outcomes[index]
    passed = _once_without_failure(index)
    # Folded as search folds it, exactly: case and surrounding spaces do not matter.
    assert import_outcomes([index], f"  {passed.identifier.upper()} ") == {index: [(passed.row, IMPORTED)]}
    assert import_outcomes([index], "no-such-customer-anywhere") == {index: [(None, NOT_IN_FILE)]}
    assert import_outcomes([index], passed.identifier[:-1]) == {index: [(None, NOT_IN_FILE)]}
    assert import_outcomes([index], "  ") == {}


def _once_without_failure(index: IndexedJob) -> IndexedInputRow:
    """An input row without a failure whose identifier no other row or failure has."""
    failed = set(index.failures.values_list("row", flat=True))
    named = set(index.failures.values_list("identifier_folded", flat=True))
    rows = list(index.input_rows.exclude(identifier=None).order_by("row"))
    seen = Counter(row.identifier_folded for row in rows)
    return next(
        row
        for row in rows
        if row.row not in failed and seen[row.identifier_folded] == 1 and row.identifier_folded not in named
    )


def test_a_row_too_short_to_read_failed_though_its_failure_names_no_identifier():
    index = _indexed("customers")
    short = index.failures.filter(identifier=None, reason__contains="found record with").first()
    assert short is not None, "the showcase job has a row too short to read"
    kept = index.input_rows.get(row=short.row)
    assert kept.identifier
    assert (short.row, FAILED + short.reason) in import_outcomes([index], kept.identifier)[index]


def test_a_row_of_a_whole_failed_chunk_says_so():
    index = _indexed("whole_chunks")
    lost = index.failures.filter(source=IndexedFailure.Source.CHUNK).exclude(identifier=None).first()
    assert lost is not None
    assert import_outcomes([index], lost.identifier) == {index: [(lost.row, WHOLE_CHUNK)]}


def test_a_job_type_without_identifiers_is_looked_at_for_failures_only():
    index = _indexed("migration")
    assert not index.input_rows_read
    assert "customer, subscription and event imports" in index.input_rows_problem
    assert not index.input_rows.exists()
    assert import_outcomes([index], "anything") == {index: [(None, FAILURES_ONLY)]}


def test_an_event_import_larger_than_the_setting_is_not_read_and_keeps_no_input_row(settings):
    settings.INDEX_INPUT_MAX_BYTES = 10_000
    index = _indexed("events")
    assert (index.input_rows_read, index.input_row_count) == (False, 0)
    assert "larger than the dashboard reads" in index.input_rows_problem
    assert not IndexedInputRow.objects.filter(indexed_job=index).exists()
    failure = index.failures.exclude(identifier=None).first()
    assert import_outcomes([index], failure.identifier)[index][0] == (failure.row, FAILED + failure.reason)
    assert import_outcomes([index], "no-such-event") == {index: [(None, FAILURES_ONLY)]}


def test_an_event_import_within_the_setting_is_read():
    index = _indexed("events")
    assert index.input_rows_read
    assert index.input_row_count == get_gateway().job(index.job_id).total_items


def test_a_running_jobs_input_rows_are_read_once_it_has_ended():
    # Its rows may yet fail (and a running job is scanned again at every change).
    index = _indexed("pending")
    assert index.active and not index.input_rows_read
    assert "still running" in index.input_rows_problem
    assert import_outcomes([index], "anything") == {index: [(None, FAILURES_ONLY)]}


def test_outcomes_of_several_indexes_come_in_the_order_given():
    customers, migration = _indexed("customers"), _indexed("migration")
    outcomes = import_outcomes([migration, customers], "no-such-customer-anywhere")
    assert list(outcomes.items()) == [
        (migration, [(None, FAILURES_ONLY)]),
        (customers, [(None, NOT_IN_FILE)]),
    ]


def test_an_input_file_meteroid_cannot_give_leaves_the_failures_read_whole(monkeypatch):
    """The input file down (a 503 after the retries): the index of the job's failures is
    published all the same, and says why its file's rows are not there."""
    from dashboard.meteroid.errors import ErrorKind, MeteroidError
    from dashboard.meteroid.gateway import Gateway

    opened = Gateway.open_file

    def input_down(self, url, **kwargs):
        if "input" in url:
            raise MeteroidError(ErrorKind.UNAVAILABLE, "Meteroid is unavailable right now.")
        return opened(self, url, **kwargs)

    monkeypatch.setattr(Gateway, "open_file", input_down)
    index = _indexed("customers")
    assert index.status == IndexedJob.Status.DONE
    assert index.records == get_gateway().job(index.job_id).failure_count
    assert (index.input_rows_read, index.input_row_count) == (False, 0)
    assert index.input_rows_problem == "its input file could not be read: Meteroid is unavailable right now."
