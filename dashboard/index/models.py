"""What the index keeps: one `IndexedJob` per Meteroid, job and state, and its failures.

An index is written while its status is `running` and read only once it is `done`: pages
never see a half-written one. When a job's state changes (a retry), the index of the new
state is published in one transaction that marks the old one superseded, so a reader finds
the old complete index or the new complete one, never a mix; superseded indexes are deleted
by the pruning a little later, once no page can still be reading them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class IndexedJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class AskedBy(models.TextChoices):
        PAGE = "page"
        BACKGROUND = "background"

    # The Meteroid it came from, as one API key sees it: never the key itself.
    base_url = models.CharField(max_length=500)
    key_fingerprint = models.CharField(max_length=32)
    job_id = models.CharField(max_length=100)
    # The job's state it was read at (`job_state_key`): a retried job is a new state.
    state_key = models.CharField(max_length=64)
    # The job as it was read, for pages across jobs (searching them, causes across them).
    job_type = models.CharField(max_length=40, blank=True)
    job_status = models.CharField(max_length=40, blank=True)
    file_name = models.TextField(blank=True)
    job_created_at = models.DateTimeField(null=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    fetched = models.PositiveBigIntegerField(default=0)  # failures read so far
    total = models.PositiveBigIntegerField(null=True)  # failures Meteroid announced
    records = models.PositiveBigIntegerField(default=0)  # failure records written
    chunk_rows = models.PositiveBigIntegerField(default=0)  # rows of whole failed chunks written
    unreadable_rows = models.PositiveBigIntegerField(default=0)  # of those chunks, rows not CSV
    chunk_rows_problem = models.TextField(blank=True)  # why those rows could not be read, if so
    capped = models.BooleanField(default=False)  # more failures than SCAN_MAX_FAILURES
    failed_chunks = models.PositiveIntegerField(default=0)  # whole failed chunks those rows are of
    # The errors of the whole failed chunks (as in the errors CSV) with how many chunks ended
    # with each, most first: [[message, chunks], …].
    chunk_errors = models.JSONField(default=list)
    records_apart = models.PositiveBigIntegerField(default=0)  # records without a row number: left out
    records_unreadable = models.PositiveBigIntegerField(default=0)  # records with a field unreadable
    active = models.BooleanField(default=False)  # the job was still running when it was read
    # What every page of the job shows, worked out once when the index is published
    # (`queries.summary_of`): its chunks, its largest reason groups, and how many there are.
    summary = models.JSONField(default=dict)
    error = models.TextField(blank=True)  # why the scan failed, for people to read
    # Who asked for it: a page (scanned first), or no page anyone looks at (the backfill that
    # keeps recent jobs indexed, a search across jobs reading its window).
    asked_by = models.CharField(max_length=10, choices=AskedBy.choices, default=AskedBy.PAGE)
    # The job's entry in Meteroid's list when the backfill last asked (`backfill.list_key`):
    # an ended job whose entry has not changed is not read again.
    list_key = models.CharField(max_length=24, blank=True)
    # Whether the input file's rows were read (`IndexedInputRow`), and why not if not.
    input_rows_read = models.BooleanField(default=False)
    input_rows_problem = models.TextField(blank=True)
    input_row_count = models.PositiveBigIntegerField(default=0)

    task_id = models.CharField(max_length=64, blank=True)  # the task that should run it
    attempts = models.PositiveIntegerField(default=0)  # scans started (a dead worker's count)
    lease_holder = models.CharField(max_length=64, blank=True)  # the worker scanning it
    heartbeat_at = models.DateTimeField(null=True)  # when that worker last said it was alive

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField()  # set by every write (updates bypass auto_now)
    superseded_at = models.DateTimeField(null=True)  # a newer state's index replaced it

    class Meta:
        constraints = [
            # One index per job and state: a second request joins the first.
            models.UniqueConstraint(
                fields=["base_url", "key_fingerprint", "job_id", "state_key"], name="index_job_state_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["base_url", "key_fingerprint", "job_id", "status"], name="index_job_lookup"),
            models.Index(fields=["status", "heartbeat_at"], name="index_job_lease"),
            models.Index(fields=["created_at"], name="index_job_age"),
            # Pages across jobs: the published indexes of one Meteroid, newest jobs first.
            models.Index(
                fields=["base_url", "key_fingerprint", "status", "job_created_at"], name="index_job_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}@{self.state_key} ({self.status})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 0
        return min(100, int(100 * self.fetched / self.total))


class IndexedFailure(models.Model):
    class Source(models.TextChoices):
        RECORD = "record"  # a failure record of Meteroid's API
        CHUNK = "chunk"  # a row of a whole failed chunk, read from the errors CSV

    # Deleted by the database with its job: an index holds a quarter of a million rows,
    # which Django's own cascade would load to delete one by one.
    indexed_job = models.ForeignKey(IndexedJob, on_delete=models.DB_CASCADE, related_name="failures")
    row = models.BigIntegerField()  # 1-based, as people count rows in a file
    # None, not "", where there is none: Meteroid tells an absent identifier from an empty one,
    # and the constraint below leaves out rows without a failure id.
    failure_id = models.CharField(max_length=64, null=True)  # noqa: DJ001 (Meteroid's; none for chunk rows)
    identifier = models.TextField(null=True)  # noqa: DJ001
    reason = models.TextField()
    pattern_key = models.CharField(max_length=32)  # dashboard.failures.reasons: the group
    normaliser_version = models.PositiveSmallIntegerField()
    masked = models.JSONField(default=list)  # the values the pattern masked, in slot order
    # Meteroid's chunk id; for a row of a whole failed chunk, which Meteroid gives no id the
    # dashboard can see, the chunk's rows as links name it (`rows-51-100`).
    chunk_id = models.CharField(max_length=100)
    source = models.CharField(max_length=6, choices=Source.choices)
    # What search compares (`dashboard.failures.search.fold`): the identifier, stripped, and the reason.
    identifier_folded = models.TextField(default="")
    reason_folded = models.TextField(default="")

    class Meta:
        constraints = [
            # A failure record is written once, whoever scans and however often one restarts.
            models.UniqueConstraint(
                fields=["indexed_job", "failure_id"],
                condition=Q(failure_id__isnull=False),
                name="index_failure_once",
            ),
        ]
        indexes = [
            # The row lookup (`row=`) and paging in file order.
            models.Index(fields=["indexed_job", "row"], name="index_failure_row"),
            # The chunk list and a chunk's rows.
            models.Index(fields=["indexed_job", "chunk_id", "row"], name="index_failure_chunk"),
            # Reason groups (counted by key) and a group's rows.
            models.Index(fields=["indexed_job", "pattern_key", "row"], name="index_failure_pattern"),
        ]
        # On PostgreSQL, search (contains, on the folded identifier and reason) has pg_trgm
        # indexes of its own: see migration 0003.

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason[:60]}"


class IndexedCause(models.Model):
    """One reason pattern of a published index, with its failures counted: what the pages
    across jobs add up (causes, their days and jobs) instead of every failure of the window.
    Written when the index is published, from the GROUP BY that makes its summary; an index
    never changes once published, so its causes never go stale, and go with it."""

    indexed_job = models.ForeignKey(IndexedJob, on_delete=models.DB_CASCADE, related_name="causes")
    pattern_key = models.CharField(max_length=32)  # as `IndexedFailure.pattern_key`
    failed = models.PositiveBigIntegerField()  # the index's failures of the pattern
    example = models.TextField()  # a reason of the pattern (the least), to make its template from

    class Meta:
        constraints = [
            # Also what the window's causes are read by: the rows of each of its indexes.
            models.UniqueConstraint(fields=["indexed_job", "pattern_key"], name="index_cause_once"),
        ]
        indexes = [
            # A cause's jobs: one pattern's rows.
            models.Index(fields=["pattern_key", "indexed_job"], name="index_cause_pattern"),
        ]

    def __str__(self) -> str:
        return f"{self.pattern_key}: {self.failed}"


class IndexedInputRow(models.Model):
    """A row of the job's input file, by its identifier: what tells "imported" from "not in
    this file" when no failure names it."""

    indexed_job = models.ForeignKey(IndexedJob, on_delete=models.DB_CASCADE, related_name="input_rows")
    row = models.BigIntegerField()  # 1-based, as `IndexedFailure.row`
    identifier = models.TextField(null=True)  # noqa: DJ001 (a row may have none)
    identifier_folded = models.TextField(default="")  # `search.fold`, stripped, as failures'

    class Meta:
        indexes = [
            # "Did it import?": one identifier, in every index of a window.
            models.Index(fields=["identifier_folded", "indexed_job"], name="index_input_identifier"),
        ]

    def __str__(self) -> str:
        return f"row {self.row}: {self.identifier}"
