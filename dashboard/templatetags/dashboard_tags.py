"""Small template filters for numbers, times and durations."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration as people say it: `45 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`."""
    if value is None:
        return ""
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@register.filter
def job_duration(job, now: datetime) -> str:
    return duration(job.duration(now))


@register.filter
def iso(value: datetime | None) -> str:
    """RFC 3339 in UTC, for `<time datetime>`."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@register.filter
def status_tone(status: str) -> str:
    """A CSS modifier per status; the status is always written out too, never colour alone."""
    return {
        "COMPLETED": "ok",
        "COMPLETED_WITH_ERRORS": "warn",
        "FAILED": "bad",
        "CANCELLED": "muted",
        "PENDING": "active",
        "CHUNKING": "active",
        "PROCESSING": "active",
    }.get(status, "unknown")
