"""Readers: log files of each supported format -> one frame of *raw run events*.

A raw event is one record as read, mapped onto common columns (see ``RAW_EVENT_COLUMNS``), with
``raw_line`` and ``source_file`` kept so a record that cannot be used is quarantined as it was, and
``parse_error`` set when the record could not be parsed at all. Validation happens once, downstream,
in :mod:`monitoring.ingest`, whatever the format.

Explicit schemas everywhere: inference would be slow on years of logs and breaks on ADF's quirks
(``Level`` and ``level`` in one record). Timestamps go through ``try_to_timestamp`` because Spark 4
runs in ANSI mode, where a bad value would fail the whole job instead of one line.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import SourceConfig

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


class SourceError(RuntimeError):
    """The log source cannot be read at all (missing folder, CSV header without a mapped column...)."""


FILE_GLOB = {"adf_diagnostic": "*.json", "log_analytics": "*.json", "adf_rest_api": "*.json", "csv": "*.csv"}


def _strings(*names: str) -> list[T.StructField]:
    return [T.StructField(name, T.StringType()) for name in names]


# Only the fields we use. Objects read into a string field keep their JSON text (parameters).
DIAGNOSTIC_SCHEMA = T.StructType(
    [
        *_strings("time", "resourceId", "runId", "pipelineName", "status", "start", "end", "failureType"),
        *_strings("groupId"),
        T.StructField("properties", T.StructType(_strings("Parameters", "Message", "ErrorMessage", "Predecessors"))),
        T.StructField(CORRUPT, T.StringType()),
    ]
)

LOG_ANALYTICS_SCHEMA = T.StructType(
    [
        *_strings("TimeGenerated", "ResourceId", "RunId", "PipelineName", "Status", "Start", "End"),
        *_strings("FailureType", "ErrorMessage", "GroupId", "Parameters", "Predecessors"),
        T.StructField(CORRUPT, T.StringType()),
    ]
)

# Who started a run. An Execute Pipeline activity names its pipeline's run: the REST API in pipelineRunId (id
# is the activity's), the diagnostic and Log Analytics Predecessors in Id (or PipelineRunId where given).
INVOKED_BY_PIPELINE = "PipelineActivity"
REST_INVOKED_BY_SCHEMA = T.StructType(_strings("id", "name", "invokedByType", "pipelineName", "pipelineRunId"))
PREDECESSORS_SCHEMA = T.ArrayType(T.StructType(_strings("Id", "Name", "InvokedByType", "PipelineRunId")))
REST_RUN_SCHEMA = T.StructType(
    _strings("id", "runId", "runGroupId", "pipelineName", "parameters", "runStart", "runEnd", "status")
    + _strings("message", "lastUpdated")
    + [T.StructField("durationInMs", T.LongType()), T.StructField("invokedBy", REST_INVOKED_BY_SCHEMA)]
)
REST_RESPONSE_SCHEMA = T.StructType(
    [T.StructField("value", T.ArrayType(REST_RUN_SCHEMA)), T.StructField(CORRUPT, T.StringType())]
)


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


def invoking_run_id(predecessors_json: Column) -> Column:
    """The run id of the pipeline run whose Execute Pipeline activity started this one, from the JSON text of
    ``Predecessors`` (an array in diagnostic logs, a string holding one in Log Analytics); null for a trigger
    or a manual run, and for text that is not such an array (the run itself is still kept)."""
    parsed = F.from_json(predecessors_json, PREDECESSORS_SCHEMA)
    by_pipeline = F.filter(parsed, lambda p: p["InvokedByType"] == INVOKED_BY_PIPELINE)
    first = F.try_element_at(by_pipeline, F.lit(1))
    return blank_to_null(F.coalesce(blank_to_null(first["PipelineRunId"]), first["Id"]))


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


def _with_file(df: DataFrame) -> DataFrame:
    return df.withColumn("source_file", file_path())


def one_json_object(text: Column, schema: T.StructType) -> Column:
    """``text`` parsed into ``schema``, or null when it is not exactly one JSON object.

    from_json reads the first value and ignores what follows: two records run together (a lost newline) would
    keep the first and drop the second silently. So the text is parsed as the one element of an array: a second
    value makes two elements, and trailing garbage or a value that is not an object, no array at all. One parse.
    """
    values = F.from_json(
        F.concat(F.lit("["), text, F.lit("]")), T.ArrayType(schema), {"columnNameOfCorruptRecord": CORRUPT}
    )
    return F.when(F.size(values) == 1, F.try_element_at(values, F.lit(1)))


def _malformed(parsed: str) -> Column:
    """Whether the column ``parsed`` (from :func:`one_json_object`) holds no record."""
    return F.col(parsed).isNull() | F.col(f"{parsed}.{CORRUPT}").isNotNull()


def _json_lines(spark: SparkSession, files: Sequence[str], schema: T.StructType, count: RecordCount) -> DataFrame:
    """One row per line: ``source_file``, ``raw_line``, ``j`` (parsed), ``parse_error``."""
    lines = count.observed(_with_file(spark.read.text(literal_paths(files))), F.lit(1)).withColumnRenamed(
        "value", "raw_line"
    )
    parsed = lines.withColumn("j", one_json_object(F.col("raw_line"), schema))
    return parsed.withColumn("parse_error", F.when(_malformed("j"), F.lit("malformed JSON")))


def read_adf_diagnostic(
    spark: SparkSession, files: Sequence[str], _: SourceConfig, __: str, count: RecordCount
) -> DataFrame:
    j = F.col("j")
    return _json_lines(spark, files, DIAGNOSTIC_SCHEMA, count).select(
        "source_file",
        "raw_line",
        "parse_error",
        blank_to_null(j.runId).alias("run_id"),
        blank_to_null(j.pipelineName).alias("pipeline_name"),
        factory_from_resource_id(j.resourceId).alias("factory"),
        j.status.alias("status"),
        utc_timestamp(j.start).alias("start_time"),
        utc_timestamp(j.end).alias("end_time"),
        blank_to_null(j.failureType).alias("failure_type"),
        F.coalesce(blank_to_null(j.properties.Message), blank_to_null(j.properties.ErrorMessage)).alias(
            "error_message"
        ),
        blank_to_null(j.groupId).alias("run_group_id"),
        invoking_run_id(j.properties.Predecessors).alias("invoked_by_run_id"),
        blank_to_null(j.properties.Parameters).alias("parameters"),
        utc_timestamp(j.time).alias("event_time"),
    )


def read_log_analytics(
    spark: SparkSession, files: Sequence[str], _: SourceConfig, __: str, count: RecordCount
) -> DataFrame:
    j = F.col("j")
    return _json_lines(spark, files, LOG_ANALYTICS_SCHEMA, count).select(
        "source_file",
        "raw_line",
        "parse_error",
        blank_to_null(j.RunId).alias("run_id"),
        blank_to_null(j.PipelineName).alias("pipeline_name"),
        factory_from_resource_id(j.ResourceId).alias("factory"),
        j.Status.alias("status"),
        utc_timestamp(j.Start).alias("start_time"),
        utc_timestamp(j.End).alias("end_time"),
        blank_to_null(j.FailureType).alias("failure_type"),
        blank_to_null(j.ErrorMessage).alias("error_message"),
        blank_to_null(j.GroupId).alias("run_group_id"),
        invoking_run_id(j.Predecessors).alias("invoked_by_run_id"),
        blank_to_null(j.Parameters).alias("parameters"),
        utc_timestamp(j.TimeGenerated).alias("event_time"),
    )


def read_adf_rest_api(
    spark: SparkSession, files: Sequence[str], _: SourceConfig, __: str, count: RecordCount
) -> DataFrame:
    """Saved ``queryPipelineRuns`` responses: one JSON document per file, one raw event per run."""
    parsed = _with_file(spark.read.text(literal_paths(files), wholetext=True)).withColumn(
        "doc", one_json_object(F.col("value"), REST_RESPONSE_SCHEMA)
    )
    malformed = _malformed("doc")
    # Records: a response's runs, or the whole document when it is not a response.
    documents = count.observed(
        parsed, F.when(malformed | F.col("doc.value").isNull(), F.lit(1)).otherwise(F.size("doc.value"))
    )
    # A document that is not a response at all is one quarantined record holding the whole file.
    unreadable = documents.where(malformed | F.col("doc.value").isNull()).select(
        "source_file",
        F.col("value").alias("raw_line"),
        F.when(malformed, F.lit("malformed JSON"))
        .otherwise(F.lit("not a queryPipelineRuns response (no 'value' list)"))
        .alias("parse_error"),
        *[F.lit(None).cast(_TIMESTAMPS.get(c, T.StringType())).alias(c) for c in RAW_EVENT_COLUMNS[3:]],
    )
    r = F.col("r")
    runs = (
        documents.where(~malformed)
        .select("source_file", F.explode("doc.value").alias("r"))
        .select(
            "source_file",
            F.to_json(r).alias("raw_line"),
            F.lit(None).cast(T.StringType()).alias("parse_error"),
            blank_to_null(r.runId).alias("run_id"),
            blank_to_null(r.pipelineName).alias("pipeline_name"),
            factory_from_resource_id(r.id).alias("factory"),
            r.status.alias("status"),
            utc_timestamp(r.runStart).alias("start_time"),
            utc_timestamp(r.runEnd).alias("end_time"),
            F.lit(None).cast(T.StringType()).alias("failure_type"),
            blank_to_null(r.message).alias("error_message"),
            blank_to_null(r.runGroupId).alias("run_group_id"),
            F.when(r.invokedBy.invokedByType == INVOKED_BY_PIPELINE, blank_to_null(r.invokedBy.pipelineRunId)).alias(
                "invoked_by_run_id"
            ),
            blank_to_null(r.parameters).alias("parameters"),
            F.coalesce(utc_timestamp(r.lastUpdated), utc_timestamp(r.runEnd)).alias("event_time"),
        )
    )
    return runs.unionByName(unreadable)


def _header(name: str) -> Column:
    """A CSV column by its header text, whatever characters the header holds (dots, backticks...)."""
    return F.col("`" + name.replace("`", "``") + "`")


def csv_files_by_header(spark: SparkSession, files: Sequence[str]) -> dict[str, list[str]]:
    """``files`` by their header line (empty files under none).

    Spark's CSV reader takes the first file's header for all and reads the others by position: an export whose
    columns come in another order would put its values in the wrong columns. So files are read in groups of one
    header each. The header is the first non-empty line of a file's first split, in reading order (Spark's CSV
    reader skips empty lines too); one small aggregation, and only headers and paths come back to the driver.
    """
    lines = spark.read.text(literal_paths(files)).select(
        file_path().alias("path"),
        F.col("_metadata.file_block_start").alias("block_start"),
        F.col("value"),
        F.monotonically_increasing_id().alias("position"),
    )
    first_lines = lines.where("block_start = 0 AND value != ''")
    headers = first_lines.groupBy("path").agg(F.min_by("value", "position").alias("header"))
    groups = headers.groupBy("header").agg(F.sort_array(F.collect_list("path")).alias("paths"))
    return {row.header: row.paths for row in groups.collect()}


def csv_column_names(header: str, delimiter: str) -> list[str]:
    """The column names Spark's CSV reader gives ``header``: a blank name is ``_c<i>``, and names repeated (in any
    case) get their index appended."""
    cells = next(csv.reader([header], delimiter=delimiter, quotechar='"', doublequote=True), [])
    repeated = {name.lower() for name, count in Counter(c.lower() for c in cells if c).items() if count > 1}
    return [
        f"_c{i}" if not cell else f"{cell}{i}" if cell.lower() in repeated else cell for i, cell in enumerate(cells)
    ]


def read_csv_export(
    spark: SparkSession, files: Sequence[str], source: SourceConfig, timezone: str, count: RecordCount
) -> DataFrame:
    """The export the Power BI report was built on: local times, SUCCESS/FAILURE, no run id.

    The run id is derived from pipeline name and start, so the same row read twice is the same run. Files are
    read in groups of one header each (:func:`csv_files_by_header`), so columns are matched by name.
    """
    frames = [
        _read_csv_group(spark, paths, csv_column_names(header, source.csv.delimiter), source, timezone, count)
        for header, paths in sorted(csv_files_by_header(spark, files).items())
    ]
    if not frames:  # only empty files (an export of a day without runs): no header, no rows
        return spark.createDataFrame([], RAW_EVENT_SCHEMA)
    return reduce(DataFrame.unionByName, frames)


def _read_csv_group(
    spark: SparkSession,
    files: Sequence[str],
    columns: list[str],
    source: SourceConfig,
    timezone: str,
    count: RecordCount,
) -> DataFrame:
    """CSV files sharing one header line, whose ``columns`` are given: Spark would infer them by reading the
    files again, through a reader that takes their paths as globs even when escaped."""
    options = source.csv
    schema = T.StructType([T.StructField(name, T.StringType()) for name in columns])
    rows = _with_file(
        spark.read.schema(schema)
        .option("header", "true")
        .option("sep", options.delimiter)
        .option("multiLine", "true")
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .csv(literal_paths(files))
    )
    rows = count.observed(rows, F.lit(1))
    if rows.columns == ["source_file"]:  # a header of blank lines only: no columns, no rows
        return spark.createDataFrame([], RAW_EVENT_SCHEMA)
    missing = [name for name in options.columns.values() if name not in rows.columns]
    if missing:
        found = ", ".join(c for c in rows.columns if c != "source_file")
        raise SourceError(
            f"source.columns: {missing} not in the CSV header of {files[0]}"
            + (f" and {len(files) - 1} other file(s)" if len(files) > 1 else "")
            + f" (found: {found})"
        )
    col = {key: _header(name) for key, name in options.columns.items()}
    data_columns = [F.coalesce(_header(c), F.lit("")) for c in rows.columns if c != "source_file"]

    def local_time(text: Column) -> Column:
        parsed = F.try_to_timestamp(blank_to_null(text), F.lit(options.timestamp_format))
        return plausible(F.to_utc_timestamp(parsed, timezone))

    start_text = blank_to_null(col["start_time"])
    pipeline = blank_to_null(col["pipeline_name"])
    return rows.select(
        "source_file",
        F.concat_ws(options.delimiter, *data_columns).alias("raw_line"),
        F.lit(None).cast(T.StringType()).alias("parse_error"),
        # Always an id, so a row without a name or start is quarantined for that, not for a "missing run id".
        F.concat(F.lit("csv-"), F.substring(F.sha2(F.concat_ws("|", pipeline, start_text), 256), 1, 32)).alias(
            "run_id"
        ),
        pipeline.alias("pipeline_name"),
        F.lit(None).cast(T.StringType()).alias("factory"),
        col["status"].alias("status"),
        local_time(col["start_time"]).alias("start_time"),
        local_time(col["end_time"]).alias("end_time"),
        F.lit(None).cast(T.StringType()).alias("failure_type"),
        blank_to_null(col["error_message"]).alias("error_message"),
        F.lit(None).cast(T.StringType()).alias("run_group_id"),  # no groups: each run is its own date's
        F.lit(None).cast(T.StringType()).alias("invoked_by_run_id"),
        F.lit(None).cast(T.StringType()).alias("parameters"),
        F.coalesce(local_time(col["end_time"]), local_time(col["start_time"])).alias("event_time"),
    )


Reader = Callable[[SparkSession, Sequence[str], SourceConfig, str, RecordCount], DataFrame]

READERS: dict[str, Reader] = {
    "adf_diagnostic": read_adf_diagnostic,
    "log_analytics": read_log_analytics,
    "adf_rest_api": read_adf_rest_api,
    "csv": read_csv_export,
}


def read_raw_events(
    spark: SparkSession,
    files: Sequence[str],
    source: SourceConfig,
    timezone: str,
    count: RecordCount | None = None,
) -> DataFrame:
    """Raw events of ``files`` in the configured format, columns in ``RAW_EVENT_COLUMNS`` order; ``count`` counts
    the records as they are read."""
    return READERS[source.format](spark, files, source, timezone, count or RecordCount()).select(*RAW_EVENT_COLUMNS)
