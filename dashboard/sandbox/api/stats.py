"""Counts of the requests the sandbox served, by endpoint kind, in this process.

Tests and benchmarks read them (through the `_stats` endpoint when the sandbox runs in
another process) to count the upstream calls the dashboard made.
"""

from __future__ import annotations

import threading

KINDS = ("jobs", "job", "failures", "files")

_lock = threading.Lock()
_counts: dict[str, int] = dict.fromkeys(KINDS, 0)


def record(kind: str) -> None:
    """Count one request of `kind` (one of KINDS)."""
    if kind not in _counts:
        raise ValueError(f"unknown request kind {kind!r}")
    with _lock:
        _counts[kind] += 1


def snapshot() -> dict[str, int]:
    """The counts since the process started or since the last reset, every kind present."""
    with _lock:
        return dict(_counts)


def reset() -> None:
    """Start counting from zero again."""
    with _lock:
        for kind in _counts:
            _counts[kind] = 0
