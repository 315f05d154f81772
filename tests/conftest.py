"""One local Spark session with Delta for the whole suite (UI off, 2 shuffle partitions)."""

from __future__ import annotations

import os

import pytest
from pyspark.sql import SparkSession

from monitoring.spark import get_spark


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    os.environ.setdefault("SPARK_MASTER", "local[2]")
    session = get_spark("monitoring-tests")
    yield session
    session.stop()
