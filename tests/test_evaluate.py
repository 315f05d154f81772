"""Status rules, one reason code at a time, on small readable runs (no Delta I/O)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pyspark.sql import functions as F

from monitoring.config import Schedule
from monitoring.evaluate import is_expected
from monitoring.tables import FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS
from support import by_pipeline, config, evaluate, gold_history, runs

D = date(2025, 4, 8)  # a Tuesday

TELEPHONIE = {
    "name": "Telephonie",
    "deadline": "01:30",
    "pipelines": ["telephonie_master", "telephonie_ods_cti_export_incremental"],
}
SOLARIS = {
    "name": "Solaris",
    "order": "sequential",
    "pipelines": ["solaris_clean_sources", "solaris_master", "solaris_runners"],
}


def _history(pipeline: str, minutes: int, days: int, last: date) -> list[tuple]:
    """Stored gold rows: a successful final run of ``minutes`` on each of the ``days`` days before ``last``."""
    return [(pipeline, last - timedelta(days=back), "Succeeded", minutes * 60) for back in range(days, 0, -1)]


# One night with a flow per rule, evaluated once (the suite's time budget), asserted by many tests.
NIGHT_FLOWS = [
    TELEPHONIE,
    {"name": "F", "pipelines": ["a", "b", "c", "d"]},
    {"name": "All", "pipelines": ["a1", "a2"]},
    {"name": "Any", "ko_when": "any", "pipelines": ["b1", "b2"]},
    {"name": "Late", "deadline": "01:30", "pipelines": ["late", "on_time"]},
    SOLARIS,
    {"name": "Sitecom", "pipelines": ["init", {"name": "extract", "depends_on": ["init"]}, "independent"]},
    {"name": "Retry", "pipelines": ["sitecom_claims_master", "final_failed"]},
    {"name": "Durations", "pipelines": ["same", "slow", "not_slow", "fast", "few", "short"]},
    {"name": "Combined", "deadline": "04:00", "pipelines": ["combined"]},
    {"name": "Monthly", "pipelines": [{"name": "monthly", "schedule": "monthly:1"}]},
    {"name": "Long", "pipelines": ["long"]},
]
NIGHT_HISTORY = [
    *_history("same", 20, 10, D),
    *_history("slow", 20, 10, D),
    *_history("not_slow", 20, 10, D),
    *_history("fast", 20, 10, D),
    *_history("few", 20, 6, D),  # 6 samples < min_samples 7
    *_history("short", 8, 10, D),  # median 8 min < fast_min_baseline 10 min
    *_history("combined", 20, 10, D),
]
NIGHT_RUNS = [
    ("telephonie_master", "Succeeded", "2025-04-08 00:10:03", "2025-04-08 00:18:16"),
    ("telephonie_ods_cti_export_incremental", "Succeeded", "2025-04-08 00:19:00", "2025-04-08 00:20:40"),
    ("b", "Failed", "2025-04-08 01:00", "2025-04-08 01:05", "Operation on target Copy failed"),
    ("c", "Cancelled", "2025-04-08 01:00", "2025-04-08 01:02"),
    ("d", "Succeeded", "2025-04-08 01:00", "2025-04-08 01:10"),
    ("a1", "Failed", "2025-04-08 01:00", "2025-04-08 01:05"),
    ("b1", "Failed", "2025-04-08 01:00", "2025-04-08 01:05"),
    ("b2", "Succeeded", "2025-04-08 01:00", "2025-04-08 01:05"),
    ("late", "Succeeded", "2025-04-08 01:20:00", "2025-04-08 01:45:00"),
    ("on_time", "Succeeded", "2025-04-08 00:19", "2025-04-08 01:30:00"),
    ("solaris_clean_sources", "Succeeded", "2025-04-08 02:00", "2025-04-08 02:20"),
    ("solaris_master", "Succeeded", "2025-04-08 02:10", "2025-04-08 02:40"),  # before clean ended
    ("solaris_runners", "Succeeded", "2025-04-08 02:41", "2025-04-08 02:50"),
    ("init", "InProgress", "2025-04-08 03:00", None),
    ("extract", "Succeeded", "2025-04-08 03:05", "2025-04-08 03:10"),  # init has not ended
    ("independent", "Succeeded", "2025-04-08 02:00", "2025-04-08 02:10"),
    ("sitecom_claims_master", "Failed", "2025-04-08 01:15", "2025-04-08 01:16:42", "SqlFailedToConnect"),
    ("sitecom_claims_master", "Succeeded", "2025-04-08 01:30", "2025-04-08 01:41:05"),
    ("final_failed", "Succeeded", "2025-04-08 01:00", "2025-04-08 01:10"),
    ("final_failed", "Failed", "2025-04-08 01:20", "2025-04-08 01:25"),
    ("same", "Succeeded", f"{D} 03:00:00", f"{D} 03:20:00"),  # 20 min against a 20 min median
    ("slow", "Succeeded", f"{D} 03:00:00", f"{D} 03:55:00"),  # > 2x and >= +5 min
    ("not_slow", "Succeeded", f"{D} 03:00:00", f"{D} 03:39:00"),  # < 2x
    ("fast", "Succeeded", f"{D} 03:00:00", f"{D} 03:03:00"),  # < 0.2x, median >= 10 min
    ("few", "Succeeded", f"{D} 03:00:00", f"{D} 03:59:00"),
    ("short", "Succeeded", f"{D} 03:00:00", f"{D} 03:01:00"),
    ("combined", "Failed", f"{D} 03:00:00", f"{D} 03:05:00"),
    ("combined", "Succeeded", f"{D} 03:10:00", f"{D} 04:10:00"),  # late, retried, slow
    ("monthly", "Succeeded", f"{D} 03:00", f"{D} 03:10"),
    ("adhoc_export", "Failed", f"{D} 10:00", f"{D} 10:05"),
    ("long", "Succeeded", f"{D} 05:00", "2025-04-09 07:00:00"),  # 26 hours
    ("long", "Failed", f"{D} 01:00", f"{D} 01:10"),
]


@pytest.fixture(scope="module")
def night(spark):
    history = gold_history(spark, NIGHT_HISTORY)
    pipelines, flows = evaluate(spark, config(NIGHT_FLOWS), runs(spark, NIGHT_RUNS), D, stored_pipelines=history)
    return by_pipeline(pipelines, D), {f.flow: f for f in flows}


def test_all_ok(night):
    rows, flows = night
    master, export = rows["telephonie_master"], rows["telephonie_ods_cti_export_incremental"]
    assert (master.status, master.reason, export.status, export.reason) == ("OK", None, "OK", None)
    assert (master.start_local, master.end_local, master.duration_hms) == (
        "2025-04-08 00:10:03",
        "2025-04-08 00:18:16",
        "00:08:13",
    )
    assert master.execution_order == 1 and master.expected and master.status_color == "#2E7D32"
    assert master.detail == "succeeded, ended 00:18:16"
    flow = flows["Telephonie"]
    assert (flow.status, flow.reason, flow.pipelines_expected, flow.pipelines_ok) == ("OK", None, 2, 2)
    assert flow.detail == "all 2 pipelines OK"
    assert (flow.start_local, flow.end_local, flow.duration_hms) == (
        "2025-04-08 00:10:03",
        "2025-04-08 00:20:40",
        "00:10:37",
    )


def test_missing_failed_cancelled_are_ko(night):
    rows, flows = night
    assert (rows["a"].status, rows["a"].reason, rows["a"].run_count) == ("KO", "MISSING", 0)
    assert rows["a"].detail == "no run (due by end of day)"
    assert (rows["b"].status, rows["b"].reason, rows["b"].failed_run_count) == ("KO", "FAILED", 1)
    assert rows["b"].error_message == "Operation on target Copy failed"
    assert rows["b"].detail == "failed at 01:05:00 (UserError)"
    assert (rows["c"].status, rows["c"].reason) == ("KO", "CANCELLED")
    assert rows["a"].status_color == "#C62828"
    flow = flows["F"]
    # ko_when: all -> 3 of 4 KO is a WARNING for the flow, with every member code listed in order
    assert (flow.status, flow.reason) == ("WARNING", "MISSING,FAILED,CANCELLED")
    assert (flow.pipelines_expected, flow.pipelines_ok, flow.pipelines_ko) == (4, 1, 3)
    assert flow.detail == "3 of 4 KO: a (MISSING), b (FAILED), c (CANCELLED)"
    assert flow.status_color == "#EF6C00"


def test_flow_ko_when_all_and_any(night):
    _, flows = night
    assert (flows["All"].status, flows["Any"].status) == ("KO", "KO")
    assert flows["All"].consecutive_ko_days == 1


def test_late_is_a_warning_not_ko(night):
    # The seed's DAX returned KO for a late run; its text says WARNING. WARNING it is.
    rows, _ = night
    assert (rows["late"].status, rows["late"].reason) == ("WARNING", "LATE")
    assert rows["late"].detail == "ended 01:45:00, deadline 01:30"
    assert rows["on_time"].status == "OK"  # ending at the deadline is on time


def test_order_sequential_and_depends_on(night):
    rows, flows = night
    assert (rows["solaris_master"].status, rows["solaris_master"].reason) == ("WARNING", "ORDER")
    assert rows["solaris_master"].detail == "started 02:10:00 before solaris_clean_sources ended 02:20:00"
    assert rows["solaris_runners"].status == "OK"
    assert rows["extract"].reason == "ORDER"
    assert rows["independent"].status == "OK"
    assert (flows["Solaris"].status, flows["Solaris"].reason) == ("WARNING", "ORDER")


def test_retried_final_success_after_failure(night):
    rows, _ = night
    claims = rows["sitecom_claims_master"]
    assert (claims.status, claims.reason, claims.run_count, claims.failed_run_count) == ("WARNING", "RETRIED", 2, 1)
    assert claims.error_message is None and claims.last_run_status == "Succeeded"
    assert (rows["final_failed"].status, rows["final_failed"].reason) == ("KO", "FAILED")


@pytest.mark.parametrize(
    ("pipeline", "reason", "status", "ratio"),
    [
        ("same", None, "OK", 1.0),
        ("slow", "SLOW", "WARNING", 2.75),
        ("not_slow", None, "OK", 1.95),
        ("fast", "FAST", "WARNING", 0.15),
    ],
)
def test_slow_and_fast_against_the_median(night, pipeline, reason, status, ratio):
    row = night[0][pipeline]
    assert (row.reason, row.status, row.duration_ratio) == (reason, status, ratio)
    assert row.baseline_duration_seconds == 1200.0


def test_slow_needs_min_samples_and_fast_needs_a_long_baseline(night):
    rows, _ = night
    assert rows["few"].baseline_duration_seconds is None and rows["few"].status == "OK"
    assert rows["short"].baseline_duration_seconds == 480.0 and rows["short"].status == "OK"


def test_reasons_combine_in_canonical_order(night):
    row = night[0]["combined"]
    assert (row.status, row.reason) == ("WARNING", "LATE,RETRIED,SLOW")
    assert row.detail.startswith("ended 04:10:00, deadline 04:00; succeeded after 1 failed")


def test_not_scheduled_run_and_unassigned_pipeline(night):
    rows, flows = night
    assert (rows["monthly"].expected, rows["monthly"].status) == (False, "OK")
    assert rows["monthly"].detail == "succeeded, ended 03:10:00 (not scheduled this day)"
    unassigned = rows["adhoc_export"]
    assert (unassigned.flow, unassigned.execution_order, unassigned.expected) == ("UNASSIGNED", None, False)
    assert unassigned.status == "KO" and unassigned.reason == "FAILED"
    assert "Monthly" not in flows  # no expected member: no flow row
    assert "UNASSIGNED" not in flows


def test_final_run_is_the_latest_start_and_durations_pass_24h(night):
    row = night[0]["long"]
    assert row.run_count == 2 and row.last_run_status == "Succeeded"
    assert row.duration_hms == "26:00:00" and row.duration_seconds == 26 * 3600


def test_one_row_per_pipeline_and_flow(night):
    rows, flows = night
    configured = {p if isinstance(p, str) else p["name"] for f in NIGHT_FLOWS for p in f["pipelines"]}
    assert set(rows) == configured | {"adhoc_export"}
    assert set(flows) == {f["name"] for f in NIGHT_FLOWS} - {"Monthly"}


@pytest.mark.heavy  # three evaluations; test_calendar's pending case stays in make test
def test_running_vs_pending_depends_on_when_it_is_due(spark):
    cfg = config([TELEPHONIE, {"name": "Night", "pipelines": ["late_starter", "never_ran"]}])
    data = runs(
        spark,
        [
            ("telephonie_master", "InProgress", "2025-04-08 00:10", None),
            ("telephonie_ods_cti_export_incremental", "Queued", "2025-04-08 00:20", None),
            ("late_starter", "InProgress", "2025-04-08 23:00", None),
        ],
    )
    # 01:00 local: before Telephonie's 01:30 deadline and before the end of the day.
    before, flows_before = evaluate(spark, cfg, data, D, as_of="2025-04-08T01:00")
    assert {r.pipeline_name: (r.status, r.reason) for r in before} == {
        "telephonie_master": ("PENDING", "PENDING"),
        "telephonie_ods_cti_export_incremental": ("PENDING", "PENDING"),
        "late_starter": ("PENDING", "PENDING"),
        "never_ran": ("PENDING", "PENDING"),
    }
    assert {f.flow: f.status for f in flows_before} == {"Telephonie": "PENDING", "Night": "PENDING"}
    assert before[0].status_color == "#757575"
    # 02:00 local: Telephonie is due (still running -> RUNNING), the rest is due at 24:00.
    after = by_pipeline(evaluate(spark, cfg, data, D, as_of="2025-04-08T02:00")[0])
    assert (after["telephonie_master"].status, after["telephonie_master"].reason) == ("WARNING", "RUNNING")
    assert after["telephonie_master"].detail == "still running since 00:10:00, deadline 01:30"
    assert after["never_ran"].reason == "PENDING"
    # Next morning: everything is due.
    morning = by_pipeline(evaluate(spark, cfg, data, D, as_of="2025-04-09T07:00")[0])
    assert morning["late_starter"].reason == "RUNNING"
    assert (morning["never_ran"].status, morning["never_ran"].reason) == ("KO", "MISSING")


def test_schedules_decide_expected_days(spark):
    cfg = config(
        [
            {
                "name": "F",
                "pipelines": [
                    {"name": "weekdays", "schedule": "weekdays"},
                    {"name": "mon_thu", "schedule": "weekly:mon,thu"},
                    {"name": "monthly", "schedule": "monthly:1"},
                    {"name": "on_demand", "schedule": "on_demand"},
                ],
            }
        ]
    )
    # 2025-03-31 is a Monday; the week runs to Sunday 2025-04-06.
    pipelines, _ = evaluate(spark, cfg, runs(spark, []), date(2025, 3, 31), date(2025, 4, 6))
    expected = {(r.pipeline_name, r.business_date.isoformat()) for r in pipelines}
    assert {d for p, d in expected if p == "weekdays"} == {"2025-03-31", *[f"2025-04-0{i}" for i in range(1, 5)]}
    assert {d for p, d in expected if p == "mon_thu"} == {"2025-03-31", "2025-04-03"}
    assert {d for p, d in expected if p == "monthly"} == {"2025-04-01"}
    assert not [p for p, _ in expected if p == "on_demand"]
    assert all(r.reason == "MISSING" for r in pipelines)


def test_spark_and_python_expect_the_same_days(spark):
    """evaluate.is_expected (the job) and Schedule.expects (the demo, the docs' examples) over two years,
    a leap February included, for every kind of schedule."""
    texts = ["daily", "weekdays", "weekly:mon,thu", "monthly:1,15", "monthly:31", "monthly:last", "monthly:29,last"]
    schedules = [Schedule.parse(text, "schedule") for text in [*texts, "on_demand"]]
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(731)]
    rows = [(s.text, s.kind, list(s.days), day) for s in schedules for day in days]
    frame = spark.createDataFrame(rows, "text string, schedule_kind string, schedule_days array<int>, day date")
    by_spark = {(r.text, r.day) for r in frame.where(is_expected(F.col("day"))).collect()}
    assert by_spark == {(s.text, day) for s in schedules for day in days if s.expects(day)}
    month_ends = {day for text, day in by_spark if text == "monthly:last"}
    assert date(2024, 2, 29) in month_ends and date(2025, 2, 28) in month_ends and len(month_ends) == 24
    assert len({day for text, day in by_spark if text == "monthly:31"}) == 14


def test_business_date_is_local_and_dst_safe(spark):
    cfg = config([TELEPHONIE])
    data = runs(
        spark,
        [
            # 00:10 local on 2025-07-01 is 22:10 UTC on 2025-06-30: business date is the local date.
            ("telephonie_master", "Succeeded", "2025-07-01 00:10", "2025-07-01 00:20"),
            # Spring forward: 2025-03-30 has no 02:00-03:00; deadline 01:30 is still 00:30 UTC.
            ("telephonie_master", "Succeeded", "2025-03-30 01:00", "2025-03-30 01:35"),
            # Fall back: 2025-10-26 01:30 local is 23:30 UTC the day before (still CEST).
            ("telephonie_master", "Succeeded", "2025-10-26 00:50", "2025-10-26 01:29"),
        ],
    )
    rows = evaluate(spark, cfg, data, date(2025, 3, 30), date(2025, 10, 26))[0]
    master = {r.business_date.isoformat(): r for r in rows if r.pipeline_name == "telephonie_master" and r.run_id}
    assert set(master) == {"2025-07-01", "2025-03-30", "2025-10-26"}
    assert master["2025-07-01"].start_time.isoformat().startswith("2025-06-30T22:10")
    assert master["2025-07-01"].start_local == "2025-07-01 00:10:00"
    assert master["2025-03-30"].reason == "LATE"
    assert master["2025-10-26"].status == "OK"


def test_other_timezone(spark):
    cfg = config([{"name": "F", "deadline": "06:00", "pipelines": ["p"]}], timezone="America/New_York")
    data = runs(spark, [("p", "Succeeded", "2025-04-08 05:00", "2025-04-08 06:30")], timezone="America/New_York")
    (row,), _ = evaluate(spark, cfg, data, D)
    assert (row.business_date, row.reason, row.start_local) == (D, "LATE", "2025-04-08 05:00:00")


def test_ko_streak_skips_days_without_rows(spark):
    cfg = config([{"name": "F", "pipelines": [{"name": "p", "schedule": "weekdays"}]}])
    # Thu 3 OK, Fri 4 failed, weekend (no rows), Mon 7 failed, Tue 8 missing, Wed 9 OK, Thu 10 failed
    data = runs(
        spark,
        [
            ("p", "Succeeded", "2025-04-03 03:00", "2025-04-03 03:10"),
            ("p", "Failed", "2025-04-04 03:00", "2025-04-04 03:10"),
            ("p", "Failed", "2025-04-07 03:00", "2025-04-07 03:10"),
            ("p", "Succeeded", "2025-04-09 03:00", "2025-04-09 03:10"),
            ("p", "Failed", "2025-04-10 03:00", "2025-04-10 03:10"),
        ],
    )
    pipelines, flows = evaluate(spark, cfg, data, date(2025, 4, 3), date(2025, 4, 10))
    streaks = [(r.business_date.day, r.status, r.consecutive_ko_days) for r in pipelines]
    assert streaks == [(3, "OK", 0), (4, "KO", 1), (7, "KO", 2), (8, "KO", 3), (9, "OK", 0), (10, "KO", 1)]
    assert [f.consecutive_ko_days for f in flows] == [0, 1, 2, 3, 0, 1]


@pytest.mark.heavy  # writes and re-reads gold; test_operations' 92-day streak stays in make test
def test_ko_streak_continues_from_stored_rows(spark):
    cfg = config([{"name": "F", "pipelines": ["p"]}])
    data = runs(spark, [("p", "Failed", "2025-04-07 03:00", "2025-04-07 03:10")])
    stored_p, stored_f = evaluate(spark, cfg, data, date(2025, 4, 6), date(2025, 4, 7))
    assert [r.consecutive_ko_days for r in stored_p] == [1, 2]
    pipelines, flows = evaluate(
        spark,
        cfg,
        data,
        D,
        stored_pipelines=spark.createDataFrame(stored_p, PIPELINE_DAILY_STATUS.schema),
        stored_flows=spark.createDataFrame(stored_f, FLOW_DAILY_STATUS.schema),
    )
    assert pipelines[0].consecutive_ko_days == 3 and flows[0].consecutive_ko_days == 3
