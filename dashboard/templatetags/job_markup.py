"""Markup of the job pages' repeated parts, written in Python: the rows of the failures table,
the options of the chunk and reason filters, and reason patterns.

They repeat tens to hundreds of times per page (a job can have 600 chunks with failures),
where each variable and tag of the template language costs microseconds: written here they
cost a tenth as much. Every value is escaped by `format_html`, as a template would.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from dashboard.failures.chunks import ChunkSummary
from dashboard.failures.highlight import highlighted
from dashboard.failures.reasons import GroupSummary, Template, mask_of
from dashboard.pages.failure_table import FailureRow
from dashboard.templatetags.dashboard_tags import long_text

register = template.Library()

IDENTIFIER_PREVIEW = 80
REASON_PREVIEW = 280
OPTION_TEXT = 90
NO_REASON = "no reason given"  # shown for a failure Meteroid gave no (readable) reason for


@register.simple_tag
def failure_rows(rows: Iterable[FailureRow], needle: str = "") -> SafeString:
    """The `<tr>`s of the failures table: row number (a link to the row), identifier, reason
    with a link to its group, and the chunk, once per run of rows from the same chunk. With a
    search's (folded) `needle`, what it matched is marked, and an exact match says so."""
    return mark_safe("".join(_row(r, needle) for r in rows))  # noqa: S308 (each row is format_html's)


def _text(value: str, needle: str, limit: int) -> SafeString:
    return highlighted(value, needle, limit) if needle else long_text(value, limit)


# One tab stop per row: the row's number. Its other links (the identifier's and reason's
# "show all", its reason group, its chunk) stay links for the mouse and screen readers, and
# the keyboard reaches them with the arrow keys (static/js/focus.js) or, without
# scripts, through the reason and chunk filters; Tab goes from row to row.
NOT_A_TAB_STOP = ' tabindex="-1"'  # written into the markup below


def _row(row: FailureRow, needle: str = "") -> str:
    if row.identifier_unreadable:
        identifier = mark_safe('<i class="unreadable">unreadable</i>')
    elif row.identifier is None:
        identifier = mark_safe("<i>none</i>")
    else:
        identifier = _text(row.identifier, needle, IDENTIFIER_PREVIEW)
    reason = (
        _text(row.reason, needle, REASON_PREVIEW)
        if row.reason
        else format_html('<i class="unreadable">{}</i>', NO_REASON)
    )
    if row.exact:
        identifier = format_html('{} <strong class="exact-match">exact match</strong>', identifier)
    notes = (
        format_html(
            '<ul class="record-notes">{}</ul>', format_html_join("", "<li>{}</li>", ((n,) for n in row.notes))
        )
        if row.notes
        else ""
    )
    chunk = ""
    if row.chunk_span:
        span = format_html(' rowspan="{}"', row.chunk_span) if row.chunk_span > 1 else ""
        if row.whole_chunk:
            # No chunk id: Meteroid lists none for the rows of a chunk that failed as a whole.
            chunk = format_html(
                '<td class="chunk whole"{}><a href="{}" tabindex="-1">{}</a> <small>failed as a whole, no chunk id</small></td>',
                span,
                row.chunk_link,
                row.chunk_rows,
            )
        elif not row.chunk_id:
            chunk = format_html('<td class="chunk"{}><i class="unreadable">unreadable</i></td>', span)
        else:
            # What a chunk is to a person: its rows in the file; its id second, for Meteroid.
            chunk = format_html(
                '<td class="chunk"{}><a href="{}" tabindex="-1">{}</a> <small class="mono">{}</small></td>',
                span,
                row.chunk_link,
                row.chunk_rows or row.chunk_id,
                row.chunk_id if row.chunk_rows else "",
            )
    target = mark_safe(' class="is-target" aria-current="true"') if row.is_target else ""
    number = format_html('<a href="{}">{}</a>', row.link, row.number_text) if row.link else row.number_text
    return format_html(
        '<tr id="{}"{}><td class="num">{}</td><td class="ident">{}</td>'
        '<td class="reason">{}{}{}</td>{}</tr>\n',
        row.anchor,
        target,
        number,
        _off_tab(identifier),
        _off_tab(reason),
        _similar(row),
        notes,
        chunk,
    )


def _off_tab(cell: SafeString) -> SafeString:
    # The "show all" of a long text is a <summary>; user text in it is escaped, so the only
    # literal "<summary>" is the one long_text wrote.
    return mark_safe(cell.replace("<summary>", f"<summary{NOT_A_TAB_STOP}>"))  # noqa: S308


def _similar(row: FailureRow) -> str:
    """The link to the row's reason group, saying how many rows it holds when known."""
    if not row.similar:
        return ""
    return format_html(' <a class="similar" href="{}" tabindex="-1">{}</a>', row.similar, row.similar_words)


@register.simple_tag
def chunk_options(chunks: Iterable[ChunkSummary], selected: str) -> SafeString:
    """An `<option>` per chunk with failures: its rows, failure count and id."""
    return format_html_join(
        "",
        '<option value="{}"{}>{} · {}</option>',
        ((c.chunk_id, _selected(c.chunk_id == selected), c.label, c.name) for c in chunks),
    )


@register.simple_tag
def group_options(groups: Iterable[GroupSummary], selected: str) -> SafeString:
    """An `<option>` per reason group: its pattern (cut short) and count."""
    return format_html_join(
        "",
        '<option value="{}"{}>{} · {}</option>',
        ((g.key, _selected(g.key == selected), _option_text(g.template), f"{g.count:,}") for g in groups),
    )


def _selected(yes: bool) -> SafeString:
    return mark_safe(" selected") if yes else mark_safe("")


@lru_cache(maxsize=4096)
def _option_text(pattern: Template) -> str:
    return Truncator(pattern.words).chars(OPTION_TEXT) if pattern.text else f"({NO_REASON})"


@register.filter
def pattern(value: Template) -> SafeString:
    """A reason pattern as a person reads it: its words as text, each masked value as a mark
    that says in words what it held (`a customer id`), with the machine form on hover."""
    return _pattern(value)


@lru_cache(maxsize=4096)
def _pattern(value: Template) -> SafeString:
    if not value.text:
        # The failures Meteroid gave no reason for (or none that could be read) group here.
        return format_html('<i class="unreadable">{}</i>', NO_REASON)
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html(
                    '<mark class="mask" title="{}: {}">{}</mark>', slot.label, mask_of(slot.kind), text
                )
                if slot
                else text,
            )
            for text, slot in value.word_segments()
        ),
    )


@register.filter
def marked_identifier(value: str | None, needle: str) -> SafeString:
    """An identifier shown with what the search `needle` (folded) matched in it marked."""
    return _text(value, needle, IDENTIFIER_PREVIEW) if value is not None else mark_safe("<i>none</i>")


@register.filter
def marked_reason(value: str, needle: str) -> SafeString:
    """A reason shown with what the search `needle` (folded) matched in it marked."""
    return _text(value, needle, REASON_PREVIEW)
