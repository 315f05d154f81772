"""One night of work: ingest new logs, evaluate the requested business dates, write the gold tables.

This is the only module that sequences reads and writes; everything it calls is either a pure
transformation (:mod:`monitoring.evaluate`) or the storage edge (:mod:`monitoring.storage`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from monitoring.config import Config
from monitoring.evaluate import Evaluation, daily_statuses, with_business_date
from monitoring.ingest import IngestReport, ingest
from monitoring.kpi import KpiWindow, flow_kpis, in_window, pipeline_kpis
from monitoring.storage import ConcurrentRunError, Storage, commit_conflict
from monitoring.tables import (
    FLOW_DAILY_STATUS,
    FLOW_KPI,
    PIPELINE_DAILY_STATUS,
    PIPELINE_KPI,
    PIPELINE_RUNS,
    TableSpec,
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    @staticmethod
    def ending(last: date, lookback_days: int) -> DateRange:
        return DateRange(last - timedelta(days=lookback_days), last)


STEPS = ("ingest", "evaluate")


@dataclass(frozen=True)
class JobResult:
    ingest: IngestReport | None  # None when the step was not asked for
    evaluation: Evaluation | None
    pipeline_rows: list[Row]  # gold rows of the evaluated range (pipelines x days: small)
    flow_rows: list[Row]
    seconds: float


def local_today(config: Config, now: datetime) -> date:
    return now.astimezone(ZoneInfo(config.timezone)).date()


def ingest_new_logs(
    spark: SparkSession, storage: Storage, config: Config, now: datetime, progress: Progress, full_scan: bool = False
) -> IngestReport:
    if config.source.format == "databricks_jobs":
        progress(f"Listing Databricks job runs of the last {config.source.lookback_hours} hours")
    else:
        progress(f"Reading new log files under {config.source.path} ({config.source.format})")
    report = ingest(spark, storage, config, now, full_scan)
    origin = (
        "the Jobs API"
        if config.source.format == "databricks_jobs"
        else (f"{report.files_read} new or grown file(s) of {report.files_listed} listed")
    )
    progress(
        f"Read {report.lines_read} records from {origin}: {report.events_kept} kept, "
        f"{report.lines_quarantined} quarantined, {report.blank_lines} blank; {report.runs_in_batch} run(s) updated"
    )
    if not report.reconciles:  # a bug, not bad input: never let a line disappear unnoticed
        raise RuntimeError(f"ingestion counts do not add up: {report}")
    return report


def evaluate_dates(
    spark: SparkSession, storage: Storage, config: Config, evaluation: Evaluation, progress: Progress
) -> tuple[list[Row], list[Row]]:
    """Evaluate the range and replace it in the gold tables; returns the rows written."""
    progress(
        f"Evaluating business dates {evaluation.first} to {evaluation.last} "
        f"(as of {evaluation.as_of:%Y-%m-%d %H:%M} UTC)"
    )
    pipelines, flows = daily_statuses(
        storage.read(PIPELINE_RUNS),
        config,
        evaluation,
        storage.read(PIPELINE_DAILY_STATUS),
        storage.read(FLOW_DAILY_STATUS),
    )
    # Materialise before writing: the evaluation reads the very table it replaces (for streaks).
    flows = flows.localCheckpoint()
    progress("Writing gold tables")
    storage.replace_dates(pipelines, PIPELINE_DAILY_STATUS, evaluation.first, evaluation.last)
    storage.replace_dates(flows, FLOW_DAILY_STATUS, evaluation.first, evaluation.last)
    refresh_kpis(storage, evaluation, progress)
    order = ["business_date", "flow"]
    return (
        pipelines.orderBy(*order, F.col("execution_order").asc_nulls_last(), "pipeline_name").collect(),
        flows.orderBy(*order).collect(),
    )


def newest_evaluation(storage: Storage, table: TableSpec) -> datetime | None:
    """The newest ``evaluated_at`` of a gold table: the watermark of what a later step has summarised."""
    return storage.read(table).agg(F.max("evaluated_at")).first()[0]


def refresh_kpis(storage: Storage, evaluation: Evaluation, progress: Progress) -> None:
    """Rewrite the weekly and monthly KPI rows the evaluated dates touch, from the gold daily tables.

    Also the periods of daily rows written after the newest KPI row: a night that died between its daily
    tables and its KPIs leaves those periods to the next night, whatever dates that one evaluates.
    """
    kpi_watermark = newest_evaluation(storage, FLOW_KPI)
    unsummarised = storage.read(FLOW_DAILY_STATUS).where(F.col("evaluated_at") < F.lit(evaluation.evaluated_at))
    if kpi_watermark is not None:
        unsummarised = unsummarised.where(F.col("evaluated_at") > F.lit(kpi_watermark))
    missed = unsummarised.agg(F.min("business_date"), F.max("business_date")).first()
    first, last = (
        min(evaluation.first, missed[0] or evaluation.first),
        max(evaluation.last, missed[1] or evaluation.last),
    )
    window = KpiWindow.after_evaluating(first, last)
    progress(f"Updating weekly and monthly KPIs of periods starting {window.rewrite_first} to {window.rewrite_last}")

    def daily(table: TableSpec) -> DataFrame:
        return storage.read(table).where(F.col("business_date").between(window.read_first, window.read_last))

    for kpis, table in (
        (flow_kpis(daily(FLOW_DAILY_STATUS), evaluation.evaluated_at), FLOW_KPI),
        (pipeline_kpis(daily(PIPELINE_DAILY_STATUS), evaluation.evaluated_at), PIPELINE_KPI),
    ):
        storage.replace_dates(
            in_window(kpis, window), table, window.rewrite_first, window.rewrite_last, column="period_start"
        )


CATCH_UP_DAYS = 400  # a run changed on an older date than this is not re-evaluated by a nightly run


def with_changed_dates(storage: Storage, config: Config, window: DateRange, progress: Progress) -> DateRange:
    """The nightly window, extended back to the oldest business date whose runs changed since the last
    evaluation (late records, re-read blobs; all of history on the first night).

    Works across tasks and after a failed night: what changed is read from silver (``ingested_at`` newer
    than the newest ``evaluated_at`` in gold), not passed from the ingest step. One contiguous range, so
    streaks and baselines after a changed date are recomputed too.
    """
    watermark = newest_evaluation(storage, PIPELINE_DAILY_STATUS)
    runs = storage.read(PIPELINE_RUNS)
    if watermark is not None:  # data skipping: the files a night writes are the only ones this new
        runs = runs.where(F.col("ingested_at") > F.lit(watermark))
    oldest = (
        with_business_date(runs, config.timezone)
        .where(F.col("business_date") <= F.lit(window.last))
        .agg(F.min("business_date"))
        .first()[0]
    )
    if oldest is None or oldest >= window.first:
        return window
    floor = window.last - timedelta(days=CATCH_UP_DAYS)
    if oldest < floor:
        progress(
            f"Runs changed on business dates back to {oldest}: re-evaluating from {floor} only; "
            f"run the job with --from {oldest} --to {floor} to evaluate the older ones"
        )
        oldest = floor
    else:
        progress(f"Runs changed on business dates back to {oldest}: re-evaluating from there")
    return DateRange(oldest, window.last)


def run_job(
    spark: SparkSession,
    config: Config,
    dates: DateRange,
    as_of: datetime | None = None,
    progress: Progress = lambda _: None,
    steps: tuple[str, ...] = STEPS,
    catch_up: bool = False,
    full_scan: bool = False,
    now: datetime | None = None,
) -> JobResult:
    """The night's work, or one step of it (the Databricks job runs ``ingest`` and ``evaluate`` as tasks).

    ``catch_up`` (the nightly run, no dates asked): also re-evaluate the older dates whose runs changed.
    ``full_scan``: list every log folder, not only the lookback window's (a new factory, a missed night).
    ``now`` (tests, benchmarks): the wall clock, which places the lookback window and stamps the rows.
    """
    try:
        return _run_steps(spark, config, dates, as_of, progress, steps, catch_up, full_scan, now)
    except Exception as error:
        # Delta's optimistic concurrency: the other run's commit stands, this one's write was refused. Every
        # step is idempotent, so what this run committed before is what the other run commits too.
        condition = commit_conflict(error)
        if condition is None:
            raise
        raise ConcurrentRunError(
            f"another run is writing the same tables ({condition}): this run stopped without "
            "committing its current step; rerun it once the other run has finished"
        ) from error


def _run_steps(
    spark: SparkSession,
    config: Config,
    dates: DateRange,
    as_of: datetime | None,
    progress: Progress,
    steps: tuple[str, ...],
    catch_up: bool,
    full_scan: bool,
    now: datetime | None,
) -> JobResult:
    started = time.monotonic()
    now = now or datetime.now(UTC)
    storage = Storage(spark, config.storage)
    report = ingest_new_logs(spark, storage, config, now, progress, full_scan) if "ingest" in steps else None
    evaluation, pipeline_rows, flow_rows = None, [], []
    if "evaluate" in steps:
        if catch_up:
            dates = with_changed_dates(storage, config, dates, progress)
        evaluation = Evaluation(dates.first, dates.last, as_of or now, now, config.timezone)
        pipeline_rows, flow_rows = evaluate_dates(spark, storage, config, evaluation, progress)
    return JobResult(report, evaluation, pipeline_rows, flow_rows, time.monotonic() - started)
