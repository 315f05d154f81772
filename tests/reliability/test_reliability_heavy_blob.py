"""Fault suite, heavy: a 1 GB hourly blob is streamed, not loaded in memory (``make test-heavy``).

The blob is written line by line (about 900,000 records of ~1.1 kB: Queued, InProgress and a final state per
run, with a truncated line every 1,000 and a blank one every 5,000), ingested with the normal code, and checked:
the counts reconcile exactly, and while Spark reads it the driver's Python process stays small and the driver
JVM stays within its heap (2 GB, less than the blob would take as one string).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from pyspark.sql import SparkSession

from monitoring.ingest import ingest
from monitoring.storage import Storage
from monitoring.tables import PIPELINE_RUNS, QUARANTINE
from support import config

pytestmark = pytest.mark.heavy

TARGET_BYTES = 1_000_000_000
FACTORY = "/SUBSCRIPTIONS/1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/ADF-BIG"
PARAMETERS = {f"param_{i}": "x" * 40 for i in range(12)}  # ADF records carry their parameters: ~1.1 kB a line
STATES = ("Queued", "InProgress", "Succeeded")


@dataclass
class Written:
    lines: int = 0
    blank: int = 0
    truncated: int = 0
    final_truncated: int = 0  # runs whose Succeeded record is the truncated one: they stay InProgress
    runs: int = 0
    size: int = 0


def _records(run: int) -> Iterator[str]:
    start = datetime(2025, 4, 7, 22, 0, tzinfo=UTC) + timedelta(milliseconds=run)
    end = start + timedelta(minutes=3)
    for state in STATES:
        done = state == "Succeeded"
        yield json.dumps(
            {
                "time": (end if done else start).strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
                "resourceId": FACTORY,
                "category": "PipelineRuns",
                "level": "Informational",
                "runId": f"run-{run:07d}",
                "pipelineName": f"pipeline_{run % 500:03d}",
                "operationName": f"pipeline_{run % 500:03d} - {state}",
                "start": start.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
                "end": end.strftime("%Y-%m-%dT%H:%M:%S.%f0Z") if done else "1601-01-01T00:00:00Z",
                "status": state,
                "properties": {"Parameters": PARAMETERS, "Annotations": ["nightly"]},
            },
            separators=(",", ":"),
        )


def write_blob(path: Path) -> Written:
    """Writes ~1 GB in a streaming way (one buffered line at a time) and counts what it wrote."""
    written = Written()
    with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
        while written.size < TARGET_BYTES:
            for state, text in zip(STATES, _records(written.runs), strict=True):
                written.lines += 1
                if written.lines % 1000 == 0:  # a half-written record
                    text = text[: len(text) // 2]
                    written.truncated += 1
                    written.final_truncated += state == "Succeeded"
                written.size += out.write(text + "\n")
                if written.lines % 5000 == 0:
                    written.lines += 1
                    written.blank += 1
                    written.size += out.write("\n")
            written.runs += 1
    return written


class PeakMemory:
    """Samples the RSS of this (the driver's Python) process and of the driver JVM while the block runs."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.python = 0
        self.jvm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.python = max(self.python, me.memory_info().rss)
            self.jvm = max([self.jvm, *(self._java_rss(child) for child in me.children(recursive=True))])
            time.sleep(self.interval)

    @staticmethod
    def _java_rss(process: psutil.Process) -> int:
        # Short-lived children (the shell Spark starts, the JVM's helpers) may be gone by the time we look.
        try:
            return process.memory_info().rss if "java" in process.name() else 0
        except psutil.NoSuchProcess:
            return 0

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_one_gigabyte_blob_streams(spark: SparkSession, tmp_path: Path):
    logs = tmp_path / "logs"
    blob = logs / "resourceId=/y=2025/m=04/d=07/h=22/m=00/PT1H.json"
    blob.parent.mkdir(parents=True)
    written = write_blob(blob)
    assert blob.stat().st_size == written.size >= TARGET_BYTES

    cfg = config([{"name": "F", "pipelines": ["pipeline_000"]}]).with_overrides(
        logs=str(logs), lakehouse=str(tmp_path / "lake")
    )
    storage = Storage(spark, cfg.storage)
    python_before = psutil.Process().memory_info().rss
    started = time.monotonic()
    with PeakMemory() as peak:
        report = ingest(spark, storage, cfg, datetime(2025, 4, 8, 6, 0, tzinfo=UTC))
    seconds = time.monotonic() - started

    assert (report.files_read, report.lines_read, report.blank_lines) == (1, written.lines, written.blank)
    assert report.lines_quarantined == written.truncated
    assert report.events_kept == written.lines - written.blank - written.truncated
    assert report.runs_in_batch == written.runs  # a truncated record never loses its run: 2 others remain
    succeeded = storage.read(PIPELINE_RUNS).where("status = 'Succeeded'").count()
    assert succeeded == written.runs - written.final_truncated
    assert storage.read(QUARANTINE).count() == written.truncated

    megabytes = 1 << 20
    print(
        f"\n1 GB blob: {written.lines} lines in {seconds:.0f} s; peak RSS python {peak.python // megabytes} MB "
        f"(+{(peak.python - python_before) // megabytes} MB), driver JVM {peak.jvm // megabytes} MB"
    )
    assert peak.python - python_before < 200 * megabytes  # nothing of the blob comes to Python
    assert peak.jvm < 3500 * megabytes  # a 2 GB heap plus the JVM's own: the blob (1 GB, 2 GB as UTF-16) never fits
