"""Raw run events: what every format's reader produces, the column helpers the readers share, and
:func:`read_raw_events`, which reads files with the configured format's reader (:mod:`monitoring.sources.formats`).

A raw event is one record as read, mapped onto common columns (see ``RAW_EVENT_COLUMNS``), with
``raw_line`` and ``source_file`` kept so a record that cannot be used is quarantined as it was, and
``parse_error`` set when the record could not be parsed at all. Validation happens once, downstream,
in :mod:`monitoring.ingest`, whatever the format.

Explicit schemas everywhere: inference would be slow on years of logs and breaks on ADF's quirks
(``Level`` and ``level`` in one record). Timestamps go through ``try_to_timestamp`` because Spark 4
runs in ANSI mode, where a bad value would fail the whole job instead of one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import SourceConfig
from monitoring.sources.formats import source_format

RAW_EVENT_COLUMNS: tuple[str, ...] = (
    "source_file",
    "raw_line",
    "parse_error",
    "run_id",
    "pipeline_name",
    "factory",
    "status",
    "start_time",
    "end_time",
    "failure_type",
    "error_message",
    "run_group_id",
    "invoked_by_run_id",
    "parameters",
    "event_time",
)

_TIMESTAMPS = {c: T.TimestampType() for c in ("start_time", "end_time", "event_time")}
RAW_EVENT_SCHEMA = T.StructType([T.StructField(c, _TIMESTAMPS.get(c, T.StringType())) for c in RAW_EVENT_COLUMNS])
CORRUPT = "_corrupt_record"


class RecordCount:
    """The raw records a read holds, counted by Spark as it reads them: an observation on the frame the records
    come from (lines for line-based formats, records for documents), so the files are read once. Ingestion compares
    it with the rows it classified: a stage in between that loses rows fails the night."""

    def __init__(self) -> None:
        self._observations: list[Observation] = []

    def observed(self, df: DataFrame, records: Column) -> DataFrame:
        """``df``, counting ``records`` (a number per row) when an action reads it."""
        observation = Observation()
        self._observations.append(observation)
        return df.observe(observation, F.coalesce(F.sum(records), F.lit(0)).cast("long").alias("records"))

    def total(self) -> int:
        """The records counted; call it only after an action has read every observed frame."""
        return sum(observation.get["records"] for observation in self._observations)


def string_fields(*names: str) -> list[T.StructField]:
    """String fields of a reader's explicit schema (an object read into one keeps its JSON text)."""
    return [T.StructField(name, T.StringType()) for name in names]


# Who started a run: ADF's invokedByType of an Execute Pipeline activity (every ADF format names it so).
INVOKED_BY_PIPELINE = "PipelineActivity"


def plausible(ts: Column) -> Column:
    """``ts`` when its year is 1602..9998, else null: 1601-01-01 is ADF's 'not ended', 9999-12-31 other systems'
    'no end', and a business date past 9999 could not even be read back (Python's dates stop there)."""
    return F.when(F.year(ts).between(1602, 9998), ts)


def utc_timestamp(text: Column) -> Column:
    """ISO-8601 text -> UTC timestamp; null for a blank, dateless, unparseable or sentinel (:func:`plausible`) value.

    Values without a zone are read as UTC (the session zone), the convention of ADF's logs.
    """
    trimmed = F.trim(text)
    # A date first: Spark reads a bare time ("T22:10:00Z") as one of the day the job runs, and "2025" as 1 January.
    return plausible(F.try_to_timestamp(F.when(trimmed.rlike(r"^\d{4}-\d{2}-\d{2}"), trimmed)))


def blank_to_null(text: Column) -> Column:
    return F.nullif(F.trim(text), F.lit(""))


def factory_from_resource_id(resource_id: Column) -> Column:
    return blank_to_null(F.regexp_extract(resource_id, r"(?i)/factories/([^/]+)", 1))


def file_path() -> Column:
    """The path of the file a row was read from, spelt as the listing (and so the manifest) spells it.

    ``_metadata.file_path`` is a URI: percent-encoded ('a b%.csv' -> 'a%20b%25.csv'), which would match no
    listed path. Decoded back ('+' protected: a URI keeps it, the decoder would make it a space).
    """
    uri = F.col("_metadata.file_path")
    return F.when(uri.contains("%"), F.url_decode(F.replace(uri, F.lit("+"), F.lit("%2B")))).otherwise(uri)


def glob_escape(text: str) -> str:
    """``text`` matched literally by a Hadoop glob."""
    return re.sub(r"([{}\[\]*?\\,])", r"\\\1", text)


def literal_paths(files: Sequence[str]) -> list[str]:
    """Paths for Spark's readers, which take every path as a glob: 'x[1].json' would read 'x1.json', and
    'a{b,c}.json' fail the whole read."""
    return [glob_escape(path) for path in files]


def with_source_file(df: DataFrame) -> DataFrame:
    """``df`` with ``source_file``, the path of the file each row was read from (:func:`file_path`)."""
    return df.withColumn("source_file", file_path())


def malformed_json(text: str, parsed: str) -> Column:
    """Whether the JSON ``text`` column, read by from_json into ``parsed``, is not exactly one JSON value.

    from_json reads the first value and ignores what follows: two records run together (a lost newline)
    would keep the first and drop the second silently. Read as an array, the text must hold one element.
    """
    one_value = F.json_array_length(F.concat(F.lit("["), F.col(text), F.lit("]"))) == 1
    return F.col(f"{parsed}.{CORRUPT}").isNotNull() | ~F.coalesce(one_value, F.lit(False))


# What a file format's reader is (SourceFormat.reader names one): files -> raw events, counting the records read.
Reader = Callable[[SparkSession, Sequence[str], SourceConfig, str, RecordCount], DataFrame]


def read_raw_events(
    spark: SparkSession,
    files: Sequence[str],
    source: SourceConfig,
    timezone: str,
    count: RecordCount | None = None,
) -> DataFrame:
    """Raw events of ``files`` in the configured format, columns in ``RAW_EVENT_COLUMNS`` order; ``count`` counts
    the records as they are read."""
    read = source_format(source.format).read()
    return read(spark, files, source, timezone, count or RecordCount()).select(*RAW_EVENT_COLUMNS)
