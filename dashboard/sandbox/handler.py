"""Django serving the sandbox's URLs alone, with only the middleware an API answer needs."""

from __future__ import annotations

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

URLCONF = "dashboard.sandbox.root_urls"
# What shapes an API answer: security headers, Content-Length, X-Frame-Options. The rest
# of the dashboard's stack (static files, sessions, CSRF, logins, messages, htmx) serves
# people, and the sandbox's views exempt themselves from all of it anyway.
MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class SandboxHandler(WSGIHandler):
    """A WSGI handler for the sandbox's API: its URLs only, and a short middleware stack.

    A request answers byte for byte as through the dashboard's own /sandbox/ URLs, for
    less work: a whole-job scan sends thousands of them, on a machine the dashboard shares.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler

    def get_response(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = URLCONF
        return super().get_response(request)
