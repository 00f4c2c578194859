"""The sandbox's URLs as a whole site: `/sandbox/…`, as the dashboard serves them, and nothing else."""

from django.urls import include, path

urlpatterns = [path("sandbox/", include("dashboard.sandbox.api.urls"))]

# Errors outside the API's own answers are JSON too: the dashboard's HTML pages are not here.
handler404 = "dashboard.sandbox.api.views.no_such_endpoint"
handler500 = "dashboard.sandbox.api.views.internal_error"
