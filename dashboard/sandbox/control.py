"""Retries asked of the sandbox on demand, in this process: the state behind its control
endpoint (`POST /sandbox/control/batch-jobs/{id}/retry`), which is no part of Meteroid's API.

Everything else the sandbox serves is computed from the seed and the clock; a retry asked by a
test is the one thing it has to remember. It is kept per process, like the request counts in
`stats.py`: the dashboard's own sandbox server runs in the process that serves the dashboard.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_asked: dict[str, tuple[tuple[int, int], ...]] = {}


def ask(job_id: str, asked_ms: int, run_ms: int) -> None:
    """Remember a retry of `job_id` asked at `asked_ms` (sandbox clock), running `run_ms`."""
    with _lock:
        _asked[job_id] = (*_asked.get(job_id, ()), (asked_ms, run_ms))


def asked() -> dict[str, tuple[tuple[int, int], ...]]:
    """Each job's retries asked so far, in the order they were asked."""
    with _lock:
        return dict(_asked)


def reset() -> None:
    """Forget every retry asked."""
    with _lock:
        _asked.clear()
