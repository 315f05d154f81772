"""The column helpers the rules are built from, checked column against column with chispa."""

from __future__ import annotations

from datetime import date, datetime

from chispa import assert_column_equality
from pyspark.sql import functions as F

from monitoring.evaluate import hms, local_wall_clock_to_utc, median, status_from_reasons
from monitoring.ingest import normalised_status


def test_hms_keeps_counting_hours_past_a_day(spark):
    df = spark.createDataFrame(
        [(0, "00:00:00"), (59, "00:00:59"), (3661, "01:01:01"), (93784, "26:03:04"), (None, None)],
        "seconds long, expected string",
    ).withColumn("actual", hms(F.col("seconds")))
    assert_column_equality(df, "actual", "expected")


def test_local_deadline_to_utc_across_dst(spark):
    df = spark.createDataFrame(
        [
            (date(2025, 1, 15), 90, datetime(2025, 1, 15, 0, 30)),  # CET, UTC+1
            (date(2025, 3, 30), 90, datetime(2025, 3, 30, 0, 30)),  # before the spring-forward gap
            (date(2025, 3, 30), 210, datetime(2025, 3, 30, 1, 30)),  # 03:30 CEST, after the gap
            (date(2025, 7, 1), 90, datetime(2025, 6, 30, 23, 30)),  # CEST: the day before in UTC
            (date(2025, 10, 26), 90, datetime(2025, 10, 25, 23, 30)),  # fall back: still CEST at 01:30
            (date(2025, 10, 26), 24 * 60, datetime(2025, 10, 26, 23, 0)),  # end of a 25-hour day
            (date(2025, 4, 8), None, None),
        ],
        "day date, minutes int, expected timestamp",
    ).withColumn("actual", local_wall_clock_to_utc(F.col("day"), F.col("minutes"), "Europe/Paris"))
    assert_column_equality(df, "actual", "expected")


def test_median_of_arrays(spark):
    df = spark.createDataFrame(
        [([3, 1, 2], 2.0), ([4, 1, 3, 2], 2.5), ([7], 7.0), ([], None)],
        "values array<long>, expected double",
    ).withColumn("actual", median(F.col("values")))
    assert_column_equality(df, "actual", "expected")


def test_status_is_the_worst_reason(spark):
    df = spark.createDataFrame(
        [
            (True, False, False, True, "KO"),
            (False, False, True, True, "WARNING"),
            (False, True, False, False, "PENDING"),
            (False, False, False, False, "OK"),
            (None, None, None, None, "OK"),
        ],
        "missing boolean, pending boolean, late boolean, slow boolean, expected string",
    )
    flags = {code: F.lit(False) for code in ("FAILED", "CANCELLED", "RUNNING", "ORDER", "RETRIED", "FAST")}
    flags |= {code: F.col(code.lower()) for code in ("MISSING", "PENDING", "LATE", "SLOW")}
    assert_column_equality(df.withColumn("actual", status_from_reasons(flags)), "actual", "expected")


def test_run_states_are_normalised(spark):
    df = spark.createDataFrame(
        [
            ("Succeeded", "Succeeded"),
            ("SUCCESS", "Succeeded"),
            (" failure ", "Failed"),
            ("Canceled", "Cancelled"),
            ("Canceling", "Cancelled"),
            ("InProgress", "InProgress"),
            ("Queued", "Queued"),
            ("Exploded", None),
            (None, None),
        ],
        "raw string, expected string",
    ).withColumn("actual", normalised_status(F.col("raw")))
    assert_column_equality(df, "actual", "expected")
