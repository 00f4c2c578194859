"""The dashboard's index worker as its own process, as the Procfile runs it
(`manage.py index_worker --no-reload`), for the benchmarks that run the dashboard as real
processes; and the wait for a job's index, read from the database they share."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class IndexWorker:
    """One `manage.py index_worker` with the environment `env`; its output goes to `log_path`
    when given, else nowhere."""

    def __init__(self, env: dict[str, str], *, log_path: Path | None = None) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker is not started"
        return self.process.pid

    def start(self) -> IndexWorker:
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "index_worker", "--no-reload"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT if self.log_path else subprocess.DEVNULL,
            )
        finally:
            if self.log_path:
                log.close()
        return self

    def stop(self) -> None:
        """Stop it (SIGTERM: the worker finishes the task in hand, then exits)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def log(self) -> str:
        """The worker's output so far (the last 4,000 characters), when it is kept."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-4000:]


def wait_for_index(job_id: str, *, timeout: float, worker: IndexWorker | None = None):
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
