"""Causes across jobs: which reason patterns made the imports of a window fail, how many
rows of how many jobs, from when to when, day by day (or week by week), and whether each
is new or has stopped appearing. What the page, its pattern's jobs and its CSV show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from dashboard.failures.reasons import KEY_RE, Template, pattern_of
from dashboard.index import across
from dashboard.index.across import CauseCount, CauseJob
from dashboard.index.indexing import Scope
from dashboard.index.models import IndexedJob
from dashboard.meteroid.gateway import Gateway
from dashboard.meteroid.records import JOB_TYPES
from dashboard.pages import search_across
from dashboard.pages.forms import MAX_PAGE, _QueryForm
from dashboard.pages.paging import Paging
from dashboard.pages.search_across import Coverage

WINDOWS = (7, 30, 90)  # days
DEFAULT_WINDOW = 30
RECENT_DAYS = 7  # a cause first seen within these last days is new; one not seen in them, stopped
WEEKLY_OVER_DAYS = 45  # longer windows chart weeks rather than days
CAUSES_PER_PAGE = 25
NEW = "new"
STOPPED = "stopped"
SHOWS = {"": "All causes", NEW: "New causes", STOPPED: "Causes not seen lately"}
CHART_HEIGHT = 24  # SVG units of a day's (or week's) bar at the pattern's busiest
CHART_STEP = 6  # SVG units from one bar to the next
CHART_BAR = 5  # SVG units of a bar's width


class CausesQuery(_QueryForm):
    """The causes page, its CSV and a cause's jobs: the window, a job type, which causes."""

    days = forms.TypedChoiceField(
        choices=[(str(days), f"{days} days") for days in WINDOWS],
        coerce=int,
        required=False,
        initial=DEFAULT_WINDOW,
    )
    type = forms.ChoiceField(choices=[("", "All types"), *JOB_TYPES.items()], required=False)
    show = forms.ChoiceField(choices=list(SHOWS.items()), required=False)
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False, initial=1)

    def query(self, **changes) -> str:
        """The query string of this view, with `changes` applied and defaults left out."""
        values = {**self.cleaned_data, **changes}
        params: list[tuple[str, str | int]] = []
        if values.get("days") not in (None, DEFAULT_WINDOW):
            params.append(("days", values["days"]))
        for name in ("type", "show"):
            if values.get(name):
                params.append((name, values[name]))
        if values.get("page") not in (None, 1):
            params.append(("page", values["page"]))
        return urlencode(params)

    def filters(self) -> str:
        """The query string of the filters alone (no page): for the CSV and a cause's jobs."""
        return self.query(page=None)


def now() -> datetime:
    """The time windows end at (a function, so that tests can set the clock)."""
    return timezone.now()


@dataclass(frozen=True, slots=True)
class Window:
    """The last `days` days up to `end`, split into days or, when long, weeks."""

    days: int
    end: datetime

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)

    @property
    def recent_start(self) -> datetime:
        return self.end - timedelta(days=RECENT_DAYS)

    @property
    def weekly(self) -> bool:
        return self.days > WEEKLY_OVER_DAYS

    @property
    def tells_new_from_old(self) -> bool:
        """Whether "new" and "stopped" mean anything: not when the window is the recent days."""
        return self.days > RECENT_DAYS

    @property
    def unit(self) -> str:
        return "week" if self.weekly else "day"

    def buckets(self) -> list[tuple[date, date]]:
        """(first day, last day) of each bar, oldest first, the last ending today; a week
        counts back from today, so the oldest may reach before the window."""
        today = timezone.localdate(self.end)
        first = timezone.localdate(self.start)
        step = 7 if self.weekly else 1
        count = ((today - first).days // step) + 1
        return [
            (today - timedelta(days=step * n + step - 1), today - timedelta(days=step * n))
            for n in reversed(range(count))
        ]


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's (or week's) failed rows of a pattern, as an SVG rect's geometry."""

    x: int
    y: str
    height: str
    value: int
    first: date
    last: date

    @property
    def label(self) -> str:
        when = f"{self.first:%d %b}" if self.first == self.last else f"{self.first:%d %b}–{self.last:%d %b}"
        return f"{when}: {self.value:,} failed row{'s' if self.value != 1 else ''}"


def bars(per_day: dict[date, int], window: Window) -> list[Bar]:
    """The pattern's bars over `window`, heights relative to its busiest day (or week)."""
    buckets = window.buckets()
    values = [sum(n for day, n in per_day.items() if first <= day <= last) for first, last in buckets]
    peak = max(values, default=0) or 1
    out = []
    for n, ((first, last), value) in enumerate(zip(buckets, values, strict=True)):
        height = 0.0 if not value else max(1.0, CHART_HEIGHT * value / peak)
        out.append(Bar(n * CHART_STEP, f"{CHART_HEIGHT - height:.2f}", f"{height:.2f}", value, first, last))
    return out


@dataclass(frozen=True, slots=True)
class Cause:
    """One reason pattern as the page shows it."""

    count: CauseCount
    template: Template
    state: str  # NEW, STOPPED or ""
    bars: list[Bar]

    @property
    def key(self) -> str:
        return self.count.key

    @property
    def chart_width(self) -> int:
        return len(self.bars) * CHART_STEP

    @property
    def chart_summary(self) -> str:
        busiest = max(self.bars, key=lambda bar: bar.value, default=None)
        if busiest is None or not busiest.value:
            return "No failed rows."
        return f"Failed rows per {'week' if busiest.first != busiest.last else 'day'}; the most on {busiest.label}."


def state_of(count: CauseCount, window: Window) -> str:
    """NEW when first seen within the window's last days, STOPPED when not seen in them."""
    if not window.tells_new_from_old:
        return ""
    if count.first_seen >= window.recent_start:
        return NEW
    if count.last_seen < window.recent_start:
        return STOPPED
    return ""


@dataclass(frozen=True, slots=True)
class CausesPage:
    """What the causes page shows: the window, the jobs it covers, and one page of causes."""

    window: Window
    jobs: int  # jobs of the window whose failures are indexed
    failed: int  # their failed rows
    counts: list[tuple[CauseCount, str]]  # every cause under the filters, with its state
    new: int
    stopped: int
    paging: Paging
    causes: list[Cause]


def window_of(query: dict) -> Window:
    return Window(query["days"], now())


def indexes_of(scope: Scope, query: dict, window: Window) -> QuerySet[IndexedJob]:
    """The current indexes of the jobs of the window, of the type the query asks for."""
    return across.current_indexes(scope, since=window.start, job_type=query["type"])


def coverage_of(gateway: Gateway, scope: Scope, query: dict) -> Coverage:
    """Which jobs of the window the counts cover, from Meteroid's list of them; asks for the
    index of a few of those not read yet, as the search across jobs does."""
    window = window_of(query)
    found = search_across.coverage(
        gateway, scope, indexes_of(scope, query, window), days=query["days"], job_type=query["type"]
    )
    found.verb = "Counted"
    return found


def _stated(indexes: QuerySet[IndexedJob], window: Window) -> list[tuple[CauseCount, str]]:
    """Every cause of `indexes`, largest first, with its state."""
    return [(count, state_of(count, window)) for count in across.causes(indexes)]


def _shown(stated: list[tuple[CauseCount, str]], show: str) -> list[tuple[CauseCount, str]]:
    """The causes of the state `show` asks for (all for "")."""
    return [(count, state) for count, state in stated if not show or state == show]


def _templates(indexes: QuerySet[IndexedJob], keys: list[str]) -> dict[str, Template]:
    reasons = across.examples(indexes, keys)
    return {key: pattern_of(reasons.get(key, "")).template for key in keys}


def all_causes(scope: Scope, query: dict, window: Window) -> list[tuple[CauseCount, str, Template]]:
    """Every cause of the window under the query's filters, largest first, with its state
    and pattern: what the CSV lists."""
    indexes = indexes_of(scope, query, window)
    found = _shown(_stated(indexes, window), query["show"])
    templates = _templates(indexes, [count.key for count, _ in found])
    return [(count, state, templates[count.key]) for count, state in found]


def causes_page(scope: Scope, query: dict) -> CausesPage:
    """The page of causes `query` asks for (its paging says whether that page exists)."""
    window = window_of(query)
    indexes = indexes_of(scope, query, window)
    every = _stated(indexes, window)
    shown = _shown(every, query["show"])
    paging = Paging(query["page"], CAUSES_PER_PAGE, len(shown))
    page = shown[paging.offset : paging.offset + paging.per_page]
    keys = [count.key for count, _ in page]
    daily = across.daily_counts(indexes, keys)
    templates = _templates(indexes, keys)
    return CausesPage(
        window=window,
        jobs=indexes.count(),
        failed=sum(count.failed for count, _ in every),
        counts=shown,
        new=sum(1 for _, state in every if state == NEW),
        stopped=sum(1 for _, state in every if state == STOPPED),
        paging=paging,
        causes=[
            Cause(count, templates[count.key], state, bars(daily[count.key], window)) for count, state in page
        ],
    )


@dataclass(frozen=True, slots=True)
class CauseJobs:
    """A cause's jobs in the window, newest first."""

    window: Window
    key: str
    template: Template
    jobs: list[CauseJob]

    @property
    def failed(self) -> int:
        return sum(job.failed for job in self.jobs)


def cause_jobs(scope: Scope, query: dict, key: str) -> CauseJobs | None:
    """The jobs of the window with failures of pattern `key`; None when there are none."""
    if not KEY_RE.match(key):
        return None
    window = window_of(query)
    indexes = indexes_of(scope, query, window)
    example = across.examples(indexes, [key]).get(key)
    if example is None:
        return None
    return CauseJobs(window, key, pattern_of(example).template, across.cause_jobs(indexes, key))


def type_label(job_type: str) -> str:
    return JOB_TYPES.get(job_type, job_type)
