"""ADF's line-per-record formats -> raw events: diagnostic logs (``adf_diagnostic``, the storage account's
``insights-logs-pipelineruns`` blobs) and Log Analytics exports (``log_analytics``). One JSON record per line.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import SourceConfig
from monitoring.sources.raw_events import (
    CORRUPT,
    INVOKED_BY_PIPELINE,
    RecordCount,
    blank_to_null,
    factory_from_resource_id,
    literal_paths,
    malformed_json,
    string_fields,
    utc_timestamp,
    with_source_file,
)

# Only the fields we use. Objects read into a string field keep their JSON text (parameters).
DIAGNOSTIC_SCHEMA = T.StructType(
    [
        *string_fields("time", "resourceId", "runId", "pipelineName", "status", "start", "end", "failureType"),
        *string_fields("groupId"),
        T.StructField(
            "properties", T.StructType(string_fields("Parameters", "Message", "ErrorMessage", "Predecessors"))
        ),
        T.StructField(CORRUPT, T.StringType()),
    ]
)

LOG_ANALYTICS_SCHEMA = T.StructType(
    [
        *string_fields("TimeGenerated", "ResourceId", "RunId", "PipelineName", "Status", "Start", "End"),
        *string_fields("FailureType", "ErrorMessage", "GroupId", "Parameters", "Predecessors"),
        T.StructField(CORRUPT, T.StringType()),
    ]
)

# The diagnostic and Log Analytics Predecessors name the invoking pipeline's run in Id (or PipelineRunId where given).
PREDECESSORS_SCHEMA = T.ArrayType(T.StructType(string_fields("Id", "Name", "InvokedByType", "PipelineRunId")))


def invoking_predecessor(predecessors_json: Column) -> Column:
    """The ``Predecessors`` entry of the pipeline run whose Execute Pipeline activity started this one, from its
    JSON text (an array in diagnostic logs, a string holding one in Log Analytics); null for a trigger or a manual
    run, and for text that is not such an array (the run itself is still kept)."""
    parsed = F.from_json(predecessors_json, PREDECESSORS_SCHEMA)
    return F.try_element_at(F.filter(parsed, lambda p: p["InvokedByType"] == INVOKED_BY_PIPELINE), F.lit(1))


def invoking_run_id(predecessor: Column) -> Column:
    """The run id an :func:`invoking_predecessor` entry names: ``PipelineRunId`` where given, else ``Id``."""
    return blank_to_null(F.coalesce(blank_to_null(predecessor["PipelineRunId"]), predecessor["Id"]))


def with_invoking_predecessor(lines: DataFrame, predecessors_json: Column) -> DataFrame:
    """``lines`` with ``_invoker``, their :func:`invoking_predecessor`, as a column of its own: read twice by
    :func:`invoking_run_id`, it is parsed once (Spark does not inline a costly expression used twice)."""
    return lines.withColumn("_invoker", invoking_predecessor(predecessors_json))


def _json_lines(spark: SparkSession, files: Sequence[str], schema: T.StructType, count: RecordCount) -> DataFrame:
    """One row per line: ``source_file``, ``raw_line``, ``j`` (parsed), ``parse_error``."""
    lines = count.observed(with_source_file(spark.read.text(literal_paths(files))), F.lit(1)).withColumnRenamed(
        "value", "raw_line"
    )
    parsed = lines.withColumn("j", F.from_json("raw_line", schema, {"columnNameOfCorruptRecord": CORRUPT}))
    return parsed.withColumn("parse_error", F.when(malformed_json("raw_line", "j"), F.lit("malformed JSON")))


def read_adf_diagnostic(
    spark: SparkSession, files: Sequence[str], _: SourceConfig, __: str, count: RecordCount
) -> DataFrame:
    j = F.col("j")
    lines = _json_lines(spark, files, DIAGNOSTIC_SCHEMA, count)
    return with_invoking_predecessor(lines, j.properties.Predecessors).select(
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
        invoking_run_id(F.col("_invoker")).alias("invoked_by_run_id"),
        blank_to_null(j.properties.Parameters).alias("parameters"),
        utc_timestamp(j.time).alias("event_time"),
    )


def read_log_analytics(
    spark: SparkSession, files: Sequence[str], _: SourceConfig, __: str, count: RecordCount
) -> DataFrame:
    j = F.col("j")
    lines = _json_lines(spark, files, LOG_ANALYTICS_SCHEMA, count)
    return with_invoking_predecessor(lines, j.Predecessors).select(
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
        invoking_run_id(F.col("_invoker")).alias("invoked_by_run_id"),
        blank_to_null(j.Parameters).alias("parameters"),
        utc_timestamp(j.TimeGenerated).alias("event_time"),
    )
