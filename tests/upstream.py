"""A scripted stand-in for Meteroid on a loopback port, for fault and hostile-data tests.

It serves a small, consistent world (`FakeMeteroid.jobs`, `.failures`) the way Meteroid
does, so that pages work; a test then scripts any path to answer otherwise (a status, a
body, headers, a delay, a connection cut short) and counts the hits. `refuse()` closes the
port (connection refused) and `blackhole()` leaves connections unanswered (connect timeout).
Unlike the `responses` library, the dashboard's whole path runs: requests, urllib3's
retries and timeouts, the gateway, its cache, the views.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAKE_KEY = "pv_live_fAk3SecretKeyThatMustNeverLeak0001"
FILE_TOKEN = "tok_fAk3SignedFileTokenThatMustNeverLeak"
JOB = "bjob_Fake0000000000000001"
ACTIVE_JOB = "bjob_Fake0000000000000002"
JOBS_PATH = "/api/v1/batch-jobs"
CHUNKS = ("bjch_FakeChunk0", "bjch_FakeChunk1", "bjch_FakeChunk2")


def job_path(job_id: str = JOB) -> str:
    return f"{JOBS_PATH}/{job_id}"


def failures_path(job_id: str = JOB) -> str:
    return f"{JOBS_PATH}/{job_id}/failures"


def file_path(kind: str, job_id: str = JOB) -> str:
    return f"/files/v1/batch-job/{kind}/{job_id}"


@dataclass
class Reply:
    """One scripted answer. `body`: dict or list (sent as JSON), str, or bytes.
    `cut_after`: send this many bytes of the body, then drop the connection."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None

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
        "created_by": "ops@example.com",
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
        for sock in self._blackhole:
            sock.close()
        self.refuse()

    # --- the world's own answers ----------------------------------------------------------

    def _answer(self, path: str, query: dict[str, list[str]]) -> Reply:
        with self._lock:
            scripts = self._scripts.get(path)
            script = (scripts.pop(0) if len(scripts) > 1 else scripts[0]) if scripts else None
        if script is not None:
            return script(query)
        if path == JOBS_PATH:
            jobs = [{k: v for k, v in d.items() if k in job_json()} for d in self.details.values()]
            return Reply(
                200,
                {
                    "data": jobs,
                    "pagination_meta": {
                        "page": 0,
                        "per_page": 25,
                        "total_items": len(jobs),
                        "total_pages": 1,
                    },
                },
            )
        parts = path.split("/")
        if len(parts) >= 5 and path.startswith(JOBS_PATH + "/"):
            job_id = parts[4]
            if job_id not in self.details:
                return Reply(404, {"code": "NOT_FOUND", "message": f"Batch job {job_id} not found"})
            if len(parts) == 5:
                return Reply(200, self.details[job_id])
            if len(parts) == 6 and parts[5] == "failures":
                return self._failures(job_id, query)
        if path.startswith("/files/v1/batch-job/"):
            kind = parts[4]
            if query.get("token") != [FILE_TOKEN] or kind not in self.files:
                return Reply(403, {"code": "FORBIDDEN", "message": "Invalid or expired file token"})
            return self.files[kind]
        return Reply(404, {"code": "NOT_FOUND", "message": "no route"})

    def _failures(self, job_id: str, query: dict[str, list[str]]) -> Reply:
        limit = int(query.get("limit", ["25"])[0])
        offset = int(query.get("offset", ["0"])[0])
        rows = self.failures[job_id]
        if "chunk_id" in query:
            rows = [row for row in rows if row["chunk_id"] == query["chunk_id"][0]]
        return Reply(200, {"data": rows[offset : offset + limit], "total_count": len(rows)})

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
                reply = fake._answer(parts.path, query)
                time.sleep(reply.delay)
                body, content_type = reply.encoded()
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
