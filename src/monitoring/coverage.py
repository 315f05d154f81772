"""What the job still owes: the business dates the next nightly run must evaluate, kept in ``state/owed_dates``.

A row owes its business date *and every later date*: a changed date moves the streaks and baselines after it.
Rows are recorded where the reason arises and deleted only by the nightly evaluation that works them off, in the
commit that follows its gold and KPI tables, so a run killed anywhere leaves its debt in place:

- **runs changed**: ingestion records the oldest business date of the runs it read (and of the date a changed run
  had before), before it merges them into silver;
- **pending**: an evaluation records each date left with a PENDING row, owed from that row's due time;
- **not evaluated yet**: a nightly evaluation records the day after the last date it evaluated, so the days a
  skipped week never evaluated are owed by the next night;
- **after explicit dates**: a ``--date``/``--from`` run re-evaluates what it was asked and leaves the later dates,
  whose streaks and baselines may move, to the next night;
- **explicit dates**: such a run owes its own first date while it writes (a kill between its gold and KPI commits
  leaves stale KPIs), and replaces that row by its ``after explicit dates`` row when it completes.

The nightly range is then the window plus everything owed: after any sequence of runs, kills and gaps, the next
night's tables equal a rebuild's. Nothing here reads the wall clock: ``now``/``as_of`` are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from monitoring.config import Config
from monitoring.evaluate import local_text, with_business_date
from monitoring.storage import Storage
from monitoring.tables import INGESTED_FILES, OWED_DATES, PIPELINE_RUNS

RUNS_CHANGED = "runs changed"
PENDING = "pending"
NOT_EVALUATED_YET = "not evaluated yet"
AFTER_EXPLICIT_DATES = "after explicit dates"
EXPLICIT_DATES = "explicit dates"  # a --date/--from run that has not completed: its dates' KPIs may be stale

_KEY = ("business_date", "reason", "recorded_at")


# --- pure: the rows each reason records ---------------------------------------------------------------------


# What with_business_date needs of a run to date it: its group and the run that invoked it.
_LINKS = ("run_id", "pipeline_name", "start_time", "run_group_id", "invoked_by_run_id")
_ID_LINKS = ("run_id", "run_group_id", "invoked_by_run_id")


def _links(runs: DataFrame) -> DataFrame:
    # A silver table from before invoked_by_run_id gains the column at its next MERGE, which comes after this.
    return runs.select(*[c if c in runs.columns else F.lit(None).cast("string").alias(c) for c in _LINKS])


def _tagged_ids(links: DataFrame, tag: str) -> DataFrame:
    """:func:`_links` rows with ``tag`` before each id a dating links by (a null stays null)."""
    return links.select(*[F.concat(F.lit(tag), c).alias(c) if c in _ID_LINKS else c for c in _LINKS])


def owed_by_ingested_runs(batch_runs: DataFrame, stored_runs: DataFrame, config: Config, now: datetime) -> DataFrame:
    """One ``runs changed`` row: the oldest business date the runs of the batch count for, or counted for before.

    A run is dated with the stored runs it hangs on (its group's, the run that invoked it), so a next-morning rerun
    owes the night it reruns; and a run whose stored state dated it elsewhere (another start, another group) owes
    that date too. The oldest date of all those runs is owed: every later date is owed with it anyway.

    Empty when the batch is. Every run read counts, changed or not: a batch read again after a crash (the silver
    MERGE committed, the manifest not) records the same debt again rather than none.
    """
    batch = _links(batch_runs)
    stored = _links(stored_runs)
    groups = batch.select("run_group_id").where("run_group_id IS NOT NULL")
    invokers = batch.select(F.col("invoked_by_run_id").alias("run_id")).where("run_id IS NOT NULL")
    related = (
        stored.join(groups.distinct(), "run_group_id", "left_semi")
        .unionByName(stored.join(invokers.distinct(), "run_id", "left_semi"))
        .unionByName(stored.join(batch.select("run_id"), "run_id", "left_semi"))  # as they were before
        .dropDuplicates(["run_id"])
    )
    as_now = batch.unionByName(related.join(batch, "run_id", "left_anti"))
    # Both versions dated in one pass (a dating is a fixed dozen Spark jobs, whatever the batch): each version's ids
    # are tagged, so a run links only to runs of its own version, and within one the order of ids is unchanged.
    both = _tagged_ids(as_now, "now:").unionByName(_tagged_ids(related, "before:"))
    dates = with_business_date(both, config).select("business_date")
    summary = batch.agg(F.count("*").alias("runs")).crossJoin(
        dates.agg(F.min("business_date").alias("oldest"), F.max("business_date").alias("newest"))
    )
    return summary.where("runs > 0").select(
        F.col("oldest").alias("business_date"),
        F.lit(RUNS_CHANGED).alias("reason"),
        # format_string's %s of a date or timestamp gives Spark's internal number (days, microseconds): text first.
        F.format_string(
            "%d run(s) read, on business dates %s to %s",
            "runs",
            F.col("oldest").cast("string"),
            F.col("newest").cast("string"),
        ).alias("detail"),
        F.lit(None).cast("timestamp").alias("due_at"),
        F.lit(now).cast("timestamp").alias("recorded_at"),
    )


def owed_by_pending(pending: DataFrame, now: datetime) -> DataFrame:
    """``pending`` rows from (business_date, pipelines, due_at): the dates an evaluation left PENDING."""
    return pending.select(
        "business_date",
        F.lit(PENDING).alias("reason"),
        F.format_string(
            "%d pipeline(s) PENDING, the first due at %s UTC",
            "pipelines",
            local_text(F.col("due_at"), "UTC", "yyyy-MM-dd HH:mm"),
        ).alias("detail"),
        "due_at",
        F.lit(now).cast("timestamp").alias("recorded_at"),
    )


def owed_row(spark: SparkSession, business_date: date, reason: str, detail: str, now: datetime) -> DataFrame:
    """One row of ``reason``, owed from ``business_date`` as soon as that date is reached."""
    return spark.createDataFrame([(business_date, reason, detail, None, now)], OWED_DATES.schema)


# --- the table ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    """A snapshot of ``state/owed_dates`` as one evaluation read it."""

    rows: DataFrame  # snapshot: what this evaluation may delete, and nothing recorded after it read
    oldest_due: date | None  # the oldest date owed by ``today`` (as of ``as_of``): where the night starts
    any_nightly: bool  # False until a nightly evaluation has completed (then all history is owed)

    @staticmethod
    def read(storage: Storage, today: date, as_of: datetime) -> Owed:
        rows = storage.read(OWED_DATES).localCheckpoint()
        summary = rows.agg(
            F.min(F.when(is_due(today, as_of), F.col("business_date"))).alias("oldest_due"),
            F.max(written_by_a_nightly_run().cast("int")).alias("any_nightly"),
        ).first()
        return Owed(rows, summary.oldest_due, bool(summary.any_nightly))


def written_by_a_nightly_run() -> Column:
    """Whether an owed row is one only a completed nightly evaluation writes (its ``not evaluated yet`` row)."""
    return F.col("reason") == NOT_EVALUATED_YET


def nightly_has_completed(storage: Storage) -> bool:
    """Whether a nightly evaluation has completed. Until one has, the next one evaluates all history anyway."""
    return not storage.read(OWED_DATES).where(written_by_a_nightly_run()).isEmpty()


def is_due(today: date, as_of: datetime) -> Column:
    """Whether an owed row is owed now: its date is reached and its due time (if any) has passed."""
    return (F.col("business_date") <= F.lit(today)) & (
        F.col("due_at").isNull() | (F.col("due_at") <= F.lit(as_of).cast("timestamp"))
    )


def record_owed(storage: Storage, rows: DataFrame) -> None:
    """Add owed rows (ingestion, explicit-date runs): appends only, so nothing another run recorded is lost."""
    storage.append(rows.select(*OWED_DATES.schema.fieldNames()), OWED_DATES)


def settle_owed(storage: Storage, owed: Owed, first: date, last: date, as_of: datetime, new_rows: DataFrame) -> None:
    """After a nightly evaluation of [first, last] is committed: delete the rows it worked off and add ``new_rows``,
    in one commit (a kill before it leaves every row; a kill after it, the new ones).

    Worked off: every row due, the ``pending`` rows of dates it re-evaluated (``new_rows`` holds those still
    pending), and the ``not evaluated yet`` row it replaces. Rows recorded after ``owed`` was read stay.
    """
    in_range = F.col("business_date").between(F.lit(first), F.lit(last))
    worked_off = (
        is_due(last, as_of) | ((F.col("reason") == PENDING) & in_range) | (F.col("reason") == NOT_EVALUATED_YET)
    )
    replace_owed(storage, owed.rows.where(worked_off), new_rows)


def replace_owed(storage: Storage, worked_off: DataFrame, new_rows: DataFrame) -> None:
    """Delete the rows ``worked_off`` and add ``new_rows``, in one commit."""
    columns = OWED_DATES.schema.fieldNames()
    source = worked_off.select(*columns, F.lit(True).alias("_delete")).unionByName(
        new_rows.select(*columns, F.lit(False).alias("_delete"))
    )
    # The delete rows match on their key; the new rows never match (s._delete is false), so a new row with the key
    # of a deleted one (the same night run twice with one clock) replaces it rather than matching it twice.
    t, s = storage.merge_columns(OWED_DATES)
    matches = s("_delete")
    for column in _KEY:
        matches = matches & (t(column) == s(column))
    (
        storage.merge(source, OWED_DATES, matches)
        .whenMatched()
        .delete()
        .whenNotMatched(~s("_delete"))
        .insert({c: s(c) for c in columns})
        .merge()
    )


def first_owed_date(owed: Owed, window_first: date, first_run_date: date | None) -> date:
    """Where a nightly evaluation starts: the window's first date, or the oldest date owed, or (before any nightly
    evaluation completed) the first business date with a run."""
    candidates = [window_first, owed.oldest_due]
    if not owed.any_nightly:
        candidates.append(first_run_date)
    return min(d for d in candidates if d is not None)


# --- what `pipeline-monitor status` shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class OwedDate:
    business_date: date
    reason: str
    detail: str | None
    due_at: datetime | None  # UTC
    owed_now: bool


@dataclass(frozen=True)
class CoverageStatus:
    owed: list[OwedDate]  # oldest first
    last_nightly: datetime | None  # when the last nightly evaluation completed, UTC
    evaluated_through: date | None  # the last date it evaluated
    newest_folder_read: date | None  # the newest y=/m=/d= log folder read (ADF's diagnostic layout)
    last_read: datetime | None  # when a log file or job run was last ingested, UTC

    @property
    def catching_up_from(self) -> date | None:
        return min((o.business_date for o in self.owed if o.owed_now), default=None)


def _utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def coverage_status(storage: Storage, today: date, as_of: datetime, newest_folder_read: date | None) -> CoverageStatus:
    """What the job owes and how far it has read (the owed rows are a few per night: collected)."""
    rows = (
        storage.read(OWED_DATES)
        .select(
            "business_date",
            "reason",
            "detail",
            F.unix_seconds("due_at").alias("due"),  # seconds: collected timestamps would be in the driver's zone
            F.unix_seconds("recorded_at").alias("recorded"),
            is_due(today, as_of).alias("owed_now"),
        )
        .orderBy("business_date", "reason", "recorded")
        .collect()
    )
    nightly = [r for r in rows if r.reason == NOT_EVALUATED_YET]
    newest_nightly = max(nightly, key=lambda r: r.recorded, default=None)
    last_read = storage.read(INGESTED_FILES).agg(F.unix_seconds(F.max("ingested_at"))).first()[0]
    runs_read = storage.read(PIPELINE_RUNS).agg(F.unix_seconds(F.max("ingested_at"))).first()[0]
    return CoverageStatus(
        owed=[
            OwedDate(r.business_date, r.reason, r.detail, _utc(r.due), r.owed_now)
            for r in rows
            if r.reason != NOT_EVALUATED_YET or r.owed_now
        ],
        last_nightly=_utc(newest_nightly.recorded) if newest_nightly else None,
        evaluated_through=newest_nightly.business_date - timedelta(days=1) if newest_nightly else None,
        newest_folder_read=newest_folder_read,
        last_read=_utc(max((t for t in (last_read, runs_read) if t is not None), default=None)),
    )
