"""The demo's two nights (test_incremental's: a half-written blob on night 1, grown and joined by today's on night 2),
run by whatever session ``get_spark()`` gives: the local test session, or, as a script, a standalone cluster.

    SPARK_MASTER=spark://127.0.0.1:7077 python tests/cluster_nights.py BASE   # writes BASE/lakehouse

Used by test_cluster.py; not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import shutil
import sys
from datetime import timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from monitoring.cli import example_config_path
from monitoring.config import load_config
from monitoring.demo import generate_demo_logs
from monitoring.nightly import DateRange, local_today, run_job
from test_incremental import DAYS, NOW, blob_day, copy_blobs


def run_nights(spark: SparkSession, base: Path) -> Path:
    """Generate the demo's logs under ``base``, run both nights into ``base/lakehouse``, and return it."""
    all_logs, logs, lakehouse = base / "all_logs", base / "logs", base / "lakehouse"
    config = load_config(example_config_path())
    generate_demo_logs(config, all_logs, DAYS, NOW)
    earlier = sorted(b for b in all_logs.rglob("*.json") if blob_day(b) < NOW.date())
    copy_blobs(all_logs, logs, lambda b: blob_day(b) < NOW.date(), grow_cut=earlier[-1])
    nightly = config.with_overrides(logs=str(logs), lakehouse=str(lakehouse))
    window = DateRange.ending(local_today(config, NOW), 3)
    yesterday = DateRange.ending(window.last - timedelta(days=1), 3)
    run_job(spark, nightly, yesterday, catch_up=True, now=NOW - timedelta(days=1), as_of=NOW)
    copy_blobs(all_logs, logs, lambda b: blob_day(b) >= NOW.date())
    shutil.copyfile(earlier[-1], logs / earlier[-1].relative_to(all_logs))
    run_job(spark, nightly, window, catch_up=True, now=NOW, as_of=NOW)
    return lakehouse


if __name__ == "__main__":
    from monitoring.spark import get_spark

    session = get_spark("pipeline-monitoring-cluster-test", log_dir=Path(sys.argv[1]) / "driver-logs")
    # The master this session runs on, for the test to check it was the cluster's.
    print(session.conf.get("spark.master"), flush=True)
    run_nights(session, Path(sys.argv[1]))
    session.stop()
