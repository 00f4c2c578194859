"""The dashboard's budget for Meteroid: how many requests one process keeps in flight, and a
pause for every process after Meteroid answered 429.

Meteroid rate-limits each tenant. However many people look and however many scans run, one
process sends at most `max_in_flight` requests at once (a semaphore); and once Meteroid says
"too many", every process sharing the cache waits until its `Retry-After` has passed (the end
of the pause is kept in the cache), instead of each finding out with a 429 of its own.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

from . import deadline
from .errors import ErrorKind, MeteroidError

logger = logging.getLogger("dashboard.meteroid")

# The pause after a 429 that named no Retry-After.
DEFAULT_PAUSE_SECONDS = 2.0


class Budget:
    """Limits for the requests to one Meteroid (one base URL and key, named by `scope`).

    `slot()` is held around each request: it waits out a pause of up to `max_pause_wait`
    seconds (a longer one fails at once with RATE_LIMITED), then waits up to `slot_wait`
    seconds for one of `max_in_flight` slots (failing with UNAVAILABLE if none frees up).
    Under a request's deadline both waits end with it (deadline.py).
    """

    def __init__(self, scope: str, *, max_in_flight: int, slot_wait: float, max_pause_wait: float) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.scope = scope
        self.max_in_flight = max_in_flight
        self.slot_wait = slot_wait
        self.max_pause_wait = max_pause_wait
        self._slots = threading.BoundedSemaphore(max_in_flight)

    def __repr__(self) -> str:
        return f"Budget({self.scope!r}, max_in_flight={self.max_in_flight})"

    @property
    def pause_key(self) -> str:
        return f"mtr:pause:{self.scope}"

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the process's request slots, once no pause is on."""
        self.wait_out_pause()
        limit = deadline.current()
        wait = self.slot_wait if limit is None else limit.cap(self.slot_wait)
        if not self._slots.acquire(timeout=wait):
            if limit is not None and limit.spent:
                raise limit.error()
            raise MeteroidError(
                ErrorKind.UNAVAILABLE,
                "The dashboard is already waiting on many answers from Meteroid; try again in a moment.",
            )
        try:
            yield
        finally:
            self._slots.release()

    def paused_for(self) -> float:
        """Seconds until the current pause ends (0 when there is none)."""
        try:
            until = cache.get(self.pause_key)
        except Exception:
            logger.warning("Cache read failed; the rate-limit pause is not known", exc_info=True)
            return 0.0
        if not isinstance(until, float):
            return 0.0
        return max(0.0, until - time.time())

    def wait_out_pause(self) -> None:
        """Return once no pause is on: at once, after sleeping through a short one, or by
        raising RATE_LIMITED for a pause longer than `max_pause_wait`."""
        remaining = self.paused_for()
        if remaining <= 0:
            return
        limit = deadline.current()
        longest = self.max_pause_wait
        if limit is not None:
            # A pause that ends too late for an answer within the deadline is not waited out.
            longest = min(longest, limit.remaining() - deadline.MIN_ATTEMPT_SECONDS)
        if remaining > longest:
            raise MeteroidError(
                ErrorKind.RATE_LIMITED,
                f"Meteroid is rate-limiting requests: try again in {math.ceil(remaining)} s.",
                status=429,
                retry_after=remaining,
            )
        time.sleep(remaining)

    def pause(self, seconds: float | None) -> None:
        """Start (or lengthen) a pause for everyone: Meteroid answered 429 with this
        Retry-After (None: it named none)."""
        seconds = DEFAULT_PAUSE_SECONDS if seconds is None else max(0.0, seconds)
        if seconds <= 0:
            return
        if seconds <= self.paused_for():
            return  # a longer pause is already on
        until = time.time() + seconds
        try:
            cache.set(self.pause_key, until, math.ceil(seconds) + 1)
        except Exception:
            logger.warning("Cache write failed; the rate-limit pause is not shared", exc_info=True)
        logger.info("Meteroid answered 429: pausing requests for %.1f s", seconds)
