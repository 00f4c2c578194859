"""A stand-in for `MeteroidClient`, for unit tests of the gateway and of scans (no HTTP):
canned answers, every call recorded, errors scripted. Tests of what goes over the wire use
the scripted Meteroid (tests/support/upstream.py) or the sandbox instead."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.records import Failure, FailureColumns, FailurePage, JobDetail, JobList

JOB_ID = "bjob_7n42DGM5Tflk9n8mt7Fhc7"


def job_detail(status: str = "COMPLETED_WITH_ERRORS", job_id: str = JOB_ID) -> JobDetail:
    return JobDetail.parse(
        {
            "id": job_id,
            "job_type": "CUSTOMER_CSV_IMPORT",
            "status": status,
            "processed_items": 10,
            "failed_items": 2,
            "created_by": "5f0c6a2e-8d1b-4c3a-9e7f-2b4d6a8c0e1f",
            "created_at": "2026-03-25T10:00:00.000Z",
            "failure_count": 2,
            "has_error_csv": True,
        }
    )


def job_with_failures(failures: int, status: str = "COMPLETED_WITH_ERRORS") -> JobDetail:
    """A job of 10,000 rows of which `failures` failed, in `status`."""
    return JobDetail(
        id="bjob_test1",
        job_type="CUSTOMER_CSV_IMPORT",
        status=status,
        processed_items=10_000,
        failed_items=failures,
        total_items=10_000,
        created_by="00000000-0000-0000-0000-000000000000",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        completed_at=None,
        input_file_name="x.csv",
        failure_count=failures,
        has_error_csv=True,
        error_csv_url=None,
        input_file_url=None,
        has_output=False,
        output_url=None,
    )


class FakeClient:
    """Serves `failures` failures (every third row failing, 50 rows a chunk) and a job of
    `status`. `calls` lists every call as a tuple; `errors` are raised first, one a call;
    from offset `fail_at` on, pages of failures fail; with a `gate`, each page of failures
    waits for it to open."""

    def __init__(
        self,
        failures: int = 0,
        *,
        base_url: str = "http://meteroid.test",
        fingerprint: str = "f" * 16,
        fail_at: int | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.base_url = base_url
        self.key_fingerprint = fingerprint
        self.status = "COMPLETED_WITH_ERRORS"
        self.rows = [
            Failure(
                f"id-{i}", f"bjch_{(i * 3) // 50}", i * 3, f"alias-{i}" if i % 5 else None, f"Reason {i % 4}"
            )
            for i in range(failures)
        ]
        self.fail_at = fail_at
        self.gate = gate
        self.calls: list[tuple] = []
        self.errors: list[MeteroidError] = []
        self._lock = threading.Lock()

    def _answer(self, call: tuple) -> None:
        with self._lock:
            self.calls.append(call)
            error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error

    def list_jobs(self, *, job_type=None, statuses=(), page=0, per_page=10) -> JobList:
        self._answer(("jobs", job_type, tuple(statuses), page, per_page))
        return JobList.parse(
            {
                "data": [],
                "pagination_meta": {"page": page, "per_page": per_page, "total_items": 0, "total_pages": 0},
            }
        )

    def get_job(self, job_id: str) -> JobDetail:
        self._answer(("job", job_id))
        return job_detail(self.status, job_id)

    def list_failures(self, job_id, *, limit=25, offset=0, chunk_id=None) -> FailurePage:
        self._answer(("failures", job_id, limit, offset, chunk_id))
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail_at is not None and offset >= self.fail_at:
            raise MeteroidError(ErrorKind.UNAVAILABLE, "Meteroid could not be reached.")
        return FailurePage(tuple(self.rows[offset : offset + limit]), len(self.rows))

    def list_failure_columns(self, job_id, *, limit=25, offset=0) -> FailureColumns:
        page = self.list_failures(job_id, limit=limit, offset=offset)
        return FailureColumns(
            [f.item_index for f in page.failures],
            [f.chunk_id for f in page.failures],
            [f.item_identifier for f in page.failures],
            [f.reason for f in page.failures],
            page.total_count,
        )

    def open_file(self, url, *, default_filename="download"):
        self._answer(("file", url))
        return url
