"""A scripted stand-in for Meteroid on a loopback port, for fault and hostile-data tests.

It serves a small, consistent world (`FakeMeteroid.jobs`, `.failures`) the way Meteroid
does, so that pages work; a test then scripts any path to answer otherwise (a status, a
body, headers, a delay, a connection cut short) and counts the hits. `refuse()` closes the
port (connection refused) and `blackhole()` leaves connections unanswered (connect timeout).
Unlike the `responses` library, the dashboard's whole path runs: requests, urllib3's
retries and timeouts, the gateway, its cache, the views.

Every answer it gives, the world's and the scripted ones, is checked against the pinned
contract (tests/support/contract.py) as it goes out; an answer Meteroid would never give is
recorded in `violations`, and the `meteroid` fixture fails the test that saw one. The faults
the server exists to inject say so: a body scripted as text or bytes (a proxy's HTML 502, a
JSON document cut short) is not checked, `Reply(..., contract=False)` marks JSON that breaks
the contract on purpose (a status the endpoint never answers, a wrong shape), and
`contract = False` on the server a world that is hostile on purpose. Its queries are read as Meteroid reads them (a bearer key,
`limit`/`per_page` 1..100, a plain-text 400 for a query that does not parse), and its world
honours paging and filters.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import contract

FAKE_KEY = "pv_live_fAk3SecretKeyThatMustNeverLeak0001"
FILE_TOKEN = "tok_fAk3SignedFileTokenThatMustNeverLeak"
JOB = "bjob_Fake0000000000000001"
ACTIVE_JOB = "bjob_Fake0000000000000002"
JOBS_PATH = "/api/v1/batch-jobs"
# Ids as Meteroid makes them: a prefix and the base62 of a UUID.
CHUNKS = ("bjch_2Jq7W0cVbYdAqT5rNfGkXa", "bjch_2Jq7W0cVbYdAqT5rNfGkXb", "bjch_2Jq7W0cVbYdAqT5rNfGkXc")
CREATED_BY = "5f0c6a2e-8d1b-4c3a-9e7f-2b4d6a8c0e1f"  # the id of the user who uploaded the file
JOB_TYPES = (*contract.SPEC["components"]["schemas"]["BatchJobType"]["enum"], "TAX_REPORT_EXPORT")
STATUSES = tuple(contract.SPEC["components"]["schemas"]["BatchJobStatus"]["enum"])


def job_path(job_id: str = JOB) -> str:
    return f"{JOBS_PATH}/{job_id}"


def failures_path(job_id: str = JOB) -> str:
    return f"{JOBS_PATH}/{job_id}/failures"


def file_path(kind: str, job_id: str = JOB) -> str:
    return f"/files/v1/batch-job/{kind}/{job_id}"


@dataclass
class Reply:
    """One scripted answer. `body`: dict or list (sent as JSON), str, or bytes.
    `cut_after`: send this many bytes of the body, then drop the connection.
    `contract`: False for JSON that breaks the contract on purpose (it is then not checked;
    a body given as text or bytes never is: it is a fault by construction)."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None
    contract: bool = True

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/json"


type Script = Callable[[dict[str, list[str]]], Reply]


@dataclass
class Hit:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


def job_json(job_id: str = JOB, **changes: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "job_type": "CUSTOMER_CSV_IMPORT",
        "status": "COMPLETED_WITH_ERRORS",
        "input_file_name": "customers.csv",
        "total_items": 150,
        "processed_items": 150,
        "failed_items": 120,
        "created_by": CREATED_BY,
        "created_at": "2026-03-25T10:00:00.000Z",
        "completed_at": "2026-03-25T10:05:00.000Z",
    } | changes


def detail_json(job_id: str = JOB, **changes: Any) -> dict[str, Any]:
    return (
        job_json(job_id)
        | {
            "failure_count": 120,
            "has_error_csv": True,
            "error_csv_url": f"{file_path('errors', job_id)}?token={FILE_TOKEN}",
            "input_file_url": f"{file_path('input', job_id)}?token={FILE_TOKEN}",
            "has_output": False,
            "output_url": None,
        }
        | changes
    )


def failure_json(index: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "chunk_id": CHUNKS[min(index // 50, len(CHUNKS) - 1)],
        "item_index": index,
        "item_identifier": f"cus_{index:05d}",
        "reason": f"Customer with alias 'acme-{index}' not found",
    } | changes


class FakeMeteroid:
    """The server. Thread-safe; one per test (see the `meteroid` fixture)."""

    def __init__(self) -> None:
        self.details: dict[str, dict[str, Any]] = {
            JOB: detail_json(),
            ACTIVE_JOB: detail_json(
                ACTIVE_JOB,
                status="PROCESSING",
                completed_at=None,
                processed_items=60,
                failed_items=10,
                failure_count=10,
                has_error_csv=False,
                error_csv_url=None,
            ),
        }
        self.failures: dict[str, list[dict[str, Any]]] = {
            JOB: [failure_json(i) for i in range(120)],
            ACTIVE_JOB: [failure_json(i) for i in range(10)],
        }
        self.files: dict[str, Reply] = {
            "errors": Reply(
                200,
                b"alias,name,_error\r\nacme-1,Acme,not found\r\n",
                {"Content-Type": "text/csv", "Content-Disposition": 'attachment; filename="errors.csv"'},
            ),
            "input": Reply(200, b"alias,name\r\nacme-1,Acme\r\n", {"Content-Type": "text/csv"}),
        }
        self.hits: list[Hit] = []
        # Answers that break the contract, with why; the `meteroid` fixture fails on any.
        self.violations: list[str] = []
        # False while a test's world breaks the contract on purpose (hostile enum values).
        self.contract = True
        self._scripts: dict[str, list[Script]] = {}
        self._lock = threading.Lock()
        self._server = self._serve()
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._blackhole: list[socket.socket] = []
        self._closed = False

    # --- scripting ----------------------------------------------------------------------

    def script(self, path: str, *answers: Reply | Script) -> None:
        """Answer `path` with these, one per request; the last one repeats."""
        scripts = [a if callable(a) else (lambda _q, a=a: a) for a in answers]
        with self._lock:
            self._scripts[path] = scripts

    def heal(self, path: str | None = None) -> None:
        """Back to the world's own answers (for one path, or all)."""
        with self._lock:
            if path is None:
                self._scripts.clear()
            else:
                self._scripts.pop(path, None)

    def count(self, path: str, **query: str) -> int:
        """Requests seen for `path` whose query has these values."""
        with self._lock:
            hits = list(self.hits)
        return sum(
            1 for hit in hits if hit.path == path and all(hit.query.get(k) == [v] for k, v in query.items())
        )

    def refuse(self) -> None:
        """Close the port: every connection is refused from now on."""
        if not self._closed:
            self._server.shutdown()
            self._server.server_close()
            self._closed = True

    def blackhole(self) -> None:
        """Listen on the port but never accept: connections time out."""
        self.refuse()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(0)
        filler = socket.create_connection(("127.0.0.1", self.port))  # fills the backlog
        self._blackhole += [sock, filler]

    def restore(self) -> None:
        """Serve again on the same port, after `refuse()` or `blackhole()`."""
        for sock in self._blackhole:
            sock.close()
        self._blackhole = []
        self._server = self._serve(self.port)
        self._closed = False

    def close(self) -> None:
        """Stop serving; then fail if any answer broke the contract (a test that saw one
        proves nothing about the dashboard)."""
        for sock in self._blackhole:
            sock.close()
        self.refuse()
        with self._lock:
            violations, self.violations = list(self.violations), []
        assert not violations, "the scripted Meteroid broke the contract:\n" + "\n".join(violations)

    # --- the world's own answers ----------------------------------------------------------

    def world(self, path: str, **query: str) -> Reply:
        """The world's own good answer to `path` (to script it slow or cut short, say)."""
        return self._world(path, {k: [v] for k, v in query.items()}, {"Authorization": f"Bearer {FAKE_KEY}"})

    def _answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Reply:
        with self._lock:
            scripts = self._scripts.get(path)
            script = (scripts.pop(0) if len(scripts) > 1 else scripts[0]) if scripts else None
        if script is not None:
            return script(query)
        return self._world(path, query, headers)

    def _world(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Reply:
        if path.startswith("/files/v1/batch-job/"):
            # File links carry their own token and need no API key.
            kind = path.split("/")[4]
            if query.get("token") != [FILE_TOKEN] or kind not in self.files:
                return Reply(403, {"code": "FORBIDDEN", "message": "Invalid or expired file token"})
            return self.files[kind]
        operation = contract.operation(path)
        if operation is None:
            return Reply(404, b"", {"Content-Type": "text/plain"}, contract=False)
        if headers.get("Authorization") != f"Bearer {FAKE_KEY}":
            return Reply(401, {"code": "UNAUTHORIZED", "message": "Missing or invalid API key"})
        try:
            if operation == "list":
                return self._list(query)
            job_id = path.split("/")[4]
            if operation == "failures":
                return self._failures(job_id, query)
            if job_id not in self.details:
                return _not_found(job_id)
            return Reply(200, self.details[job_id])
        except _BadQuery as exc:
            return Reply(400, f"Failed to deserialize query string: {exc}")

    def _list(self, query: dict[str, list[str]]) -> Reply:
        job_type = _single(query, "job_type")
        if job_type is not None:
            _variant("job_type", job_type, JOB_TYPES)
        statuses = {_variant("status", value, STATUSES) for value in query.get("status", [])}
        page = _u32(query, "page", 0)
        sent_per_page = _u32(query, "per_page", 25)
        if not 1 <= sent_per_page <= 100:
            return Reply(400, {"code": "BAD_REQUEST", "message": "per_page must be between 1 and 100"})
        shape = job_json()
        jobs = [
            {k: v for k, v in d.items() if k in shape}
            for d in self.details.values()
            if (job_type is None or d["job_type"] == job_type) and (not statuses or d["status"] in statuses)
        ]
        jobs.sort(key=lambda job: job["created_at"], reverse=True)  # newest first, as Meteroid
        # Meteroid's quirk: without `per_page` it answers 25 jobs but says 10 (API-NOTES.md).
        per_page = sent_per_page if "per_page" in query else 10
        return Reply(
            200,
            {
                "data": jobs[page * sent_per_page : (page + 1) * sent_per_page],
                "pagination_meta": {
                    "page": page,
                    "per_page": per_page,
                    "total_items": len(jobs),
                    "total_pages": math.ceil(len(jobs) / per_page),
                },
            },
        )

    def _failures(self, job_id: str, query: dict[str, list[str]]) -> Reply:
        chunk = _single(query, "chunk_id")
        if chunk is not None and contract.errors(chunk, "BatchJobChunkId"):
            raise _BadQuery(f"chunk_id: invalid id `{chunk}`")
        limit = _u32(query, "limit", 25)
        offset = _u32(query, "offset", 0)
        if not 1 <= limit <= 100:
            return Reply(400, {"code": "BAD_REQUEST", "message": "limit must be between 1 and 100"})
        if job_id not in self.details:
            return _not_found(job_id)
        rows = sorted(self.failures.get(job_id, []), key=lambda row: row["item_index"])
        if chunk is not None:
            rows = [row for row in rows if row["chunk_id"] == chunk]
        return Reply(200, {"data": rows[offset : offset + limit], "total_count": len(rows)})

    def _check(self, path: str, reply: Reply, body: bytes, content_type: str) -> None:
        # A body scripted as raw text or bytes is a fault by construction (a proxy's page,
        # JSON cut short, not UTF-8); every answer scripted as JSON must keep the contract.
        if not (reply.contract and self.contract and isinstance(reply.body, dict | list)):
            return
        problems = contract.answer_problems(path, reply.status, content_type, body)
        if problems:
            with self._lock:
                self.violations += [f"{path} -> {reply.status}: {problem}" for problem in problems[:5]]

    # --- the HTTP server ----------------------------------------------------------------

    def _serve(self, port: int = 0) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                with fake._lock:
                    fake.hits.append(Hit(parts.path, query, dict(self.headers)))
                reply = fake._answer(parts.path, query, dict(self.headers))
                body, content_type = reply.encoded()
                # Checked before any delay: an answer the client gave up on counts too.
                fake._check(parts.path, reply, body, reply.headers.get("Content-Type", content_type))
                time.sleep(reply.delay)
                self.send_response(reply.status)
                headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.cut_after is not None:
                    self.wfile.write(body[: reply.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hung up on a slow answer, as a test meant it to

        server = Server(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return server


# --- queries read as Meteroid's server reads them (serde), and its errors ---------------------


class _BadQuery(ValueError):
    """A query string that does not parse: Meteroid answers a plain-text 400."""


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name, [])
    if len(values) > 1:
        raise _BadQuery(f"duplicate field `{name}`")
    return values[0] if values else None


def _u32(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _single(query, name)
    if raw is None:
        return default
    digits = raw.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()) or int(digits) >= 2**32:
        raise _BadQuery(f"{name}: invalid digit found in string")
    return int(digits)


def _variant(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _BadQuery(f"{name}: unknown variant `{value}`")
    return value


def _not_found(job_id: str) -> Reply:
    return Reply(404, {"code": "NOT_FOUND", "message": f"Batch job {job_id} not found"})
