"""What tests expect of a job's pages, worked out from its published index: the failures
the pages read, as `dashboard.index.reading` and `dashboard.index.queries` give them."""

from __future__ import annotations

import time

from dashboard.index.reading import JobFailures, Selection
from dashboard.meteroid.records import Failure
from tests.support.helpers import run_index_scans, wait_for_scan


def job_failures(job_id: str) -> JobFailures:
    """The failures of the job's index, read now (the scan runs in the test's thread)."""
    status = wait_for_scan(job_id)
    assert status.state == "done", (status.state, status.message)
    assert status.index is not None, "a job with failures to read has an index"
    return JobFailures(status.index)


def every_failure(selection: Selection) -> list[Failure]:
    """Every failure of a selection, in its order."""
    return selection.page(0, len(selection))


class WorkerMeanwhile:
    """The `time` module as a wait for an index (`status.settled`) sees it: while it sleeps,
    a worker runs the scans that wait, as one does beside the web process (a test's database
    is a transaction that no worker process can see). Install it with
    `monkeypatch.setattr(dashboard.index.status, "time", WorkerMeanwhile())`."""

    def __init__(self) -> None:
        self.sleeps = 0

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        run_index_scans()

    def __getattr__(self, name: str):
        return getattr(time, name)
