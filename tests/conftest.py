"""Shared fixtures: a logged-in browser session, and a clean cache for every test."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The real hasher is slow on purpose; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="support", password="correct horse battery")


@pytest.fixture
def logged_in(client, user):
    """Django's test client, logged in as a support person."""
    client.force_login(user)
    return client


@pytest.fixture
def meteroid(settings):
    """The dashboard pointed at a scripted Meteroid (tests/upstream.py), with timeouts and
    retries small enough for tests: two retries, half a second to read."""
    from dashboard.meteroid.gateway import reset_gateway
    from tests.upstream import FAKE_KEY, FakeMeteroid

    fake = FakeMeteroid()
    settings.METEROID_API_KEY = FAKE_KEY
    settings.METEROID_BASE_URL = fake.base_url
    settings.METEROID_CONNECT_TIMEOUT = 0.3
    settings.METEROID_READ_TIMEOUT = 0.5
    settings.METEROID_MAX_RETRIES = 2
    settings.METEROID_MAX_RETRY_WAIT = 1.0
    yield fake
    fake.close()
    reset_gateway()
