"""Fault suite, bad input (adf_diagnostic): hundreds of generated damaged or hostile log lines, written into one
log folder and run through the real job once; then every line is accounted for, case by case.

The invariant, for every input line: it is blank, or its run id is in silver, or it is in quarantine with the
reason the case expects. The counts of the IngestReport, of the quarantine and of the file manifest reconcile,
the job ends cleanly, and the gold tables are valid (known statuses and reason codes, one row per key).
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
from bad_input_cases import (
    BLANK,
    CONFIGURED,
    EVALUATED,
    HOSTILE_CONFIGURED,
    HOSTILE_FLOW,
    HOSTILE_NAMES,
    HUGE_ERROR_PIPELINE,
    KEPT,
    MB,
    PARIS,
    Case,
    blob_bytes,
    diagnostic_cases,
    layout,
    line_key,
)
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from rich.console import Console

from monitoring.nightly import DateRange, JobResult, run_job
from monitoring.storage import Storage
from monitoring.tables import FLOW_DAILY_STATUS, INGESTED_FILES, PIPELINE_DAILY_STATUS, PIPELINE_RUNS, QUARANTINE
from monitoring.vocabulary import KO, OK, PENDING, REASON_CODES, WARNING
from support import config

CASES = diagnostic_cases()
LAYOUT = layout(CASES)
NOW = datetime(2025, 4, 9, 6, 0, tzinfo=UTC)  # 08:00 in Paris: every evaluated date is due
STATUSES = {OK, WARNING, KO, PENDING}


# One night over hundreds of generated damaged lines in every format (a minute on 2 cores): make test-heavy.
pytestmark = pytest.mark.heavy


def fold(text: str | None) -> str | None:
    """Runs of U+FFFD folded to one: Java and Python replace undecodable sequences a little differently."""
    return None if text is None else re.sub("\ufffd+", "\ufffd", text)


@dataclass(frozen=True)
class Night:
    result: JobResult
    runs: dict[str, Row]  # silver, by run id (timestamps as epoch microseconds: no local-zone conversion)
    quarantine: dict[tuple[str, str], Row]  # (blob, line key) -> quarantine row
    manifest: dict[str, int]  # blob -> lines_read
    pipeline_keys: list[tuple[date, str]]  # (business_date, pipeline_name) of the stored gold table
    flow_keys: list[tuple[date, str]]


def relative(source_file: str, logs: Path) -> str:
    return source_file.split(f"{logs.name}/", 1)[1]


@pytest.fixture(scope="module")
def night(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Night:
    root = tmp_path_factory.mktemp("bad_input")
    logs = root / "logs"
    for blob, lines in LAYOUT.blobs.items():
        path = logs / blob
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(blob_bytes(lines)))
    flows = [
        {"name": "Telephonie", "deadline": "01:30", "pipelines": list(CONFIGURED[:2])},
        {"name": "Solaris", "order": "sequential", "pipelines": list(CONFIGURED[2:])},
        {"name": HOSTILE_FLOW, "order": "sequential", "pipelines": list(HOSTILE_CONFIGURED)},
    ]
    cfg = config(flows).with_overrides(logs=str(logs), lakehouse=str(root / "lake"))
    result = run_job(spark, cfg, DateRange(*EVALUATED), as_of=NOW, now=NOW)

    storage = Storage(spark, cfg.storage)
    tables = collect_together(
        {
            "runs": storage.read(PIPELINE_RUNS).select(
                "run_id",
                "pipeline_name",
                "status",
                F.unix_micros("start_time").alias("start_us"),
                F.unix_micros("end_time").alias("end_us"),
                "duration_seconds",
                F.length("error_message").alias("error_length"),
                F.when(F.length("error_message") < 1000, F.col("error_message")).alias("error_message"),
                F.length("parameters").alias("parameters_length"),
            ),
            "quarantine": storage.read(QUARANTINE).select("source_file", "raw_line", "reason", "occurrences"),
            "manifest": storage.read(INGESTED_FILES).select("path", "lines_read"),
            "pipelines": storage.read(PIPELINE_DAILY_STATUS).select("business_date", "pipeline_name"),
            "flows": storage.read(FLOW_DAILY_STATUS).select("business_date", "flow"),
        }
    )
    return Night(
        result=result,
        runs={row.run_id: row for row in tables["runs"]},
        quarantine={(relative(row.source_file, logs), line_key(row.raw_line)): row for row in tables["quarantine"]},
        manifest={relative(row.path, logs): row.lines_read for row in tables["manifest"]},
        pipeline_keys=[(date.fromisoformat(r.business_date), r.pipeline_name) for r in tables["pipelines"]],
        flow_keys=[(date.fromisoformat(r.business_date), r.flow) for r in tables["flows"]],
    )


def collect_together(frames: dict[str, DataFrame]) -> dict[str, list[Row]]:
    """Several small tables read in one Spark job (each job costs seconds of planning): rows travel as JSON.
    Dates come back as ISO text, timestamps should be selected as numbers."""
    tagged = [
        df.select(F.lit(name).alias("table"), F.to_json(F.struct(*df.columns), {"ignoreNullFields": "false"}))
        for name, df in frames.items()
    ]
    rows = reduce(DataFrame.union, tagged).collect()
    return {name: [Row(**json.loads(row[1])) for row in rows if row.table == name] for name in frames}


def expected_lines() -> Counter[str]:
    """Lines by fate over all blobs: KEPT, BLANK and 'quarantined'."""
    fates = Counter[str]()
    for lines in LAYOUT.blobs.values():
        fates.update(line.expect if line.expect in (KEPT, BLANK) else "quarantined" for line in lines)
    return fates


def expected_quarantine() -> dict[tuple[str, str], tuple[str, int]]:
    """(blob, line key) -> (reason, occurrences)."""
    found: dict[tuple[str, str], tuple[str, int]] = {}
    for blob, lines in LAYOUT.blobs.items():
        for line in lines:
            if line.expect in (KEPT, BLANK):
                continue
            reason, seen = found.get((blob, line.key), (line.expect, 0))
            found[blob, line.key] = (fold(reason), seen + 1)
    return found


def test_case_list_is_large_and_varied():
    categories = Counter(case.category for case in CASES)
    assert len(CASES) >= 400 and len(categories) >= 25, categories
    assert sum(len(lines) for lines in LAYOUT.blobs.values()) >= 500


def test_counts_reconcile(night: Night):
    report = night.result.ingest
    fates = expected_lines()
    assert report is not None
    # A file of 0 bytes is not even listed (nothing to read; it is read once it grows).
    files = {blob for blob, lines in LAYOUT.blobs.items() if lines}
    assert (report.files_listed, report.files_read) == (len(files), len(files))
    assert report.lines_read == sum(len(lines) for lines in LAYOUT.blobs.values())
    assert (report.events_kept, report.blank_lines, report.lines_quarantined) == (
        fates[KEPT],
        fates[BLANK],
        fates["quarantined"],
    )
    kept_runs = {line.run_id for lines in LAYOUT.blobs.values() for line in lines if line.expect == KEPT}
    assert report.runs_in_batch == len(kept_runs)
    assert sum(row.occurrences for row in night.quarantine.values()) == report.lines_quarantined
    assert night.manifest == {blob: len(lines) for blob, lines in LAYOUT.blobs.items() if lines}


def test_silver_holds_exactly_the_kept_runs(night: Night):
    kept_runs = {line.run_id for lines in LAYOUT.blobs.values() for line in lines if line.expect == KEPT}
    assert set(night.runs) == kept_runs  # nothing lost, and no run made up from a damaged line


def test_quarantine_holds_exactly_the_damaged_lines(night: Night):
    found = {key: (fold(row.reason), row.occurrences) for key, row in night.quarantine.items()}
    expected = expected_quarantine()
    assert {k: v for k, v in found.items() if k not in expected} == {}, "unexpected quarantine rows"
    assert {k: v for k, v in expected.items() if found.get(k) != v} == {}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}-{c.id}" for c in CASES])
def test_every_line_is_kept_or_quarantined_with_its_reason(night: Night, case: Case):
    for line in case.lines:
        if line.expect == KEPT:
            assert line.run_id in night.runs, f"{line.text[:200]!r} lost"
        elif line.expect != BLANK:
            for blob in LAYOUT.placement[case.id]:
                row = night.quarantine.get((blob, line.key))
                assert row is not None, f"{line.text[:200]!r} neither kept nor quarantined"
                assert fold(row.reason) == fold(line.expect)
                assert fold(row.raw_line) == fold(line.text)  # kept as it was read
    for run_id, columns in case.runs.items():
        run = night.runs[run_id]
        actual = {name: fold(run[name]) if isinstance(run[name], str) else run[name] for name in columns}
        assert actual == {k: fold(v) if isinstance(v, str) else v for k, v in columns.items()}


def business_date(start_us: int) -> date:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=start_us)).astimezone(PARIS).date()


def test_gold_rows_are_valid(night: Night):
    result = night.result
    assert result.pipeline_rows and result.flow_rows
    for row in result.pipeline_rows + result.flow_rows:
        assert row.status in STATUSES
        assert set((row.reason or "").split(",")) - {""} <= set(REASON_CODES), row.reason
        assert (row.status == OK) == (row.reason is None)
        assert EVALUATED[0] <= row.business_date <= EVALUATED[1]
    assert len(night.pipeline_keys) == len(set(night.pipeline_keys)) == len(result.pipeline_rows)
    assert len(night.flow_keys) == len(set(night.flow_keys)) == len(result.flow_rows)


def test_gold_counts_every_silver_run_of_the_evaluated_dates(night: Night):
    runs_per_day = Counter(
        (business_date(run.start_us), run.pipeline_name)
        for run in night.runs.values()
        if EVALUATED[0] <= business_date(run.start_us) <= EVALUATED[1]
    )
    gold = {(r.business_date, r.pipeline_name): r.run_count for r in night.result.pipeline_rows if r.run_count}
    assert gold == dict(runs_per_day)
    days = {EVALUATED[0] + timedelta(days=n) for n in range((EVALUATED[1] - EVALUATED[0]).days + 1)}
    configured = set(CONFIGURED) | set(HOSTILE_CONFIGURED)
    assert {(d, p) for d in days for p in configured} <= set(night.pipeline_keys)  # daily: a row every day


def test_hostile_names_are_stored_as_data(night: Night):
    """Quotes, SQL, HTML, markup and control characters go through ingest and evaluation unchanged."""
    silver_names = {run.pipeline_name for run in night.runs.values()}
    gold = night.result.pipeline_rows
    gold_names = {row.pipeline_name for row in gold}
    for name in HOSTILE_NAMES:
        assert name in silver_names and name in gold_names, name
    flows_of = {row.pipeline_name: row.flow for row in gold}
    for name in HOSTILE_CONFIGURED:
        assert flows_of[name] == HOSTILE_FLOW
    assert "UNASSIGNED" in gold_names and flows_of["UNASSIGNED"] == "UNASSIGNED"
    hostile_flow = [row for row in night.result.flow_rows if row.flow == HOSTILE_FLOW]
    assert len(hostile_flow) == 3
    ordered = [r for r in gold if r.pipeline_name == HOSTILE_CONFIGURED[1] and r.reason and "ORDER" in r.reason]
    for row in ordered:  # the predecessor's name is quoted in the detail as it is
        assert f"before {HOSTILE_CONFIGURED[0]}" in row.detail


def test_a_one_megabyte_error_message_reaches_gold(night: Night):
    (row,) = [r for r in night.result.pipeline_rows if r.pipeline_name == HUGE_ERROR_PIPELINE]
    assert (row.status, row.reason, len(row.error_message)) == (KO, "FAILED", MB)


def test_the_terminal_summary_prints_hostile_names_verbatim(night: Night):
    from monitoring.summary import print_summary

    out = io.StringIO()
    print_summary(night.result, Console(file=out, width=400, color_system=None))
    text = out.getvalue()
    assert "[link=https://evil.example]click me[/link]" in text and "[/]" in text


def _zero_length_history() -> list[tuple[Any, ...]]:
    day = date(2025, 4, 8)
    rows = []
    for back in range(10, -1, -1):
        start = f"{day - timedelta(days=back)} 03:00:00"
        rows.append(("instant", "Succeeded", start, start))  # ends as it starts: duration 0
    return rows


@pytest.mark.heavy  # one more evaluation (~4 s): kept out of `make test`'s time budget
def test_zero_length_runs_do_not_fail_the_evaluation(spark: SparkSession):
    from support import evaluate, runs

    cfg = config([{"name": "F", "pipelines": ["instant"]}])
    pipelines, _ = evaluate(spark, cfg, runs(spark, _zero_length_history()), date(2025, 4, 8))
    assert [(r.status, r.duration_seconds) for r in pipelines] == [(OK, 0)]
