"""The one place that makes a SparkSession.

- On Databricks the runtime's session is returned as it is.
- With pyspark's standard ``SPARK_REMOTE`` set, the session is a Spark Connect session, as on serverless:
  ``sc://host:port`` connects to a running Connect server (which must have Delta configured);
  ``local`` or ``local[N]`` starts a Connect server inside this process, with Delta configured.
- Otherwise a classic ``local[*]`` session (``SPARK_MASTER`` to change the master) with the Delta extension.

Delta's jars come from Maven Central through Spark's own resolver (``configure_spark_with_delta_pip``) and are
cached in ``~/.ivy2*`` after the first start.

Quiet by default: the JVM's own output (the jar resolver's report, log4j's banner and WARN lines) goes to a log
file (``spark_log_file()``), not to the terminal; ``verbose=True`` leaves it on the terminal. Errors reach the
caller as exceptions; a JVM that fails to start has its output copied to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path
from typing import TextIO

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
    # A night reads a list of files (a rebuild, thousands): on local disks the driver checks them quicker than a
    # Spark job listing them in parallel (about 1.5 s against 2.1 s for 4,800 files, measured).
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "1000000",
    "spark.driver.memory": "2g",
    # Power BI's Delta reader needs reader version 1: never let a default turn deletion vectors on.
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
}
# pyspark's own Python loggers that print a JSON copy of an error the exception already carries.
PYSPARK_ERROR_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
LOG_FOLDER = "_logs"  # under the lakehouse root: not a table folder

_log_file: Path | None = None


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def spark_log_file() -> Path | None:
    """The file Spark's own output went to in this process (None when verbose, on Databricks, or not started)."""
    return _log_file


def log_folder(lakehouse: str | None) -> Path:
    """Where Spark's log goes: ``<lakehouse>/_logs`` for a local lakehouse, else a folder under the temp dir."""
    if lakehouse and "://" not in lakehouse:
        return Path(lakehouse) / LOG_FOLDER
    return Path(tempfile.gettempdir()) / "pipeline-monitor" / "logs"


def get_spark(
    app_name: str = "pipeline-monitoring",
    conf: dict[str, str] | None = None,
    *,
    log_dir: Path | None = None,
    verbose: bool = False,
) -> SparkSession:
    """The active session on Databricks; a Spark Connect session with ``SPARK_REMOTE``; else a local one.

    ``log_dir``: where Spark's own output goes (default: ``log_folder(None)``); ``verbose``: on the terminal.
    """
    if on_databricks():
        spark = SparkSession.builder.getOrCreate()
        # UTC dates and months (silver's partitions, ADF's folders) must not follow a cluster's zone.
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        return spark
    active = SparkSession.getActiveSession()
    if active is not None:  # one session a process: a second caller (a notebook task after the CLI) shares it
        return active
    remote = os.environ.get("SPARK_REMOTE", "").strip()
    if not verbose:
        _quiet_python_loggers()
    if remote and not remote.startswith("local"):
        # A running Connect server: its settings are its own; only the session's zone is set, as on Databricks.
        spark = SparkSession.builder.remote(remote).getOrCreate()
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        return spark
    from delta import configure_spark_with_delta_pip

    # With SPARK_REMOTE=local[N], pyspark itself starts a Connect server in this process from the same builder
    # (a master may not be set then: CANNOT_CONFIGURE_SPARK_CONNECT_MASTER).
    builder = SparkSession.builder.appName(app_name)
    if not remote:
        builder = builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
    settings = {**LOCAL_CONF, **(conf or {})}
    log_file = None
    if not verbose:
        log_file = _new_log_file(log_dir or log_folder(None))
        settings["spark.driver.extraJavaOptions"] = " ".join(
            filter(None, [settings.get("spark.driver.extraJavaOptions"), *_log4j_options(log_file)])
        )
    for key, value in settings.items():
        builder = builder.config(key, value)
    builder = configure_spark_with_delta_pip(builder)
    if not _delta_jars_cached():
        print("Fetching Delta Lake's jars from Maven Central (first start only)...", file=sys.stderr, flush=True)
    with warnings.catch_warnings():
        # A local Connect server is given the builder's static settings; pyspark then sets them again on the
        # Connect session and warns that static settings cannot change there (they are in force already).
        warnings.filterwarnings("ignore", message=r"Failed to set spark\.", category=UserWarning)
        if log_file is None:
            return builder.getOrCreate()
        with _jvm_output_to(log_file):
            spark = builder.getOrCreate()
    global _log_file
    _log_file = log_file
    return spark


def _new_log_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"spark-{stamp}-{os.getpid()}.log"


def _log4j_options(log_file: Path) -> list[str]:
    config = resources.files("monitoring") / "log4j2.properties"
    return [f"-Dlog4j2.configurationFile={config}", f"-Dpipeline_monitor.log_file={log_file}"]


def _delta_jars_cached() -> bool:
    """Whether Spark's resolver has Delta's jar of the installed delta-spark in its cache (``~/.ivy2*``)."""
    try:
        version = metadata.version("delta-spark")
    except metadata.PackageNotFoundError:
        return True  # not ours to fetch: nothing to announce
    return any(Path.home().glob(f".ivy2*/jars/io.delta_delta-spark_*-{version}.jar"))


def _quiet_python_loggers() -> None:
    """pyspark logs a JSON copy of some errors to stderr before raising them: the exception is enough."""
    for name in PYSPARK_ERROR_LOGGERS:
        logger = logging.getLogger(name)  # created here as a plain logger, so pyspark adds no handler of its own
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


@contextmanager
def _jvm_output_to(log_file: Path) -> Iterator[None]:
    """The JVM started meanwhile inherits file descriptors 1 and 2 pointing at ``log_file``; Python's own
    ``sys.stdout``/``sys.stderr`` keep writing to the terminal (a spinner goes on turning)."""
    original: tuple[TextIO, TextIO] = (sys.stdout, sys.stderr)
    for stream in original:
        stream.flush()
    saved = (os.dup(1), os.dup(2))
    sys.stdout, sys.stderr = (
        os.fdopen(os.dup(fd), "w", buffering=1, encoding=stream.encoding, errors="replace")
        for fd, stream in zip(saved, original, strict=True)
    )
    start = log_file.stat().st_size if log_file.exists() else 0
    try:
        with log_file.open("ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        yield
    except BaseException:
        # The JVM did not start (no Java, no Maven Central, a bad setting): what it said is the error.
        sys.stderr.flush()
        with log_file.open("rb") as log:
            log.seek(start)
            os.write(saved[1], log.read())
        os.write(saved[1], f"(Spark's output above is also in {log_file})\n".encode())
        raise
    finally:
        sys.stdout.close()
        sys.stderr.close()
        sys.stdout, sys.stderr = original
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
