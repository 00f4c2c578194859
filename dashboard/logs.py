"""Request ids and log formats.

Every request gets an id (the caller's `X-Request-ID` when it is a plain token, else a new
one), sent back in the response's `X-Request-ID` and stamped on every log record made while
the request runs, the gateway's lines about Meteroid calls included. A background scan keeps
the id of the request that started it. `LOG_FORMAT=json` writes one JSON object per line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it is a short plain token: it goes into log lines and a
# response header, where anything else could forge lines or split headers.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
NO_REQUEST = "-"

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_REQUEST)


def new_request_id(offered: str | None = None) -> str:
    """The offered id when it is acceptable, else a fresh random one."""
    if offered and _ACCEPTED_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request its id, for its log records and its response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[REQUEST_ID_HEADER] = rid
        return response


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id.get()
    return record


def install_record_factory() -> None:
    """Stamp every log record with the current request id (idempotent)."""
    if logging.getLogRecordFactory() is not _record_with_request_id:
        logging.setLogRecordFactory(_record_with_request_id)


class RequestIdFilter(logging.Filter):
    """For handlers that may see records made before the factory was installed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


# What every LogRecord has; anything else on a record came through `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the
    record's `extra=` fields (the gateway's `meteroid_*` fields among them)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
