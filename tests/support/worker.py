"""The index worker (`manage.py index_worker`, the Procfile's `worker`) as a process of its
own, beside the dashboards it serves: one way to start, wait for and stop it, for the process,
serving and browser tests and the benchmarks. Pages only enqueue scans; this runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.support.paths import ROOT

READY = "Starting worker worker_id="


# Tests take a task as soon as it is queued; the Procfile's worker (options=()) looks for
# one every second, after a random delay at start.
QUICK = ("--no-startup-delay", "--interval", "0.1")


class Worker:
    """One `index_worker` on the environment `env` (that of the dashboards it serves: same
    database, cache, Meteroid and sandbox settings), with `options` (QUICK unless given).
    Its output goes to `log_path`, kept for the message of a failing test."""

    def __init__(
        self, env: dict[str, str], log_path: Path, *, name: str = "worker", options: tuple[str, ...] = QUICK
    ):
        self.env = env
        self.log_path = log_path
        self.name = name
        self.options = options
        self.worker_id = f"{name}-{uuid.uuid4().hex[:12]}"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not started"
        return self.process.pid

    def start(self) -> Worker:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "manage.py", "index_worker", "--no-reload",
                    "--worker-id", self.worker_id, "-v", "1",
                    *self.options,
                ],
                cwd=ROOT,
                env={**self.env, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def wait_ready(self, timeout: float = 60) -> Worker:
        """Return once the worker has started its loop (it says so in its log); fail at once
        if it exits, or after `timeout`."""
        deadline = time.monotonic() + timeout
        while f"{READY}{self.worker_id}" not in self.log(chars=None):
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start within {timeout:.0f} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop it: SIGTERM lets a scan in progress end (10 s at most, then it is killed)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def kill(self) -> None:
        """Kill it at once (SIGKILL), as a machine lost or an out-of-memory kill would: a scan
        in progress stops where it is, its lease held until it expires."""
        assert self.process is not None, f"{self.name} is not started"
        self.process.kill()
        self.process.wait(10)

    def log(self, chars: int | None = 4000) -> str:
        """The worker's output so far (its last `chars` characters; all of it for None)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text if chars is None else text[-chars:]

    def __enter__(self) -> Worker:
        return self.start().wait_ready()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
