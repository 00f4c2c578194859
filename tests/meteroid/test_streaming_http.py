"""A job's failures read page after page over real HTTP, against the sandbox on its loopback port: the pages in
flight keep their connections."""

from __future__ import annotations

import logging

import pytest

from dashboard.meteroid.gateway import get_gateway, reset_gateway
from dashboard.meteroid.streaming import PAGE_SIZE, stream_failures
from dashboard.sandbox.world.data import SHOWCASE


@pytest.fixture
def sandbox(settings):
    settings.METEROID_API_KEY = ""  # the built-in sandbox
    yield
    reset_gateway()


def _new_connections(caplog) -> int:
    return sum(1 for r in caplog.records if r.getMessage().startswith("Starting new HTTP connection"))


@pytest.mark.parametrize("concurrency", [8, 40])
def test_the_reading_opens_one_connection_per_page_in_flight_and_keeps_them(
    sandbox, settings, caplog, concurrency
):
    settings.SCAN_CONCURRENCY = settings.METEROID_MAX_CONCURRENCY = concurrency
    settings.SANDBOX_LATENCY_MS = 20  # pages overlap, as they do against Meteroid
    gateway = get_gateway()
    job = gateway.job(SHOWCASE["events"])
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    failures = list(stream_failures(gateway, job)[1])
    pages = -(-job.failure_count // PAGE_SIZE)
    assert len(failures) == job.failure_count and pages > concurrency
    assert _new_connections(caplog) <= concurrency
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
