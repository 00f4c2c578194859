"""Job pages kept rendered in the cache: what is kept, under which key, and that a page
served from it is the page that would have been rendered, with its per-person parts fresh."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dashboard.index.status import ScanStatus, scan_status
from dashboard.meteroid.gateway import get_gateway
from dashboard.pages import rendered
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, wait_for_scan

CUSTOMERS = SHOWCASE["customers"]


def _csrf_free(html: str) -> str:
    return re.sub(r'(name="csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"', r"\1…", html)


@pytest.fixture
def ended(db):
    """An ended job and its finished scan."""
    status = wait_for_scan(CUSTOMERS)
    assert status.state == "done"
    return get_gateway().job(CUSTOMERS), status


# --- keys ------------------------------------------------------------------------------------


def test_only_ended_jobs_whose_scan_is_done_are_kept(ended):
    job, scan = ended
    assert rendered.key_for(job, scan, "page=2", "page")
    assert rendered.key_for(replace(job, status="PROCESSING"), scan, "page=2", "page") is None
    for other in (ScanStatus("running", fetched=3, total=9), ScanStatus("failed", message="x")):
        assert rendered.key_for(job, other, "page=2", "page") is None
    assert rendered.key_for(job, replace(scan, refreshing=True), "page=2", "page") is None


def test_the_key_names_the_job_the_scan_the_view_and_the_release(ended, monkeypatch):
    job, scan = ended
    key = rendered.key_for(job, scan, "page=2", "page")
    assert key == rendered.key_for(job, scan, "page=2", "page")
    others = {
        rendered.key_for(job, scan, "page=3", "page"),
        rendered.key_for(job, scan, "page=2", "failures"),
        rendered.key_for(replace(job, failed_items=job.failed_items + 1), scan, "page=2", "page"),
        rendered.key_for(job, replace(scan, result=replace(scan.result, finished_at=1.0)), "page=2", "page"),
    }
    monkeypatch.setattr(rendered, "release", lambda: "another-release")
    others.add(rendered.key_for(job, scan, "page=2", "page"))
    assert key not in others and len(others) == 5


def test_the_key_follows_the_jobs_state_not_its_file_tokens(ended):
    job, scan = ended
    key = rendered.key_for(job, scan, "page=2", "page")
    fresh = replace(
        job, input_file_url=f"{job.input_file_url or ''}&fresh=1", error_csv_url="/files/x?token=new"
    )
    assert rendered.key_for(fresh, scan, "page=2", "page") == key
    # Retried and ended again: another state, another page.
    again = replace(job, status="FAILED", completed_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert rendered.key_for(again, scan, "page=2", "page") != key


def test_a_job_without_failures_keeps_one_key_across_views():
    job = get_gateway().job(SHOWCASE["no_failures"])
    first, second = scan_status(job), scan_status(job)
    assert rendered.key_for(job, first, "", "page") == rendered.key_for(job, second, "", "page")


def test_the_release_digest_covers_code_and_templates(tmp_path):
    assert re.fullmatch(r"[0-9a-f]{16}", rendered.release())
    (code_root, code_glob), (templates_root, templates_glob) = rendered.sources()
    assert rendered.release() == rendered.digest_of(rendered.sources())
    # The same digest over a copy of this release, then over that copy changed file by file.
    shutil.copytree(code_root, tmp_path / "code", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(templates_root, tmp_path / "templates")
    copy = ((tmp_path / "code", code_glob), (tmp_path / "templates", templates_glob))
    digests = [rendered.digest_of(copy)]
    assert digests[0] == rendered.release()
    template = tmp_path / "templates" / "jobs" / "job.html"
    template.write_text(template.read_text() + "<!-- changed -->")
    digests.append(rendered.digest_of(copy))
    module = tmp_path / "code" / "templatetags" / "dashboard_tags.py"
    module.write_text(module.read_text() + "\n# changed\n")
    digests.append(rendered.digest_of(copy))
    (tmp_path / "templates" / "new.html").write_text("new")
    digests.append(rendered.digest_of(copy))
    module.rename(module.with_name("renamed.py"))
    digests.append(rendered.digest_of(copy))
    assert len(set(digests)) == len(digests), digests


# --- pages -----------------------------------------------------------------------------------


def _no_failures_read(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the page of failures was read")

    monkeypatch.setattr(type(get_gateway()), "failures", refuse)


@pytest.mark.parametrize("headers", [{}, htmx("failures")], ids=["page", "fragment"])
def test_a_view_seen_before_comes_rendered_and_the_same(logged_in, ended, monkeypatch, headers):
    url = f"/jobs/{CUSTOMERS}/?page=2&chunk={ended[1].result.chunks[0].chunk_id}"
    first = logged_in.get(url, **headers)
    _no_failures_read(monkeypatch)
    again = logged_in.get(url, **headers)
    assert first.status_code == again.status_code == 200
    assert _csrf_free(again.content.decode()) == _csrf_free(first.content.decode())
    assert "Failures 26–" in again.content.decode()


def test_what_is_per_person_stays_out_of_the_kept_page(client, django_user_model, ended):
    url = f"/jobs/{CUSTOMERS}/?page=2"
    pages = []
    for name in ("ana", "ben"):
        client.force_login(django_user_model.objects.create_user(name))
        pages.append(client.get(url).content.decode())
    assert '<span class="who">ana</span>' in pages[0] and '<span class="who">ben</span>' in pages[1]
    tokens = [re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page) for page in pages]
    assert len(tokens[0]) == 3 and not set(tokens[0]) & set(tokens[1])  # log out, refresh, rescan
    assert _csrf_free(pages[0]).replace("ana", "ben") == _csrf_free(pages[1])


def test_a_row_link_is_kept_with_its_row_marked(logged_in, ended):
    page = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2").content.decode()
    row = re.findall(r'<tr id="row-(\d+)"', page)[3]
    url = f"/jobs/{CUSTOMERS}/?row={row}"
    first = logged_in.get(url).content.decode()
    again = logged_in.get(url).content.decode()
    assert f'<tr id="row-{row}" class="is-target" aria-current="true">' in first
    assert _csrf_free(again) == _csrf_free(first)
    other = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2").content.decode()
    assert 'class="is-target"' not in other


def test_pages_of_an_active_job_are_rendered_every_time(logged_in, monkeypatch):
    job = SHOWCASE["processing"]
    assert logged_in.get(f"/jobs/{job}/").status_code == 200
    monkeypatch.setattr(rendered, "get", lambda key: pytest.fail("an active job's page was looked up"))
    monkeypatch.setattr(rendered, "put", lambda *a: pytest.fail("an active job's page was kept"))
    assert logged_in.get(f"/jobs/{job}/").status_code == 200
    assert logged_in.get(f"/jobs/{job}/?page=2", **htmx("failures")).status_code == 200


def test_a_page_whose_failures_could_not_be_read_is_not_kept(logged_in, ended, settings, monkeypatch):
    kept = []
    monkeypatch.setattr(rendered, "put", lambda key, html, job: kept.append(key))
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?page=7")
    assert response.status_code == 502 and kept == []
    settings.SANDBOX_RATE_500 = 0.0
    assert logged_in.get(f"/jobs/{CUSTOMERS}/?page=7").status_code == 200 and len(kept) == 1


def test_an_entry_of_another_format_is_ignored(logged_in, ended):
    from django.core.cache import cache

    job, scan = ended
    key = rendered.key_for(job, scan, "page=2", "page")
    cache.set(key, "<p>not an entry</p>", 60)
    assert rendered.get(key) is None
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2").content.decode()
    assert "not an entry" not in html and "Failures 26–50" in html


def test_a_page_made_from_an_old_copy_is_not_kept_and_keeps_its_banner(
    logged_in, ended, settings, monkeypatch
):
    from tests.support.helpers import later

    url = f"/jobs/{CUSTOMERS}/?page=4"
    logged_in.get(f"/jobs/{CUSTOMERS}/")  # the job's detail, fresh
    kept = []
    monkeypatch.setattr(rendered, "put", lambda key, html, job: kept.append(key))
    settings.METEROID_CACHE_TERMINAL_SECONDS = 1
    assert logged_in.get(url).status_code == 200 and len(kept) == 1  # fresh: kept
    settings.SANDBOX_RATE_500 = 1.0
    later(monkeypatch, 2)
    for _ in range(2):
        html = logged_in.get(url).content.decode()
        assert "Meteroid did not answer, so this shows a copy fetched" in html
        assert "Failures 76–100" in html
    assert len(kept) == 1


def test_a_process_keeps_the_pages_it_served_last_in_memory(ended, monkeypatch):
    from django.core.cache import cache

    job, scan = ended
    key = rendered.key_for(job, scan, "page=9", "page")
    rendered.put(key, "<p>kept</p>", job)
    monkeypatch.setattr(cache, "get", lambda *a, **k: pytest.fail("the shared cache was asked"))
    assert rendered.get(key) == "<p>kept</p>"


def test_a_copy_from_the_shared_cache_expires_with_it(ended, clock):
    from django.core.cache import cache

    job, scan = ended
    key = rendered.key_for(job, scan, "page=9", "page")
    cache.set(key, (rendered.FORMAT, clock.time() + 20, "<p>shared</p>"), 60)
    assert rendered.get(key) == "<p>shared</p>"
    clock.advance(19)
    assert rendered.local.get(key) == "<p>shared</p>"  # kept here for what the entry had left
    clock.advance(2)
    assert rendered.local.get(key) is None
    cache.set(key, (rendered.FORMAT, clock.time() - 1, "<p>shared</p>"), 60)
    assert rendered.get(key) is None


def test_the_memory_kept_has_a_bound_and_drops_the_least_recent_first(ended, monkeypatch):
    from django.core.cache.backends.locmem import LocMemCache

    memory = LocMemCache(
        "test-rendered", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 2, "CULL_FREQUENCY": 2}}
    )
    monkeypatch.setattr(rendered, "local", memory)
    job, scan = ended
    keys = [rendered.key_for(job, scan, f"page={n}", "page") for n in (9, 10, 11)]
    for key in keys[:2]:
        rendered.put(key, key, job)
    assert rendered.get(keys[0]) == keys[0]  # now the most recent
    rendered.put(keys[2], keys[2], job)
    assert (memory.get(keys[0]), memory.get(keys[1]), memory.get(keys[2])) == (keys[0], None, keys[2])
