"""The dashboard served by gunicorn on a loopback port, as the Procfile serves it: one way to
start, wait for and stop it, for the process, serving and browser tests and the benchmarks."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.net import free_port
from tests.support.paths import ROOT


class Gunicorn:
    """One gunicorn process serving `dashboard.wsgi` (gthread workers unless `options` say
    otherwise). Its output goes to `log_path` when given, else nowhere."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        port: int | None = None,
        workers: int = 1,
        threads: int = 8,
        options: tuple[str, ...] | None = None,
        log_path: Path | None = None,
        name: str = "gunicorn",
    ) -> None:
        self.env = env
        self.port = port or free_port()
        self.options = (
            options
            if options is not None
            else ("--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread")
        )
        self.log_path = log_path
        self.name = name
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn", "dashboard.wsgi",
                    "--bind", f"127.0.0.1:{self.port}",
                    "--timeout", "60", "--graceful-timeout", "2",
                    *self.options,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT if self.log_path else subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            if self.log_path:
                log.close()
        return self

    def wait_ready(self, path: str = "/accounts/login/", timeout: float = 60) -> Gunicorn:
        """Return once `path` answers; fail at once if the process exits, or after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} on {self.port} exited at start:\n{self.log()}")
            try:
                requests.get(self.url + path, timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} on {self.port} did not answer within {timeout:.0f} s:\n{self.log()}")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """Stop it: SIGTERM lets requests in flight finish (2 s at most), SIGINT does not."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(how)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def log(self) -> str:
        """The process's output so far (the last 4,000 characters), when it is kept."""
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Gunicorn:
        return self.start().wait_ready()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
