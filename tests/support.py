"""Readable builders for test data: runs written as local wall-clock times, configs as dicts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
    """Silver runs from (pipeline, status, start_local, end_local[, error[, run_id[, group[, invoked_by]]]]) tuples."""
    records = []
    for index, row in enumerate(rows):
        pipeline, status, start, end = row[:4]
        error, run_id, group, invoked_by = (*row[4:], None, None, None, None)[:4]
        start_utc, end_utc = local(start, timezone), local(end, timezone)
        duration = int((end_utc - start_utc).total_seconds()) if end_utc else None
        records.append(
            (
                run_id or f"run-{index:04d}",
                pipeline,
                "ADF-TEST",
                status,
                start_utc,
                end_utc,
                duration,
                "UserError" if status == "Failed" else None,
                error,
                group,
                invoked_by,
                None,
                end_utc or start_utc,
                "test",
                start_utc,
                start_utc.date().replace(day=1),
            )
        )
    return spark.createDataFrame(records, PIPELINE_RUNS.schema)


def gold_history(spark: SparkSession, rows: list[tuple], flow: str = "F") -> DataFrame:
    """Stored ``pipeline_daily_status`` rows from (pipeline, business_date, last_run_status, duration_seconds):
    what the nights before left, as the baselines read it."""
    fields = PIPELINE_DAILY_STATUS.schema.fieldNames()
    values = [
        {
            "business_date": day,
            "flow": flow,
            "pipeline_name": pipeline,
            "expected": True,
            "status": "OK" if status == "Succeeded" else "KO",
            "run_count": 1,
            "failed_run_count": 0 if status == "Succeeded" else 1,
            "last_run_status": status,
            "duration_seconds": seconds,
            "consecutive_ko_days": 0,
            "status_color": "#2E7D32" if status == "Succeeded" else "#C62828",
            "evaluated_at": datetime(2025, 1, 1),
        }
        for pipeline, day, status, seconds in rows
    ]
    return spark.createDataFrame([tuple(v.get(f) for f in fields) for v in values], PIPELINE_DAILY_STATUS.schema)


def evaluate(
    spark: SparkSession,
    cfg: Config,
    run_rows: DataFrame,
    first: date,
    last: date | None = None,
    as_of: str | None = None,
    stored_pipelines: DataFrame | None = None,
    stored_flows: DataFrame | None = None,
    history_from: date | None = None,
) -> tuple[list, list]:
    """Evaluate and collect both gold frames, as lists of Rows sorted by date and name.

    ``history_from``: evaluate [history_from, first) first and use those rows as the stored gold tables, as
    the nights before would have (baselines read their history from gold).
    """
    if history_from is not None:
        past = _evaluated(spark, cfg, run_rows, history_from, first - timedelta(days=1), as_of, None, None)
        stored_pipelines, stored_flows = (frame.localCheckpoint() for frame in past)
    pipelines, flows = _evaluated(spark, cfg, run_rows, first, last, as_of, stored_pipelines, stored_flows)
    return (
        pipelines.orderBy("business_date", "pipeline_name").collect(),
        flows.orderBy("business_date", "flow").collect(),
    )


def _evaluated(
    spark: SparkSession,
    cfg: Config,
    run_rows: DataFrame,
    first: date,
    last: date | None,
    as_of: str | None,
    stored_pipelines: DataFrame | None,
    stored_flows: DataFrame | None,
) -> tuple[DataFrame, DataFrame]:
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
    return pipelines, flows


def by_pipeline(rows: list, day: date | None = None) -> dict:
    return {r.pipeline_name: r for r in rows if day is None or r.business_date == day}
