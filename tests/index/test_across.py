"""What pages across jobs read: each job's current index, of one Meteroid, in a window; and
the job as it was read, kept with its index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.index.across import current_indexes
from dashboard.index.indexing import Scope
from dashboard.index.models import IndexedJob
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import wait_for_scan

pytestmark = pytest.mark.django_db

ONE = Scope("https://meteroid.example", "0123456789abcdef")
OTHER_KEY = Scope("https://meteroid.example", "fedcba9876543210")


def _index(
    scope: Scope, job_id: str, *, days_ago: float, status=IndexedJob.Status.DONE, **fields
) -> IndexedJob:
    now = timezone.now()
    return IndexedJob.objects.create(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        job_id=job_id,
        state_key=fields.pop("state_key", "s"),
        status=status,
        job_created_at=now - timedelta(days=days_ago),
        updated_at=now,
        **fields,
    )


def test_each_jobs_current_index_of_one_meteroid_in_the_window_newest_first():
    newest = _index(ONE, "bjob_new", days_ago=1, job_type="CUSTOMER_CSV_IMPORT")
    older = _index(ONE, "bjob_old", days_ago=10, job_type="EVENT_CSV_IMPORT")
    _index(ONE, "bjob_ancient", days_ago=40)
    _index(ONE, "bjob_reading", days_ago=1, status=IndexedJob.Status.RUNNING)
    _index(ONE, "bjob_old", days_ago=10, state_key="before-retry", superseded_at=timezone.now())
    _index(OTHER_KEY, "bjob_tenant", days_ago=1)
    since = timezone.now() - timedelta(days=30)
    assert list(current_indexes(ONE, since=since)) == [newest, older]
    assert list(current_indexes(ONE, since=since, job_type="EVENT_CSV_IMPORT")) == [older]
    assert [i.job_id for i in current_indexes(OTHER_KEY)] == ["bjob_tenant"]


def test_an_index_keeps_its_job_as_it_was_read():
    status = wait_for_scan(SHOWCASE["customers"])
    indexed = status.index
    indexed.refresh_from_db()
    from dashboard.meteroid.gateway import get_gateway

    job = get_gateway().job(SHOWCASE["customers"])
    assert (indexed.job_type, indexed.job_status, indexed.file_name, indexed.job_created_at) == (
        job.job_type,
        job.status,
        job.input_file_name,
        job.created_at,
    )
