"""The sandbox's demo data: jobs, chunks and failures computed from a seed, page by page.

Nothing is stored. A job is a small `JobPlan` (type, rows, failure profile); how many rows
fail in each chunk follows from a hash of (job, chunk), and which rows and why from a hash
of (job, row) (see `rows.py`). Prefix sums over the chunks, cached per job, find the n-th
failure of a job or of a chunk at once, so a page of a 200,000-failure job costs what a page
of a small one does.

Catalogue jobs end before an anchor, a fixed instant (`ANCHOR_MS` unless the caller gives
another), so every process and every test agrees on them. Live jobs start every `LIVE_SLOT_MS` on the wall clock and advance with the
`now` the caller passes; their ids come from (seed, slot), so every process agrees on them too.

Ended jobs with chunks that failed as a whole can be retried, as in Meteroid's web app: the
job reopens (`PROCESSING`, no `completed_at`, no errors CSV), its failed chunks run again, and
it ends again (see "Retries" below). Some live jobs are retried a few minutes after they end,
and get through some of those chunks; a few catalogue jobs are retried every
`RETRY_CYCLE_MS` and fail the same way again; and the control endpoint retries a job on
demand (the instants it was asked are an argument here, `retries`).

Pure functions: the seed and the clock are arguments, nothing here reads settings.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate, islice
from typing import NamedTuple

from dashboard.sandbox.world import rows
from dashboard.sandbox.world.rows import Draw, meteroid_id, parse_base62, uuid_text

DEFAULT_SEED = 20260325  # the default of settings.SANDBOX_SEED
# Catalogue jobs all happened in the four weeks before this instant (2026-11-28T00:00:00Z).
ANCHOR_MS = int(datetime(2026, 11, 28, tzinfo=UTC).timestamp() * 1000)

EVENTS = "EVENT_CSV_IMPORT"
CUSTOMERS = "CUSTOMER_CSV_IMPORT"
SUBSCRIPTIONS = "SUBSCRIPTION_CSV_IMPORT"
MIGRATION = "SUBSCRIPTION_PLAN_MIGRATION"
EXPORT = "TAX_REPORT_EXPORT"
JOB_TYPES = (EVENTS, CUSTOMERS, SUBSCRIPTIONS, MIGRATION, EXPORT)
ACTIVE_STATUSES = ("PENDING", "CHUNKING", "PROCESSING")
TERMINAL_STATUSES = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED")
STATUSES = ACTIVE_STATUSES + TERMINAL_STATUSES

# Rows per chunk (API-NOTES.md). Exports split their work too, but never fail per row.
CHUNK_SIZES = {EVENTS: 500, CUSTOMERS: 50, SUBSCRIPTIONS: 50, MIGRATION: 50, EXPORT: 500}
MAX_SUBSCRIPTION_ROWS = 5_000

JOB_PREFIX = "bjob_"
CHUNK_PREFIX = "bjch_"


# --- Shapes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """How a job's failures spread over its chunks."""

    zero: float = 1.0  # chance that a chunk has no failing row
    dense: float = 0.0  # chance that a chunk fails densely (else it has 1..few failures)
    few: int = 3
    dense_share: tuple[float, float] = (0.3, 0.9)  # share of a dense chunk's rows that fail
    dense_every: int = 0  # every n-th chunk is dense anyway: keeps showcase counts in range
    whole: float = 0.0  # chance that a chunk failed as a whole (no records, all rows failed)
    whole_every: int = 0  # every n-th chunk (counted from n-1) failed as a whole anyway


NO_FAILURES = Profile()
SPARSE = Profile(zero=0.75, few=3)
MIXED = Profile(zero=0.55, dense=0.12, few=5)
DENSE = Profile(zero=0.05, dense=0.85, few=5, dense_share=(0.5, 0.95))
MIXED_WHOLE = Profile(zero=0.55, dense=0.1, few=5, whole=0.08, whole_every=9)
WHOLE_ONLY = Profile(whole=0.1, whole_every=5)


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What never changes about a job; the key of every per-job cache."""

    seed: int
    key: str  # hashed into every chunk and row of the job
    id: str
    job_type: str
    rows: int  # rows of the input file (items of a migration, invoices of an export)
    profile: Profile
    created_ms: int
    created_by: str
    input_file_name: str | None
    hostile: bool = False  # every failing row carries hostile text
    # Of the chunks that failed as a whole, those a retry is running again (no records, not
    # failed yet) and those a retry got through (with the failures of their own rows).
    pending: frozenset[int] = frozenset()
    recovered: frozenset[int] = frozenset()
    delimiter: str = ","  # the input file's field delimiter (the job's `delimiter` parameter)
    encoding: str = "utf-8"  # the input file's encoding ("cp1252": Windows-1252, names with accents)

    @property
    def chunk_size(self) -> int:
        return CHUNK_SIZES[self.job_type]

    @property
    def chunk_count(self) -> int:
        return -(-self.rows // self.chunk_size)


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the API shows it at one instant."""

    plan: JobPlan
    status: str
    total_items: int | None  # None until the file has been split into chunks
    processed_items: int  # rows processed so far, failed ones included
    failed_items: int  # failure records plus the rows of whole failed chunks
    failure_count: int  # failure records
    completed_ms: int | None
    # Rows passed in file order, where it is not processed_items: while a retry runs again
    # chunks behind it, every other chunk's records stay listed.
    horizon: int | None = None

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def job_type(self) -> str:
        return self.plan.job_type

    @property
    def created_ms(self) -> int:
        return self.plan.created_ms

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def has_error_csv(self) -> bool:
        # Written when a job ends with errors, as Meteroid's worker does: from its failure
        # records and the rows of its whole failed chunks.
        return self.status in ("COMPLETED_WITH_ERRORS", "FAILED") and self.failed_items > 0

    @property
    def has_input_file(self) -> bool:
        return self.plan.input_file_name is not None

    @property
    def has_output(self) -> bool:
        return self.plan.job_type == EXPORT and self.status == "COMPLETED"


class Failure(NamedTuple):
    id: str
    chunk_id: str
    item_index: int
    item_identifier: str | None
    reason: str


def format_time(ms: int) -> str:
    """RFC 3339 in UTC with milliseconds, as Meteroid writes times: `2026-03-25T10:00:00.000Z`."""
    return f"{datetime.fromtimestamp(ms // 1000, UTC):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def is_meteroid_id(value: str, prefix: str) -> bool:
    """Whether `value` is `prefix` followed by the base62 of a 128-bit number."""
    return value.startswith(prefix) and parse_base62(value[len(prefix) :]) is not None


# --- Chunks and failures of one job -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    counts: tuple[int, ...]  # failure records per chunk (0 for a chunk failed as a whole)
    whole: tuple[bool, ...]  # chunks that failed as a whole
    before: tuple[int, ...]  # failure records in the chunks before chunk k (k = 0..n)
    whole_rows_before: tuple[int, ...]  # rows of whole failed chunks before chunk k
    # Rows of each chunk whose data is wrong: its records, or, for a chunk that failed as a
    # whole, the rows that fail once a retry gets the chunk through.
    spoiled: tuple[int, ...]


def _chunk_rows(plan: JobPlan, k: int) -> int:
    return min(plan.chunk_size, plan.rows - k * plan.chunk_size)


def _latent(plan: JobPlan, k: int, size: int) -> int:
    """Rows of a chunk that failed as a whole that fail on their own once it gets through."""
    d = Draw(plan.key, "latent", k)
    return d.between(1, min(size, 3)) if d.unit() < 0.5 else 0


@lru_cache(maxsize=512)
def _layout(plan: JobPlan) -> _Layout:
    profile = plan.profile
    counts, whole, spoiled = [], [], []
    for k in range(plan.chunk_count):
        d, size = Draw(plan.key, "chunk", k), _chunk_rows(plan, k)
        u, lost = d.unit(), d.unit()
        if (
            profile.whole_every and k % profile.whole_every == profile.whole_every - 1
        ) or lost < profile.whole:
            latent = _latent(plan, k, size)
            spoiled.append(latent)
            if k in plan.pending:
                counts.append(0)
                whole.append(False)
            elif k in plan.recovered:
                counts.append(latent)
                whole.append(False)
            else:
                counts.append(0)
                whole.append(True)
            continue
        whole.append(False)
        if (profile.dense_every and k % profile.dense_every == 0) or 1 - profile.dense <= u:
            low, high = profile.dense_share
            counts.append(max(1, round(size * (low + (high - low) * d.unit()))))
        elif u < profile.zero:
            counts.append(0)
        else:
            counts.append(min(size, d.between(1, profile.few)))
        spoiled.append(counts[-1])
    whole_rows = [_chunk_rows(plan, k) if lost else 0 for k, lost in enumerate(whole)]
    return _Layout(
        counts=tuple(counts),
        whole=tuple(whole),
        before=(0, *accumulate(counts)),
        whole_rows_before=(0, *accumulate(whole_rows)),
        spoiled=tuple(spoiled),
    )


def _offsets(plan: JobPlan, k: int) -> tuple[int, ...]:
    """The failing rows of chunk k, as offsets in the chunk, ascending."""
    return _pick(plan.key, k, _layout(plan).counts[k], _chunk_rows(plan, k))


def _spoiled_offsets(plan: JobPlan, k: int) -> tuple[int, ...]:
    """The rows of chunk k whose data is wrong: its failing rows, or those of a chunk that
    failed as a whole once it gets through (the input file is the same before and after)."""
    return _pick(plan.key, k, _layout(plan).spoiled[k], _chunk_rows(plan, k))


@lru_cache(maxsize=8192)
def _pick(key: str, k: int, count: int, size: int) -> tuple[int, ...]:
    if count == 0:
        return ()
    pick = random.Random(Draw(key, "rows", k).below(1 << 64))
    if count * 2 <= size:
        return tuple(sorted(pick.sample(range(size), count)))
    # Dense chunk: draw the few rows that pass instead, it is cheaper.
    passing = set(pick.sample(range(size), size - count))
    return tuple(i for i in range(size) if i not in passing)


@lru_cache(maxsize=256)
def _chunk_ids(plan: JobPlan) -> tuple[str, ...]:
    return tuple(meteroid_id(CHUNK_PREFIX, plan.key, "chunk-id", k) for k in range(plan.chunk_count))


@lru_cache(maxsize=256)
def _chunk_numbers(plan: JobPlan) -> dict[str, int]:
    return {chunk: k for k, chunk in enumerate(_chunk_ids(plan))}


def chunk_id(job: Job, k: int) -> str:
    """The id of the job's chunk k (rows [k*size, (k+1)*size))."""
    return _chunk_ids(job.plan)[k]


def chunk_number(job: Job, chunk: str) -> int | None:
    """Which chunk of the job `chunk` is, or None when it is not one of its chunks."""
    return _chunk_numbers(job.plan).get(chunk)


def _progress(plan: JobPlan, horizon: int) -> tuple[int, int]:
    """(failure records, failed items) once the first `horizon` rows have been processed.

    Rows are processed in file order; a whole failed chunk counts once it is passed."""
    layout, size = _layout(plan), plan.chunk_size
    done = min(horizon // size, plan.chunk_count)
    records, failed = layout.before[done], layout.whole_rows_before[done]
    if done < plan.chunk_count and horizon % size:
        records += bisect_left(_offsets(plan, done), horizon - done * size)
    return records, records + failed


@lru_cache(maxsize=512)
def _context(plan: JobPlan) -> rows.Context:
    return rows.context(plan.seed, plan.key, plan.job_type, plan.created_ms, accents=plan.encoding != "utf-8")


def _failures(plan: JobPlan, places: Iterable[tuple[int, int]]) -> list[Failure]:
    """The failure records at these (chunk, offset) places."""
    places = list(places)
    if not places:
        return []  # an export job has none, nor a file kind to make failing rows from
    ctx, chunk_ids, size = _context(plan), _chunk_ids(plan), plan.chunk_size
    page = []
    for k, offset in places:
        r = k * size + offset
        failure_id, reason, identifier = rows.failure(plan.job_type, ctx, r, hostile_job=plan.hostile)
        page.append(Failure(failure_id, chunk_ids[k], r, identifier, reason))
    return page


def _walk(plan: JobPlan, start: int) -> Iterator[tuple[int, int]]:
    """(chunk, offset) of the job's failures from the start-th on, in row order."""
    layout = _layout(plan)
    k = bisect_right(layout.before, start) - 1
    skip = start - layout.before[k]
    for chunk in range(k, plan.chunk_count):
        for offset in _offsets(plan, chunk)[skip:]:
            yield chunk, offset
        skip = 0


def failures_page(
    job: Job, *, offset: int = 0, limit: int = 25, chunk: str | None = None
) -> tuple[list[Failure], int]:
    """One page of the job's failures, ordered by item_index, and how many there are in all
    (in `chunk` only, when given; a chunk of another job has none)."""
    plan = job.plan
    if chunk is None:
        total = job.failure_count
        if offset >= total:
            return [], total
        return _failures(plan, islice(_walk(plan, offset), min(limit, total - offset))), total
    k = chunk_number(job, chunk)
    if k is None or job.total_items is None:
        return [], 0
    offsets = _offsets(plan, k)
    passed = job.processed_items if job.horizon is None else job.horizon
    visible = offsets[: bisect_left(offsets, passed - k * plan.chunk_size)]
    return _failures(plan, ((k, o) for o in visible[offset : offset + limit])), len(visible)


# --- Files --------------------------------------------------------------------------------


def input_header(job: Job) -> tuple[str, ...]:
    return rows.columns(job.job_type)


def input_rows(job: Job) -> Iterator[list[str]]:
    """Every row of the job's input file (failing ones spoiled the way their reason says)."""
    plan = job.plan
    ctx, size = _context(plan), plan.chunk_size
    for k in range(plan.chunk_count):
        failing = set(_spoiled_offsets(plan, k))
        for offset in range(_chunk_rows(plan, k)):
            yield rows.row(
                plan.job_type, ctx, k * size + offset, failing=offset in failing, hostile_job=plan.hostile
            ).values


# The last error of a chunk that exhausted its retries, as Meteroid's worker keeps it.
CHUNK_ERRORS = (
    "Database error: connection pool timed out",
    "Database error: canceling statement due to statement timeout",
    "Failed to send events to the metering service: deadline exceeded",
    "Chunk processing timed out after 300s",
    "Chunk failed",
)


def chunk_error(job: Job, k: int) -> str:
    """The error of chunk k, when it failed as a whole."""
    return Draw(job.plan.key, "chunk-error", k).pick(CHUNK_ERRORS)


def error_header(job: Job) -> tuple[str, ...]:
    return (*rows.columns(job.job_type), "_error")


def error_rows(job: Job) -> Iterator[list[str]]:
    """The rows of the errors CSV, as Meteroid's worker writes it: the input's failed rows in
    file order, each with its reason in a last `_error` column (a row's reasons joined by
    `; `; here a row has one). Every row of a whole failed chunk is there, with the chunk's
    error; a row that does not parse as CSV (too few fields) is left out."""
    plan = job.plan
    ctx, width, size = _context(plan), len(rows.columns(plan.job_type)), plan.chunk_size
    layout = _layout(plan)
    passed = min(job.processed_items // size, plan.chunk_count)  # as `_progress` counts them
    records = 0
    for k in range(plan.chunk_count):
        if k * size >= job.processed_items or (records >= job.failure_count and k >= passed):
            return
        if layout.whole[k]:
            if k >= passed:
                continue
            # The rows as the input file holds them, the bad ones a retry would find included.
            message, spoiled = chunk_error(job, k), set(_spoiled_offsets(plan, k))
            for offset in range(_chunk_rows(plan, k)):
                row = rows.row(
                    plan.job_type, ctx, k * size + offset, failing=offset in spoiled, hostile_job=plan.hostile
                )
                if len(row.values) == width:
                    yield [*row.values, message]
            continue
        for offset in _offsets(plan, k):
            if records >= job.failure_count:
                break
            records += 1
            row = rows.row(plan.job_type, ctx, k * size + offset, failing=True, hostile_job=plan.hostile)
            if len(row.values) == width:
                yield [*row.values, row.reason or ""]


def output_header(job: Job) -> tuple[str, ...]:
    return rows.OUTPUT_COLUMNS


def output_rows(job: Job) -> Iterator[list[str]]:
    """The rows of a tax report export's output file."""
    plan = job.plan
    for r in range(job.processed_items):
        yield rows.output_row(plan.seed, plan.key, plan.created_ms, r)


# --- The catalogue: jobs that ended before the anchor -------------------------------------

_DAY_MS = 86_400_000
# Rows a job gets through per second, by type: how long catalogue jobs ran.
_ROWS_PER_SECOND = {EVENTS: 900, CUSTOMERS: 40, SUBSCRIPTIONS: 30, MIGRATION: 20, EXPORT: 300}


@dataclass(frozen=True, slots=True)
class _Showcase:
    job_type: str
    status: str
    rows: int
    profile: Profile
    age_ms: int  # created this long before the anchor
    done: float | None = 1.0  # share of rows processed; None: never got past chunking
    file_name: str | None = ""  # "" = a name in the type's usual style
    hostile: bool = False
    delimiter: str = ","
    encoding: str = "utf-8"


_SHOWCASES: dict[str, _Showcase] = {
    "big": _Showcase(
        EVENTS,
        "COMPLETED_WITH_ERRORS",
        300_000,
        Profile(zero=0, dense=1, dense_share=(0.7, 0.96), whole=0.004),
        age_ms=2 * _DAY_MS + 3_600_000,
    ),
    "whole_chunks": _Showcase(
        CUSTOMERS,
        "COMPLETED_WITH_ERRORS",
        2_000,
        Profile(zero=0.6, dense=0.1, few=4, whole_every=8),
        age_ms=3 * _DAY_MS,
    ),
    "no_failures": _Showcase(CUSTOMERS, "COMPLETED", 800, NO_FAILURES, age_ms=_DAY_MS + 7_200_000),
    "hostile": _Showcase(
        CUSTOMERS,
        "COMPLETED_WITH_ERRORS",
        700,
        Profile(zero=0.3, few=6, dense_every=3, dense_share=(0.2, 0.5)),
        age_ms=4 * _DAY_MS,
        file_name=rows.HOSTILE_FILE_NAME,
        hostile=True,
    ),
    "export": _Showcase(EXPORT, "COMPLETED", 1_500, NO_FAILURES, age_ms=5 * _DAY_MS, file_name=None),
    "customers": _Showcase(
        CUSTOMERS,
        "COMPLETED_WITH_ERRORS",
        1_500,
        Profile(zero=0.5, few=4, dense_every=4, dense_share=(0.4, 0.9)),
        age_ms=6 * _DAY_MS,
    ),
    "subscriptions": _Showcase(
        SUBSCRIPTIONS,
        "COMPLETED_WITH_ERRORS",
        4_000,
        Profile(zero=0.6, few=3, dense_every=10, dense_share=(0.4, 0.9)),
        age_ms=7 * _DAY_MS,
    ),
    "events": _Showcase(
        EVENTS,
        "COMPLETED_WITH_ERRORS",
        24_000,
        Profile(zero=0.5, dense=0.15, few=8, dense_every=12),
        age_ms=8 * _DAY_MS,
    ),
    "migration": _Showcase(
        MIGRATION,
        "COMPLETED_WITH_ERRORS",
        1_200,
        Profile(zero=0.5, few=3, dense_every=6, dense_share=(0.3, 0.8)),
        age_ms=9 * _DAY_MS,
        file_name=None,
    ),
    "whole_only": _Showcase(SUBSCRIPTIONS, "COMPLETED_WITH_ERRORS", 1_000, WHOLE_ONLY, age_ms=10 * _DAY_MS),
    "failed": _Showcase(
        EVENTS,
        "FAILED",
        60_000,
        Profile(zero=0.4, dense=0.2, few=5, whole=0.1, whole_every=6),
        age_ms=11 * _DAY_MS,
        done=0.35,
    ),
    # The file could not be split into chunks (not a CSV): no total, nothing processed.
    "failed_unreadable": _Showcase(CUSTOMERS, "FAILED", 0, NO_FAILURES, age_ms=12 * _DAY_MS, done=None),
    "cancelled": _Showcase(
        SUBSCRIPTIONS,
        "CANCELLED",
        3_000,
        Profile(zero=0.6, few=3, dense_every=15),
        age_ms=13 * _DAY_MS,
        done=0.4,
    ),
    # Stuck: still active long after they started, as jobs sometimes are.
    "pending": _Showcase(CUSTOMERS, "PENDING", 600, SPARSE, age_ms=240_000, done=None),
    "chunking": _Showcase(EVENTS, "CHUNKING", 20_000, MIXED, age_ms=600_000, done=None),
    "processing": _Showcase(EVENTS, "PROCESSING", 40_000, MIXED, age_ms=1_500_000, done=0.45),
    # Every chunk failed as a whole (the database was down): Meteroid ends such a job FAILED.
    # Tests retry it on demand through the control endpoint; it is never retried by itself.
    "retryable": _Showcase(CUSTOMERS, "FAILED", 400, Profile(whole=1.0), age_ms=14 * _DAY_MS),
    # Files from European systems: `;` between fields, and Windows-1252 with accents in names.
    "semicolon": _Showcase(
        SUBSCRIPTIONS,
        "COMPLETED_WITH_ERRORS",
        1_200,
        Profile(zero=0.5, few=3, dense_every=6, dense_share=(0.3, 0.7), whole_every=7),
        age_ms=14 * _DAY_MS,
        delimiter=";",
    ),
    "latin1": _Showcase(
        CUSTOMERS,
        "COMPLETED_WITH_ERRORS",
        900,
        Profile(zero=0.5, few=4, dense_every=5, dense_share=(0.3, 0.7), whole_every=6),
        age_ms=15 * _DAY_MS,
        encoding="cp1252",
    ),
}

# Stable ids of jobs with a known shape, for tests and demos. They do not depend on the
# seed (their contents do), so that a link to one keeps working whatever the seed.
SHOWCASE: dict[str, str] = {role: meteroid_id(JOB_PREFIX, "showcase", role) for role in _SHOWCASES}

_RANDOM_JOBS = 56
_TYPE_WEIGHTS = {EVENTS: 30, CUSTOMERS: 30, SUBSCRIPTIONS: 20, MIGRATION: 12, EXPORT: 8}
_STATUS_WEIGHTS = {"COMPLETED": 30, "COMPLETED_WITH_ERRORS": 45, "FAILED": 15, "CANCELLED": 10}
_ROW_RANGES = {
    EVENTS: (2_000, 60_000),
    CUSTOMERS: (40, 3_000),
    SUBSCRIPTIONS: (60, MAX_SUBSCRIPTION_ROWS),
    MIGRATION: (30, 2_000),
    EXPORT: (100, 20_000),
}


def _file_name(job_type: str, created_ms: int, pick: int) -> str | None:
    when = datetime.fromtimestamp(created_ms / 1000, UTC)
    names = {
        CUSTOMERS: (
            f"customers-{when:%Y-%m}.csv",
            f"customers_export_{when:%Y%m%d}.csv",
            f"crm-sync-{when:%d-%m}.csv",
            "new-accounts-q4 (final).csv",
            f"Kunden_Import_{when:%Y-%m}.csv",
        ),
        EVENTS: (
            f"events-{when:%Y-%m-%d}.csv",
            f"usage-api-calls-week{when:%V}.csv",
            f"backfill-{when:%Y-%m}.csv",
            f"meter-readings-{when:%Y%m%d}.csv",
        ),
        SUBSCRIPTIONS: (
            f"subscriptions-{when:%Y-%m}.csv",
            f"migration-batch-{pick % 9 + 1}.csv",
            f"annual-renewals-{when:%Y}.csv",
        ),
    }.get(job_type)
    return names[pick % len(names)] if names else None


def _users(seed: int) -> tuple[str, ...]:
    return tuple(uuid_text(Draw(seed, "user", i).uuid_int()) for i in range(4))


def _catalogue_job(plan: JobPlan, status: str, done: float | None, duration_ms: int) -> Job:
    """A job that stopped where `done` says: after that share of its rows, or before
    chunking (None). A job meant to end with errors that drew none ends COMPLETED."""
    horizon = None if done is None else round(plan.rows * done)
    if horizon is None:
        records, failed = 0, 0
    else:
        records, failed = _progress(plan, horizon)
    if status == "COMPLETED_WITH_ERRORS" and failed == 0:
        status = "COMPLETED"
    completed_ms = None
    if status in TERMINAL_STATUSES:
        completed_ms = plan.created_ms + max(1_500, round(duration_ms * (done or 0.01)))
    return Job(
        plan=plan,
        status=status,
        total_items=None if horizon is None else plan.rows,
        processed_items=horizon or 0,
        failed_items=failed,
        failure_count=records,
        completed_ms=completed_ms,
    )


def _duration_ms(job_type: str, rows_: int, extra_s: int) -> int:
    return round((rows_ / _ROWS_PER_SECOND[job_type] + extra_s) * 1000)


def _showcase_jobs(seed: int, anchor_ms: int) -> list[Job]:
    users = _users(seed)
    jobs = []
    for n, (role, shape) in enumerate(_SHOWCASES.items()):
        created_ms = anchor_ms - shape.age_ms - n * 7_919
        name = shape.file_name
        if name == "":
            name = _file_name(shape.job_type, created_ms, n)
        plan = JobPlan(
            seed=seed,
            key=f"{seed}:showcase:{role}",
            id=SHOWCASE[role],
            job_type=shape.job_type,
            rows=shape.rows,
            profile=shape.profile,
            created_ms=created_ms,
            created_by=users[n % len(users)],
            input_file_name=name,
            hostile=shape.hostile,
            delimiter=shape.delimiter,
            encoding=shape.encoding,
        )
        duration = _duration_ms(shape.job_type, shape.rows, 12)
        jobs.append(_catalogue_job(plan, shape.status, shape.done, duration))
    return jobs


def _random_jobs(seed: int, anchor_ms: int) -> list[Job]:
    rng = random.Random(seed)
    users = _users(seed)
    jobs = []
    for n in range(_RANDOM_JOBS):
        job_type = rng.choices(list(_TYPE_WEIGHTS), weights=list(_TYPE_WEIGHTS.values()))[0]
        status = rng.choices(list(_STATUS_WEIGHTS), weights=list(_STATUS_WEIGHTS.values()))[0]
        low, high = _ROW_RANGES[job_type]
        size = round(low * (high / low) ** rng.random())  # more small files than big ones
        done: float | None = 1.0
        if job_type == EXPORT:
            status = "COMPLETED" if rng.random() < 0.75 else "FAILED"
            profile = NO_FAILURES
            done = 1.0 if status == "COMPLETED" else rng.uniform(0.1, 0.9)
        elif status == "COMPLETED":
            profile = NO_FAILURES
        elif status == "COMPLETED_WITH_ERRORS":
            profile = rng.choice((SPARSE, SPARSE, MIXED, MIXED, DENSE, MIXED_WHOLE, MIXED_WHOLE, WHOLE_ONLY))
        elif status == "FAILED":
            profile = MIXED_WHOLE
            done = None if rng.random() < 0.3 else rng.uniform(0.1, 0.8)
        else:
            profile = rng.choice((NO_FAILURES, SPARSE, MIXED))
            done = None if rng.random() < 0.3 else rng.uniform(0.05, 0.9)
        created_ms = anchor_ms - rng.randrange(3_600_000, 28 * _DAY_MS)
        # Drawn apart from `rng`, so that the jobs' other choices stay as they were.
        dialect = Draw(seed, "job-dialect", n)
        european = job_type in (CUSTOMERS, EVENTS, SUBSCRIPTIONS) and dialect.below(4) == 0
        plan = JobPlan(
            seed=seed,
            key=f"{seed}:job:{n}",
            id=meteroid_id(JOB_PREFIX, seed, "job", n),
            job_type=job_type,
            rows=size,
            profile=profile,
            created_ms=created_ms,
            created_by=rng.choice(users),
            input_file_name=_file_name(job_type, created_ms, rng.randrange(1000)),
            delimiter=";" if european else ",",
            encoding="cp1252" if european and job_type == CUSTOMERS and dialect.below(2) else "utf-8",
        )
        duration = _duration_ms(job_type, size, rng.randrange(3, 60))
        jobs.append(_catalogue_job(plan, status, done, duration))
    return jobs


def _newest_first(jobs: list[Job]) -> list[Job]:
    return sorted(jobs, key=lambda job: (job.created_ms, job.id), reverse=True)


@lru_cache(maxsize=8)
def _catalogue(seed: int, anchor_ms: int = ANCHOR_MS) -> tuple[Job, ...]:
    return tuple(_newest_first(_showcase_jobs(seed, anchor_ms) + _random_jobs(seed, anchor_ms)))


@lru_cache(maxsize=8)
def _catalogue_by_id(seed: int, anchor_ms: int = ANCHOR_MS) -> dict[str, Job]:
    return {job.id: job for job in _catalogue(seed, anchor_ms)}


# --- Live jobs: one starts every slot and runs for a few minutes ---------------------------

LIVE_SLOT_MS = 150_000
LIVE_LIST_SLOTS = 6  # the list shows the live jobs of the last 15 minutes...
LIVE_KEEP_SLOTS = 576  # ...and a live job stays reachable by id for a day


@dataclass(frozen=True, slots=True)
class _Live:
    plan: JobPlan
    chunking_ms: int
    processing_ms: int
    end_ms: int
    retry: Retry | None  # asked a few minutes after the end (when the job has chunks to retry)


@lru_cache(maxsize=2048)
def _live(seed: int, slot: int) -> _Live:
    d = Draw(seed, "live", slot)
    start = slot * LIVE_SLOT_MS + d.below(5_000)
    chunking = start + d.between(2_000, 5_000)
    processing = chunking + d.between(3_000, 6_000)
    # At least 160 s of processing: longer than a slot, so one live job is always active.
    end = processing + d.between(160_000, 180_000)
    job_type = d.pick((CUSTOMERS, CUSTOMERS, EVENTS, SUBSCRIPTIONS))
    size = {
        CUSTOMERS: d.between(300, 1_500),
        EVENTS: d.between(8_000, 50_000),
        SUBSCRIPTIONS: d.between(200, 2_500),
    }
    when = datetime.fromtimestamp(start / 1000, UTC)
    stem = {CUSTOMERS: "customers", EVENTS: "events", SUBSCRIPTIONS: "subscriptions"}[job_type]
    plan = JobPlan(
        seed=seed,
        key=f"{seed}:live:{slot}",
        id=meteroid_id(JOB_PREFIX, seed, "live", slot),
        job_type=job_type,
        rows=size[job_type],
        profile=d.pick((NO_FAILURES, SPARSE, SPARSE, MIXED, MIXED, MIXED_WHOLE)),
        created_ms=start,
        created_by=d.pick(_users(seed)),
        input_file_name=f"{stem}-{when:%Y-%m-%d-%H%M}.csv",
    )
    # Drawn after everything above, so that a live job is what it was before retries existed.
    retry = None
    if d.unit() < 0.6:
        retry = Retry(end + d.between(400_000, 540_000), d.between(60_000, 90_000), "live")
    return _Live(plan, chunking, processing, end, retry)


def _live_job(live: _Live, now_ms: int) -> Job | None:
    plan = live.plan
    if now_ms < plan.created_ms:
        return None
    if now_ms < live.processing_ms:
        status = "PENDING" if now_ms < live.chunking_ms else "CHUNKING"
        return Job(plan, status, None, 0, 0, 0, None)
    if now_ms < live.end_ms:
        share = (now_ms - live.processing_ms) / (live.end_ms - live.processing_ms)
        horizon = int(plan.rows * share)
        records, failed = _progress(plan, horizon)
        return Job(plan, "PROCESSING", plan.rows, horizon, failed, records, None)
    records, failed = _progress(plan, plan.rows)
    status = "COMPLETED_WITH_ERRORS" if failed else "COMPLETED"
    ended = Job(plan, status, plan.rows, plan.rows, failed, records, live.end_ms)
    if live.retry is not None and now_ms >= live.retry.asked_ms:
        return retried(ended, live.retry, now_ms)
    return ended


def _now_ms(now: float | None) -> int:
    return int((time.time() if now is None else now) * 1000)


def _live_jobs(seed: int, now_ms: int, slots: int) -> list[Job]:
    current = now_ms // LIVE_SLOT_MS
    jobs = (_live_job(_live(seed, slot), now_ms) for slot in range(current, current - slots, -1))
    return [job for job in jobs if job is not None]


def live_job_ids(now: float | None = None, seed: int = DEFAULT_SEED) -> list[str]:
    """Ids of the live jobs active (pending, chunking or processing) at `now` (epoch
    seconds, default the wall clock), newest first. Never empty: live jobs overlap."""
    return [job.id for job in _live_jobs(seed, _now_ms(now), 3) if not job.is_terminal]


# --- Retries: a job that ended with chunks failed as a whole runs them again -------------------

RETRY_CYCLE_MS = 1_800_000  # scheduled catalogue retries: each such job once per cycle...
RETRY_RUN_MS = 150_000  # ...running this long
RETRY_SCHEDULED_JOBS = 2  # catalogue jobs retried on that schedule
RETRY_RECOVERS = 0.6  # chance that a retry gets a failed chunk through


@dataclass(frozen=True, slots=True)
class Retry:
    """A retry asked at `asked_ms`, running `run_ms`. `outcome` names the draws of which
    chunks get through; "again" gets none through (whatever failed them still does)."""

    asked_ms: int
    run_ms: int
    outcome: str


def failed_chunks(job: Job) -> tuple[int, ...]:
    """The chunks of an ended job that failed as a whole: what a retry runs again."""
    return tuple(k for k, whole in enumerate(_layout(job.plan).whole) if whole)


def is_retryable(job: Job) -> bool:
    """Whether Meteroid would retry the job: it ended FAILED or COMPLETED_WITH_ERRORS after
    going through its whole file, with chunks that failed as a whole."""
    return (
        job.status in ("FAILED", "COMPLETED_WITH_ERRORS")
        and job.total_items is not None
        and job.processed_items == job.total_items
        and bool(failed_chunks(job))
    )


def retried(job: Job, retry: Retry, now_ms: int) -> Job:
    """`job` (ended) at `now_ms`, once `retry` was asked (at or before `now_ms`).

    As Meteroid does: the failure records of the failed chunks are deleted (a chunk that
    failed as a whole has none), the job reopens (`PROCESSING`, `completed_at` null, no
    errors CSV), the chunks run again in file order, and the job ends again with its counts
    recomputed: `FAILED` if every chunk failed, else `COMPLETED_WITH_ERRORS` or `COMPLETED`.
    The records of a chunk that gets through are listed once the job has ended.
    """
    if not is_retryable(job):
        return job
    plan = job.plan
    chunks = failed_chunks(job)
    recovered = frozenset(
        k
        for k in chunks
        if retry.outcome != "again" and Draw(plan.key, "retry", retry.outcome, k).unit() < RETRY_RECOVERS
    )
    end_ms = retry.asked_ms + retry.run_ms
    if now_ms < end_ms:
        rerun = sum(_chunk_rows(plan, k) for k in chunks)
        done = int(rerun * (now_ms - retry.asked_ms) / retry.run_ms)
        failed_again, passed = 0, 0
        for k in chunks:
            size = _chunk_rows(plan, k)
            if passed + size > done:
                break
            passed += size
            failed_again += 0 if k in recovered else size
        return Job(
            plan=replace(plan, pending=frozenset(chunks)),
            status="PROCESSING",
            total_items=job.total_items,
            processed_items=job.processed_items - rerun + done,
            failed_items=job.failed_items - rerun + failed_again,
            failure_count=job.failure_count,
            completed_ms=None,
            horizon=plan.rows,
        )
    after = replace(plan, recovered=plan.recovered | recovered)
    records, failed = _progress(after, plan.rows)
    layout = _layout(after)
    if all(layout.whole):
        status = "FAILED"
    elif failed:
        status = "COMPLETED_WITH_ERRORS"
    else:
        status = "COMPLETED"
    return Job(after, status, plan.rows, plan.rows, failed, records, end_ms)


@lru_cache(maxsize=8)
def _scheduled(seed: int) -> dict[str, tuple[int, int]]:
    """Catalogue jobs retried every cycle, with where in the cycle they are asked: the first
    few random ones that can be retried (never a showcase job: tests rely on those)."""
    showcase = set(SHOWCASE.values())
    chosen = [j.id for j in _catalogue(seed) if j.id not in showcase and is_retryable(j)]
    return {
        job_id: (n, Draw(seed, "retry-phase", job_id).below(RETRY_CYCLE_MS - RETRY_RUN_MS))
        for n, job_id in enumerate(sorted(chosen)[:RETRY_SCHEDULED_JOBS])
    }


def _with_schedule(seed: int, job: Job, now_ms: int, anchor_ms: int) -> Job:
    """A catalogue job as its scheduled retries left it at `now_ms`: the last one asked (after
    the anchor) decides, since each fails the same way again."""
    plan = _scheduled(seed).get(job.id)
    if plan is None:
        return job
    _, phase = plan
    asked = (now_ms - phase) // RETRY_CYCLE_MS * RETRY_CYCLE_MS + phase
    if asked < anchor_ms:
        return job
    return retried(job, Retry(asked, RETRY_RUN_MS, "again"), now_ms)


def _with_control(job: Job, asked: Sequence[tuple[int, int]], now_ms: int) -> Job:
    """`job` as it was when first retried on demand, then each retry asked by `now_ms` in turn
    (each asked once the one before had ended)."""
    for n, (asked_ms, run_ms) in enumerate(asked):
        if asked_ms > now_ms:
            break
        job = retried(job, Retry(asked_ms, run_ms, f"control:{n}"), now_ms)
    return job


# --- What the endpoints ask -----------------------------------------------------------------


type Asked = Mapping[str, Sequence[tuple[int, int]]]  # job id -> (asked_ms, run_ms) of each retry


def list_jobs(
    seed: int,
    now: float | None = None,
    *,
    job_type: str | None = None,
    statuses: Collection[str] = (),
    retries: Asked | None = None,
    anchor_ms: int = ANCHOR_MS,
) -> list[Job]:
    """Every listed job that matches the filters, newest first: the live jobs of the last
    few slots, then the catalogue (which ends at `anchor_ms`). `retries` are those asked on
    demand, by job id."""
    now_ms = _now_ms(now)
    jobs = _newest_first(
        _live_jobs(seed, now_ms, LIVE_LIST_SLOTS)
        + [_with_schedule(seed, j, now_ms, anchor_ms) for j in _catalogue(seed, anchor_ms)]
    )
    if retries:
        jobs = [_on_demand(seed, job, retries, now_ms, anchor_ms) for job in jobs]
    return [
        job
        for job in jobs
        if (job_type is None or job.job_type == job_type) and (not statuses or job.status in statuses)
    ]


def find_job(
    seed: int,
    job_id: str,
    now: float | None = None,
    *,
    retries: Asked | None = None,
    anchor_ms: int = ANCHOR_MS,
) -> Job | None:
    """The job with this id as it is at `now` (the catalogue ending at `anchor_ms`), or None
    when there is none. `retries` are those asked on demand, by job id."""
    if not is_meteroid_id(job_id, JOB_PREFIX):
        return None
    now_ms = _now_ms(now)
    job = _find(seed, job_id, now_ms, anchor_ms)
    if job is not None and retries:
        job = _on_demand(seed, job, retries, now_ms, anchor_ms)
    return job


def _on_demand(seed: int, job: Job, retries: Asked, now_ms: int, anchor_ms: int) -> Job:
    asked = retries.get(job.id)
    if not asked or asked[0][0] > now_ms:
        return job
    # From the first retry on demand, the job follows those alone.
    first = _find(seed, job.id, asked[0][0], anchor_ms)
    return job if first is None else _with_control(first, asked, now_ms)


def _find(seed: int, job_id: str, now_ms: int, anchor_ms: int) -> Job | None:
    job = _catalogue_by_id(seed, anchor_ms).get(job_id)
    if job is not None:
        return _with_schedule(seed, job, now_ms, anchor_ms)
    current = now_ms // LIVE_SLOT_MS
    for slot in range(current, current - LIVE_KEEP_SLOTS, -1):
        live = _live(seed, slot)
        if live.plan.id == job_id:
            return _live_job(live, now_ms)
    return None
