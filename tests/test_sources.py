"""Each log format -> the same silver run shape; damaged records are quarantined with a reason."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from monitoring.config import CsvOptions, SourceConfig, datetime_pattern_problem
from monitoring.ingest import latest_run_states, with_quarantine_reason
from monitoring.sources.csv_export import csv_column_names
from monitoring.sources.raw_events import read_raw_events
from support import FIXTURES

PARIS = "Europe/Paris"


def files(folder: Path, pattern: str = "*.json") -> list[str]:
    return sorted(str(p) for p in folder.rglob(pattern))


def read(spark, fmt: str, paths: list[str], csv: CsvOptions | None = None):
    source = SourceConfig(format=fmt, path="unused", csv=csv or CsvOptions())
    classified = with_quarantine_reason(read_raw_events(spark, paths, source, PARIS)).cache()
    kept = classified.where("reason IS NULL")
    runs = {r.run_id: r for r in latest_run_states(kept).collect()}
    quarantined = classified.where("reason IS NOT NULL").select("raw_line", "reason").collect()
    return classified.count(), kept.count(), runs, quarantined


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_adf_diagnostic_fixture(spark):
    lines, kept, runs, quarantined = read(spark, "adf_diagnostic", files(FIXTURES / "adf_diagnostic_logs"))
    assert (lines, kept, len(quarantined)) == (9, 8, 1)
    assert quarantined[0].reason == "malformed JSON" and '"runId":"trunc' in quarantined[0].raw_line
    assert len(runs) == 5
    tel = runs["6c1d7a52-0b8e-4a0e-9c57-1f0d3b4a9e01"]
    # Three state records, out of order across blobs: the terminal one wins, 7 fractional digits truncated.
    assert (tel.pipeline_name, tel.status, tel.factory) == ("telephonie_master", "Succeeded", "ADF-PROD")
    assert tel.start_time == ts("2025-04-07 22:10:03.123456")
    assert tel.end_time == ts("2025-04-07 22:18:16.765432")
    assert tel.duration_seconds == 493
    assert json.loads(tel.parameters) == {"window_start": "2025-04-07"}
    assert tel.last_event_time == ts("2025-04-07 22:18:17.010000")
    solaris = runs["0f4b6c1e-77aa-4d0e-8a3b-5e2f9c0d1a02"]  # InProgress in h=22, Succeeded in h=23
    assert solaris.status == "Succeeded" and "h=23" in solaris.source_file
    failed = runs["a9d3e5f7-1b2c-4d6e-8f0a-1b3c5d7e9f03"]
    assert (failed.status, failed.failure_type) == ("Failed", "UserError")
    assert failed.error_message == "Operation on target Copy_claims failed: ErrorCode=SqlFailedToConnect"
    assert runs["c7d8e9f0-1a2b-4c3d-9e4f-5a6b7c8d9e05"].status == "Cancelled"


def test_log_analytics_fixture(spark):
    lines, kept, runs, quarantined = read(spark, "log_analytics", files(FIXTURES / "log_analytics_export"))
    assert (lines, kept, quarantined) == (2, 2, [])
    failed = runs["a9d3e5f7-1b2c-4d6e-8f0a-1b3c5d7e9f03"]
    assert (failed.status, failed.failure_type, failed.factory) == ("Failed", "UserError", "ADF-PROD")
    assert failed.error_message.startswith("Operation on target Copy_claims failed")
    ok = runs["6c1d7a52-0b8e-4a0e-9c57-1f0d3b4a9e01"]
    assert ok.error_message is None and ok.failure_type is None  # empty strings are nulls
    assert json.loads(ok.parameters) == {"window_start": "2025-04-07"}


def test_adf_rest_api_fixture(spark):
    lines, kept, runs, quarantined = read(spark, "adf_rest_api", files(FIXTURES / "adf_rest_api"))
    assert (lines, kept, quarantined) == (2, 2, [])
    ok = runs["6c1d7a52-0b8e-4a0e-9c57-1f0d3b4a9e01"]
    assert (ok.status, ok.duration_seconds, ok.factory) == ("Succeeded", 493, "ADF-PROD")
    assert ok.run_group_id == "6c1d7a52-0b8e-4a0e-9c57-1f0d3b4a9e01"
    cancelled = runs["c7d8e9f0-1a2b-4c3d-9e4f-5a6b7c8d9e05"]
    assert (cancelled.status, cancelled.end_time, cancelled.parameters) == ("Cancelled", None, "{}")
    assert cancelled.last_event_time == ts("2025-04-07 23:25:09.216097")


def test_csv_export_fixture_local_times(spark):
    lines, kept, runs, quarantined = read(spark, "csv", files(FIXTURES / "adf_logs_csv", "*.csv"))
    assert (lines, kept, quarantined) == (4, 4, [])
    by_start = {(r.pipeline_name, r.start_time): r for r in runs.values()}
    # 08/04/2025 00:10:03 in Paris (CEST) is 22:10:03 UTC the day before.
    tel = by_start["telephonie_master", ts("2025-04-07 22:10:03")]
    assert (tel.status, tel.end_time, tel.duration_seconds) == ("Succeeded", ts("2025-04-07 22:18:16"), 493)
    assert tel.run_id.startswith("csv-") and len(tel.run_id) == 36
    failed = by_start["sitecom_claims_master", ts("2025-04-07 23:15:00")]
    assert failed.status == "Failed"
    assert failed.error_message == "Operation on target Copy_claims failed; ErrorCode=SqlFailedToConnect"


def test_csv_options_and_missing_column(spark, tmp_path):
    (tmp_path / "export.csv").write_text(
        "Pipeline,Debut,Etat,Fin,Duree,Erreur\n"
        "telephonie_master,2025-04-08 00:10,SUCCESS,2025-04-08 00:20,600,\n"
        "telephonie_master,not a date,SUCCESS,2025-04-08 00:20,600,\n",
        encoding="utf-8",
    )
    options = CsvOptions(
        delimiter=",",
        timestamp_format="yyyy-MM-dd HH:mm",
        columns={
            "pipeline_name": "Pipeline",
            "start_time": "Debut",
            "status": "Etat",
            "end_time": "Fin",
            "duration": "Duree",
            "error_message": "Erreur",
        },
    )
    lines, kept, runs, quarantined = read(spark, "csv", [str(tmp_path / "export.csv")], options)
    assert (lines, kept) == (2, 1)
    assert [q.reason for q in quarantined] == ["missing or invalid start time"]
    (run,) = runs.values()
    assert run.start_time == ts("2025-04-07 22:10:00")

    from monitoring.sources import SourceError

    wrong = CsvOptions(delimiter=",", columns={**options.columns, "status": "Statut"})
    with pytest.raises(SourceError, match="Statut"):
        read(spark, "csv", [str(tmp_path / "export.csv")], wrong)


def record(**fields) -> str:
    base = {
        "time": "2025-04-07T22:18:17.0000000Z",
        "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/ADF-PROD",
        "runId": "r1",
        "pipelineName": "p",
        "status": "Succeeded",
        "start": "2025-04-07T22:10:00.0000000Z",
        "end": "2025-04-07T22:18:00.0000000Z",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


DAMAGED = [
    ("truncated", '{"time":"2025-04-07T22:18:17Z","runId":"x', "malformed JSON"),
    ("not_json", "garbage line", "malformed JSON"),
    ("array", "[1, 2]", "malformed JSON"),
    ("no_run_id", record(runId=...), "missing run id"),
    ("blank_run_id", record(runId="  "), "missing run id"),
    ("no_pipeline", record(pipelineName=None), "missing pipeline name"),
    ("no_start", record(start=...), "missing or invalid start time"),
    ("sentinel_start", record(start="1601-01-01T00:00:00Z"), "missing or invalid start time"),
    ("bad_start", record(start="yesterday"), "missing or invalid start time"),
    ("unknown_status", record(status="Exploded"), "unknown status 'Exploded'"),
    ("ends_before_start", record(end="2025-04-07T21:00:00Z"), "run ends before it starts"),
]


@pytest.mark.parametrize(
    ("line", "reason"), [(line, reason) for _, line, reason in DAMAGED], ids=[c[0] for c in DAMAGED]
)
def test_damaged_records_are_quarantined_with_a_reason(spark, tmp_path, line, reason):
    blob = tmp_path / "PT1H.json"
    blob.write_text(line + "\n", encoding="utf-8")
    lines, kept, _, quarantined = read(spark, "adf_diagnostic", [str(blob)])
    assert (lines, kept) == (1, 0)
    assert [(q.raw_line, q.reason) for q in quarantined] == [(line, reason)]


def test_adf_quirks_are_read(spark, tmp_path):
    blob = tmp_path / "PT1H.json"
    blob.write_text(
        "\n".join(
            [
                # Both Level and level: an explicit schema reads it (inference would fail).
                record(runId="both-levels", Level="Error", level="Error", status="Failed"),
                record(runId="canceled", status="Canceled"),
                record(runId="canceling", status="Canceling", end="1601-01-01T00:00:00Z"),
                record(runId="offset", start="2025-04-08T00:10:00+02:00", end="2025-04-08T00:20:00+02:00"),
                record(runId="no-zone", start="2025-04-07T22:10:00", end="2025-04-07T22:20:00"),
                record(runId="running", status="InProgress", end="1601-01-01T00:00:00Z"),
                record(runId="accents & <html>", pipelineName="Pipeline d'été <script>"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    lines, kept, runs, quarantined = read(spark, "adf_diagnostic", [str(blob)])
    assert (lines, kept, quarantined) == (7, 7, [])
    assert runs["both-levels"].status == "Failed"
    assert runs["canceled"].status == "Cancelled" and runs["canceling"].status == "Cancelled"
    assert runs["offset"].start_time == ts("2025-04-07 22:10:00")
    assert runs["no-zone"].start_time == ts("2025-04-07 22:10:00")  # no zone: ADF's UTC
    assert (runs["running"].end_time, runs["running"].duration_seconds) == (None, None)
    assert runs["accents & <html>"].pipeline_name == "Pipeline d'été <script>"


@pytest.mark.parametrize("fmt", ["adf_diagnostic", "csv"])
def test_file_names_are_paths_not_globs(spark, tmp_path, fmt):
    """Spark's readers take a path as a glob: 'x[1]' would read 'x1', and 'a{b,c}' fail the whole read."""
    names = ["x[1]", "x1", "a{b,c}", "back\\slash", "q?", "star*", "space 100%+"]
    header = "PipelineName;StartTime;Status;EndTime;Duration;Error_msg\n"
    paths = []
    for name in names:
        path = tmp_path / f"{name}.{fmt[:4] if fmt == 'csv' else 'json'}"
        if fmt == "csv":
            path.write_text(f"{header}{name};08/04/2025 00:10:03;SUCCESS;08/04/2025 00:20:00;600;\n", encoding="utf-8")
        else:
            record = {"runId": name, "pipelineName": name, "status": "Succeeded", "start": "2025-04-07T22:10:00Z"}
            path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        paths.append(str(path))
    source = SourceConfig(format=fmt, path="unused", csv=CsvOptions())
    rows = read_raw_events(spark, paths, source, PARIS).select("source_file", "pipeline_name").collect()
    assert sorted((r.source_file, r.pipeline_name) for r in rows) == sorted(
        (f"file:{path}", name) for path, name in zip(paths, names, strict=True)
    )


def test_csv_column_names_are_those_spark_gives_a_header():
    # What Spark 4.2's CSV reader infers from this header (checked against it): quotes, blanks, repeats in any case.
    header = 'PipelineName;"Start;Time";;Status;status'
    assert csv_column_names(header, ";") == ["PipelineName", "Start;Time", "_c2", "Status3", "status4"]
    assert csv_column_names("", ";") == []


def test_csv_header_after_empty_lines(spark, tmp_path):
    header = "PipelineName;StartTime;Status;EndTime;Duration;Error_msg"
    row = "08/04/2025 00:10:03;SUCCESS;08/04/2025 00:20:00;600;"
    (tmp_path / "lf.csv").write_text(f"\n\n{header}\np1;{row}\n\np2;{row}\n", encoding="utf-8")
    (tmp_path / "crlf.csv").write_bytes(f"\r\n{header}\r\np3;{row}\r\n".encode())
    lines, kept, runs, quarantined = read(spark, "csv", files(tmp_path, "*.csv"))
    assert (lines, kept, quarantined) == (3, 3, [])
    assert sorted(r.pipeline_name for r in runs.values()) == ["p1", "p2", "p3"]


@pytest.mark.heavy  # sixty patterns, each a Spark query
def test_timestamp_format_check_agrees_with_spark(spark):
    """The config's check of source.timestamp_format rejects what Spark rejects, on patterns that mix valid and
    invalid letters, counts, quotes, brackets and reserved characters; and accepts the rest, except an unclosed
    quote, which Spark takes but then parses nothing with (every row would be quarantined)."""
    rng = random.Random(11)
    pieces = ["yyyy", "yy", "MM", "MMM", "dd", "HH", "hh", "mm", "ss", "SSS", "a", "XXX", "Z", "VV", "D"]
    pieces += ["-", "/", ":", " ", ".", "'T'", "'", "''", "[", "]", "[[", "]]", "#", "{", "E", "Y", "u", "w", "ddd"]
    patterns = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(60)]

    def spark_rejects(pattern: str) -> bool:
        try:
            spark.range(1).select(F.to_timestamp(F.lit("01/01/2025"), pattern)).collect()
        except Exception as error:
            return getattr(error, "getCondition", lambda: None)() != "CANNOT_PARSE_TIMESTAMP"
        return False

    verdicts = {p: (datetime_pattern_problem(p), spark_rejects(p)) for p in patterns}
    assert [p for p, (mine, spark_says) in verdicts.items() if spark_says and mine is None] == []
    stricter = {mine for mine, spark_says in verdicts.values() if mine is not None and not spark_says}
    assert stricter <= {"a quote ' is not closed"}
    assert 10 < sum(mine is None for mine, _ in verdicts.values()) < 50  # both verdicts are exercised
