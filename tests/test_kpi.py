"""Weekly and monthly KPIs: hand-checked numbers on a small history, and the rewrite window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pyspark.sql import SparkSession

from monitoring.kpi import KpiWindow, flow_kpis, pipeline_kpis
from monitoring.tables import FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI
from monitoring.vocabulary import STATUS_COLORS

EVALUATED = datetime(2025, 4, 1, tzinfo=UTC)
FIELDS = FLOW_DAILY_STATUS.schema.fieldNames()


def flow_day(day: date, status: str, duration: int | None = None, ko_days: int = 0, flow: str = "Solaris") -> dict:
    row = dict.fromkeys(FIELDS)
    expected = {"OK": 0, "WARNING": 0, "KO": 0}
    expected[status if status in expected else "OK"] = 1
    row.update(
        business_date=day,
        flow=flow,
        status=status,
        pipelines_expected=1,
        pipelines_ok=expected["OK"],
        pipelines_warning=expected["WARNING"],
        pipelines_ko=expected["KO"],
        duration_seconds=duration,
        consecutive_ko_days=ko_days,
        status_color=STATUS_COLORS[status],
        evaluated_at=EVALUATED,
    )
    return row


# March 2025: Monday 3rd .. Sunday 9th is week 10, Monday 10th .. Sunday 16th week 11.
WEEK_10 = [
    flow_day(date(2025, 3, 3), "OK", 100),
    flow_day(date(2025, 3, 4), "OK", 200),
    flow_day(date(2025, 3, 5), "WARNING", 300),
    flow_day(date(2025, 3, 6), "KO", None, ko_days=1),
    flow_day(date(2025, 3, 7), "KO", None, ko_days=2),
    flow_day(date(2025, 3, 8), "OK", 400),
    flow_day(date(2025, 3, 9), "OK", 500),
]
WEEK_11 = [flow_day(date(2025, 3, 10) + timedelta(days=i), "OK", 600) for i in range(6)] + [
    flow_day(date(2025, 3, 16), "PENDING")  # not decided yet: not counted
]


@pytest.fixture(scope="module")
def solaris_kpis(spark: SparkSession) -> dict:
    daily = spark.createDataFrame(WEEK_10 + WEEK_11, FLOW_DAILY_STATUS.schema)
    return {(r.granularity, r.period_start): r for r in flow_kpis(daily, EVALUATED).collect()}


def test_week_counts_and_rates(solaris_kpis):
    week = solaris_kpis["week", date(2025, 3, 3)]
    assert week.period_end == date(2025, 3, 9)
    assert (week.days_expected, week.days_ok, week.days_warning, week.days_ko) == (7, 4, 1, 2)
    assert week.availability == pytest.approx(5 / 7)
    assert week.on_time_rate == pytest.approx(4 / 7)
    assert week.max_ko_streak == 2
    assert week.duration_mean_seconds == pytest.approx(300.0)  # KO days have no span: not averaged
    assert week.duration_median_seconds == pytest.approx(300.0)
    assert week.duration_p90_seconds == pytest.approx(460.0)  # exact percentile, interpolated
    assert week.availability_change is None  # no week before it


def test_change_against_the_previous_week(solaris_kpis):
    week = solaris_kpis["week", date(2025, 3, 10)]
    assert (week.days_expected, week.days_ok) == (6, 6)  # the PENDING Sunday is not counted
    assert week.availability == 1.0
    assert week.availability_change == pytest.approx(1 - 5 / 7)
    assert week.on_time_rate_change == pytest.approx(1 - 4 / 7)
    assert week.duration_mean_change_seconds == pytest.approx(300.0)


def test_month_covers_both_weeks(solaris_kpis):
    month = solaris_kpis["month", date(2025, 3, 1)]
    assert month.period_end == date(2025, 3, 31)
    assert (month.days_expected, month.days_ok, month.days_ko, month.max_ko_streak) == (13, 10, 2, 2)
    assert set(solaris_kpis) == {("week", date(2025, 3, 3)), ("week", date(2025, 3, 10)), ("month", date(2025, 3, 1))}


def test_change_is_null_after_a_gap(spark):
    days = [flow_day(date(2025, 1, 6), "KO", ko_days=1), flow_day(date(2025, 1, 20), "OK", 60)]
    kpis = {
        (r.granularity, r.period_start): r
        for r in flow_kpis(spark.createDataFrame(days, FLOW_DAILY_STATUS.schema), EVALUATED).collect()
    }
    assert kpis["week", date(2025, 1, 20)].availability_change is None  # week of the 13th had no row


def test_pipeline_durations_are_those_of_successful_runs(spark):
    fields = PIPELINE_DAILY_STATUS.schema.fieldNames()

    def pipeline_day(day: date, status: str, last_run: str | None, duration: int | None, expected: bool = True):
        row = dict.fromkeys(fields)
        row.update(
            business_date=day,
            flow="Solaris",
            pipeline_name="solaris_master",
            expected=expected,
            status=status,
            run_count=1 if last_run else 0,
            failed_run_count=int(last_run == "Failed"),
            last_run_status=last_run,
            duration_seconds=duration,
            consecutive_ko_days=int(status == "KO"),
            status_color=STATUS_COLORS[status],
            evaluated_at=EVALUATED,
        )
        return row

    days = [
        pipeline_day(date(2025, 3, 3), "OK", "Succeeded", 100),
        pipeline_day(date(2025, 3, 4), "KO", "Failed", 5),  # a quick failure says nothing about durations
        pipeline_day(date(2025, 3, 5), "OK", "Succeeded", 300),
        pipeline_day(date(2025, 3, 6), "OK", None, None, expected=False),  # not expected: not counted
    ]
    week = next(
        r
        for r in pipeline_kpis(spark.createDataFrame(days, PIPELINE_DAILY_STATUS.schema), EVALUATED).collect()
        if r.granularity == "week"
    )
    assert (week.pipeline_name, week.days_expected, week.days_ok, week.days_ko) == ("solaris_master", 3, 2, 1)
    assert week.duration_mean_seconds == pytest.approx(200.0)
    assert week.max_ko_streak == 1


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # One Wednesday in mid-March: its week and month, and the week and month after them.
        (
            date(2025, 3, 12),
            date(2025, 3, 12),
            (date(2025, 3, 1), date(2025, 4, 1), date(2025, 2, 1), date(2025, 4, 30)),
        ),
        # A range across a month end starting on a Monday: from that Monday's month start.
        (
            date(2025, 3, 31),
            date(2025, 4, 2),
            (date(2025, 3, 1), date(2025, 5, 1), date(2025, 2, 1), date(2025, 5, 31)),
        ),
        # A week that starts in the previous month (Monday 2025-09-29) pulls the window back to it.
        (
            date(2025, 10, 1),
            date(2025, 10, 1),
            (date(2025, 9, 29), date(2025, 11, 1), date(2025, 9, 1), date(2025, 11, 30)),
        ),
    ],
)
def test_kpi_window(first, last, expected):
    window = KpiWindow.after_evaluating(first, last)
    assert (window.rewrite_first, window.rewrite_last, window.read_first, window.read_last) == expected


def test_kpi_tables_agree_with_the_daily_tables(spark, demo_lakehouse):
    """The job's KPI rows, recomputed by hand in Python from the gold daily rows they summarise."""
    lakehouse = demo_lakehouse.lakehouse
    daily = spark.read.format("delta").load(f"{lakehouse}/{FLOW_DAILY_STATUS.name}").collect()
    kpis = spark.read.format("delta").load(f"{lakehouse}/{FLOW_KPI.name}").collect()
    assert kpis, "the job wrote no KPI rows"
    for kpi in kpis:
        days = [
            r
            for r in daily
            if r.flow == kpi.flow and kpi.period_start <= r.business_date <= kpi.period_end and r.status != "PENDING"
        ]
        statuses = [r.status for r in days]
        assert kpi.days_expected == len(days), kpi
        assert (kpi.days_ok, kpi.days_warning, kpi.days_ko) == tuple(statuses.count(s) for s in ("OK", "WARNING", "KO"))
        if days:
            assert kpi.availability == pytest.approx((kpi.days_ok + kpi.days_warning) / len(days))
        durations = [r.duration_seconds for r in days if r.duration_seconds is not None]
        if durations:
            assert kpi.duration_mean_seconds == pytest.approx(sum(durations) / len(durations))
        assert kpi.max_ko_streak == max((r.consecutive_ko_days for r in days), default=0)
    weeks = {(k.flow, k.period_start): k for k in kpis if k.granularity == "week"}
    for (flow, start), week in weeks.items():
        before = weeks.get((flow, start - timedelta(days=7)))
        expected = None if before is None else week.availability - before.availability
        assert week.availability_change == pytest.approx(expected), (flow, start)
    flows = {k.flow for k in kpis}
    assert flows == {f.name for f in demo_lakehouse.config.flows}
    pipeline_kpis = spark.read.format("delta").load(f"{lakehouse}/{PIPELINE_KPI.name}")
    assert pipeline_kpis.where("granularity = 'month'").select("pipeline_name").distinct().count() >= 25
