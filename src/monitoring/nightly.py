"""One night of work: ingest new logs, evaluate the requested business dates, write the gold tables.

This is the only module that sequences reads and writes; everything it calls is either a pure
transformation (:mod:`monitoring.evaluate`) or the storage edge (:mod:`monitoring.storage`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from monitoring.checkpoints import checkpoint
from monitoring.config import Config
from monitoring.coverage import (
    AFTER_EXPLICIT_DATES,
    EXPLICIT_DATES,
    NOT_EVALUATED_YET,
    Owed,
    first_owed_date,
    owed_by_pending,
    owed_row,
    record_owed,
    replace_owed,
    settle_owed,
)
from monitoring.evaluate import Evaluation, daily_statuses, earliest_business_date
from monitoring.ingest import IngestReport, ingest
from monitoring.kpi import KpiWindow, flow_kpis, in_window, pipeline_kpis
from monitoring.sources.formats import source_format
from monitoring.steps import STEPS
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


@dataclass(frozen=True)
class JobResult:
    ingest: IngestReport | None  # None when the step was not asked for
    evaluation: Evaluation | None
    pipeline_rows: list[Row]  # gold rows of the range's last ROWS_RETURNED_DAYS days (what the summary shows)
    flow_rows: list[Row]
    seconds: float
    status_counts: dict[str, int]  # pipeline-days per status over the whole evaluated range


# The summary shows a month: a rebuild of years returns that, not years of rows to the driver.
ROWS_RETURNED_DAYS = 31


class EvaluatedRows(NamedTuple):
    """What an evaluation returns to the driver: small whatever the range."""

    pipeline_rows: list[Row]  # the range's last ROWS_RETURNED_DAYS days
    flow_rows: list[Row]
    status_counts: dict[str, int]  # pipeline-days per status over the whole range


NOTHING_EVALUATED = EvaluatedRows([], [], {})


def local_today(config: Config, now: datetime) -> date:
    return now.astimezone(ZoneInfo(config.timezone)).date()


def ingest_new_logs(
    spark: SparkSession,
    storage: Storage,
    config: Config,
    now: datetime,
    progress: Progress,
    full_scan: bool = False,
    requested: DateRange | None = None,
) -> IngestReport:
    lists_files = source_format(config.source.format).lists_files
    if not lists_files:
        progress(f"Listing Databricks job runs of the last {config.source.lookback_hours} hours and those still open")
    else:
        progress(f"Reading new log files under {config.source.path} ({config.source.format})")
    report = ingest(spark, storage, config, now, full_scan, (requested.first, requested.last) if requested else None)
    origin = (
        "the Jobs API"
        if not lists_files
        else (f"{report.files_read} new or grown file(s) of {report.files_listed} listed")
    )
    progress(
        f"Read {report.lines_read} records from {origin}: {report.events_kept} kept, "
        f"{report.lines_quarantined} quarantined, {report.blank_lines} blank; {report.runs_in_batch} run(s) updated"
    )
    return report


def evaluate_dates(
    spark: SparkSession, storage: Storage, config: Config, evaluation: Evaluation, progress: Progress
) -> tuple[EvaluatedRows, DataFrame]:
    """Evaluate the range and replace it in the gold tables; returns what the driver shows and the dates left
    pending."""
    progress(
        f"Evaluating business dates {evaluation.first} to {evaluation.last} "
        f"(as of {evaluation.as_of:%Y-%m-%d %H:%M} UTC)"
    )
    statuses = daily_statuses(
        storage.read(PIPELINE_RUNS),
        config,
        evaluation,
        storage.read(PIPELINE_DAILY_STATUS),
        storage.read(FLOW_DAILY_STATUS),
    )
    # Materialise before writing: the evaluation reads the very table it replaces (for streaks).
    flows = statuses.flows.localCheckpoint()
    pending = statuses.pending.localCheckpoint()
    progress("Writing gold tables")
    storage.replace_dates(statuses.pipelines, PIPELINE_DAILY_STATUS, evaluation.first, evaluation.last)
    checkpoint("pipeline_status_written")
    storage.replace_dates(flows, FLOW_DAILY_STATUS, evaluation.first, evaluation.last)
    checkpoint("flow_status_written")
    refresh_kpis(storage, evaluation, statuses.pipelines, flows, progress)
    checkpoint("kpis_written")
    shown = F.col("business_date") > F.lit(evaluation.last - timedelta(days=ROWS_RETURNED_DAYS))
    order = ["business_date", "flow"]
    rows = EvaluatedRows(
        statuses.pipelines.where(shown)
        .orderBy(*order, F.col("execution_order").asc_nulls_last(), "pipeline_name")
        .collect(),
        flows.where(shown).orderBy(*order).collect(),
        {row.status: row["count"] for row in statuses.pipelines.groupBy("status").count().collect()},
    )
    return rows, pending


def refresh_kpis(
    storage: Storage, evaluation: Evaluation, pipelines: DataFrame, flows: DataFrame, progress: Progress
) -> None:
    """Rewrite the weekly and monthly KPI rows the evaluated dates touch, from the daily rows: those just evaluated
    (``pipelines``, ``flows``: in memory, as written) and the stored ones of the periods' other dates.

    A night killed between its daily tables and its KPIs leaves its dates owed (``state/owed_dates``), so the next
    night evaluates them again and rewrites these periods.
    """
    window = KpiWindow.after_evaluating(evaluation.first, evaluation.last)
    progress(f"Updating weekly and monthly KPIs of periods starting {window.rewrite_first} to {window.rewrite_last}")
    date = F.col("business_date")
    around = date.between(window.read_first, window.read_last) & ~date.between(evaluation.first, evaluation.last)

    def daily(table: TableSpec, evaluated: DataFrame) -> DataFrame:
        return storage.read(table).where(around).unionByName(evaluated.select(*table.schema.fieldNames()))

    for kpis, table in (
        (flow_kpis(daily(FLOW_DAILY_STATUS, flows), evaluation.evaluated_at), FLOW_KPI),
        (pipeline_kpis(daily(PIPELINE_DAILY_STATUS, pipelines), evaluation.evaluated_at), PIPELINE_KPI),
    ):
        storage.replace_dates(
            in_window(kpis, window), table, window.rewrite_first, window.rewrite_last, column="period_start"
        )


def first_run_date(storage: Storage, config: Config, window_first: date, all_history: bool) -> date | None:
    """The first business date with a run: a night evaluates nothing before it (a factory whose logs start today
    has no MISSING days before). None when no run is stored, or (``all_history`` false) when one starts days before
    ``window_first``: then history starts before the window, and one partition read tells it."""
    runs = storage.read(PIPELINE_RUNS)
    before_window = datetime.combine(window_first - timedelta(days=2), datetime.min.time(), UTC)
    if not all_history and runs.where(F.col("start_time") < F.lit(before_window)).limit(1).count():
        return None
    return earliest_business_date(runs, config).first()[0]


def nightly_range(storage: Storage, config: Config, window: DateRange, owed: Owed, progress: Progress) -> DateRange:
    """The window plus everything owed: changed runs, pending rows now due, days never evaluated (all history
    before the first nightly evaluation), from the first business date with a run. No cap: what a rebuild would
    evaluate, the night evaluates."""
    history_start = first_run_date(storage, config, window.first, all_history=not owed.any_nightly)
    first = first_owed_date(owed, window.first, history_start)
    if history_start is not None:
        first = min(max(first, history_start), window.last)
    if first < window.first:
        why = "no nightly evaluation yet: all history" if not owed.any_nightly else "dates owed"
        progress(f"Catching up from {first} ({why}; `pipeline-monitor status` lists what is owed)")
    return DateRange(first, window.last)


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


def evaluate_and_settle(
    spark: SparkSession,
    storage: Storage,
    config: Config,
    dates: DateRange,
    as_of: datetime,
    now: datetime,
    nightly: bool,
    progress: Progress,
) -> tuple[Evaluation, EvaluatedRows]:
    """Evaluate ``dates`` (the nightly run: and everything owed), then settle what is owed. The nightly run deletes
    what it worked off and records the dates it left pending and the day it reached, in one commit; a run of
    explicit dates records its pending dates and leaves the later dates to the next night."""
    today = local_today(config, as_of)
    owed = Owed.read(storage, today, as_of) if nightly else None
    if owed is not None:
        dates = nightly_range(storage, config, dates, owed, progress)
    in_progress = None
    if owed is None:  # explicit dates: owed while written, so a kill before the KPIs leaves them to the next night
        detail = f"dates {dates.first} to {dates.last} requested, not completed"
        in_progress = owed_row(spark, dates.first, EXPLICIT_DATES, detail, now)
        record_owed(storage, in_progress)
    evaluation = Evaluation(dates.first, dates.last, as_of, now, config.timezone)
    rows, pending = evaluate_dates(spark, storage, config, evaluation, progress)
    still_owed = owed_by_pending(pending, now)
    day_after = dates.last + timedelta(days=1)
    if owed is not None:
        reached = owed_row(spark, day_after, NOT_EVALUATED_YET, f"nightly evaluation reached {dates.last}", now)
        settle_owed(storage, owed, dates.first, dates.last, as_of, still_owed.unionByName(reached))
    else:
        if day_after <= today:  # later dates' streaks and baselines may have moved: the next night's work
            detail = f"dates {dates.first} to {dates.last} evaluated on request"
            still_owed = still_owed.unionByName(owed_row(spark, day_after, AFTER_EXPLICIT_DATES, detail, now))
        replace_owed(storage, in_progress, still_owed)
    return evaluation, rows


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
    as_of = as_of or now
    storage = Storage(spark, config.storage)
    report = None
    if "ingest" in steps:
        if config.source.fetch:  # the runs of the live factory, saved raw under source.path
            from monitoring.factory.fetch import fetch_configured_factory

            fetch_configured_factory(config, now, progress)
        report = ingest_new_logs(spark, storage, config, now, progress, full_scan, None if catch_up else dates)
    checkpoint("ingested")
    evaluation, rows = None, NOTHING_EVALUATED
    if "evaluate" in steps:
        evaluation, rows = evaluate_and_settle(spark, storage, config, dates, as_of, now, catch_up, progress)
        if config.source.factory:  # after the statuses: a factory that cannot be read fails the night, loudly, last
            from monitoring.factory.drift import write_config_drift

            write_config_drift(spark, storage, config, local_today(config, now), now, progress)
    seconds = time.monotonic() - started
    return JobResult(report, evaluation, rows.pipeline_rows, rows.flow_rows, seconds, rows.status_counts)
