"""Typed records for Meteroid's batch-jobs API, parsed once at the gateway's boundary.

Parsing is tolerant the way a client of a moving API must be: unknown fields are ignored,
enum values that this release does not know are kept as they come (the next Meteroid
release will add more), and the newer job-detail fields (`has_output`, `output_url`) are
optional. What is required by the spec and missing, or of the wrong type, raises
`ValueError`, which the client turns into a `MeteroidError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.pickling import PickledByFields

# Bump when the shape of any record changes: cached copies of an older shape are ignored.
RECORD_VERSION = 1

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


def _str(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value


def _int(data: dict[str, Any], name: str, *, minimum: int = 0) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} is not an integer")
    if value < minimum:
        raise ValueError(f"{name} is below {minimum}")
    return value


def _opt_int(data: dict[str, Any], name: str) -> int | None:
    return None if data.get(name) is None else _int(data, name)


def _bool(data: dict[str, Any], name: str, default: bool | None = None) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{name} is not a boolean")
    return value


def parse_time(value: str) -> datetime:
    """RFC 3339 (`2026-03-25T10:00:00.000Z`) to an aware datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return parsed


def _time(data: dict[str, Any], name: str) -> datetime:
    return parse_time(_str(data, name))


def _opt_time(data: dict[str, Any], name: str) -> datetime | None:
    value = _opt_str(data, name)
    return None if value is None else parse_time(value)


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what} is not an object")
    return data


@dataclass(frozen=True, slots=True)
class Job(PickledByFields):
    id: str
    job_type: str
    status: str
    processed_items: int
    failed_items: int
    total_items: int | None
    created_by: str
    created_at: datetime
    completed_at: datetime | None
    input_file_name: str | None

    @classmethod
    def parse(cls, data: Any) -> Job:
        data = _object(data, "job")
        return cls(**_job_fields(data))

    @property
    def type_label(self) -> str:
        return JOB_TYPES.get(self.job_type, self.job_type)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def is_terminal(self) -> bool:
        """Terminal jobs never change again. An unknown status counts as active, so that
        the dashboard keeps refreshing rather than freezing a job it does not understand."""
        return self.status in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        return not self.is_terminal

    @property
    def chunk_size(self) -> int | None:
        return CHUNK_SIZES.get(self.job_type)

    @property
    def progress_percent(self) -> float | None:
        if not self.total_items:
            return None
        return min(100.0, 100.0 * self.processed_items / self.total_items)

    def duration(self, now: datetime) -> timedelta:
        return (self.completed_at or now) - self.created_at


def _job_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _str(data, "id"),
        "job_type": _str(data, "job_type"),
        "status": _str(data, "status"),
        "processed_items": _int(data, "processed_items"),
        "failed_items": _int(data, "failed_items"),
        "total_items": _opt_int(data, "total_items"),
        "created_by": _str(data, "created_by"),
        "created_at": _time(data, "created_at"),
        "completed_at": _opt_time(data, "completed_at"),
        "input_file_name": _opt_str(data, "input_file_name"),
    }


@dataclass(frozen=True, slots=True)
class JobDetail(Job):
    failure_count: int
    has_error_csv: bool
    error_csv_url: str | None
    input_file_url: str | None
    has_output: bool
    output_url: str | None

    @classmethod
    def parse(cls, data: Any) -> JobDetail:
        data = _object(data, "job")
        return cls(
            **_job_fields(data),
            failure_count=_int(data, "failure_count"),
            has_error_csv=_bool(data, "has_error_csv"),
            error_csv_url=_opt_str(data, "error_csv_url"),
            input_file_url=_opt_str(data, "input_file_url"),
            # Newer servers only; older ones never have an output file.
            has_output=_bool(data, "has_output", False),
            output_url=_opt_str(data, "output_url"),
        )

    @property
    def rows_without_detail(self) -> int:
        """Rows counted as failed that have no failure record: lost with whole failed chunks."""
        return max(0, self.failed_items - self.failure_count)


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
            page=_int(data, "page"),
            per_page=_int(data, "per_page"),
            total_items=_int(data, "total_items"),
            total_pages=_int(data, "total_pages"),
        )


@dataclass(frozen=True, slots=True)
class JobList(PickledByFields):
    jobs: tuple[Job, ...]
    pagination: Pagination

    @classmethod
    def parse(cls, data: Any) -> JobList:
        data = _object(data, "job list")
        items = data["data"]
        if not isinstance(items, list):
            raise ValueError("data is not a list")
        return cls(
            jobs=tuple(Job.parse(item) for item in items),
            pagination=Pagination.parse(data["pagination_meta"]),
        )


@dataclass(frozen=True, slots=True)
class Failure(PickledByFields):
    id: str
    chunk_id: str
    item_index: int
    item_identifier: str | None
    reason: str

    @classmethod
    def parse(cls, data: Any) -> Failure:
        data = _object(data, "failure")
        return cls(
            id=_str(data, "id"),
            chunk_id=_str(data, "chunk_id"),
            item_index=_int(data, "item_index"),
            item_identifier=_opt_str(data, "item_identifier"),
            reason=_str(data, "reason"),
        )

    @property
    def row_number(self) -> int:
        """1-based row as people count rows in a file (item_index is 0-based)."""
        return self.item_index + 1


@dataclass(frozen=True, slots=True)
class FailurePage(PickledByFields):
    failures: tuple[Failure, ...]
    total_count: int

    @classmethod
    def parse(cls, data: Any) -> FailurePage:
        data = _object(data, "failure page")
        items = data["data"]
        if not isinstance(items, list):
            raise ValueError("data is not a list")
        return cls(failures=_failures(items), total_count=_int(data, "total_count"))


@dataclass(frozen=True, slots=True)
class FailureColumns:
    """A page of failures as columns, for whole-job scans: what a `FailurePage` holds less
    the failure ids, with no record per failure. Parsed with the same checks."""

    item_indices: list[int]
    chunk_ids: list[str]
    identifiers: list[str | None]
    reasons: list[str]
    total_count: int

    def __len__(self) -> int:
        return len(self.item_indices)

    @classmethod
    def parse(cls, data: Any) -> FailureColumns:
        data = _object(data, "failure page")
        items = data["data"]
        if not isinstance(items, list):
            raise ValueError("data is not a list")
        indices: list[int] = []
        chunk_ids: list[str] = []
        identifiers: list[str | None] = []
        reasons: list[str] = []
        for item in items:
            _, chunk_id, index, identifier, reason = _failure_fields(item)
            indices.append(index)
            chunk_ids.append(chunk_id)
            identifiers.append(identifier)
            reasons.append(reason)
        return cls(indices, chunk_ids, identifiers, reasons, _int(data, "total_count"))


def _failures(items: list[Any]) -> tuple[Failure, ...]:
    """`Failure.parse` of every item."""
    return tuple(Failure(*_failure_fields(item)) for item in items)


def _failure_fields(item: Any) -> tuple[str, str, int, str | None, str]:
    """(id, chunk_id, item_index, item_identifier, reason) of one failure, with the checks
    of `Failure.parse` inlined: a whole-job scan reads a quarter of a million of them, and
    JSON gives exact types (never a str subclass; a bool is not an int here, as in `_int`)."""
    if type(item) is not dict:
        raise ValueError("failure is not an object")
    failure_id, chunk_id, index, reason = item["id"], item["chunk_id"], item["item_index"], item["reason"]
    identifier = item.get("item_identifier")
    if type(failure_id) is not str or type(chunk_id) is not str or type(reason) is not str:
        raise ValueError("a failure's id, chunk_id or reason is not a string")
    if type(index) is not int or index < 0:
        raise ValueError("item_index is not an integer of 0 or more")
    if identifier is not None and type(identifier) is not str:
        raise ValueError("item_identifier is not a string")
    return failure_id, chunk_id, index, identifier, reason
