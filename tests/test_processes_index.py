"""Two dashboards and two index workers as real processes on one PostgreSQL and one Redis: a
job is scanned once and seen from both dashboards; a worker killed mid-scan leaves the scan to
the other, which completes it with no row twice."""

from __future__ import annotations

import html
import re
import uuid

import pytest
import requests

from tests.support import services
from tests.support.helpers import wait_until
from tests.support.processes import SANDBOX_KEY, Stack, start_stack

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

LARGER_JOB = "bjob_6VG0OZuEwrTEyUlzqBCPJe"  # 4,101 failure records, completed


@pytest.fixture
def stack(tmp_path):
    with services.postgres_database("processes") as database_url:
        client = services.require_redis()
        prefix = f"test-processes-index-{uuid.uuid4().hex[:8]}"
        stack = start_stack(
            tmp_path,
            cache_url=f"{services.REDIS_URL}?key_prefix={prefix}",
            database_url=database_url,
            index_workers=2,
            # Slow enough to be caught halfway: 41 pages, 2 at a time, 300 ms each.
            SANDBOX_LATENCY_MS="300",
            SCAN_CONCURRENCY="2",
            # A dead worker's lease runs out in 2 s (the sweepers look every second).
            INDEX_LEASE_SECONDS="2",
            # Only the scan the page asks for: the backfill's would be in its way.
            INDEX_BACKFILL_SECONDS="86400",
        )
        try:
            yield stack
        finally:
            stack.stop()
            for key in client.scan_iter(match=f"{prefix}:*", count=500):
                client.delete(key)


def _index(stack: Stack, job_id: str) -> dict | None:
    """The job's index as the shared database holds it (None before any was asked)."""
    rows = stack.query(
        "SELECT id, status, records, total, attempts, lease_holder, error FROM index_indexedjob "
        "WHERE job_id = %s ORDER BY id DESC LIMIT 1",
        (job_id,),
    )
    if not rows:
        return None
    return dict(
        zip(("pk", "status", "records", "total", "attempts", "holder", "error"), rows[0], strict=True)
    )


def _counts(stack: Stack, job_id: str) -> tuple[int, int]:
    """How many indexes of the job there are, and how many tasks were ever enqueued."""
    [(indexes,)] = stack.query("SELECT COUNT(*) FROM index_indexedjob WHERE job_id = %s", (job_id,))
    [(tasks,)] = stack.query("SELECT COUNT(*) FROM django_tasks_database_dbtaskresult")
    return indexes, tasks


def _indexed_chunks(stack: Stack, pk: int) -> set[str]:
    """The chunks with failures in the index `pk`."""
    sql = "SELECT DISTINCT chunk_id FROM index_indexedfailure WHERE indexed_job_id = %s"
    return {chunk for (chunk,) in stack.query(sql, (pk,))}


def _indexed_groups(stack: Stack, pk: int) -> dict[str, int]:
    """The reason groups of the index `pk`, with their counts."""
    sql = "SELECT pattern_key, COUNT(*) FROM index_indexedfailure WHERE indexed_job_id = %s GROUP BY pattern_key"
    return dict(stack.query(sql, (pk,)))


def _failure_count(stack: Stack, job_id: str) -> int:
    """The job's failure count, as Meteroid (the sandbox) says."""
    response = requests.get(
        f"{stack.sandbox_url}/api/v1/batch-jobs/{job_id}",
        headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["failure_count"]


def _page(session: requests.Session, url: str) -> str:
    response = session.get(url, timeout=30, allow_redirects=False)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.text


def _options(page: str, select_id: str) -> dict[str, str]:
    """The options of a `<select>` of the page, by value (the empty "all" one left out)."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no <select id={select_id}> in the page"
    return {
        html.unescape(value): html.unescape(text)
        for value, text in re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select.group(1))
    }


def _groups(page: str) -> dict[str, int]:
    """The reason groups the page lists in its filter, with their counts."""
    return {
        key: int(text.rsplit(" · ", 1)[1].replace(",", "")) for key, text in _options(page, "reason").items()
    }


def test_a_scan_taken_over_from_a_killed_worker_is_complete_once_and_seen_from_both_dashboards(stack):
    first, second = stack.dashboards
    job_url = f"/jobs/{LARGER_JOB}/"
    failures = _failure_count(stack, LARGER_JOB)

    # The page on the first dashboard asks for the index; a worker takes the scan.
    assert "Reading every failure" in _page(stack.login(first), first.url + job_url)

    def caught_halfway():
        index = _index(stack, LARGER_JOB)
        if index and index["status"] == "running" and 0 < index["records"] < failures:
            return index, stack.worker_of(index["holder"])
        return None

    index, scanning = wait_until(caught_halfway, timeout=60, what="a worker has written part of the index")
    assert scanning is not None, f"the lease {index['holder']!r} names no worker of the stack"
    other = next(worker for worker in stack.workers if worker is not scanning)
    scanning.kill()
    left = _index(stack, LARGER_JOB)
    assert left["status"] == "running" and stack.worker_of(left["holder"]) is scanning
    assert 0 < left["records"] < failures

    wait_until(
        lambda: stack.worker_of(_index(stack, LARGER_JOB)["holder"]) is other,
        timeout=30,
        what=f"the other worker takes the scan over\n{other.log()}",
    )
    wait_until(
        lambda: _index(stack, LARGER_JOB)["status"] in ("done", "failed"),
        timeout=60,
        what=f"the index is published\n{other.log()}",
    )
    index = _index(stack, LARGER_JOB)
    assert (index["status"], index["error"], index["attempts"]) == ("done", "", 2), other.log()
    assert index["records"] == index["total"] == failures
    [(rows, ids, distinct)] = stack.query(
        "SELECT COUNT(*), COUNT(failure_id), COUNT(DISTINCT failure_id) FROM index_indexedfailure "
        "WHERE indexed_job_id = %s",
        (index["pk"],),
    )
    assert rows == ids == distinct == failures
    # One index; the dead worker's task, and the one the sweeper enqueued again.
    assert _counts(stack, LARGER_JOB) == (1, 2)

    # The second dashboard, in a session of its own, shows the chunks and the reason groups
    # of that index, asking for no scan.
    on_second = _page(stack.login(second), second.url + job_url)
    assert _counts(stack, LARGER_JOB) == (1, 2)
    assert "Reading every failure" not in on_second
    assert set(_options(on_second, "chunk")) == _indexed_chunks(stack, index["pk"])
    groups = _indexed_groups(stack, index["pk"])
    assert _groups(on_second) == groups
    assert f"All reasons ({len(groups):,} group" in on_second
    # And the first dashboard agrees.
    on_first = _page(stack.login(first), first.url + job_url)
    assert _options(on_first, "chunk") == _options(on_second, "chunk")
    assert _groups(on_first) == _groups(on_second)
    assert _counts(stack, LARGER_JOB) == (1, 2)
