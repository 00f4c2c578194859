"""Small template filters for numbers, shares, times and durations."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from dashboard.failures import text as text_rule
from dashboard.meteroid.records import number
from dashboard.pages.charts import share_bar
from dashboard.pages.forms import is_job_id

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
    """How long a job ran, or "—" when its times cannot be read."""
    took = job.duration(now)
    return "—" if took is None else duration(took)


UNREADABLE = mark_safe('<i class="unreadable">unreadable</i>')


@register.filter
def count_of(record, name: str) -> SafeString | str:
    """A count of a record from Meteroid as it gave it (below zero too), "unreadable" when it
    could not be read, "" when it is null."""
    if name in record.unreadable_fields:
        return UNREADABLE
    value = getattr(record, name)
    return "" if value is None else number(value)


@register.simple_tag
def time_of(record, name: str) -> SafeString | str:
    """A time of a record from Meteroid, as a `<time>` in UTC; "unreadable" when it could
    not be read, "" when it is null."""
    if name in record.unreadable_fields:
        return UNREADABLE
    value: datetime | None = getattr(record, name)
    if value is None:
        return ""
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        iso(value),
        date_filter(value, "Y-m-d H:i:s"),
        date_filter(value, "Y-m-d H:i"),
    )


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


@register.filter
def visible(value: str | None) -> str:
    """Text from a user's file with the characters nobody sees drawn (`dashboard.failures.text`);
    escaped as usual."""
    return text_rule.visible(value)


@register.filter
def long_text(value: str | None, limit: int) -> SafeString:
    """Text from a user's file (made `visible`): whole when short, else its first `limit`
    characters with the whole of it one click away."""
    text = visible(value)
    if len(text) <= limit:
        return conditional_escape(text)
    return format_html(
        '<div class="long"><span class="preview">{}</span> <details><summary>'
        '<span class="when-closed">Show all {} characters</span><span class="when-open">Show less</span>'
        '</summary><div class="whole">{}</div></details></div>',
        Truncator(text).chars(limit),
        f"{len(text):,}",
        text,
    )


@register.filter
def job_url(job_id: str) -> str:
    """The dashboard's page of a job, or "" for an id that no job can have (one in a
    listing from Meteroid that is not of the `bjob_` form): shown, but not linked."""
    return reverse("job", args=[job_id]) if is_job_id(job_id) else ""


@register.filter
def share(value: float) -> str:
    """A share (0..1) as a percentage people read at a glance: `59.7%`, `<0.1%`, `100%`."""
    percent = 100.0 * value
    if percent == 0:
        return "0%"
    if percent < 0.1:
        return "<0.1%"
    if percent >= 99.95:
        return "100%" if value >= 1 else ">99.9%"
    return f"{percent:.1f}%"


@register.filter
def bar_width(value: float) -> str:
    """A share (0..1) as the width of a bar in a 0..100 wide SVG box (a plain decimal)."""
    return share_bar(value)
