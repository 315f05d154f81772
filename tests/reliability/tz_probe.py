"""One night of the job (demo logs around the fall-back day, example flows), its tables dumped as plain JSON.

The timezone fault test runs :func:`night_tables` in-process and, through ``python tz_probe.py``, in a process
whose machine time zone (TZ, and the JVM's user.timezone) is Pacific/Auckland, and compares the two dumps.
Timestamps are dumped as epoch microseconds and dates as text, both computed by Spark: no local-zone conversion
happens in Python.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

NOW = datetime(2025, 10, 27, 6, 30, tzinfo=UTC)  # 07:30 in Paris, the day after the 25-hour 26 October
DAYS = 10


def night_tables(spark: SparkSession, logs: Path, lakehouse: Path) -> dict[str, list[dict[str, Any]]]:
    from monitoring.cli import example_config_path
    from monitoring.config import load_config
    from monitoring.nightly import DateRange, local_today, run_job
    from monitoring.storage import Storage
    from monitoring.tables import ALL_TABLES

    config = load_config(example_config_path()).with_overrides(logs=str(logs), lakehouse=str(lakehouse))
    run_job(spark, config, DateRange.ending(local_today(config, NOW), DAYS - 1), as_of=NOW, now=NOW)
    storage = Storage(spark, config.storage)
    tables = {}
    for table in ALL_TABLES:
        df = storage.read(table)
        columns = [
            F.unix_micros(f.name).alias(f.name)
            if isinstance(f.dataType, T.TimestampType)
            else F.col(f.name).cast("string").alias(f.name)
            if isinstance(f.dataType, T.DateType)
            else F.col(f.name)
            for f in df.schema.fields
        ]
        rows = [row.asDict(recursive=True) for row in df.select(*columns).collect()]
        tables[table.name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return tables


def main(argv: list[str]) -> int:
    from monitoring.spark import get_spark

    logs, lakehouse, out = (Path(arg) for arg in argv)
    spark = get_spark("tz-probe")
    tables = night_tables(spark, logs, lakehouse)
    environment = {
        "python_zone": list(time.tzname),
        "jvm_zone": spark.sparkContext._jvm.java.util.TimeZone.getDefault().getID(),
        "session_zone": spark.conf.get("spark.sql.session.timeZone"),
    }
    out.write_text(json.dumps({"environment": environment, "tables": tables}, default=str), encoding="utf-8")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
