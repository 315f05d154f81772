"""The CSV export the Power BI report was built on (``csv``) -> raw events: local times, SUCCESS/FAILURE, no run id;
files read in groups of one header each, columns matched by name (``source.columns``).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import SourceConfig
from monitoring.sources import SourceError
from monitoring.sources.raw_events import (
    RAW_EVENT_SCHEMA,
    RecordCount,
    blank_to_null,
    file_path,
    literal_paths,
    plausible,
    with_source_file,
)


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
    rows = with_source_file(
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
