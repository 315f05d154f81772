"""Killed mid-night, or racing another run: the next run leaves exactly the tables of an uninterrupted run.

The job runs in a subprocess (its own process group: the driver JVM dies with it, as on a lost node) and
is SIGKILLed when the filesystem shows it reached a step: ingestion committed, gold half-written, gold
written but not the KPIs. The rerun happens in the test's own Spark session.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality

from monitoring.cli import example_config_path
from monitoring.config import load_config
from monitoring.nightly import DateRange, run_job
from monitoring.tables import ALL_TABLES, FLOW_DAILY_STATUS, INGESTED_FILES, PIPELINE_DAILY_STATUS
from support import FIXTURES, REPO

pytestmark = pytest.mark.heavy

AS_OF = "2025-04-09T06:00:00+00:00"
DATES = ("--from", "2025-04-06", "--to", "2025-04-09")
STAMPS = ("evaluated_at", "ingested_at", "quarantined_at")


def commits(table_dir: Path) -> int:
    return len(list((table_dir / "_delta_log").glob("*.json"))) if table_dir.exists() else 0


def data_files(table_dir: Path) -> int:
    return len(list(table_dir.glob("*.parquet"))) if table_dir.exists() else 0


def job_command(logs: Path, lakehouse: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "monitoring",
        "run",
        "--config",
        str(example_config_path()),
        "--logs",
        str(logs),
        "--lakehouse",
        str(lakehouse),
        "--as-of",
        AS_OF,
        *DATES,
    ]


def run_until(logs: Path, lakehouse: Path, reached: Callable[[], bool], timeout: float = 300) -> bool:
    """Start the job, SIGKILL its process group as soon as ``reached()``; False if it ended first."""
    env = {**os.environ, "SPARK_MASTER": "local[2]"}
    job = subprocess.Popen(
        job_command(logs, lakehouse),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if reached():
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()
                return True
            if job.poll() is not None:
                return False
            time.sleep(0.01)
        raise AssertionError("the job neither reached the step nor ended")
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()


def tables(spark, lakehouse: Path) -> dict:
    return {
        spec.name: spark.read.format("delta").load(str(lakehouse / spec.name)).drop(*STAMPS).localCheckpoint()
        for spec in ALL_TABLES
    }


def rerun(spark, logs: Path, lakehouse: Path) -> None:
    config = load_config(example_config_path()).with_overrides(logs=str(logs), lakehouse=str(lakehouse))
    as_of = datetime.fromisoformat(AS_OF).astimezone(UTC)
    run_job(spark, config, DateRange(*(datetime.fromisoformat(d).date() for d in DATES[1::2])), as_of)


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash") / "logs"
    shutil.copytree(FIXTURES / "adf_diagnostic_logs", folder)
    return folder


@pytest.fixture(scope="module")
def reference(spark, logs, tmp_path_factory) -> dict:
    lakehouse = tmp_path_factory.mktemp("reference") / "lakehouse"
    rerun(spark, logs, lakehouse)
    return tables(spark, lakehouse)


def assert_same_tables(spark, lakehouse: Path, reference: dict) -> None:
    for name, expected in reference.items():
        actual = spark.read.format("delta").load(str(lakehouse / name)).drop(*STAMPS)
        assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


CRASH_POINTS = {
    # The manifest is ingestion's last commit.
    "after ingestion committed": lambda lake: commits(lake / INGESTED_FILES.name) >= 1,
    # Parquet files of the pipeline table exist before its commit does.
    "during the gold write": lambda lake: data_files(lake / PIPELINE_DAILY_STATUS.name) >= 1,
    # The flow table is the last daily table; the KPI tables come after it.
    "after gold, before the KPIs": lambda lake: commits(lake / FLOW_DAILY_STATUS.name) >= 1,
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_rerun_after_a_crash_equals_an_uninterrupted_run(spark, logs, reference, tmp_path, point):
    lakehouse = tmp_path / "lakehouse"
    killed = run_until(logs, lakehouse, lambda: CRASH_POINTS[point](lakehouse))
    assert killed, f"the job ended before it reached {point!r}"
    rerun(spark, logs, lakehouse)
    assert_same_tables(spark, lakehouse, reference)
    history = spark.sql(f"DESCRIBE HISTORY delta.`{lakehouse / INGESTED_FILES.name}`").collect()
    assert len(history) <= 2  # the rerun did not read the files again when the crash came after the manifest


def test_two_overlapping_runs_at_once_never_mix(spark, logs, reference, tmp_path):
    lakehouse = tmp_path / "lakehouse"
    env = {**os.environ, "SPARK_MASTER": "local[1]"}
    # Output to files, not pipes: a run blocked on a full pipe nobody reads would never finish.
    stderr_files = [tmp_path / f"run{i}.stderr" for i in range(2)]
    with stderr_files[0].open("w") as first, stderr_files[1].open("w") as second:
        runs = [
            subprocess.Popen(job_command(logs, lakehouse), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=out)
            for out in (first, second)
        ]
        codes = [run.wait(timeout=600) for run in runs]
    outcomes = [(code, path.read_text()) for code, path in zip(codes, stderr_files, strict=True)]
    for code, stderr in outcomes:
        # Each run either succeeds or says plainly that another run is writing: nothing in between.
        assert code == 0 or (code == 1 and "another run is writing the same tables" in stderr), stderr[-2000:]
    assert any(code == 0 for code, _ in outcomes)
    # The run that succeeded did every step over everything committed before it: no rerun needed.
    assert_same_tables(spark, lakehouse, reference)
