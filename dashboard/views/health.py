"""`/healthz`: is the dashboard itself healthy, and, told apart, does Meteroid answer.

Open without a login, so it shows no tenant data: only whether each part works. The status
code speaks for the dashboard alone (200 while its database and cache work, 503 when not),
so that a load balancer does not take every instance out while Meteroid is down; Meteroid's
state is in the body. Meteroid is asked at most once per `METEROID_CHECK_SECONDS` per
process (the answer is kept in the cache and in memory), with no retries and short
timeouts, so the endpoint cannot be used to hammer Meteroid or to hold workers.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import get_gateway

logger = logging.getLogger(__name__)

METEROID_CHECK_SECONDS = 15
CHECK_TIMEOUT = 2.0
_CACHE_KEY = "healthz:meteroid:{}"

_lock = threading.Lock()
_last: dict[str, tuple[float, dict]] = {}  # per key fingerprint: (monotonic time, result)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("health: database unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _cache() -> dict:
    key, value = f"healthz:probe:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, 10)
        ok = cache.get(key) == value
        cache.delete(key)
    except Exception as exc:
        logger.warning("health: cache unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True} if ok else {"ok": False, "error": "value not read back"}


def _ask_meteroid() -> dict:
    # A client of its own, with no retries and short timeouts: a probe never waits long.
    client = get_gateway().client.probe_client(CHECK_TIMEOUT)
    started = time.monotonic()
    try:
        client.list_jobs(per_page=1)
    except MeteroidError as error:
        # The kind only: messages name hosts, which an anonymous caller need not learn.
        return {"ok": False, "error": error.kind.value, "status": error.status}
    finally:
        client.close()
    return {"ok": True, "duration_ms": round((time.monotonic() - started) * 1000)}


def _meteroid() -> dict:
    fingerprint = get_gateway().client.key_fingerprint
    key = _CACHE_KEY.format(fingerprint)
    with _lock:  # one probe at a time in this process; the others read its answer
        now = time.monotonic()
        last = _last.get(fingerprint)
        if last and now - last[0] < METEROID_CHECK_SECONDS:
            return last[1]
        try:
            cached = cache.get(key)
        except Exception:
            cached = None
        if isinstance(cached, dict):
            result = cached
        else:
            result = {**_ask_meteroid(), "checked_at": int(time.time())}
            try:
                cache.set(key, result, METEROID_CHECK_SECONDS)
            except Exception:
                logger.warning("health: could not keep Meteroid's state in the cache")
        _last[fingerprint] = (now, result)
        return result


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    dashboard = {"database": _database(), "cache": _cache()}
    healthy = all(part["ok"] for part in dashboard.values())
    body = {
        "status": "ok" if healthy else "failing",
        "dashboard": dashboard,
        "meteroid": _meteroid(),
    }
    return JsonResponse(body, status=200 if healthy else 503)
