"""Fault suite, clock and calendar: DST days both ways, a leap day, runs across local midnight, deadlines at
00:00 and 23:59, zones other than Paris (with half-hour offsets and DST at midnight).

tests/test_evaluate.py already covers a local business date, a LATE run on the spring-forward day, an on-time run on
the fall-back day and a LATE run in New York. This file adds: the zone arithmetic against Python's zoneinfo over
two years and eight zones (one Spark job), deadlines that do not exist or exist twice, durations across the gap
and the overlap, what is due at the end of a 23-hour and a 25-hour day, and the same rules in other zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from monitoring.evaluate import local_text, local_wall_clock_to_utc, with_business_date
from monitoring.vocabulary import KO, OK, PENDING, WARNING
from support import config, evaluate, runs

ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",  # +05:30, no DST
    "Pacific/Auckland",  # southern hemisphere: DST the other way round
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight: some local midnights do not exist
    "Pacific/Chatham",  # +12:45 / +13:45
    "UTC",
)
DAYS = [date(2024, 1, 1) + timedelta(days=n) for n in range(731)]  # 2024 (a leap year) and 2025
MINUTES = (0, 90, 150, 1439, 1440)  # 02:30 is in Europe's gaps and overlaps; 1440 is the end of the day (24:00)


def _utc_seconds(day: date, minutes: int, zone: str) -> int:
    """Python's answer: local wall-clock time -> UTC (zoneinfo, fold=0: the earlier of a repeated time, and a
    time skipped by DST read with the offset before the gap, i.e. moved forward by it)."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return int(wall.replace(tzinfo=ZoneInfo(zone)).timestamp())


@pytest.fixture(scope="module")
def zone_arithmetic(spark: SparkSession) -> list[Row]:
    """For every zone, day and minute: the deadline instant, the end-of-day instant (due_at) and, for a run
    starting at the deadline instant, its business date and local text. One Spark job."""
    grid = spark.createDataFrame([(d, m) for d in DAYS for m in MINUTES], "business_date date, minutes int")
    parts: list[DataFrame] = []
    for zone in ZONES:
        at = local_wall_clock_to_utc(F.col("business_date"), F.col("minutes"), zone)
        end_of_day = F.to_utc_timestamp(F.date_add("business_date", 1).cast("timestamp"), zone)  # due_at's formula
        part = grid.select(
            F.lit(zone).alias("zone"),
            "business_date",
            "minutes",
            F.unix_seconds(at).alias("at"),
            F.unix_seconds(end_of_day).alias("end_of_day"),
            F.col("business_date").alias("day"),
            at.alias("start_time"),
        )
        # One run per grid point, in no flow and no group: its business date is its own local date.
        as_runs = part.drop("business_date").select(
            "*",
            F.concat_ws("|", "day", "minutes").alias("run_id"),
            F.lit("p").alias("pipeline_name"),
            F.lit(None).cast("string").alias("run_group_id"),
        )
        dated = with_business_date(as_runs, config([{"name": "F", "pipelines": ["other"]}], timezone=zone))
        part = dated.drop("run_id", "pipeline_name", "run_group_id").withColumnRenamed("business_date", "run_date")
        parts.append(part.withColumn("start_local", local_text(F.col("start_time"), zone)).drop("start_time"))
    return reduce(DataFrame.unionByName, parts).collect()


def test_zone_arithmetic_matches_python_zoneinfo(zone_arithmetic: list[Row]):
    assert len(zone_arithmetic) == len(ZONES) * len(DAYS) * len(MINUTES)
    wrong = []
    for row in zone_arithmetic:
        expected_at = _utc_seconds(row.day, row.minutes, row.zone)
        local = datetime.fromtimestamp(expected_at, UTC).astimezone(ZoneInfo(row.zone))
        expected = (
            expected_at,
            _utc_seconds(row.day + timedelta(days=1), 0, row.zone),
            local.date(),
            local.strftime("%Y-%m-%d %H:%M:%S"),
        )
        if (row.at, row.end_of_day, row.run_date, row.start_local) != expected:
            wrong.append((row.zone, row.day, row.minutes, (row.at, row.end_of_day, row.run_date), expected))
    assert wrong[:10] == []


def test_day_lengths_follow_dst(zone_arithmetic: list[Row]):
    """The end of a business date comes 23 or 25 hours after its start on DST days, whatever the zone."""
    hours = {(row.zone, row.day): (row.end_of_day - row.at) / 3600 for row in zone_arithmetic if row.minutes == 0}
    assert hours["Europe/Paris", date(2025, 3, 30)] == 23
    assert hours["Europe/Paris", date(2025, 10, 26)] == 25
    assert hours["America/New_York", date(2025, 3, 9)] == 23
    assert hours["America/New_York", date(2025, 11, 2)] == 25
    assert hours["Pacific/Auckland", date(2025, 4, 6)] == 25  # NZ leaves DST in April
    assert hours["Australia/Lord_Howe", date(2025, 4, 6)] == 24.5
    assert hours["Asia/Kolkata", date(2025, 3, 30)] == 24
    assert hours["Europe/Paris", date(2024, 2, 29)] == 24
    # Santiago's clocks jump from 23:59:59 to 01:00 on 2024-09-08: that day starts at 01:00 and lasts 23 h.
    assert hours["America/Santiago", date(2024, 9, 8)] == 23
    assert {h for (zone, _), h in hours.items() if zone == "UTC"} == {24}


# --- Paris: the rules on DST days, a leap day, midnight and deadlines at the edges of the day ---------------

PARIS_FLOWS = [
    {
        "name": "Clock",
        "schedule": "on_demand",  # rows only on days with runs, across two years
        "pipelines": [
            {"name": "spring_gap_ok", "deadline": "02:30"},  # 02:30 does not exist on 2025-03-30: read as 03:30
            {"name": "spring_gap_late", "deadline": "02:30"},
            "spring_span",
            "fall_span",
            {"name": "fall_twice_first", "deadline": "02:30"},  # 02:30 happens twice on 2025-10-26: the first
            {"name": "fall_twice_second", "deadline": "02:30"},
            {"name": "fall_twice_ok", "deadline": "02:30"},
            "leap_span",
            {"name": "midnight_span", "deadline": "23:59"},
            {"name": "at_2359", "deadline": "23:59"},
            {"name": "after_2359", "deadline": "23:59"},
            {"name": "at_0000", "deadline": "00:00"},
            "last_microsecond",
            "first_microsecond",
        ],
    },
    {
        "name": "Expected",
        "pipelines": [
            {"name": "sundays", "schedule": "weekly:sun"},  # both DST days are Sundays
            {"name": "leap_29th", "schedule": "monthly:29"},
            {"name": "leap_thursdays", "schedule": "weekly:thu", "deadline": "00:00"},
        ],
    },
]
# (pipeline, status, start, end) in UTC: the overlap of 2025-10-26 cannot be written as Paris wall-clock time.
PARIS_RUNS_UTC = [
    ("spring_gap_ok", "Succeeded", "2025-03-30 01:00", "2025-03-30 01:20"),  # ends 03:20 CEST, deadline 03:30
    ("spring_gap_late", "Succeeded", "2025-03-30 01:00", "2025-03-30 01:40"),  # ends 03:40 CEST
    ("spring_span", "Succeeded", "2025-03-30 00:30", "2025-03-30 01:30"),  # 01:30 CET -> 03:30 CEST: 1 hour
    ("fall_span", "Succeeded", "2025-10-26 00:30", "2025-10-26 01:30"),  # 02:30 CEST -> 02:30 CET: 1 hour
    ("fall_twice_first", "Succeeded", "2025-10-26 00:00", "2025-10-26 00:45"),  # ends 02:45 CEST
    ("fall_twice_second", "Succeeded", "2025-10-26 00:00", "2025-10-26 01:15"),  # ends 02:15 CET
    ("fall_twice_ok", "Succeeded", "2025-10-26 00:00", "2025-10-26 00:15"),  # ends 02:15 CEST
]
PARIS_RUNS_LOCAL = [
    ("leap_span", "Succeeded", "2024-02-29 23:50", "2024-03-01 00:20"),
    ("midnight_span", "Succeeded", "2025-04-08 23:30", "2025-04-09 00:10"),
    ("at_2359", "Succeeded", "2025-04-08 23:00", "2025-04-08 23:59:00"),  # at the deadline: on time
    ("after_2359", "Succeeded", "2025-04-08 23:00", "2025-04-08 23:59:30"),  # seconds count
    ("at_0000", "Succeeded", "2025-04-08 00:00", "2025-04-08 00:05"),
    ("last_microsecond", "Succeeded", "2025-04-08 23:59:59.999999", "2025-04-09 00:10"),
    ("first_microsecond", "Succeeded", "2025-04-09 00:00:00", "2025-04-09 00:10"),
    ("leap_thursdays", "Succeeded", "2024-02-29 00:00", "2024-02-29 00:01"),
]
UNSCHEDULED = " (not scheduled this day)"  # the Clock flow's pipelines are on_demand
PARIS_AS_OF = "2025-10-26T23:30"  # 22:30 UTC: the 25-hour 26 October is not over yet


@pytest.fixture(scope="module")
def paris(spark: SparkSession) -> dict[tuple[str, date], Row]:
    cfg = config(PARIS_FLOWS)
    data = runs(spark, PARIS_RUNS_UTC, timezone="UTC").unionByName(
        runs(spark, PARIS_RUNS_LOCAL).withColumn("run_id", F.concat(F.lit("local-"), "run_id"))
    )
    pipelines, _ = evaluate(spark, cfg, data, date(2024, 2, 28), date(2025, 10, 26), as_of=PARIS_AS_OF)
    return {(row.pipeline_name, row.business_date): row for row in pipelines}


def _row(rows: dict[tuple[str, date], Row], name: str) -> Row:
    (row,) = [r for (n, _), r in rows.items() if n == name]
    return row


@pytest.mark.parametrize(
    ("pipeline", "day", "status", "reason", "detail"),
    [
        ("spring_gap_ok", "2025-03-30", OK, None, "succeeded, ended 03:20:00" + UNSCHEDULED),
        # A deadline in a skipped or repeated hour is applied one documented way, and the detail says which.
        (
            "spring_gap_late",
            "2025-03-30",
            WARNING,
            "LATE",
            "ended 03:40:00, deadline 02:30 (applied at 03:30: the clock skipped 02:30)",
        ),
        (
            "fall_twice_first",
            "2025-10-26",
            WARNING,
            "LATE",
            "ended 02:45:00, deadline 02:30 (the first of the two 02:30s)",
        ),
        # After the first 02:30, though its wall clock reads 02:15 (the detail shows it as it happened).
        (
            "fall_twice_second",
            "2025-10-26",
            WARNING,
            "LATE",
            "ended 02:15:00, deadline 02:30 (the first of the two 02:30s)",
        ),
        ("fall_twice_ok", "2025-10-26", OK, None, "succeeded, ended 02:15:00" + UNSCHEDULED),
        ("midnight_span", "2025-04-08", WARNING, "LATE", "ended 00:10:00, deadline 23:59"),
        ("at_2359", "2025-04-08", OK, None, "succeeded, ended 23:59:00" + UNSCHEDULED),
        ("after_2359", "2025-04-08", WARNING, "LATE", "ended 23:59:30, deadline 23:59"),
        # A deadline of 00:00 is the start of the business date: every run of that date ends after it.
        ("at_0000", "2025-04-08", WARNING, "LATE", "ended 00:05:00, deadline 00:00"),
        ("last_microsecond", "2025-04-08", OK, None, "succeeded, ended 00:10:00" + UNSCHEDULED),
        ("first_microsecond", "2025-04-09", OK, None, "succeeded, ended 00:10:00" + UNSCHEDULED),
        ("leap_span", "2024-02-29", OK, None, "succeeded, ended 00:20:00" + UNSCHEDULED),
    ],
)
def test_paris_deadlines_and_business_dates(paris, pipeline: str, day: str, status: str, reason: Any, detail: str):
    row = _row(paris, pipeline)
    assert (str(row.business_date), row.status, row.reason, row.detail) == (day, status, reason, detail)


@pytest.mark.parametrize(
    ("pipeline", "start_local", "end_local", "duration_hms"),
    [
        ("spring_span", "2025-03-30 01:30:00", "2025-03-30 03:30:00", "01:00:00"),
        ("fall_span", "2025-10-26 02:30:00", "2025-10-26 02:30:00", "01:00:00"),  # same wall clock, 1 hour later
        ("leap_span", "2024-02-29 23:50:00", "2024-03-01 00:20:00", "00:30:00"),
        ("midnight_span", "2025-04-08 23:30:00", "2025-04-09 00:10:00", "00:40:00"),
    ],
)
def test_durations_are_real_time_not_wall_clock(paris, pipeline: str, start_local: str, end_local: str, duration_hms):
    row = _row(paris, pipeline)
    assert (row.start_local, row.end_local, row.duration_hms) == (start_local, end_local, duration_hms)


def test_end_of_day_is_due_after_23_and_25_hours(paris):
    """as_of 2025-10-26 23:30: the 23-hour 30 March ended long ago (MISSING); the 25-hour 26 October ends at 24:00
    local, 23:00 UTC, so its expected pipeline is not due yet (PENDING)."""
    sundays = {day: row for (name, day), row in paris.items() if name == "sundays"}
    assert (sundays[date(2025, 3, 30)].status, sundays[date(2025, 3, 30)].reason) == (KO, "MISSING")
    assert (sundays[date(2025, 10, 26)].status, sundays[date(2025, 10, 26)].reason) == (PENDING, "PENDING")
    assert all(d.isoweekday() == 7 for d in sundays)
    assert len(sundays) == 87  # every Sunday from 2024-03-03 to 2025-10-26


def test_leap_day_schedules(paris):
    days_29 = {day for (name, day) in paris if name == "leap_29th"}
    assert date(2024, 2, 29) in days_29
    assert not [d for d in days_29 if d.month == 2 and d.year == 2025]  # no 29 February 2025: not expected
    assert len(days_29) == 19  # the 29th of 2024-02 .. 2025-09, but February 2025
    thursday = paris["leap_thursdays", date(2024, 2, 29)]
    assert (thursday.expected, thursday.status, thursday.reason) == (True, WARNING, "LATE")  # deadline 00:00


# --- other zones: New York (DST on other dates) and Kolkata (+05:30) ---------------------------------------


def _zone_rows(
    spark: SparkSession, zone: str, flows: list[dict[str, Any]], data: list[tuple], first: date, last: date, as_of: str
) -> dict[tuple[str, date], Row]:
    cfg = config(flows, timezone=zone)
    pipelines, _ = evaluate(spark, cfg, runs(spark, data, timezone="UTC"), first, last, as_of=as_of)
    return {(row.pipeline_name, row.business_date): row for row in pipelines}


# One evaluation each (~4 s): heavy, for the time budget of `make test`; the zone arithmetic of both zones is
# checked in every run by test_zone_arithmetic_matches_python_zoneinfo.
@pytest.mark.heavy
def test_new_york_dst_days(spark: SparkSession):
    flows = [
        {"name": "NY", "schedule": "on_demand", "deadline": "02:30", "pipelines": ["gap", "twice", "late_night"]},
        {"name": "Due", "pipelines": [{"name": "sundays", "schedule": "weekly:sun"}]},
    ]
    data = [
        ("gap", "Succeeded", "2025-03-09 06:30", "2025-03-09 07:20"),  # 01:30 EST -> 03:20 EDT; deadline 03:30 EDT
        ("twice", "Succeeded", "2025-11-02 05:00", "2025-11-02 06:15"),  # ends 01:15 EST, after 02:30? no: OK
        ("late_night", "Succeeded", "2025-11-03 04:30", "2025-11-03 04:45"),  # 23:30 EST on 2 November
    ]
    rows = _zone_rows(spark, "America/New_York", flows, data, date(2025, 3, 9), date(2025, 11, 2), "2025-11-02T23:15")
    gap = rows["gap", date(2025, 3, 9)]
    assert (gap.status, gap.duration_hms, gap.start_local, gap.end_local) == (
        OK,
        "00:50:00",
        "2025-03-09 01:30:00",
        "2025-03-09 03:20:00",
    )
    assert rows["twice", date(2025, 11, 2)].status == OK
    late_night = rows["late_night", date(2025, 11, 2)]
    assert (late_night.start_local, late_night.reason) == ("2025-11-02 23:30:00", "LATE")  # deadline 02:30 that day
    assert rows["sundays", date(2025, 3, 9)].reason == "MISSING"
    assert rows["sundays", date(2025, 11, 2)].reason == "PENDING"  # the 25-hour day ends at 05:00 UTC


@pytest.mark.heavy
def test_kolkata_half_hour_offset(spark: SparkSession):
    flows = [{"name": "IN", "deadline": "00:30", "pipelines": ["early", "late", "never"]}]
    data = [
        ("early", "Succeeded", "2025-04-07 18:40", "2025-04-07 18:55"),  # 00:10 -> 00:25 IST on 8 April
        ("late", "Succeeded", "2025-04-07 18:40", "2025-04-07 19:05"),  # ends 00:35 IST
    ]
    before = _zone_rows(spark, "Asia/Kolkata", flows, data, date(2025, 4, 8), date(2025, 4, 8), "2025-04-08T00:29")
    assert {name: (row.status, row.reason) for (name, _), row in before.items()} == {
        "early": (OK, None),
        "late": (WARNING, "LATE"),
        "never": (PENDING, "PENDING"),  # 00:29 IST: not due before 00:30 IST (19:00 UTC the day before)
    }
    early = before["early", date(2025, 4, 8)]
    assert (early.start_local, early.end_local) == ("2025-04-08 00:10:00", "2025-04-08 00:25:00")
    assert before["late", date(2025, 4, 8)].detail == "ended 00:35:00, deadline 00:30"
