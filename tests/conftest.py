"""One local Spark session with Delta for the whole suite (UI off, 2 shuffle partitions)."""

from __future__ import annotations

import os

import pytest
from pyspark.sql import SparkSession

from monitoring.spark import get_spark


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> SparkSession:
    os.environ.setdefault("SPARK_MASTER", "local[2]")
    # Catalog (Unity Catalog mode) tests create managed tables: keep them out of the working tree.
    warehouse = str(tmp_path_factory.mktemp("warehouse"))
    session = get_spark("monitoring-tests", {"spark.sql.warehouse.dir": warehouse})
    yield session
    session.stop()
