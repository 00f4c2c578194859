"""Users and sessions on the database that DATABASE_URL names: SQLite by default, PostgreSQL
in production (`make test` runs the database tests on both)."""

from __future__ import annotations

import os

import pytest
from django.contrib.sessions.models import Session
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_database_is_the_one_database_url_names():
    url = os.environ.get("DATABASE_URL", "sqlite://")
    assert connection.vendor == ("postgresql" if url.startswith(("postgres", "pgsql")) else "sqlite")


def test_a_login_through_the_form_makes_a_session_in_the_database(client, user):
    response = client.post("/accounts/login/", {"username": "support", "password": "correct horse battery"})
    assert response.status_code == 302
    session = Session.objects.get(session_key=client.cookies["sessionid"].value)
    assert session.get_decoded()["_auth_user_id"] == str(user.pk)
    assert client.get("/jobs/").status_code == 200


def test_logging_out_ends_the_session(logged_in):
    key = logged_in.cookies["sessionid"].value
    logged_in.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert logged_in.get("/jobs/").status_code == 302
