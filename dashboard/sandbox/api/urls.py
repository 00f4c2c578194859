"""The sandbox's URLs, under /sandbox/: `http://host/sandbox` is a Meteroid base URL."""

from django.urls import path, re_path

from dashboard.sandbox.api import views

app_name = "sandbox"

urlpatterns = [
    path("api/v1/batch-jobs", views.list_jobs, name="jobs"),
    path("api/v1/batch-jobs/<str:job_id>", views.job_detail, name="job"),
    path("api/v1/batch-jobs/<str:job_id>/failures", views.job_failures, name="failures"),
    re_path(
        r"^files/v1/batch-job/(?P<kind>errors|input|output)/(?P<job_id>[^/]+)$",
        views.job_file,
        name="file",
    ),
    # Not Meteroid's: what tests ask of the sandbox, behind the same key.
    path("control/batch-jobs/<str:job_id>/retry", views.retry_job, name="control_retry"),
    path("control/reset", views.reset_control, name="control_reset"),
    path("_stats", views.request_stats, name="stats"),
    path("_stats/reset", views.reset_stats, name="stats_reset"),
]
