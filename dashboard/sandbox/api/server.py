"""An HTTP server for the sandbox on a loopback port of this very process.

In demo mode the gateway talks to the sandbox over real HTTP, so that its real code path
(sessions, retries, timeouts, error mapping) runs. Were it to call the dashboard's own public
address, a server with one sync worker would wait on itself forever; a threaded server of
our own, on 127.0.0.1, answers whatever the main server is doing. One per process: after a
fork (gunicorn's workers) the child starts its own, since the parent's thread did not follow.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.http.request import validate_host

from dashboard.sandbox.api.handler import SandboxHandler

_lock = threading.Lock()
_started: tuple[int, str, ThreadedWSGIServer] | None = None  # (pid, base URL, server)

type StartResponse = Callable[..., Any]


class _QuietRequestHandler(WSGIRequestHandler):
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body of a
    # kept-alive connection's answer waits for the client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # One line per upstream call would drown the dashboard's own log.
        pass


class _SandboxServer(ThreadedWSGIServer):
    daemon_threads = True  # a request in flight never holds up the process's exit
    request_queue_size = 128  # whole-job scans keep several requests in flight


class _LoopbackApp:
    """The sandbox's API, for requests that come from this process over the loopback.

    They carry a Host the settings may not allow (ALLOWED_HOSTS names the public host),
    and come over plain HTTP, which SECURE_SSL_REDIRECT would bounce to https. Neither
    matters on a hop that never leaves the process, so each request is shown to Django
    under a host it allows, as a secure one.
    """

    def __init__(self) -> None:
        self._django = SandboxHandler()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        host = _allowed_host()
        if host is not None:
            environ["HTTP_HOST"] = host
        environ["wsgi.url_scheme"] = "https"
        environ.pop("HTTP_X_FORWARDED_PROTO", None)
        return self._django(environ, start_response)


def _allowed_host() -> str | None:
    """A Host header that ALLOWED_HOSTS accepts: 127.0.0.1 when it may, else the first
    plain name it lists (None: keep the request's own)."""
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if validate_host("127.0.0.1", allowed):
        return "127.0.0.1"
    for pattern in allowed:
        name = pattern.lstrip(".")
        if name and "*" not in name and validate_host(name, allowed):
            return name
    return None


def _forget_after_fork() -> None:
    global _lock, _started
    _lock = threading.Lock()  # a thread of the parent may have held it at the fork
    _started = None


os.register_at_fork(after_in_child=_forget_after_fork)


def _start() -> tuple[str, ThreadedWSGIServer]:
    server = _SandboxServer(("127.0.0.1", 0), _QuietRequestHandler, allow_reuse_address=True)
    server.set_app(_LoopbackApp())
    thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}/sandbox", server


def sandbox_base_url() -> str:
    """The Meteroid base URL of this process's sandbox server, started on first use."""
    global _started
    pid = os.getpid()
    started = _started
    if started is not None and started[0] == pid:
        return started[1]
    with _lock:
        if _started is None or _started[0] != pid:
            url, server = _start()
            _started = (pid, url, server)
        return _started[1]


def stop_sandbox_server() -> None:
    """Stop this process's sandbox server, if it runs (tests); the next use starts another."""
    global _started
    with _lock:
        started, _started = _started, None
    if started is not None and started[0] == os.getpid():
        started[2].shutdown()
        started[2].server_close()
