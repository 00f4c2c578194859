"""The HTTP client for Meteroid's batch-jobs API: the only code that sends requests to it.

One `requests.Session` per client carries the bearer key, timeouts, connection pooling and
urllib3's `Retry` (GET only; connect and read errors, 429/502/503/504; exponential backoff;
`Retry-After` honoured up to `max_retry_wait`). Answers are parsed into the typed records of
`records.py` at this boundary, and every failure becomes one `MeteroidError` whose message is
fit for a person and never holds the key or a file token. A `Budget` (budget.py), when given,
limits the requests in flight and pauses them all after a 429.

Worst-case time of one call, in seconds, with R = `max_retries`:

    (R + 1) * (connect_timeout + read_timeout) + R * max(BACKOFF_MAX, max_retry_wait)

(`worst_case_seconds`; about 67 s with the default settings), plus, with a `Budget`, the
wait for a free request slot and through a pause after a 429. That is the budget of
downloads and background scans. A page's calls run under the request's deadline instead
(deadline.py): each attempt's timeouts are capped by the time left, a retry is made only if
it can start, after its backoff, with time left for an answer, and no call starts once the
deadline is spent, so all the calls of one page end within it. The read timeout bounds each
wait for bytes, not a whole body, so a server trickling a body byte by byte could take longer;
Meteroid's answers are small pages, so that case is left to the server's own limits.
"""

from __future__ import annotations

import contextvars
import email.message
import email.utils
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from . import deadline
from .budget import Budget
from .cache import key_fingerprint
from .errors import ErrorKind, MeteroidError
from .records import FailureColumns, FailurePage, JobDetail, JobList

logger = logging.getLogger("dashboard.meteroid")
# How the call being made relates to the cache, for its log line: "miss" when the gateway
# fetches what it did not have; "none" for uncached calls (scans, files).
cache_use: contextvars.ContextVar[str] = contextvars.ContextVar("meteroid_cache", default="none")
# The level of a call's log line when it went well at once. A scan lowers it to DEBUG: its
# thousands of routine calls would drown the rest, and its own line sums them up. A call that
# was retried or failed is logged at INFO whatever this says.
routine_call_level: contextvars.ContextVar[int] = contextvars.ContextVar(
    "meteroid_routine_call_level", default=logging.INFO
)


@dataclass
class _Retries:
    """The retries of one call, told by `BoundedRetry`: how many were made (for the call's
    log line), and whether the request's deadline stopped them."""

    made: int = 0
    cut_by_deadline: bool = False


_retries: contextvars.ContextVar[_Retries | None] = contextvars.ContextVar("meteroid_retries", default=None)


DEFAULT_USER_AGENT = "meteroid-failures-dashboard/0.1"
JOBS_PATH = "/api/v1/batch-jobs"
# Statuses worth another try: rate limiting, and a proxy's "Meteroid is down right now".
# A 500 is Meteroid's own bug and would most likely fail the same way again.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_FACTOR = 0.25
BACKOFF_MAX = 2.0
# Error bodies are read only this far: enough for a message, never a whole HTML page.
ERROR_BODY_BYTES = 4096
MESSAGE_MAX_CHARS = 300
DEFAULT_CHUNK_SIZE = 64 * 1024
# Connections kept per host; streamed files hold theirs while they are read.
DEFAULT_POOL_SIZE = 32


def job_path(job_id: str) -> str:
    """The API path of one job; the id is quoted so that it stays one path segment."""
    return f"{JOBS_PATH}/{_quote_id(job_id)}"


def failures_path(job_id: str) -> str:
    """The API path of one job's failures."""
    return f"{job_path(job_id)}/failures"


def _quote_id(job_id: str) -> str:
    # An empty id or dots would address another endpoint (the list, or a parent path,
    # as URL normalisation removes dot segments): no job can have such an id.
    if not job_id or set(job_id) == {"."}:
        raise MeteroidError(ErrorKind.NOT_FOUND, "No such batch job.", status=404)
    return quote(job_id, safe="")


class BoundedRetry(Retry):
    """urllib3's `Retry` that never sleeps through a long `Retry-After`.

    When the server asks for a wait longer than `max_retry_wait`, the retries stop at once
    and the response comes back (with `raise_on_status=False`), so the caller can tell the
    person when to come back instead of holding a page open. A malformed `Retry-After`
    counts as absent (plain backoff) instead of failing the request. Each 429 seen on the
    way is reported to `on_rate_limited` (with its Retry-After), so that other requests can
    pause rather than run into the same limit. Under a request's deadline, a retry whose
    wait would leave no time for an answer is not made: the last answer or error stands.
    """

    def __init__(
        self,
        *args: Any,
        max_retry_wait: float = 5.0,
        on_rate_limited: Callable[[float | None], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_wait = max_retry_wait
        self.on_rate_limited = on_rate_limited

    def new(self, **kw: Any) -> Self:
        kw.setdefault("max_retry_wait", self.max_retry_wait)
        kw.setdefault("on_rate_limited", self.on_rate_limited)
        return super().new(**kw)

    def get_retry_after(self, response: Any) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if response is not None and error is None:
            wait = self.get_retry_after(response)
            if response.status == 429 and self.on_rate_limited is not None:
                self.on_rate_limited(wait)
            if wait is not None and wait > self.max_retry_wait:
                # Caught by urllib3, which then returns this response as the final one.
                raise MaxRetryError(_pool, url, ResponseError("Retry-After is longer than we wait"))
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        limit = deadline.current()
        if limit is not None:
            wait = retry.get_backoff_time()
            if response is not None and self.respect_retry_after_header:
                wait = max(wait, self.get_retry_after(response) or 0.0)
            left = limit.remaining()
            if left - wait < deadline.MIN_ATTEMPT_SECONDS:
                logger.info(
                    "Meteroid GET %s: no retry, %.1f s left of the request's %g s deadline",
                    urlsplit(url or "").path,
                    max(0.0, left),
                    limit.seconds,
                )
                if (told := _retries.get()) is not None:
                    told.cut_by_deadline = True
                # As when the retries run out: a response is returned as the final one
                # (raise_on_status is off), an error is raised.
                raise MaxRetryError(_pool, url, error or ResponseError("no time left for a retry"))
        if (told := _retries.get()) is not None:
            told.made += 1
        return retry


class _DeadlineTimeout(Timeout):
    """Connect and read timeouts capped by the time a request's deadline has left. urllib3
    clones the timeout for each attempt, retries included, so each clone is capped anew."""

    def __init__(self, connect: float, read: float, limit: deadline.Deadline) -> None:
        # A zero timeout would mean "do not block"; a spent deadline never gets this far.
        left = max(0.001, limit.remaining())
        super().__init__(connect=min(connect, left), read=read, total=left)
        self._caps = (connect, read, limit)

    def clone(self) -> _DeadlineTimeout:
        return _DeadlineTimeout(*self._caps)


class _BearerAuth(requests.auth.AuthBase):
    """Sets the bearer header on each request. As session auth it also keeps requests
    from replacing it with credentials from a `.netrc` file."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<hidden>)"


class _RedactQuery(logging.Filter):
    """Cuts query strings out of urllib3's own log lines: it logs request URLs on retries
    (and at DEBUG on every request), and file URLs carry signed tokens."""

    _QUERY = re.compile(r"\?[^\s'\")]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._QUERY.sub("?…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactQuery) for f in _logger.filters):
        _logger.addFilter(_RedactQuery())


class FileDownload:
    """A file streamed from Meteroid (errors CSV, input or output file).

    Read it with `iter_chunks()`, which closes the connection when exhausted; otherwise call
    `close()` or use it as a context manager. Errors while streaming raise `MeteroidError`.
    """

    def __init__(
        self,
        response: requests.Response,
        *,
        default_filename: str,
        on_error: Callable[[requests.RequestException], MeteroidError],
    ) -> None:
        self._response = response
        self._on_error = on_error
        self.content_type: str = response.headers.get("Content-Type") or "application/octet-stream"
        self.filename: str = _filename(response.headers.get("Content-Disposition")) or default_filename
        self.length: int | None = _length(response.headers)

    def iter_chunks(self, size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """The body, `size` bytes at a time (the last chunk may be shorter)."""
        try:
            yield from self._response.iter_content(size)
        except requests.RequestException as exc:
            raise self._on_error(exc) from None
        finally:
            self.close()

    def close(self) -> None:
        """Give the connection back (or drop it if the body was not read to the end)."""
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MeteroidClient:
    """Meteroid's batch-jobs API, one method per endpoint. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_retries: int,
        max_retry_wait: float,
        user_agent: str = DEFAULT_USER_AGENT,
        pool_maxsize: int = DEFAULT_POOL_SIZE,
        budget: Budget | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._origin = _origin(self.base_url)
        # Requests in flight and pauses after a 429, shared by everything using this client.
        self.budget = budget

        retry = BoundedRetry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            other=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=BACKOFF_FACTOR,
            backoff_max=BACKOFF_MAX,
            respect_retry_after_header=True,
            raise_on_status=False,
            max_retry_wait=max_retry_wait,
            on_rate_limited=budget.pause if budget is not None else None,
        )
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=retry)
        self._session = requests.Session()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.auth = _BearerAuth(api_key)
        self._session.max_redirects = 5
        self._session.headers.update({"Accept": "application/json", "User-Agent": user_agent})
        # API calls go straight to the adapter (its pool and retries), with a request
        # prepared once: the session would otherwise build the headers, the key and the
        # cookies again, and read the environment's proxy settings again, for each of the
        # thousands of calls a whole-job scan makes. None of it changes between calls, and
        # API calls follow no redirect; files, which may, take the session's whole way.
        self._adapter = adapter
        self._api_request = self._session.prepare_request(requests.Request("GET", self.base_url))
        self._api_settings = self._session.merge_environment_settings(self.base_url, {}, False, None, None)

    def __repr__(self) -> str:
        return f"MeteroidClient({self.base_url!r})"

    @property
    def key_fingerprint(self) -> str:
        """A short hash naming the key (for cache keys); never the key itself."""
        return key_fingerprint(self._api_key)

    @property
    def worst_case_seconds(self) -> float:
        """Upper bound of one call's duration (see the module docstring)."""
        attempts = self.max_retries + 1
        waits = self.max_retries * max(BACKOFF_MAX, self.max_retry_wait)
        return attempts * (self.connect_timeout + self.read_timeout) + waits

    def probe_client(self, timeout: float) -> MeteroidClient:
        """A client of the same Meteroid and key that never retries and waits at most
        `timeout` seconds per phase: for health probes, which must answer fast."""
        return MeteroidClient(
            self.base_url,
            self._api_key,
            connect_timeout=timeout,
            read_timeout=timeout,
            max_retries=0,
            max_retry_wait=0,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- endpoints ----------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        job_type: str | None = None,
        statuses: Sequence[str] = (),
        page: int = 0,
        per_page: int = 10,
    ) -> JobList:
        """One page of jobs, newest first (`GET /api/v1/batch-jobs`)."""
        params: list[tuple[str, str]] = []
        if job_type:
            params.append(("job_type", job_type))
        params.extend(("status", status) for status in statuses)
        params += [("page", str(page)), ("per_page", str(per_page))]
        return self._get_json(JOBS_PATH, params, JobList.parse)

    def get_job(self, job_id: str) -> JobDetail:
        """One job with its failure count and file links (`GET /api/v1/batch-jobs/{id}`)."""
        detail = self._get_json(job_path(job_id), [], JobDetail.parse)
        if detail.id != job_id:
            # Kept under this id's cache key, another job's data would pose as this one.
            raise MeteroidError(
                ErrorKind.UPSTREAM,
                "Meteroid answered with another job than the one asked for; try again later, "
                "and tell the Meteroid team if it persists.",
            )
        return detail

    def list_failures(
        self, job_id: str, *, limit: int = 25, offset: int = 0, chunk_id: str | None = None
    ) -> FailurePage:
        """One page of a job's failures, by row (`GET /api/v1/batch-jobs/{id}/failures`)."""
        params = [("limit", str(limit)), ("offset", str(offset))]
        if chunk_id:
            params.append(("chunk_id", chunk_id))
        return self._get_json(failures_path(job_id), params, FailurePage.parse)

    def list_failure_columns(self, job_id: str, *, limit: int = 25, offset: int = 0) -> FailureColumns:
        """The same page as `list_failures`, read into columns (ids left out): for whole-job
        scans, which keep every failure of a job."""
        params = [("limit", str(limit)), ("offset", str(offset))]
        return self._get_json(failures_path(job_id), params, FailureColumns.parse)

    def open_file(self, url: str, *, default_filename: str = "download") -> FileDownload:
        """Start streaming a file whose link a job detail gave (`error_csv_url` and co).

        A path is joined to the base URL; an absolute URL is followed only when it points
        at the base URL's own scheme, host and port, so the key never leaves for elsewhere.
        """
        response = self._send(self._file_url(url), params=None, is_file=True)
        return FileDownload(
            response,
            default_filename=default_filename,
            on_error=lambda exc: self._transport_error(exc, is_file=True),
        )

    # --- plumbing -----------------------------------------------------------------------

    def _file_url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.scheme and not parts.netloc:
            return self.base_url + (url if url.startswith("/") else f"/{url}")
        try:
            same_origin = _origin(url) == self._origin
        except ValueError:
            same_origin = False
        if not same_origin:
            raise MeteroidError(
                ErrorKind.UPSTREAM,
                "Meteroid gave a file link on another host; the dashboard does not follow it.",
            )
        return url

    def _get_json[T](self, path: str, params: list[tuple[str, str]], parse: Callable[[Any], T]) -> T:
        response = self._send(self.base_url + path, params=params)
        try:
            return parse(json.loads(response.content))
        except (KeyError, ValueError, TypeError, RecursionError):
            # json.JSONDecodeError and UnicodeDecodeError are ValueErrors too.
            raise MeteroidError(
                ErrorKind.UPSTREAM,
                "Meteroid sent an answer the dashboard could not read; try again later, "
                "and tell the Meteroid team if it persists.",
                status=response.status_code,
            ) from None

    def _send(
        self, url: str, *, params: list[tuple[str, str]] | None, is_file: bool = False
    ) -> requests.Response:
        """One GET (with urllib3's retries inside); a 2xx response or a MeteroidError. A file
        comes streamed, an API answer whole."""
        path = urlsplit(url).path
        started = time.monotonic()
        limit = deadline.current()
        if limit is not None and limit.spent:
            # The page's earlier calls used its time up: not one more attempt.
            self._log(path, None, started, 0, error="DeadlineSpent")
            raise limit.error()
        told = _Retries()
        telling = _retries.set(told)
        try:
            # Held for the request and its retries; a streamed body is read after it is freed.
            with self.budget.slot() if self.budget is not None else nullcontext():
                response = self._get_file(url) if is_file else self._get_api(url, params)
        except requests.RequestException as exc:
            self._log(path, None, started, told.made, error=type(exc).__name__)
            raise self._transport_error(exc, is_file=is_file, cut=told.cut_by_deadline) from None
        finally:
            _retries.reset(telling)
        retries = _retries_of(response)
        self._log(path, response.status_code, started, retries)
        if 200 <= response.status_code < 300:
            return response
        if response.status_code == 429 and self.budget is not None:
            self.budget.pause(retry_after_seconds(response.headers.get("Retry-After")))
        try:
            body = _read_error_body(response, streamed=is_file)
        finally:
            response.close()
        raise self._status_error(response.status_code, response.headers, body, is_file=is_file)

    def _get_api(self, url: str, params: list[tuple[str, str]] | None) -> requests.Response:
        request = self._api_request.copy()
        request.prepare_url(url, params)
        response = self._adapter.send(request, timeout=self._timeout(), **self._api_settings)
        # Read whole here, as the session does, so that an answer cut short is a transport
        # error like any other.
        _ = response.content
        return response

    def _get_file(self, url: str) -> requests.Response:
        # Files are the one place a redirect may be legitimate (a file store); requests
        # drops the Authorization header when a redirect leaves the host.
        return self._session.get(
            url,
            headers={"Accept": "*/*"},
            stream=True,
            allow_redirects=True,
            timeout=self._timeout(),
        )

    def _timeout(self) -> tuple[float, float] | Timeout:
        limit = deadline.current()
        if limit is None:
            return (self.connect_timeout, self.read_timeout)
        return _DeadlineTimeout(self.connect_timeout, self.read_timeout, limit)

    def _log(
        self, path: str, status: int | None, started: float, retries: int, error: str | None = None
    ) -> None:
        routine = error is None and retries == 0 and status is not None and 200 <= status < 300
        level = routine_call_level.get() if routine else logging.INFO
        if not logger.isEnabledFor(level):
            return
        duration_ms = round((time.monotonic() - started) * 1000)
        logger.log(
            level,
            "Meteroid GET %s -> %s in %d ms (%d retries)",
            path,
            status if status is not None else error,
            duration_ms,
            retries,
            extra={
                "meteroid_method": "GET",
                "meteroid_path": path,
                "meteroid_status": status,
                "meteroid_duration_ms": duration_ms,
                "meteroid_retries": retries,
                "meteroid_error": error,
                "meteroid_cache": cache_use.get(),
            },
        )

    def _transport_error(
        self, exc: requests.RequestException, *, is_file: bool = False, cut: bool = False
    ) -> MeteroidError:
        """A request that got no HTTP answer, told for a person (no URL: it may hold a token)."""
        reason: BaseException | None = exc
        # requests wraps urllib3's errors, often in a MaxRetryError: find the root cause.
        for arg in exc.args:
            if isinstance(arg, MaxRetryError):
                reason = arg.reason
                break
            if isinstance(arg, BaseException):
                reason = arg
                break
        host = urlsplit(self.base_url).netloc
        unreachable = "Meteroid could not be reached"
        timed_out = isinstance(exc, requests.Timeout) or isinstance(
            reason, ReadTimeoutError | ConnectTimeoutError
        )
        limit = deadline.current()
        if timed_out and limit is not None and (cut or limit.spent):
            # Cut by the request's deadline (the attempt, or the retries that would have
            # followed it), not by the client's own timeouts.
            return limit.error()
        if isinstance(exc, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
            message = f"Meteroid did not answer within {self.read_timeout:g} s; try again in a moment."
        elif isinstance(reason, NameResolutionError):
            message = f"{unreachable}: the name {host} could not be resolved; check METEROID_BASE_URL."
        elif isinstance(reason, NewConnectionError):
            message = f"{unreachable}: {host} refused the connection; try again in a moment."
        elif isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError):
            message = (
                f"{unreachable}: no connection to {host} within {self.connect_timeout:g} s; "
                "try again in a moment, and check METEROID_BASE_URL if it persists."
            )
        elif isinstance(exc, requests.exceptions.SSLError) or isinstance(reason, Urllib3SSLError):
            message = f"{unreachable}: the secure connection to {host} failed."
        elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError) or (
            isinstance(reason, ProtocolError)
        ):
            message = "The connection to Meteroid broke before it finished answering; try again."
        elif isinstance(exc, requests.TooManyRedirects):
            return MeteroidError(ErrorKind.UPSTREAM, "Meteroid sent the dashboard round in redirects.")
        else:
            what = "file" if is_file else "request"
            return MeteroidError(ErrorKind.UPSTREAM, f"The {what} to Meteroid failed unexpectedly.")
        return MeteroidError(ErrorKind.UNAVAILABLE, message)

    def _status_error(
        self, status: int, headers: Any, body: bytes, *, is_file: bool = False
    ) -> MeteroidError:
        """A non-2xx answer, told for a person."""
        retry_after = retry_after_seconds(headers.get("Retry-After"))
        if status == 400:
            detail = self._clean(_error_detail(body)) or "no reason given"
            return MeteroidError(
                ErrorKind.BAD_REQUEST, f"Meteroid refused the request: {detail}", status=status
            )
        if status in (401, 403) and is_file:
            return MeteroidError(
                ErrorKind.UNAUTHORIZED if status == 401 else ErrorKind.FORBIDDEN,
                f"Meteroid refused the file link (HTTP {status}); it may have expired: "
                "reload the job page and try again.",
                status=status,
            )
        if status == 401:
            return MeteroidError(
                ErrorKind.UNAUTHORIZED,
                "Meteroid rejected the API key (HTTP 401): check METEROID_API_KEY.",
                status=status,
            )
        if status == 403:
            return MeteroidError(
                ErrorKind.FORBIDDEN,
                "Meteroid refused access with this API key (HTTP 403): "
                "the key may not be allowed to read batch jobs; ask for a key that is.",
                status=status,
            )
        if status == 404:
            message = (
                "Meteroid has no such file; the link may have expired: reload the job page."
                if is_file
                else "No such batch job: it may not exist, or belong to another Meteroid account."
            )
            return MeteroidError(ErrorKind.NOT_FOUND, message, status=status)
        if status == 429:
            when = (
                f"try again in {max(1, math.ceil(retry_after))} s"
                if retry_after is not None
                else "try again in a moment"
            )
            return MeteroidError(
                ErrorKind.RATE_LIMITED,
                f"Meteroid is rate-limiting requests: {when}.",
                status=status,
                retry_after=retry_after,
            )
        if status == 500:
            return MeteroidError(
                ErrorKind.UPSTREAM,
                "Meteroid had an internal error (HTTP 500); try again later, "
                "and tell the Meteroid team if it persists.",
                status=status,
            )
        if status in (502, 503, 504):
            return MeteroidError(
                ErrorKind.UNAVAILABLE,
                f"Meteroid is unavailable right now (HTTP {status}); try again in a moment.",
                status=status,
                retry_after=retry_after,
            )
        return MeteroidError(
            ErrorKind.UPSTREAM,
            f"Meteroid answered with an unexpected HTTP {status}.",
            status=status,
        )

    def _clean(self, text: str) -> str:
        """Upstream text made fit for a message: one line, short, no secrets."""
        text = _CONTROL.sub(" ", text)
        text = " ".join(text.split())
        if self._api_key:
            text = text.replace(self._api_key, "[key]")
        text = _TOKEN.sub(r"\1…", text)
        if len(text) > MESSAGE_MAX_CHARS:
            text = text[: MESSAGE_MAX_CHARS - 1].rstrip() + "…"
        return text


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header (seconds, or an HTTP date) as seconds from now; None if
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_detail(body: bytes) -> str:
    """Meteroid's reason from an error body: the JSON `message`, else the body as text
    (its query-string errors are plain text)."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return text


def _read_error_body(response: requests.Response, *, streamed: bool) -> bytes:
    try:
        if streamed:  # read only the start: it may be a whole HTML page, or a file
            return next(response.iter_content(ERROR_BODY_BYTES), b"")
        return response.content[:ERROR_BODY_BYTES]
    except requests.RequestException:
        return b""


def _retries_of(response: requests.Response) -> int:
    retries = getattr(response.raw, "retries", None)
    return len(getattr(retries, "history", ()) or ())


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def _filename(disposition: str | None) -> str | None:
    """The file name from a Content-Disposition header (RFC 6266, incl. `filename*`),
    reduced to a safe base name."""
    if not disposition:
        return None
    message = email.message.EmailMessage()
    try:
        message["Content-Disposition"] = disposition
        name = message.get_filename()
    except (ValueError, TypeError, IndexError):
        return None
    if not name:
        return None
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL.sub("", name).replace('"', "").strip().lstrip(".")
    return name[:200] or None


def _length(headers: Any) -> int | None:
    # requests decodes gzip/deflate bodies, so an encoded length would not match what we yield.
    if headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    try:
        length = int(headers.get("Content-Length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None
