"""Schemas of the tables the job writes, with a comment on every column.

The comments land in the Delta log, so Power BI, Unity Catalog and `DESCRIBE` show them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T


def _col(name: str, data_type: T.DataType, comment: str, nullable: bool = True) -> T.StructField:
    return T.StructField(name, data_type, nullable, {"comment": comment})


@dataclass(frozen=True)
class TableSpec:
    name: str  # relative name: layer/table
    comment: str
    schema: T.StructType
    partition_by: tuple[str, ...] = ()


S, TS, D, L, INT, B, DBL = (
    T.StringType(),
    T.TimestampType(),
    T.DateType(),
    T.LongType(),
    T.IntegerType(),
    T.BooleanType(),
    T.DoubleType(),
)

PIPELINE_RUNS = TableSpec(
    "silver/pipeline_runs",
    "One row per ADF pipeline run: its latest known state, deduplicated across log records and files.",
    T.StructType(
        [
            _col(
                "run_id",
                S,
                "ADF run id (key). CSV exports have none: a hash of pipeline name and start.",
                False,
            ),
            _col("pipeline_name", S, "ADF pipeline name.", False),
            _col("factory", S, "Data factory the run belongs to (from the resource id), when known."),
            _col("status", S, "Latest state: Queued, InProgress, Succeeded, Failed or Cancelled.", False),
            _col("start_time", TS, "Run start, UTC.", False),
            _col("end_time", TS, "Run end, UTC; null while the run has not ended."),
            _col("duration_seconds", L, "end_time - start_time in seconds; null while not ended."),
            _col("failure_type", S, "ADF failure type (UserError, SystemError, ...) of a failed run."),
            _col("error_message", S, "Error text of a failed run, as ADF logged it."),
            _col(
                "run_group_id",
                S,
                "ADF run group id (a rerun shares its original's group). The group's runs count for the business"
                " date of its earliest run.",
            ),
            _col(
                "invoked_by_run_id",
                S,
                "Run id of the pipeline run whose Execute Pipeline activity started this run; null for a trigger or a"
                " manual run. The run shares that run's business date.",
            ),
            _col("parameters", S, "Run parameters, as a JSON string."),
            _col("last_event_time", TS, "Time of the newest log record seen for this run, UTC."),
            _col("source_file", S, "File the retained record came from."),
            _col("ingested_at", TS, "When this row was last written by the job, UTC."),
            _col(
                "start_month",
                D,
                "First day of start_time's UTC month. The partition column: merges and day reads prune by it.",
                False,
            ),
        ]
    ),
    partition_by=("start_month",),
)

QUARANTINE = TableSpec(
    "silver/quarantine",
    "Log lines the job could not turn into a run, with the reason. Nothing is dropped silently.",
    T.StructType(
        [
            _col("source_file", S, "File the line came from.", False),
            _col("source_format", S, "Configured source format (adf_diagnostic, log_analytics, ...).", False),
            _col("raw_line", S, "The line (or record) as read, unmodified.", False),
            _col("reason", S, "Why it was set aside, e.g. 'malformed JSON' or 'missing run id'.", False),
            _col(
                "occurrences",
                L,
                "How many times this exact line appears in the file (counts reconcile).",
                False,
            ),
            _col("quarantined_at", TS, "When the job set it aside, UTC.", False),
        ]
    ),
)

INGESTED_FILES = TableSpec(
    "silver/ingested_files",
    "Log files already read, with the size and modification time seen, so a night reads only new or grown files.",
    T.StructType(
        [
            _col("path", S, "Full path of the log file.", False),
            _col("size", L, "Size in bytes when it was read.", False),
            _col("modification_time", TS, "Modification time when it was read, UTC.", False),
            _col("lines_read", L, "Lines (records) read from it in total at that read."),
            _col("ingested_at", TS, "When it was read, UTC.", False),
        ]
    ),
)

_STATUS = "OK, WARNING, KO or PENDING (not due yet)."
_REASON = (
    "Comma-separated reason codes in canonical order (MISSING, FAILED, CANCELLED, RUNNING, PENDING, LATE, "
    "ORDER, RETRIED, SLOW, FAST); null when OK."
)
_COLOR = "Hex colour of the status: #2E7D32 OK, #EF6C00 WARNING, #C62828 KO, #757575 PENDING."

PIPELINE_DAILY_STATUS = TableSpec(
    "gold/pipeline_daily_status",
    "Daily status of each ADF pipeline: one row per (business_date, pipeline_name).",
    T.StructType(
        [
            _col(
                "business_date",
                D,
                "Business date the runs count for: its flow's day (day_starts_at) holding their start, in the"
                " configured time zone; a rerun or child run counts for its group's or invoking run's date.",
                False,
            ),
            _col(
                "flow",
                S,
                "Business flow of the pipeline; UNASSIGNED when it is in no configured flow.",
                False,
            ),
            _col("pipeline_name", S, "ADF pipeline name.", False),
            _col(
                "execution_order",
                INT,
                "Position of the pipeline in its flow (1 = first); null when UNASSIGNED.",
            ),
            _col("expected", B, "True when the pipeline's schedule expects a run on this date.", False),
            _col("status", S, _STATUS, False),
            _col("reason", S, _REASON),
            _col("detail", S, "One readable sentence explaining the status."),
            _col("run_count", INT, "Runs of the pipeline counted for this business date (reruns included).", False),
            _col("failed_run_count", INT, "Of those, runs that failed or were cancelled.", False),
            _col("run_id", S, "Run id of the final run (the latest start among the runs counted for this date)."),
            _col(
                "last_run_status",
                S,
                "State of the final run: Queued, InProgress, Succeeded, Failed, Cancelled.",
            ),
            _col("start_time", TS, "Final run's start, UTC."),
            _col("end_time", TS, "Final run's end, UTC; null while it has not ended."),
            _col("start_local", S, "Final run's start in the configured time zone, yyyy-MM-dd HH:mm:ss."),
            _col("end_local", S, "Final run's end in the configured time zone, yyyy-MM-dd HH:mm:ss."),
            _col("duration_seconds", L, "Final run's duration in seconds."),
            _col("duration_hms", S, "Final run's duration as HH:MM:SS (hours may pass 24)."),
            _col("error_message", S, "Error text of the final run, if it failed."),
            _col("failure_type", S, "ADF failure type of the final run, if it failed."),
            _col(
                "baseline_duration_seconds",
                DBL,
                "Median duration of the recent successful final runs (SLOW/FAST).",
            ),
            _col("duration_ratio", DBL, "duration_seconds / baseline_duration_seconds."),
            _col(
                "consecutive_ko_days",
                INT,
                "For a KO row, how many of the pipeline's rows in a row end KO here; else 0.",
                False,
            ),
            _col("status_color", S, _COLOR, False),
            _col("evaluated_at", TS, "When the job computed this row, UTC.", False),
        ]
    ),
)

FLOW_DAILY_STATUS = TableSpec(
    "gold/flow_daily_status",
    "Daily status of each business flow over its expected pipelines: one row per (business_date, flow).",
    T.StructType(
        [
            _col(
                "business_date", D, "Business date: the flow's day (day_starts_at) in the configured time zone.", False
            ),
            _col("flow", S, "Business flow name.", False),
            _col("status", S, _STATUS, False),
            _col(
                "reason",
                S,
                "Distinct reason codes of the flow's expected pipelines, in canonical order; null when OK.",
            ),
            _col("detail", S, "One readable sentence: which pipelines are not OK and why."),
            _col("pipelines_expected", INT, "Pipelines of the flow expected on this date.", False),
            _col("pipelines_ok", INT, "Of those, pipelines with status OK.", False),
            _col("pipelines_warning", INT, "Of those, pipelines with status WARNING.", False),
            _col("pipelines_ko", INT, "Of those, pipelines with status KO.", False),
            _col(
                "start_time",
                TS,
                "First start of a run of the flow's pipelines that started within this business day, UTC.",
            ),
            _col(
                "end_time", TS, "Last end of a run of the flow's pipelines that started within this business day, UTC."
            ),
            _col("start_local", S, "start_time in the configured time zone, yyyy-MM-dd HH:mm:ss."),
            _col("end_local", S, "end_time in the configured time zone, yyyy-MM-dd HH:mm:ss."),
            _col("duration_seconds", L, "end_time - start_time in seconds (the report's TimeDuration)."),
            _col("duration_hms", S, "That span as HH:MM:SS (hours may pass 24)."),
            _col(
                "consecutive_ko_days",
                INT,
                "For a KO row, how many of the flow's rows in a row end KO here; else 0.",
                False,
            ),
            _col("status_color", S, _COLOR, False),
            _col("evaluated_at", TS, "When the job computed this row, UTC.", False),
        ]
    ),
)


def _kpi_columns(subject: str) -> list[T.StructField]:
    """Per-period measures shared by the flow and pipeline KPI tables (from the daily tables)."""
    return [
        _col(
            "days_expected",
            INT,
            f"Days of the period the {subject} was expected and had its status (not PENDING).",
            False,
        ),
        _col("days_ok", INT, "Of those, days with status OK.", False),
        _col("days_warning", INT, "Of those, days with status WARNING.", False),
        _col("days_ko", INT, "Of those, days with status KO.", False),
        _col("availability", DBL, "(days_ok + days_warning) / days_expected; null when nothing was expected."),
        _col("on_time_rate", DBL, "days_ok / days_expected (OK: ran, succeeded, on time, in order)."),
        _col("duration_mean_seconds", DBL, f"Mean duration of the {subject}'s days with a duration, in seconds."),
        _col("duration_median_seconds", DBL, "Median of those durations, in seconds."),
        _col("duration_p90_seconds", DBL, "90th percentile of those durations, in seconds."),
        _col("max_ko_streak", INT, "Longest run of consecutive KO days ending in the period.", False),
        _col("availability_change", DBL, "availability minus the previous period's (null without one)."),
        _col("on_time_rate_change", DBL, "on_time_rate minus the previous period's."),
        _col("duration_mean_change_seconds", DBL, "duration_mean_seconds minus the previous period's."),
        _col("evaluated_at", TS, "When the job computed this row, UTC.", False),
    ]


_PERIOD = [
    _col("granularity", S, "week (Monday to Sunday) or month.", False),
    _col("period_start", D, "First day of the period (a Monday, or the 1st of the month).", False),
    _col("period_end", D, "Last day of the period.", False),
]

FLOW_KPI = TableSpec(
    "gold/flow_kpi",
    "Success rate and duration trends of each flow: one row per (granularity, period_start, flow).",
    T.StructType([*_PERIOD, _col("flow", S, "Business flow name.", False), *_kpi_columns("flow")]),
)

PIPELINE_KPI = TableSpec(
    "gold/pipeline_kpi",
    "Success rate and duration trends of each pipeline: one row per (granularity, period_start, pipeline_name).",
    T.StructType(
        [
            *_PERIOD,
            _col("flow", S, "Business flow of the pipeline (UNASSIGNED when in no flow).", False),
            _col("pipeline_name", S, "ADF pipeline name.", False),
            *_kpi_columns("pipeline"),
        ]
    ),
)

# Written by `pipeline-monitor notify`, not by the job: deliberately not in ALL_TABLES.
ALERTS_SENT = TableSpec(
    "gold/alerts_sent",
    "Alerts delivered or attempted, one row per (business_date, trigger, event, subject_kind, subject, channel): "
    "a rerun sends nothing twice and retries what failed.",
    T.StructType(
        [
            _col("business_date", D, "Business date the alert is about.", False),
            _col("trigger", S, "digest, on_change or streak.", False),
            _col("event", S, "DIGEST, KO, WARNING, RECOVERED or STREAK.", False),
            _col("subject_kind", S, "digest or pipeline.", False),
            _col("subject", S, "The pipeline's name; '*' for the digest.", False),
            _col("channel", S, "email or teams.", False),
            _col("flow", S, "Flow the alert was grouped under (one message per flow); null for the digest."),
            _col("status", S, "sent, or failed (retried by the next run).", False),
            _col("attempts", INT, "Delivery attempts so far, over all runs.", False),
            _col("last_error", S, "Last delivery error (secrets masked); null once sent."),
            _col("title", S, "Title (e-mail subject) of the message that carried the alert."),
            _col("recipients", S, "E-mail recipients, comma-separated; null for Teams."),
            _col("first_attempt_at", TS, "First delivery attempt, UTC.", False),
            _col("sent_at", TS, "When it was delivered, UTC; null while not delivered."),
            _col("updated_at", TS, "Last write of this row, UTC.", False),
        ]
    ),
)

# The job's own bookkeeping: what the next nightly run must evaluate. Not a status table: deliberately not in
# ALL_TABLES (a rebuild and an incremental history owe different things on the way, and the same tables after).
OWED_DATES = TableSpec(
    "state/owed_dates",
    "Business dates the job still owes an evaluation: each row means its date and every later date are evaluated "
    "again by the next nightly run, which deletes the row once its gold and KPI tables are committed.",
    T.StructType(
        [
            _col("business_date", D, "First business date owed (every later date is owed with it).", False),
            _col(
                "reason",
                S,
                "runs changed (ingested runs on this date or later), pending (a PENDING row due at due_at), "
                "not evaluated yet (the day after the last nightly evaluation), "
                "after explicit dates (a --date/--from run changed rows later dates depend on).",
                False,
            ),
            _col("detail", S, "One readable sentence: what made the date owed."),
            _col("due_at", TS, "Owed from this instant on, UTC (a PENDING row's due time); null: owed now."),
            _col("recorded_at", TS, "When the run that recorded it started, UTC.", False),
        ]
    ),
)

ALL_TABLES: tuple[TableSpec, ...] = (
    PIPELINE_RUNS,
    QUARANTINE,
    INGESTED_FILES,
    PIPELINE_DAILY_STATUS,
    FLOW_DAILY_STATUS,
    FLOW_KPI,
    PIPELINE_KPI,
)

# Written by the job when source.factory is set (monitoring.factory.drift): what the config misses of the factory.
CONFIG_DRIFT = TableSpec(
    "gold/config_drift",
    "Where monitoring.yml and the Data Factory's definitions disagree, as found on each date: "
    "one row per (business_date, kind, pipeline_name).",
    T.StructType(
        [
            _col("business_date", D, "Local date (configured time zone) the check ran for.", False),
            _col(
                "kind",
                S,
                "unmonitored (a started trigger runs it, no flow lists it), unknown_pipeline (a flow lists it, the "
                "factory has none), schedule (the config's schedule is not the trigger's), stopped_trigger.",
                False,
            ),
            _col("pipeline_name", S, "The pipeline concerned.", False),
            _col("detail", S, "One readable sentence: what differs, and where.", False),
            _col("evaluated_at", TS, "When the job compared them, UTC.", False),
        ]
    ),
)
