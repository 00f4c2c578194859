"""Failure reasons: normalised into patterns, and failures grouped by pattern.

Meteroid writes reasons as free text with the row's own values inside
(`Customer 'cus_4fQ2…' not found`). To see that 31,200 failures share one cause, each reason
is parameterised the way error trackers fingerprint messages: what varies is masked, the words
are kept.

- Quoted values become `'…'`, or `'<id:cus>'` when they hold a Meteroid id (the prefix says
  what kind of thing was missing); unquoted ids, UUIDs, e-mails, URLs, times, dates, long hex
  and numbers are masked too (`<uuid>`, `<n>`, …).
- The CSV parser's own position (`record 12 (line: 13, byte: 400): `) is dropped: the row
  number already says where. Column numbers (`field 3`) are kept: they say what to fix.
- Whitespace runs become one space; control and bidi characters are written out visibly
  (`⟨U+202E⟩`, and C0 controls as their control pictures, as pages show a reason itself), so
  that a pattern never reorders or hides text on screen.

A pattern's key is a short hash of `NORMALISER_VERSION` and its shape: stable across processes
and safe in a URL. Changing any rule here must bump `NORMALISER_VERSION`, so that keys made by
the old rules never match groups made by the new ones.

Everything here is pure: no Django, no HTTP.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from dashboard.failures.text import visible
from dashboard.meteroid.pickling import PickledByFields

if TYPE_CHECKING:
    from dashboard.index.reading import IndexedGrouping

NORMALISER_VERSION = 1
KEY_LENGTH = 12
KEY_RE = re.compile(r"^[0-9a-f]{12}$")
# Reasons are read this far: a longer one is cut, and its pattern says so. It bounds the cost
# of one reason, whatever a CSV cell held.
MAX_REASON_CHARS = 4000
MAX_QUOTED_CHARS = 2500
TRUNCATED = " […]"
TOP_VALUES = 5  # masked values listed per slot of a group
EXAMPLES = 3  # example failures kept per group

# Masked values stand in the working text as one private-use character each (U+E000 + n),
# which no later rule matches; real private-use characters in a reason are replaced first.
_BASE = 0xE000
_PRIVATE = re.compile("[\ue000-\uf8ff]")

# A quote opens after a non-word character (so `O'Brien` or `can't` do not) and closes
# before a space, punctuation or the end, so a quoted value may itself hold quotes.
_QUOTED = re.compile(
    r"""(['"])(?<![\w'"`]['"])((?s:.{0,MAX}?))\1(?=[\s),.;:!?\]}>]|$)""".replace("MAX", str(MAX_QUOTED_CHARS))
)
_TYPOGRAPHIC = re.compile(r"‘([^’]{0,MAX})’|“([^”]{0,MAX})”".replace("MAX", str(MAX_QUOTED_CHARS)))
# The csv crate's position of a record: the row number says the same, so it is dropped.
_CSV_POSITION = re.compile(r"record \d+ \(line: \d+, byte: \d+\)(?:: ?)?")
_URL = re.compile(r"\b(?:https?|ftp)://[^\s'\"<>]+")
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
# Meteroid ids: a lowercase prefix, `_`, and base62 with at least one digit or capital
# (which tells `cus_4fQ2x…` from a column name like `billing_period`).
_ID = re.compile(r"[a-z](?<![\w][a-z])([a-z0-9]{1,11})_(?=[0-9A-Za-z]*[0-9A-Z])[0-9A-Za-z]{6,32}(?!\w)")
# Quoted, an id may be short (`'cus_4fQ2'`): the quotes already say where it ends.
_ID_VALUE = re.compile(r"([a-z][a-z0-9]{1,11})_(?=[0-9A-Za-z]*[0-9A-Z])[0-9A-Za-z]{3,32}")
_UUID_VALUE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMAIL_VALUE = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_URL_VALUE = re.compile(r"(?:https?|ftp)://\S+")
# Values with digits, in one pass: a UUID, a time, a date or a long hex number (each starting
# with a hex digit that follows no word character), else a number standing alone. A column
# number (`field 3`, `column 3`) says what to fix and is kept; serde_json's
# `line 1 column 26` is a position inside a cell, masked.
_VALUES = re.compile(
    r"""[0-9a-fA-F](?<![\w.\-][0-9a-fA-F])(?:
        (?P<uuid>[0-9a-fA-F]{7}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
      | (?P<time>\d{3}-\d{2}-\d{2}[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)
      | (?P<date>\d{3}-\d{2}-\d{2})
      | (?P<hex>(?=[0-9a-fA-F]{0,63}\d)[0-9a-fA-F]{15,})
    )(?![\w:\-])
  | \d(?<![\w.\-]\d)(?<!\bfield\ \d)(?<!(?<!\d\ )\bcolumn\ \d)(?P<number>\d*(?:\.\d+)?)(?![\w\-])""",
    re.X,
)
_DIGIT = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
# Controls that break or space a line become a space in a pattern; every other character
# nobody sees is drawn as the one rule for user text draws it (`dashboard.failures.text`).
_WHITESPACE_CONTROLS = re.compile(r"[\t\n\r\x0b\x0c]")
_MAX_SHAPES = 100_000
_BLANK = "\ue000"  # stands for a quoted value in the text around it (never in a reason's text)
_CLOSERS = frozenset("),.;:!?]}>")
# Up to this many quote characters the regex is quick; beyond, the linear scan is used.
_FEW_QUOTES = 8

KIND_MASKS = {
    "quoted": "…",
    "number": "<n>",
    "time": "<time>",
    "date": "<date>",
    "uuid": "<uuid>",
    "email": "<email>",
    "url": "<url>",
    "hex": "<hex>",
}
KIND_NAMES = {
    "quoted": "value",
    "number": "number",
    "time": "time",
    "date": "date",
    "uuid": "UUID",
    "email": "e-mail",
    "url": "URL",
    "hex": "hex value",
}
# How a mask reads for a person (`Customer a customer id not found`): the pattern's text, its
# key and the CSV exports keep the machine form (`<id:cus>`), which tools and links rely on.
KIND_WORDS = {
    "quoted": "a value",
    "number": "a number",
    "time": "a time",
    "date": "a date",
    "uuid": "a UUID",
    "email": "an e-mail address",
    "url": "a web address",
    "hex": "a code",
}
# Meteroid's id prefixes, as a person names what the id is of.
ID_WORDS = {
    "cus": "a customer id",
    "plan": "a plan id",
    "sub": "a subscription id",
    "evt": "an event id",
    "inv": "an invoice id",
    "prod": "a product id",
    "price": "a price id",
    "bjob": "a batch job id",
    "bjch": "a chunk id",
}
# Words that say little about the value next to them; the label looks further.
_STOPWORDS = frozenset(
    {
        "a", "an", "and", "as", "at", "by", "for", "from", "has", "have", "in", "into", "is", "of",
        "on", "or", "than", "that", "the", "to", "was", "were", "with", "within",
    }
)  # fmt: skip
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z_]{1,30})\W{0,3}$")
_WORD_AFTER = re.compile(r"^\W{0,3}([A-Za-z][A-Za-z_]{1,30})")


def mask_of(kind: str) -> str:
    """How a masked value of `kind` reads in a pattern: `…`, `<n>`, `<id:cus>`."""
    if kind.startswith("id:"):
        return f"<{kind}>"
    return KIND_MASKS[kind]


def mask_words(kind: str) -> str:
    """How a masked value of `kind` reads for a person: `a number`, `a customer id`."""
    if kind.startswith("id:"):
        return ID_WORDS.get(kind[3:], f"an id ({kind[3:]}_…)")
    return KIND_WORDS.get(kind, "a value")


@dataclass(frozen=True, slots=True)
class Slot(PickledByFields):
    """One masked place of a pattern: what kind of value it held, and a word for it."""

    kind: str  # "quoted", "number", "id:cus", …
    label: str  # "plan", "version", "customer id", …


@dataclass(frozen=True, slots=True)
class Template(PickledByFields):
    """A pattern without its values: what every reason of one group shares."""

    key: str  # short hash of the normaliser version and the shape: a URL-safe group key
    text: str  # the pattern as people read it: `Customer '<id:cus>' not found`
    parts: tuple[str | int, ...]  # literal text, and slot numbers where values were masked
    slots: tuple[Slot, ...]

    def segments(self) -> list[tuple[str, Slot | None]]:
        """(text, slot) pairs for display: literal text has no slot; a mask has its slot."""
        return [
            (part, None) if isinstance(part, str) else (mask_of(self.slots[part].kind), self.slots[part])
            for part in self.parts
        ]

    def word_segments(self) -> list[tuple[str, Slot | None]]:
        """(text, slot) pairs as a person reads them: each mask in words (`a customer id`),
        without the quotes that held the value (the mark around the words shows where)."""
        parts = list(self.parts)
        out: list[tuple[str, Slot | None]] = []
        for i, part in enumerate(parts):
            if isinstance(part, str):
                closes = i + 2 >= len(parts) or str(parts[i + 2])[:1] == part[-1:]
                if i + 1 < len(parts) and not isinstance(parts[i + 1], str) and part[-1:] in "'\"" and closes:
                    part = part[:-1]
                if i > 0 and not isinstance(parts[i - 1], str) and part[:1] in "'\"":
                    before = parts[i - 2] if i >= 2 else ""
                    if isinstance(before, str) and before[-1:] == part[:1]:
                        part = part[1:]
                if part:
                    out.append((part, None))
            else:
                slot = self.slots[part]
                out.append((mask_words(slot.kind), slot))
        return out

    @property
    def words(self) -> str:
        """The pattern as a person reads it: `Customer a customer id not found`."""
        return "".join(text for text, _ in self.word_segments())


@dataclass(frozen=True, slots=True)
class Masked:
    kind: str
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Pattern:
    """A reason, normalised: its group's template, and the values that were masked."""

    template: Template
    values: tuple[str, ...]  # in slot order

    @property
    def key(self) -> str:
        return self.template.key

    @property
    def text(self) -> str:
        return self.template.text

    @property
    def masked(self) -> tuple[Masked, ...]:
        return tuple(
            Masked(slot.kind, slot.label, value)
            for slot, value in zip(self.template.slots, self.values, strict=True)
        )


def _shape(reason: str) -> tuple[str, list[str], list[str]]:
    """The reason with its variable parts replaced by private-use placeholders, and the
    kind and value of each placeholder, in the order they were made."""
    kinds: list[str] = []
    values: list[str] = []
    text = reason
    truncated = len(text) > MAX_REASON_CHARS
    if truncated:
        text = text[:MAX_REASON_CHARS]
    # Most reasons are plain: one look decides whether the clean-up passes are needed.
    odd = not text.isprintable() or "  " in text or text[:1] == " " or text[-1:] == " "
    if odd and _PRIVATE.search(text):
        text = _PRIVATE.sub("\ufffd", text)

    def put(kind: str, value: str) -> str:
        kinds.append(kind)
        values.append(value)
        return chr(_BASE + len(values) - 1)

    quotes = text.count("'") + text.count('"')
    if quotes > 1:

        def quoted(match: re.Match[str]) -> str:
            quote = match.group(1)
            return quote + put(_value_kind(match.group(2)), match.group(2)) + quote

        if quotes == 2:
            text = _replace_two_quotes(text, put)
        elif quotes <= _FEW_QUOTES:
            text = _QUOTED.sub(quoted, text)
        else:
            text = _replace_quoted(text, put)
    if not text.isascii() and ("‘" in text or "“" in text):

        def typographic(match: re.Match[str]) -> str:
            value = match.group(1) if match.group(1) is not None else match.group(2)
            opening, closing = ("‘", "’") if match.group(1) is not None else ("“", "”")
            return opening + put(_value_kind(value), value) + closing

        text = _TYPOGRAPHIC.sub(typographic, text)
    if "record " in text:
        text = _CSV_POSITION.sub("", text)
    if "://" in text:
        text = _URL.sub(lambda m: put("url", m.group()), text)
    if "@" in text:
        text = _EMAIL.sub(lambda m: put("email", m.group()), text)
    if "_" in text:
        text = _ID.sub(lambda m: put(f"id:{m.group()[0]}{m.group(1)}", m.group()), text)
    if _DIGIT.search(text):
        text = _VALUES.sub(lambda m: put(m.lastgroup or "number", m.group()), text)
    if odd:
        text = visible(_WHITESPACE_CONTROLS.sub(" ", text))
        text = _SPACES.sub(" ", text).strip()
    if truncated:
        text += TRUNCATED
    return text, kinds, values


def _opens(text: str, i: int) -> bool:
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_'\"`")


def _closes(text: str, i: int) -> bool:
    return i + 1 == len(text) or text[i + 1] in _CLOSERS or text[i + 1].isspace()


def _replace_two_quotes(text: str, put: Callable[[str, str], str]) -> str:
    """What `_QUOTED.sub` does to a text with two quote characters, the most common case
    (`Customer 'cus_…' not found`), without the regex."""
    single = text.find("'")
    quote = "'" if single >= 0 and text.find('"') < 0 else '"' if single < 0 else ""
    if not quote:
        return text  # one of each: they never pair
    i = text.find(quote)
    j = text.find(quote, i + 1)
    if not (_opens(text, i) and _closes(text, j) and j - i - 1 <= MAX_QUOTED_CHARS):
        return text
    value = text[i + 1 : j]
    return text[:i] + quote + put(_value_kind(value), value) + quote + text[j + 1 :]


def _replace_quoted(text: str, put: Callable[[str, str], str]) -> str:
    """What `_QUOTED.sub` does, in time linear in the text: for reasons with many quotes,
    where the regex would scan up to `MAX_QUOTED_CHARS` from every opening quote."""
    positions = [i for i, char in enumerate(text) if char in "'\""]
    closers: dict[str, list[int]] = {"'": [], '"': []}
    for i in positions:
        if _closes(text, i):
            closers[text[i]].append(i)
    out: list[str] = []
    done = 0  # text before this index is in `out`
    for i in positions:
        if i < done:
            continue
        if not _opens(text, i):
            continue
        candidates = closers[text[i]]
        k = bisect_right(candidates, i)
        if k < len(candidates) and candidates[k] - i - 1 <= MAX_QUOTED_CHARS:
            close = candidates[k]
            value = text[i + 1 : close]
            out.append(text[done:i])
            out.append(text[i] + put(_value_kind(value), value) + text[i])
            done = close + 1
    out.append(text[done:])
    return "".join(out)


def _value_kind(value: str) -> str:
    """The kind of a quoted value: a Meteroid id keeps its prefix; else what it looks like."""
    if "_" in value and (match := _ID_VALUE.fullmatch(value)):
        return f"id:{match.group(1)}"
    if "-" in value and _UUID_VALUE.fullmatch(value):
        return "uuid"
    if "@" in value and _EMAIL_VALUE.fullmatch(value):
        return "email"
    if "://" in value and _URL_VALUE.fullmatch(value):
        return "url"
    return "quoted"


def _template(shape: str, kinds: Sequence[str]) -> tuple[Template, tuple[int, ...]]:
    """The template of a shape, and the order that puts its values in slot (text) order."""
    parts: list[str | int] = []
    order: list[int] = []
    literal: list[str] = []
    for char in shape:
        code = ord(char) - _BASE
        if 0 <= code < len(kinds):
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(len(order))
            order.append(code)
        else:
            literal.append(char)
    if literal:
        parts.append("".join(literal))
    slot_kinds = [kinds[i] for i in order]
    text = "".join(part if isinstance(part, str) else mask_of(slot_kinds[part]) for part in parts)
    slots = tuple(Slot(kind, _label(parts, index, kind)) for index, kind in enumerate(slot_kinds))
    # The key is made of the shape with its placeholders renumbered in text order and the
    # kinds: a literal `<n>` in a reason never collides with a masked number.
    canonical = (
        "".join(part if isinstance(part, str) else chr(_BASE + part) for part in parts)
        + "\x1f"
        + "\x1f".join(slot_kinds)
    )
    key = hashlib.sha256(f"{NORMALISER_VERSION}\x1e{canonical}".encode()).hexdigest()[:KEY_LENGTH]
    return Template(key, text, tuple(parts), slots), tuple(order)


def _label(parts: Sequence[str | int], slot: int, kind: str) -> str:
    """A word for the value in `slot`: the word before it (`plan '…'`), else the one after
    it (`<n> days`), else the kind's name. An id says its kind: `cus id`."""
    position = parts.index(slot)
    before = parts[position - 1] if position > 0 else ""
    after = parts[position + 1] if position + 1 < len(parts) else ""
    word = None
    if isinstance(before, str) and (match := _WORD_BEFORE.search(before)):
        word = match.group(1)
    if (word is None or word.lower() in _STOPWORDS) and isinstance(after, str):
        match = _WORD_AFTER.search(after)
        if match and match.group(1).lower() not in _STOPWORDS:
            word = match.group(1)
    if word is not None and word.lower() in _STOPWORDS:
        word = None
    if kind.startswith("id:"):
        return f"{word.lower()} id" if word else f"{kind[3:]} id"
    return word.lower() if word else KIND_NAMES.get(kind, kind)


class _Normaliser:
    """Normalises reasons, sharing one template per shape (so per group).

    Most reasons hold one quoted value and nothing else that varies (`Customer 'cus_…' not
    found`): for those, everything but the value is normalised once and remembered, keyed
    by the text around the quotes and the kind of the value. The result is the same as the
    full path's, which the first reason of each such shape takes.
    """

    def __init__(self) -> None:
        self.templates: dict[str, tuple[Template, tuple[int, ...]]] = {}
        # (text with the quoted value left out, the value's kind) ->
        #     (template, the value's slot, the other slots' values)
        self.around: dict[tuple[str, str], tuple[Template, int, tuple[str, ...]]] = {}

    def split(self, reason: str) -> tuple[Template, tuple[str, ...]]:
        """The template of `reason` and its masked values, in slot order."""
        quote = _one_quoted(reason)
        if quote is None:
            return self._split(reason)
        start, end = quote
        value = reason[start + 1 : end]
        kind = _value_kind(value)
        around = (reason[: start + 1] + _BLANK + reason[end:], kind)
        known = self.around.get(around)
        if known is None:
            template, values = self._split(reason)
            # The quoted value is the first one masked; find where it sits in slot order.
            slot = self.templates[self._lookup(reason)][1].index(0)
            if len(self.around) >= _MAX_SHAPES:
                self.around.clear()
            self.around[around] = (template, slot, values[:slot] + values[slot + 1 :])
            return template, values
        template, slot, others = known
        return template, (*others[:slot], value, *others[slot:])

    def _lookup(self, reason: str) -> str:
        shape, kinds, _ = _shape(reason)
        return shape + "\x1f" + "\x1f".join(kinds) if kinds else shape

    def _split(self, reason: str) -> tuple[Template, tuple[str, ...]]:
        shape, kinds, values = _shape(reason)
        lookup = shape + "\x1f" + "\x1f".join(kinds) if kinds else shape
        entry = self.templates.get(lookup)
        if entry is None:
            if len(self.templates) >= _MAX_SHAPES:
                self.templates.clear()  # hostile data with endless shapes: start over
            entry = self.templates[lookup] = _template(shape, kinds)
        template, order = entry
        if not values:
            return template, ()
        return template, tuple([values[i] for i in order])

    def __call__(self, reason: str) -> Pattern:
        return Pattern(*self.split(reason))


def _one_quoted(reason: str) -> tuple[int, int] | None:
    """Where the one quoted value of a plain reason starts and ends (its quotes), or None
    when the reason is not that simple: it takes the full path then."""
    if len(reason) > MAX_REASON_CHARS or reason.count("'") + reason.count('"') != 2:
        return None
    if not reason.isprintable() or "  " in reason or reason[:1] == " " or reason[-1:] == " ":
        return None
    quote = "'" if "'" in reason else '"'
    start = reason.find(quote)
    end = reason.find(quote, start + 1)
    if end < 0 or not (_opens(reason, start) and _closes(reason, end)) or end - start - 1 > MAX_QUOTED_CHARS:
        return None
    return start, end


_shared = _Normaliser()


@lru_cache(maxsize=8192)
def pattern_of(reason: str) -> Pattern:
    """The pattern of one reason: its group's template (key, text, slots) and masked values."""
    return _shared(reason)


def group_key(reason: str) -> str:
    """The key of the group a reason belongs to."""
    return pattern_of(reason).key


# --- Groups ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotValues:
    """The values masked in one slot of a group, most frequent first."""

    slot: Slot
    distinct: int
    top: tuple[tuple[str, int], ...]

    @property
    def more(self) -> int:
        return self.distinct - len(self.top)


@dataclass(frozen=True, slots=True)
class GroupSummary(PickledByFields):
    """A reason group in a few words: enough for a summary or a filter's choices."""

    template: Template
    count: int
    share: float

    @property
    def key(self) -> str:
        return self.template.key

    @property
    def percent(self) -> float:
        return 100.0 * self.share


def summarize_groups(grouping: IndexedGrouping, limit: int) -> tuple[GroupSummary, ...]:
    """The `limit` largest groups, in a few words each."""
    return tuple(GroupSummary(g.template, g.count, g.share) for g in grouping.groups[:limit])
