"""`/healthz`: the dashboard's own health decides the status; Meteroid's state is reported apart."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from dashboard.views import health
from tests.support.upstream import FAKE_KEY, JOB, JOBS_PATH, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_probes():
    health._last.clear()
    yield
    health._last.clear()


def test_it_answers_without_a_login_and_without_tenant_data(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["dashboard"] == {"database": {"ok": True}, "cache": {"ok": True}}
    assert body["meteroid"]["ok"] is True
    assert set(body) == {"status", "dashboard", "meteroid"}
    assert "no-cache" in response["Cache-Control"]


def test_meteroid_down_is_reported_but_the_dashboard_stays_healthy(client, meteroid):
    meteroid.refuse()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["meteroid"]["ok"] is False
    assert body["meteroid"]["error"] == "unavailable"
    text = response.content.decode()
    # Neither the key, nor where Meteroid lives, nor any job.
    assert FAKE_KEY not in text and str(meteroid.port) not in text and JOB not in text


def test_meteroid_rejecting_the_key_is_reported_as_such(client, meteroid):
    meteroid.script(JOBS_PATH, Reply(401, {"code": "UNAUTHORIZED", "message": "bad key"}))
    body = client.get("/healthz").json()
    assert body["meteroid"] == {
        "ok": False,
        "error": "unauthorized",
        "status": 401,
        "checked_at": body["meteroid"]["checked_at"],
    }


def test_meteroid_is_asked_once_however_often_the_endpoint_is_called(client, meteroid):
    for _ in range(20):
        assert client.get("/healthz").status_code == 200
    assert meteroid.count(JOBS_PATH) == 1
    (hit,) = meteroid.hits
    assert hit.query == {"page": ["0"], "per_page": ["1"]}


def test_meteroid_is_asked_again_once_15_seconds_have_passed(client, meteroid, clock):
    assert health.METEROID_CHECK_SECONDS == 15
    client.get("/healthz")
    clock.advance(14.5)
    for _ in range(5):
        client.get("/healthz")
    assert meteroid.count(JOBS_PATH) == 1
    clock.advance(1)
    body = client.get("/healthz").json()
    assert meteroid.count(JOBS_PATH) == 2
    assert abs(body["meteroid"]["checked_at"] - clock.time()) <= 1.5


def test_another_process_reads_the_answer_for_its_15_seconds(client, meteroid, clock):
    client.get("/healthz")
    health._last.clear()  # a process that has not asked yet: it reads the shared answer
    clock.advance(14.5)
    client.get("/healthz")
    assert meteroid.count(JOBS_PATH) == 1
    health._last.clear()
    clock.advance(1)
    client.get("/healthz")
    assert meteroid.count(JOBS_PATH) == 2


def test_an_unavailable_meteroid_is_not_retried(client, meteroid):
    meteroid.script(JOBS_PATH, Reply(503, "<html>busy</html>"))
    body = client.get("/healthz").json()
    assert body["meteroid"]["error"] == "unavailable"
    assert meteroid.count(JOBS_PATH) == 1


def test_a_slow_meteroid_is_given_up_on_quickly(client, meteroid, monkeypatch):
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.2)
    meteroid.script(JOBS_PATH, Reply(200, b"{}", delay=1.0))
    started = time.monotonic()
    body = client.get("/healthz").json()
    assert time.monotonic() - started < 0.9
    assert body["meteroid"]["error"] == "unavailable"


def test_a_broken_cache_makes_the_dashboard_unhealthy(client, settings):
    # Nothing listens on port 1: every cache call fails.
    settings.CACHES = {
        "default": {
            "BACKEND": "dashboard.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["dashboard"]["cache"]["ok"] is False
    assert body["dashboard"]["database"] == {"ok": True}


def test_a_broken_database_makes_the_dashboard_unhealthy(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["dashboard"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "connection refused" not in response.content.decode()
