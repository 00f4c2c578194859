from django.conf import settings
from django.http import HttpRequest

from dashboard.meteroid import freshness


def dashboard(request: HttpRequest) -> dict:
    """What every page shows: whether the data is the built-in sandbox's, and which of it is
    an old copy because Meteroid failed (read when the template renders, after the view has
    asked the gateway)."""
    return {"sandbox": not settings.METEROID_API_KEY, "stale": freshness.current()}
