"""Saved responses of ADF's ``queryPipelineRuns`` REST call (``adf_rest_api``) -> raw events: one JSON document per
file, one raw event per run (``factory/fetch.py`` writes them in this layout).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config import SourceConfig
from monitoring.sources.raw_events import (
    CORRUPT,
    INVOKED_BY_PIPELINE,
    RAW_EVENT_COLUMNS,
    RAW_EVENT_SCHEMA,
    RecordCount,
    blank_to_null,
    factory_from_resource_id,
    literal_paths,
    malformed_json,
    string_fields,
    utc_timestamp,
    with_source_file,
)

# An Execute Pipeline activity names its pipeline's run in pipelineRunId (id is the activity's).
REST_INVOKED_BY_SCHEMA = T.StructType(string_fields("id", "name", "invokedByType", "pipelineName", "pipelineRunId"))
REST_RUN_SCHEMA = T.StructType(
    string_fields("id", "runId", "runGroupId", "pipelineName", "parameters", "runStart", "runEnd", "status")
    + string_fields("message", "lastUpdated")
    + [T.StructField("durationInMs", T.LongType()), T.StructField("invokedBy", REST_INVOKED_BY_SCHEMA)]
)
REST_RESPONSE_SCHEMA = T.StructType(
    [T.StructField("value", T.ArrayType(REST_RUN_SCHEMA)), T.StructField(CORRUPT, T.StringType())]
)


def read_adf_rest_api(
    spark: SparkSession, files: Sequence[str], _: SourceConfig, __: str, count: RecordCount
) -> DataFrame:
    """Saved ``queryPipelineRuns`` responses: one JSON document per file, one raw event per run."""
    parsed = with_source_file(spark.read.text(literal_paths(files), wholetext=True)).withColumn(
        "doc", F.from_json("value", REST_RESPONSE_SCHEMA, {"columnNameOfCorruptRecord": CORRUPT})
    )
    malformed = malformed_json("value", "doc")
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
        *[F.lit(None).cast(RAW_EVENT_SCHEMA[c].dataType).alias(c) for c in RAW_EVENT_COLUMNS[3:]],
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
