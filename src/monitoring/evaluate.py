"""Status rules: silver runs -> daily pipeline and flow statuses, as DataFrame transformations.

Per-pipeline settings (schedule, deadline, duration rules, predecessors) are columns of a small
*pipeline catalog* frame built from the config, so every rule is one column expression evaluated for
all pipelines at once: no per-pipeline loop, no UDF, no collect of run-level data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import LAST_DAY_OF_MONTH, UNASSIGNED_FLOW, Config, PipelineRule
from monitoring.rules import (
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
from monitoring.tables import FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS


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


def with_business_date(runs: DataFrame, timezone: str) -> DataFrame:
    """``business_date``: the local calendar date of the run's start."""
    return runs.withColumn("business_date", F.to_date(F.from_utc_timestamp("start_time", timezone)))


def median(values: Column) -> Column:
    """Median of a numeric array column, via sorting (null when empty)."""
    ordered = F.array_sort(values)
    n = F.size(ordered)
    middle = F.element_at(ordered, ((n + 1) / 2).cast("int")).cast("double")
    upper = F.element_at(ordered, (n / 2 + 1).cast("int")).cast("double")
    return F.when(n == 0, None).when(n % 2 == 1, middle).otherwise((middle + upper) / 2)


# --- rule steps ----------------------------------------------------------------------------------------


def final_runs(runs: DataFrame) -> DataFrame:
    """One row per (pipeline_name, business_date): the final run (latest start) and the day's counts."""
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
    return (
        runs.groupBy("pipeline_name", "business_date")
        .agg(
            F.max_by(F.struct(*final_fields), F.struct("start_time", "run_id")).alias("final"),
            F.count("*").cast("int").alias("run_count"),
            F.sum(bad.cast("int")).cast("int").alias("failed_run_count"),
            F.min("start_time").alias("first_start_time"),
        )
        .select(
            "pipeline_name",
            "business_date",
            "run_count",
            "failed_run_count",
            "first_start_time",
            *[F.col(f"final.{c}").alias(c) for c in final_fields],
        )
        .withColumnRenamed("status", "last_run_status")
    )


def with_duration_baseline(daily: DataFrame, widest_baseline_days: int) -> DataFrame:
    """``baseline_duration_seconds``: median duration of the successful final runs of the previous
    ``baseline_days`` business days, when there are at least ``min_samples`` of them.

    Needs the rule columns and the history before the evaluated dates in ``daily``.
    """
    day_number = F.datediff("business_date", F.lit(date(1970, 1, 1)))
    history = Window.partitionBy("pipeline_name").orderBy(day_number).rangeBetween(-widest_baseline_days, -1)
    sample = F.when(
        F.col("last_run_status") == SUCCEEDED,
        F.struct(day_number.alias("day"), F.col("duration_seconds").alias("s")),
    )
    in_window = F.filter(
        F.collect_list(sample).over(history), lambda x: x["day"] >= day_number - F.col("baseline_days")
    )
    durations = F.transform(in_window, lambda x: x["s"])
    return daily.withColumn(
        "baseline_duration_seconds",
        F.when(F.size(durations) >= F.col("min_samples"), median(durations)),
    )


def expected_days(catalog: DataFrame, first: date, last: date) -> DataFrame:
    """(pipeline_name, business_date) for every configured pipeline its schedule expects in the range."""
    days = catalog.sparkSession.range(1).select(F.explode(F.sequence(F.lit(first), F.lit(last))).alias("business_date"))
    return (
        catalog.crossJoin(days)
        .where(is_expected(F.col("business_date")))
        .select("pipeline_name", "business_date", F.lit(True).alias("expected"))
    )


def order_violations(daily: DataFrame) -> DataFrame:
    """(pipeline_name, business_date, order_detail) where the final run started before the final run of
    a pipeline it must follow had ended, both on that date."""
    this = daily.where(F.col("run_id").isNotNull()).select(
        "pipeline_name", "business_date", "start_time", F.explode("depends_on").alias("predecessor")
    )
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


def _reason_phrases(tz: str) -> dict[str, Column]:
    """A short phrase per reason, used to build the ``detail`` sentence."""
    t = lambda c: local_text(F.col(c), tz, "HH:mm:ss")  # noqa: E731
    due = local_text(F.col("due_at"), tz, "HH:mm")
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


def pipeline_status(
    runs: DataFrame,
    catalog: DataFrame,
    config: Config,
    ev: Evaluation,
    stored_status: DataFrame,
) -> DataFrame:
    """Daily pipeline statuses for ``ev.first``..``ev.last``, in the ``pipeline_daily_status`` schema.

    ``runs`` are silver runs (any range: the history the baselines need is selected here);
    ``stored_status`` is the existing gold table, read for the streaks carried into the range.
    """
    widest = max(p.duration.baseline_days for p in (*config.pipelines, config.defaults))
    history_start = ev.first - timedelta(days=widest)
    # A predicate on the stored start_time first (a business date is at most a day off its UTC date):
    # Delta skips the files of other months instead of reading all of history.
    around = runs.where(
        F.col("start_time").between(
            F.lit(datetime.combine(history_start - timedelta(days=1), time(0), UTC)),
            F.lit(datetime.combine(ev.last + timedelta(days=2), time(0), UTC)),
        )
    )
    dated = with_business_date(around, ev.timezone).where(
        F.col("business_date").between(F.lit(history_start), F.lit(ev.last))
    )
    daily = with_duration_baseline(with_rules(final_runs(dated), catalog, config), widest).where(
        F.col("business_date") >= F.lit(ev.first)
    )
    days = (
        expected_days(catalog, ev.first, ev.last)
        .join(daily.drop(*RULE_COLUMNS), ["pipeline_name", "business_date"], "full")
        .withColumn("expected", F.coalesce("expected", F.lit(False)))
    )
    days = with_rules(days, catalog, config)
    days = days.join(order_violations(days), ["pipeline_name", "business_date"], "left")
    midnight_next = F.date_add("business_date", 1)
    days = days.withColumn(
        "deadline_at", local_wall_clock_to_utc(F.col("business_date"), F.col("deadline_minutes"), ev.timezone)
    ).withColumn(
        "due_at",
        F.coalesce(F.col("deadline_at"), F.to_utc_timestamp(midnight_next.cast("timestamp"), ev.timezone)),
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
        # internal: the flow's first start counts earlier attempts too; when a PENDING row is decided
        "first_start_time",
        "due_at",
    )


def flow_status(pipeline_rows: DataFrame, config: Config, ev: Evaluation, stored_status: DataFrame) -> DataFrame:
    """Daily flow statuses over each flow's expected pipelines, in the ``flow_daily_status`` schema.

    ``pipeline_rows`` is the output of :func:`pipeline_status` (with its internal ``first_start_time``).
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
        F.min("first_start_time").alias("start_time"),
        F.max("end_time").alias("end_time"),
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
