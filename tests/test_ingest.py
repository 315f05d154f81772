"""Ingestion into Delta: counts reconcile, nights are incremental, grown blobs and late records lose nothing."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pyspark.sql.types import StructType

from monitoring.ingest import day_folders_glob, factory_globs, ingest
from monitoring.sources import SourceError
from monitoring.storage import Storage
from monitoring.tables import INGESTED_FILES, PIPELINE_RUNS, QUARANTINE
from support import FIXTURES, config

NOW = datetime(2025, 4, 8, 6, 0, tzinfo=UTC)
TELEPHONIE_RUN = "6c1d7a52-0b8e-4a0e-9c57-1f0d3b4a9e01"
HOUR_23 = "y=2025/m=04/d=07/h=23/m=00/PT1H.json"


@pytest.fixture
def lake(tmp_path: Path):
    logs = tmp_path / "logs"
    shutil.copytree(FIXTURES / "adf_diagnostic_logs", logs)
    cfg = config([{"name": "F", "pipelines": ["telephonie_master"]}])
    cfg = replace(
        cfg, source=replace(cfg.source, path=str(logs)), storage=replace(cfg.storage, root=str(tmp_path / "lake"))
    )
    return logs, cfg


def blob(logs: Path, suffix: str) -> Path:
    (path,) = [p for p in logs.rglob("PT1H.json") if str(p).endswith(suffix)]
    return path


def runs_by_id(storage: Storage) -> dict:
    return {r.run_id: r for r in storage.read(PIPELINE_RUNS).collect()}


def test_first_night_reconciles_and_quarantines(spark, lake):
    _, cfg = lake
    storage = Storage(spark, cfg.storage)
    report = ingest(spark, storage, cfg, NOW)
    assert (report.files_listed, report.files_read, report.lines_read) == (2, 2, 9)
    assert (report.events_kept, report.lines_quarantined, report.blank_lines) == (8, 1, 0)
    assert report.runs_in_batch == 5
    assert len(runs_by_id(storage)) == 5
    (bad,) = storage.read(QUARANTINE).collect()
    assert (bad.reason, bad.source_format, bad.occurrences) == ("malformed JSON", "adf_diagnostic", 1)
    assert bad.source_file.endswith(HOUR_23)
    manifest = {Path(r.path).parent.parent.name: r.lines_read for r in storage.read(INGESTED_FILES).collect()}
    assert manifest == {"h=22": 4, "h=23": 5}

    # Nothing new: nothing read, nothing written.
    version = spark.sql(f"DESCRIBE HISTORY delta.`{storage.location(PIPELINE_RUNS)}`").count()
    again = ingest(spark, storage, cfg, NOW)
    assert (again.files_read, again.lines_read) == (0, 0)
    assert spark.sql(f"DESCRIBE HISTORY delta.`{storage.location(PIPELINE_RUNS)}`").count() == version


def test_paths_with_spaces_and_percent_signs_reconcile_in_the_manifest(spark, lake, tmp_path):
    """Spark names a row's file by its URI ('a%20b'); the listing by its path ('a b'): they must meet."""
    logs, cfg = lake
    odd = logs.rename(tmp_path / "logs 100% + more")
    cfg = replace(cfg, source=replace(cfg.source, path=str(odd)))
    storage = Storage(spark, cfg.storage)
    report = ingest(spark, storage, cfg, NOW)
    manifest = {r.path: r.lines_read for r in storage.read(INGESTED_FILES).collect()}
    assert sorted(manifest.values()) == [4, 5] and report.lines_read == 9
    assert {r.source_file for r in storage.read(QUARANTINE).collect()} <= set(manifest)
    assert ingest(spark, storage, cfg, NOW).files_read == 0


@pytest.mark.heavy  # two nights and a full scan; test_incremental covers the listing in make test
def test_second_night_reads_grown_and_new_blobs_only(spark, lake):
    logs, cfg = lake
    storage = Storage(spark, cfg.storage)
    ingest(spark, storage, cfg, NOW)
    before = runs_by_id(storage)

    # The append blob grows: its half-written last line is now complete, and a new run is appended.
    grown = blob(logs, HOUR_23)
    text = grown.read_text(encoding="utf-8")
    complete = json.loads(text.splitlines()[0]) | {"runId": "trunc-completed", "pipelineName": "solaris_master"}
    new_run = complete | {"runId": "new-run", "pipelineName": "solaris_runners"}
    head = "".join(line + "\n" for line in text.splitlines()[:-1])
    grown.write_text(head + json.dumps(complete) + "\n" + json.dumps(new_run) + "\n", encoding="utf-8")
    # A record arriving late, in the next hour's blob: an InProgress state of a run already Succeeded.
    late = json.loads(blob(logs, "h=22/m=00/PT1H.json").read_text(encoding="utf-8").splitlines()[1])
    next_hour = grown.parents[2] / "d=08" / "h=00" / "m=00" / "PT1H.json"
    next_hour.parent.mkdir(parents=True)
    next_hour.write_text(json.dumps(late | {"time": "2025-04-08T00:05:00.0000000Z"}) + "\n", encoding="utf-8")
    # A copy of an old blob (a re-delivered archive): identical records.
    copy = logs / "copy" / "PT1H.json"
    copy.parent.mkdir()
    shutil.copy(blob(logs, "h=22/m=00/PT1H.json"), copy)

    nightly = ingest(spark, storage, cfg, NOW)
    # Only the lookback window's day folders are listed: the copy outside ADF's layout is not seen, and
    # h=22 is unchanged: not read again.
    assert (nightly.files_listed, nightly.files_read) == (3, 2)
    full = ingest(spark, storage, cfg, NOW, full_scan=True)  # a full scan finds the copy
    assert (full.files_listed, full.files_read) == (4, 1)
    totals = [nightly.lines_read + full.lines_read, nightly.events_kept + full.events_kept]
    assert (*totals, nightly.lines_quarantined + full.lines_quarantined) == (11, 11, 0)
    after = runs_by_id(storage)
    assert set(after) == set(before) | {"trunc-completed", "new-run"}
    assert after[TELEPHONIE_RUN].status == "Succeeded"  # the late InProgress record does not win
    assert after[TELEPHONIE_RUN].last_event_time == datetime(2025, 4, 8, 0, 5)  # but is seen
    for run_id in before:
        if run_id != TELEPHONIE_RUN:
            assert after[run_id] == before[run_id]  # identical records change nothing
    assert storage.read(QUARANTINE).count() == 0  # the completed line left quarantine


FACTORY = (
    "abfss://logs@acct.dfs.core.windows.net/insights-logs-pipelineruns/resourceId="
    "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/ADF-PROD"
)


def test_factory_globs_widen_adf_folders_to_every_factory_and_escape_the_rest():
    other = "/data/exports/{weird},name[1]"
    assert factory_globs([FACTORY, FACTORY.replace("ADF-PROD", "ADF-DEV"), other]) == [
        r"/data/exports/\{weird\}\,name\[1\]",
        FACTORY.replace("/S1/", "/*/").replace("/RG/", "/*/").replace("ADF-PROD", "*"),
    ]
    lowercase = FACTORY.replace("SUBSCRIPTIONS", "subscriptions").replace("FACTORIES", "factories")
    assert factory_globs([lowercase])[0].endswith(
        "/subscriptions/*/RESOURCEGROUPS/*/PROVIDERS/MICROSOFT.DATAFACTORY/factories/*"
    )


def test_day_folders_glob_lists_each_day_under_each_folder():
    glob = day_folders_glob(factory_globs([FACTORY]), [date(2025, 12, 31), date(2026, 1, 1)])
    root = FACTORY.replace("/S1/", "/*/").replace("/RG/", "/*/").replace("ADF-PROD", "*")
    assert glob == root + "/{y=2025/m=12/d=31,y=2026/m=01/d=01}"


@pytest.mark.heavy  # three nights
def test_a_factory_added_later_is_found_without_a_full_scan(spark, lake):
    logs, cfg = lake
    storage = Storage(spark, cfg.storage)
    ingest(spark, storage, cfg, NOW)
    subscriptions = next(p for p in blob(logs, HOUR_23).parents if p.name == "SUBSCRIPTIONS")
    new_factory = subscriptions / "S-NEW/RESOURCEGROUPS/RG-NEW/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/ADF-NEW"
    record = json.loads(blob(logs, "h=22/m=00/PT1H.json").read_text(encoding="utf-8").splitlines()[0])
    record |= {"runId": "from-the-new-factory", "resourceId": "/SUBSCRIPTIONS/S-NEW/.../FACTORIES/ADF-NEW"}
    for day in ("y=2025/m=04/d=08", "y=2024/m=01/d=01"):  # in the lookback window, and long before it
        path = new_factory / day / "h=01/m=00/PT1H.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")

    nightly = ingest(spark, storage, cfg, NOW)
    assert (nightly.files_listed, nightly.files_read, nightly.events_kept) == (3, 1, 1)
    assert runs_by_id(storage)["from-the-new-factory"].factory == "ADF-NEW"


@pytest.mark.heavy  # two ingests; test_operations' MERGE-keeps-an-older-state case stays in make test
def test_a_later_terminal_state_replaces_a_stored_running_one(spark, lake):
    logs, cfg = lake
    for path in logs.rglob("PT1H.json"):
        path.unlink()
    first = logs / "a" / "PT1H.json"
    first.parent.mkdir()
    base = {
        "runId": "r",
        "pipelineName": "p",
        "start": "2025-04-07T22:00:00Z",
        "end": "1601-01-01T00:00:00Z",
        "status": "InProgress",
        "time": "2025-04-07T22:00:01Z",
    }
    first.write_text(json.dumps(base) + "\n", encoding="utf-8")
    storage = Storage(spark, cfg.storage)
    ingest(spark, storage, cfg, NOW)
    assert runs_by_id(storage)["r"].status == "InProgress"
    second = logs / "b" / "PT1H.json"
    second.parent.mkdir()
    done = base | {"status": "Failed", "end": "2025-04-07T22:30:00Z", "time": "2025-04-07T22:30:01Z"}
    second.write_text(json.dumps(done) + "\n", encoding="utf-8")
    ingest(spark, storage, cfg, NOW)
    run = runs_by_id(storage)["r"]
    assert (run.status, run.duration_seconds) == ("Failed", 1800)


def test_missing_source_folder_is_a_clear_error(spark, lake, tmp_path):
    _, cfg = lake
    cfg = replace(cfg, source=replace(cfg.source, path=str(tmp_path / "nowhere")))
    with pytest.raises(SourceError, match=r"source.path: .*nowhere.* does not exist"):
        ingest(spark, Storage(spark, cfg.storage), cfg, NOW)


@pytest.mark.heavy  # a migration of an older lakehouse: two ingests and a schema evolution
def test_a_silver_table_from_before_invoked_by_run_id_gains_the_column(spark, lake):
    """A lakehouse written by an older version: the first ingest adds the column (the MERGE evolves the schema)."""
    _, cfg = lake
    storage = Storage(spark, cfg.storage)
    old_schema = StructType([f for f in PIPELINE_RUNS.schema.fields if f.name != "invoked_by_run_id"])
    spark.createDataFrame([], old_schema).write.format("delta").partitionBy("start_month").save(
        storage.location(PIPELINE_RUNS)
    )
    ingest(spark, storage, cfg, datetime(2025, 4, 8, 6, tzinfo=UTC))
    runs = runs_by_id(storage)
    assert "invoked_by_run_id" in storage.read(PIPELINE_RUNS).columns
    assert runs[TELEPHONIE_RUN].invoked_by_run_id is None  # started by a schedule trigger
