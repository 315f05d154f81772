"""Where the tables live. The only module that knows whether a table is a path or a catalog table.

``storage.root`` gives path-based Delta tables under a folder (``root/silver/pipeline_runs``...);
``storage.catalog`` + ``storage.schema`` give Unity Catalog tables (``catalog.schema.pipeline_runs``).
Tables are created on first use with their schema, comments and the properties that keep them readable
by Power BI's Delta connector (protocol reader version 1: no deletion vectors, no column mapping, no
timestamp_ntz).

Everything here works on a classic session and through Spark Connect (serverless): tables are created with
SQL DDL and merged with Spark's own ``DataFrame.mergeInto``, not with Delta's Python ``DeltaTable`` API, whose
Connect client needs a Delta server plugin that open-source Spark does not load.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import Column, DataFrame, DataFrameWriter, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.merge import MergeIntoWriter

from monitoring.config import ConfigError, StorageConfig
from monitoring.spark import on_databricks
from monitoring.tables import TableSpec

# On a classic session pyspark leaves an error it has no class for as a raw Java error, without a condition; Delta's
# Python package (imported for this alone) gives its commit conflicts one. Connect and Databricks need no help.
with contextlib.suppress(ImportError):
    import delta.exceptions  # noqa: F401


class ConcurrentRunError(RuntimeError):
    """Another run committed to the same tables while this one was writing."""


# Delta's commit conflicts, by error condition (``DELTA_CONCURRENT_APPEND.WITHOUT_HINT`` is one of the first).
# Not by Python class: a classic session raises delta.exceptions' classes, Spark Connect an UnknownException
# (measured here), Databricks its own; the condition is the one thing all three share.
COMMIT_CONFLICT_CONDITIONS = frozenset(
    {
        "DELTA_CONCURRENT_APPEND",
        "DELTA_CONCURRENT_DELETE_DELETE",
        "DELTA_CONCURRENT_DELETE_READ",
        "DELTA_CONCURRENT_TRANSACTION",
        "DELTA_CONCURRENT_WRITE",
        "DELTA_METADATA_CHANGED",
        "DELTA_PROTOCOL_CHANGED",  # two first runs creating the same table
    }
)


_CONDITION = re.compile(r"[A-Z][A-Z0-9_]*(?:\.[A-Z][A-Z0-9_]*)*")  # DELTA_CONCURRENT_APPEND.WITHOUT_HINT
_MESSAGE_CONDITION = re.compile(rf"\[({_CONDITION.pattern})\]")  # Spark's messages: "[CONDITION] text"


def commit_conflict(error: BaseException) -> str | None:
    """The error condition if ``error`` (or what caused it) is a Delta commit conflict, else None."""
    seen: BaseException | None = error
    while seen is not None:
        condition = None
        if isinstance(seen, PySparkException):
            condition = seen.getCondition()
            if not (condition and _CONDITION.fullmatch(condition)):
                # Delta's own classes (classic sessions) put a Java stack trace there; their message names it.
                in_message = _MESSAGE_CONDITION.search(str(seen))
                condition = in_message.group(1) if in_message else None
        if condition and condition.split(".", 1)[0] in COMMIT_CONFLICT_CONDITIONS:
            return condition
        seen = seen.__cause__
    return None


# A MERGE side's column by name: ``t("run_id")`` for the target table, ``s("run_id")`` for the source.
ColumnOf = Callable[[str], Column]

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
            # A relative path would be resolved in the Spark server's working directory (under Spark Connect, another
            # process's): anchor local paths here.
            root = config.root
            if "://" not in root and not Path(root).is_absolute() and on_databricks():
                # Serverless' working directory is not the bundle's: a relative root would land somewhere else.
                raise ConfigError(f"storage.root: {root!r} is relative; on Databricks give an absolute path or a URI")
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
        if self.root is None:
            return self.location(table)
        return "delta.`" + self.location(table).replace("`", "``") + "`"  # a backtick in a path is doubled

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
            found = self.spark.read.format("delta").load(self.location(table))
            found.schema  # noqa: B018 - Spark Connect resolves a read only when asked: ask here, not at first use
            return found
        except AnalysisException as error:
            if error.getCondition() in _NOT_A_TABLE:
                return None
            raise

    def ensure(self, table: TableSpec) -> None:
        """Create the table (schema, comments, properties) if it is not there yet; wait for one another run is
        creating; create over the empty ``_delta_log`` a run killed while creating it left."""
        refused: PySparkException | None = None
        try:
            self._create(table)
        except PySparkException as error:
            # Another run created the same table first (its commit won: a conflict here), or is creating it (its
            # folder exists before its first commit): wait for that table below rather than fail or create a second.
            creating = commit_conflict(error) or error.getCondition() in _CREATION_IN_PROGRESS
            if self.root is None or not creating:
                raise
            refused = error
        if self.root is None:
            return
        # A path table's CREATE ... IF NOT EXISTS does nothing once the _delta_log folder exists, and it exists before
        # the first commit: another run creating the table at that moment, or a creation killed there, would leave
        # this run's first write with no table (seen in CI with two overlapping runs).
        if self._becomes_table(table):
            return
        if not self._remove_empty_log(table):
            raise RuntimeError(
                f"{self.location(table)} exists but holds no Delta commit after {self.creation_wait_seconds:.0f} s:"
                " another run is still creating it, or a run was killed while creating it"
                " (then the folder holds no table data yet: delete it and rerun)"
            ) from refused
        self._create(table)

    def _becomes_table(self, table: TableSpec) -> bool:
        deadline = time.monotonic() + self.creation_wait_seconds
        while not self.exists(table):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        return True

    def _remove_empty_log(self, table: TableSpec) -> bool:
        """Remove the ``_delta_log`` folder a creation killed before its first commit left, if it is still empty
        (the folder's removal fails if another run has committed into it meanwhile). Local paths only: False for
        a URI, and then the caller says what to delete."""
        if "://" in self.location(table):
            return False
        try:
            (Path(self.location(table)) / "_delta_log").rmdir()
        except OSError:
            return False
        return True

    def _create(self, table: TableSpec) -> None:
        # DDL, for path and catalog tables alike: it runs through Spark Connect (Delta's DeltaTableBuilder does not),
        # and the builder parses at most two-part names outside Databricks.
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
        if self.root is None:
            self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.config.catalog}.{self.config.schema}")
        self.spark.sql(
            f"CREATE TABLE IF NOT EXISTS {self.sql_name(table)} (\n  {columns}\n) USING DELTA{partitioning} "
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

    def merge_columns(self, table: TableSpec) -> tuple[ColumnOf, ColumnOf]:
        """The column references of a MERGE into ``table``: ``t, s = storage.merge_columns(TABLE)``.

        ``mergeInto`` cannot alias its target, so target columns are qualified by the table's own name.
        """
        target = self.sql_name(table)
        return (lambda column: F.col(f"{target}.{column}")), (lambda column: F.col(f"s.{column}"))

    def merge(self, source: DataFrame, table: TableSpec, condition: Column) -> MergeIntoWriter:
        """A MERGE into ``table`` from ``source`` (aliased ``s``) on ``condition``; the caller adds the clauses
        (``whenMatched(...).update({...})``, ``whenNotMatched().insertAll()``...) and runs it with ``.merge()``.

        Spark's own ``DataFrame.mergeInto``: the same on a classic session and through Spark Connect, and values
        in conditions travel as literals in the plan, never as SQL text. Columns come from ``merge_columns``.
        """
        self.ensure(table)
        return source.alias("s").mergeInto(self.sql_name(table), condition)
