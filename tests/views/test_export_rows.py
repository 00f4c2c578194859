"""The failures CSV's rows when they come straight from Meteroid's pages (before a scan has
every failure, or past its cap): the same records the table shows, odd ones included."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dashboard.failures.reasons import pattern_of
from dashboard.index.status import ScanStatus
from dashboard.meteroid.records import Failure
from dashboard.views.exports import _not_read_whole, _rows_from_meteroid

DETAIL = SimpleNamespace(id="bjob_7n42DGM5Tflk9n8mt7Fhc7")


def _failure(index: int, reason: str | None, identifier: str | None = None) -> Failure:
    return Failure(
        id=None,
        chunk_id="bjch_7n42DGM5Tflk9n8mt7Fhc7",
        item_index=index,
        item_identifier=identifier,
        reason=reason,
    )


def test_a_failure_without_a_reason_is_a_row_of_its_own_not_a_crash():
    failures = [_failure(0, None, "acme"), _failure(1, "Customer 'cus_4fQ2' not found")]
    rows = list(_rows_from_meteroid(DETAIL, failures, "", ""))
    assert [row[0] for row in rows] == [1, 2]
    assert rows[0][2] is None and rows[0][3] == ""


def test_a_failure_without_a_reason_is_searched_by_its_identifier_and_filtered_by_group():
    failures = [_failure(0, None, "acme"), _failure(1, "Customer 'cus_4fQ2' not found", "zeta")]
    assert [row[0] for row in _rows_from_meteroid(DETAIL, failures, "", "acme")] == [1]
    assert [row[0] for row in _rows_from_meteroid(DETAIL, failures, "", "not found")] == [2]
    no_reason = pattern_of("").key
    assert [row[0] for row in _rows_from_meteroid(DETAIL, failures, no_reason, "")] == [1]


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["The rows to fix", "The rows of a chunk that failed as a whole"])
def test_a_download_asked_before_the_failures_are_read_names_itself(rf, what):
    request = rf.get("/jobs/x/failures.csv")
    request.htmx = False
    response = _not_read_whole(request, ScanStatus("running", 10, 300), what)
    assert response.status_code == 409
    assert f"{what} are ready once the dashboard has read the job" in response.content.decode()
