"""The sandbox's HTTP endpoints: Meteroid's batch-jobs REST API, as the contract describes it
(contract/), served from the demo data.

Status codes, validation and error bodies follow the real server, the plain-text 400 of a
query string that does not parse included, so that the gateway's real code path runs
against it. Every view is open to anonymous requests (the API has its own bearer key) and
touches neither the database nor the session.
"""

from __future__ import annotations

import functools
import hmac
import math
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from dashboard.sandbox.api import control, stats
from dashboard.sandbox.world import data, files
from dashboard.sandbox.world.data import Job

_U32_MAX = 2**32 - 1
QUERY_PER_PAGE = 25  # jobs a list without `per_page` holds...
ANSWER_PER_PAGE = 10  # ...and the `per_page` its pagination_meta says
RETRY_SECONDS = 20  # how long a retry asked on demand runs, unless told
_faults = random.SystemRandom()  # faults are chance, not part of the seeded demo


class _BadQuery(Exception):
    """A query string that does not deserialize: the real server answers in plain text."""


def _now() -> float:
    """The instant live jobs are shown at: the wall clock, shifted by
    SANDBOX_TIME_OFFSET_SECONDS (unit tests stop the clock here)."""
    return time.time() + settings.SANDBOX_TIME_OFFSET_SECONDS


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _bad_query(exc: _BadQuery) -> HttpResponse:
    return HttpResponse(
        f"Failed to deserialize query string: {exc}", status=400, content_type="text/plain; charset=utf-8"
    )


def _authorized(request: HttpRequest) -> bool:
    key = settings.SANDBOX_API_KEY
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(key) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key.encode())
    )


def _unauthorized() -> JsonResponse:
    return _error(401, "UNAUTHORIZED", "Missing or invalid API key")


def _sleep(since: float) -> None:
    """Wait out what is left of SANDBOX_LATENCY_MS since `since` (a `time.monotonic()`): the
    latency is the time an answer takes in all, as a remote Meteroid's round trip is, the work
    of making the answer included, not a delay added on top of that work."""
    left = settings.SANDBOX_LATENCY_MS / 1000 - (time.monotonic() - since)
    if left > 0:
        time.sleep(left)


def _fault() -> HttpResponse | None:
    """A 429 or a 500 as often as the SANDBOX_RATE_* settings ask, else None."""
    if _faults.random() < settings.SANDBOX_RATE_429:
        response = _error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded, retry later")
        response["Retry-After"] = "1"
        return response
    if _faults.random() < settings.SANDBOX_RATE_500:
        return _error(500, "INTERNAL_SERVER_ERROR", "Internal server error")
    return None


def _api(kind: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Count, delay, authenticate and maybe fail a request before the view answers it."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            arrived = time.monotonic()
            stats.record(kind)
            response = _answer(view, request, *args, **kwargs)
            _sleep(arrived)
            return response

        return wrapped

    return decorate


def _answer(
    view: Callable[..., HttpResponse], request: HttpRequest, *args: Any, **kwargs: Any
) -> HttpResponse:
    if not _authorized(request):
        return _unauthorized()
    fault = _fault()
    if fault is not None:
        return fault
    try:
        return view(request, *args, **kwargs)
    except _BadQuery as exc:
        return _bad_query(exc)


# --- Query strings, parsed like serde does ---------------------------------------------------


def _single(request: HttpRequest, name: str) -> str | None:
    values = request.GET.getlist(name)
    if len(values) > 1:
        raise _BadQuery(f"duplicate field `{name}`")
    return values[0] if values else None


def _u32(request: HttpRequest, name: str, default: int) -> int:
    raw = _single(request, name)
    if raw is None:
        return default
    digits = raw.removeprefix("+")
    if not raw:
        raise _BadQuery(f"{name}: cannot parse integer from empty string")
    if not (digits.isascii() and digits.isdigit()):
        raise _BadQuery(f"{name}: invalid digit found in string")
    value = int(digits)
    if value > _U32_MAX:
        raise _BadQuery(f"{name}: number too large to fit in target type")
    return value


def _variant(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        expected = ", ".join(f"`{option}`" for option in allowed)
        raise _BadQuery(f"{name}: unknown variant `{value}`, expected one of {expected}")
    return value


def _in_range(name: str, value: int) -> JsonResponse | None:
    # The real server checks 1..100 although the spec says minimum 0 (API-NOTES.md).
    if not 1 <= value <= 100:
        return _error(400, "BAD_REQUEST", f"{name} must be between 1 and 100")
    return None


# --- JSON shapes ------------------------------------------------------------------------------


def _time(ms: int | None) -> str | None:
    return None if ms is None else data.format_time(ms)


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_type": job.job_type,
        "status": job.status,
        "input_file_name": job.plan.input_file_name,
        "total_items": job.total_items,
        "processed_items": job.processed_items,
        "failed_items": job.failed_items,
        "created_by": job.plan.created_by,
        "created_at": data.format_time(job.created_ms),
        "completed_at": _time(job.completed_ms),
    }


def _file_link(job: Job, kind: str) -> str | None:
    if not files.has_file(job, kind):
        return None
    return files.file_path(kind, job.id, api_key=settings.SANDBOX_API_KEY, seed=settings.SANDBOX_SEED)


def _detail_json(job: Job) -> dict[str, Any]:
    return {
        **_job_json(job),
        "failure_count": job.failure_count,
        "has_error_csv": job.has_error_csv,
        "error_csv_url": _file_link(job, "errors"),
        "input_file_url": _file_link(job, "input"),
        # Newer servers only (API-NOTES.md, "The API moves").
        "has_output": job.has_output,
        "output_url": _file_link(job, "output"),
    }


def _failure_json(failure: data.Failure) -> dict[str, Any]:
    return {
        "id": failure.id,
        "chunk_id": failure.chunk_id,
        "item_index": failure.item_index,
        "item_identifier": failure.item_identifier,
        "reason": failure.reason,
    }


def _anchor_ms() -> int:
    """The instant the catalogue of ended jobs ends at: SANDBOX_CATALOGUE_ENDS, 00:00 UTC."""
    ends = settings.SANDBOX_CATALOGUE_ENDS
    return int(datetime(ends.year, ends.month, ends.day, tzinfo=UTC).timestamp() * 1000)


def _find(job_id: str) -> Job | None:
    """The job as it is now, with the retries asked of the control endpoint."""
    return data.find_job(
        settings.SANDBOX_SEED, job_id, _now(), retries=control.asked(), anchor_ms=_anchor_ms()
    )


def _not_found(job_id: str) -> JsonResponse:
    return _error(404, "NOT_FOUND", f"Batch job {job_id} not found")


# --- The API --------------------------------------------------------------------------------


@login_not_required
@require_GET
@_api("jobs")
def list_jobs(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/batch-jobs: jobs newest first, filtered by type and statuses, paginated."""
    job_type = _single(request, "job_type")
    if job_type is not None:
        _variant("job_type", job_type, data.JOB_TYPES)
    statuses = {_variant("status", value, data.STATUSES) for value in request.GET.getlist("status")}
    page = _u32(request, "page", 0)
    # The real server's quirk (API-NOTES.md): without `per_page` the query pages by 25 while
    # the answer says 10, the default of another layer.
    per_page = _u32(request, "per_page", QUERY_PER_PAGE)
    if (invalid := _in_range("per_page", per_page)) is not None:
        return invalid
    said = per_page if _single(request, "per_page") is not None else ANSWER_PER_PAGE
    jobs = data.list_jobs(
        settings.SANDBOX_SEED,
        _now(),
        job_type=job_type,
        statuses=statuses,
        retries=control.asked(),
        anchor_ms=_anchor_ms(),
    )
    shown = jobs[page * per_page : (page + 1) * per_page]
    return JsonResponse(
        {
            "data": [_job_json(job) for job in shown],
            "pagination_meta": {
                "page": page,
                "per_page": said,
                "total_items": len(jobs),
                "total_pages": math.ceil(len(jobs) / per_page),
            },
        }
    )


@login_not_required
@require_GET
@_api("job")
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """GET /api/v1/batch-jobs/{id}: the job with its failure count and file links."""
    job = _find(job_id)
    if job is None:
        return _not_found(job_id)
    return JsonResponse(_detail_json(job))


@login_not_required
@require_GET
@_api("failures")
def job_failures(request: HttpRequest, job_id: str) -> HttpResponse:
    """GET /api/v1/batch-jobs/{id}/failures: a page of failures by item_index, maybe of one chunk."""
    chunk = _single(request, "chunk_id")
    if chunk is not None and not data.is_meteroid_id(chunk, data.CHUNK_PREFIX):
        raise _BadQuery(f"chunk_id: invalid id `{chunk}`")
    limit = _u32(request, "limit", 25)
    offset = _u32(request, "offset", 0)
    if (invalid := _in_range("limit", limit)) is not None:
        return invalid
    job = _find(job_id)
    if job is None:
        return _not_found(job_id)
    page, total = data.failures_page(job, offset=offset, limit=limit, chunk=chunk)
    return JsonResponse(
        {"data": [_failure_json(failure) for failure in page], "total_count": total},
        # Plain lists and dicts, built just now: no cycle to look for in them.
        json_dumps_params={"check_circular": False},
    )


# --- Files ----------------------------------------------------------------------------------


@login_not_required
@require_GET
def job_file(request: HttpRequest, kind: str, job_id: str) -> HttpResponse:
    """GET /files/v1/batch-job/{kind}/{id}?token=…: a job's file, streamed as CSV."""
    stats.record("files")
    _sleep(time.monotonic())  # the file's first byte waits the latency; its rows then stream
    token = request.GET.get("token", "")
    key, seed = settings.SANDBOX_API_KEY, settings.SANDBOX_SEED
    if not files.token_is_valid(token, kind, job_id, api_key=key, seed=seed):
        return _error(403, "FORBIDDEN", "Invalid or expired file token")
    job = _find(job_id)
    if job is None or not files.has_file(job, kind):
        return _error(404, "NOT_FOUND", f"No {kind} file for batch job {job_id}")
    header, rows = files.rows(job, kind)
    delimiter, encoding = files.dialect(job, kind)
    response = StreamingHttpResponse(
        files.csv_chunks(header, rows, delimiter=delimiter, encoding=encoding),
        content_type=files.content_type(encoding),
    )
    response["Content-Disposition"] = content_disposition_header(True, files.filename(job, kind))
    return response


# --- Control: what tests ask of the sandbox, outside Meteroid's API ---------------------------


@login_not_required
@csrf_exempt
@require_POST
def retry_job(request: HttpRequest, job_id: str) -> HttpResponse:
    """POST /control/batch-jobs/{id}/retry[?seconds=N]: retry an ended job now, as Meteroid's
    web app does (its chunks that failed as a whole run again, for N seconds, default 20).
    Answers with the job's detail as the API now gives it; 409 when there is nothing to retry."""
    if not _authorized(request):
        return _unauthorized()
    try:
        seconds = _u32(request, "seconds", RETRY_SECONDS)
    except _BadQuery as exc:
        return _bad_query(exc)
    if not 1 <= seconds <= 3600:
        return _error(400, "BAD_REQUEST", "seconds must be between 1 and 3600")
    job = _find(job_id)
    if job is None:
        return _not_found(job_id)
    if not data.is_retryable(job):
        return _error(
            409,
            "CONFLICT",
            f"Batch job {job_id} has no failed chunks to retry: it is {job.status}",
        )
    # As data._now_ms reads the clock (truncated), so the retry counts from this very instant.
    control.ask(job_id, int(_now() * 1000), seconds * 1000)
    return JsonResponse(_detail_json(_find(job_id)))


@login_not_required
@csrf_exempt
@require_POST
def reset_control(request: HttpRequest) -> HttpResponse:
    """POST /control/reset: forget every retry asked on demand."""
    if not _authorized(request):
        return _unauthorized()
    control.reset()
    return JsonResponse({})


# --- Request counts ---------------------------------------------------------------------------


@login_not_required
@require_GET
def request_stats(request: HttpRequest) -> HttpResponse:
    """GET /_stats: requests served by kind since start or reset (this process)."""
    if not _authorized(request):
        return _unauthorized()
    return JsonResponse(stats.snapshot())


@login_not_required
@csrf_exempt
@require_POST
def reset_stats(request: HttpRequest) -> HttpResponse:
    """POST /_stats/reset: count from zero again."""
    if not _authorized(request):
        return _unauthorized()
    stats.reset()
    return JsonResponse(stats.snapshot())


# --- Errors outside the API, when the sandbox is served alone (root_urls) ---------------------


def no_such_endpoint(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(404, "NOT_FOUND", "No such endpoint")


def internal_error(request: HttpRequest) -> HttpResponse:
    return _error(500, "INTERNAL_SERVER_ERROR", "Internal server error")
