"""A job's files, streamed through the dashboard."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard.sandbox.world.data import SHOWCASE

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_the_errors_csv_arrives_with_its_rows_and_a_safe_name(logged_in):
    job = SHOWCASE["customers"]
    response = logged_in.get(f"/jobs/{job}/files/errors/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{job}-errors.csv"'
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(_body(response))))
    assert rows[0][-1] == "_error"
    assert len(rows) > 1
    assert "token" not in response["Content-Disposition"]


def test_the_input_file_arrives(logged_in):
    job = SHOWCASE["customers"]
    response = logged_in.get(f"/jobs/{job}/files/input/")
    assert response.status_code == 200
    assert len(_body(response).splitlines()) > 1


def test_an_export_jobs_output_arrives(logged_in):
    response = logged_in.get(f"/jobs/{SHOWCASE['export']}/files/output/")
    assert response.status_code == 200
    assert _body(response)


def test_a_file_a_job_does_not_have_is_not_found(logged_in):
    response = logged_in.get(f"/jobs/{SHOWCASE['no_failures']}/files/output/")
    assert response.status_code == 404


def test_an_unknown_kind_of_file_is_not_found(logged_in):
    response = logged_in.get(f"/jobs/{SHOWCASE['customers']}/files/secrets/")
    assert response.status_code == 404


def test_files_need_a_login(client):
    response = client.get(f"/jobs/{SHOWCASE['customers']}/files/errors/")
    assert response.status_code == 302
