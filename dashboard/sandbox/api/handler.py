"""Django serving the sandbox's URLs alone, with only the middleware an API answer needs."""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

URLCONF = "dashboard.sandbox.api.root_urls"
# What serves people and not an API: static files, sessions, CSRF, logins, messages, htmx,
# the banner about stale copies of Meteroid's data, login throttling. The sandbox's views exempt themselves from all of it anyway; the rest of
# the dashboard's stack (request ids, security headers, Content-Length) shapes every answer.
FOR_PEOPLE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
        "dashboard.middleware.LoginRequired",
        "dashboard.middleware.StaleNotice",
        "django.contrib.messages.middleware.MessageMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)


class SandboxHandler(WSGIHandler):
    """A WSGI handler for the sandbox's API: its URLs only, and the dashboard's middleware
    less what serves people.

    A request answers byte for byte as through the dashboard's own /sandbox/ URLs, for
    less work: a whole-job scan sends thousands of them, on a machine the dashboard shares.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        # As Django's own load_middleware does, for a shorter list.
        handler = convert_exception_to_response(self._get_response)
        for path in reversed([path for path in settings.MIDDLEWARE if path not in FOR_PEOPLE]):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler

    def get_response(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = URLCONF
        return super().get_response(request)
