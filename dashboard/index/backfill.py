"""Keeping the index of recent jobs ready: every job created within INDEX_WINDOW_DAYS is
indexed in its current state, whether or not a page asked for it (pages across jobs read
the indexes of a window, and find them there).

A round (`backfill`, run by a thread of `index_worker` every INDEX_BACKFILL_SECONDS, beside
the loop that runs tasks: a long round never holds a scan back) lists the window's jobs, newest first, and asks for the index of
each in its current state. A job's detail (which its state key needs) is read only where the
list says it may have changed: a job never asked for, an active one, an ended one whose entry
in the list is not the one last seen. A job whose index is still being made waits for the
next round. What the backfill asks for waits behind what pages ask for in the queue
(`indexing.BACKGROUND_PRIORITY`), and its scans, all together in a process, read at most INDEX_BACKFILL_CONCURRENCY pages at
once (`sources.scan_concurrency`, `sources._slots`): it never takes more than its share of Meteroid's budget.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from dashboard.index.indexing import Scope, request_index
from dashboard.index.models import IndexedJob
from dashboard.index.sources import scope_of
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import Gateway, get_gateway
from dashboard.meteroid.records import Job

logger = logging.getLogger(__name__)

LIST_PAGE = 100  # jobs per page of the list: the most Meteroid gives
ROUND_KEY = "mtr:index-backfill-round"  # held for a period by the process whose turn it is
Status = IndexedJob.Status


@dataclass(frozen=True, slots=True)
class Round:
    """What a round did: jobs of the window listed, details read, indexes newly asked for."""

    listed: int
    looked: int
    asked: int


def list_key(job: Job) -> str:
    """A job's entry in the list, as a short key: what changes when an ended job is retried."""
    material = json.dumps(
        [
            job.id,
            job.status,
            job.completed_at.isoformat() if job.completed_at else None,
            job.processed_items,
            job.failed_items,
            job.total_items,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def _latest(scope: Scope, job_id: str) -> IndexedJob | None:
    return (
        IndexedJob.objects.filter(
            base_url=scope.base_url, key_fingerprint=scope.key_fingerprint, job_id=job_id
        )
        .only("status", "list_key", "state_key")
        .order_by("-created_at", "-pk")
        .first()
    )


def needs_look(job: Job, latest: IndexedJob | None) -> bool:
    """Whether a round reads the job's detail: never asked for, or active, or ended with an
    entry in the list other than the one last seen; not while its index is being made."""
    if latest is None:
        return True
    if latest.status in (Status.QUEUED, Status.RUNNING):
        return False
    return job.is_active or latest.list_key != list_key(job)


def backfill(*, gateway: Gateway | None = None, now: datetime | None = None) -> Round:
    """One round: ask for the index of every job of the window in its current state."""
    gateway = gateway or get_gateway()
    scope = scope_of(gateway)
    since = (now or timezone.now()) - timedelta(days=settings.INDEX_WINDOW_DAYS)
    listed = looked = asked = 0
    for job in gateway.jobs_since(since, per_page=LIST_PAGE):
        listed += 1
        latest = _latest(scope, job.id)
        if not needs_look(job, latest):
            continue
        looked += 1
        try:
            detail = gateway.job(job.id)
        except MeteroidError as error:
            logger.warning("backfill: job %s could not be read: %s", job.id, error.message)
            continue
        state = job_state_key(detail)
        indexed = request_index(scope, job.id, state, background=True)
        IndexedJob.objects.filter(pk=indexed.pk).update(list_key=list_key(job))
        asked += latest is None or latest.state_key != state
    return Round(listed, looked, asked)


def take_turn() -> bool:
    """Whether this process runs the next round: the first to ask in a period of
    INDEX_BACKFILL_SECONDS, of the workers sharing the cache."""
    return bool(cache.add(ROUND_KEY, 1, timeout=settings.INDEX_BACKFILL_SECONDS))
