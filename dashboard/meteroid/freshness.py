"""What one request was shown of Meteroid's data that is older than it should be, and why.

The gateway returns plain values; when one of them is an old copy served because Meteroid
failed, it notes that here (`note`), in a report that lives as long as the request
(a context variable, so that threads serving other requests never see it). The
`StaleNotice` middleware opens the report, and templates read it to show a banner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .cache import Stale


@dataclass
class Report:
    """The gateway's answers to one request: how many, and the stale copies among them."""

    answers: int = 0
    stale: list[Stale] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stale)

    @property
    def oldest(self) -> Stale | None:
        return min(self.stale, key=lambda s: s.fetched_at, default=None)

    @property
    def fetched_at(self) -> datetime | None:
        """When the oldest copy shown was fetched."""
        oldest = self.oldest
        return None if oldest is None else datetime.fromtimestamp(oldest.fetched_at, UTC)

    @property
    def age(self) -> str:
        """The oldest copy's age, for a person: "40 seconds", "3 minutes", "2 hours"."""
        oldest = self.oldest
        return "" if oldest is None else describe_age(oldest.age)

    @property
    def reason(self) -> str:
        """Why Meteroid's answer could not be had (the latest failure's message)."""
        return self.stale[-1].reason if self.stale else ""


def describe_age(seconds: float) -> str:
    """A duration in one unit, rounded down: "1 second", "59 seconds", "3 minutes", "1 day"."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


_report: ContextVar[Report | None] = ContextVar("meteroid_freshness", default=None)


@contextmanager
def collecting() -> Iterator[Report]:
    """A new report for the code run inside (one request)."""
    report = Report()
    token = _report.set(report)
    try:
        yield report
    finally:
        _report.reset(token)


def note(stale: Stale | None) -> None:
    """Note an answer of the gateway, and whether it was an old copy (ignored outside a
    request: scans, commands)."""
    report = _report.get()
    if report is not None:
        report.answers += 1
        if stale is not None:
            report.stale.append(stale)


def current() -> Report | None:
    """The report of the request being served, if any."""
    return _report.get()
