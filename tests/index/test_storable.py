"""What the index keeps of users' data, on SQLite and on PostgreSQL alike: text with NUL
(which PostgreSQL's text and jsonb refuse) kept with ␀ in its place, as pages draw it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.failures.reasons import pattern_of
from dashboard.index.indexing import Rows, run_scan
from dashboard.index.models import IndexedFailure, IndexedJob
from dashboard.index.rows import input_row, record_row, storable
from dashboard.meteroid.records import Failure

pytestmark = pytest.mark.django_db


def test_nul_becomes_the_picture_pages_draw_for_it_in_text_lists_and_dicts():
    assert storable("a\x00b") == "a\u2400b"
    assert storable(("x\x00", None, 3)) == ("x\u2400", None, 3)
    assert storable({"file_name": "f\x00.csv", "n": [["e\x00", 2]]}) == {
        "file_name": "f\u2400.csv",
        "n": [["e\u2400", 2]],
    }
    assert storable("plain") == "plain"


def test_a_failure_with_nul_in_every_text_is_indexed_and_reads_back_as_pages_show_it():
    indexed = IndexedJob.objects.create(
        base_url="https://meteroid.example",
        key_fingerprint="0" * 16,
        job_id="bjob_1",
        state_key="s",
        updated_at=timezone.now(),
    )
    failure = Failure("bjf_\x001", "bjch_\x00", 0, "cus\x00tomer", "Plan '\x00gold' is unknown\x00")
    row = record_row(failure)
    assert row.pattern_key == pattern_of("Plan '\u2400gold' is unknown\u2400").key
    assert input_row(1, "cus\x00tomer").identifier == "cus\u2400tomer"

    def source(_):
        return Rows(total=1, rows=iter([row]), notes={"file_name": "in\x00put.csv"})

    assert run_scan(indexed, source) == "done"
    kept = IndexedFailure.objects.get(indexed_job=indexed)
    assert (kept.failure_id, kept.chunk_id, kept.identifier, kept.reason) == (
        "bjf_\u24001",
        "bjch_\u2400",
        "cus\u2400tomer",
        "Plan '\u2400gold' is unknown\u2400",
    )
    assert kept.masked == ["\u2400gold"]
    indexed.refresh_from_db()
    assert indexed.file_name == "in\u2400put.csv"
