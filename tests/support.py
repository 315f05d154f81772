"""Readable builders for test data: runs written as local wall-clock times, configs as dicts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pyspark.sql import DataFrame, SparkSession

from monitoring.config import Config, parse_config
from monitoring.evaluate import Evaluation, daily_statuses
from monitoring.tables import FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS, PIPELINE_RUNS

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"  # copies of ../shared/fixtures
PARIS = "Europe/Paris"


def local(text: str | None, timezone: str = PARIS) -> datetime | None:
    """'2025-04-08 00:10' (local wall clock) -> aware UTC datetime."""
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def config(flows: list[dict[str, Any]], **top: Any) -> Config:
    return parse_config(
        {
            "timezone": top.pop("timezone", PARIS),
            "source": {"format": "adf_diagnostic", "path": "/nonexistent"},
            "storage": {"root": "/nonexistent"},
            "flows": flows,
            **top,
        }
    )


def runs(spark: SparkSession, rows: list[tuple], timezone: str = PARIS) -> DataFrame:
    """Silver runs from (pipeline, status, start_local, end_local[, error]) tuples."""
    records = []
    for index, row in enumerate(rows):
        pipeline, status, start, end = row[:4]
        error = row[4] if len(row) > 4 else None
        start_utc, end_utc = local(start, timezone), local(end, timezone)
        duration = int((end_utc - start_utc).total_seconds()) if end_utc else None
        records.append(
            (
                f"run-{index:04d}",
                pipeline,
                "ADF-TEST",
                status,
                start_utc,
                end_utc,
                duration,
                "UserError" if status == "Failed" else None,
                error,
                None,
                None,
                end_utc or start_utc,
                "test",
                start_utc,
                start_utc.date().replace(day=1),
            )
        )
    return spark.createDataFrame(records, PIPELINE_RUNS.schema)


def evaluate(
    spark: SparkSession,
    cfg: Config,
    run_rows: DataFrame,
    first: date,
    last: date | None = None,
    as_of: str | None = None,
    stored_pipelines: DataFrame | None = None,
    stored_flows: DataFrame | None = None,
) -> tuple[list, list]:
    """Evaluate and collect both gold frames, as lists of Rows sorted by date and name."""
    ev = Evaluation(
        first=first,
        last=last or first,
        as_of=local(as_of, cfg.timezone) if as_of else datetime(2100, 1, 1, tzinfo=UTC),
        evaluated_at=datetime(2025, 1, 1, tzinfo=UTC),
        timezone=cfg.timezone,
    )
    pipelines, flows, _ = daily_statuses(
        run_rows,
        cfg,
        ev,
        stored_pipelines if stored_pipelines is not None else spark.createDataFrame([], PIPELINE_DAILY_STATUS.schema),
        stored_flows if stored_flows is not None else spark.createDataFrame([], FLOW_DAILY_STATUS.schema),
    )
    return (
        pipelines.orderBy("business_date", "pipeline_name").collect(),
        flows.orderBy("business_date", "flow").collect(),
    )


def by_pipeline(rows: list, day: date | None = None) -> dict:
    return {r.pipeline_name: r for r in rows if day is None or r.business_date == day}
