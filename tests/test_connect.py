"""One code path for classic Spark and Spark Connect (serverless sessions are Connect sessions).

`make test` runs this file on a classic local session; `make test-connect` runs it, with the end-to-end tests,
with SPARK_REMOTE=local[2] (a local Connect server with Delta, in the test process).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
from datetime import datetime

import pytest
from pyspark.errors import PySparkException

from monitoring.config import ConfigError, StorageConfig
from monitoring.storage import ConcurrentRunError, Storage, commit_conflict
from monitoring.tables import INGESTED_FILES
from support import FIXTURES, REPO

CONNECT = bool(os.environ.get("SPARK_REMOTE"))
MODIFIED = datetime(2025, 4, 8, 6, 0)
SOURCE = REPO / "src" / "monitoring"
# What only a classic session has: the JVM behind py4j, RDDs, and Delta's Python API (whose Connect client needs a
# Delta server plugin that open-source Spark does not load).
JVM_ONLY = {"sparkContext", "_jvm", "_jsc", "_jdf", "_jsparkSession", "rdd", "py4j", "DeltaTable", "DeltaMergeBuilder"}


def test_library_code_never_touches_the_jvm():
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in JVM_ONLY]
    assert found == []


@pytest.mark.skipif(not CONNECT, reason="SPARK_REMOTE is not set: a classic session (make test-connect sets it)")
def test_the_session_is_a_spark_connect_session(spark):
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    assert isinstance(spark, ConnectSession)
    with pytest.raises(PySparkException) as raised:
        spark.sparkContext  # noqa: B018 - what serverless refuses too
    assert raised.value.getCondition() == "JVM_ATTRIBUTE_NOT_SUPPORTED"
    # Delta's extension is in force on the local Connect server: a Delta table can be created and read.
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"


def test_commit_conflicts_are_recognised_by_their_condition(spark, tmp_path):
    """Real conflicts: concurrent MERGEs into one table. The Python class differs between classic (Delta's own
    exceptions) and Connect (an UnknownException here); the error condition is the same, and is what counts."""
    storage = Storage(spark, StorageConfig(root=str(tmp_path / "lake")))
    storage.ensure(INGESTED_FILES)
    schema = "path string, size long, modification_time timestamp, lines_read long, ingested_at timestamp"
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        rows = [(f"f{n}", writer, MODIFIED, n, MODIFIED) for n in range(50)]
        source = spark.createDataFrame(rows, schema)
        t, s = storage.merge_columns(INGESTED_FILES)
        try:
            merge = storage.merge(source, INGESTED_FILES, t("path") == s("path"))
            merge.whenMatched().updateAll().whenNotMatched().insertAll().merge()
        except Exception as error:
            errors.append(error)

    for _attempt in range(5):  # bounded: conflicts are likely with 4 writers, not certain
        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            break
    assert errors, "no two MERGEs conflicted in 5 rounds of 4"
    for error in errors:  # classic: Delta's ConcurrentAppendException...; Connect: an UnknownException
        assert commit_conflict(error) is not None, repr(error)[:2000]
    assert commit_conflict(ValueError("no condition")) is None
    wrapped = ConcurrentRunError("another run is writing the same tables")
    wrapped.__cause__ = errors[0]
    assert commit_conflict(wrapped) == commit_conflict(errors[0])  # found through the cause chain


@pytest.mark.heavy  # a CLI run in a subprocess, with its own Spark start (~1 min): make test-heavy, make test-connect
def test_a_run_prints_only_its_own_lines_and_spark_logs_to_the_lakehouse(tmp_path):
    """Quiet by default: no resolver report, log4j banner or WARN line on the terminal (with SPARK_REMOTE=local
    the local Connect server's too); Spark's output is in <lakehouse>/_logs."""
    lakehouse = tmp_path / "lakehouse"
    command = [
        sys.executable,
        "-m",
        "monitoring",
        "--no-color",
        "run",
        "--config",
        str(REPO / "config" / "monitoring.example.yml"),
    ]
    command += ["--logs", str(FIXTURES / "adf_diagnostic_logs"), "--lakehouse", str(lakehouse), "--date", "2025-04-08"]
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    if CONNECT:
        # The test process's own local Connect server holds port 15002; pyspark gives a local server a free port
        # (and finds it) only in its testing mode.
        environment["SPARK_TESTING"] = "1"
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    terminal = done.stdout + done.stderr
    for noise in (":: loading settings", "Ivy", "log4j", " WARN ", "WARNING: Using incubator", "UserWarning", "[Stage"):
        assert noise not in terminal, terminal[:3000]
    assert done.stderr == ""
    assert "Telephonie" in done.stdout  # the product's own summary
    (log,) = (lakehouse / "_logs").glob("spark-*.log")
    assert "resolving dependencies" in log.read_text(encoding="utf-8", errors="replace")


def test_a_relative_storage_root_is_rejected_on_databricks(spark, monkeypatch, tmp_path):
    """Serverless runs from a working directory of its own: a relative root would write somewhere unexpected."""
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "client.4.0")
    with pytest.raises(ConfigError, match=r"^storage\.root: 'lake' is relative"):
        Storage(spark, StorageConfig(root="lake"))
    assert Storage(spark, StorageConfig(root=str(tmp_path))).root == str(tmp_path)
    assert Storage(spark, StorageConfig(root="abfss://c@a.dfs.core.windows.net/x")).root.startswith("abfss://")
