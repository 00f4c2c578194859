"""Refresh on demand, within limits, so that nobody can hammer Meteroid from the dashboard.

One person may refresh one page (a path with its query) once every
REFRESH_INTERVAL_SECONDS, and at most REFRESH_PER_MINUTE pages in a minute. The counts live in
the shared cache, so they hold across processes. Beyond these, every request to Meteroid is
still bounded by the gateway's budget (requests in flight, pauses after a 429).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a refresh may go ahead; if not, why and for how many seconds more."""

    allowed: bool
    wait: int = 0
    reason: str = ""


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def claim(person: str, page: str) -> Decision:
    """Claim a refresh of `page` (a path with its query) for `person` (a user id): allowed,
    and counted, or refused with the seconds to wait. Allowed when the cache cannot say."""
    now = time.time()
    interval = settings.REFRESH_INTERVAL_SECONDS
    page_key = f"refresh:page:{_digest(person, page)}"
    minute = int(now // 60)
    count_key = f"refresh:person:{_digest(person)}:{minute}"
    try:
        if not cache.add(page_key, now, interval):
            since = cache.get(page_key)
            elapsed = now - since if isinstance(since, float) else 0.0
            return Decision(False, max(1, math.ceil(interval - elapsed)), "page")
        cache.add(count_key, 0, 90)
        count = cache.incr(count_key)
        if count > settings.REFRESH_PER_MINUTE:
            # This page was not refreshed after all: do not hold it against the next try.
            cache.delete(page_key)
            return Decision(False, max(1, math.ceil(60 - now % 60)), "person")
    except Exception:
        logger.warning("Cache failed while limiting refreshes; allowing this one", exc_info=True)
    return Decision(True)
