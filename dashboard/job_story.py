"""What can be said of a job whose numbers alone say little: a failed job without failure
records, or an active job that has not moved for hours.

Meteroid's REST API gives no reason for a failed job, but its worker fails one in few ways
(read off meteroid-oss/meteroid, `workers/batch_jobs/worker.rs` and the processors):
- before chunking, when the input file cannot be fetched, its header row cannot be read, a
  column it needs is missing, it has no data rows, or (subscriptions) it has too many rows;
  such a job was never split into chunks, so it has no `total_items`;
- when chunks exhaust their retries and fail as a whole (no failure record; the errors CSV
  holds their rows with the chunk's last error);
- when it is still running 4 hours after it was created (`max_job_age`).

Pure: the job, the account of its failed rows and the errors of its whole failed chunks come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.meteroid.records import JobDetail
from dashboard.templatetags.dashboard_tags import duration
from dashboard.whole_chunks import RowAccount

# Meteroid's worker fails a job still running this long after it was created.
MAX_JOB_AGE = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Story:
    headline: str
    details: tuple[str, ...] = ()
    stuck: bool = False  # an active job that Meteroid should have ended by now


def _rows(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


def job_story(
    job: JobDetail,
    account: RowAccount,
    *,
    chunk_errors: Sequence[tuple[str, int]] = (),
    now: datetime,
) -> Story | None:
    """What is known of why `job` looks as it does, or None when its numbers say it all.

    `chunk_errors` are the distinct errors of its whole failed chunks, with how many chunks
    each ended with, as read from its errors CSV.
    """
    if job.is_active:
        return _stuck(job, now)
    if job.status != "FAILED":
        return None
    age = job.duration(now)
    if job.total_items is None and job.processed_items == 0 and job.failure_count == 0:
        return Story(
            "Meteroid failed this job before processing any row: the file was never split into chunks.",
            (
                "Meteroid fails a job at that step when it cannot fetch the input file, cannot read "
                "the file's header row as CSV, finds a column it needs missing, finds no data rows "
                "below the header, or (for subscriptions) finds more than 5,000 rows.",
                "Its REST API does not say which: check the input file (its delimiter, header and "
                "encoding) and import it again.",
            ),
        )
    details: list[str] = []
    if age >= MAX_JOB_AGE and job.total_items is not None and job.processed_items < job.total_items:
        left = job.total_items - job.processed_items
        details.append(
            f"Meteroid gave up on it: it was still running {duration(age)} after it was created, and "
            f"Meteroid fails a job still running after {duration(MAX_JOB_AGE)}. "
            f"{_rows(left)} of {job.total_items:,} were never processed."
        )
    if job.failure_count == 0 and job.failed_items:
        details.insert(0, _whole_chunks(job, account, chunk_errors))
    if not details:
        if job.failure_count:
            return None
        return Story(
            "Meteroid marked this job failed but counts no failed row.",
            ("Its REST API gives no reason; Meteroid's own logs of the job would.",),
        )
    headline, *rest = details
    return Story(headline, tuple(rest))


def _whole_chunks(job: JobDetail, account: RowAccount, chunk_errors: Sequence[tuple[str, int]]) -> str:
    text = (
        f"Every failed row ({_rows(job.failed_items)}) was lost with chunks that failed as a whole: "
        "Meteroid tried each of them again and gave up, and records no failure row by row for them."
    )
    if chunk_errors:
        errors = "; ".join(
            f"“{message}”"
            + (f" ({count:,} chunk{'s' if count != 1 else ''})" if len(chunk_errors) > 1 else "")
            for message, count in chunk_errors
        )
        plural = "s" if account.failed_chunks != 1 else ""
        text += f" The error of the {account.failed_chunks:,} chunk{plural}, from Meteroid's errors CSV: {errors}."
    elif account.reading:
        text += " The dashboard is reading their error from Meteroid's errors CSV."
    elif job.has_error_csv:
        text += " Their error is in the _error column of Meteroid's errors CSV."
    else:
        text += " Meteroid wrote no errors CSV for the job, the only place that would give their error."
    return text


def _stuck(job: JobDetail, now: datetime) -> Story | None:
    age = job.duration(now)
    if age < MAX_JOB_AGE:
        return None
    doing = {
        "PENDING": "waiting to start",
        "CHUNKING": "being split into chunks",
    }.get(job.status, "running")
    return Story(
        f"This job looks stuck: it has been {doing} for {duration(age)}.",
        (
            f"Meteroid fails a job still running {duration(MAX_JOB_AGE)} after it was created, so "
            "one still active after that is no longer being worked on: Meteroid's batch worker is "
            "probably not running, or lost the job. Its numbers will not move until it is restarted.",
        ),
        stuck=True,
    )
