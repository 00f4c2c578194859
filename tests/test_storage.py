"""Static files: hashed names and gzip copies once collected, plain names before."""

from __future__ import annotations

import re
from pathlib import Path

from django.templatetags.static import static

from tests.support.django_process import checked, environment, python
from tests.support.paths import ROOT

LINK = "from django.templatetags.static import static; print(static('css/dashboard.css'))"


def _django(code: str, static_root: Path) -> str:
    return checked(python(code, env=environment(STATIC_ROOT=str(static_root)), timeout=120)).strip()


def test_a_file_the_manifest_does_not_know_keeps_its_plain_name():
    assert static("js/added-since-collectstatic.js") == "/static/js/added-since-collectstatic.js"


def test_collectstatic_writes_hashed_compressed_files_that_pages_then_link(tmp_path):
    assert _django(LINK, tmp_path) == "/static/css/dashboard.css"
    _django(
        "from django.core.management import call_command; call_command('collectstatic', verbosity=0)",
        tmp_path,
    )
    assert (tmp_path / "staticfiles.json").exists()
    hashed = _django(LINK, tmp_path)
    assert re.fullmatch(r"/static/css/dashboard\.[0-9a-f]{12}\.css", hashed)
    assert (tmp_path / hashed.removeprefix("/static/")).with_suffix(".css.gz").exists()
    assert (tmp_path / "vendor" / "htmx.min.js.gz").exists()


def test_a_files_url_is_worked_out_once(monkeypatch):
    from django.contrib.staticfiles.storage import staticfiles_storage

    from dashboard.storage import StaticStorage

    first = static("js/memo-check.js")

    def refuse(self, name):
        raise AssertionError("worked out again")

    monkeypatch.setattr(StaticStorage, "stored_name", refuse)
    assert static("js/memo-check.js") == first
    assert isinstance(staticfiles_storage._wrapped, StaticStorage)


def test_the_tests_have_a_static_root_of_their_own_whatever_the_checkout_holds():
    """`make demo` collects into the checkout's staticfiles/ (hashed names, a manifest); the
    tests must not depend on that: their static root is a folder of their own, with nothing
    collected, passed on to the dashboards they start as processes."""
    from django.conf import settings

    root = Path(settings.STATIC_ROOT)
    assert not root.is_relative_to(ROOT)
    assert not (root / "staticfiles.json").exists()
    started = python("from django.conf import settings; print(settings.STATIC_ROOT)", env=environment())
    assert checked(started).strip() == str(root)
    assert settings.WHITENOISE_USE_FINDERS
    assert static("css/dashboard.css") == "/static/css/dashboard.css"
