"""Ingestion: new or grown log files -> silver ``pipeline_runs`` (one row per run) and ``quarantine``.

Order of the writes makes a crash harmless: runs are merged first, quarantine second, and the file
manifest last, so a file whose read did not complete is read again next time, and the merges make
that second read change nothing that is already right.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import Config
from monitoring.rules import RUN_STATE_ALIASES, TERMINAL_STATES
from monitoring.sources import FILE_GLOB, SourceError, glob_escape, read_raw_events
from monitoring.storage import ColumnOf, Storage
from monitoring.tables import INGESTED_FILES, PIPELINE_RUNS, QUARANTINE


@dataclass(frozen=True)
class IngestReport:
    files_listed: int
    files_read: int
    lines_read: int
    blank_lines: int
    events_kept: int
    lines_quarantined: int
    runs_in_batch: int

    @property
    def reconciles(self) -> bool:
        return self.lines_read == self.blank_lines + self.events_kept + self.lines_quarantined


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


def latest_run_states(events: DataFrame) -> DataFrame:
    """One row per run: its latest state, a terminal state beating a non-terminal one.

    Records of one run arrive out of order and across files; identical records read twice collapse.
    """
    is_terminal = F.col("status").isin(*TERMINAL_STATES)
    by_run = Window.partitionBy("run_id")
    latest_first = by_run.orderBy(
        is_terminal.desc(),
        F.col("event_time").desc_nulls_last(),
        F.col("end_time").desc_nulls_last(),
        F.col("source_file").desc(),
        F.col("raw_line").desc(),
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
            .option("pathGlobFilter", FILE_GLOB[config.source.format])
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


def window_days(now: datetime, lookback_hours: int) -> list[date]:
    """UTC dates (ADF names its folders in UTC) from ``lookback_hours`` ago to today."""
    first, last = (now - timedelta(hours=lookback_hours)).astimezone(UTC).date(), now.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def factory_folders(already_read: DataFrame) -> list[str] | None:
    """Folders holding ``y=`` trees, from the files already read; None when some file is outside that layout
    (or nothing was read yet): then only a full listing finds everything."""
    # One row per factory folder, not per file: small, whatever the history.
    folders = already_read.select(F.regexp_extract("path", DAY_FOLDER, 1).alias("folder")).distinct().collect()
    names = [row.folder for row in folders]
    return names if names and "" not in names else None


def files_to_read(listed: DataFrame, already_read: DataFrame) -> DataFrame:
    """Files never read, or whose size or modification time changed since (append blobs grow)."""
    return listed.join(
        already_read.select("path", "size", "modification_time"),
        ["path", "size", "modification_time"],
        "left_anti",
    )


@dataclass(frozen=True)
class Batch:
    """What one night reads: raw events, plus, for file sources, the files they came from."""

    raw_events: DataFrame | None  # None: nothing new
    files_listed: int
    reread_files: list[str]  # their quarantine rows are replaced by this read's
    manifest: DataFrame | None  # path, size, modification_time of the files read


def new_file_batch(spark: SparkSession, storage: Storage, config: Config, now: datetime, full_scan: bool) -> Batch:
    """New or grown files. For ADF's diagnostic layout, after the first night, only the day folders of the
    lookback window are listed: the nightly cost follows the new logs, not the years of history."""
    already_read = storage.read(INGESTED_FILES)
    folders = None if full_scan or config.source.format != "adf_diagnostic" else factory_folders(already_read)
    days = window_days(now, config.source.lookback_hours)
    location = None if folders is None else day_folders_glob(factory_globs(folders), days)
    # Snapshots, not .cache(): a cached listing is matched by plan and would be served again, stale,
    # to the next night's identical listing in the same session.
    listed = list_log_files(spark, config, location).localCheckpoint()
    files_listed = listed.count()
    new_files = files_to_read(listed, already_read).localCheckpoint()
    # File metadata only (a few thousand rows at most per night), never run-level data.
    paths = [row.path for row in new_files.select("path").collect()]
    if not paths:
        return Batch(None, files_listed, [], None)
    return Batch(read_raw_events(spark, paths, config.source, config.timezone), files_listed, paths, new_files)


def job_runs_batch(spark: SparkSession, config: Config, now: datetime) -> Batch:
    """Databricks job runs started in the lookback window, listed again each night: runs still going
    yesterday get their final state, and the MERGE makes the overlap harmless."""
    from databricks.sdk import WorkspaceClient

    from monitoring.databricks_jobs import job_run_events

    since = now - timedelta(hours=config.source.lookback_hours)
    events = job_run_events(spark, WorkspaceClient(), since, now)
    return Batch(events, 0, [], None)


def ingest(
    spark: SparkSession, storage: Storage, config: Config, now: datetime, full_scan: bool = False
) -> IngestReport:
    if config.source.format == "databricks_jobs":
        batch = job_runs_batch(spark, config, now)
    else:
        batch = new_file_batch(spark, storage, config, now, full_scan)
    if batch.raw_events is None:
        return IngestReport(batch.files_listed, 0, 0, 0, 0, 0, 0)
    paths = batch.reread_files

    ingested_at = F.lit(now).cast(T.TimestampType())
    classified = with_quarantine_reason(batch.raw_events)
    classified = classified.withColumn(
        "kind",
        F.when(F.trim(F.col("raw_line")) == "", F.lit("blank"))
        .when(F.col("reason").isNull(), F.lit("kept"))
        .otherwise(F.lit("quarantined")),
    ).localCheckpoint()  # a snapshot, like the listing: a persisted read would be matched by plan later

    counts = {row.kind: row["count"] for row in classified.groupBy("kind").count().collect()}
    lines_per_file = classified.groupBy(F.col("source_file").alias("path")).agg(F.count("*").alias("lines_read"))

    runs = (
        latest_run_states(classified.where("kind = 'kept'"))
        .withColumn("ingested_at", ingested_at)
        .withColumn("start_month", F.trunc(F.to_date("start_time"), "month"))  # the session zone is UTC
        .localCheckpoint()
    )
    batch_stats = runs.agg(
        F.count("*").alias("runs"),
        F.min("start_month").alias("first_month"),
    ).first()
    # Only the partitions the batch can touch are read: a run's start never moves by a month, but its
    # Queued record may start a second before the InProgress one, across a month end.
    first_month = batch_stats.first_month or now.date().replace(day=1)
    t, s = storage.merge_columns(PIPELINE_RUNS)
    prunable = (t("run_id") == s("run_id")) & (t("start_month") >= F.add_months(F.lit(first_month), -1))
    (
        storage.merge(runs.select(*PIPELINE_RUNS.schema.fieldNames()), PIPELINE_RUNS, prunable)
        .whenMatched(_is_newer_state(t, s))
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

    # A re-read file's quarantine is replaced by what this read found: a half-written last line of a
    # growing blob leaves quarantine once the blob is complete.
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
        # The re-read paths travel as literals in the plan, never as SQL text.
        .whenNotMatchedBySource(t("source_file").isin(paths))
        .delete()
        .merge()
    )

    if batch.manifest is not None:
        manifest = batch.manifest.join(lines_per_file, "path", "left").select(
            "path",
            "size",
            "modification_time",
            F.coalesce("lines_read", F.lit(0)).alias("lines_read"),
            ingested_at.alias("ingested_at"),
        )
        t, s = storage.merge_columns(INGESTED_FILES)
        by_path = storage.merge(manifest, INGESTED_FILES, t("path") == s("path"))
        by_path.whenMatched().updateAll().whenNotMatched().insertAll().merge()

    return IngestReport(
        files_listed=batch.files_listed,
        files_read=len(paths),
        lines_read=sum(counts.values()),
        blank_lines=counts.get("blank", 0),
        events_kept=counts.get("kept", 0),
        lines_quarantined=counts.get("quarantined", 0),
        runs_in_batch=batch_stats.runs,
    )
