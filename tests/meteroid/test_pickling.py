"""Records kept in the cache pickle as their constructor's arguments, and load either way."""

from __future__ import annotations

import pickle
import pickletools
from datetime import UTC, datetime

from dashboard.failures.chunks import ChunkSummary
from dashboard.failures.reasons import GroupSummary, pattern_of
from dashboard.meteroid.pickling import PickledByFields
from dashboard.meteroid.records import Failure, FailurePage, JobDetail

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
DETAIL = JobDetail(
    id="bjob_1",
    job_type="CUSTOMER_CSV",
    status="COMPLETED_WITH_ERRORS",
    processed_items=10,
    failed_items=3,
    total_items=10,
    created_by="ops",
    created_at=WHEN,
    completed_at=WHEN,
    input_file_name="customers.csv",
    failure_count=2,
    has_error_csv=True,
    error_csv_url=None,
    input_file_url=None,
    has_output=False,
    output_url=None,
)
CHUNK = ChunkSummary("bjch_1", 0, 9, 2, 1, 10)
GROUP = GroupSummary(pattern_of("Customer 'cus_4fQ2' not found").template, 2, 1.0)
RECORDS = [
    DETAIL,
    FailurePage((Failure("f1", "bjch_1", 4, None, "Customer 'cus_4fQ2' not found"),), 1),
    CHUNK,
    GROUP,
]


def _opcodes(data: bytes) -> set[str]:
    """The pickle's opcodes: BUILD is how an object's state is set after it is made."""
    return {op.name for op, _, _ in pickletools.genops(data)}


def test_records_come_back_equal_and_are_pickled_as_constructor_arguments():
    for record in RECORDS:
        data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        assert pickle.loads(data) == record  # noqa: S301 (bytes this test made)
        assert "BUILD" not in _opcodes(data)


def test_a_record_pickled_the_old_way_still_loads(monkeypatch):
    monkeypatch.setattr(PickledByFields, "__reduce__", object.__reduce__)
    old = [pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL) for record in RECORDS]
    monkeypatch.undo()
    assert all("BUILD" in _opcodes(data) for data in old)
    assert [pickle.loads(data) for data in old] == RECORDS  # noqa: S301 (bytes this test made)
