"""End to end through the CLI and the job: real Delta tables, idempotent reruns, the demo's planted incidents."""

from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality

from monitoring.cli import main
from monitoring.config import StorageConfig, load_config
from monitoring.nightly import DateRange, run_job
from monitoring.storage import POWER_BI_PROPERTIES, Storage
from monitoring.tables import ALL_TABLES, FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS, PIPELINE_RUNS
from monitoring.vocabulary import REASON_CODES
from support import FIXTURES, REPO

EXAMPLE = str(REPO / "config" / "monitoring.example.yml")
DAY = date(2025, 4, 8)


def gold(spark, lakehouse: Path, table) -> dict:
    return {
        (r.pipeline_name if table is PIPELINE_DAILY_STATUS else r.flow): r
        for r in spark.read.format("delta").load(f"{lakehouse}/{table.name}").collect()
    }


def run_cli(*args: str) -> int:
    return main(["run", "--config", EXAMPLE, "--date", str(DAY), "--as-of", "2025-04-09T08:00", *args])


@pytest.fixture(scope="module")
def diagnostic_night(spark, tmp_path_factory):
    lakehouse = tmp_path_factory.mktemp("lake")
    logs = str(FIXTURES / "adf_diagnostic_logs")
    assert run_cli("--logs", logs, "--lakehouse", str(lakehouse)) == 0
    return lakehouse, logs


def test_fixture_night_gives_the_statuses_the_rules_imply(spark, diagnostic_night):
    lakehouse, _ = diagnostic_night
    pipelines = gold(spark, lakehouse, PIPELINE_DAILY_STATUS)
    flows = gold(spark, lakehouse, FLOW_DAILY_STATUS)
    assert {name: (r.status, r.reason) for name, r in pipelines.items() if r.status != "KO"} == {
        "telephonie_master": ("OK", None),
        "solaris_clean_sources": ("OK", None),
        "sitecom_claims_master": ("WARNING", "RETRIED"),
    }
    assert pipelines["sitecom_home_master"].reason == "CANCELLED"
    missing = {name for name, r in pipelines.items() if r.reason == "MISSING"}
    # accounting_cube_monthly_master is not expected on the 8th; the fixture has no Billing run
    assert len(missing) == 1 + 3 + 17 + 2
    assert "accounting_cube_monthly_master" not in pipelines
    assert {name: (r.status, r.pipelines_expected, r.pipelines_ko) for name, r in flows.items()} == {
        "Telephonie": ("WARNING", 2, 1),
        "Solaris": ("WARNING", 4, 3),
        "Sitecom": ("WARNING", 19, 18),
        "Billing": ("KO", 2, 2),
    }
    assert flows["Sitecom"].reason == "MISSING,CANCELLED,RETRIED"
    telephonie = pipelines["telephonie_master"]
    assert (telephonie.start_local, telephonie.duration_hms, telephonie.business_date) == (
        "2025-04-08 00:10:03",
        "00:08:13",
        DAY,
    )


@pytest.mark.heavy  # a whole night end to end: make test-heavy
def test_rerun_changes_nothing(spark, diagnostic_night):
    lakehouse, logs = diagnostic_night
    tables = {t: spark.read.format("delta").load(f"{lakehouse}/{t.name}").drop("evaluated_at") for t in ALL_TABLES}
    before = {t: df.localCheckpoint() for t, df in tables.items()}
    runs_version = spark.sql(f"DESCRIBE HISTORY delta.`{lakehouse}/{PIPELINE_RUNS.name}`").count()
    assert run_cli("--logs", logs, "--lakehouse", str(lakehouse)) == 0
    for table, old in before.items():
        new = spark.read.format("delta").load(f"{lakehouse}/{table.name}").drop("evaluated_at")
        if table.name != "silver/ingested_files":
            assert_df_equality(new, old, ignore_row_order=True, ignore_nullable=True)
    assert spark.sql(f"DESCRIBE HISTORY delta.`{lakehouse}/{PIPELINE_RUNS.name}`").count() == runs_version


def test_tables_are_power_bi_readable_and_documented(spark, diagnostic_night):
    lakehouse, _ = diagnostic_night
    for table in ALL_TABLES:
        path = f"{lakehouse}/{table.name}"
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
        assert (detail.minReaderVersion, detail.minWriterVersion) == (1, 2), table.name
        assert detail.properties.get("delta.enableDeletionVectors") == "false", table.name
        assert detail.description == table.comment
        schema = spark.read.format("delta").load(path).schema
        assert schema.fieldNames() == table.schema.fieldNames()
        assert all(field.metadata.get("comment") for field in schema.fields), table.name
        assert "timestamp_ntz" not in schema.simpleString()
    assert set(POWER_BI_PROPERTIES) <= {
        "delta.minReaderVersion",
        "delta.minWriterVersion",
        "delta.enableDeletionVectors",
    }


def test_one_row_per_key(spark, diagnostic_night):
    lakehouse, _ = diagnostic_night
    for table, key in ((PIPELINE_DAILY_STATUS, "pipeline_name"), (FLOW_DAILY_STATUS, "flow")):
        df = spark.read.format("delta").load(f"{lakehouse}/{table.name}")
        assert df.count() == df.select("business_date", key).distinct().count()


@pytest.mark.heavy  # a whole night end to end: make test-heavy
def test_csv_export_night(spark, tmp_path):
    config = tmp_path / "csv.yml"
    text = Path(EXAMPLE).read_text(encoding="utf-8").replace("format: adf_diagnostic ", "format: csv ")
    config.write_text(text, encoding="utf-8")
    lakehouse = tmp_path / "lake"
    code = main(
        [
            "run",
            "--config",
            str(config),
            "--logs",
            str(FIXTURES / "adf_logs_csv"),
            "--lakehouse",
            str(lakehouse),
            "--date",
            str(DAY),
            "--as-of",
            "2025-04-08T01:00",  # before 01:30 and before the end of the day: nothing is due yet
        ]
    )
    assert code == 0
    pipelines = gold(spark, lakehouse, PIPELINE_DAILY_STATUS)
    flows = gold(spark, lakehouse, FLOW_DAILY_STATUS)
    assert pipelines["telephonie_ods_cti_export_incremental"].status == "OK"
    # The retry finished at 01:41, after the as-of time: the data says so anyway (logs are facts).
    assert pipelines["sitecom_claims_master"].reason == "RETRIED"
    assert pipelines["sitecom_home_master"].reason == "PENDING"
    assert flows["Telephonie"].status == "OK"
    assert flows["Sitecom"].status == "WARNING"  # RETRIED outranks the members still pending


def test_demo_logs_produce_every_planted_incident(demo_lakehouse):
    # 21 days as of 07:30 in Paris: Telephonie is due, Sitecom is not; SLOW/FAST need 8 earlier days.
    logs, result = demo_lakehouse.logs, demo_lakehouse.result
    assert result.ingest.lines_quarantined == 1
    rows = {(r.business_date, r.pipeline_name): r for r in result.pipeline_rows}
    for incident in logs.incidents:
        if incident.reason == "QUARANTINE":
            continue
        row = rows[incident.business_date, incident.pipeline_name]
        if incident.reason == "UNASSIGNED":
            assert row.flow == "UNASSIGNED"
        else:
            assert incident.reason in (row.reason or "").split(","), (incident, row.reason)
    found = {code for r in result.pipeline_rows if r.reason for code in r.reason.split(",")}
    assert found == set(REASON_CODES)
    planted = {(i.business_date, i.pipeline_name) for i in logs.incidents}
    unexpected = [
        (day, name, r.reason)
        for (day, name), r in rows.items()
        if r.reason and r.reason != "PENDING" and (day, name) not in planted
    ]
    assert unexpected == []
    streak = max(r.consecutive_ko_days for r in result.pipeline_rows if r.pipeline_name == "sitecom_claims_master")
    assert streak == 3
    statuses = {r.status for r in result.flow_rows}
    assert statuses == {"OK", "WARNING", "KO", "PENDING"}


def test_storage_anchors_relative_roots(spark, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage = Storage(spark, StorageConfig(root="lake"))
    assert storage.location(PIPELINE_RUNS) == f"{tmp_path}/lake/silver/pipeline_runs"
    assert storage.sql_name(PIPELINE_RUNS) == f"delta.`{tmp_path}/lake/silver/pipeline_runs`"


def test_a_table_another_run_is_creating_is_waited_for(spark, tmp_path):
    """Two first runs at once: one sees the other's empty _delta_log before its first commit (seen in CI)."""
    finished = Storage(spark, StorageConfig(root=str(tmp_path / "finished")))
    finished.ensure(PIPELINE_RUNS)
    first_commit = Path(finished.location(PIPELINE_RUNS)) / "_delta_log" / f"{0:020d}.json"
    storage = Storage(spark, StorageConfig(root=str(tmp_path / "lake")))
    log = Path(storage.location(PIPELINE_RUNS)) / "_delta_log"
    log.mkdir(parents=True)

    def other_run_commits() -> None:
        time.sleep(1.5)
        shutil.copy(first_commit, log / ".first.tmp")
        (log / ".first.tmp").rename(log / first_commit.name)

    other_run = threading.Thread(target=other_run_commits)
    other_run.start()
    storage.ensure(PIPELINE_RUNS)
    other_run.join()
    assert storage.read(PIPELINE_RUNS).schema == finished.read(PIPELINE_RUNS).schema


def test_a_creation_killed_before_its_first_commit_is_created_over(spark, tmp_path):
    """A run killed while creating a table leaves its folder and an empty _delta_log, which CREATE ... IF NOT EXISTS
    takes for a table: the next run waits for a commit, then creates the table over it."""
    storage = Storage(spark, StorageConfig(root=str(tmp_path)))
    storage.creation_wait_seconds = 0.5
    (Path(storage.location(PIPELINE_RUNS)) / "_delta_log").mkdir(parents=True)
    storage.ensure(PIPELINE_RUNS)
    assert storage.exists(PIPELINE_RUNS)  # storage.read would give an empty frame of the schema without a table
    detail = spark.sql(f"DESCRIBE DETAIL {storage.sql_name(PIPELINE_RUNS)}").first()
    assert detail.description == PIPELINE_RUNS.comment


def test_a_table_folder_that_never_gets_a_commit_is_named_and_left_alone(spark, tmp_path):
    """A _delta_log that holds something but no commit (not an empty folder this run may remove): a clear error."""
    storage = Storage(spark, StorageConfig(root=str(tmp_path)))
    storage.creation_wait_seconds = 0.5
    log = Path(storage.location(PIPELINE_RUNS)) / "_delta_log"
    log.mkdir(parents=True)
    (log / ".00000000000000000000.json.tmp").write_text("")
    with pytest.raises(RuntimeError, match="pipeline_runs exists but holds no Delta commit after 0 s"):
        storage.ensure(PIPELINE_RUNS)
    assert [p.name for p in log.iterdir()] == [".00000000000000000000.json.tmp"]


@pytest.mark.heavy  # a whole night end to end: make test-heavy
def test_catalog_tables_get_the_same_schema_comments_and_properties(spark, tmp_path):
    """Unity Catalog mode, run against the local session catalog (same code path: table names, not paths)."""
    config = load_config(EXAMPLE).with_overrides(
        logs=str(FIXTURES / "adf_diagnostic_logs"), catalog="spark_catalog", schema="monitoring_uc_test"
    )
    run_job(spark, config, DateRange(DAY, DAY), datetime(2025, 4, 9, 6, tzinfo=UTC))
    storage = Storage(spark, config.storage)
    assert storage.location(PIPELINE_DAILY_STATUS) == "spark_catalog.monitoring_uc_test.pipeline_daily_status"
    for table in ALL_TABLES:
        detail = spark.sql(f"DESCRIBE DETAIL {storage.sql_name(table)}").first()
        assert (detail.minReaderVersion, detail.description) == (1, table.comment)
        assert all(f.metadata.get("comment") for f in spark.read.table(storage.sql_name(table)).schema.fields)
    flows = {r.flow: r.status for r in storage.read(FLOW_DAILY_STATUS).collect()}
    assert flows == {"Telephonie": "WARNING", "Solaris": "WARNING", "Sitecom": "WARNING", "Billing": "KO"}


SQL = REPO / "sql"


def sql_literal(value: object) -> str:
    if isinstance(value, date):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def analyst_query(spark, lakehouse: Path, name: str, **parameters):
    """Run a file of sql/ the way an analyst does after USE CATALOG/SCHEMA: unqualified table names.

    Databricks binds the files' ``:name`` parameters; locally Delta 4.4's SQL parser loses Spark's
    parameter binding (UNBOUND_SQL_PARAMETER even for ``SELECT :d``), so the test binds them as literals.
    """
    for table in (PIPELINE_DAILY_STATUS, FLOW_DAILY_STATUS):
        view = table.name.rsplit("/", 1)[-1]
        spark.read.format("delta").load(f"{lakehouse}/{table.name}").createOrReplaceTempView(view)
    text = (SQL / name).read_text(encoding="utf-8")
    query = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    bound = re.sub(r"(?<![:\w]):([a-z_]+)\b", lambda m: sql_literal(parameters[m.group(1)]), query)
    return spark.sql(bound).collect()


def test_sql_todays_ko_list(spark, diagnostic_night):
    rows = analyst_query(spark, diagnostic_night[0], "todays_ko_list.sql", business_date=DAY)
    # 22 KO pipelines of the fixture night, and Billing's 2 (the fixture logs predate that flow: MISSING)
    assert [r.status for r in rows].count("KO") == 24 and rows[-1].pipeline_name == "sitecom_claims_master"
    assert rows[0].status == "KO" and rows[0].flow == "Billing"
    assert analyst_query(spark, diagnostic_night[0], "todays_ko_list.sql", business_date=date(2025, 4, 9)) == []


def test_sql_streaks_and_history(spark, diagnostic_night):
    lakehouse = diagnostic_night[0]
    streaks = analyst_query(spark, lakehouse, "ko_streaks.sql", min_days=1)
    assert {(r.level, r.name) for r in streaks if r.level == "flow"} == {("flow", "Billing")}  # both KO
    assert len(streaks) == 22 + 2 + 1
    assert analyst_query(spark, lakehouse, "ko_streaks.sql", min_days=2) == []
    history = analyst_query(
        spark, lakehouse, "pipeline_last_30_days.sql", pipeline_name="telephonie_master", business_date=DAY
    )
    assert [(r.business_date, r.status, r.duration_hms) for r in history] == [(DAY, "OK", "00:08:13")]


def test_sql_success_rate_per_flow_per_month(spark, diagnostic_night):
    rows = analyst_query(spark, diagnostic_night[0], "success_rate_per_flow_per_month.sql")
    assert {(r.flow, r.days, r.warning_days, r.availability, r.on_time_rate) for r in rows} == {
        ("Billing", 1, 0, 0.0, 0.0),  # no run in the fixture logs
        ("Sitecom", 1, 1, 1.0, 0.0),
        ("Solaris", 1, 1, 1.0, 0.0),
        ("Telephonie", 1, 1, 1.0, 0.0),
    }
