"""A job's failures as CSV, with the job page's filters: every matching failure, streamed."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from dashboard.analysis import Analysis
from dashboard.exports import Cell, csv_chunks
from dashboard.forms import ExportQuery
from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.records import JobDetail
from dashboard.reasons import pattern_of
from dashboard.scan import ScanStatus, stream_failures
from dashboard.search import clean_query, fold
from dashboard.views.downloads import safe_filename
from dashboard.views.job import _load_job, chunk_is_unknown, no_such_group, scanned
from dashboard.views.responses import bad_query, not_found, upstream_problem

FAILURES_HEADER = ("row", "identifier", "reason", "pattern", "chunk_id", "job_id")


def export_filename(job_id: str, *, chunk: str = "", reason: str = "", q: str = "") -> str:
    """`bjob_…-failures[-chunk-bjch_…][-reason-3f9a2c0b17de][-search-acme-gmbh].csv`."""
    name = f"{job_id}-failures"
    if chunk:
        name += f"-chunk-{chunk}"
    if reason:
        name += f"-reason-{reason}"
    if q:
        name += "-search-" + (safe_filename(q, "text")[:40].strip("._-") or "text")
    return safe_filename(name, f"{job_id}-failures") + ".csv"


@require_GET
def failures_csv(request: HttpRequest, job_id: str) -> HttpResponse:
    detail = _load_job(request, job_id)
    if isinstance(detail, HttpResponse):
        return detail
    form = ExportQuery(request.GET)
    if not form.is_valid():
        return bad_query(request, form.problems())
    chunk, reason, q = (form.cleaned_data[name] for name in ("chunk", "reason", "q"))
    scan, analysis = scanned(detail)
    if chunk_is_unknown(scan, chunk):
        return not_found(
            request,
            "This job has no failures in that chunk.",
            [f"Chunk {chunk} is not among the chunks of {detail.id} that have failures."],
        )
    if analysis is not None and _covers_all(scan):
        if reason and analysis.template(reason) is None:
            return no_such_group(request, detail, reason)
        rows = _rows_from_scan(detail, analysis, chunk, reason, q)
    else:
        # The scan is not there yet, or holds only the first failures of a very big job:
        # read Meteroid page by page instead, filtering as the rows go by.
        try:
            _, failures = stream_failures(get_gateway(), detail, chunk_id=chunk or None)
        except MeteroidError as error:
            return upstream_problem(request, error)
        rows = _rows_from_meteroid(detail, failures, reason, q)
    response = StreamingHttpResponse(
        csv_chunks(FAILURES_HEADER, rows), content_type="text/csv; charset=utf-8"
    )
    filename = export_filename(detail.id, chunk=chunk, reason=reason, q=q)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _covers_all(scan: ScanStatus) -> bool:
    return scan.result is not None and not scan.result.capped


def _rows_from_scan(
    detail: JobDetail, analysis: Analysis, chunk: str, reason: str, q: str
) -> Iterator[tuple[Cell, ...]]:
    positions = analysis.select(chunk_id=chunk, group_key=reason, query=q)
    failures = analysis.failures
    templates = analysis.reasons.templates
    failure_template = analysis.reasons.failure_template
    indices, identifiers, reasons = failures.item_indices, failures.identifiers, failures.reasons
    refs, chunk_ids = failures.chunk_refs, failures.chunk_ids
    job_id = detail.id
    for p in positions:
        yield (
            indices[p] + 1,
            identifiers[p],
            reasons[p],
            templates[failure_template[p]].text,
            chunk_ids[refs[p]],
            job_id,
        )


def _rows_from_meteroid(detail: JobDetail, failures, reason: str, q: str) -> Iterator[tuple[Cell, ...]]:
    needle = clean_query(q)
    for failure in failures:
        pattern = pattern_of(failure.reason)
        if reason and pattern.key != reason:
            continue
        if (
            needle
            and needle not in fold(failure.reason)
            and needle not in fold(failure.item_identifier or "")
        ):
            continue
        yield (
            failure.row_number,
            failure.item_identifier,
            failure.reason,
            pattern.text,
            failure.chunk_id,
            detail.id,
        )
