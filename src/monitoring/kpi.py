"""Weekly and monthly trends (availability, on-time rate, durations, KO streaks) from the gold daily tables.

The KPI tables are derived data: each night rewrites only the periods the evaluated dates touch, plus the
period after each (its ``*_change`` columns compare with the touched one). Nothing here reads silver or
re-applies status rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from monitoring.tables import FLOW_KPI, PIPELINE_KPI
from monitoring.vocabulary import KO, OK, PENDING, WARNING

GRANULARITIES = ("week", "month")  # the KPI tables' granularity values (a row of charts each in Power BI's Trends page)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month_start(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class KpiWindow:
    """Which periods to rewrite after evaluating [first, last], and which daily rows that needs."""

    rewrite_first: date  # period_start of the rewritten rows, both granularities
    rewrite_last: date
    read_first: date  # business dates of the daily rows those periods and their previous ones cover
    read_last: date

    @staticmethod
    def after_evaluating(first: date, last: date) -> KpiWindow:
        rewrite_first = min(_monday(first), _month_start(first))
        rewrite_last = max(_monday(last) + timedelta(days=7), _next_month_start(last))
        # The previous period of every rewritten one starts at or after the 1st of the month before
        # rewrite_first (a week is shorter than any month); the last rewritten period ends by the end of
        # rewrite_last's month or week.
        read_first = _month_start(rewrite_first - timedelta(days=1))
        read_last = max(rewrite_last + timedelta(days=6), _next_month_start(rewrite_last) - timedelta(days=1))
        return KpiWindow(rewrite_first, rewrite_last, read_first, read_last)


def with_periods(daily: DataFrame) -> DataFrame:
    """Each daily row twice: once in its week (Monday start), once in its month."""
    day = F.col("business_date")
    periods = F.array(
        F.struct(F.lit("week").alias("granularity"), F.trunc(day, "week").alias("period_start")),
        F.struct(F.lit("month").alias("granularity"), F.trunc(day, "month").alias("period_start")),
    )
    return (
        daily.withColumn("period", F.explode(periods))
        .withColumn("granularity", F.col("period.granularity"))
        .withColumn("period_start", F.col("period.period_start"))
        .drop("period")
    )


def period_end(granularity: Column, start: Column) -> Column:
    return F.when(granularity == "week", F.date_add(start, 6)).otherwise(F.last_day(start))


def previous_period_start(granularity: Column, start: Column) -> Column:
    return F.when(granularity == "week", F.date_sub(start, 7)).otherwise(F.add_months(start, -1))


def period_kpis(daily: DataFrame, keys: list[str], counted: Column, duration: Column) -> DataFrame:
    """KPIs per (granularity, period_start, *keys) from daily status rows.

    ``counted`` selects the days that had a final status (expected and not PENDING); ``duration`` is the
    duration to average, null on days that have none worth comparing.
    """
    status = F.col("status")

    def days(*statuses: str) -> Column:
        return F.sum((counted & status.isin(*statuses)).cast("int")).cast("int")

    per_period = (
        with_periods(daily.withColumn("kpi_duration", duration.cast("double")))
        .groupBy("granularity", "period_start", *keys)
        .agg(
            days(OK, WARNING, KO).alias("days_expected"),
            days(OK).alias("days_ok"),
            days(WARNING).alias("days_warning"),
            days(KO).alias("days_ko"),
            F.avg("kpi_duration").alias("duration_mean_seconds"),
            F.percentile("kpi_duration", F.lit(0.5)).alias("duration_median_seconds"),
            F.percentile("kpi_duration", F.lit(0.9)).alias("duration_p90_seconds"),
            F.coalesce(F.max("consecutive_ko_days"), F.lit(0)).cast("int").alias("max_ko_streak"),
        )
    )
    expected = F.col("days_expected")
    rates = per_period.select(
        "*",
        F.when(expected > 0, (F.col("days_ok") + F.col("days_warning")) / expected).alias("availability"),
        F.when(expected > 0, F.col("days_ok") / expected).alias("on_time_rate"),
    )
    history = Window.partitionBy("granularity", *keys).orderBy("period_start")
    is_previous = F.lag("period_start").over(history) == previous_period_start(
        F.col("granularity"), F.col("period_start")
    )

    def change(column: str) -> Column:
        # Only against the period right before: a gap (a flow paused for a month) is no "previous period".
        return F.when(is_previous, F.col(column) - F.lag(column).over(history))

    return rates.select(
        "*",
        period_end(F.col("granularity"), F.col("period_start")).alias("period_end"),
        change("availability").alias("availability_change"),
        change("on_time_rate").alias("on_time_rate_change"),
        change("duration_mean_seconds").alias("duration_mean_change_seconds"),
    )


def flow_kpis(flow_daily: DataFrame, evaluated_at: datetime) -> DataFrame:
    """``flow_kpi`` rows; a flow's duration is its span, first start to last end, once the day is decided."""
    decided = F.col("status") != PENDING
    kpis = period_kpis(flow_daily, ["flow"], decided, F.when(decided, F.col("duration_seconds")))
    return kpis.withColumn("evaluated_at", F.lit(evaluated_at)).select(FLOW_KPI.schema.fieldNames())


def pipeline_kpis(pipeline_daily: DataFrame, evaluated_at: datetime) -> DataFrame:
    """``pipeline_kpi`` rows; durations are those of successful final runs (what "creeping up" is about)."""
    succeeded = F.when(F.col("last_run_status") == "Succeeded", F.col("duration_seconds"))
    kpis = period_kpis(
        pipeline_daily, ["flow", "pipeline_name"], F.col("expected") & (F.col("status") != PENDING), succeeded
    )
    return kpis.withColumn("evaluated_at", F.lit(evaluated_at)).select(PIPELINE_KPI.schema.fieldNames())


def in_window(kpis: DataFrame, window: KpiWindow) -> DataFrame:
    return kpis.where(F.col("period_start").between(F.lit(window.rewrite_first), F.lit(window.rewrite_last)))
