"""What tests expect of a job's pages, worked out from its published index: the failures
the pages read, as `dashboard.index.reading` and `dashboard.index.queries` give them."""

from __future__ import annotations

from dashboard.index.reading import JobFailures, Selection
from dashboard.meteroid.records import Failure
from tests.helpers import wait_for_scan


def job_failures(job_id: str) -> JobFailures:
    """The failures of the job's index, read now (the scan runs in the test's thread)."""
    status = wait_for_scan(job_id)
    assert status.state == "done", (status.state, status.message)
    assert status.index is not None, "a job with failures to read has an index"
    return JobFailures(status.index)


def every_failure(selection: Selection) -> list[Failure]:
    """Every failure of a selection, in its order."""
    return selection.page(0, len(selection))
