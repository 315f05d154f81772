"""What a batch of runs makes owed: dated with the runs it hangs on, as the runs are now and as they were."""

from __future__ import annotations

from datetime import UTC, date, datetime

from monitoring.coverage import owed_by_ingested_runs, owed_by_pending
from support import config, runs

D = date(2025, 6, 10)
NOW = datetime(2025, 6, 20, 6, 0, tzinfo=UTC)
FLOWS = [{"name": "F", "pipelines": [{"name": "p"}]}]


def owed_span(spark, batch: list[tuple], stored: list[tuple]) -> tuple[date, str]:
    row = owed_by_ingested_runs(runs(spark, batch), runs(spark, stored), config(FLOWS), NOW).collect()
    assert len(row) == 1
    return row[0].business_date, row[0].detail


def test_a_rerun_owes_the_date_of_its_groups_first_run_stored_before(spark):
    rerun = ("p", "Succeeded", "2025-06-11 12:00", "2025-06-11 12:30", None, "rerun", "g1")
    first = ("p", "Failed", "2025-06-10 12:00", "2025-06-10 12:30", None, "first", "g1")
    assert owed_span(spark, [rerun], [first]) == (D, "1 run(s) read, on business dates 2025-06-10 to 2025-06-10")


def test_a_run_read_again_owes_both_the_date_it_had_and_the_date_it_has(spark):
    """Both versions of one run, in one group: each is dated within its own version (the stored one does not pull
    the new one back to its date, nor the other way round)."""
    now = ("p", "Succeeded", "2025-06-12 12:00", "2025-06-12 12:30", None, "moved", "g2")
    before = ("p", "InProgress", "2025-06-07 12:00", None, None, "moved", "g2")
    assert owed_span(spark, [now], [before]) == (
        date(2025, 6, 7),
        "1 run(s) read, on business dates 2025-06-07 to 2025-06-12",
    )


def test_a_pending_row_names_its_first_due_time_in_utc(spark):
    due = datetime(2025, 6, 11, 7, 30, tzinfo=UTC)
    pending = spark.createDataFrame([(D, 2, due)], "business_date date, pipelines long, due_at timestamp")
    row = owed_by_pending(pending, NOW).collect()[0]
    assert (row.business_date, row.detail) == (D, "2 pipeline(s) PENDING, the first due at 2025-06-11 07:30 UTC")
