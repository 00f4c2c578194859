"""Background tasks of the index, on Django's tasks framework (run by `index_worker`)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.tasks import task
from django.utils.module_loading import import_string

from dashboard.index import indexing
from dashboard.index.models import IndexedJob

logger = logging.getLogger(__name__)


@task
def scan_job(*, base_url: str, key_fingerprint: str, job_id: str, state_key: str) -> str:
    """Index the failures of `job_id` at `state_key`, unless a live worker does already.

    Enqueued by `indexing.request_index`, once per job and state; the rows come from
    INDEX_SOURCE (`sources.meteroid_rows`)."""
    indexed = IndexedJob.objects.filter(
        base_url=base_url, key_fingerprint=key_fingerprint, job_id=job_id, state_key=state_key
    ).first()
    if indexed is None or indexed.status in (IndexedJob.Status.DONE, IndexedJob.Status.FAILED):
        return "gone"
    started = time.monotonic()
    outcome = indexing.run_scan(indexed, import_string(settings.INDEX_SOURCE))
    indexed.refresh_from_db()
    logger.info(
        "index of %s: %s, %d rows in %.2fs", job_id, outcome, indexed.fetched, time.monotonic() - started
    )
    return outcome


@task
def prune_indexes() -> int:
    """Delete the indexes past INDEX_RETENTION_DAYS (and those replaced a while ago)."""
    return indexing.prune()
