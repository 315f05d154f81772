"""A team's real week: outages, backfills, one-date runs, runs killed half-way, long runs. After each, the next night
leaves the status tables of a rebuild from the same logs (the promise of ``state/owed_dates``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from rich.console import Console

from adf_logs import Run, write_runs
from monitoring import ingest as ingest_module
from monitoring import nightly as nightly_module
from monitoring.config import Config, parse_config
from monitoring.coverage import NOT_EVALUATED_YET, coverage_status
from monitoring.ingest import ReconciliationError, ingest, newest_folder_read
from monitoring.nightly import DateRange, local_today, run_job
from monitoring.storage import Storage
from monitoring.summary import print_coverage
from monitoring.tables import FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_DAILY_STATUS, PIPELINE_KPI, PIPELINE_RUNS, TableSpec
from support import config as flow_config
from support import evaluate, runs

pytestmark = pytest.mark.slow
# Each of these runs several nights and a rebuild to compare with (a minute or two each on 2 cores): make test-heavy.
MULTI_NIGHT = pytest.mark.heavy

PARIS = ZoneInfo("Europe/Paris")
STATUS_TABLES = (PIPELINE_DAILY_STATUS, FLOW_DAILY_STATUS, FLOW_KPI, PIPELINE_KPI)
D = date(2025, 3, 20)  # a Thursday; no DST change within the weeks below (Paris changes on 30 March)


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), PARIS).astimezone(UTC)


def nightly_run(pipeline: str, day: date, status: str = "Succeeded", start: str = "00:30", suffix: str = "") -> Run:
    begin = at(day, start)
    return Run(f"{pipeline}-{day}{suffix}", pipeline, status, begin, begin + timedelta(minutes=20))


def make_config(root: Path, flows: list[dict] | None = None, **source: object) -> Config:
    return parse_config(
        {
            "timezone": "Europe/Paris",
            "source": {"format": "adf_diagnostic", "path": str(root / "logs"), **source},
            "storage": {"root": str(root / "lake")},
            "flows": flows or [{"name": "Nightly", "deadline": "02:00", "pipelines": ["extract", "load"]}],
        }
    )


def nightly(spark: SparkSession, config: Config, now: datetime):
    return run_job(spark, config, DateRange.ending(local_today(config, now), 3), catch_up=True, now=now)


def on_request(spark: SparkSession, config: Config, first: date, last: date, now: datetime):
    return run_job(spark, config, DateRange(first, last), now, now=now)


def table(spark: SparkSession, config: Config, spec: TableSpec) -> DataFrame:
    return spark.read.format("delta").load(f"{config.storage.root}/{spec.name}").drop("evaluated_at")


def status_of(spark: SparkSession, config: Config, day: date, pipeline: str) -> tuple[str, str | None] | None:
    rows = table(spark, config, PIPELINE_DAILY_STATUS).where(
        f"business_date = DATE'{day}' AND pipeline_name = '{pipeline}'"
    )
    found = rows.select("status", "reason").collect()
    return (found[0].status, found[0].reason) if found else None


def assert_equals_rebuild(spark: SparkSession, config: Config, now: datetime, tmp_path: Path) -> None:
    """The status tables equal those of one nightly run into an empty lakehouse, from the same logs and clock."""
    rebuilt = config.with_overrides(lakehouse=str(tmp_path / "rebuild"))
    nightly(spark, rebuilt, now)
    for spec in STATUS_TABLES:
        assert_df_equality(
            table(spark, config, spec),
            table(spark, rebuilt, spec),
            ignore_row_order=True,
            ignore_nullable=True,
            ignore_column_order=True,
        )


@MULTI_NIGHT
def test_a_backfill_reads_blobs_restored_into_old_folders(spark, tmp_path):
    config = make_config(tmp_path)
    days = [D + timedelta(days=n) for n in range(10)]
    archived = days[4]
    write_runs(tmp_path / "logs", [nightly_run(p, d) for d in days if d != archived for p in ("extract", "load")])
    now = at(days[-1], "06:00")
    nightly(spark, config, now)
    assert status_of(spark, config, archived, "extract") == ("KO", "MISSING")

    # The archived blob is restored into its day's folder, far behind the lookback window; the team backfills.
    write_runs(tmp_path / "logs", [nightly_run(p, archived) for p in ("extract", "load")])
    on_request(spark, config, archived, archived, now + timedelta(hours=3))
    assert status_of(spark, config, archived, "extract") == ("OK", None)

    next_night = now + timedelta(days=1)
    nightly(spark, config, next_night)
    assert_equals_rebuild(spark, config, next_night, tmp_path)


@MULTI_NIGHT
def test_a_week_without_the_job_catches_up_by_itself_and_status_says_so(spark, tmp_path):
    config = make_config(tmp_path)
    logs = tmp_path / "logs"
    write_runs(logs, [nightly_run(p, D + timedelta(days=n)) for n in range(3) for p in ("extract", "load")])
    nightly(spark, config, at(D + timedelta(days=2), "06:00"))
    # Nine days without the job (an expired secret); the factory ran every night.
    later = [D + timedelta(days=n) for n in range(3, 12)]
    write_runs(logs, [nightly_run(p, d) for d in later for p in ("extract", "load")])
    now = at(later[-1], "06:00")

    storage = Storage(spark, config.storage)
    status = coverage_status(storage, later[-1], now, newest_folder_read(storage, now))
    assert status.catching_up_from == later[0]
    assert [o.reason for o in status.owed if o.owed_now] == [NOT_EVALUATED_YET]
    assert status.evaluated_through == D + timedelta(days=2)
    console = Console(record=True, width=200)
    print_coverage(status, config, console)
    assert f"The next nightly run evaluates from {later[0]}" in console.export_text()

    nightly(spark, config, now)
    for day in later:
        assert status_of(spark, config, day, "extract") == ("OK", None), day
    assert_equals_rebuild(spark, config, now, tmp_path)


@MULTI_NIGHT
def test_a_pending_row_is_decided_when_due_even_without_new_logs(spark, tmp_path):
    config = make_config(tmp_path)
    write_runs(tmp_path / "logs", [nightly_run(p, D - timedelta(days=1)) for p in ("extract", "load")])
    # A nightly run at 01:00, before the 02:00 deadline: D is PENDING. Then nothing ever runs for D.
    nightly(spark, config, at(D, "01:00"))
    assert status_of(spark, config, D, "extract") == ("PENDING", "PENDING")

    now = at(D + timedelta(days=5), "06:00")  # D has left the 3-day window
    nightly(spark, config, now)
    assert status_of(spark, config, D, "extract") == ("KO", "MISSING")
    assert_equals_rebuild(spark, config, now, tmp_path)


@MULTI_NIGHT
def test_a_late_failure_read_by_a_date_run_is_evaluated_by_the_next_night(spark, tmp_path):
    config = make_config(tmp_path)
    logs = tmp_path / "logs"
    stuck = Run("extract-stuck", "extract", "InProgress", at(D, "00:30"))
    write_runs(logs, [nightly_run(p, D + timedelta(days=n)) for n in range(-2, 2) for p in ("load",)])
    write_runs(logs, [nightly_run("extract", D + timedelta(days=n)) for n in (-2, -1, 1)] + [stuck])
    nightly(spark, config, at(D + timedelta(days=1), "06:00"))
    assert status_of(spark, config, D, "extract") == ("WARNING", "RUNNING")

    # Its Failed record lands late (the blob of its hour grows); someone runs one other date, which reads it.
    write_runs(logs, [Run("extract-stuck", "extract", "Failed", at(D, "00:30"), at(D, "03:10"))])
    on_request(spark, config, D + timedelta(days=2), D + timedelta(days=2), at(D + timedelta(days=2), "10:00"))

    now = at(D + timedelta(days=5), "06:00")
    nightly(spark, config, now)
    assert status_of(spark, config, D, "extract") == ("KO", "FAILED")
    assert_equals_rebuild(spark, config, now, tmp_path)


@MULTI_NIGHT
def test_a_night_killed_between_its_two_gold_commits_heals_the_next_night(spark, tmp_path, monkeypatch):
    config = make_config(tmp_path)
    logs = tmp_path / "logs"
    write_runs(logs, [nightly_run(p, D + timedelta(days=n)) for n in range(4) for p in ("extract", "load")])
    nightly(spark, config, at(D + timedelta(days=3), "06:00"))
    # A rerun on D that failed, logged late: D's final run is now a failure.
    write_runs(logs, [nightly_run("extract", D, "Failed", start="01:00", suffix="-rerun")])

    def killed_at(name: str) -> None:
        if name == "pipeline_status_written":
            raise KeyboardInterrupt("killed between the pipeline and flow commits")

    with monkeypatch.context() as patch:
        patch.setattr(nightly_module, "checkpoint", killed_at)
        with pytest.raises(KeyboardInterrupt):
            nightly(spark, config, at(D + timedelta(days=6), "06:00"))
    assert status_of(spark, config, D, "extract") == ("KO", "FAILED")  # committed before the kill

    now = at(D + timedelta(days=7), "06:00")
    nightly(spark, config, now)  # no new logs
    flow = table(spark, config, FLOW_DAILY_STATUS).where(f"business_date = DATE'{D}'").first()
    assert (flow.status, flow.pipelines_ko) == ("WARNING", 1)  # ko_when all: one of two KO is a WARNING
    assert_equals_rebuild(spark, config, now, tmp_path)


@MULTI_NIGHT
def test_the_first_night_evaluates_all_history(spark, tmp_path):
    config = make_config(tmp_path, [{"name": "Yearly", "pipelines": [{"name": "archive", "schedule": "on_demand"}]}])
    first = D - timedelta(days=450)
    write_runs(tmp_path / "logs", [nightly_run("archive", first, "Failed"), nightly_run("archive", D)])
    nightly(spark, config, at(D, "06:00"))
    assert status_of(spark, config, first, "archive") == ("KO", "FAILED")


@pytest.mark.heavy  # two evaluations 120 days apart; test_evaluate's streak over missing days stays in make test
def test_a_ko_streak_continues_across_more_than_92_days_without_a_row(spark):
    cfg = flow_config([{"name": "Yearly", "pipelines": [{"name": "archive", "schedule": "on_demand"}]}])
    earlier, later = D - timedelta(days=120), D
    failures = runs(
        spark,
        [
            ("archive", "Failed", f"{earlier} 01:00", f"{earlier} 01:10"),
            ("archive", "Failed", f"{later} 01:00", f"{later} 01:20"),
        ],
    )
    stored, _ = evaluate(spark, cfg, failures, earlier)
    assert stored[0].consecutive_ko_days == 1
    rows, _ = evaluate(
        spark, cfg, failures, later, stored_pipelines=spark.createDataFrame(stored, PIPELINE_DAILY_STATUS.schema)
    )
    assert (rows[0].status, rows[0].consecutive_ko_days) == ("KO", 2)


# --- the reconciliation: each stage broken on purpose --------------------------------------------------------


@pytest.fixture
def small_logs(tmp_path) -> tuple[Config, datetime]:
    write_runs(tmp_path / "logs", [nightly_run(p, D) for p in ("extract", "load")])
    return make_config(tmp_path), at(D, "06:00")


def test_records_lost_between_the_read_and_the_classification_fail_the_night(spark, small_logs, monkeypatch):
    config, now = small_logs
    classify = ingest_module.classified_lines
    monkeypatch.setattr(ingest_module, "classified_lines", lambda raw: classify(raw).where("pipeline_name != 'load'"))
    with pytest.raises(ReconciliationError, match=r"lost records of .*PT1H\.json.*: 4 read, but 2 classified"):
        ingest(spark, Storage(spark, config.storage), config, now)


def test_a_run_lost_by_the_deduplication_fails_the_night(spark, small_logs, monkeypatch):
    config, now = small_logs
    latest = ingest_module.latest_run_states
    monkeypatch.setattr(
        ingest_module, "latest_run_states", lambda *a, **k: latest(*a, **k).where("pipeline_name != 'load'")
    )
    with pytest.raises(ReconciliationError, match=r"2 run id\(s\) in the kept records, but 1 row\(s\)"):
        ingest(spark, Storage(spark, config.storage), config, now)


def test_a_merge_that_keeps_an_older_state_fails_the_night(spark, tmp_path, monkeypatch):
    config = make_config(tmp_path)
    storage = Storage(spark, config.storage)
    write_runs(tmp_path / "logs", [Run("extract-1", "extract", "InProgress", at(D, "00:30"))])
    ingest(spark, storage, config, at(D, "01:00"))
    write_runs(tmp_path / "logs", [Run("extract-1", "extract", "Succeeded", at(D, "00:30"), at(D, "00:50"))])
    monkeypatch.setattr(ingest_module, "merge_runs", lambda *_, **__: None)  # a MERGE that updates nothing
    with pytest.raises(ReconciliationError, match=r"older state, after the MERGE: extract-1 \(from .*PT1H\.json\)"):
        ingest(spark, storage, config, at(D, "06:00"))


# --- databricks_jobs: a run longer than the lookback ------------------------------------------------------------


@MULTI_NIGHT
def test_a_job_run_longer_than_the_lookback_gets_its_final_state(spark, tmp_path, monkeypatch):
    from databricks.sdk.service.jobs import RunLifeCycleState, RunResultState

    from fake_jobs_api import serve_jobs_api
    from test_databricks_jobs import TOKEN, active, run, terminated

    config = parse_config(
        {
            "timezone": "Europe/Paris",
            "source": {"format": "databricks_jobs", "lookback_hours": 24},
            "storage": {"root": str(tmp_path / "lake")},
            "flows": [{"name": "Jobs", "pipelines": ["backfill_history"]}],
        }
    )
    started = "2025-04-01 22:00:00"
    with serve_jobs_api([run(7001, "backfill_history", started, **active(RunLifeCycleState.RUNNING))], TOKEN) as api:
        monkeypatch.setenv("DATABRICKS_HOST", api.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        storage = Storage(spark, config.storage)
        ingest(spark, storage, config, datetime(2025, 4, 2, 4, 0, tzinfo=UTC))
        # Three days later it ends: far outside the 24 h lookback of start times.
        api.runs[:] = [
            run(7001, "backfill_history", started, "2025-04-05 03:00:00", **terminated(RunResultState.SUCCESS))
        ]
        ingest(spark, storage, config, datetime(2025, 4, 5, 4, 0, tzinfo=UTC))
    stored = storage.read(PIPELINE_RUNS).where("pipeline_name = 'backfill_history'").select("status").collect()
    assert [r.status for r in stored] == ["Succeeded"]
