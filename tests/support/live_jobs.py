"""Live sandbox jobs that suit the tests of a running job's page."""

from __future__ import annotations

from dashboard.sandbox.world import data


def growing_job(now: float, lead: float, grown_by: float) -> tuple[str, float]:
    """A live job of the last day that, from `lead` to `grown_by` seconds before its end, went
    from more than a page of 25 failure records to at least four more (50 at most by its end,
    every failed row a failure record: no chunk failed as a whole), and the instant (epoch s)
    it ended. The growth must fall inside the window a test looks at, not only before the end."""
    current = int(now * 1000) // data.LIVE_SLOT_MS
    for slot in range(current - 2, current - data.LIVE_KEEP_SLOTS, -1):
        live = data._live(data.DEFAULT_SEED, slot)
        before = data._live_job(live, live.end_ms - int(lead * 1000))
        grown = data._live_job(live, live.end_ms - int(grown_by * 1000))
        after = data._live_job(live, live.end_ms)
        if before is None or grown is None or after is None or after.failed_items != after.failure_count:
            continue
        grows = grown.failure_count - before.failure_count >= 4
        if grows and 27 <= before.failure_count <= 40 and after.failure_count <= 50:
            return live.plan.id, live.end_ms / 1000
    raise AssertionError("no live job of the last day grows as these tests need")
