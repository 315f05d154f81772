"""Ingestion: new or grown log files -> silver ``pipeline_runs`` (one row per run) and ``quarantine``.

Order of the writes makes a crash harmless: the dates the runs read make owed first (``state/owed_dates``), runs
are merged second, quarantine third, and the file manifest last, so a file whose read did not complete is read
again next time, and the merges make that second read change nothing that is already right.

Counts taken at three stages of the one read must agree, or the night fails naming the file or source: the raw
records Spark read, the rows classified (kept, quarantined, blank), and the kept runs found in silver after the
MERGE in a state at least as good.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.checkpoints import checkpoint
from monitoring.config import Config
from monitoring.coverage import nightly_has_completed, owed_by_ingested_runs, record_owed
from monitoring.sources import SourceError
from monitoring.sources.formats import source_format
from monitoring.sources.raw_events import RecordCount, glob_escape, read_raw_events
from monitoring.storage import ColumnOf, Storage
from monitoring.tables import INGESTED_FILES, PIPELINE_RUNS, QUARANTINE
from monitoring.vocabulary import RUN_STATE_ALIASES, TERMINAL_STATES


@dataclass(frozen=True)
class IngestReport:
    files_listed: int
    files_read: int
    lines_read: int
    blank_lines: int
    events_kept: int
    lines_quarantined: int
    runs_in_batch: int


# --- pure transformations ----------------------------------------------------------------------------


def normalised_status(raw: Column) -> Column:
    """ADF's spellings ('Canceled', 'SUCCESS', ...) -> the silver vocabulary; null when unknown."""
    aliases = F.create_map(*[F.lit(x) for pair in RUN_STATE_ALIASES.items() for x in pair])
    return aliases[F.lower(F.trim(raw))]


def with_quarantine_reason(raw_events: DataFrame) -> DataFrame:
    """Adds ``status`` (normalised) and ``reason``: null for a usable event, else why it is not."""
    status = normalised_status(F.col("status"))
    reason = (
        F.when(F.col("parse_error").isNotNull(), F.col("parse_error"))
        .when(F.col("run_id").isNull(), F.lit("missing run id"))
        .when(F.col("pipeline_name").isNull(), F.lit("missing pipeline name"))
        # Undecodable bytes are read as U+FFFD: a name mangled so would become a pipeline of its own.
        .when(
            F.col("run_id").contains("\ufffd") | F.col("pipeline_name").contains("\ufffd"),
            F.lit("run id or pipeline name is not valid UTF-8"),
        )
        .when(F.col("start_time").isNull(), F.lit("missing or invalid start time"))
        .when(
            status.isNull(),
            F.concat(F.lit("unknown status '"), F.coalesce(F.col("status"), F.lit("")), F.lit("'")),
        )
        .when(F.col("end_time") < F.col("start_time"), F.lit("run ends before it starts"))
    )
    return raw_events.withColumn("reason", reason).withColumn("status", status)


def latest_run_states(events: DataFrame, tie_break: Column | None = None) -> DataFrame:
    """One row per run: its latest state, a terminal state beating a non-terminal one.

    Records of one run arrive out of order and across files; identical records read twice collapse. Records alike
    in every term of the order are told apart by ``tie_break``, by default a hash of the raw line, so the choice is
    the same on every read (ingestion passes the hash it kept, not every kept line's text).
    """
    is_terminal = F.col("status").isin(*TERMINAL_STATES)
    by_run = Window.partitionBy("run_id")
    latest_first = by_run.orderBy(
        is_terminal.desc(),
        F.col("event_time").desc_nulls_last(),
        F.col("end_time").desc_nulls_last(),
        F.col("source_file").desc(),
        (F.xxhash64("raw_line") if tie_break is None else tie_break).desc(),
    )
    return (
        events.withColumn("last_event_time", F.max("event_time").over(by_run))
        .withColumn("_rank", F.row_number().over(latest_first))
        .where("_rank = 1")
        .withColumn(
            "duration_seconds",
            F.col("end_time").cast("long") - F.col("start_time").cast("long"),
        )
    )


def _is_terminal(side: ColumnOf) -> Column:
    return side("status").isin(*TERMINAL_STATES).cast("int")


def _is_newer_state(t: ColumnOf, s: ColumnOf) -> Column:
    """MERGE condition: the incoming row ``s`` is a better state of the run than the stored ``t``."""
    s_term, t_term = _is_terminal(s), _is_terminal(t)
    return (s_term > t_term) | (
        (s_term == t_term) & (s("last_event_time") > F.coalesce(t("last_event_time"), F.lit(0).cast("timestamp")))
    )


# --- the edges: listing and writing ------------------------------------------------------------------


LISTING_SCHEMA = "path string, size long, modification_time timestamp"
# A file of ADF's diagnostic layout: <factory folder>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json
DAY_FOLDER = r"^(.*)/y=\d{4}/m=\d{2}/d=\d{2}/"


def _is_missing_path(error: Exception) -> bool:
    return "PATH_NOT_FOUND" in str(error) or "does not exist" in str(error)


def list_log_files(spark: SparkSession, config: Config, location: str | None = None) -> DataFrame:
    """Every log file under ``location`` (default ``source.path``): ``path``, ``size``, ``modification_time``.

    Read recursively without partition inference: ADF's layout repeats ``m=`` (month, minute), which
    partition discovery rejects. Only file metadata is read here, never content.
    """
    try:
        listing = (
            spark.read.format("binaryFile")
            .option("recursiveFileLookup", "true")
            .option("pathGlobFilter", source_format(config.source.format).glob)
            .load(location or config.source.path)
        )
        listing.schema  # noqa: B018 - Spark Connect resolves a read (and finds the path missing) only when asked
    except Exception as error:  # Spark raises AnalysisException subclasses that vary by version
        if not _is_missing_path(error):
            raise
        if location is not None:  # a window of day folders none of which exists yet: nothing new
            return spark.createDataFrame([], LISTING_SCHEMA)
        raise SourceError(f"source.path: {config.source.path!r} does not exist") from None
    return listing.select("path", F.col("length").alias("size"), F.col("modificationTime").alias("modification_time"))


# ADF's diagnostic layout names the factory's Azure resource: these three segments vary between factories.
ADF_FACTORY_FOLDER = re.compile(
    r"(?i)^(?P<subscriptions>.*/resourceId=/SUBSCRIPTIONS/)[^/]+"
    r"(?P<groups>/RESOURCEGROUPS/)[^/]+"
    r"(?P<factories>/PROVIDERS/MICROSOFT\.DATAFACTORY/FACTORIES/)[^/]+$"
)


def factory_globs(factory_folders: list[str]) -> list[str]:
    """Hadoop globs of the folders to look in: for a folder of ADF's ``resourceId=`` layout, every subscription,
    resource group and factory beside it, so a factory added later is found without a full scan (listing them
    costs a few directories, not the history); any other folder as it is."""
    globs = set()
    for folder in factory_folders:
        adf = ADF_FACTORY_FOLDER.match(folder)
        if adf:
            parts = (adf["subscriptions"], adf["groups"], adf["factories"])
            globs.add("*".join(glob_escape(part) for part in parts) + "*")
        else:
            globs.add(glob_escape(folder))
    return sorted(globs)


def day_folders_glob(factory_globs: list[str], days: list[date]) -> str:
    """One Hadoop glob matching the ``y=/m=/d=`` folders of ``days`` under each of ``factory_globs``."""
    folders = [f"{folder}/y={d:%Y}/m={d:%m}/d={d:%d}" for folder in sorted(factory_globs) for d in days]
    # commonprefix on characters, cut at a "/": commonpath would collapse the "//" of abfss:// URIs.
    common = os.path.commonprefix(folders).rpartition("/")[0] + "/"  # noqa: RUF071
    return common + "{" + ",".join(f[len(common) :] for f in folders) + "}"


def utc_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_to_list(
    now: datetime, lookback_hours: int, newest_read: date | None, requested: tuple[date, date] | None, timezone: str
) -> list[date]:
    """The UTC days (ADF names its folders in UTC) whose folders a night lists.

    From the newest day already read (capped at today: a misdated ``y=2099`` folder cannot stall discovery), less
    ``lookback_hours``, to today: a week without the job catches up by itself. With explicit business dates, also
    the UTC days those dates' records can be in: their local span (12 h either side, the widest a business day can
    be shifted), plus ``lookback_hours`` after the last, since a run's final records land in later blobs.
    """
    today = now.astimezone(UTC).date()
    anchor = min(newest_read or today, today)
    days = set(utc_days((datetime.combine(anchor, time(0), UTC) - timedelta(hours=lookback_hours)).date(), today))
    if requested is not None:
        zone = ZoneInfo(timezone)
        span_start = datetime.combine(requested[0], time(0), zone) - timedelta(hours=12)
        span_end = datetime.combine(requested[1] + timedelta(days=1), time(0), zone) + timedelta(hours=12)
        last_blob = span_end + timedelta(hours=lookback_hours)
        days |= set(utc_days(span_start.astimezone(UTC).date(), last_blob.astimezone(UTC).date()))
    return sorted(days)


# y=YYYY/m=MM/d=DD of ADF's diagnostic layout, as one matchable string
_DAY_IN_PATH = r"/(y=\d{4}/m=\d{2}/d=\d{2})/"


def newest_day_read(already_read: DataFrame, today: date) -> date | None:
    """The newest ``y=/m=/d=`` day folder of the files already read, not after ``today``."""
    day = F.try_to_date(F.regexp_extract("path", _DAY_IN_PATH, 1), "'y='yyyy/'m='MM/'d='dd")
    return already_read.select(day.alias("day")).where(F.col("day") <= F.lit(today)).agg(F.max("day")).first()[0]


def newest_folder_read(storage: Storage, now: datetime) -> date | None:
    """The newest day folder of the log files read so far (ADF's diagnostic layout), for ``status``."""
    return newest_day_read(storage.read(INGESTED_FILES), now.astimezone(UTC).date())


def factory_folders(already_read: DataFrame) -> list[str] | None:
    """Folders holding ``y=`` trees, from the files already read; None when some file is outside that layout
    (or nothing was read yet): then only a full listing finds everything."""
    # One row per factory folder, not per file: small, whatever the history.
    folders = already_read.select(F.regexp_extract("path", DAY_FOLDER, 1).alias("folder")).distinct().collect()
    names = [row.folder for row in folders]
    return names if names and "" not in names else None


def with_to_read(listed: DataFrame, already_read: DataFrame) -> DataFrame:
    """``listed`` with ``to_read``: the file was never read, or its size or modification time changed since (append
    blobs grow)."""
    key = ["path", "size", "modification_time"]
    read = already_read.select(*key, F.lit(True).alias("_read"))  # the manifest is merged by path: one row each
    return listed.join(read, key, "left").select(*listed.columns, F.col("_read").isNull().alias("to_read"))


@dataclass(frozen=True)
class Batch:
    """What one night reads: raw events, plus, for file sources, the files they came from."""

    raw_events: DataFrame | None  # None: nothing new
    files_listed: int
    reread_files: list[str]  # new or grown: counted, and named when the counts do not reconcile
    manifest: DataFrame | None  # path, size, modification_time of the files read
    records: RecordCount  # the raw records, counted as the raw events are read


def new_file_batch(
    spark: SparkSession,
    storage: Storage,
    config: Config,
    now: datetime,
    full_scan: bool,
    requested: tuple[date, date] | None,
) -> Batch:
    """New or grown files. For ADF's diagnostic layout, after the first night, only the day folders from the
    newest day read to today (and those of ``requested`` business dates) are listed: the nightly cost follows the
    new logs, not the years of history."""
    already_read = storage.read(INGESTED_FILES)
    folders = (
        None if full_scan or not source_format(config.source.format).day_folders else factory_folders(already_read)
    )
    location = None
    if folders is not None:
        newest = newest_day_read(already_read, now.astimezone(UTC).date())
        days = days_to_list(now, config.source.lookback_hours, newest, requested, config.timezone)
        location = day_folders_glob(factory_globs(folders), days)
    # One snapshot of the listing, each file marked, and one action over it: files appear while a night runs, and
    # the count, the paths read and the manifest must be of the same listing. A snapshot, not .cache(): a cached
    # listing is matched by plan and would be served again, stale, to the next night's identical listing in the
    # same session.
    listed = with_to_read(list_log_files(spark, config, location), already_read).localCheckpoint()
    new_files = listed.where("to_read").drop("to_read")
    # File metadata only (a few thousand paths at most per night), never run-level data.
    new_paths = F.collect_list(F.when(F.col("to_read"), F.col("path")))
    files_listed, paths = listed.agg(F.count("*"), new_paths).first()
    records = RecordCount()
    if not paths:
        return Batch(None, files_listed, [], None, records)
    events = read_raw_events(spark, paths, config.source, config.timezone, records)
    return Batch(events, files_listed, paths, new_files, records)


# Databricks keeps a job run for 60 days: an older run still open at the last listing will never be listed again.
JOB_RUN_RETENTION = timedelta(days=60)


def job_runs_batch(spark: SparkSession, storage: Storage, config: Config, now: datetime) -> Batch:
    """Databricks job runs started in the lookback window, or since the oldest run still open at the last listing:
    a run that lasts longer than the lookback still gets its final state. The MERGE makes the overlap harmless."""
    from databricks.sdk import WorkspaceClient

    from monitoring.sources.databricks_jobs import job_run_events

    since = now - timedelta(hours=config.source.lookback_hours)
    oldest_open = (
        storage.read(PIPELINE_RUNS)
        .where(~F.col("status").isin(*TERMINAL_STATES))
        .where(F.col("start_time") >= F.lit(now - JOB_RUN_RETENTION))
        .agg(F.unix_seconds(F.min("start_time")))  # seconds: a collected timestamp would be in the driver's zone
        .first()[0]
    )
    if oldest_open is not None:
        since = min(since, datetime.fromtimestamp(oldest_open, UTC))
    records = RecordCount()
    events = records.observed(job_run_events(spark, WorkspaceClient(), since, now), F.lit(1))
    return Batch(events, 0, [], None, records)


class ReconciliationError(RuntimeError):
    """A stage of ingestion lost or mangled rows: a bug, never bad input (that goes to quarantine)."""


def _files_named(paths: list[str], source: str) -> str:
    if not paths:
        return source
    shown = ", ".join(paths[:5])
    return f"{shown} and {len(paths) - 5} other file(s)" if len(paths) > 5 else shown


def checked_classification(classified: DataFrame, batch: Batch, source: str) -> tuple[dict[str, int], int]:
    """Rows per kind (blank, kept, quarantined), after checking they account for every raw record read; and the
    distinct run ids of the kept rows (for :func:`checked_runs`), counted by the same pass over the lines."""
    per_kind = classified.groupBy("kind").agg(F.count("*").alias("rows"), F.count_distinct("run_id").alias("ids"))
    found = {row.kind: row for row in per_kind.collect()}
    counts = {kind: row.rows for kind, row in found.items()}
    records = batch.records.total()
    if sum(counts.values()) != records:
        raise ReconciliationError(
            f"ingestion lost records of {_files_named(batch.reread_files, source)}: {records} read, but "
            f"{sum(counts.values())} classified ({counts.get('kept', 0)} kept, {counts.get('quarantined', 0)} "
            f"quarantined, {counts.get('blank', 0)} blank)"
        )
    return counts, found["kept"].ids if "kept" in found else 0


class BatchRuns(NamedTuple):
    count: int
    first_month: date | None  # silver's partition of the batch's oldest run; None without runs


def checked_runs(runs: DataFrame, kept_ids: int, source: str) -> BatchRuns:
    """The batch's run count and first month, after checking there is one row per run id of the kept records."""
    found = runs.agg(
        F.count("*").alias("rows"), F.count_distinct("run_id").alias("ids"), F.min("start_month").alias("first")
    ).first()
    if not found.rows == found.ids == kept_ids:
        raise ReconciliationError(
            f"ingestion of {source}: {kept_ids} run id(s) in the kept records, but {found.rows} row(s) for "
            f"{found.ids} run id(s) after deduplication"
        )
    return BatchRuns(found.rows, found.first)


def check_runs_stored(runs: DataFrame, stored: DataFrame) -> None:
    """Every run of the batch is in silver after the MERGE, in a state at least as good as the batch's."""
    missing_or_worse = (
        runs.alias("s")
        .join(stored.alias("t"), F.col("s.run_id") == F.col("t.run_id"), "left")
        .where(F.col("t.run_id").isNull() | _is_newer_state(lambda c: F.col(f"t.{c}"), lambda c: F.col(f"s.{c}")))
        .select("s.run_id", "s.source_file")
    )
    lost = missing_or_worse.limit(5).collect()
    if lost:
        runs_named = ", ".join(f"{row.run_id} (from {row.source_file})" for row in lost)
        raise ReconciliationError(
            "runs read are missing from silver/pipeline_runs, or stored in an older state, after the MERGE: "
            + runs_named
        )


def read_batch(
    spark: SparkSession,
    storage: Storage,
    config: Config,
    now: datetime,
    full_scan: bool,
    requested: tuple[date, date] | None,
) -> Batch:
    if not source_format(config.source.format).lists_files:
        return job_runs_batch(spark, storage, config, now)
    return new_file_batch(spark, storage, config, now, full_scan, requested)


@dataclass(frozen=True)
class Classified:
    """A batch's lines, classified and held in memory (read from the files once), with the counts checked."""

    lines: DataFrame  # classified_lines() of the batch, cached: unpersist() when done
    counts: dict[str, int]  # lines per kind (blank, kept, quarantined)
    kept_run_ids: int  # distinct run ids of the kept lines


def classify(batch: Batch, source: str) -> Classified:
    """The files are read once: the counts' action fills the cache (and the raw-record observation, which Spark
    Connect reports for a query's action), and every later step reads the cache. The caller drops it when done: a
    persisted read would be matched by plan, stale, by the next night's in the same session."""
    assert batch.raw_events is not None
    lines = classified_lines(batch.raw_events).persist(StorageLevel.MEMORY_AND_DISK)
    return Classified(lines, *checked_classification(lines, batch, source))


def latest_runs(classified: Classified, now: datetime) -> DataFrame:
    """One row per run of the batch, its latest state, as silver stores it (a snapshot: small, read four times)."""
    return (
        latest_run_states(classified.lines.where("kind = 'kept'"), tie_break=F.col("line_hash"))
        .withColumn("ingested_at", F.lit(now).cast(T.TimestampType()))
        .withColumn("start_month", F.trunc(F.to_date("start_time"), "month"))  # the session zone is UTC
        .localCheckpoint()
    )


def store_runs(storage: Storage, config: Config, runs: DataFrame, first_month: date, now: datetime) -> None:
    """What the runs make owed, then the runs into silver, then the check that every one of them is there.
    ``first_month``: silver's partition of the batch's oldest run."""
    in_silver = storage.read(PIPELINE_RUNS)
    nightly_completed = nightly_has_completed(storage)
    # The insert-only MERGE is for the first nights and rebuilds, into an empty silver table. Once a nightly
    # evaluation has completed, silver is almost never empty: the full MERGE (right on an empty table too) saves
    # every night a scan of silver that would find rows (about a second here).
    silver_empty = not nightly_completed and in_silver.isEmpty()
    # Owed before merged: a kill after the MERGE must not leave changed dates that nobody re-evaluates. Before the
    # first nightly evaluation every date is owed already, and a changed date adds nothing (an empty silver table
    # after a nightly evaluation is not that case: its runs may be older than any window).
    if nightly_completed:
        stored = in_silver.where(in_batch_months(first_month))
        record_owed(storage, owed_by_ingested_runs(runs, stored, config, now))
    checkpoint("owed_recorded")
    merge_runs(storage, runs, first_month, target_empty=silver_empty)
    check_runs_stored(runs, storage.read(PIPELINE_RUNS).where(in_batch_months(first_month)))
    checkpoint("runs_merged")


def files_with_quarantine_rows(storage: Storage, files_read: DataFrame | None) -> list[str]:
    """The files read again whose stored quarantine rows this read's replace: few (most files have none), so the
    quarantine MERGE names these, not every file read (a rebuild reads thousands, and a literal list that long
    costs seconds of planning)."""
    if files_read is None:
        return []
    stored = storage.read(QUARANTINE)
    in_files_read = stored.join(files_read, stored["source_file"] == files_read["path"], "left_semi")
    # File paths, at most one per file read: metadata, not run-level data.
    return [row.source_file for row in in_files_read.select("source_file").distinct().collect()]


def ingest(
    spark: SparkSession,
    storage: Storage,
    config: Config,
    now: datetime,
    full_scan: bool = False,
    requested: tuple[date, date] | None = None,
) -> IngestReport:
    """Read what is new, then write, in this order: what the job owes, runs, quarantine, the manifest of files read.

    ``requested``: business dates a run was asked for; their folders are listed too (a backfill of restored blobs).
    """
    batch = read_batch(spark, storage, config, now, full_scan, requested)
    if batch.raw_events is None:
        return IngestReport(batch.files_listed, 0, 0, 0, 0, 0, 0)
    source = f"{config.source.format} source {config.source.path or ''}".rstrip()
    classified = classify(batch, source)
    try:
        runs = latest_runs(classified, now)
        runs_in_batch, first_month = checked_runs(runs, classified.kept_run_ids, source)
        store_runs(storage, config, runs, first_month or now.date().replace(day=1), now)
        ingested_at = F.lit(now).cast(T.TimestampType())
        replaced = files_with_quarantine_rows(storage, batch.manifest)
        # Most nights quarantine nothing and replace nothing: then no MERGE (a commit even when it changes nothing).
        if classified.counts.get("quarantined", 0) or replaced:
            merge_quarantine(storage, classified.lines, config, ingested_at, replaced)
        if batch.manifest is not None:
            merge_manifest(storage, batch.manifest, classified.lines, ingested_at)
    finally:
        classified.lines.unpersist()
    counts = classified.counts
    return IngestReport(
        files_listed=batch.files_listed,
        files_read=len(batch.reread_files),
        lines_read=sum(counts.values()),
        blank_lines=counts.get("blank", 0),
        events_kept=counts.get("kept", 0),
        lines_quarantined=counts.get("quarantined", 0),
        runs_in_batch=runs_in_batch,
    )


def classified_lines(raw_events: DataFrame) -> DataFrame:
    """Raw events with ``status`` normalised, ``reason`` and ``kind``: blank, kept or quarantined.

    ``raw_line`` stays only where it is needed, on the lines that are not kept (quarantine stores them); a kept line
    keeps ``line_hash``, which breaks ties between its run's records. The batch is held in memory once: its text
    is most of its size.
    """
    classified = with_quarantine_reason(raw_events)
    kind = (
        F.when(F.trim(F.col("raw_line")) == "", F.lit("blank"))
        .when(F.col("reason").isNull(), F.lit("kept"))
        .otherwise(F.lit("quarantined"))
    )
    return classified.withColumn("kind", kind).select(
        *[c for c in classified.columns if c != "raw_line"],
        "kind",
        F.xxhash64("raw_line").alias("line_hash"),  # latest_run_states' default tie-break, kept without the text
        F.when(F.col("kind") != "kept", F.col("raw_line")).alias("raw_line"),
    )


def in_batch_months(first_month: date, side: ColumnOf = F.col) -> Column:
    """Silver's partitions a batch whose oldest run starts in ``first_month`` can touch: a run's start never moves
    by a month, but its Queued record may start a second before the InProgress one, across a month end."""
    return side("start_month") >= F.add_months(F.lit(first_month), -1)


def merge_runs(storage: Storage, runs: DataFrame, first_month: date, target_empty: bool = False) -> None:
    """Each run's better state into ``silver/pipeline_runs`` (see :func:`_is_newer_state`); only the batch's
    partitions are read.

    ``target_empty`` (silver was empty when read: the first night, a rebuild): an insert-only MERGE, which Delta
    writes without joining the batch with the table. It is still a MERGE: a run that commits runs first makes this
    one fail as a concurrent run, and a run stored meanwhile in a better state is kept (not inserted twice).
    """
    t, s = storage.merge_columns(PIPELINE_RUNS)
    prunable = (t("run_id") == s("run_id")) & in_batch_months(first_month, t)
    merge = (
        storage.merge(
            runs.select(*PIPELINE_RUNS.schema.fieldNames()), PIPELINE_RUNS, prunable
        ).withSchemaEvolution()  # a silver table from an older version gains the new columns (invoked_by_run_id)
    )
    if target_empty:
        merge.whenNotMatched().insertAll().merge()
        return
    (
        merge.whenMatched(_is_newer_state(t, s))
        .update(
            {
                **{c: s(c) for c in PIPELINE_RUNS.schema.fieldNames() if c != "last_event_time"},
                "last_event_time": F.greatest(s("last_event_time"), t("last_event_time")),
            }
        )
        # An older state arriving late (InProgress after Succeeded) does not win, but it was seen.
        .whenMatched(s("last_event_time") > t("last_event_time"))
        .update({"last_event_time": s("last_event_time")})
        .whenNotMatched()
        .insertAll()
        .merge()
    )


def merge_quarantine(
    storage: Storage, classified: DataFrame, config: Config, ingested_at: Column, replaced_files: list[str]
) -> None:
    """The batch's quarantined lines, counted per (file, line). The quarantine rows of ``replaced_files`` (files read
    again) are replaced by what this read found: a half-written last line of a growing blob leaves quarantine once
    the blob is complete."""
    quarantined = (
        classified.where("kind = 'quarantined'")
        .groupBy("source_file", "raw_line")
        .agg(F.min("reason").alias("reason"), F.count("*").alias("occurrences"))
        .select(
            "source_file",
            F.lit(config.source.format).alias("source_format"),
            "raw_line",
            "reason",
            "occurrences",
            ingested_at.alias("quarantined_at"),
        )
    )
    t, s = storage.merge_columns(QUARANTINE)
    (
        storage.merge(
            quarantined, QUARANTINE, (t("source_file") == s("source_file")) & (t("raw_line") == s("raw_line"))
        )
        .whenMatched()
        .update({"occurrences": s("occurrences")})
        .whenNotMatched()
        .insertAll()
        # The paths travel as literals in the plan, never as SQL text.
        .whenNotMatchedBySource(t("source_file").isin(replaced_files))
        .delete()
        .merge()
    )


def merge_manifest(storage: Storage, files_read: DataFrame, classified: DataFrame, ingested_at: Column) -> None:
    """The files read, with their size and modification time as read and the lines each held (insert-only into an
    empty manifest, as :func:`merge_runs` does)."""
    lines_per_file = classified.groupBy(F.col("source_file").alias("path")).agg(F.count("*").alias("lines_read"))
    manifest = files_read.join(lines_per_file, "path", "left").select(
        "path",
        "size",
        "modification_time",
        F.coalesce("lines_read", F.lit(0)).alias("lines_read"),
        ingested_at.alias("ingested_at"),
    )
    first_read = storage.read(INGESTED_FILES).isEmpty()
    t, s = storage.merge_columns(INGESTED_FILES)
    by_path = storage.merge(manifest, INGESTED_FILES, t("path") == s("path"))
    (by_path if first_read else by_path.whenMatched().updateAll()).whenNotMatched().insertAll().merge()
