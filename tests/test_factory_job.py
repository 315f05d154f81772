"""The factory's flows in the job: an imported config gives the hand-written one's gold tables; config drift rows."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from monitoring.alerts.notify import read_drift
from monitoring.config import StorageConfig, load_config
from monitoring.demo import generate_demo_logs
from monitoring.factory import import_factory
from monitoring.factory.drift import DriftFinding, drift_of_date, write_config_drift
from monitoring.nightly import DateRange, local_today, run_job
from monitoring.storage import Storage
from monitoring.tables import CONFIG_DRIFT, FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI

FIXTURE = Path(__file__).parent / "fixtures" / "adf_factory"
GIT, HAND_WRITTEN = FIXTURE / "git", FIXTURE / "monitoring.yml"
NOW = datetime(2026, 3, 18, 6, 30, tzinfo=UTC)
DAYS = 10


@pytest.mark.heavy  # two nights of the job over 10 days of logs: minutes on 2 shared cores
def test_an_imported_config_gives_the_gold_tables_of_the_hand_written_one(spark, tmp_path):
    logs = tmp_path / "logs"
    hand = load_config(HAND_WRITTEN).with_overrides(logs=str(logs), lakehouse=str(tmp_path / "hand"))
    generate_demo_logs(hand, logs, DAYS, NOW)  # the same logs for both runs
    imported_path = tmp_path / "monitoring.yml"
    shutil.copy(HAND_WRITTEN, imported_path)
    assert import_factory(str(GIT), imported_path).changes == ()
    imported = load_config(imported_path).with_overrides(logs=str(logs), lakehouse=str(tmp_path / "imported"))
    imported = replace(imported, source=replace(imported.source, factory=str(GIT)))  # and the nightly drift check
    dates = DateRange.ending(local_today(hand, NOW), DAYS - 1)
    for config in (hand, imported):
        run_job(spark, config, dates, NOW, now=NOW)

    def gold(root: str, table):
        return spark.read.format("delta").load(f"{root}/{table.name}").drop("evaluated_at")

    for table in (PIPELINE_DAILY_STATUS, FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_KPI):
        expected, actual = gold(hand.storage.root, table), gold(imported.storage.root, table)
        assert expected.count() > 0
        assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    statuses = gold(imported.storage.root, PIPELINE_DAILY_STATUS)
    # The conditional children are on_demand: never MISSING, whatever the logs.
    conditional = statuses.where(
        F.col("pipeline_name").isin("accounting_cube_monthly_master", "solaris_notify_failure")
    )
    assert conditional.where(F.col("reason").contains("MISSING")).count() == 0
    drift = spark.read.format("delta").load(f"{imported.storage.root}/{CONFIG_DRIFT.name}")
    assert drift.count() == 0  # the table is written, and the hand-written flows miss nothing


def test_config_drift_rows_replace_the_days_and_come_back_in_kind_order(spark, tmp_path):
    config = load_config(Path(__file__).parents[1] / "config" / "monitoring.example.yml")
    config = replace(config, source=replace(config.source, factory=str(GIT)))
    storage = Storage(spark, StorageConfig(root=str(tmp_path / "lakehouse")))
    day = date(2026, 3, 18)
    messages: list[str] = []
    findings = write_config_drift(spark, storage, config, day, NOW, messages.append)
    write_config_drift(spark, storage, config, day, NOW, messages.append)  # a rerun replaces, never adds
    rows = drift_of_date(storage.read(CONFIG_DRIFT), day).collect()
    assert [(r.kind, r.pipeline_name, r.detail) for r in rows] == [
        (f.kind, f.pipeline, f.detail)
        for f in sorted(
            findings,
            key=lambda f: (
                ("unmonitored", "unknown_pipeline", "schedule", "stopped_trigger").index(f.kind),
                f.pipeline,
            ),
        )
    ]
    assert {r.kind for r in rows} == {"unmonitored", "unknown_pipeline", "schedule", "stopped_trigger"}
    assert drift_of_date(storage.read(CONFIG_DRIFT), date(2026, 3, 17)).count() == 0
    assert read_drift(storage, day) == [DriftFinding(r.kind, r.pipeline_name, r.detail) for r in rows]  # the digest's
    assert f"{len(findings)} difference(s)" in messages[-1]


@pytest.mark.heavy  # a fetch from the fake ARM API, then a night; test_factory_live's fetch and the REST API reader's
# fixture test stay in make test
def test_fetched_pages_are_ingested_like_saved_responses(spark, tmp_path):
    """The live fetch writes where ingestion reads: silver holds the fetched runs, once each."""
    from alert_servers import self_signed_certificate
    from fake_arm_api import RESOURCE_ID, SAMPLE_NOW, SAMPLE_RUNS, FakeFactory, client_for, serve_factory
    from monitoring.factory.fetch import fetch_configured_factory
    from monitoring.tables import PIPELINE_RUNS

    config = load_config(HAND_WRITTEN).with_overrides(
        logs=str(tmp_path / "runs"), lakehouse=str(tmp_path / "lakehouse"), source_format="adf_rest_api"
    )
    config = replace(config, source=replace(config.source, factory=RESOURCE_ID, fetch=True))
    cert_file, key_file = self_signed_certificate(tmp_path)
    fake = FakeFactory(RESOURCE_ID, [], [], runs=SAMPLE_RUNS)
    with serve_factory(fake, cert_file, key_file):
        clients = client_for(fake, cert_file)
        fetch_configured_factory(config, SAMPLE_NOW - timedelta(hours=3), print, clients)
        fetch_configured_factory(config, SAMPLE_NOW, print, clients)  # the next run overlaps the first
    run_job(spark, config, DateRange.ending(date(2025, 4, 9), 0), SAMPLE_NOW, steps=("ingest",), now=SAMPLE_NOW)
    runs = spark.read.format("delta").load(f"{config.storage.root}/{PIPELINE_RUNS.name}")
    expected = {
        r["runId"] for r in SAMPLE_RUNS if r["lastUpdated"] < "2025-04-09T06:00" and r["lastUpdated"] >= "2025-02-23"
    }
    assert {r.run_id for r in runs.select("run_id").collect()} == expected
    assert runs.count() == len(expected)
    assert runs.where(F.col("factory") != "ADF-PROD").count() == 0
