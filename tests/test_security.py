"""Security: every URL needs a login (or its own key), secrets never leave the server, and every
response carries a strict Content Security Policy and the headers `check --deploy` asks for."""

from __future__ import annotations

import secrets
from collections import deque

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from dashboard.failures.reasons import pattern_of
from dashboard.sandbox.world import files
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.django_process import environment, manage
from tests.support.helpers import htmx, indexed_job, wait_for_scan
from tests.support.markup import audit, links
from tests.support.paths import ROOT
from tests.support.upstream import FAKE_KEY, FILE_TOKEN, JOB
from tests.support.urlconf import all_routes

pytestmark = pytest.mark.django_db

# Open to anyone: the login page and the health probe. The sandbox has its own bearer key.
PUBLIC = {"login", "healthz"}
SANDBOX = "sandbox"
SANDBOX_JOB = SHOWCASE["customers"]


def _routes():
    return [pytest.param(route, id=route.name) for route in all_routes()]


def test_the_urlconf_is_walked_whole():
    names = {route.name for route in all_routes()}
    assert {"jobs", "job", "job-chunks", "job-rescan", "job-file", "login", "logout", "healthz"} <= names
    assert {"sandbox:jobs", "sandbox:job", "sandbox:failures", "sandbox:file"} <= names


@pytest.mark.parametrize("route", _routes())
def test_every_url_needs_a_login_or_its_own_key(client, user, route):
    values = {"job_id": SANDBOX_JOB}
    if route.name == "reasons-across-cause":  # a cause is there once a job failed with it
        indexed_job("bjob_Cause1", timezone.now(), ["Oops"])
        values["key"] = pattern_of("Oops").key
    url = route.url(**values)
    if route.name in PUBLIC:
        assert client.get(url).status_code == 200
        return
    if route.namespace == SANDBOX:
        # No login, but nothing without the bearer key, and no login page either.
        for response in (client.get(url), client.post(url)):
            assert response.status_code in (401, 403, 405)
            assert "login" not in response.get("Location", "")
            assert SANDBOX_JOB not in response.content.decode() or response.status_code == 403
        if route.callback_name != "job_file":
            auth = {"HTTP_AUTHORIZATION": f"Bearer {django_settings.SANDBOX_API_KEY}"}
            wrong = {"HTTP_AUTHORIZATION": "Bearer pv_sand_wrong"}
            posts = {"reset_stats", "retry_job", "reset_control"}
            method = client.post if route.callback_name in posts else client.get
            assert method(url, **wrong).status_code == 401
            # A retry of a job with nothing to retry is refused, past the key.
            assert method(url, **auth).status_code in (200, 204, 409)
        return
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302, (route.name, response.status_code)
        assert response["Location"].startswith("/accounts/login/?next=")
    fragment = client.get(url, **htmx("failures"))
    assert fragment["HX-Redirect"].startswith("/accounts/login/")
    # And with a login the URL is there (not a 404 that would prove nothing), the job's
    # failures read, as the files made from them need.
    group = wait_for_scan(SANDBOX_JOB).result.groups[0]
    url = route.url(job_id=SANDBOX_JOB, key=group.key)  # a reason group the job has
    client.force_login(user)
    response = client.get(url)
    if response.status_code == 405:  # a POST-only URL (logout, rescan, refresh)
        response = client.post(url)
    assert response.status_code in (200, 302, 303), (route.name, response.status_code)
    assert not response.get("Location", "").startswith("/accounts/login/?next=")


def test_a_sandbox_file_needs_its_signed_token(client):
    key, seed = django_settings.SANDBOX_API_KEY, django_settings.SANDBOX_SEED
    url = f"/sandbox/files/v1/batch-job/errors/{SANDBOX_JOB}"
    assert client.get(url).status_code == 403
    assert client.get(url, {"token": "forged"}).status_code == 403
    other = files.file_token("errors", SHOWCASE["export"], api_key=key, seed=seed)
    assert client.get(url, {"token": other}).status_code == 403
    token = files.file_token("errors", SANDBOX_JOB, api_key=key, seed=seed)
    assert client.get(url, {"token": token}).status_code == 200


# --- secrets never leave ------------------------------------------------------------------------


FRAGMENTS = ("failures", "job-summary", "scan-filters", "reason-summary", "reasons", "jobs-table")


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8", "replace")


def _crawl(client, starts: list[str], limit: int = 80) -> dict[str, tuple[object, str]]:
    """GET every same-site URL reachable from `starts` (and its htmx fragments), up to `limit`."""
    seen: dict[str, tuple[object, str]] = {}
    queue = deque(starts)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen or url.startswith(("/sandbox/", "/static/", "/accounts/logout/")) or "rescan" in url:
            continue
        response = client.get(url)
        body = _body(response)
        seen[url] = (response, body)
        if response.get("Content-Type", "").startswith("text/html"):
            queue.extend(links(body, url.split("?")[0]))
            for target in FRAGMENTS:
                fragment = client.get(url, **htmx(target))
                seen[f"{url} #{target}"] = (fragment, _body(fragment))
    return seen


def _cache_keys() -> list[str]:
    backend = caches["default"]
    if hasattr(backend, "_cache"):  # local memory
        return list(backend._cache)
    client = backend._cache.get_client(None)  # Redis
    return [key.decode() for key in client.scan_iter("*")]


def _assert_nothing_leaks(pages: dict, secrets_: list[str], caplog) -> None:
    assert len(pages) > 20
    for url, (response, body) in pages.items():
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        for secret in secrets_:
            assert secret not in body, (url, secret)
            assert secret not in headers, (url, secret)
    for key in _cache_keys():
        for secret in secrets_:
            assert secret not in key
    for record in caplog.records:
        line = f"{record.getMessage()} {record.__dict__}"
        for secret in secrets_:
            assert secret not in line, record.getMessage()


def test_a_crawl_against_meteroid_shows_neither_the_key_nor_file_tokens(logged_in, meteroid, caplog):
    caplog.set_level("DEBUG")
    starts = ["/", "/jobs/", f"/jobs/{JOB}/", f"/jobs/{JOB}/files/errors/", f"/jobs/{JOB}/files/input/"]
    _crawl(logged_in, starts, limit=10)
    wait_for_scan(JOB)  # so that the chunk links are there too
    errors = [
        "/jobs/bjob_NoSuchJob/",
        "/jobs/?page=abc",
        f"/jobs/{JOB}/?chunk=nope",
        f"/jobs/{JOB}/files/output/",
        "/no/such/page",
        "/healthz",
        "/accounts/login/",
    ]
    pages = _crawl(logged_in, starts + errors)
    statuses = {response.status_code for response, _ in pages.values()}
    assert {200, 400, 404} <= statuses
    _assert_nothing_leaks(pages, [FAKE_KEY, FILE_TOKEN], caplog)


def test_a_crawl_of_the_sandbox_shows_neither_its_key_nor_its_file_tokens(logged_in, caplog):
    caplog.set_level("DEBUG")
    key, seed = django_settings.SANDBOX_API_KEY, django_settings.SANDBOX_SEED
    jobs = [SHOWCASE[role] for role in ("customers", "hostile", "export", "whole_chunks", "processing")]
    tokens = [
        files.file_token(kind, job, api_key=key, seed=seed) for job in jobs for kind in files.FILE_KINDS
    ]
    starts = ["/jobs/"] + [f"/jobs/{job}/" for job in jobs]
    starts += [f"/jobs/{job}/files/{kind}/" for job in jobs for kind in ("errors", "input", "output")]
    pages = _crawl(logged_in, starts, limit=120)
    _assert_nothing_leaks(pages, [key, *tokens], caplog)


# --- headers -------------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_page_has_a_strict_content_security_policy(logged_in):
    for url in ("/jobs/", f"/jobs/{SANDBOX_JOB}/", "/no/such/page", "/jobs/?page=x"):
        response = logged_in.get(url)
        policy = _policy(response)
        assert policy["default-src"] == ["'none'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]
        header = response["Content-Security-Policy"]
        assert "unsafe-inline" not in header and "unsafe-eval" not in header
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_login_page_has_the_policy_too(client):
    response = client.get("/accounts/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_download_cannot_run_as_a_page(logged_in):
    response = logged_in.get(f"/jobs/{SANDBOX_JOB}/files/errors/")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_pages_have_no_markup_a_strict_policy_would_block(logged_in):
    wait_for_scan(SANDBOX_JOB)
    pages = _crawl(logged_in, ["/jobs/", f"/jobs/{SANDBOX_JOB}/", "/no/such/page"], limit=30)
    checked = 0
    for url, (response, body) in pages.items():
        if response.get("Content-Type", "").startswith("text/html"):
            assert audit(body) == [], url
            checked += 1
    assert checked > 10
    login = Client().get("/accounts/login/")
    assert audit(login.content.decode()) == []
    for name in ("400.html", "403.html", "404.html", "500.html"):
        assert audit((ROOT / "templates" / name).read_text()) == [], name


def test_over_https_cookies_are_secure_and_hsts_is_sent(client, user, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"
    # Health probes come over plain HTTP from inside the network.
    assert client.get("/healthz").status_code == 200
    login = client.post(
        "/accounts/login/", {"username": "support", "password": "correct horse battery"}, secure=True
    )
    assert login.status_code == 302
    assert login.cookies[settings.SESSION_COOKIE_NAME]["secure"]
    assert login["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_plain_http_works_on_loopback_without_secure_https(logged_in, settings):
    assert settings.SECURE_SSL_REDIRECT is False
    response = logged_in.get("/jobs/")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response


def test_check_deploy_passes_with_secure_https_and_debug_off():
    env = environment(
        DEBUG="False",
        SECURE_HTTPS="True",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="dashboard.example.com",
    )
    command = ("check", "--deploy", "--fail-level", "WARNING")
    result = manage(*command, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # Without SECURE_HTTPS the same check names what is missing.
    insecure = manage(*command, env={**env, "SECURE_HTTPS": "False"})
    assert insecure.returncode != 0
    assert "SECURE_SSL_REDIRECT" in insecure.stderr + insecure.stdout


def test_an_unexpected_error_is_a_plain_500_page_without_details(user, monkeypatch):
    def broken():
        raise RuntimeError(f"unexpected state with {FAKE_KEY}")

    monkeypatch.setattr("dashboard.views.jobs.get_gateway", broken)
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    response = browser.get("/jobs/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong in the dashboard." in html
    assert "Traceback" not in html and "RuntimeError" not in html and FAKE_KEY not in html
    assert audit(html) == []
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["X-Request-ID"]
