"""The gold rows as plain Python values: one model of ``gold/pipeline_daily_status`` and ``gold/flow_daily_status``
shared by the report and the alerts, how they are collected from Spark, and the small helpers both use.

The alert rules and ``validate-config`` import this module and stay pure Python: pyspark is imported by the two
functions that build and read Spark columns, when they are called.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from monitoring.epoch import EPOCH
from monitoring.vocabulary import PENDING, STATUS_COLORS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# A row read from a table has every column. The fields after status have defaults, so a test (or a sample
# message) builds a row from the columns it cares about; the alert tests give the first ones by position.


@dataclass(frozen=True)
class PipelineDay:
    """One row of gold/pipeline_daily_status."""

    business_date: date
    flow: str
    pipeline_name: str
    status: str
    reason: str | None = None
    detail: str | None = None
    consecutive_ko_days: int = 0
    error_message: str | None = None
    failure_type: str | None = None
    start_local: str | None = None
    end_local: str | None = None
    duration_hms: str | None = None
    execution_order: int | None = None
    expected: bool = True
    run_count: int = 0
    failed_run_count: int = 0
    last_run_status: str | None = None
    duration_seconds: int | None = None
    baseline_duration_seconds: float | None = None
    duration_ratio: float | None = None
    evaluated_at: datetime | None = None  # UTC

    @property
    def reasons(self) -> tuple[str, ...]:
        return reason_codes(self.reason)


@dataclass(frozen=True)
class FlowDay:
    """One row of gold/flow_daily_status."""

    business_date: date
    flow: str
    status: str
    reason: str | None = None
    detail: str | None = None
    pipelines_expected: int = 0
    pipelines_ok: int = 0
    pipelines_warning: int = 0
    pipelines_ko: int = 0
    start_local: str | None = None
    end_local: str | None = None
    duration_hms: str | None = None
    consecutive_ko_days: int = 0
    duration_seconds: int | None = None
    evaluated_at: datetime | None = None  # UTC


def reason_codes(reason: str | None) -> tuple[str, ...]:
    """'MISSING,FAILED' -> ('MISSING', 'FAILED'): the reason column's codes, in its canonical order."""
    return tuple(code.strip() for code in (reason or "").split(",") if code.strip())


def status_color(status: str, unknown: str = STATUS_COLORS[PENDING]) -> str:
    return STATUS_COLORS.get(status, unknown)


# --- collecting rows from Spark ------------------------------------------------------------------------

Record = TypeVar("Record")
TIMESTAMPS = ("evaluated_at",)


def record_columns(record: type, available: Sequence[str]) -> list[Column]:
    """The columns of ``record`` to select from a table with the ``available`` ones; one it lacks is null.

    Timestamps travel as epoch microseconds: a collected TIMESTAMP becomes a naive datetime in the driver's
    local zone, which would shift evaluated_at on any machine not set to UTC.
    """
    from pyspark.sql import functions as F

    columns = []
    for item in fields(record):
        if item.name not in available:
            columns.append(F.lit(None).alias(item.name))
        elif item.name in TIMESTAMPS:
            columns.append(F.unix_micros(item.name).alias(item.name))
        else:
            columns.append(F.col(item.name))
    return columns


def _plain(value: Any) -> Any:
    # NaN cannot go into JSON, and means "no value" in these tables anyway.
    return None if isinstance(value, float) and math.isnan(value) else value


def record_of(record: type[Record], row: Mapping[str, Any]) -> Record:
    """A row collected with :func:`record_columns` as the dataclass (extra keys of ``row`` are ignored)."""
    values = {item.name: _plain(row[item.name]) for item in fields(record)}
    for name in TIMESTAMPS:
        if values.get(name) is not None:
            values[name] = EPOCH + timedelta(microseconds=values[name])
    return record(**values)


def collect_records(df: DataFrame, record: type[Record]) -> list[Record]:
    """The record's columns of ``df`` as dataclasses; a column the table lacks (pipeline_name in flow_kpi) is None."""
    return [record_of(record, row.asDict()) for row in df.select(*record_columns(record, df.columns)).collect()]
