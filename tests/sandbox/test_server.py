"""The sandbox's loopback HTTP server: real HTTP, one per process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from dashboard.sandbox.api import server, stats
from dashboard.sandbox.api.server import sandbox_base_url
from dashboard.sandbox.world.data import SHOWCASE


@pytest.fixture
def key(settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.SANDBOX_API_KEY}"}


def test_it_answers_over_real_http(key):
    base = sandbox_base_url()
    assert base.startswith("http://127.0.0.1:") and base.endswith("/sandbox")
    response = requests.get(f"{base}/api/v1/batch-jobs", headers=key, timeout=10)
    assert response.status_code == 200
    assert response.json()["pagination_meta"]["total_items"] >= 60
    assert requests.get(f"{base}/api/v1/batch-jobs", timeout=10).status_code == 401


def test_it_starts_once_per_process(key):
    with ThreadPoolExecutor(8) as pool:
        urls = set(pool.map(lambda _: sandbox_base_url(), range(16)))
    assert urls == {sandbox_base_url()}


def test_it_serves_requests_side_by_side(key, monkeypatch):
    # Each request waits, where the sandbox's latency would be, until all eight are in
    # flight: served one at a time, the first would wait alone and fail. (The latency a
    # request costs is a figure: bench/sandbox.py.)
    in_flight = threading.Barrier(8)
    monkeypatch.setattr("dashboard.sandbox.api.views._sleep", lambda since: in_flight.wait(timeout=5))
    base, job_id = sandbox_base_url(), SHOWCASE["customers"]
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda offset: (
                    requests.get(
                        f"{base}/api/v1/batch-jobs/{job_id}/failures",
                        params={"offset": offset},
                        headers=key,
                        timeout=10,
                    ).status_code
                ),
                range(0, 200, 25),
            )
        )
    assert codes == [200] * 8
    assert not in_flight.broken


def test_a_kept_alive_connection_is_kept_and_sent_without_delay(key):
    # What keeps a request on loopback fast (the time itself is a figure: bench/sandbox.py):
    # the connection is reused, and small writes are not held back by Nagle's algorithm.
    assert server._QuietRequestHandler.disable_nagle_algorithm is True
    base = sandbox_base_url()
    with requests.Session() as session:
        session.headers.update(key)
        for _ in range(10):
            response = session.get(f"{base}/_stats", timeout=10)
            assert response.status_code == 200
            assert response.headers.get("Connection", "").lower() != "close"
        pools = session.get_adapter(base).poolmanager.pools
        pools = [pools[key] for key in pools.keys()]  # noqa: SIM118 (it cannot be iterated)
        assert [(pool.num_connections, pool.num_requests) for pool in pools] == [(1, 10)]


def test_it_streams_files(key):
    base = sandbox_base_url()
    job = requests.get(f"{base}/api/v1/batch-jobs/{SHOWCASE['big']}", headers=key, timeout=10).json()
    with requests.get(f"{base}{job['input_file_url']}", stream=True, timeout=10) as response:
        assert response.status_code == 200
        first = next(response.iter_lines())
    assert first.decode() == "event_id,event_code,customer_id,customer_alias,timestamp,properties"


def test_its_counts_are_the_processs(key):
    base = sandbox_base_url()
    requests.post(f"{base}/_stats/reset", headers=key, timeout=10).raise_for_status()
    requests.get(f"{base}/api/v1/batch-jobs/{SHOWCASE['export']}", headers=key, timeout=10)
    assert stats.snapshot()["job"] == 1
    assert requests.get(f"{base}/_stats", headers=key, timeout=10).json()["job"] == 1


@pytest.fixture
def own_server(monkeypatch):
    """Pretend to be a freshly forked process: the next call starts a server of its own
    (whose Django reads the settings of the moment); put things back afterwards."""
    before = server._started
    monkeypatch.setattr(server.os, "getpid", lambda: -1)
    yield
    server.stop_sandbox_server()
    server._started = before


def test_a_forked_process_starts_its_own(key):
    parent = sandbox_base_url()
    with pytest.MonkeyPatch.context() as patch:
        before = server._started
        patch.setattr(server.os, "getpid", lambda: -1)
        child = sandbox_base_url()
        assert child != parent
        assert sandbox_base_url() == child
        assert requests.get(f"{child}/api/v1/batch-jobs", headers=key, timeout=10).status_code == 200
        server.stop_sandbox_server()
        server._started = before
    assert sandbox_base_url() == parent


def test_it_answers_whatever_hosts_and_https_the_settings_ask_for(key, settings, own_server):
    # Settings as behind a TLS proxy, for a public host name only: the loopback request
    # neither is secure nor carries that host.
    settings.ALLOWED_HOSTS = ["dashboard.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    base = sandbox_base_url()
    response = requests.get(f"{base}/api/v1/batch-jobs", headers=key, timeout=10, allow_redirects=False)
    assert response.status_code == 200
    assert response.json()["data"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/batch-jobs?per_page=3",
        f"/api/v1/batch-jobs/{SHOWCASE['customers']}",
        f"/api/v1/batch-jobs/{SHOWCASE['customers']}/failures?limit=5&offset=7",
        "/api/v1/batch-jobs/bjob_0000000000000000000000",
        "/api/v1/batch-jobs?per_page=abc",
        "/api/v1/batch-jobs?per_page=500",
    ],
)
def test_the_loopback_server_answers_as_the_dashboards_own_sandbox_urls(client, key, path, monkeypatch):
    # The loopback server skips the dashboard's middleware: the API must not notice.
    monkeypatch.setattr(
        "dashboard.sandbox.api.views._now", lambda: 1_795_000_000.0
    )  # running jobs hold still
    direct = requests.get(f"{sandbox_base_url()}{path}", headers=key, timeout=10)
    through_dashboard = client.get(f"/sandbox{path}", HTTP_AUTHORIZATION=key["Authorization"])
    assert direct.status_code == through_dashboard.status_code
    assert direct.content == through_dashboard.content
    sent = {name.lower(): value for name, value in direct.headers.items()}
    for name in ("date", "server", "connection", "x-request-id"):
        sent.pop(name, None)
    expected = {name.lower(): value for name, value in through_dashboard.items()}
    expected.pop("x-request-id", None)
    assert sent == expected


def test_the_loopback_server_serves_the_sandbox_only(key):
    base = sandbox_base_url().removesuffix("/sandbox")
    for path in ("/jobs/", "/accounts/login/", "/sandbox/nope"):
        response = requests.get(f"{base}{path}", timeout=10)
        assert response.status_code == 404
        assert response.json() == {"code": "NOT_FOUND", "message": "No such endpoint"}
