"""The one error type of the gateway: what went wrong with Meteroid, told for a person."""

from __future__ import annotations

import enum
import math


class ErrorKind(enum.StrEnum):
    UNAUTHORIZED = "unauthorized"  # key missing, wrong or revoked (401)
    FORBIDDEN = "forbidden"  # key valid but not allowed (403)
    NOT_FOUND = "not_found"  # unknown job, or another tenant's (404)
    BAD_REQUEST = "bad_request"  # Meteroid refused the query (400)
    RATE_LIMITED = "rate_limited"  # 429 after the retries we allow ourselves
    UNAVAILABLE = "unavailable"  # unreachable, timed out, or a proxy's 502/503/504
    SLOW = "slow"  # no answer within the request's deadline (deadline.py)
    UPSTREAM = "upstream"  # Meteroid's own 500, or an answer we cannot read


class MeteroidError(Exception):
    """A call to Meteroid that did not give a usable answer.

    `message` is safe to show to a user (it never holds the key or a token);
    `retryable` says whether trying again later can help; `retry_after` is how long
    to wait first, in seconds, when Meteroid said so.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in (
            ErrorKind.RATE_LIMITED,
            ErrorKind.UNAVAILABLE,
            ErrorKind.SLOW,
            ErrorKind.UPSTREAM,
        )

    @property
    def slow(self) -> bool:
        """Whether Meteroid did not answer within the request's deadline: the page shows
        what it has, and loads the part it missed by itself a little later."""
        return self.kind is ErrorKind.SLOW

    @property
    def retry_after_seconds(self) -> int | None:
        return None if self.retry_after is None else max(1, math.ceil(self.retry_after))

    @property
    def http_status(self) -> int:
        """The status the dashboard answers with when this error is the whole page."""
        return {
            ErrorKind.NOT_FOUND: 404,
            ErrorKind.BAD_REQUEST: 400,
            ErrorKind.RATE_LIMITED: 503,
            ErrorKind.UNAVAILABLE: 503,
            ErrorKind.SLOW: 503,
        }.get(self.kind, 502)

    def __repr__(self) -> str:
        return f"MeteroidError({self.kind.value!r}, {self.message!r}, status={self.status!r})"
