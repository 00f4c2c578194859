"""One deadline per interactive request, for all its calls to Meteroid, retries included.

A person waits for a page; a Meteroid that hangs must not make them wait through every read
timeout and retry of every call the page makes (3 retries of 10 s each were 41.5 s). The
`MeteroidDeadline` middleware opens a deadline of METEROID_REQUEST_DEADLINE_SECONDS for each
request; the client caps each attempt's connect and read timeouts by the time left, makes a
retry only when there is time for it after its backoff, and starts no call once too little
is left; the budget's waits (a free slot, a pause after a 429) and the cache's single flight
(waiting on another's fetch) stop at the deadline too. Past it, the call fails with
`ErrorKind.SLOW`, which, like any retryable error, a stale copy may stand in for.

Downloads and background scans read far more than a page and have no one staring at a
spinner: they run outside any deadline (`lifted`), with the client's own timeouts and retries.
The deadline lives in a context variable, so a scan thread started from a request carries it
along in its copied context; the scan lifts it first thing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import ErrorKind, MeteroidError

# An attempt left less than this is not started: it could only time out.
MIN_ATTEMPT_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Deadline:
    """The instant (`time.monotonic()`) by which a request's calls to Meteroid must be done."""

    at: float
    seconds: float  # the whole allowance, for messages

    def remaining(self) -> float:
        """Seconds left (negative once past)."""
        return self.at - time.monotonic()

    @property
    def spent(self) -> bool:
        """Whether too little is left to start another attempt."""
        return self.remaining() < MIN_ATTEMPT_SECONDS

    def cap(self, seconds: float) -> float:
        """`seconds`, or the time left if that is shorter (never below zero)."""
        return max(0.0, min(seconds, self.remaining()))

    def error(self) -> MeteroidError:
        """The failure of a call that the deadline cut short, told for a person."""
        return MeteroidError(
            ErrorKind.SLOW,
            f"Meteroid is slow: it did not answer within the {self.seconds:g} s a page waits for it. "
            "Try again in a moment.",
        )


_current: ContextVar[Deadline | None] = ContextVar("meteroid_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the request being served, if any (None: no deadline)."""
    return _current.get()


@contextmanager
def within(seconds: float) -> Iterator[Deadline]:
    """A deadline `seconds` from now for the calls made inside."""
    deadline = Deadline(time.monotonic() + seconds, seconds)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


@contextmanager
def lifted() -> Iterator[None]:
    """No deadline for the calls made inside (downloads, background work). Usable as a
    view decorator."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def lift() -> None:
    """Drop the deadline for the rest of the current context (a background thread's own)."""
    _current.set(None)
