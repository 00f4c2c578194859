"""What the browser tests share besides fixtures: Chromium's launch options, logging in,
the accessibility check, screenshots and a few page measurements."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.support.paths import ROOT

CHROMIUM = "/usr/bin/chromium"
# Headless Debian Chromium, kept off the network: no component updates, sync, safe
# browsing lists or first-run pings. No sandbox: CI runs as root.
LAUNCH = {
    "executable_path": CHROMIUM,
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ],
}
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")


def log_in(page: Page, username: str, password: str) -> None:
    """Fill in and send the login form the page shows."""
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def same_origin(url: str, origin: str) -> bool:
    """Whether a request stays on the dashboard (data: and blob: URLs never leave the page)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return f"{parts.scheme}://{parts.netloc}" == origin


def axe_violations(page: Page, rules: list[str] | None = None) -> list[dict]:
    """The serious and critical accessibility violations axe-core finds in the page as it is
    (with `rules`, only those rules run)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated by the test driver rather than added as a <script>: the page's own
        # Content-Security-Policy then has no say, and the page stays as it was.
        page.evaluate("() => {" + AXE.read_text() + "\n}")
    options = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    results = page.evaluate(
        "options => axe.run(document, options).then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))",
        options,
    )
    return [v for v in results if v["impact"] in BLOCKING_IMPACTS]


# The dark scheme changes colours only: the rules about colour are the ones to run again.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def assert_accessible(page: Page, where: str) -> None:
    """No serious or critical axe-core violation in the page, in the light colour scheme and
    (its colour rules) in the dark one."""
    page.emulate_media(color_scheme="light")
    violations = axe_violations(page)
    assert not violations, f"{where} (light): {json.dumps(violations, indent=1)}"
    page.emulate_media(color_scheme="dark")
    violations = axe_violations(page, COLOUR_RULES)
    page.emulate_media(color_scheme="light")
    assert not violations, f"{where} (dark): {json.dumps(violations, indent=1)}"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save what the window shows (or the whole page) under test-artifacts/screenshots/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.mouse.move(0, 0)  # no row left highlighted by the last click
    page.screenshot(path=str(path), full_page=full_page)
    return path


def page_overflow(page: Page) -> int:
    """By how many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def mark_page(page: Page) -> None:
    """Leave marks that a full page load would wipe out: one on `window`, one on the header."""
    page.evaluate("window.__sameDocument = true; document.querySelector('header.top').dataset.mark = 'kept'")


def assert_same_document(page: Page) -> None:
    """The marks of `mark_page` are still there: htmx swapped a part, the page was not reloaded."""
    assert page.evaluate("window.__sameDocument === true"), "the page was loaded anew"
    expect(page.locator("header.top")).to_have_attribute("data-mark", "kept")


def table_rows(page: Page, table: str) -> list[str]:
    """The text of each body row of a table (by CSS selector)."""
    return page.locator(f"{table} tbody tr").all_inner_texts()


def query_of(page: Page) -> str:
    """The query string of the page's address, without the `?`."""
    return urlsplit(page.url).query


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def first_number(text: str) -> int:
    """The first number in a text, thousands separators allowed (`12,345 of 40,000` → 12345)."""
    match = re.search(r"\d[\d,]*", text)
    assert match, f"no number in {text!r}"
    return int(match[0].replace(",", ""))
