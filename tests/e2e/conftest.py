"""Fixtures of the browser tests (every one is here, on these): a running dashboard, one
Chromium, a context per test.

Every test of this folder is marked `browser`. Without /usr/bin/chromium they are skipped on
a developer's machine, and fail where CI_REQUIRE_SERVICES is set (CI installs Chromium).

A flow test asks for `page` (logged in) or `anonymous_page`; `new_context(**options)` makes
more (another viewport, colour scheme, no JavaScript, another dashboard's origin). Every
context of a test fails it if a request leaves the dashboard's origin, a script throws, or the
Content-Security-Policy refuses something. A new page's flows go
in a `test_<page>.py` of their own that drives `page`, checks each state it reaches with
`support.assert_accessible(page, "where")` and saves the views worth showing with
`support.screenshot(page, "name")`; `start_dashboard(**settings)` serves a copy of the set-up
with other settings when a flow needs them (another clock, another Meteroid). Every dashboard
has its index worker beside it, on the same database and settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.e2e.server import Dashboard, Setup, prepare
from tests.e2e.support import CHROMIUM, LAUNCH, log_in, same_origin

# What a page shows of a job's index comes once the worker, another process, has read it:
# on a loaded machine that is seconds, not the 5 s Playwright gives an expectation by default.
expect.set_options(timeout=15_000)

DESKTOP = {"width": 1280, "height": 900}
WATCH_POLICY = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportPolicyViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def pytest_collection_modifyitems(config, items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(**LAUNCH)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def setup(tmp_path_factory: pytest.TempPathFactory, playwright: Playwright) -> Setup:
    """The dashboard prepared as `make demo` prepares it, in a folder of its own (after the
    Chromium check: nothing to prepare when the tests are skipped)."""
    return prepare(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="package")
def dashboard(setup: Setup) -> Iterator[Dashboard]:
    """The dashboard on its built-in sandbox, served by gunicorn for the whole package."""
    with Dashboard(setup) as server:
        yield server


@pytest.fixture
def start_dashboard(setup: Setup, login_state: dict, tmp_path: Path) -> Iterator[Callable[..., Dashboard]]:
    """Start another dashboard (and its worker, unless `worker=False`) with other settings;
    stopped after the test. With settings of its own it serves a copy of the set-up (its
    logins and sessions, `login_state`'s included), so that its worker alone takes its scans."""
    started: list[Dashboard] = []

    def start(
        name: str = "dashboard", *, port: int | None = None, worker: bool = True, **env: str
    ) -> Dashboard:
        own = setup.copy(tmp_path / f"{name}-{len(started)}", **env) if env else setup
        server = Dashboard(own, name=name, port=port, worker=worker).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="package")
def login_state(browser: Browser, dashboard: Dashboard, setup: Setup) -> dict:
    """Cookies of a logged-in session, made once through the login form."""
    context = browser.new_context(base_url=dashboard.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    log_in(page, setup.username, setup.password)
    page.wait_for_url("**/jobs/")
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def new_context(
    browser: Browser, dashboard: Dashboard, login_state: dict
) -> Iterator[Callable[..., BrowserContext]]:
    """Make a browser context (logged in unless `logged_in=False`), guarded against requests
    that leave the dashboard; closed after the test."""
    contexts: list[BrowserContext] = []
    foreign: list[str] = []
    broken: list[str] = []  # script errors, and what the Content-Security-Policy refused

    def make(*, logged_in: bool = True, origin: str | None = None, **options) -> BrowserContext:
        origin = origin or dashboard.url
        options.setdefault("viewport", DESKTOP)
        options.setdefault("locale", "en-US")
        options.setdefault("timezone_id", "UTC")
        context = browser.new_context(
            base_url=origin, storage_state=login_state if logged_in else None, **options
        )
        context.on(
            "request",
            lambda request: None if same_origin(request.url, origin) else foreign.append(request.url),
        )
        context.on(
            "weberror", lambda error: broken.append(f"{error.page.url if error.page else ''}: {error.error}")
        )
        context.on(
            "console",
            lambda message: (
                broken.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        # What the policy refused, reported from the page itself as it happens (Chromium's
        # own console line is not promised for every kind of violation).
        context.expose_binding(
            "reportPolicyViolation", lambda source, text: broken.append(f"{source['page'].url}: {text}")
        )
        context.add_init_script(WATCH_POLICY)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not foreign, f"requests left the dashboard: {foreign}"
    assert not broken, f"script errors or CSP violations: {broken}"


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A logged-in page on a desktop-sized window."""
    return new_context().new_page()


@pytest.fixture
def anonymous_page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page of a fresh browser that has never logged in."""
    return new_context(logged_in=False).new_page()
