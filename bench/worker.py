"""The wait for a job's index, read from the database the dashboard and its index worker
(tests/support/worker.py) share, for the benchmarks that run the dashboard as real processes."""

from __future__ import annotations

import time

from tests.support.worker import Worker


def wait_for_index(job_id: str, *, timeout: float, worker: Worker | None = None):
    """The job's newest index once it is published or failed, read with this process's
    Django settings (the database the dashboard and its worker share). Gives up after
    `timeout` seconds, or at once if `worker` has exited."""
    from dashboard.index.models import IndexedJob

    Status = IndexedJob.Status
    deadline = time.monotonic() + timeout
    while True:
        found = IndexedJob.objects.filter(job_id=job_id).order_by("-pk").first()
        if found is not None and found.status in (Status.DONE, Status.FAILED):
            return found
        if worker is not None and (worker.process is None or worker.process.poll() is not None):
            raise SystemExit(f"the index worker exited:\n{worker.log()}")
        if time.monotonic() > deadline:
            state = found.status if found else "not asked for"
            raise SystemExit(f"the index of {job_id} is not published after {timeout:.0f} s ({state})")
        time.sleep(0.05)
