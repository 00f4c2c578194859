"""The part of a user's text that a search matched, marked with `<mark>`.

It composes with the one rule for showing user data (`visible`: control and bidirectional
characters written out) and with escaping: the text is cut into pieces at the matches on its
own characters, and each piece is made visible and escaped on its own, so that a match can
never open or close markup, and a `<mark>` holds exactly the characters matched.

Search compares case-folded text (`search.fold`), and folding can change a text's length
(`ß` folds to `ss`): matches are found in the folded text and mapped back to the characters
they came from.
"""

from __future__ import annotations

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from dashboard.failures.search import fold
from dashboard.templatetags.dashboard_tags import long_text, visible

Span = tuple[int, int]


def hit_spans(text: str, needle: str) -> list[Span]:
    """Where the folded `needle` occurs in `text`, as [start, end) spans of `text`'s own
    characters, in order and apart (touching matches are joined)."""
    if not needle or not text:
        return []
    if text.isascii():
        folded, owner = text.lower(), None
    else:
        pieces = [fold(ch) for ch in text]
        folded = "".join(pieces)
        owner = [i for i, piece in enumerate(pieces) for _ in piece]
    spans: list[Span] = []
    at = folded.find(needle)
    while at >= 0:
        last = at + len(needle) - 1
        start, end = (at, last + 1) if owner is None else (owner[at], owner[last] + 1)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
        at = folded.find(needle, at + len(needle))
    return spans


def _marked(text: str, spans: list[Span], stop: int) -> str:
    """`text[:stop]`, made visible and escaped piece by piece, matches in `<mark>`."""
    out: list[str] = []
    last = 0
    for start, end in spans:
        if start >= stop:
            break
        out.append(conditional_escape(visible(text[last:start])))
        out.append(format_html('<mark class="hit">{}</mark>', visible(text[start : min(end, stop)])))
        last = min(end, stop)
    out.append(conditional_escape(visible(text[last:stop])))
    return "".join(out)


def highlighted(value: str | None, needle: str, limit: int) -> SafeString:
    """`long_text(value, limit)` with the matches of the folded `needle` marked: whole when
    short, else its start with the whole of it one click away (the summary says when the
    matches are all beyond the start)."""
    text = value or ""
    spans = hit_spans(text, needle)
    if not spans:
        return long_text(value, limit)
    shown = visible(text)
    if len(shown) <= limit:
        return mark_safe(_marked(text, spans, len(text)))  # noqa: S308 (escaped piece by piece)
    # The preview cuts where `long_text` does. `visible` may lengthen the text (a bidi control
    # becomes `⟨U+202E⟩`), so the cut is found on the original characters.
    keep = len(Truncator(shown).chars(limit)) - 1
    stop, length = 0, 0
    while stop < len(text) and length + len(visible(text[stop])) <= keep:
        length += len(visible(text[stop]))
        stop += 1
    later = "" if spans[0][0] < stop else " (the match is further on)"
    return format_html(
        '<div class="long"><span class="preview">{}…</span> <details><summary>'
        '<span class="when-closed">Show all {} characters{}</span><span class="when-open">Show less</span>'
        '</summary><div class="whole">{}</div></details></div>',
        mark_safe(_marked(text, spans, stop)),  # noqa: S308 (escaped piece by piece)
        f"{len(shown):,}",
        later,
        mark_safe(_marked(text, spans, len(text))),  # noqa: S308 (escaped piece by piece)
    )
