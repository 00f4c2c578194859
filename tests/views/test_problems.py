"""A `Problem` raised below a view is its answer, made in one place (ProblemMiddleware)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from dashboard.views.loading import load_job, no_such_chunk
from dashboard.views.problems import Problem, ProblemMiddleware


def test_a_problem_raised_in_a_view_is_the_answer():
    middleware = ProblemMiddleware(lambda request: HttpResponse("page"))
    request = RequestFactory().get("/jobs/x/")
    answer = middleware.process_exception(
        request, Problem(lambda r: HttpResponse("no such thing", status=404))
    )
    assert (answer.status_code, answer.content) == (404, b"no such thing")


def test_any_other_exception_is_left_to_django():
    middleware = ProblemMiddleware(lambda request: HttpResponse("page"))
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("boom")) is None


def test_a_bad_job_id_raises_its_problem_without_asking_meteroid():
    with pytest.raises(Problem):
        load_job("not-a-job")


def test_the_problems_of_a_job_view_are_pages_through_the_whole_stack(logged_in):
    response = logged_in.get("/jobs/not-a-job/")
    assert response.status_code == 404
    assert b"That is not a batch job id." in response.content


def test_a_problem_made_for_a_job_names_it(rf):
    from django_htmx.middleware import HtmxDetails

    from dashboard.meteroid.gateway import get_gateway
    from dashboard.sandbox.world.data import SHOWCASE

    job = get_gateway().job(SHOWCASE["customers"])
    request = rf.get("/")
    request.htmx = HtmxDetails(request)
    answer = no_such_chunk(job, "bjch_nope").answer(request)
    assert answer.status_code == 404
    assert b"bjch_nope" in answer.content
