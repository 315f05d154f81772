"""Where the tables live. The only module that knows whether a table is a path or a catalog table.

``storage.root`` gives path-based Delta tables under a folder (``root/silver/pipeline_runs``...);
``storage.catalog`` + ``storage.schema`` give Unity Catalog tables (``catalog.schema.pipeline_runs``).
Tables are created on first use with their schema, comments and the properties that keep them readable
by Power BI's Delta connector (protocol reader version 1: no deletion vectors, no column mapping, no
timestamp_ntz).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from delta import exceptions as delta_errors
from delta.tables import DeltaMergeBuilder, DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, DataFrameWriter, SparkSession

from monitoring.config import StorageConfig
from monitoring.tables import TableSpec


class ConcurrentRunError(RuntimeError):
    """Another run committed to the same tables while this one was writing."""


# Delta's commit conflicts. In Python they do not share a base class (unlike in Scala): list them all.
COMMIT_CONFLICTS: tuple[type[Exception], ...] = (
    delta_errors.DeltaConcurrentModificationException,
    delta_errors.ConcurrentWriteException,
    delta_errors.MetadataChangedException,
    delta_errors.ProtocolChangedException,  # two first runs creating the same table
    delta_errors.ConcurrentAppendException,
    delta_errors.ConcurrentDeleteReadException,
    delta_errors.ConcurrentDeleteDeleteException,
    delta_errors.ConcurrentTransactionException,
)

POWER_BI_PROPERTIES: dict[str, str] = {
    "delta.minReaderVersion": "1",
    "delta.minWriterVersion": "2",
    "delta.enableDeletionVectors": "false",
}


# What creating a path table says while another run's creation of it has not committed yet.
_CREATION_IN_PROGRESS = frozenset({"DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION", "DELTA_TABLE_NOT_FOUND"})
# What reading a path says when no Delta table is there (yet).
_NOT_A_TABLE = frozenset({"PATH_NOT_FOUND", "DELTA_TABLE_NOT_FOUND", "DELTA_MISSING_DELTA_TABLE"})


class Storage:
    creation_wait_seconds: float = 30.0

    def __init__(self, spark: SparkSession, config: StorageConfig) -> None:
        self.spark = spark
        self.config = config
        self.root: str | None = None
        if config.root is not None:
            # Delta's table builder takes a bare relative path for a table *name*: anchor local paths.
            root = config.root
            self.root = (root if "://" in root else str(Path(root).resolve())).rstrip("/")

    # --- naming: the one place that knows paths from catalog names --------------------------------

    def location(self, table: TableSpec) -> str:
        """A path (``.../silver/pipeline_runs``) or a catalog name (``main.monitoring.pipeline_runs``)."""
        if self.root is not None:
            return f"{self.root}/{table.name}"
        short_name = table.name.rsplit("/", 1)[-1]
        # Catalog and schema were validated as plain identifiers when the config was parsed: nothing to quote.
        return f"{self.config.catalog}.{self.config.schema}.{short_name}"

    def sql_name(self, table: TableSpec) -> str:
        """How SQL refers to the table (``delta.`path``` or ``catalog.schema.table``)."""
        return f"delta.`{self.location(table)}`" if self.root is not None else self.location(table)

    # --- reading and writing ---------------------------------------------------------------------------

    def exists(self, table: TableSpec) -> bool:
        if self.root is None:
            return self.spark.catalog.tableExists(self.location(table))
        return self._path_table(table) is not None

    def _path_table(self, table: TableSpec) -> DataFrame | None:
        """The path table, or None when there is none (yet).

        Not DeltaTable.isDeltaTable: it answers from the session's cached log, which stays "no table" for up
        to an hour after another run creates it. Resolving a read refreshes the log (and reads no data).
        """
        try:
            return self.spark.read.format("delta").load(self.location(table))
        except AnalysisException as error:
            if error.getCondition() in _NOT_A_TABLE:
                return None
            raise

    def ensure(self, table: TableSpec) -> None:
        """Create the table (schema, comments, properties) if it is not there yet."""
        if self.root is None:
            self._create_catalog_table(table)
            return
        builder = DeltaTable.createIfNotExists(self.spark).location(self.location(table))
        builder = builder.addColumns(table.schema).comment(table.comment)
        if table.partition_by:
            builder = builder.partitionedBy(*table.partition_by)
        for key, value in POWER_BI_PROPERTIES.items():
            builder = builder.property(key, value)
        try:
            builder.execute()
        except AnalysisException as error:
            # Another run is creating the same table right now: its folder, then its empty _delta_log, exist
            # before its first commit. Wait for that commit rather than fail or create a second table.
            if error.getCondition() not in _CREATION_IN_PROGRESS:
                raise
            if not self._becomes_table(table):
                raise RuntimeError(
                    f"{self.location(table)} exists but holds no Delta commit after {self.creation_wait_seconds:.0f} s:"
                    " another run is still creating it, or a run was killed while creating it"
                    " (then the folder holds no table data yet: delete it and rerun)"
                ) from error

    def _becomes_table(self, table: TableSpec) -> bool:
        deadline = time.monotonic() + self.creation_wait_seconds
        while time.monotonic() < deadline:
            if self.exists(table):
                return True
            time.sleep(0.2)
        return False

    def _create_catalog_table(self, table: TableSpec) -> None:
        # DDL rather than DeltaTableBuilder: the builder parses at most two-part names outside Databricks.
        # Everything formatted here is this package's own constants and validated identifiers.
        def quoted(text: str) -> str:
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

        columns = ",\n  ".join(
            f"{f.name} {f.dataType.simpleString()}{'' if f.nullable else ' NOT NULL'} "
            f"COMMENT {quoted(f.metadata['comment'])}"
            for f in table.schema.fields
        )
        partitioning = f" PARTITIONED BY ({', '.join(table.partition_by)})" if table.partition_by else ""
        properties = ", ".join(f"{quoted(k)} = {quoted(v)}" for k, v in POWER_BI_PROPERTIES.items())
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.config.catalog}.{self.config.schema}")
        self.spark.sql(
            f"CREATE TABLE IF NOT EXISTS {self.location(table)} (\n  {columns}\n) USING DELTA{partitioning} "
            f"COMMENT {quoted(table.comment)} TBLPROPERTIES ({properties})"
        )

    def read(self, table: TableSpec) -> DataFrame:
        """The table, or an empty frame of its schema when it has never been written."""
        if self.root is None:
            found = self.spark.read.table(self.location(table)) if self.exists(table) else None
        else:
            found = self._path_table(table)  # one resolution, not an existence check and then a load
        return found if found is not None else self.spark.createDataFrame([], table.schema)

    def _save(self, writer: DataFrameWriter, table: TableSpec) -> None:
        if self.root is not None:
            writer.save(self.location(table))
        else:
            writer.saveAsTable(self.location(table))

    def replace_dates(
        self, df: DataFrame, table: TableSpec, first: date, last: date, column: str = "business_date"
    ) -> None:
        """Atomically replace the rows whose ``column`` is in [first, last] by ``df`` (reruns are idempotent)."""
        if column not in table.schema.fieldNames():
            raise ValueError(f"{table.name} has no column {column!r}")
        self.ensure(table)
        # Dates are typed values and the column one of the table's own: formatting them into the predicate is safe.
        predicate = f"{column} >= DATE'{first.isoformat()}' AND {column} <= DATE'{last.isoformat()}'"
        writer = (
            df.select(table.schema.fieldNames())
            .write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", predicate)
        )
        self._save(writer, table)

    def append(self, df: DataFrame, table: TableSpec) -> None:
        """Add ``df``'s rows to ``table`` (a blind append: it never conflicts with another run's append)."""
        self.ensure(table)
        self._save(df.select(table.schema.fieldNames()).write.format("delta").mode("append"), table)

    def merge(self, source: DataFrame, table: TableSpec, condition: Column) -> DeltaMergeBuilder:
        """A MERGE into ``table`` (aliased ``t``) from ``source`` (aliased ``s``); the caller adds clauses."""
        self.ensure(table)
        if self.root is not None:
            target = DeltaTable.forPath(self.spark, self.location(table))
        else:
            target = DeltaTable.forName(self.spark, self.location(table))
        return target.alias("t").merge(source.alias("s"), condition)
