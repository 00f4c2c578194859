"""What can be said of a job whose numbers alone say little: a failed job without failure
records, or an active job that has not moved for hours.

Meteroid's REST API gives no reason for a failed job, but its worker fails one in few ways
(read off meteroid-oss/meteroid, `workers/batch_jobs/worker.rs` and the processors):
- before chunking, when the input file cannot be fetched, its header row cannot be read, a
  column it needs is missing, it has no data rows, or (subscriptions) it has too many rows;
  such a job was never split into chunks, so it has no `total_items`;
- when chunks exhaust their retries and fail as a whole (no failure record; the errors CSV
  holds their rows with the chunk's last error);
- when it is still processing 4 hours after it was created (`max_job_age`): its chunks not yet
  started are skipped, so it ends with rows never processed.
A pending job is picked up within a second by Meteroid's worker (it polls every 500 ms), and
splitting a file takes seconds to minutes; the 4-hour limit applies only once a job is
processing, so a job left pending or chunking stays so for ever.

Pure: the job, the account of its failed rows and the errors of its whole failed chunks come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.failures.whole_chunks import RowAccount
from dashboard.meteroid.records import JobDetail
from dashboard.templatetags.dashboard_tags import duration

# Meteroid's worker ends a job still processing this long after it was created.
MAX_JOB_AGE = timedelta(hours=4)
# A job still pending or being split this long after it was created is not being worked on.
STUCK_BEFORE_PROCESSING = timedelta(hours=1)


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
    if job.notes:
        # Told from numbers that could not be read, or look wrong, a story would mislead:
        # the summary says what is wrong with them instead.
        return None
    if job.is_active:
        return _stuck(job, now)
    if job.status == "CANCELLED":
        return None
    age = job.duration(now)
    if job.status != "FAILED":
        gave_up = _gave_up(job, age)
        return Story(gave_up) if gave_up else None
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
    if gave_up := _gave_up(job, age):
        details.append(gave_up)
    if job.failure_count == 0 and job.failed_items:
        details[:0] = _whole_chunks(job, account, chunk_errors)
    if not details:
        if job.failure_count:
            return None
        return Story(
            _stopped(job),
            ("Its REST API gives no reason for a failed job; Meteroid's own logs of the job would.",),
        )
    headline, *rest = details
    return Story(headline, tuple(rest))


def _stopped(job: JobDetail) -> str:
    """A failed job with no failed row, as its numbers tell it."""
    items = "rows" if job.job_type.endswith("_CSV_IMPORT") else "items"
    if job.total_items is not None and job.processed_items < job.total_items:
        left = job.total_items - job.processed_items
        return (
            f"Meteroid stopped this job after processing {job.processed_items:,} of its "
            f"{job.total_items:,} {items}, with none failed: the other {left:,} were never processed."
        )
    return f"Meteroid marked this job failed, but counts no failed {items[:-1]}."


def _gave_up(job: JobDetail, age: timedelta) -> str:
    """Why an ended job has rows never processed, when Meteroid's time limit explains it."""
    if age < MAX_JOB_AGE or job.total_items is None or job.processed_items >= job.total_items:
        return ""
    left = job.total_items - job.processed_items
    return (
        f"Meteroid gave up on this job: it ended {duration(age)} after it was created, and Meteroid "
        f"stops a job still processing after {duration(MAX_JOB_AGE)}, skipping the chunks it has not "
        f"started. {_rows(left)} of {job.total_items:,} were never processed."
    )


def _whole_chunks(job: JobDetail, account: RowAccount, chunk_errors: Sequence[tuple[str, int]]) -> list[str]:
    """What is known of a failed job whose every failed row was lost with whole chunks."""
    said = [
        f"Every failed row ({_rows(job.failed_items)}) was lost with chunks that failed as a whole: "
        "Meteroid tried each of them again, gave up, and records no failure row by row for them."
    ]
    if chunk_errors:
        errors = "; ".join(
            f"“{message}”"
            + (f" ({count:,} chunk{'s' if count != 1 else ''})" if len(chunk_errors) > 1 else "")
            for message, count in chunk_errors
        )
        plural = "s" if account.failed_chunks != 1 else ""
        said.append(
            f"The error of the {account.failed_chunks:,} chunk{plural}, from Meteroid's errors CSV: {errors}."
        )
    elif account.reading:
        said.append("The dashboard is reading their error from Meteroid's errors CSV.")
    elif job.has_error_csv:
        said.append("Their error is in the _error column of Meteroid's errors CSV.")
    else:
        said.append("Meteroid wrote no errors CSV for the job, the only place that would give their error.")
    return said


def _stuck(job: JobDetail, now: datetime) -> Story | None:
    age = job.duration(now)
    if job.status in ("PENDING", "CHUNKING"):
        if age < STUCK_BEFORE_PROCESSING:
            return None
        doing = (
            "it has been waiting to start"
            if job.status == "PENDING"
            else "Meteroid has been splitting its file into chunks"
        )
        why = (
            "Meteroid's batch worker picks a new job up within seconds and splits its file in "
            "minutes, and sets no time limit before processing starts: a job left like this "
            "stays so until Meteroid's worker is running again (or the job is cancelled)."
        )
    elif age >= MAX_JOB_AGE:
        doing = "it has been processing"
        why = (
            f"Meteroid stops a job still processing {duration(MAX_JOB_AGE)} after it was created; "
            "this one goes on, so Meteroid's batch worker, which does that, is probably not running."
        )
    else:
        return None
    return Story(f"This job looks stuck: {doing} for {duration(age)}.", (why,), stuck=True)
