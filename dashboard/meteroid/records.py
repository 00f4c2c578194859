"""Typed records for Meteroid's batch-jobs API, parsed once at the gateway's boundary.

Parsing is tolerant the way a client of a moving API must be: unknown fields are ignored,
enum values that this release does not know are kept as they come (the next Meteroid
release will add more), and the newer job-detail fields (`has_output`, `output_url`) are
optional.

A record is read field by field, so that one odd record never hides the others:

- a value that is odd but of the right type (a negative or absurd count, dates out of order)
  is kept as Meteroid gave it, and the record's `warnings` say what looks wrong;
- a field that cannot be read at all (a time that does not parse, a count that is not a
  number, a required field missing) is None, and named in the record's `unreadable`;
- a job without a usable id is left out of a list (`JobList.left_out` says why); a failure
  without a row number (`item_index`) is counted apart (`FailurePage.apart`).

Only an answer that is not of the expected shape at all (not an object, `data` not a list,
a page count that is not a number) raises `ValueError`, which the client turns into a
`MeteroidError`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.meteroid.pickling import PickledByFields

# Bump when the shape of any record changes: cached copies of an older shape are ignored.
RECORD_VERSION = 2

JOB_TYPES = {
    "EVENT_CSV_IMPORT": "Events import",
    "CUSTOMER_CSV_IMPORT": "Customers import",
    "SUBSCRIPTION_CSV_IMPORT": "Subscriptions import",
    "SUBSCRIPTION_PLAN_MIGRATION": "Plan migration",
    "TAX_REPORT_EXPORT": "Tax report export",
}
ACTIVE_STATUSES = ("PENDING", "CHUNKING", "PROCESSING")
TERMINAL_STATUSES = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED")
STATUSES = {
    "PENDING": "Pending",
    "CHUNKING": "Chunking",
    "PROCESSING": "Processing",
    "COMPLETED": "Completed",
    "COMPLETED_WITH_ERRORS": "Completed with errors",
    "FAILED": "Failed",
    "CANCELLED": "Cancelled",
}
# Rows per chunk, by job type (API-NOTES: "Jobs, chunks and failures").
CHUNK_SIZES = {
    "EVENT_CSV_IMPORT": 500,
    "CUSTOMER_CSV_IMPORT": 50,
    "SUBSCRIPTION_CSV_IMPORT": 50,
}


# The counts are int32 in the spec, which sets no minimum: Meteroid's own mock answers with
# the extremes. The largest is a placeholder or an overflow, never a count of rows.
INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# How much of an unreadable value a warning repeats.
SHOWN_CHARS = 60

type Unreadable = tuple[str, str]  # (field, the value as Meteroid sent it, cut short)
MISSING = ""  # the value of an `Unreadable` field that Meteroid did not send at all


def number(value: int) -> str:
    """A count as people read it, with thousands separators and a true minus sign (U+2212)."""
    return f"{value:,}".replace("-", "\u2212")


def _shown(value: Any) -> str:
    """A value Meteroid sent, as a warning repeats it: JSON's null, else its repr, cut short
    (a repr also makes control characters visible)."""
    text = "null" if value is None else repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


class _Reader:
    """Reads one record's fields, noting the ones that cannot be read instead of failing."""

    __slots__ = ("data", "unreadable")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.unreadable: list[Unreadable] = []

    def _bad(self, name: str, value: Any) -> None:
        if name not in self.data:
            shown = MISSING
        elif name.endswith("_url"):
            # A file link carries a signed token: whatever holds it is never repeated on a page.
            shown = f"a {type(value).__name__}, not a link"
        else:
            shown = _shown(value)
        self.unreadable.append((name, shown))

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.data.get(name)
        if isinstance(value, str):
            return value
        if value is not None or required:
            self._bad(name, value)
        return None

    def count(self, name: str, *, required: bool = True) -> int | None:
        value = self.data.get(name)
        if type(value) is int:  # a bool is not a count, nor is 1.5
            return value
        if value is not None or required:
            self._bad(name, value)
        return None

    def time(self, name: str, *, required: bool = True) -> datetime | None:
        value = self.data.get(name)
        if isinstance(value, str):
            try:
                # In UTC, as pages show it: a time at the edge of the calendar with an offset
                # (`0001-01-01T00:00:00+01:00`) has no UTC time and is unreadable here, not
                # on every page that shows it.
                return parse_time(value).astimezone(UTC)
            except (ValueError, OverflowError):
                pass
        if value is not None or required:
            self._bad(name, value)
        return None

    def flag(self, name: str, *, default: bool | None = None) -> bool:
        value = self.data.get(name, default)
        if isinstance(value, bool):
            return value
        self._bad(name, value)
        return False


def parse_time(value: str) -> datetime:
    """RFC 3339 (`2026-03-25T10:00:00.000Z`) to an aware datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return parsed


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what} is not an object")
    return data


def _list(data: dict[str, Any], name: str) -> list[Any]:
    items = data.get(name)
    if not isinstance(items, list):
        raise ValueError(f"{name} is not a list")
    return items


def _page_count(data: dict[str, Any], name: str) -> int:
    """A count that frames a page of records: without it the page cannot be placed."""
    value = data.get(name)
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} is not an integer of 0 or more")
    return value


def _total(data: dict[str, Any], name: str) -> int:
    """A page's count of all records: a whole number, below zero too (the spec sets no
    minimum: Meteroid's own mock answers with the most negative int64). Those who page by
    it say what looks wrong and count what came instead."""
    value = data.get(name)
    if type(value) is not int:
        raise ValueError(f"{name} is not an integer")
    return value


def job_id_problem(data: Any) -> str | None:
    """Why a job record has no usable id, in a few words; None when it has one."""
    if not isinstance(data, dict):
        return "not a record"
    value = data.get("id")
    if value is None:
        return "no id"
    if not isinstance(value, str):
        return "an id that is not text"
    if not value.strip():
        return "an empty id"
    return None


def unreadable_notes(unreadable: tuple[Unreadable, ...]) -> tuple[str, ...]:
    """Each unreadable field, for a person: `created_at is unreadable: Meteroid sent 'x'`."""
    return tuple(
        f"{name} is unreadable: "
        + ("Meteroid did not send it" if shown == MISSING else f"Meteroid sent {shown}")
        for name, shown in unreadable
    )


def _count_warning(value: int | None, what: str) -> str | None:
    """What looks wrong with a count, or None when nothing does."""
    if value is None:
        return None
    if value < 0:
        return f"Meteroid reports {number(value)} {what}, below zero"
    if value == INT32_MAX:
        return f"Meteroid reports {number(value)} {what}, the largest number its API can send, most likely an overflow"
    if value > INT32_MAX:
        return f"Meteroid reports {number(value)} {what}, more than its API can count"
    return None


@dataclass(frozen=True, slots=True)
class Job(PickledByFields):
    """A job as the list gives it. Fields that could not be read are None and named in
    `unreadable`, with the value Meteroid sent (cut short)."""

    id: str
    job_type: str | None
    status: str | None
    processed_items: int | None
    failed_items: int | None
    total_items: int | None
    created_by: str | None
    created_at: datetime | None
    completed_at: datetime | None
    input_file_name: str | None
    unreadable: tuple[Unreadable, ...] = field(default=(), kw_only=True)

    @classmethod
    def parse(cls, data: Any) -> Job:
        reader = _reader(data)
        fields = _job_fields(reader)
        return cls(**fields, unreadable=tuple(reader.unreadable))

    @property
    def unreadable_fields(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.unreadable)

    @property
    def unreadable_notes(self) -> tuple[str, ...]:
        return unreadable_notes(self.unreadable)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What looks wrong in values that could be read, for a person."""
        found = [
            _count_warning(self.processed_items, "processed rows"),
            _count_warning(self.failed_items, "failed rows"),
            _count_warning(self.total_items, "rows in the file"),
        ]
        processed, failed, total = self.processed_items, self.failed_items, self.total_items
        if total is None and processed and "total_items" not in self.unreadable_fields:
            found.append(
                f"Meteroid reports {number(processed)} processed rows, but no total: "
                "it has not yet counted the file's rows"
            )
        if total is not None and total >= 0:
            if processed is not None and processed > total:
                found.append(
                    f"Meteroid reports {number(processed)} processed rows of a file of {number(total)}"
                )
            if failed is not None and failed > total:
                found.append(f"Meteroid reports {number(failed)} failed rows of a file of {number(total)}")
        if self.created_at and self.completed_at and self.completed_at < self.created_at:
            found.append(
                "Meteroid says this job ended before it was created "
                f"(created {self.created_at:%Y-%m-%d %H:%M:%S}, ended {self.completed_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
        found.extend(self._more_warnings())
        return tuple(w for w in found if w)

    def _more_warnings(self) -> list[str | None]:
        return []

    @property
    def notes(self) -> tuple[str, ...]:
        """Warnings and unreadable fields together: what a page says about this record."""
        return self.unreadable_notes + self.warnings

    @property
    def type_label(self) -> str:
        if self.job_type is None:
            return "Type unreadable"
        return JOB_TYPES.get(self.job_type, self.job_type)

    @property
    def status_label(self) -> str:
        if self.status is None:
            return "Status unreadable"
        return STATUSES.get(self.status, self.status)

    @property
    def is_terminal(self) -> bool:
        """Terminal jobs never change again. An unknown or unreadable status counts as
        active, so that the dashboard keeps refreshing rather than freezing a job it does
        not understand."""
        return self.status in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        return not self.is_terminal

    @property
    def chunk_size(self) -> int | None:
        return CHUNK_SIZES.get(self.job_type or "")

    @property
    def progress_percent(self) -> float | None:
        if not self.total_items or self.total_items < 0 or self.processed_items is None:
            return None
        return max(0.0, min(100.0, 100.0 * self.processed_items / self.total_items))

    def duration(self, now: datetime) -> timedelta | None:
        """How long the job ran (or has run so far); None when its times are unreadable."""
        if self.created_at is None or "completed_at" in self.unreadable_fields:
            return None
        return (self.completed_at or now) - self.created_at


def _reader(data: Any) -> _Reader:
    """A reader of a job record that has a usable id (else the record is of no use)."""
    problem = job_id_problem(data)
    if problem is not None:
        raise ValueError(f"a job record without a usable id ({problem})")
    return _Reader(data)


def _job_fields(reader: _Reader) -> dict[str, Any]:
    return {
        "id": reader.data["id"],
        "job_type": reader.text("job_type"),
        "status": reader.text("status"),
        "processed_items": reader.count("processed_items"),
        "failed_items": reader.count("failed_items"),
        "total_items": reader.count("total_items", required=False),
        "created_by": reader.text("created_by"),
        "created_at": reader.time("created_at"),
        "completed_at": reader.time("completed_at", required=False),
        "input_file_name": reader.text("input_file_name", required=False),
    }


@dataclass(frozen=True, slots=True)
class JobDetail(Job):
    failure_count: int | None
    has_error_csv: bool
    error_csv_url: str | None
    input_file_url: str | None
    has_output: bool
    output_url: str | None

    @classmethod
    def parse(cls, data: Any) -> JobDetail:
        data = _object(data, "job")
        reader = _reader(data)
        fields = _job_fields(reader)
        return cls(
            **fields,
            failure_count=reader.count("failure_count"),
            has_error_csv=reader.flag("has_error_csv"),
            error_csv_url=reader.text("error_csv_url", required=False),
            input_file_url=reader.text("input_file_url", required=False),
            # Newer servers only; older ones never have an output file.
            has_output=reader.flag("has_output", default=False),
            output_url=reader.text("output_url", required=False),
            unreadable=tuple(reader.unreadable),
        )

    def _more_warnings(self) -> list[str | None]:
        return [_count_warning(self.failure_count, "failure records")]

    @property
    def rows_without_detail(self) -> int:
        """Rows counted as failed that have no failure record: lost with whole failed chunks."""
        if self.failed_items is None or self.failure_count is None or self.failure_count < 0:
            return 0
        return max(0, self.failed_items - self.failure_count)

    @property
    def may_have_failures(self) -> bool:
        """Whether the job may have failure records (an unreadable count may hide some)."""
        return self.failure_count != 0


@dataclass(frozen=True, slots=True)
class Pagination(PickledByFields):
    page: int
    per_page: int
    total_items: int
    total_pages: int

    @classmethod
    def parse(cls, data: Any) -> Pagination:
        data = _object(data, "pagination_meta")
        return cls(
            page=_page_count(data, "page"),
            per_page=_page_count(data, "per_page"),
            total_items=_page_count(data, "total_items"),
            total_pages=_page_count(data, "total_pages"),
        )


@dataclass(frozen=True, slots=True)
class JobList(PickledByFields):
    """A page of jobs: the ones with a usable id, and why each other record was left out."""

    jobs: tuple[Job, ...]
    pagination: Pagination
    left_out: tuple[str, ...] = ()  # per record left out: why ("no id", "not a record", …)

    @classmethod
    def parse(cls, data: Any) -> JobList:
        data = _object(data, "job list")
        items = _list(data, "data")
        pagination = Pagination.parse(data.get("pagination_meta"))
        jobs: list[Job] = []
        left_out: list[str] = []
        for item in items:
            problem = job_id_problem(item)
            if problem is None:
                jobs.append(Job.parse(item))
            else:
                left_out.append(problem)
        return cls(jobs=tuple(jobs), pagination=pagination, left_out=tuple(left_out))

    @property
    def left_out_summary(self) -> str:
        """Why records were left out, for a person: `2 are not records, 1 has no id`."""
        reasons = Counter(self.left_out)
        parts = []
        for why, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
            if why == "not a record":
                parts.append(f"{count:,} {'is not a record' if count == 1 else 'are not records'}")
            else:
                parts.append(f"{count:,} {'has' if count == 1 else 'have'} {why}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Failure(PickledByFields):
    """One failure record. A field that could not be read is None and named in
    `unreadable`; a record without a row number never becomes a `Failure` (it is counted
    apart by the page that held it)."""

    id: str | None
    chunk_id: str | None
    item_index: int
    item_identifier: str | None
    reason: str | None
    unreadable: tuple[Unreadable, ...] = field(default=(), kw_only=True)

    @classmethod
    def parse(cls, data: Any) -> Failure:
        """The failure of one record; ValueError when it has no row number."""
        failure = _failure(data)
        if failure is None:
            raise ValueError("a failure record without a row number")
        return failure

    @property
    def row_number(self) -> int:
        """1-based row as people count rows in a file (item_index is 0-based)."""
        return self.item_index + 1

    @property
    def unreadable_fields(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.unreadable)

    @property
    def notes(self) -> tuple[str, ...]:
        """What a page says about this record: its unreadable fields and odd row number."""
        return unreadable_notes(self.unreadable) + self.warnings

    @property
    def warnings(self) -> tuple[str, ...]:
        if self.item_index < 0 or self.item_index >= INT32_MAX:
            return (f"Meteroid gives row {number(self.row_number)}, which no file has",)
        return ()


@dataclass(frozen=True, slots=True)
class FailurePage(PickledByFields):
    """A page of failures; `apart` counts the records of the page that had no row number."""

    failures: tuple[Failure, ...]
    total_count: int
    apart: int = 0

    @classmethod
    def parse(cls, data: Any) -> FailurePage:
        data = _object(data, "failure page")
        items = _list(data, "data")
        total_count = _total(data, "total_count")
        failures = [_failure(item) for item in items]
        kept = tuple(f for f in failures if f is not None)
        return cls(failures=kept, total_count=total_count, apart=len(failures) - len(kept))

    def total_from(self, offset: int) -> int:
        """The count to page by, for a page read at `offset`: Meteroid's, unless the rows it
        sent show it to be too small (below zero, say)."""
        sent = len(self.failures) + self.apart
        # An empty page (one asked past the end) tells nothing of how many there are.
        return max(self.total_count, offset + sent if sent else 0)

    @property
    def total_warning(self) -> str | None:
        if self.total_count < 0:
            return f"Meteroid reports {number(self.total_count)} failures in all, below zero: the pages count the failures it sent"
        return None


@dataclass(frozen=True, slots=True)
class FailureColumns:
    """A page of failures as columns, for whole-job scans: what a `FailurePage` holds less
    the failure ids, with no record per failure. Read by the same rules: a missing reason
    or chunk id is "" here; `unreadable` counts the records with such a field, `apart`
    the records without a row number, which are left out."""

    item_indices: list[int]
    chunk_ids: list[str]
    identifiers: list[str | None]
    reasons: list[str]
    total_count: int
    apart: int = 0
    unreadable: int = 0

    def __len__(self) -> int:
        return len(self.item_indices)

    @property
    def records(self) -> int:
        """Records Meteroid sent on this page, those counted apart included."""
        return len(self.item_indices) + self.apart

    @classmethod
    def parse(cls, data: Any) -> FailureColumns:
        data = _object(data, "failure page")
        items = _list(data, "data")
        total_count = _total(data, "total_count")
        indices: list[int] = []
        chunk_ids: list[str] = []
        identifiers: list[str | None] = []
        reasons: list[str] = []
        apart = unreadable = 0
        for item in items:
            # A whole-job scan reads a quarter of a million of these: the usual record is
            # checked inline (JSON gives exact types, never a str subclass), the odd one read
            # field by field.
            if type(item) is dict:
                chunk_id, index, reason = item.get("chunk_id"), item.get("item_index"), item.get("reason")
                identifier = item.get("item_identifier")
                if (
                    type(index) is int
                    and 0 <= index < INT32_MAX
                    and type(chunk_id) is str
                    and type(reason) is str
                    and (identifier is None or type(identifier) is str)
                    and type(item.get("id")) is str
                ):
                    indices.append(index)
                    chunk_ids.append(chunk_id)
                    identifiers.append(identifier)
                    reasons.append(reason)
                    continue
            failure = _failure(item)
            if failure is None:
                apart += 1
                continue
            unreadable += bool(failure.unreadable)
            indices.append(failure.item_index)
            chunk_ids.append(failure.chunk_id or "")
            identifiers.append(failure.item_identifier)
            reasons.append(failure.reason or "")
        return cls(indices, chunk_ids, identifiers, reasons, total_count, apart, unreadable)


def _failure(item: Any) -> Failure | None:
    """The failure of one record, read field by field; None when it has no row number (one
    beyond 64 bits is none: no file has such a row, and a scan keeps rows as int64)."""
    if not isinstance(item, dict):
        return None
    index = item.get("item_index")
    if type(index) is not int or not INT64_MIN <= index <= INT64_MAX:
        return None
    reader = _Reader(item)
    return Failure(
        id=reader.text("id"),
        chunk_id=reader.text("chunk_id"),
        item_index=index,
        item_identifier=reader.text("item_identifier", required=False),
        reason=reader.text("reason"),
        unreadable=tuple(reader.unreadable),
    )
