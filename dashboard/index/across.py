"""The indexes that pages across jobs read: of one Meteroid (`Scope`), published and current
(not replaced by a newer state's), of the jobs created within a window."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from dashboard.index.indexing import Scope
from dashboard.index.models import IndexedJob


def current_indexes(
    scope: Scope, *, since: datetime | None = None, job_type: str = ""
) -> QuerySet[IndexedJob]:
    """The current index of each job of `scope` (created at or after `since`, of `job_type`
    when given), newest job first. Dashboards of two Meteroids (or two keys) sharing one
    database never see each other's."""
    found = IndexedJob.objects.filter(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        status=IndexedJob.Status.DONE,
        superseded_at__isnull=True,
    )
    if since is not None:
        found = found.filter(job_created_at__gte=since)
    if job_type:
        found = found.filter(job_type=job_type)
    return found.order_by("-job_created_at", "-pk")
