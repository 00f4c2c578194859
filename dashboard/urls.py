from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from dashboard.views import causes, downloads, exports, health, job, jobs, reasons, refresh, search_across

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="jobs", permanent=False)),
    path("jobs/", jobs.jobs, name="jobs"),
    path("search/", search_across.search, name="search"),
    path("jobs/refresh/", refresh.jobs_refresh, name="jobs-refresh"),
    path("jobs/open/", jobs.open_job, name="jobs-open"),
    path("jobs/<str:job_id>/", job.job, name="job"),
    path("jobs/<str:job_id>/refresh/", refresh.job_refresh, name="job-refresh"),
    path("jobs/<str:job_id>/chunks/", job.job_chunks, name="job-chunks"),
    path("jobs/<str:job_id>/chunks/rescan/", job.job_rescan, name="job-rescan"),
    path("jobs/<str:job_id>/files/<str:kind>/", downloads.job_file, name="job-file"),
    path("jobs/<str:job_id>/failures.csv", exports.failures_csv, name="job-failures-csv"),
    path("jobs/<str:job_id>/rows-to-fix.csv", exports.rows_to_fix_csv, name="job-rows-to-fix-csv"),
    path("jobs/<str:job_id>/reasons/", reasons.reasons, name="job-reasons"),
    path("jobs/<str:job_id>/reasons.csv", reasons.reasons_csv, name="job-reasons-csv"),
    path("jobs/<str:job_id>/reasons/<str:key>/", reasons.reason_group, name="job-reason"),
    path("reasons/", causes.causes, name="reasons-across"),
    path("reasons/causes.csv", causes.causes_csv, name="reasons-across-csv"),
    path("reasons/<str:key>/", causes.cause, name="reasons-across-cause"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
]

if settings.SANDBOX_ENABLED:
    # Only where the dashboard runs on the sandbox (or SANDBOX_ENABLED says so): elsewhere
    # /sandbox/ is a 404 and no module of the sandbox is imported.
    urlpatterns.append(path("sandbox/", include("dashboard.sandbox.api.urls")))
