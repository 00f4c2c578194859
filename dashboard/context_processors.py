from django.conf import settings
from django.http import HttpRequest


def dashboard(request: HttpRequest) -> dict:
    """What every page shows: whether the data is the built-in sandbox's."""
    return {"sandbox": not settings.METEROID_API_KEY}
