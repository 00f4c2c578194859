"""The reason normaliser and grouping, as pure functions."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.failures import reasons
from dashboard.failures.reasons import (
    KEY_RE,
    NORMALISER_VERSION,
    pattern_of,
)
from dashboard.sandbox.world.rows import HOSTILE_VALUES

# The shapes of API-NOTES.md ("Reasons as the real processors write them"), and the
# sandbox's own, with what each should become.
REAL_SHAPES = [
    ("Customer 'cus_4fQ2x' not found", "Customer '<id:cus>' not found"),
    ("Customer 'cus_7fwoW2FlRizjYULSjVzA6m' not found", "Customer '<id:cus>' not found"),
    ("Customer with alias 'acme-gmbh' not found", "Customer with alias '…' not found"),
    (
        "No published version 3 found for plan 'plan_7Hk2q9'",
        "No published version <n> found for plan '<id:plan>'",
    ),
    ("No published version found for plan 'pro-monthly'", "No published version found for plan '…'"),
    (
        "Duplicate alias 'acme' within the same batch (first seen at row 5)",
        "Duplicate alias '…' within the same batch (first seen at row <n>)",
    ),
    (
        "Failed to parse row: CSV deserialize error: record 12 (line: 13, byte: 400): field 3: invalid digit found in string",
        "Failed to parse row: CSV deserialize error: field 3: invalid digit found in string",
    ),
    (
        "Failed to parse row: CSV error: record 1037 (line: 1038, byte: 95365): found record with 4 fields, "
        "but the previous record has 6 fields",
        "Failed to parse row: CSV error: found record with <n> fields, but the previous record has <n> fields",
    ),
    (
        "Failed to convert to domain: billing_email is not a valid email",
        "Failed to convert to domain: billing_email is not a valid email",
    ),
    ("Event code is required and cannot be empty", "Event code is required and cannot be empty"),
    ("Database error: deadlock detected", "Database error: deadlock detected"),
    (
        'Database error: duplicate key value violates unique constraint "customer_alias_tenant_id_key"',
        'Database error: duplicate key value violates unique constraint "…"',
    ),
    (
        "Failed to convert to domain: properties is not valid JSON: expected `,` or `}` at line 1 column 26",
        "Failed to convert to domain: properties is not valid JSON: expected `,` or `}` at line <n> column <n>",
    ),
    (
        "Failed to convert to domain: timestamp 2026-01-26T23:59:04Z is outside the ingestion window (35 days)",
        "Failed to convert to domain: timestamp <time> is outside the ingestion window (<n> days)",
    ),
    (
        "Failed to convert to domain: country 'Germany' is not an ISO 3166-1 alpha-2 code",
        "Failed to convert to domain: country '…' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "Subscription 'sub_62PiHQmSaFeXTXstVd4bhl' already has a plan change scheduled on 2026-12-09",
        "Subscription '<id:sub>' already has a plan change scheduled on <date>",
    ),
    (
        "Duplicate event_id 'evt_JX3JRK1NPJj' within the same batch (first seen at row 40)",
        "Duplicate event_id '<id:evt>' within the same batch (first seen at row <n>)",
    ),
    (
        "Failed to publish event: Message production error: MessageTimedOut (Local: Message timed out)",
        "Failed to publish event: Message production error: MessageTimedOut (Local: Message timed out)",
    ),
    (
        "Webhook to https://example.com/hook?x=1 failed for bob@example.com, request 0f8fad5b-d9cb-469f-a165-70867728950e",
        "Webhook to <url> failed for <email>, request <uuid>",
    ),
    ("Event for customer cus_7fwoW2FlRizjYULSjVzA6m rejected", "Event for customer <id:cus> rejected"),
    ("Checksum deadbeefcafe12345678 does not match", "Checksum <hex> does not match"),
]


@pytest.mark.parametrize(("reason", "pattern"), REAL_SHAPES)
def test_real_reason_shapes_become_their_patterns(reason, pattern):
    assert pattern_of(reason).text == pattern


def test_reasons_that_differ_only_in_their_values_share_a_group():
    first = pattern_of("Customer 'cus_4fQ2' not found")
    second = pattern_of("Customer 'cus_9Zt1' not found")
    assert first.key == second.key
    assert first.values == ("cus_4fQ2",) and second.values == ("cus_9Zt1",)


def test_a_meteroid_id_keeps_its_prefix_so_missing_things_of_other_kinds_stay_apart():
    customer = pattern_of("Customer 'cus_4fQ2' not found")
    alias = pattern_of("Customer 'acme-gmbh' not found")
    assert customer.masked[0].kind == "id:cus"
    assert alias.masked[0].kind == "quoted"
    assert customer.key != alias.key


def test_masked_values_say_what_they_were():
    pattern = pattern_of("No published version 3 found for plan 'plan_7Hk2q9'")
    assert [(m.kind, m.label, m.value) for m in pattern.masked] == [
        ("number", "version", "3"),
        ("id:plan", "plan id", "plan_7Hk2q9"),
    ]


def test_the_parsers_position_is_dropped_but_the_column_is_kept():
    one = pattern_of("CSV deserialize error: record 12 (line: 13, byte: 400): field 3: invalid digit")
    other = pattern_of("CSV deserialize error: record 900 (line: 901, byte: 81234): field 3: invalid digit")
    column_five = pattern_of("CSV deserialize error: record 12 (line: 13, byte: 400): field 5: invalid digit")
    assert one.key == other.key
    assert one.values == ()
    assert one.key != column_five.key


def test_a_quoted_value_may_hold_quotes_and_newlines():
    pattern = pattern_of("Duplicate alias 'O'Brien \"Consulting\" `whoami` & Sons' within the same batch")
    assert pattern.text == "Duplicate alias '…' within the same batch"
    assert pattern.values == ('O\'Brien "Consulting" `whoami` & Sons',)
    multi_line = pattern_of("Customer with alias 'line one\r\nline two, \"quoted\"' not found")
    assert multi_line.text == "Customer with alias '…' not found"
    assert multi_line.values == ('line one\r\nline two, "quoted"',)


def test_apostrophes_inside_words_are_not_quotes():
    assert pattern_of("Customer's name can't be empty").text == "Customer's name can't be empty"


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_in_quotes_fall_into_the_groups_of_plain_ones(value):
    plain = pattern_of("Customer with alias 'acme' not found")
    hostile = pattern_of(f"Customer with alias '{value}' not found")
    assert hostile.key == plain.key
    assert hostile.values == (value,)


def test_html_outside_quotes_stays_text_for_the_template_to_escape():
    pattern = pattern_of("<script>alert(1)</script> failed")
    assert pattern.text == "<script>alert(<n>)</script> failed"


def test_invisible_and_bidi_characters_are_written_out():
    pattern = pattern_of("invoice-\u202egpj.exe rejected\u200b here \x00")
    assert pattern.text == "invoice-⟨U+202E⟩gpj.exe rejected⟨U+200B⟩ here ␀"
    assert "\u202e" not in pattern.text


def test_whitespace_runs_collapse_and_ends_are_trimmed():
    assert (
        pattern_of("  Database   error:\tdeadlock\r\n detected ").text == "Database error: deadlock detected"
    )


def test_private_use_characters_in_a_reason_cannot_pose_as_masks():
    pattern = pattern_of("Value \ue000 rejected")
    assert pattern.values == ()
    assert "\ue000" not in pattern.text


def test_a_literal_mask_in_a_reason_does_not_collide_with_a_masked_value():
    assert pattern_of("Value <n> rejected").key != pattern_of("Value 5 rejected").key


@pytest.mark.parametrize(
    "reason",
    [
        "",
        " ",
        "0",
        "1234567890" * 1000,  # only digits, 10 kB
        "x" * 10_000,
        "'" * 10_000,
        "('x(" * 2_500,  # 2,500 opening quotes that never close
        "'a' " * 2_500,  # 2,500 quoted values
        '"x' * 5_000,
        "a.a." * 2_500,
        "Café 🧾💥 Z̵̡a̴l̷g̶o̸ ñ" * 400,
        "مرحبا بالعالم \u202e" * 500,
        "\x00\x01\x02 control",
    ],
)
def test_nasty_input_is_normalised_quickly_and_stays_bounded(reason):
    started = time.perf_counter()
    pattern = pattern_of.__wrapped__(reason)
    took = time.perf_counter() - started
    assert took < 0.25
    # At most the part that is read, with each invisible character written out as [U+XXXX].
    assert len(pattern.text) <= 8 * reasons.MAX_REASON_CHARS + len(reasons.TRUNCATED)
    assert KEY_RE.match(pattern.key)


def test_a_very_long_reason_says_it_was_cut():
    pattern = pattern_of("x" * 10_000)
    assert pattern.text.endswith(reasons.TRUNCATED)


def test_an_empty_reason_has_a_group_of_its_own():
    assert pattern_of("").text == ""
    assert pattern_of("").key != pattern_of(" x").key


def test_keys_are_short_url_safe_and_stable():
    key = pattern_of("Customer 'cus_4fQ2' not found").key
    assert KEY_RE.match(key)
    # Stable across processes and releases of the same rules: a shared link keeps working.
    assert key == "af018799f105"


def test_a_new_version_of_the_rules_never_reuses_old_keys(monkeypatch):
    reason = "Customer 'cus_4fQ2' not found"
    before = pattern_of.__wrapped__(reason).key
    monkeypatch.setattr(reasons, "NORMALISER_VERSION", NORMALISER_VERSION + 1)
    after = reasons._Normaliser()(reason).key
    assert after != before


# The linear scan for reasons with many quotes must do exactly what the regex does.
_QUOTEY = st.text(alphabet="'\" a_b(),.x`\n1é", max_size=24)


@settings(max_examples=500, deadline=None)
@given(_QUOTEY)
def test_the_linear_quote_scan_matches_the_regex(text):
    def regex(value: str) -> str:
        return reasons._QUOTED.sub(lambda m: m.group(1) + "<" + m.group(2) + ">" + m.group(1), value)

    def linear(value: str) -> str:
        return reasons._replace_quoted(value, lambda kind, found: "<" + found + ">")

    def two(value: str) -> str:
        return reasons._replace_two_quotes(value, lambda kind, found: "<" + found + ">")

    assert linear(text) == regex(text)
    if text.count("'") + text.count('"') == 2:
        assert two(text) == regex(text)


_TWO_QUOTED = st.builds(
    lambda before, value, after, quote: f"{before}{quote}{value}{quote}{after}",
    st.text(alphabet="ab 1_(:-", max_size=8),
    st.text(alphabet="ab1_-@.:/ ", max_size=10),
    st.text(alphabet="ab 1)(,.:", max_size=8),
    st.sampled_from("'\""),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TWO_QUOTED, min_size=1, max_size=6))
def test_the_shortcut_for_one_quoted_value_agrees_with_the_full_path(texts):
    normaliser = reasons._Normaliser()
    for text in texts:  # later ones may reuse what earlier ones left behind
        template, values = normaliser.split(text)
        full_template, full_values = reasons._Normaliser()._split(text)
        assert (template.key, template.text, values) == (full_template.key, full_template.text, full_values)
