"""Status rules: silver runs -> daily pipeline and flow statuses, as DataFrame transformations.

Per-pipeline settings (schedule, deadline, duration rules, predecessors) are columns of a small
*pipeline catalog* frame built from the config, so every rule is one column expression evaluated for
all pipelines at once: no per-pipeline loop, no UDF, no collect of run-level data.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import (
    LAST_DAY_OF_MONTH,
    UNASSIGNED_FLOW,
    Config,
    PipelineRule,
    baseline_counts,
    baseline_history_start,
)
from monitoring.tables import FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS
from monitoring.vocabulary import (
    CANCELLED,
    FAILED,
    KO,
    OK,
    PENDING,
    QUEUED,
    REASONS,
    STATUS_COLORS,
    SUCCEEDED,
    TERMINAL_STATES,
    WARNING,
)


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation is asked: the business dates, the clock, the zone."""

    first: date
    last: date
    as_of: datetime  # timezone-aware; decides what is due
    evaluated_at: datetime  # timezone-aware; stamped on every row
    timezone: str

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"first date {self.first} is after last date {self.last}")
        if self.as_of.tzinfo is None or self.evaluated_at.tzinfo is None:
            raise ValueError("as_of and evaluated_at must be timezone-aware")


# --- the pipeline catalog ------------------------------------------------------------------------------

CATALOG_SCHEMA = T.StructType(
    [
        T.StructField("pipeline_name", T.StringType(), False),
        T.StructField("flow", T.StringType(), False),
        T.StructField("execution_order", T.IntegerType()),
        T.StructField("schedule_kind", T.StringType(), False),
        T.StructField("schedule_days", T.ArrayType(T.IntegerType()), False),
        T.StructField("deadline_minutes", T.IntegerType()),
        T.StructField("baseline_days", T.IntegerType(), False),
        T.StructField("min_samples", T.IntegerType(), False),
        T.StructField("slow_factor", T.DoubleType(), False),
        T.StructField("slow_min_delta_seconds", T.DoubleType(), False),
        T.StructField("fast_factor", T.DoubleType(), False),
        T.StructField("fast_min_baseline_seconds", T.DoubleType(), False),
        T.StructField("depends_on", T.ArrayType(T.StringType()), False),
        T.StructField("chain", T.ArrayType(T.StringType()), False),
        T.StructField("day_starts_at", T.IntegerType(), False),
        T.StructField("baseline_calendar", T.StringType(), False),
    ]
)
RULE_COLUMNS = tuple(f.name for f in CATALOG_SCHEMA.fields if f.name != "pipeline_name")


def _catalog_row(rule: PipelineRule) -> tuple:
    d = rule.duration
    return (
        rule.name,
        rule.flow,
        rule.execution_order or None,
        rule.schedule.kind,
        list(rule.schedule.days),
        rule.deadline.hour * 60 + rule.deadline.minute if rule.deadline else None,
        d.baseline_days,
        d.min_samples,
        float(d.slow_factor),
        float(d.slow_min_delta_minutes) * 60,
        float(d.fast_factor),
        float(d.fast_min_baseline_minutes) * 60,
        list(rule.depends_on),
        list(rule.chain),
        rule.day_starts_at,
        rule.baseline_calendar,
    )


def pipeline_catalog(spark: SparkSession, config: Config) -> DataFrame:
    """One row per configured pipeline with its resolved rule settings."""
    return spark.createDataFrame([_catalog_row(p) for p in config.pipelines], CATALOG_SCHEMA)


def with_rules(df: DataFrame, catalog: DataFrame, config: Config) -> DataFrame:
    """Attach each pipeline's rule columns; a pipeline in no flow gets the defaults and flow UNASSIGNED."""
    defaults = dict(zip(CATALOG_SCHEMA.fieldNames(), _catalog_row(config.defaults), strict=True))
    joined = df.drop(*[c for c in RULE_COLUMNS if c in df.columns]).join(F.broadcast(catalog), "pipeline_name", "left")
    # One select, not a withColumn per setting: each withColumn re-analyses the whole plan.
    return joined.withColumns(
        {
            name: F.coalesce(F.col(name), F.lit(defaults[name]).cast(CATALOG_SCHEMA[name].dataType))
            for name in RULE_COLUMNS
        }
    )


def is_expected(business_date: Column) -> Column:
    """Whether the schedule in the row's rule columns expects a run on ``business_date``."""
    iso_weekday = (F.dayofweek(business_date) + 5) % 7 + 1  # Spark: 1 = Sunday; ISO: 1 = Monday
    kind = F.col("schedule_kind")
    return (
        F.when(kind == "daily", True)
        .when(kind == "weekdays", iso_weekday <= 5)
        .when(kind == "weekly", F.array_contains("schedule_days", iso_weekday))
        .when(
            kind == "monthly",
            F.array_contains("schedule_days", F.dayofmonth(business_date))
            | (F.array_contains("schedule_days", LAST_DAY_OF_MONTH) & (business_date == F.last_day(business_date))),
        )
        .otherwise(False)
    )


# --- small column helpers ------------------------------------------------------------------------------


def local_text(ts: Column, timezone: str, pattern: str = "yyyy-MM-dd HH:mm:ss") -> Column:
    return F.date_format(F.from_utc_timestamp(ts, timezone), pattern)


def hms(seconds: Column) -> Column:
    """Seconds -> ``HH:MM:SS``; hours keep counting past 24."""
    s = seconds.cast("long")
    return F.when(
        s.isNotNull(),
        F.format_string("%02d:%02d:%02d", F.floor(s / 3600), F.floor((s % 3600) / 60), s % 60),
    )


def local_wall_clock_to_utc(business_date: Column, minutes: Column, timezone: str) -> Column:
    """The UTC instant of local time ``minutes`` after midnight on ``business_date`` (DST-correct)."""
    wall = F.timestamp_seconds(F.unix_timestamp(business_date.cast("timestamp")) + minutes.cast("long") * 60)
    return F.to_utc_timestamp(wall, timezone)


def clock_moment_utc(business_date: Column, minutes: Column, day_starts_at: Column, timezone: str) -> Column:
    """The UTC moment in ``business_date``'s span when the local clock shows ``minutes`` after midnight.

    With a day starting the evening before (-02:00), 23:30 is on the evening before; with one starting at
    06:00, 05:00 is the next morning. DST as :func:`monitoring.config.clock_moment` (which the tests hold
    this to): a skipped time is applied as far after the gap, a repeated one at its first occurrence.
    """
    shift = (
        F.when((day_starts_at < 0) & (minutes >= 24 * 60 + day_starts_at), -1)
        .when((day_starts_at > 0) & (minutes < day_starts_at), 1)
        .otherwise(0)
    )
    return local_wall_clock_to_utc(F.date_add(business_date, shift), minutes, timezone)


def span_date(start_time: Column, day_starts_at: Column, timezone: str) -> Column:
    """The business date whose span holds ``start_time``: [D's midnight + offset, D+1's midnight + offset)."""
    local = F.from_utc_timestamp(start_time, timezone)
    guess = F.to_date(local - F.make_dt_interval(mins=day_starts_at))
    # The wall-clock guess is off by one around a DST change; the spans' instants decide.
    return (
        F.when(start_time < local_wall_clock_to_utc(guess, day_starts_at, timezone), F.date_sub(guess, 1))
        .when(
            start_time >= local_wall_clock_to_utc(F.date_add(guess, 1), day_starts_at, timezone),
            F.date_add(guess, 1),
        )
        .otherwise(guess)
    )


# Runs reached through run groups and invoking runs: a link of at most 2**4 hops (a rerun of a master whose
# children invoke children...) is followed to the run that holds the date.
_LINK_ROUNDS = 4


def with_span_date(runs: DataFrame, config: Config) -> DataFrame:
    """``runs`` with ``span_date``: the business date whose span holds each run's start, with its pipeline's
    ``day_starts_at`` (the defaults' for a pipeline in no flow)."""
    offsets = runs.sparkSession.createDataFrame(
        [(p.name, p.day_starts_at) for p in config.pipelines], "_pipeline string, _day_starts_at int"
    )
    return (
        runs.join(F.broadcast(offsets), F.col("pipeline_name") == F.col("_pipeline"), "left")
        .withColumn("_day_starts_at", F.coalesce("_day_starts_at", F.lit(config.defaults.day_starts_at)))
        .withColumn("span_date", span_date(F.col("start_time"), F.col("_day_starts_at"), config.timezone))
        .drop("_pipeline", "_day_starts_at")
    )


def earliest_business_date(runs: DataFrame, config: Config) -> DataFrame:
    """One row, ``business_date``: the earliest business date any of ``runs`` counts for (null without runs).

    Only the runs of the first three days are dated. A run counts for the span date of a run that started before
    it (itself, its group's earliest run, the run that invoked it), so the earliest date is a span date of such a
    root run. The very first run is one, and its date is at most a day after its start; a run starting three days
    later has a span date at least two days after that start: no root of the earliest date is later.
    """
    first_start = runs.agg(F.min("start_time").alias("_first_start"))
    early = runs.join(
        F.broadcast(first_start), F.col("start_time") < F.col("_first_start") + F.make_dt_interval(days=F.lit(3))
    ).drop("_first_start")
    return with_business_date(early, config).agg(F.min("business_date").alias("business_date"))


def with_run_dates(runs: DataFrame, config: Config) -> DataFrame:
    """``business_date`` as :func:`with_business_date`, plus ``span_date``: the date whose span holds the
    run's own start (the flow's start-end span counts only the runs whose two dates agree)."""
    has_invoker = "invoked_by_run_id" in runs.columns  # a silver table from before the column: no links
    dated = with_span_date(runs, config)
    group = Window.partitionBy("run_group_id").orderBy("start_time", "run_id")
    group_first = F.when(F.col("run_group_id").isNotNull(), F.first("run_id").over(group))
    invokers = dated.select(F.col("run_id").alias("_invoker"))
    invoker = F.col("invoked_by_run_id") if has_invoker else F.lit(None).cast("string")
    # A run's link: the run that invoked it if that run is here, else its group's earliest run (if not itself).
    linked = (
        dated.select("*", invoker.alias("_invoked_by"), group_first.alias("_group_first"))
        .join(invokers, F.col("_invoked_by") == F.col("_invoker"), "left")
        .select(
            *runs.columns,
            "span_date",
            F.coalesce(
                F.col("_invoker"), F.when(F.col("_group_first") != F.col("run_id"), F.col("_group_first"))
            ).alias("_next"),
        )
        # Every run with its own date and its link, computed once: the rounds below and the result read this, not
        # the runs again (the runs of a rebuild are all of silver).
        .localCheckpoint()
    )
    links = linked.select("run_id", F.col("span_date").alias("_date"), "_next")
    followed = False
    for _ in range(_LINK_ROUNDS):  # pointer doubling: each round follows twice as many links
        if links.where(F.col("_next").isNotNull()).isEmpty():  # most nights: no rerun or child run to follow
            break
        target = links.select(
            F.col("run_id").alias("_target"), F.col("_date").alias("_target_date"), F.col("_next").alias("_target_next")
        )
        links = (
            links.join(target, F.col("_next") == F.col("_target"), "left")
            .select(
                "run_id",
                F.coalesce("_target_date", "_date").alias("_date"),
                F.when(F.col("_target").isNotNull(), F.col("_target_next")).alias("_next"),
            )
            .localCheckpoint()
        )
        followed = True
    if not followed:  # no run links to another: each run counts for its own span's date
        return linked.select(*runs.columns, "span_date", F.col("span_date").alias("business_date"))
    dates = links.select("run_id", F.col("_date").alias("business_date"))
    return linked.join(dates, "run_id", "left").select(*runs.columns, "span_date", "business_date")


def with_business_date(runs: DataFrame, config: Config) -> DataFrame:
    """``runs`` with ``business_date``: the business date each run counts for.

    - A run's own date is the business date whose span holds its start: with its flow's ``day_starts_at``
      (defaults' for a pipeline in no flow), D runs from D's midnight plus the offset to D+1's midnight plus
      the offset, local time (``config.timezone``).
    - A run invoked by another pipeline's run (``invoked_by_run_id``) has that run's date.
    - Otherwise a run of a group (``run_group_id``: a rerun and the run it recovers) has the date of the
      group's earliest run (by start); a run without a group keeps its own date.
    These follow each other: the children of a rerun master have the master group's date.

    Only what is in ``runs`` is seen. To date a run right, ``runs`` must also hold (any columns are kept):
    - the earliest run of its group (any other run of the group is not needed), and
    - the run that invoked it, and, transitively, that run's invoking run and its group's earliest run.
    A run whose linked run is missing gets the date the links present give (at worst its own date).
    Silver's columns used: ``run_id``, ``pipeline_name``, ``start_time``, ``run_group_id``,
    ``invoked_by_run_id`` (optional). One row per ``run_id``.
    """
    return with_run_dates(runs, config).drop("span_date")


def median(values: Column) -> Column:
    """Median of a numeric array column, via sorting (null when empty)."""
    ordered = F.array_sort(values)
    n = F.size(ordered)
    middle = F.element_at(ordered, ((n + 1) / 2).cast("int")).cast("double")
    upper = F.element_at(ordered, (n / 2 + 1).cast("int")).cast("double")
    return F.when(n == 0, None).when(n % 2 == 1, middle).otherwise((middle + upper) / 2)


# --- rule steps ----------------------------------------------------------------------------------------


def final_runs(runs: DataFrame) -> DataFrame:
    """One row per (pipeline_name, business_date): the final run (latest start) and the day's counts.

    ``span_start_time``/``span_end_time``: the first start and last end of its runs that started within the
    business day itself (``span_date``), so a next-morning rerun counts for the status, not for the flow's span.
    """
    final_fields = [
        "run_id",
        "status",
        "start_time",
        "end_time",
        "duration_seconds",
        "error_message",
        "failure_type",
    ]
    bad = F.col("status").isin(FAILED, CANCELLED)
    in_span = F.col("span_date") == F.col("business_date")
    return (
        runs.groupBy("pipeline_name", "business_date")
        .agg(
            F.max_by(F.struct(*final_fields), F.struct("start_time", "run_id")).alias("final"),
            F.count("*").cast("int").alias("run_count"),
            F.sum(bad.cast("int")).cast("int").alias("failed_run_count"),
            F.min(F.when(in_span, F.col("start_time"))).alias("span_start_time"),
            F.max(F.when(in_span, F.col("end_time"))).alias("span_end_time"),
        )
        .select(
            "pipeline_name",
            "business_date",
            "run_count",
            "failed_run_count",
            "span_start_time",
            "span_end_time",
            *[F.col(f"final.{c}").alias(c) for c in final_fields],
        )
        .withColumnRenamed("status", "last_run_status")
    )


def baseline_ordinals(spark: SparkSession, calendars: set[str], first: date, last: date) -> DataFrame:
    """(baseline_calendar, business_date, day_ordinal, counted) for every day in [first, last]: how many days
    of that calendar come before it, and whether it is one. Built on the driver from
    :func:`monitoring.config.baseline_counts` (calendars x days: a few thousand rows), so the baseline counts
    exactly the days the Python schedule expects."""
    rows = []
    for calendar in sorted(calendars):
        counted = 0
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            is_counted = baseline_counts(calendar, day)
            rows.append((calendar, day, counted, is_counted))
            counted += is_counted
    return spark.createDataFrame(rows, "baseline_calendar string, business_date date, day_ordinal int, counted boolean")


def with_duration_baseline(
    daily: DataFrame, history: DataFrame, ordinals: DataFrame, baseline_days: Collection[int]
) -> DataFrame:
    """``baseline_duration_seconds``: median duration of the successful final runs on the previous
    ``baseline_days`` days the pipeline's schedule expects (``baseline_calendar``), when there are at least
    ``min_samples`` of them.

    Null on a day without a run (``run_id`` null): there is no duration to compare.

    ``daily``: the evaluated rows, with the rule columns. ``history``: (pipeline_name, business_date,
    last_run_status, duration_seconds) of the stored days before them, with the rule columns (:func:`with_rules`).
    ``ordinals``: :func:`baseline_ordinals` over both. ``baseline_days``: every value the pipelines' rules use (a
    window frame's bounds are literals: one frame per value, and most configs have one or two).
    """
    sample_columns = ["pipeline_name", "business_date", "last_run_status", "duration_seconds"]
    past = history.select(
        *sample_columns, "baseline_calendar", "baseline_days", "min_samples", F.lit(False).alias("_evaluated")
    )
    rows = daily.withColumn("_evaluated", F.lit(True)).unionByName(past, allowMissingColumns=True)
    rows = rows.join(F.broadcast(ordinals), ["baseline_calendar", "business_date"], "left")
    sample = F.when(F.col("counted") & (F.col("last_run_status") == SUCCEEDED), F.col("duration_seconds"))
    by_ordinal = Window.partitionBy("pipeline_name").orderBy("day_ordinal")
    durations = F.lit(None)
    for days in sorted(set(baseline_days)):
        previous_days = F.collect_list(sample).over(by_ordinal.rangeBetween(-days, -1))
        durations = F.when(F.col("baseline_days") == days, previous_days).otherwise(durations)
    return (
        rows.withColumn(
            "baseline_duration_seconds",
            F.when(F.col("run_id").isNotNull() & (F.size(durations) >= F.col("min_samples")), median(durations)),
        )
        .where("_evaluated")
        .drop("_evaluated", "counted", "day_ordinal")
    )


def expected_days(catalog: DataFrame, first: date, last: date) -> DataFrame:
    """(pipeline_name, business_date) for every configured pipeline its schedule expects in the range."""
    days = catalog.sparkSession.range(1).select(F.explode(F.sequence(F.lit(first), F.lit(last))).alias("business_date"))
    return (
        catalog.crossJoin(days)
        .where(is_expected(F.col("business_date")))
        .select("pipeline_name", "business_date", F.lit(True).alias("expected"))
    )


def predecessors(daily: DataFrame) -> DataFrame:
    """(pipeline_name, business_date, start_time, predecessor) for each row with a run: every ``depends_on``,
    and in a sequential flow the nearest earlier member expected that day (``chain``). A member's run on a day
    its schedule does not expect has no chain predecessor and is no one's."""
    with_run = daily.where(F.col("run_id").isNotNull())
    literal = with_run.select(
        "pipeline_name", "business_date", "start_time", F.explode("depends_on").alias("predecessor")
    )
    expected_members = daily.where("expected").select(F.col("pipeline_name").alias("_member"), "business_date")
    chained = (
        with_run.where("expected")
        .select("pipeline_name", "business_date", "start_time", F.posexplode("chain").alias("_pos", "_member"))
        .join(expected_members, ["_member", "business_date"])
        .groupBy("pipeline_name", "business_date", "start_time")
        .agg(F.min_by("_member", "_pos").alias("predecessor"))
    )
    return literal.unionByName(chained)


def order_violations(daily: DataFrame) -> DataFrame:
    """(pipeline_name, business_date, order_predecessors, order_predecessor_end) where the final run started
    before the final run of a pipeline it must follow (:func:`predecessors`) had ended, both on that date."""
    this = predecessors(daily)
    before = daily.select(
        F.col("pipeline_name").alias("predecessor"),
        "business_date",
        F.col("end_time").alias("predecessor_end"),
        F.col("last_run_status").alias("predecessor_status"),
    )
    not_ended = F.col("predecessor_end").isNull() & ~F.col("predecessor_status").isin(*TERMINAL_STATES)
    violated = not_ended | (F.col("start_time") < F.col("predecessor_end"))
    return (
        this.join(before, ["predecessor", "business_date"])
        .where(violated)
        .groupBy("pipeline_name", "business_date")
        .agg(
            F.array_join(F.array_sort(F.collect_set("predecessor")), ", ").alias("order_predecessors"),
            F.max("predecessor_end").alias("order_predecessor_end"),
        )
    )


def _reason_flags(ev: Evaluation) -> dict[str, Column]:
    """Each reason code's condition, over a row of the joined day table."""
    has_run = F.col("run_id").isNotNull()
    succeeded = F.col("last_run_status") == SUCCEEDED
    ended = F.col("last_run_status").isin(*TERMINAL_STATES)
    due = F.lit(ev.as_of) >= F.col("due_at")
    baseline = F.col("baseline_duration_seconds")
    duration = F.col("duration_seconds")
    return {
        "MISSING": F.col("expected") & ~has_run & due,
        "FAILED": F.col("last_run_status") == FAILED,
        "CANCELLED": F.col("last_run_status") == CANCELLED,
        "RUNNING": has_run & ~ended & due,
        "PENDING": ~due & ((F.col("expected") & ~has_run) | (has_run & ~ended)),
        "LATE": succeeded & (F.col("end_time") > F.col("deadline_at")),
        "ORDER": F.col("order_predecessors").isNotNull(),
        "RETRIED": succeeded & (F.col("failed_run_count") > 0),
        "SLOW": succeeded
        & (duration > F.col("slow_factor") * baseline)
        & (duration >= baseline + F.col("slow_min_delta_seconds")),
        "FAST": succeeded
        & (duration < F.col("fast_factor") * baseline)
        & (baseline >= F.col("fast_min_baseline_seconds")),
    }


def deadline_text(tz: str) -> Column:
    """The deadline as configured ("02:30"), and how it was applied on a DST day: "02:30 (applied at 03:30:
    the clock skipped 02:30)" in spring, "02:30 (the first of the two 02:30s)" in autumn."""
    minutes = F.col("deadline_minutes")
    configured = F.format_string("%02d:%02d", F.floor(minutes / 60), minutes % 60)
    applied = local_text(F.col("deadline_at"), tz, "HH:mm")
    an_hour_later = local_text(F.col("deadline_at") + F.make_dt_interval(hours=F.lit(1)), tz, "HH:mm")
    return (
        F.when(
            applied != configured,
            F.concat(
                configured, F.lit(" (applied at "), applied, F.lit(": the clock skipped "), configured, F.lit(")")
            ),
        )
        .when(
            an_hour_later == configured, F.concat(configured, F.lit(" (the first of the two "), configured, F.lit("s)"))
        )
        .otherwise(configured)
    )


def _reason_phrases(tz: str) -> dict[str, Column]:
    """A short phrase per reason, used to build the ``detail`` sentence."""
    t = lambda c: local_text(F.col(c), tz, "HH:mm:ss")  # noqa: E731
    due = deadline_text(tz)
    due_text = F.when(F.col("deadline_at").isNotNull(), F.concat(F.lit("deadline "), due)).otherwise(
        F.lit("due by end of day")
    )
    failure = F.coalesce(F.concat(F.lit(" ("), F.col("failure_type"), F.lit(")")), F.lit(""))
    ratio = F.format_number(F.try_divide(F.col("duration_seconds"), F.col("baseline_duration_seconds")), 1)
    against_median = F.concat(
        F.lit("took "),
        hms(F.col("duration_seconds")),
        F.lit(", "),
        ratio,
        F.lit("x its median "),
        hms(F.col("baseline_duration_seconds")),
    )
    return {
        "MISSING": F.concat(F.lit("no run ("), due_text, F.lit(")")),
        "FAILED": F.concat(F.lit("failed at "), t("end_time"), failure),
        "CANCELLED": F.concat(F.lit("cancelled"), F.coalesce(F.concat(F.lit(" at "), t("end_time")), F.lit(""))),
        "RUNNING": F.concat(
            F.when(F.col("last_run_status") == QUEUED, F.lit("still queued since ")).otherwise(
                F.lit("still running since ")
            ),
            t("start_time"),
            F.lit(", "),
            due_text,
        ),
        "PENDING": F.when(F.col("run_id").isNull(), F.concat(F.lit("no run yet, "), due_text)).otherwise(
            F.concat(F.lit("running since "), t("start_time"), F.lit(", "), due_text)
        ),
        "LATE": F.concat(F.lit("ended "), t("end_time"), F.lit(", deadline "), due),
        "ORDER": F.concat(
            F.lit("started "),
            t("start_time"),
            F.lit(" before "),
            F.col("order_predecessors"),
            F.coalesce(F.concat(F.lit(" ended "), t("order_predecessor_end")), F.lit(" ended")),
        ),
        "RETRIED": F.concat(F.lit("succeeded after "), F.col("failed_run_count"), F.lit(" failed or cancelled run(s)")),
        "SLOW": against_median,
        "FAST": against_median,
    }


def status_from_reasons(flags: dict[str, Column]) -> Column:
    """KO if any KO reason, else WARNING if any WARNING reason, else PENDING if pending, else OK."""

    def any_of(status: str) -> Column:
        return F.greatest(
            *[F.coalesce(flags[r.code], F.lit(False)) for r in REASONS if r.status == status], F.lit(False)
        )

    return F.when(any_of(KO), KO).when(any_of(WARNING), WARNING).when(any_of(PENDING), PENDING).otherwise(OK)


def reason_list(flags: dict[str, Column]) -> Column:
    """Comma-separated codes in canonical order; null when none."""
    codes = [F.when(F.coalesce(flags[r.code], F.lit(False)), F.lit(r.code)) for r in REASONS]
    return F.nullif(F.concat_ws(",", *codes), F.lit(""))


def status_color(status: Column) -> Column:
    return F.create_map(*[F.lit(x) for pair in STATUS_COLORS.items() for x in pair])[status]


def with_ko_streak(rows: DataFrame, key: str, previous: DataFrame) -> DataFrame:
    """``consecutive_ko_days``: for a KO row, how many of the key's rows in a row end KO here.

    Days without a row neither count nor break a streak. ``previous`` holds (key, carried_streak): the
    streak at the last stored row before the evaluated range, so a range continues what is stored.
    """
    ordered = Window.partitionBy(key).orderBy("business_date")
    is_ko = (F.col("status") == KO).cast("int")
    with_groups = rows.withColumn(
        "_breaks", F.sum(1 - is_ko).over(ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    )
    run = Window.partitionBy(key, "_breaks").orderBy("business_date")
    streak = F.sum(is_ko).over(run.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    carried = F.when(F.col("_breaks") == 0, F.coalesce(F.col("carried_streak"), F.lit(0))).otherwise(0)
    return (
        with_groups.join(previous, key, "left")
        .withColumn("consecutive_ko_days", F.when(is_ko == 1, streak + carried).otherwise(0).cast("int"))
        .drop("_breaks", "carried_streak")
    )


def carried_streaks(stored: DataFrame, key: str, first: date) -> DataFrame:
    """(key, carried_streak) from the last stored row before ``first``, however old (a yearly pipeline's streak
    continues across a year without a row). One aggregation per key: the newest row, not a window over history."""
    newest = F.max_by(F.struct("status", "consecutive_ko_days"), "business_date")
    return (
        stored.where(F.col("business_date") < F.lit(first))
        .groupBy(key)
        .agg(newest.alias("_newest"))
        .select(
            key,
            F.when(F.col("_newest.status") == KO, F.col("_newest.consecutive_ko_days"))
            .otherwise(0)
            .alias("carried_streak"),
        )
    )


RERUN_REACH_DAYS = 7  # a rerun started up to this many days after its group's earliest run counts for that run's date


def baseline_days_values(config: Config) -> set[int]:
    return {p.duration.baseline_days for p in (*config.pipelines, config.defaults)}


def baseline_history(
    stored_status: DataFrame, catalog: DataFrame, config: Config, first: date, last: date
) -> tuple[DataFrame, DataFrame]:
    """What the baselines of [first, last] need from before ``first``: the stored gold rows of each pipeline's
    previous ``baseline_days`` counted days (per pipeline, not the widest reach for all), with the rule columns,
    and the calendars' ordinals over that reach. A pipeline in no flow has the defaults' (calendar days)."""
    spark = stored_status.sparkSession
    rules = (*config.pipelines, config.defaults)
    starts = {p.name: baseline_history_start(p.baseline_calendar, p.duration.baseline_days, first) for p in rules}
    earliest = min(starts.values())
    reach = spark.createDataFrame(
        [(name, start) for name, start in starts.items() if name], "pipeline_name string, _history_start date"
    )
    history = (
        stored_status.where(F.col("business_date").between(F.lit(earliest), F.lit(first - timedelta(days=1))))
        .where(F.col("last_run_status") == SUCCEEDED)  # only successful final runs are samples
        .select("pipeline_name", "business_date", "last_run_status", "duration_seconds")
        .join(F.broadcast(reach), "pipeline_name", "left")
        .where(F.col("business_date") >= F.coalesce("_history_start", F.lit(starts[""])))
        .drop("_history_start")
    )
    history = with_rules(history, catalog, config)
    calendars = {p.baseline_calendar for p in rules}
    return history, baseline_ordinals(spark, calendars, earliest, last)


def pipeline_status(
    runs: DataFrame,
    catalog: DataFrame,
    config: Config,
    ev: Evaluation,
    stored_status: DataFrame,
) -> DataFrame:
    """Daily pipeline statuses for ``ev.first``..``ev.last``, in the ``pipeline_daily_status`` schema.

    ``runs`` are silver runs (any range: the runs around the evaluated dates are selected here);
    ``stored_status`` is the existing gold table, read for the streaks carried into the range and for the
    baselines' history (one row per pipeline and day: years of a monthly pipeline cost what a month of
    silver would).
    """
    # A predicate on the stored start_time first: Delta skips the files of other months. A run counts for a
    # date at most a day and a half off its own, or for its group's earliest run (a rerun within the reach).
    around = runs.where(
        F.col("start_time").between(
            F.lit(datetime.combine(ev.first - timedelta(days=RERUN_REACH_DAYS + 2), time(0), UTC)),
            F.lit(datetime.combine(ev.last + timedelta(days=RERUN_REACH_DAYS + 2), time(0), UTC)),
        )
    )
    dated = with_run_dates(around, config).where(F.col("business_date").between(F.lit(ev.first), F.lit(ev.last)))
    days = (
        expected_days(catalog, ev.first, ev.last)
        .join(final_runs(dated), ["pipeline_name", "business_date"], "full")
        .withColumn("expected", F.coalesce("expected", F.lit(False)))
    )
    days = with_duration_baseline(
        with_rules(days, catalog, config),
        *baseline_history(stored_status, catalog, config, ev.first, ev.last),
        baseline_days_values(config),
    )
    # A snapshot of pipelines x days (small): it cuts the plan, whose depth through the self-join below would pass
    # the nesting limit of Spark Connect's protocol (a plan is one nested protobuf message there).
    days = days.localCheckpoint()
    days = days.join(order_violations(days), ["pipeline_name", "business_date"], "left")
    day_start = F.col("day_starts_at")
    days = days.withColumn(
        "deadline_at", clock_moment_utc(F.col("business_date"), F.col("deadline_minutes"), day_start, ev.timezone)
    ).withColumn(
        # No deadline: due at the end of the business day's span.
        "due_at",
        F.coalesce(
            F.col("deadline_at"), local_wall_clock_to_utc(F.date_add("business_date", 1), day_start, ev.timezone)
        ),
    )

    flags = _reason_flags(ev)
    phrases = _reason_phrases(ev.timezone)
    ok_detail = F.when(F.col("run_id").isNull(), F.lit("not scheduled and no run")).otherwise(
        F.concat(
            F.lit("succeeded, ended "),
            local_text(F.col("end_time"), ev.timezone, "HH:mm:ss"),
            F.when(~F.col("expected"), F.lit(" (not scheduled this day)")).otherwise(F.lit("")),
        )
    )
    detail = F.nullif(F.concat_ws("; ", *[F.when(flags[r.code], phrases[r.code]) for r in REASONS]), F.lit(""))
    status = status_from_reasons(flags)
    rows = days.select(
        "*",
        status.alias("status"),
        reason_list(flags).alias("reason"),
        F.coalesce(detail, ok_detail).alias("detail"),
    )
    rows = with_ko_streak(rows, "pipeline_name", carried_streaks(stored_status, "pipeline_name", ev.first))
    return rows.select(
        "business_date",
        "flow",
        "pipeline_name",
        F.col("execution_order").cast("int"),
        "expected",
        "status",
        "reason",
        "detail",
        F.coalesce("run_count", F.lit(0)).cast("int").alias("run_count"),
        F.coalesce("failed_run_count", F.lit(0)).cast("int").alias("failed_run_count"),
        "run_id",
        "last_run_status",
        "start_time",
        "end_time",
        local_text(F.col("start_time"), ev.timezone).alias("start_local"),
        local_text(F.col("end_time"), ev.timezone).alias("end_local"),
        F.col("duration_seconds").cast("long"),
        hms(F.col("duration_seconds")).alias("duration_hms"),
        "error_message",
        "failure_type",
        F.col("baseline_duration_seconds").cast("double"),
        F.round(F.try_divide(F.col("duration_seconds"), F.col("baseline_duration_seconds")), 3).alias("duration_ratio"),
        "consecutive_ko_days",
        status_color(F.col("status")).alias("status_color"),
        F.lit(ev.evaluated_at).cast("timestamp").alias("evaluated_at"),
        # internal: the flow's span, over the runs that started within the business day; when a PENDING row is due
        "span_start_time",
        "span_end_time",
        "due_at",
    )


def flow_status(pipeline_rows: DataFrame, config: Config, ev: Evaluation, stored_status: DataFrame) -> DataFrame:
    """Daily flow statuses over each flow's expected pipelines, in the ``flow_daily_status`` schema.

    ``pipeline_rows`` is the output of :func:`pipeline_status` (with its internal ``span_*_time``).
    """
    spark = pipeline_rows.sparkSession
    flows = spark.createDataFrame([(f.name, f.ko_when) for f in config.flows], "flow string, ko_when string")
    members = pipeline_rows.where(F.col("flow") != UNASSIGNED_FLOW)
    expected = F.col("expected")

    def count_status(status: str) -> Column:
        return F.sum((expected & (F.col("status") == status)).cast("int")).cast("int")

    not_ok = F.when(
        expected & (F.col("status") != OK),
        F.struct(
            F.col("status").alias("status"),
            F.col("execution_order").alias("order"),
            F.concat(F.col("pipeline_name"), F.lit(" ("), F.col("reason"), F.lit(")")).alias("text"),
        ),
    )
    per_flow = members.groupBy("business_date", "flow").agg(
        F.sum(expected.cast("int")).cast("int").alias("pipelines_expected"),
        count_status(OK).alias("pipelines_ok"),
        count_status(WARNING).alias("pipelines_warning"),
        count_status(KO).alias("pipelines_ko"),
        count_status(PENDING).alias("pipelines_pending"),
        F.array_sort(F.collect_list(not_ok)).alias("not_ok"),
        F.collect_set(F.when(expected, F.col("reason"))).alias("reasons"),
        F.min("span_start_time").alias("start_time"),
        F.max("span_end_time").alias("end_time"),
    )
    rows = per_flow.where(F.col("pipelines_expected") > 0).join(F.broadcast(flows), "flow")
    ko = F.col("pipelines_ko")
    status = (
        F.when((F.col("ko_when") == "all") & (ko == F.col("pipelines_expected")), KO)
        .when((F.col("ko_when") == "any") & (ko > 0), KO)
        .when((ko + F.col("pipelines_warning")) > 0, WARNING)
        .when(F.col("pipelines_pending") > 0, PENDING)
        .otherwise(OK)
    )
    member_codes = F.split(F.concat_ws(",", "reasons"), ",")
    codes = [F.when(F.array_contains(member_codes, r.code), F.lit(r.code)) for r in REASONS]

    def listed(status_name: str) -> Column:
        texts = F.transform(F.filter("not_ok", lambda x: x["status"] == status_name), lambda x: x["text"])
        return F.array_join(texts, ", ")

    detail = F.concat_ws(
        "; ",
        F.when(ko > 0, F.concat(ko, F.lit(" of "), F.col("pipelines_expected"), F.lit(" KO: "), listed(KO))),
        F.when(
            F.col("pipelines_warning") > 0,
            F.concat(F.col("pipelines_warning"), F.lit(" WARNING: "), listed(WARNING)),
        ),
        F.when(
            F.col("pipelines_pending") > 0,
            F.concat(F.col("pipelines_pending"), F.lit(" pending: "), listed(PENDING)),
        ),
    )
    rows = rows.select(
        "*",
        status.alias("status"),
        F.nullif(F.concat_ws(",", *codes), F.lit("")).alias("reason"),
        F.when(status == OK, F.concat(F.lit("all "), F.col("pipelines_expected"), F.lit(" pipelines OK")))
        .otherwise(detail)
        .alias("detail"),
    )
    rows = with_ko_streak(rows, "flow", carried_streaks(stored_status, "flow", ev.first))
    duration = F.col("end_time").cast("long") - F.col("start_time").cast("long")
    return rows.select(
        "business_date",
        "flow",
        "status",
        "reason",
        "detail",
        "pipelines_expected",
        "pipelines_ok",
        "pipelines_warning",
        "pipelines_ko",
        "start_time",
        "end_time",
        local_text(F.col("start_time"), ev.timezone).alias("start_local"),
        local_text(F.col("end_time"), ev.timezone).alias("end_local"),
        duration.alias("duration_seconds"),
        hms(duration).alias("duration_hms"),
        "consecutive_ko_days",
        status_color(F.col("status")).alias("status_color"),
        F.lit(ev.evaluated_at).cast("timestamp").alias("evaluated_at"),
    )


class DailyStatuses(NamedTuple):
    pipelines: DataFrame  # in the pipeline_daily_status schema
    flows: DataFrame  # in the flow_daily_status schema
    pending: DataFrame  # (business_date, pipelines, due_at): dates left PENDING, and when the first is due


def pending_dates(pipeline_rows: DataFrame) -> DataFrame:
    """The dates of ``pipeline_rows`` with a PENDING row: how many, and the earliest due time among them."""
    return (
        pipeline_rows.where(F.col("status") == PENDING)
        .groupBy("business_date")
        .agg(F.count("*").cast("int").alias("pipelines"), F.min("due_at").alias("due_at"))
    )


def daily_statuses(
    runs: DataFrame,
    config: Config,
    ev: Evaluation,
    stored_pipeline_status: DataFrame,
    stored_flow_status: DataFrame,
) -> DailyStatuses:
    """Both gold frames for the evaluation range, in their table schemas, and the dates left pending."""
    catalog = pipeline_catalog(runs.sparkSession, config)
    # Flows aggregate the pipeline rows: compute those once (pipelines x days, small), not twice.
    pipelines = pipeline_status(runs, catalog, config, ev, stored_pipeline_status).localCheckpoint()
    flows = flow_status(pipelines, config, ev, stored_flow_status)
    return DailyStatuses(
        pipelines.select(*PIPELINE_DAILY_STATUS.schema.fieldNames()),
        flows.select(*FLOW_DAILY_STATUS.schema.fieldNames()),
        pending_dates(pipelines),
    )
