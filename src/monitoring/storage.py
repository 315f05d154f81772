"""Where the tables live. The only module that knows a table is a path under ``storage.root``.

Tables are created on first use with their schema, column comments and the properties that keep them
readable by Power BI's Delta connector (protocol reader version 1: no deletion vectors, no column
mapping, no timestamp_ntz).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from delta.tables import DeltaMergeBuilder, DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession

from monitoring.tables import TableSpec

POWER_BI_PROPERTIES: dict[str, str] = {
    "delta.minReaderVersion": "1",
    "delta.minWriterVersion": "2",
    "delta.enableDeletionVectors": "false",
}


class Storage:
    def __init__(self, spark: SparkSession, root: str) -> None:
        self.spark = spark
        # Delta's table builder takes a bare relative path for a table *name*: anchor local paths.
        self.root = (root if "://" in root else str(Path(root).resolve())).rstrip("/")

    def location(self, table: TableSpec) -> str:
        return f"{self.root}/{table.name}"

    def exists(self, table: TableSpec) -> bool:
        return DeltaTable.isDeltaTable(self.spark, self.location(table))

    def ensure(self, table: TableSpec) -> None:
        """Create the table (schema, comments, properties) if it is not there yet."""
        builder = (
            DeltaTable.createIfNotExists(self.spark)
            .location(self.location(table))
            .addColumns(table.schema)
            .comment(table.comment)
        )
        for key, value in POWER_BI_PROPERTIES.items():
            builder = builder.property(key, value)
        builder.execute()

    def read(self, table: TableSpec) -> DataFrame:
        """The table, or an empty frame of its schema when it has never been written."""
        if not self.exists(table):
            return self.spark.createDataFrame([], table.schema)
        return self.spark.read.format("delta").load(self.location(table))

    def append(self, df: DataFrame, table: TableSpec) -> None:
        self.ensure(table)
        df.select(table.schema.fieldNames()).write.format("delta").mode("append").save(self.location(table))

    def replace_dates(self, df: DataFrame, table: TableSpec, first: date, last: date) -> None:
        """Atomically replace the rows of ``business_date`` in [first, last] by ``df`` (reruns are idempotent)."""
        self.ensure(table)
        # Dates are typed values, never text from logs: formatting them into the predicate is safe.
        predicate = f"business_date >= DATE'{first.isoformat()}' AND business_date <= DATE'{last.isoformat()}'"
        (
            df.select(table.schema.fieldNames())
            .write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", predicate)
            .save(self.location(table))
        )

    def merge(self, source: DataFrame, table: TableSpec, condition: Column) -> DeltaMergeBuilder:
        """A MERGE into ``table`` (aliased ``t``) from ``source`` (aliased ``s``); the caller adds clauses."""
        self.ensure(table)
        target = DeltaTable.forPath(self.spark, self.location(table))
        return target.alias("t").merge(source.alias("s"), condition)
