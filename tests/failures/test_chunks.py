from dashboard.failures.chunks import find_chunk, summarize_chunks


def test_it_orders_chunks_by_file_position_and_counts_failures():
    pairs = [("bjch_b", 120), ("bjch_a", 3), ("bjch_b", 101), ("bjch_a", 7), ("bjch_a", 49)]
    chunks = summarize_chunks(pairs, chunk_size=50, total_items=1000)
    assert [c.chunk_id for c in chunks] == ["bjch_a", "bjch_b"]
    a, b = chunks
    assert (a.failures, a.first_index, a.last_index) == (3, 3, 49)
    assert (a.row_start, a.row_end) == (1, 50)
    assert (b.row_start, b.row_end) == (101, 150)


def test_it_cuts_the_last_chunk_at_the_end_of_the_file():
    chunks = summarize_chunks([("bjch_z", 1010)], chunk_size=500, total_items=1012)
    assert (chunks[0].row_start, chunks[0].row_end) == (1001, 1012)


def test_it_falls_back_to_failing_rows_when_the_chunk_size_is_unknown():
    chunks = summarize_chunks([("bjch_x", 40), ("bjch_x", 10)], chunk_size=None, total_items=None)
    assert (chunks[0].row_start, chunks[0].row_end) == (11, 41)


def test_it_labels_a_chunk_with_thousands_separators():
    chunks = summarize_chunks([("bjch_x", 12_345)], chunk_size=500, total_items=None)
    assert chunks[0].label == "rows 12,001–12,500 · 1 failed"


def test_it_finds_a_chunk_by_id():
    chunks = summarize_chunks([("bjch_x", 1), ("bjch_y", 60)], chunk_size=50, total_items=None)
    assert find_chunk(chunks, "bjch_y").row_start == 51
    assert find_chunk(chunks, "bjch_nope") is None


def test_it_summarises_nothing_as_nothing():
    assert summarize_chunks([], chunk_size=50, total_items=0) == []
