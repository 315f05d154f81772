"""One local Spark session with Delta for the whole suite (UI off, 1 shuffle partition), and one demo lakehouse."""

from __future__ import annotations

import fcntl
import os
import pickle
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
def demo_lakehouse(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> DemoLakehouse:
    """Gold tables of DEMO_DAYS days of demo logs for the example flows, evaluated once as of DEMO_NOW (~40 s).

    Session-scoped and shared, by every xdist worker of the run too: the first worker to ask builds it under a
    lock, the others read what it built. Tests must only read it (write elsewhere, e.g. a copy or a new lakehouse).
    """
    if worker_id == "master":  # not distributed
        return build_demo_lakehouse(spark, tmp_path_factory.mktemp("demo"))
    root = tmp_path_factory.getbasetemp().parent / "demo"  # this run's temporary root, above each worker's
    root.mkdir(exist_ok=True)
    with (root / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        built = root / "built.pickle"  # what was planted and the run's result (the config is read again)
        if built.exists():
            return DemoLakehouse(demo_config(root), root / "lakehouse", DEMO_NOW, *pickle.loads(built.read_bytes()))
        demo = build_demo_lakehouse(spark, root)
        built.write_bytes(pickle.dumps((demo.logs, demo.result)))
        return demo


def demo_config(root: Path) -> Config:
    return load_config(example_config_path()).with_overrides(logs=str(root / "logs"), lakehouse=str(root / "lakehouse"))


def build_demo_lakehouse(spark: SparkSession, root: Path) -> DemoLakehouse:
    config = demo_config(root)
    generated = generate_demo_logs(config, root / "logs", days=DEMO_DAYS, now=DEMO_NOW)
    result = run_job(spark, config, DateRange.ending(local_today(config, DEMO_NOW), DEMO_DAYS - 1), DEMO_NOW)
    return DemoLakehouse(config, root / "lakehouse", DEMO_NOW, generated, result)
