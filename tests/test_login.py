"""Logging in and out: guessing is rate-limited, sessions expire, logout works."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def _try(client, password: str, username: str = "support", ip: str = "203.0.113.7"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_a_right_password_logs_in(client, user):
    response = _try(client, PASSWORD)
    assert response.status_code == 302
    assert client.get("/jobs/").status_code == 200


def test_a_wrong_password_says_so_without_telling_which_part_was_wrong(client, user):
    response = _try(client, "guess")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_guessing_is_stopped_after_five_failures_even_with_the_right_password(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _try(client, "guess").status_code == 200
    locked = _try(client, "guess")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed logins." in html
    assert "15 min" in html
    # Locked out, the right password does not get in either: guessing learns nothing.
    again = _try(client, PASSWORD)
    assert again.status_code == 429
    assert client.get("/jobs/").status_code == 302


def test_the_lockout_is_for_that_user_name_from_that_address(client, user, django_user_model, settings):
    django_user_model.objects.create_user(username="finance", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _try(client, "guess")
    assert _try(client, PASSWORD).status_code == 429
    assert _try(client, PASSWORD, username="finance").status_code == 302
    client.logout()
    assert _try(client, PASSWORD, ip="198.51.100.4").status_code == 302


def test_a_success_forgets_earlier_failures(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _try(client, "guess")
    assert _try(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _try(client, "guess").status_code == 200
    assert _try(client, PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, user, settings):
    from axes.models import AccessAttempt

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _try(client, "guess")
    assert _try(client, PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert _try(client, PASSWORD).status_code == 302


def test_axes_reset_username_lifts_a_pause(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _try(client, "guess")
    assert _try(client, PASSWORD).status_code == 429
    out = io.StringIO()
    call_command("axes_reset_username", "support", stdout=out)  # as README tells operators
    assert _try(client, PASSWORD).status_code == 302
    assert client.get("/jobs/").status_code == 200


def test_a_session_lasts_its_age_and_no_longer(client, user, settings):
    _try(client, PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    assert cookie["httponly"]
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/jobs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_logout_is_a_post_and_ends_the_session(logged_in):
    assert logged_in.get("/accounts/logout/").status_code == 405
    assert logged_in.get("/jobs/").status_code == 200
    response = logged_in.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert logged_in.get("/jobs/").status_code == 302
    assert not Session.objects.exists()


def test_logout_needs_the_csrf_token(user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post("/accounts/logout/").status_code == 403
    assert browser.get("/jobs/").status_code == 200
