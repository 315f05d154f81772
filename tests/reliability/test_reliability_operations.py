"""Whatever happened before (nightly runs, backfills, one-date runs, runs SIGKILLed at any checkpoint, weeks without
the job, records arriving late), the next nightly run leaves the status tables of a rebuild from the same logs.

A property test, bounded: hypothesis draws a few sequences of operations over three weeks of generated diagnostic
logs whose records arrive late, by up to two days and a half (within ``source.lookback_hours``, as ADF's own
delivery delays are); no shrinking (each example is minutes of Spark). A blob restored days later into an old folder
counts only once a run over its dates has read it (the guarantee says so): ``test_operations`` covers that case.
Kills go through the job's test-only hook (``PIPELINE_MONITOR_KILL_AT``) in a subprocess, so the process dies
with SIGKILL at a named checkpoint, as on a lost node.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from chispa import assert_df_equality
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from adf_logs import Run, write_records
from monitoring.checkpoints import CHECKPOINTS, KILL_AT_VARIABLE
from monitoring.config import Config, load_config
from monitoring.nightly import DateRange, local_today, run_job
from monitoring.tables import FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI
from support import REPO

pytestmark = pytest.mark.heavy

PARIS = ZoneInfo("Europe/Paris")
FIRST = date(2025, 3, 3)
DAYS = 21
PIPELINES = ("extract", "load", "publish")
STATUS_TABLES = (PIPELINE_DAILY_STATUS, FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_KPI)


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), PARIS).astimezone(UTC)


@dataclass(frozen=True)
class Arrival:
    """A log record and when it reaches the storage account (late by hours, or by days: a restored blob)."""

    arrives: datetime
    logged: datetime
    record: dict


def generated_logs(seed: int) -> list[Arrival]:
    """Three weeks of three pipelines: mostly successes, some failures, misses, retries and runs left open."""
    rng = random.Random(seed)
    arrivals = []
    for n in range(DAYS):
        day = FIRST + timedelta(days=n)
        for index, pipeline in enumerate(PIPELINES):
            # The first day is on time, so the first business date with a run is the same for every history.
            roll = rng.random() if n else 0.5
            if roll < 0.08:
                continue  # never ran: MISSING
            start = at(day, f"00:{10 + 15 * index:02d}")
            status = "Failed" if roll < 0.2 else "InProgress" if roll < 0.25 else "Succeeded"
            runs = [Run(f"{pipeline}-{day}", pipeline, status, start, start + timedelta(minutes=12))]
            if status == "Failed" and rng.random() < 0.5:  # a retry an hour later
                retry = start + timedelta(hours=1)
                runs.append(Run(f"{pipeline}-{day}-retry", pipeline, "Succeeded", retry, retry + timedelta(minutes=9)))
            late_by = timedelta(days=rng.choice([0, 0, 0, 0, 1, 2]) if n else 0, minutes=rng.randint(1, 90))
            for run in runs:
                for logged, record in run.records():
                    arrivals.append(Arrival(logged + late_by, logged, record))
    return arrivals


@dataclass
class Estate:
    root: Path
    arrivals: list[Arrival]
    delivered: int = 0

    def deliver_until(self, moment: datetime) -> None:
        """Append every record that has arrived by ``moment`` to the blob of its hour (blobs grow, as ADF's do)."""
        due = sorted((a for a in self.arrivals if a.arrives <= moment), key=lambda a: a.arrives)
        write_records(self.root / "logs", [(a.logged, a.record) for a in due[self.delivered :]])
        self.delivered = len(due)


def operations() -> st.SearchStrategy[list[tuple]]:
    """(kind, day offset of the clock, details) with the clock moving forward, gaps of up to a week included."""
    step = st.one_of(
        st.tuples(st.just("nightly"), st.integers(1, 7), st.just(None)),
        st.tuples(st.just("date"), st.integers(0, 2), st.integers(1, 12)),  # a date this many days back
        st.tuples(st.just("backfill"), st.integers(0, 2), st.tuples(st.integers(3, 15), st.integers(0, 3))),
        st.tuples(st.just("kill"), st.integers(1, 4), st.sampled_from(CHECKPOINTS)),
    )
    return st.lists(step, min_size=3, max_size=5)


def write_config(root: Path) -> Path:
    path = root / "monitoring.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "timezone": "Europe/Paris",
                "source": {"format": "adf_diagnostic", "path": str(root / "logs")},
                "storage": {"root": str(root / "lake")},
                "flows": [
                    {"name": "Nightly", "deadline": "02:00", "order": "sequential", "pipelines": list(PIPELINES)}
                ],
            }
        )
    )
    return path


KILLED_NIGHT = """
import sys
from datetime import datetime
from monitoring.config import load_config
from monitoring.nightly import DateRange, local_today, run_job
from monitoring.spark import get_spark

config = load_config(sys.argv[1])
now = datetime.fromisoformat(sys.argv[2])
run_job(get_spark(), config, DateRange.ending(local_today(config, now), 3), catch_up=True, now=now)
"""


def killed_night(config_path: Path, now: datetime, checkpoint: str) -> None:
    env = {**os.environ, KILL_AT_VARIABLE: checkpoint, "SPARK_MASTER": "local[2]"}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_NIGHT, str(config_path), now.isoformat()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -9, f"not killed at {checkpoint} (exit {done.returncode}): {done.stderr[-2000:]}"


def nightly(spark, config: Config, now: datetime) -> None:
    run_job(spark, config, DateRange.ending(local_today(config, now), 3), catch_up=True, now=now)


@settings(
    max_examples=2,
    phases=[Phase.generate],  # no shrinking: an example is minutes of Spark
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**16), steps=operations())
def test_the_next_night_equals_a_rebuild_after_any_operations(spark, tmp_path_factory, seed, steps):
    root = tmp_path_factory.mktemp("operations")
    estate = Estate(root, generated_logs(seed))
    config_path = write_config(root)
    config = load_config(config_path)
    clock = at(FIRST + timedelta(days=2), "06:00")
    for kind, advance, detail in steps:
        clock += timedelta(days=advance)
        estate.deliver_until(clock)
        today = local_today(config, clock)
        if kind == "nightly":
            nightly(spark, config, clock)
        elif kind == "date":
            day = max(FIRST, today - timedelta(days=detail))
            run_job(spark, config, DateRange(day, day), clock, now=clock)
        elif kind == "backfill":
            back, length = detail
            first = max(FIRST, today - timedelta(days=back))
            run_job(spark, config, DateRange(first, min(today, first + timedelta(days=length))), clock, now=clock)
        else:
            killed_night(config_path, clock, detail)

    clock += timedelta(days=1)
    estate.deliver_until(clock)
    nightly(spark, config, clock)
    rebuilt = config.with_overrides(lakehouse=str(root / "rebuild"))
    nightly(spark, rebuilt, clock)

    def status_table(lake: Config, spec):
        return spark.read.format("delta").load(f"{lake.storage.root}/{spec.name}").drop("evaluated_at")

    for spec in STATUS_TABLES:
        assert_df_equality(
            status_table(config, spec),
            status_table(rebuilt, spec),
            ignore_row_order=True,
            ignore_nullable=True,
            ignore_column_order=True,
        )
