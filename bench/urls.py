"""The dashboard's URLs and one trivial view, for benchmarks only: the fastest answer Django
gives through the same middleware (session, login, …), as the ceiling for real pages."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from dashboard.urls import urlpatterns as dashboard_urlpatterns


def ping(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/ping/", ping, name="bench-ping"), *dashboard_urlpatterns]
