"""The one place that makes a SparkSession.

On Databricks the runtime's session is returned as it is. Elsewhere a ``local[*]`` session with the
Delta extension is built; Delta's jars come from Maven Central through Spark's own resolver
(``configure_spark_with_delta_pip``) and are cached in ``~/.ivy2*`` after the first start.
"""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

# Spark and Delta defaults are sized for clusters; these keep a laptop run and the tests quick.
LOCAL_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "true",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
    "spark.driver.memory": "2g",
    # Power BI's Delta reader needs reader version 1: never let a default turn deletion vectors on.
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
}


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def get_spark(app_name: str = "pipeline-monitoring", conf: dict[str, str] | None = None) -> SparkSession:
    """The active session on Databricks; a local Delta-enabled session anywhere else."""
    if on_databricks():
        spark = SparkSession.builder.getOrCreate()
        # UTC dates and months (silver's partitions, ADF's folders) must not follow a cluster's zone.
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        return spark
    from delta import configure_spark_with_delta_pip

    builder = SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[*]")).appName(app_name)
    for key, value in {**LOCAL_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = configure_spark_with_delta_pip(builder).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
