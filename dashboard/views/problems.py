"""`Problem`: an answer that takes the place of the page asked for (no such job, chunk or
group, a bad query, a page past the last, Meteroid failing). Raised anywhere below a view;
`ProblemMiddleware` makes it the page, in one place, so that no helper returns "a value or
a page" for its caller to tell apart."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class Problem(Exception):
    """The page to answer with instead: `answer(request)` makes it (see `views.responses`)."""

    def __init__(self, answer: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__()
        self.answer = answer


class ProblemMiddleware:
    """Makes a `Problem` raised by a view the answer to its request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Problem):
            return exception.answer(request)
        return None
