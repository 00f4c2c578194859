"""Every URL and query parameter fuzzed: a 400 or 404 page (or the page itself), never a 500.

The URLs come from the URLconf and the parameter names from each page's own forms and links
(plus the ones every page might be sent), so new pages and parameters are fuzzed as they
appear. The dashboard runs on its sandbox here, through the real gateway.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import wait_for_scan
from tests.support.markup import attribute_values, links
from tests.support.urlconf import Route, all_routes

pytestmark = pytest.mark.django_db

JOB = SHOWCASE["customers"]
ANSWERS = {200, 400, 404, 405}
SANDBOX_ANSWERS = {200, 400, 401, 403, 404, 405}

# Values of the wrong type, out of range, of the wrong kind of id, traversals, markup, very
# long, unusual Unicode and control characters.
HOSTILE_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "1e9",
    "0x10",
    "+3",
    "٣",  # an Arabic-Indic digit: int() reads it, a URL should not
    "99999999999999999999999999",
    str(2**63),
    "abc",
    "true",
    "null",
    "[]",
    "{}",
    "NOPE",
    "COMPLETED",
    "CUSTOMER_CSV_IMPORT",
    "bjob_7n42DGM5Tflk9n8mt7Fhc7",
    "bjch_7n42DGM5Tflk9n8mt7Fhc7",
    "bjch_" + "A" * 40,
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "/jobs/",
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "{{ 7*7 }}{% now 'Y' %}",
    "javascript:alert(1)",
    "a\x00b",
    "\x1b[31m\r\nX-Injected: 1",
    "\u202egpj.exe",
    "Z\u0335a\u0334l\u0337g\u0336o 🧾",
    "\ufffd\ufeff\u200b",  # replacement, byte-order mark, zero-width space
    "a" * 5000,
]
PATH_VALUES = [
    "",
    "0",
    "-1",
    "x",
    "bjob_",
    "bjob_" + "A" * 33,
    "bjob_NoSuchJob000000000000",
    "bjch_7n42DGM5Tflk9n8mt7Fhc7",
    "BJOB_ABC",
    "..",
    ".",
    "%2e%2e",
    "../../etc/passwd",
    "a/b",
    "a\x00b",
    "<script>",
    "𝕏🧾",
    "bjob_a;b",
    "a" * 3000,
]
LOGIN_PATH = "/accounts/login/"
COMMON_PARAMS = ["page", "per_page", "chunk", "type", "status", "q", "reason", "format", "next", "token"]


def _dashboard_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace != "sandbox"]


@pytest.fixture(autouse=True)
def _read_job(request):
    """The job's failures read, as a worker reads them: the files made from them answer, and
    every page shows what it shows of a read job (its reason and chunk filters)."""
    if "logged_in" in request.fixturenames:
        wait_for_scan(JOB)


def _url(route: Route, **values: str) -> str:
    wanted = {p: quote(values.get(p, _sample(p)), safe="") for p in route.params}
    path = route.route
    for name, value in wanted.items():
        path = path.replace(f"<str:{name}>", value).replace(f"<{name}>", value)
    for converter in ("int", "slug", "uuid", "path"):
        for name, value in wanted.items():
            path = path.replace(f"<{converter}:{name}>", value)
    return "/" + path


def _sample(param: str) -> str:
    return {"job_id": JOB, "kind": "errors"}.get(param, "x")


def _check(response, allowed: set[int]) -> None:
    # A download's first chunk shows it started well; the rest is the same file again.
    body = next(iter(response.streaming_content), b"") if response.streaming else response.content
    assert response.status_code in allowed, (response.status_code, body[:300])
    assert b"Traceback" not in body
    if response.status_code in (301, 302):
        # A redirect survives only if it is not the way out: a logged-in person asking
        # anything at all is never sent to log in again.
        assert not urlsplit(response["Location"]).path.startswith(LOGIN_PATH), response["Location"]
    if response.streaming:
        # Read to the end, and the test client closes the download itself: a close of our own
        # would also close the database connection (request_finished), and on PostgreSQL the
        # test's transaction with it.
        for _ in response.streaming_content:
            pass


def _param_names(client, url: str) -> tuple[set[str], bool]:
    """The parameters a page itself uses (its form fields and its links' queries), and
    whether the URL is a download."""
    response = client.get(url)
    names: set[str] = set()
    if response.get("Content-Type", "").startswith("text/html"):
        html = response.content.decode()
        names |= set(attribute_values(html, "name")) - {"csrfmiddlewaretoken"}
        for link in links(html, url):
            names |= {name for name, _ in parse_qsl(urlsplit(link).query)}
    return names, response.streaming


def _query_cases(client, url: str) -> list[tuple[str, str]]:
    """(name, value) pairs to try: every value for the page's own parameters; for the
    parameters it does not use, and for downloads (which read no query), a sample."""
    used, streaming = _param_names(client, url)
    cases = []
    for name in sorted(used | set(COMMON_PARAMS)):
        values = HOSTILE_VALUES if name in used and not streaming else HOSTILE_VALUES[::4]
        cases += [(name, value) for value in values]
        # The same parameter twice, with a good and a bad value, in both orders.
        cases += [(name, ["1", "x"]), (name, ["x", "1"])]
    return cases


@pytest.mark.parametrize("route", [pytest.param(r, id=r.name) for r in _dashboard_routes() if r.params])
def test_every_path_parameter_survives_hostile_values(logged_in, route):
    cases = 0
    for param in route.params:
        for value in PATH_VALUES:
            _check(logged_in.get(_url(route, **{param: value})), ANSWERS | {301, 302})
            cases += 1
    assert cases >= len(PATH_VALUES)


@pytest.mark.parametrize(
    "route", [pytest.param(r, id=r.name) for r in all_routes() if r.namespace == "sandbox"]
)
def test_every_sandbox_parameter_survives_hostile_values(client, route):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {settings.SANDBOX_API_KEY}"}
    for param in route.params:
        for value in PATH_VALUES:
            _check(client.get(_url(route, **{param: value}), **auth), SANDBOX_ANSWERS | {301})
    for name in ("limit", "offset", "page", "per_page", "chunk_id", "job_type", "status", "token"):
        for value in HOSTILE_VALUES[:24]:
            _check(client.get(_url(route), {name: value}, **auth), SANDBOX_ANSWERS)


@pytest.mark.parametrize("route", [pytest.param(r, id=r.name) for r in _dashboard_routes()])
def test_every_query_parameter_survives_hostile_values(logged_in, route):
    url = _url(route)
    for name, value in _query_cases(logged_in, url):
        _check(logged_in.get(url, {name: value}), ANSWERS | {302})


def test_an_htmx_fragment_with_a_bad_query_is_a_400_fragment(logged_in):
    response = logged_in.get(
        f"/jobs/{JOB}/", {"page": "-1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="failures"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" not in html
    assert "The page must be 1 or more, not -1." in html


def test_a_huge_query_string_is_refused_not_a_crash(logged_in):
    query = "&".join(f"p{i}=v" for i in range(2000))
    _check(logged_in.get(f"/jobs/?{query}"), {200, 400})


def test_the_fuzzed_cases_cover_each_pages_own_parameters_with_every_value(logged_in):
    routes = {route.name: route for route in _dashboard_routes()}
    cases = {name: _query_cases(logged_in, _url(route)) for name, route in routes.items()}
    own = {
        "jobs": {"job", "page", "per_page", "status", "type"},
        "job": {"chunk", "page", "per_page", "q", "reason", "row"},
        "job-reasons": {"chunk", "reason", "row"},
    }
    for route, names in own.items():
        for name in names:
            values = [value for case_name, value in cases[route] if case_name == name]
            assert values == [*HOSTILE_VALUES, ["1", "x"], ["x", "1"]], (route, name)
    for route, pairs in cases.items():
        # Every page, and every download, is also sent what any page might be sent.
        assert set(COMMON_PARAMS) <= {name for name, _ in pairs}, route
    # Paths: every parameter of every route, with every hostile path value.
    assert {param for route in routes.values() for param in route.params} == {"job_id", "kind", "key"}
    path_cases = sum(len(r.params) for r in routes.values()) * len(PATH_VALUES)
    query_cases = sum(len(pairs) for pairs in cases.values())
    print(f"fuzz: {path_cases} path cases, {query_cases} query cases over {len(routes)} routes")  # noqa: T201


# --- property-based: any query at all ---------------------------------------------------------

_names = st.sampled_from(COMMON_PARAMS) | st.text(min_size=1, max_size=12)
_values = (
    st.sampled_from(HOSTILE_VALUES)
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.text(max_size=60)
)
_queries = st.lists(st.tuples(_names, _values), max_size=6)


@pytest.mark.parametrize(
    "route",
    [pytest.param(r, id=r.name) for r in _dashboard_routes() if r.name not in ("logout", "job-rescan")],
)
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=_queries, htmx=st.booleans())
def test_any_query_on_any_page_is_answered_without_a_crash(logged_in, route, query, htmx):
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "failures"} if htmx else {}
    data: dict[str, list[str]] = {}
    for name, value in query:
        data.setdefault(name, []).append(value)
    _check(logged_in.get(_url(route), data, **headers), ANSWERS | {302})
