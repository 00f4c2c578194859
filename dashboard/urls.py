from django.urls import include, path

urlpatterns = [
    path("sandbox/", include("dashboard.sandbox.urls")),
]
