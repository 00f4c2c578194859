import pytest

from dashboard.pages.paging import Paging


def test_it_counts_pages_and_rows():
    paging = Paging(page=2, per_page=25, total=60)
    assert (paging.pages, paging.offset, paging.first_row, paging.last_row) == (3, 25, 26, 50)
    assert paging.has_previous and paging.has_next


def test_the_last_page_is_short():
    paging = Paging(page=3, per_page=25, total=60)
    assert (paging.first_row, paging.last_row, paging.has_next) == (51, 60, False)


@pytest.mark.parametrize(
    ("page", "total", "exists"),
    [(1, 0, True), (2, 0, False), (3, 60, True), (4, 60, False), (1_000_000, 60, False)],
)
def test_a_page_exists_only_if_it_holds_rows(page, total, exists):
    assert Paging(page=page, per_page=25, total=total).exists is exists


def test_the_window_links_both_ends_and_marks_gaps():
    assert Paging(page=10, per_page=10, total=1000).window() == [1, None, 8, 9, 10, 11, 12, None, 100]
    assert Paging(page=1, per_page=10, total=30).window() == [1, 2, 3]
