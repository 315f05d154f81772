"""One local Spark session with Delta for the whole suite (UI off, 1 shuffle partition), and one demo lakehouse."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest
from pyspark.sql import SparkSession

from monitoring.cli import example_config_path
from monitoring.config import Config, load_config
from monitoring.demo import DemoLogs, generate_demo_logs
from monitoring.nightly import DateRange, JobResult, local_today, run_job
from monitoring.spark import get_spark

# Collected timestamps come back as naive local times: make "local" UTC, as in CI, on any laptop.
os.environ["TZ"] = "UTC"
time.tzset()

DEMO_DAYS = 21
DEMO_NOW = datetime(2026, 3, 18, 6, 30, tzinfo=UTC)  # fixed, so the demo's incidents land on known dates


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With SPARK_REMOTE set (make test-connect), a test marked classic_only is skipped with the reason it gives."""
    if not os.environ.get("SPARK_REMOTE"):
        return
    for item in items:
        if (marker := item.get_closest_marker("classic_only")) is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "classic session only")
            item.add_marker(pytest.mark.skip(reason=f"not over Spark Connect: {reason}"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> SparkSession:
    os.environ.setdefault("SPARK_MASTER", "local[2]")
    # Catalog (Unity Catalog mode) tests create managed tables: keep them out of the working tree.
    warehouse = str(tmp_path_factory.mktemp("warehouse"))
    # Test data is tiny: compiling generated code and adaptive re-planning cost more than they save
    # (measured: a night of the fixture logs 17.9 s -> 11.5 s). Production keeps Spark's defaults.
    tiny_data = {
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.shuffle.partitions": "1",
    }
    session = get_spark("monitoring-tests", {"spark.sql.warehouse.dir": warehouse, **tiny_data})
    yield session
    session.stop()


class DemoLakehouse(NamedTuple):
    config: Config
    lakehouse: Path
    now: datetime
    logs: DemoLogs  # what was planted
    result: JobResult  # the run's report and gold rows


@pytest.fixture(scope="session")
def demo_lakehouse(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> DemoLakehouse:
    """Gold tables of DEMO_DAYS days of demo logs for the example flows, evaluated once as of DEMO_NOW (~40 s).

    Session-scoped and shared: tests must only read it (write elsewhere, e.g. a copy or a new lakehouse).
    """
    root = tmp_path_factory.mktemp("demo")
    logs, lakehouse = root / "logs", root / "lakehouse"
    config = load_config(example_config_path()).with_overrides(logs=str(logs), lakehouse=str(lakehouse))
    generated = generate_demo_logs(config, logs, days=DEMO_DAYS, now=DEMO_NOW)
    result = run_job(spark, config, DateRange.ending(local_today(config, DEMO_NOW), DEMO_DAYS - 1), DEMO_NOW)
    return DemoLakehouse(config, lakehouse, DEMO_NOW, generated, result)
