"""The benchmark's log generator: layout, record shape, counts, determinism, incremental and growing days.

Pure Python except the last test, which reads one small generation through the job's reader.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time as clock
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bench.generate import (
    BlobConflictError,
    GeneratedLogs,
    append_day,
    bench_pipelines,
    generate_logs,
    main,
    write_config,
)
from pyspark.sql import SparkSession

from monitoring.ingest import latest_run_states, with_quarantine_reason
from monitoring.sources.raw_events import read_raw_events
from monitoring.vocabulary import FAILED, IN_PROGRESS, QUEUED, TERMINAL_STATES

PIPELINES, RUNS_PER_DAY, SEED = 23, 3, 11
# Crosses the spring DST change in Paris (2025-03-30), when the local day is 23 hours long.
FIRST_DAY, DAYS = date(2025, 3, 29), 3
PARIS = ZoneInfo("Europe/Paris")
BLOB = re.compile(
    r"insights-logs-pipelineruns/resourceId=/SUBSCRIPTIONS/[0-9A-F-]{36}/RESOURCEGROUPS/RG-DATA-BENCH/PROVIDERS/"
    r"MICROSOFT\.DATAFACTORY/FACTORIES/ADF-BENCH/y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})/m=00/PT1H\.json"
)
TIME_7_DIGITS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z")
NOT_ENDED = "1601-01-01T00:00:00Z"


def generate(root: Path, days: int = DAYS, seed: int = SEED, timezone: str = "Europe/Paris") -> GeneratedLogs:
    return generate_logs(root, PIPELINES, days, RUNS_PER_DAY, seed, FIRST_DAY, timezone=timezone)


def append(root: Path, day: date, partial: bool = False, torn_line: bool = False) -> GeneratedLogs:
    return append_day(root, day, PIPELINES, RUNS_PER_DAY, SEED, partial=partial, torn_line=torn_line)


def file_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def parse_time(text: str) -> datetime:
    return datetime.strptime(text[:26] + "+0000", "%Y-%m-%dT%H:%M:%S.%f%z")


def blob_hour(relative: str) -> datetime:
    match = BLOB.fullmatch(relative)
    assert match, relative
    return datetime(*map(int, match.groups()), tzinfo=UTC)


def records(root: Path) -> list[tuple[str, dict]]:
    return [
        (relative, json.loads(line))
        for relative, content in file_bytes(root).items()
        for line in content.decode("utf-8").splitlines()
    ]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLogs:
    return generate(tmp_path_factory.mktemp("bench"))


@pytest.fixture(scope="module")
def parsed(logs: GeneratedLogs) -> list[tuple[str, dict]]:
    return records(logs.root)


# --- shape and layout ----------------------------------------------------------------------------------


def test_blobs_follow_the_adf_layout_and_hold_their_hours_records(logs: GeneratedLogs) -> None:
    blobs = file_bytes(logs.root)
    assert len(blobs) == logs.files > DAYS * RUNS_PER_DAY
    for relative, content in blobs.items():
        hour = blob_hour(relative)
        lines = content.decode("utf-8").splitlines()
        assert lines and content.endswith(b"\n")
        times = [parse_time(json.loads(line)["time"]) for line in lines]
        for line, at in zip(lines, times, strict=True):
            # A record is in the blob of its hour, or (late) in the next hour's; late ones are final records.
            assert hour <= at + timedelta(hours=1) and at < hour + timedelta(hours=1), (relative, line[:80])
            assert at >= hour or json.loads(line)["status"] in TERMINAL_STATES


def test_records_look_like_adf_diagnostic_logs(parsed: list[tuple[str, dict]]) -> None:
    for _, rec in parsed:
        assert rec["category"] == "PipelineRuns" and rec["location"] == "francecentral"
        assert rec["resourceId"].endswith("/FACTORIES/ADF-BENCH")
        assert re.fullmatch(r"flow\d{2}_pipeline_\d{3}", rec["pipelineName"])
        assert rec["correlationId"] == rec["runId"] == rec["groupId"]
        assert rec["operationName"] == f"{rec['pipelineName']} - {rec['status']}"
        assert TIME_7_DIGITS.fullmatch(rec["time"]) and TIME_7_DIGITS.fullmatch(rec["start"])
        properties = rec["properties"]
        assert {"Parameters", "SystemParameters", "Predecessors", "Annotations"} <= set(properties)
        assert properties["SystemParameters"]["ExecutionStart"] == rec["start"]
        assert properties["SystemParameters"]["TriggerId"] == properties["Predecessors"][0]["Id"]
        failed = rec["status"] == FAILED
        assert (rec["Level"], rec["level"]) == ((2, "Error") if failed else (4, "Informational"))
        assert ("failureType" in rec) == failed and ("Message" in properties) == failed
        assert ("ErrorCode" in properties) == failed
        if failed:
            assert properties["Message"].startswith("Operation on target ") and properties["ErrorCode"]
        if rec["status"] in TERMINAL_STATES:
            assert TIME_7_DIGITS.fullmatch(rec["end"]) and rec["start"] < rec["end"] < rec["time"]
        else:
            assert rec["end"] == NOT_ENDED and rec["time"] > rec["start"]
    assert {rec["failureType"] for _, rec in parsed if "failureType" in rec} <= {"UserError", "SystemError"}


def test_every_run_logs_queued_in_progress_and_one_final_state_on_its_day(parsed: list[tuple[str, dict]]) -> None:
    states: dict[str, list[str]] = defaultdict(list)
    days: dict[str, set[tuple[date, date, date]]] = defaultdict(set)
    for relative, rec in parsed:
        states[rec["runId"]].append(rec["status"])
        start = parse_time(rec["start"])
        # Local business date = UTC date of the start = the blob's day: days never share a blob.
        days[rec["runId"]].add((start.astimezone(PARIS).date(), start.date(), blob_hour(relative).date()))
    for run_id, run_states in states.items():
        assert len(run_states) == 3, run_id
        assert run_states.count(QUEUED) == run_states.count(IN_PROGRESS) == 1
        assert sum(s in TERMINAL_STATES for s in run_states) == 1
        [(local, utc, blob)] = days[run_id]
        assert local == utc == blob
    per_day = Counter(next(iter(d))[0] for d in days.values())
    assert per_day == {FIRST_DAY + timedelta(days=n): PIPELINES * RUNS_PER_DAY for n in range(DAYS)}


def test_counts_match_the_files(logs: GeneratedLogs, parsed: list[tuple[str, dict]]) -> None:
    runs = {rec["runId"] for _, rec in parsed}
    finals = [rec for _, rec in parsed if rec["status"] in TERMINAL_STATES]
    assert logs.runs == len(runs) == PIPELINES * DAYS * RUNS_PER_DAY
    assert logs.records == len(parsed) == 3 * logs.runs
    assert logs.bytes == sum(len(b) for b in file_bytes(logs.root).values())
    assert logs.failed_runs == sum(rec["status"] == "Failed" for rec in finals)
    assert logs.cancelled_runs == sum(rec["status"] == "Cancelled" for rec in finals)
    late = [rec for relative, rec in parsed if parse_time(rec["time"]) < blob_hour(relative)]
    assert logs.late_records == len(late) > 0
    assert [d.day for d in logs.days] == [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
    assert sum(d.records for d in logs.days) == logs.records and sum(d.files for d in logs.days) == logs.files


def test_some_runs_span_two_blobs(parsed: list[tuple[str, dict]]) -> None:
    blobs_by_run: dict[str, set[str]] = defaultdict(set)
    for relative, rec in parsed:
        blobs_by_run[rec["runId"]].add(relative)
    assert sum(len(blobs) > 1 for blobs in blobs_by_run.values()) >= 10


def test_rates_and_durations_are_realistic(tmp_path: Path) -> None:
    """~3% failures; each pipeline's successful durations centre on its own log-normal median."""
    days = 40
    logs = generate_logs(tmp_path, 30, days, RUNS_PER_DAY, SEED, FIRST_DAY)
    assert 0.015 < logs.failed_runs / logs.runs < 0.05
    assert logs.cancelled_runs < 0.02 * logs.runs
    durations: dict[str, list[float]] = defaultdict(list)
    for _, rec in records(tmp_path):
        if rec["status"] == "Succeeded":
            durations[rec["pipelineName"]].append((parse_time(rec["end"]) - parse_time(rec["start"])).total_seconds())
    profiles = {p.name: p for p in bench_pipelines(30, SEED)}
    medians = []
    for name, seconds in durations.items():
        median = statistics.median(seconds)
        assert median == pytest.approx(profiles[name].median_seconds, rel=0.15), name
        spread = statistics.stdev(math.log(s) for s in seconds)
        assert spread < 0.6, name
        medians.append(median)
    assert max(medians) / min(medians) > 5  # pipelines differ, so SLOW/FAST compare each to its own baseline


# --- determinism, incremental days, growing blobs --------------------------------------------------------


def test_same_arguments_give_identical_bytes_and_the_seed_matters(logs: GeneratedLogs, tmp_path: Path) -> None:
    again = generate(tmp_path / "again")
    other = generate(tmp_path / "other", seed=SEED + 1)
    assert file_bytes(again.root) == file_bytes(logs.root)
    assert again.days == logs.days
    assert file_bytes(other.root) != file_bytes(logs.root)


def test_append_day_writes_what_a_full_generation_writes(logs: GeneratedLogs, tmp_path: Path) -> None:
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    generate(tmp_path, days=DAYS - 1)
    appended = append(tmp_path, last)
    assert file_bytes(tmp_path) == file_bytes(logs.root)
    assert appended.days == (logs.days[-1],)
    # Per (seed, day), not per call order: days written backwards give the same files.
    backwards = tmp_path / "backwards"
    for n in reversed(range(DAYS)):
        append(backwards, FIRST_DAY + timedelta(days=n))
    assert file_bytes(backwards) == file_bytes(logs.root)


def test_regenerating_replaces_the_log_folder_only(tmp_path: Path) -> None:
    stale = tmp_path / "insights-logs-pipelineruns" / "stale" / "PT1H.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    keep = tmp_path / "monitoring.yml"
    keep.write_text("mine")
    generate(tmp_path, days=1)
    assert not stale.exists() and keep.read_text() == "mine"


@pytest.mark.parametrize("torn_line", [False, True])
def test_a_partial_last_blob_grows_into_the_full_one(logs: GeneratedLogs, tmp_path: Path, torn_line: bool) -> None:
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    generate(tmp_path, days=DAYS - 1)
    before = set(file_bytes(tmp_path))
    partial = append(tmp_path, last, partial=True, torn_line=torn_line)
    full, written = file_bytes(logs.root), file_bytes(tmp_path)
    new = sorted(set(written) - before)
    growing = new[-1]  # the day's last hour
    assert all(written[b] == full[b] for b in new[:-1])
    assert full[growing].startswith(written[growing]) and len(written[growing]) < len(full[growing])
    assert written[growing].endswith(b"\n") != torn_line
    assert partial.days[0].records == sum(b.count(b"\n") for b in (written[b] for b in new))
    assert partial.days[0].records < logs.days[-1].records

    mtimes = {b: (tmp_path / b).stat().st_mtime_ns for b in new}
    completed = append(tmp_path, last)
    assert file_bytes(tmp_path) == full
    assert completed.days == (logs.days[-1],)
    # Only the growing blob was touched: the ingest manifest sees exactly one grown file.
    assert [b for b in new if (tmp_path / b).stat().st_mtime_ns != mtimes[b]] == [growing]
    assert append(tmp_path, last).days == (logs.days[-1],)  # writing a complete day again changes nothing
    assert file_bytes(tmp_path) == full


def test_a_blob_that_is_not_a_prefix_is_refused(tmp_path: Path) -> None:
    append(tmp_path, FIRST_DAY)
    with pytest.raises(BlobConflictError, match="not the start"):
        append_day(tmp_path, FIRST_DAY, PIPELINES, RUNS_PER_DAY, SEED + 1)
    with pytest.raises(BlobConflictError):
        append(tmp_path, FIRST_DAY, partial=True)  # a complete blob cannot shrink back


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="runs_per_day"):
        generate_logs(tmp_path, 3, 1, 0, SEED, FIRST_DAY)
    with pytest.raises(ValueError, match="days"):
        generate_logs(tmp_path, 3, 0, 1, SEED, FIRST_DAY)
    with pytest.raises(ValueError, match="partial"):
        append(tmp_path, FIRST_DAY, torn_line=True)


def test_other_time_zones_keep_every_run_on_its_local_and_utc_day(tmp_path: Path) -> None:
    zone = "America/New_York"
    generate(tmp_path, days=2, timezone=zone)
    for relative, rec in records(tmp_path):
        start = parse_time(rec["start"])
        assert start.astimezone(ZoneInfo(zone)).date() == start.date() == blob_hour(relative).date()


# --- config, CLI, speed, and the job's reader ------------------------------------------------------------


def test_write_config_groups_the_logs_pipelines_into_flows_of_ten(
    parsed: list[tuple[str, dict]], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "monitoring.yml", PIPELINES, logs=Path("logs"), lakehouse=tmp_path / "lake")
    assert (config.source.format, config.source.path) == ("adf_diagnostic", "logs")
    assert [len(f.pipelines) for f in config.flows] == [10, 10, 3]
    assert all(p.name.startswith(f"{p.flow}_pipeline_") for p in config.pipelines)
    assert {rec["pipelineName"] for _, rec in parsed} == {p.name for p in config.pipelines}


def test_cli_writes_the_same_files_and_appends_a_growing_day(
    logs: GeneratedLogs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, config = tmp_path / "logs", tmp_path / "monitoring.yml"
    common = ["--out", str(out), "--pipelines", str(PIPELINES), "--runs-per-day", str(RUNS_PER_DAY)]
    common += ["--seed", str(SEED)]
    last = (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat()
    assert main([*common, "--days", str(DAYS - 1), "--first-day", FIRST_DAY.isoformat(), "--config", str(config)]) == 0
    assert main([*common, "--append-day", last, "--partial", "--torn-line"]) == 0
    assert main([*common, "--append-day", last]) == 0
    assert file_bytes(out) == file_bytes(logs.root)
    assert "records/s" in capsys.readouterr().out and config.exists()
    with pytest.raises(SystemExit):
        main([*common, "--days", "1", "--append-day", last])


def test_generation_is_fast(tmp_path: Path) -> None:
    started = clock.process_time()  # CPU time: other processes on the shared cores don't count
    logs = generate_logs(tmp_path, 50, 50, RUNS_PER_DAY, SEED, FIRST_DAY)  # 22,500 records, ~24 MB
    assert clock.process_time() - started < 2.0 and logs.records == 22_500  # ~0.3 s on an idle core


def test_the_job_reads_every_line(spark: SparkSession, logs: GeneratedLogs, tmp_path: Path) -> None:
    config = write_config(tmp_path / "monitoring.yml", PIPELINES, logs=logs.root, lakehouse=tmp_path / "lake")
    files = sorted(str(p) for p in logs.root.rglob("*.json"))
    events = with_quarantine_reason(read_raw_events(spark, files, config.source, config.timezone))
    assert {r.reason: r["count"] for r in events.groupBy("reason").count().collect()} == {None: logs.records}
    runs = latest_run_states(events).select("status", "factory", "end_time", "error_message", "failure_type")
    rows = runs.collect()
    assert Counter(r.status for r in rows) == {
        "Succeeded": logs.runs - logs.failed_runs - logs.cancelled_runs,
        "Failed": logs.failed_runs,
        "Cancelled": logs.cancelled_runs,
    }
    for row in rows:
        failed = row.status == "Failed"
        assert row.factory == "ADF-BENCH" and row.end_time is not None
        assert (row.error_message is not None, row.failure_type is not None) == (failed, failed)
