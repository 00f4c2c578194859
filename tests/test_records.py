"""Typed records: a page of failures parses as each failure alone would, and into columns
as into records."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.meteroid.records import Failure, FailureColumns, FailurePage

VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.text(max_size=3),
    st.lists(st.none(), max_size=1),
)
ITEM = st.one_of(
    st.dictionaries(
        st.sampled_from(["id", "chunk_id", "item_index", "item_identifier", "reason", "x"]), VALUE
    ),
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=3),
            "chunk_id": st.text(max_size=3),
            "item_index": st.integers(min_value=0, max_value=9),
            "reason": st.text(max_size=3),
        },
        optional={"item_identifier": st.one_of(st.none(), st.text(max_size=3)), "extra": VALUE},
    ),
    VALUE,
)


def _one_by_one(items):
    try:
        return tuple(Failure.parse(item) for item in items)
    except (KeyError, ValueError, TypeError) as error:
        return type(error)


@settings(max_examples=400, deadline=None)
@given(st.lists(ITEM, max_size=4))
def test_a_page_parses_exactly_as_its_items_do(items):
    expected = _one_by_one(items)
    try:
        got = FailurePage.parse({"data": items, "total_count": len(items)}).failures
    except (KeyError, ValueError, TypeError) as error:
        got = type(error)
    if isinstance(expected, tuple):
        assert got == expected
    else:
        assert not isinstance(got, tuple)  # refused too (the error's class may differ)


@settings(max_examples=400, deadline=None)
@given(st.lists(ITEM, max_size=4), st.one_of(st.integers(min_value=0, max_value=9), VALUE))
def test_a_page_parses_into_the_columns_of_its_records(items, total):
    body = {"data": items, "total_count": total}
    try:
        page = FailurePage.parse(body)
    except (KeyError, ValueError, TypeError):
        with pytest.raises((KeyError, ValueError, TypeError)):
            FailureColumns.parse(body)
        return
    columns = FailureColumns.parse(body)
    assert columns.item_indices == [f.item_index for f in page.failures]
    assert columns.chunk_ids == [f.chunk_id for f in page.failures]
    assert columns.identifiers == [f.item_identifier for f in page.failures]
    assert columns.reasons == [f.reason for f in page.failures]
    assert columns.total_count == page.total_count
    assert len(columns) == len(page.failures)


def test_a_bool_is_not_an_item_index():
    item = {"id": "a", "chunk_id": "b", "item_index": True, "reason": "r"}
    with pytest.raises(ValueError, match="item_index"):
        FailurePage.parse({"data": [item], "total_count": 1})
