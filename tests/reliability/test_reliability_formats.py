"""Fault suite, bad input in the other formats: log_analytics, adf_rest_api and csv.

Each format's damaged files go through its reader and the shared classification (``with_quarantine_reason``,
``latest_run_states``) in one Spark job; the full ingest (MERGE, manifest, counts) is the same code for every
format and is exercised end to end by test_reliability_bad_input.py. Every record must end up kept (its run id
among the runs) or quarantined with the expected reason, and nothing else may appear.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import pytest
from bad_input_cases import (
    BLANK,
    CSV_HEADER,
    KEPT,
    FormatFile,
    Line,
    csv_files,
    line_key,
    log_analytics_files,
    rest_api_files,
)
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from monitoring.config import SourceConfig
from monitoring.ingest import latest_run_states, with_quarantine_reason
from monitoring.sources.raw_events import read_raw_events

FILES: dict[str, list[FormatFile]] = {
    "log_analytics": log_analytics_files(),
    "adf_rest_api": rest_api_files(),
    "csv": csv_files(),
}
# CSV batches read on their own (one header per read), in the same Spark job as the rest.
BACKTICK = FormatFile(
    "csv-backtick/a.csv",
    f"{CSV_HEADER};Note`s\np;08/04/2025 00:10:03;SUCCESS;;;c7100.0;x\n".encode(),
    (Line(b"c7100.0", KEPT),),
)
OTHER_ORDER = [
    FormatFile(
        "csv-order/a.csv", f"{CSV_HEADER}\np1;08/04/2025 00:10:03;SUCCESS;08/04/2025 00:20:00;600;\n".encode(), ()
    ),
    FormatFile(
        "csv-order/b.csv",
        b"EndTime;StartTime;PipelineName;Status;Duration;Error_msg\n"
        b"08/04/2025 01:20:00;08/04/2025 01:10:00;p2;SUCCESS;600;\n",
        (),
    ),
]
BATCHES: list[tuple[str, list[FormatFile]]] = [
    *FILES.items(),
    ("csv", [BACKTICK]),  # a header with a backtick used to fail the whole read
    ("csv", OTHER_ORDER),
]


@dataclass(frozen=True)
class Read:
    records: dict[tuple[str, str], list[Row]]  # (relative file, record key) -> classified rows
    runs: dict[str, Row]  # latest state of each kept run, by run id


def classified(spark: SparkSession, fmt: str, paths: list[str]) -> DataFrame:
    events = with_quarantine_reason(read_raw_events(spark, paths, SourceConfig(fmt, "unused"), "Europe/Paris"))
    kind = (  # as ingest classifies lines
        F.when(F.trim("raw_line") == "", F.lit(BLANK)).when(F.col("reason").isNull(), F.lit(KEPT)).otherwise("q")
    )
    return events.withColumn("kind", kind)


@pytest.fixture(scope="module")
def read(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Read:
    root = tmp_path_factory.mktemp("formats")
    frames = []
    for fmt, files in BATCHES:
        for file in files:
            (root / file.path).parent.mkdir(parents=True, exist_ok=True)
            (root / file.path).write_bytes(file.content)
        frames.append(classified(spark, fmt, [str(root / f.path) for f in files]))
    events = reduce(DataFrame.unionByName, frames).localCheckpoint()
    rows = events.select("source_file", "raw_line", "kind", "reason", "run_id", "pipeline_name", "start_time").collect()
    runs = latest_run_states(events.where(F.col("kind") == KEPT)).select(
        "run_id", "pipeline_name", "status", F.unix_micros("end_time").alias("end_us"), "error_message", "parameters"
    )
    records: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        relative = row.source_file.split(f"{root.name}/", 1)[1]
        records.setdefault((relative, line_key(row.raw_line) if row.kind != BLANK else ""), []).append(row)
    return Read(records, {row.run_id: row for row in runs.collect()})


CASES = [
    pytest.param(fmt, file, id=f"{fmt}-{Path(file.path).parent.name}-{Path(file.path).name}")
    for fmt, files in [*FILES.items(), ("csv", [BACKTICK])]
    for file in files
]


@pytest.mark.parametrize(("fmt", "file"), CASES)
def test_every_record_is_kept_or_quarantined_with_its_reason(read: Read, fmt: str, file: FormatFile):
    expected = Counter((line.key, line.expect) for line in file.records)
    found = Counter(
        (key, row.kind if row.kind in (KEPT, BLANK) else row.reason)
        for (path, key), rows in read.records.items()
        if path == file.path
        for row in rows
    )
    assert found == expected
    for line in file.records:
        if line.expect == KEPT:
            (row, *_) = read.records[file.path, line.key]
            assert row.run_id in read.runs
            assert line.run_id in (None, row.run_id)


def test_the_other_formats_have_dozens_of_cases():
    assert sum(len(file.records) for files in FILES.values() for file in files) >= 90


def test_values_survive_each_format(read: Read):
    runs = read.runs
    assert runs["rest-c8000.1"].status == "Cancelled" and runs["rest-c8000.1"].end_us is None
    assert runs["rest-c8000.6"].pipeline_name == "<script>alert('rest')</script>"
    assert runs["la-c9005.0"].status == "Cancelled"  # "Canceled"
    assert runs["la-c9006.0"].status == "Succeeded"  # "SUCCESS"
    csv_id = "csv-" + hashlib.sha256(b"solaris_a|08/04/2025 01:00:00").hexdigest()[:32]
    assert runs[csv_id].error_message == 'Login failed; c7000.1 "quoted"\nsecond line'
    formula = "csv-" + hashlib.sha256(b"=cmd|' /C calc'!A0|08/04/2025 03:00:00").hexdigest()[:32]
    assert (runs[formula].pipeline_name, runs[formula].end_us) == ("=cmd|' /C calc'!A0", None)  # 9999: no end


def test_a_batch_of_empty_csv_files_reads_nothing(spark: SparkSession, tmp_path: Path):
    """An export of a day without runs can be 0 bytes: the night reads nothing, it does not fail."""
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_bytes(b"")
    paths = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert read_raw_events(spark, paths, SourceConfig("csv", "unused"), "Europe/Paris").count() == 0


def test_csv_files_with_columns_in_another_order(read: Read):
    """Spark's CSV reader takes one file's header for all; files are read in groups of one header each."""
    rows = [row for (path, _), found in read.records.items() if path.startswith("csv-order/") for row in found]
    assert sorted((r.pipeline_name, r.kind, str(r.start_time)) for r in rows) == [
        ("p1", KEPT, "2025-04-07 22:10:03"),
        ("p2", KEPT, "2025-04-07 23:10:00"),
    ]
